#include "refs.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <regex>
#include <set>
#include <utility>

#include <fmt/format.h>

namespace meshflow::catalog::detail {

std::vector<std::string> tokens_of(const pointer& p) {
  std::vector<std::string> out;
  for (auto q = p; !q.empty(); q.pop_back())
    out.push_back(q.back());
  std::reverse(out.begin(), out.end());
  return out;
}

namespace {

/// An array index as RFC 6901 writes it: digits, no leading zero.
std::optional<std::size_t> array_index(const std::string& token) {
  if (token.empty() || (token.size() > 1 && token[0] == '0'))
    return std::nullopt;
  std::size_t i = 0;
  auto [p, ec] = std::from_chars(token.data(), token.data() + token.size(), i);
  if (ec != std::errc{} || p != token.data() + token.size())
    return std::nullopt;
  return i;
}

const json* child(const json& v, const std::string& token) {
  if (v.is_object()) {
    auto it = v.find(token);
    return it == v.end() ? nullptr : &*it;
  }
  if (v.is_array()) {
    auto i = array_index(token);
    return i && *i < v.size() ? &v[*i] : nullptr;
  }
  return nullptr;
}

bool plain_key(const std::string& key) {
  if (key.empty())
    return false;
  return std::none_of(key.begin(), key.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return c == '.' || c == '[' || c == ']' || c == '"' || c == ' ' || u < 0x20 || u == 0x7f;
  });
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decoded(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size())
      return std::nullopt;
    auto hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::string ref_of(const pointer& p) {
  return fmt::format("#{}", p.to_string());
}

} // namespace

const json* find(const json& doc, const pointer& p) {
  const json* at = &doc;
  for (const auto& token : tokens_of(p)) {
    at = child(*at, token);
    if (!at)
      return nullptr;
  }
  return at;
}

std::string display_path(const json& doc, const pointer& p) {
  std::string out;
  const json* at = &doc;
  for (const auto& token : tokens_of(p)) {
    if (at && at->is_array())
      out += fmt::format("[{}]", token);
    else if (plain_key(token))
      out += fmt::format("{}{}", out.empty() ? "" : ".", token);
    else
      out += fmt::format("[{}]", json(token).dump(-1, ' ', false,
                                                  json::error_handler_t::replace));
    at = at ? child(*at, token) : nullptr;
  }
  return out;
}

std::string_view kind_of(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: return "a number";
    case json::value_t::string: return "a string";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    default: return "a binary value";
  }
}

expected<pointer> local_pointer(std::string_view ref) {
  if (!ref.starts_with('#'))
    return fail("non_local", fmt::format("'{}' names another document, which meshflow does "
                                         "not fetch",
                                         ref));
  auto fragment = percent_decoded(ref.substr(1));
  if (!fragment)
    return fail("malformed", fmt::format("'{}' has a broken percent-encoding", ref));
  if (fragment->empty())
    return pointer{};
  if (fragment->front() != '/')
    return fail("malformed",
                fmt::format("'{}' is not a JSON pointer (write '#/components/...')", ref));
  try {
    return pointer{*fragment};
  } catch (const std::exception&) {
    return fail("malformed", fmt::format("'{}' is not a JSON pointer ('~' must be followed "
                                         "by 0 or 1)",
                                         ref));
  }
}

std::string why_missing(const json& doc, const pointer& p) {
  const json* at = &doc;
  pointer parent;
  for (const auto& token : tokens_of(p)) {
    const json* next = child(*at, token);
    if (!next) {
      auto where = parent.empty() ? std::string{"the document"}
                                  : fmt::format("'{}'", display_path(doc, parent));
      if (at->is_object())
        return fmt::format("{} has no '{}'", where, token);
      if (at->is_array())
        return fmt::format("{} has {} items, and '{}' is not the index of one", where,
                           at->size(), token);
      return fmt::format("{} is {}, which has no '{}'", where, kind_of(*at), token);
    }
    at = next;
    parent.push_back(token);
  }
  return "it is there";
}

followed follow(const json& doc, const pointer& at, std::string_view consequence) {
  followed out;
  // The values holding the refs followed, in order: a target among them
  // closes a cycle.
  std::vector<pointer> visited{at};
  std::set<pointer> seen{at};
  auto warn = [&](const pointer& where, std::string why) {
    out.problem = schema_problem{where, dsl::severity::warning,
                                 fmt::format("{}; {}", why, consequence)};
    return out;
  };
  for (;;) {
    const auto& current = visited.back();
    const json* v = find(doc, current);
    if (!v || !v->is_object()) {
      out.target = current;
      return out;
    }
    auto ref = v->find("$ref");
    if (ref == v->end()) {
      out.target = current;
      return out;
    }
    auto ref_at = current / "$ref";
    if (!ref->is_string()) {
      out.problem = schema_problem{ref_at, dsl::severity::error,
                                   fmt::format("'$ref' must be a string, not {}",
                                               kind_of(*ref))};
      return out;
    }
    out.last_ref = ref->get<std::string>();
    auto target = local_pointer(out.last_ref);
    if (!target)
      return warn(ref_at, fmt::format("cannot resolve $ref {}", target.error().message));
    if (!find(doc, *target))
      return warn(ref_at, fmt::format("cannot resolve $ref '{}': {}", out.last_ref,
                                      why_missing(doc, *target)));
    ++out.steps;
    if (!seen.insert(*target).second) {
      // The cycle, told the same way from wherever it was entered (from
      // its smallest member), so that it is reported once.
      std::vector<pointer> cycle(std::find(visited.begin(), visited.end(), *target),
                                 visited.end());
      std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());
      std::string text;
      for (const auto& member : cycle)
        text += fmt::format("'{}' -> ", ref_of(member));
      text += fmt::format("'{}'", ref_of(cycle.front()));
      out.problem = schema_problem{cycle.front() / "$ref", dsl::severity::error,
                                   fmt::format("$ref cycle: {}; the refs lead back to where "
                                               "they started and name no value",
                                               text)};
      return out;
    }
    visited.push_back(std::move(*target));
  }
}

namespace {

// Keywords whose value is a schema, a map of schemas, a list of schemas
// (JSON Schema draft 7; AsyncAPI 2.x schema objects add no schema-valued
// keyword valijson reads).
const std::set<std::string, std::less<>> schema_keywords = {
  "additionalItems", "additionalProperties", "contains", "propertyNames", "not",
  "if", "then", "else", "items"};
const std::set<std::string, std::less<>> schema_map_keywords = {
  "properties", "patternProperties", "definitions", "$defs", "dependencies"};
const std::set<std::string, std::less<>> schema_list_keywords = {"allOf", "anyOf", "oneOf",
                                                                  "items"};

constexpr std::string_view not_checked = "nothing is checked for this payload";

class closer {
public:
  closer(const json& doc, std::size_t max_depth, std::size_t max_nodes)
    : doc_(doc), max_depth_(max_depth), max_nodes_(max_nodes) {
  }

  schema_closure run(const pointer& at) {
    define(at, 0);
    schema_closure out;
    out.nodes = nodes_;
    out.problems = std::move(problems_);
    if (!out.problems.empty())
      return out;
    auto defs = json::object();
    for (std::size_t i = 0; i < definitions_.size(); ++i)
      defs[std::to_string(i)] = std::move(definitions_[i]);
    out.document = json{{"$ref", "#/definitions/0"}, {"definitions", std::move(defs)}};
    out.origins = std::move(origins_);
    return out;
  }

private:
  struct entry {
    bool done = false;
    std::size_t height = 0;  // levels below it, refs followed (0 while in progress)
  };

  /// The definition of the value at `target` (no `$ref` there, or the
  /// root), first met at `depth`.
  std::size_t define(const pointer& target, std::size_t depth) {
    auto key = target.to_string();
    if (auto it = index_.find(key); it != index_.end()) {
      const auto& e = entries_[it->second];
      if (e.done && depth + e.height > max_depth_)
        too_deep(target);
      return it->second;
    }
    auto index = definitions_.size();
    index_.emplace(key, index);
    definitions_.emplace_back();
    entries_.emplace_back();
    origins_.push_back(target);
    std::size_t deepest = depth;
    auto copy = rewrite(*find(doc_, target), target, depth, deepest);
    definitions_[index] = std::move(copy);
    entries_[index] = entry{true, deepest - depth};
    return index;
  }

  /// One problem once: a cycle or a missing schema reached by two refs.
  void report(schema_problem p) {
    for (const auto& q : problems_)
      if (q.at == p.at && q.message == p.message)
        return;
    problems_.push_back(std::move(p));
  }

  /// valijson compiles `pattern`s with std::regex when it first validates:
  /// one it cannot compile is found here, not on the first event.
  void check_pattern(const json& pattern, const pointer& at) {
    if (!pattern.is_string())
      return;
    try {
      std::regex{pattern.get<std::string>()};
    } catch (const std::regex_error& e) {
      report({at, dsl::severity::error,
              fmt::format("'{}' is not a regular expression meshflow can use ({})",
                          pattern.get<std::string>(), e.what())});
    }
  }

  void too_deep(const pointer& at) {
    if (!deep_)
      report({at, dsl::severity::error,
                           fmt::format("the schema nests deeper than {} levels ($refs "
                                       "followed); payload schemas are not nested that "
                                       "deeply",
                                       max_depth_)});
    deep_ = true;
  }

  /// A copy of the schema `v` (at `at`, `depth` levels down) with its refs
  /// rewritten; `deepest` is raised to the deepest level reached.
  json rewrite(const json& v, const pointer& at, std::size_t depth, std::size_t& deepest) {
    deepest = std::max(deepest, depth);
    if (depth > max_depth_ || deep_) {
      too_deep(at);
      return json{};
    }
    if (++nodes_ > max_nodes_ || large_) {
      if (!large_)
        report({at, dsl::severity::error,
                fmt::format("the schema and the schemas it refers to hold more than {} "
                            "values; payload schemas are not that large",
                            max_nodes_)});
      large_ = true;
      return json{};
    }
    if (!v.is_object())
      return v;
    if (auto ref = v.find("$ref"); ref != v.end() && ref->is_string()) {
      auto f = follow(doc_, at, not_checked);
      nodes_ += f.steps;
      if (f.problem) {
        report(std::move(*f.problem));
        return json{};
      }
      auto index = define(*f.target, depth);
      if (entries_[index].done)
        deepest = std::max(deepest, depth + entries_[index].height);
      return json{{"$ref", fmt::format("#/definitions/{}", index)}};
    }
    auto out = json::object();
    for (const auto& [key, sub] : v.items()) {
      if (key == "$id")
        continue;
      auto sub_at = at / key;
      if (key == "pattern")
        check_pattern(sub, sub_at);
      if (key == "patternProperties" && sub.is_object())
        for (const auto& [regex, s] : sub.items())
          check_pattern(json(regex), sub_at / regex);
      if (sub.is_object() && schema_map_keywords.contains(key)) {
        auto map = json::object();
        for (const auto& [name, s] : sub.items())
          map[name] = s.is_array() ? s : rewrite(s, sub_at / name, depth + 1, deepest);
        out[key] = std::move(map);
      } else if (sub.is_array() && schema_list_keywords.contains(key)) {
        auto list = json::array();
        for (std::size_t i = 0; i < sub.size(); ++i)
          list.push_back(rewrite(sub[i], sub_at / i, depth + 1, deepest));
        out[key] = std::move(list);
      } else if (schema_keywords.contains(key)) {
        out[key] = rewrite(sub, sub_at, depth + 1, deepest);
      } else {
        out[key] = sub;
      }
    }
    return out;
  }

  const json& doc_;
  std::size_t max_depth_;
  std::size_t max_nodes_;
  std::size_t nodes_ = 0;
  bool large_ = false;
  std::map<std::string, std::size_t> index_;
  std::vector<json> definitions_;
  std::vector<entry> entries_;
  std::vector<pointer> origins_;
  std::vector<schema_problem> problems_;
  bool deep_ = false;
};

} // namespace

schema_closure close_schema(const json& doc, const pointer& at, std::size_t max_depth,
                            std::size_t max_nodes) {
  if (!find(doc, at))
    return {std::nullopt, {{at, dsl::severity::error, "there is no schema here"}}, {}, 0};
  return closer{doc, max_depth, max_nodes}.run(at);
}

} // namespace meshflow::catalog::detail
