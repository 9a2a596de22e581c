#include "meshflow/dsl/jq.hpp"

#include <algorithm>
#include <charconv>
#include <mutex>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

extern "C" {
#include <jq.h>
}

namespace meshflow::jq {

// --- values -----------------------------------------------------------------

value value::from_json(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return value{jv_null()};
    case nlohmann::json::value_t::boolean: return value{jv_bool(j.get<bool>())};
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float: return value{jv_number(j.get<double>())};
    case nlohmann::json::value_t::string: {
      const auto& s = j.get_ref<const std::string&>();
      return value{jv_string_sized(s.data(), static_cast<int>(s.size()))};
    }
    case nlohmann::json::value_t::array: {
      jv a = jv_array_sized(static_cast<int>(j.size()));
      for (const auto& item : j)
        a = jv_array_append(a, from_json(item).copy());
      return value{a};
    }
    case nlohmann::json::value_t::object: {
      jv o = jv_object();
      for (const auto& [k, v] : j.items())
        o = jv_object_set(o, jv_string_sized(k.data(), static_cast<int>(k.size())),
                          from_json(v).copy());
      return value{o};
    }
    default: return value{jv_null()};
  }
}

nlohmann::json value::to_json() const {
  switch (kind()) {
    case JV_KIND_NULL:
    case JV_KIND_INVALID: return nullptr;
    case JV_KIND_FALSE: return false;
    case JV_KIND_TRUE: return true;
    case JV_KIND_NUMBER: {
      double d = jv_number_value(v_);
      if (jv_is_integer(v_) && d >= -9.0e15 && d <= 9.0e15)
        return static_cast<std::int64_t>(d);
      return d;
    }
    case JV_KIND_STRING:
      return std::string{jv_string_value(v_),
                         static_cast<std::size_t>(jv_string_length_bytes(jv_copy(v_)))};
    case JV_KIND_ARRAY: {
      auto out = nlohmann::json::array();
      int n = jv_array_length(jv_copy(v_));
      for (int i = 0; i < n; ++i)
        out.push_back(value{jv_array_get(jv_copy(v_), i)}.to_json());
      return out;
    }
    case JV_KIND_OBJECT: {
      auto out = nlohmann::json::object();
      for (int it = jv_object_iter(v_); jv_object_iter_valid(v_, it);
           it = jv_object_iter_next(v_, it)) {
        value key{jv_object_iter_key(v_, it)};
        out[jv_string_value(key.get())] = value{jv_object_iter_value(v_, it)}.to_json();
      }
      return out;
    }
  }
  return nullptr;
}

expected<value> value::parse(std::string_view text) {
  jv v = jv_parse_sized(text.data(), static_cast<int>(text.size()));
  if (jv_is_valid(v))
    return value{v};
  jv msg = jv_invalid_get_msg(v);
  std::string m = jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "invalid JSON";
  jv_free(msg);
  return fail("json", m);
}

std::string value::dump() const {
  jv s = jv_dump_string(jv_copy(v_), 0);
  std::string out = jv_string_value(s);
  jv_free(s);
  return out;
}

// --- compilation -------------------------------------------------------------

namespace {

struct compiled {
  jq_state* state = nullptr;
  std::vector<std::string> messages;
};

void collect_message(void* data, jv msg) {
  auto* out = static_cast<std::vector<std::string>*>(data);
  if (jv_get_kind(msg) == JV_KIND_STRING)
    out->emplace_back(jv_string_value(msg));
  jv_free(msg);
}

void ignore_message(void*, jv msg) {
  jv_free(msg);
}

/// Compiles `source`; the state on success, else jq's messages.
compiled compile(const std::string& source, const value& args) {
  compiled out;
  jq_state* jq = jq_init();
  if (jq == nullptr) {
    out.messages.emplace_back("jq: error: out of memory");
    return out;
  }
  jq_set_error_cb(jq, collect_message, &out.messages);
  if (jq_compile_args(jq, source.c_str(), args.copy())) {
    jq_set_error_cb(jq, ignore_message, nullptr);
    out.state = jq;
    out.messages.clear();
  } else {
    jq_teardown(&jq);
  }
  return out;
}

/// The line a jq message points at (`... at <top-level>, line 7:`), or 0.
int line_of(const std::string& message) {
  auto p = message.find("<top-level>, line ");
  if (p == std::string::npos)
    return 0;
  int line = 0;
  auto digits = message.data() + p + 18;
  std::from_chars(digits, message.data() + message.size(), line);
  return line;
}

/// jq's message without its prefix and its echo of the program.
std::string clean(const std::string& message) {
  std::string m = message;
  if (m.starts_with("jq: error: "))
    m = m.substr(11);
  if (auto p = m.find(" at <top-level>"); p != std::string::npos)
    m = m.substr(0, p);
  if (auto p = m.find('\n'); p != std::string::npos)
    m = m.substr(0, p);
  return m;
}

bool is_summary(const std::string& message) {
  return message.starts_with("jq: ") && message.find("compile error") != std::string::npos;
}

struct layout {
  std::string source;
  // Lines [first, last] of each function, then of each expression.
  std::vector<std::pair<int, int>> function_lines;
  std::vector<std::pair<int, int>> expression_lines;
};

class source_writer {
public:
  void append(std::string_view s) {
    text_ += s;
    line_ += static_cast<int>(std::count(s.begin(), s.end(), '\n'));
  }
  /// Appends `body` on lines of its own, returning them.
  std::pair<int, int> block(std::string_view body) {
    append("(\n");
    int first = line_;
    append(body);
    int last = line_;
    append("\n)");
    return {first, last};
  }
  std::string take() { return std::move(text_); }

private:
  std::string text_;
  int line_ = 1;
};

} // namespace

struct program::pool {
  std::mutex mutex;
  std::vector<jq_state*> idle;

  ~pool() {
    for (auto* s : idle)
      jq_teardown(&s);
  }
};

void program_builder::add_function(std::string jq_source) {
  functions_.push_back(std::move(jq_source));
}

expression_id program_builder::add(std::string jq_source, bool as_path, bool user_errors) {
  expressions_.push_back({std::move(jq_source), as_path, user_errors});
  return static_cast<expression_id>(expressions_.size() - 1);
}

namespace {

layout lay_out(const std::vector<std::string>& functions,
               const std::vector<std::string>& expressions,
               const std::vector<bool>& as_path, const std::set<std::size_t>& bad_functions,
               const std::set<std::size_t>& bad_expressions) {
  layout out;
  source_writer w;
  // No access to the process environment: secrets come through $SECRETS only.
  w.append("def env: {}; {} as $ENV | .[0] as $WORKFLOW | .[1] as $__mf_i | .[2] |\n");
  for (std::size_t k = 0; k < functions.size(); ++k) {
    w.append(fmt::format("def __mf_fn_{}: ", k));
    out.function_lines.push_back(w.block(bad_functions.count(k) ? "null" : functions[k]));
    w.append(";\n");
  }
  out.expression_lines.resize(expressions.size());
  // A balanced tree of comparisons picks the expression.
  auto tree = [&](auto&& self, std::size_t lo, std::size_t hi) -> void {
    if (hi - lo == 1) {
      std::string body = bad_expressions.count(lo) ? "null" : expressions[lo];
      if (as_path[lo]) {
        w.append("path");
        out.expression_lines[lo] = w.block(body);
      } else {
        out.expression_lines[lo] = w.block(body);
      }
      return;
    }
    auto mid = lo + (hi - lo) / 2;
    w.append(fmt::format("if $__mf_i < {} then ", mid));
    self(self, lo, mid);
    w.append(" else ");
    self(self, mid, hi);
    w.append(" end");
  };
  if (expressions.empty())
    w.append("null");
  else
    tree(tree, 0, expressions.size());
  w.append("\n");
  out.source = w.take();
  return out;
}

} // namespace

namespace {

/// Programs alive in this process, by source and variables: a definition
/// deployed again (or its JSON and YAML twins) compiles once.
class program_cache {
public:
  std::shared_ptr<const program> find(const std::string& key) {
    std::lock_guard<std::mutex> guard{mutex_};
    auto it = programs_.find(key);
    if (it == programs_.end())
      return nullptr;
    auto p = it->second.lock();
    if (!p)
      programs_.erase(it);
    return p;
  }

  void insert(const std::string& key, const std::shared_ptr<const program>& p) {
    std::lock_guard<std::mutex> guard{mutex_};
    // Forget programs no longer used before the map grows.
    if (programs_.size() >= 1024)
      std::erase_if(programs_, [](const auto& kv) { return kv.second.expired(); });
    programs_[key] = p;
  }

private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::weak_ptr<const program>> programs_;
};

program_cache& cache() {
  static program_cache instance;
  return instance;
}

} // namespace

tl::expected<std::shared_ptr<const program>, std::vector<compile_error>>
program_builder::build(const nlohmann::json& constants, const nlohmann::json& secrets) && {
  auto args = value::from_json({{"CONST", constants}, {"SECRETS", secrets}});
  // Only a program that compiles is cached, so the key is its source (which
  // holds every expression and whether it is a path) and its variables.
  std::string key;
  for (const auto& f : functions_)
    key += f + '\x1f';
  for (const auto& e : expressions_)
    key += fmt::format("{}{}{}\x1e", e.source, e.as_path ? 'p' : 'v', e.user_errors ? 'u' : '-');
  key += args.dump();
  if (auto hit = cache().find(key))
    return hit;
  if (expressions_.empty())  // nothing to compile: no ~30 ms jq_compile
    return std::shared_ptr<const program>(new program({}, args.dump(), {}, nullptr));
  std::vector<std::string> sources;
  std::vector<bool> as_path, user_errors;
  for (auto& e : expressions_) {
    sources.push_back(e.source);
    as_path.push_back(e.as_path);
    user_errors.push_back(e.user_errors);
  }
  std::set<std::size_t> bad_functions, bad_expressions;
  std::vector<compile_error> errors;
  auto record = [&](compile_error::item_kind kind, std::size_t index, std::string message) {
    auto& set = kind == compile_error::item_kind::function ? bad_functions : bad_expressions;
    if (set.insert(index).second)
      errors.push_back({kind, static_cast<std::uint32_t>(index), std::move(message)});
  };
  // Each round names the items jq's messages point at and leaves them out,
  // until the rest compiles. A message that points nowhere known (it
  // should not happen) makes every item compile alone.
  for (;;) {
    auto l = lay_out(functions_, sources, as_path, bad_functions, bad_expressions);
    auto c = compile(l.source, args);
    if (c.state) {
      if (!errors.empty()) {
        jq_teardown(&c.state);
        std::sort(errors.begin(), errors.end(), [](const auto& a, const auto& b) {
          return std::pair{a.kind, a.index} < std::pair{b.kind, b.index};
        });
        return tl::unexpected(std::move(errors));
      }
      auto p = std::shared_ptr<const program>(
        new program(std::move(l.source), args.dump(), std::move(user_errors), c.state));
      cache().insert(key, p);
      return p;
    }
    bool progress = false;
    for (const auto& m : c.messages) {
      if (is_summary(m))
        continue;
      int line = line_of(m);
      auto within = [&](const std::pair<int, int>& r) {
        return line >= r.first && line <= r.second;
      };
      for (std::size_t k = 0; k < l.function_lines.size(); ++k)
        if (within(l.function_lines[k]) && !bad_functions.count(k)) {
          record(compile_error::item_kind::function, k, clean(m));
          progress = true;
        }
      for (std::size_t i = 0; i < l.expression_lines.size(); ++i)
        if (within(l.expression_lines[i]) && !bad_expressions.count(i)) {
          record(compile_error::item_kind::expression, i, clean(m));
          progress = true;
        }
    }
    if (!progress) {
      // Compile alone whatever is left, with only its own functions.
      for (std::size_t i = 0; i < sources.size(); ++i) {
        if (bad_expressions.count(i))
          continue;
        std::set<std::size_t> others;
        for (std::size_t j = 0; j < sources.size(); ++j)
          if (j != i)
            others.insert(j);
        auto alone = lay_out(functions_, sources, as_path, bad_functions, others);
        auto ci = compile(alone.source, args);
        if (ci.state)
          jq_teardown(&ci.state);
        else
          record(compile_error::item_kind::expression, i,
                 ci.messages.empty() ? "does not compile" : clean(ci.messages.front()));
      }
      if (errors.empty())
        errors.push_back({compile_error::item_kind::expression, 0,
                          c.messages.empty() ? "the expressions do not compile together"
                                             : clean(c.messages.front())});
      return tl::unexpected(std::move(errors));
    }
  }
}

// --- evaluation --------------------------------------------------------------

namespace {

/// `v` rebuilt so that it shares nothing with the jq_state that made it.
/// libjq's reference counts are not atomic, and a result may hold the
/// compiled program's own constants (a key of `path(.a)`, a string
/// literal); a state goes back to the pool for other threads, so what it
/// returned must not point into it. Consumes `v`.
jv detach(jv v) {
  switch (jv_get_kind(v)) {
    case JV_KIND_STRING: {
      jv s = jv_string_sized(jv_string_value(v), jv_string_length_bytes(jv_copy(v)));
      jv_free(v);
      return s;
    }
    case JV_KIND_ARRAY: {
      int n = jv_array_length(jv_copy(v));
      jv out = jv_array_sized(n);
      for (int k = 0; k < n; ++k)
        out = jv_array_append(out, detach(jv_array_get(jv_copy(v), k)));
      jv_free(v);
      return out;
    }
    case JV_KIND_OBJECT: {
      jv out = jv_object();
      jv_object_foreach(v, key, member) out = jv_object_set(out, detach(key), detach(member));
      jv_free(v);
      return out;
    }
    default:
      return v;  // null, booleans and numbers are not reference counted
  }
}

} // namespace

program::program(std::string source, std::string args, std::vector<bool> user_errors,
                 void* first_state)
  : source_(std::move(source)), args_(std::move(args)),
    user_errors_(std::move(user_errors)), pool_(std::make_unique<pool>()) {
  if (first_state != nullptr)
    pool_->idle.push_back(static_cast<jq_state*>(first_state));
}

program::~program() = default;

expected<value> program::evaluate(expression_id id, const value& input,
                                  const value& workflow) const {
  if (id >= user_errors_.size())
    return fail("expression", fmt::format("no expression {}", id));
  jq_state* state = nullptr;
  {
    std::lock_guard<std::mutex> guard{pool_->mutex};
    if (!pool_->idle.empty()) {
      state = pool_->idle.back();
      pool_->idle.pop_back();
    }
  }
  if (state == nullptr) {
    // Another thread evaluates at the same time: one more compiled state.
    // libjq's reference counts are not atomic, and a compiled state keeps
    // (and copies, at every run) the values bound to `$CONST` and
    // `$SECRETS`: each state gets values of its own, parsed from text.
    auto own_args = value::parse(args_);
    if (!own_args)
      return fail("expression", "cannot read the workflow's constants");
    auto c = compile(source_, *own_args);
    if (!c.state)
      return fail("expression", "cannot compile the workflow's expressions");
    state = c.state;
  }
  jv in = jv_array_sized(3);
  in = jv_array_append(in, workflow.copy());
  in = jv_array_append(in, jv_number(id));
  in = jv_array_append(in, input.copy());
  jq_start(state, in, 0);
  jv r = jq_next(state);
  bool produced = jv_is_valid(r);
  expected<value> out{value{}};
  if (produced) {
    out = value{detach(r)};
  } else if (jv_invalid_has_msg(jv_copy(r))) {
    value msg{jv_invalid_get_msg(r)};
    auto text = msg.kind() == JV_KIND_STRING ? std::string{jv_string_value(msg.get())}
                                             : msg.dump();
    auto code = user_errors_[id] && msg.kind() == JV_KIND_STRING ? text : "expression";
    out = fail(std::move(code), std::move(text));
  } else {
    jv_free(r);
    if (jq_halted(state))
      out = fail("expression", "the expression called halt");
  }
  // Before another thread may take the state: drop what it still holds of
  // this evaluation (the input, its stack), on this thread. Asking for the
  // next output unwinds the stack, and an expression with one output (the
  // usual case) ends there: ~2 us, where resetting the state with a new
  // start costs ~5 us. One with more outputs is reset.
  if (produced) {
    jv more = jq_next(state);
    bool done = !jv_is_valid(more);
    jv_free(more);
    if (!done)
      jq_start(state, jv_null(), 0);
  } else {
    jq_start(state, jv_null(), 0);
  }
  {
    std::lock_guard<std::mutex> guard{pool_->mutex};
    pool_->idle.push_back(state);
  }
  return out;
}

} // namespace meshflow::jq
