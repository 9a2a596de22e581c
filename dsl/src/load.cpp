// Reads Serverless Workflow 0.8 documents into the model of model.hpp.
//
// The checks here are the ones the official JSON schema makes (types,
// required properties, enums, one-of choices, unknown properties); the
// checks across the document (references, reachability, expressions) are in
// check.cpp, and run only on a document whose structure is sound.

#include "meshflow/dsl/load.hpp"

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "reader.hpp"
#include "meshflow/dsl/document.hpp"
#include "text.hpp"

namespace meshflow::dsl {

namespace {

using namespace detail;
using YAML::Node;

const std::vector<std::string_view> invoke_names{"sync", "async"};
const std::vector<std::string_view> action_mode_names{"sequential", "parallel"};
const std::vector<std::string_view> function_type_names{
  "rest", "asyncapi", "rpc", "graphql", "odata", "expression", "custom"};
const std::vector<std::string_view> state_type_names{
  "sleep", "event", "operation", "parallel", "switch", "inject", "foreach", "callback"};

/// Reads every item of an array member with `read_item(node, path)`.
template <class T, class F>
std::vector<T> read_list(object_reader& r, std::string_view key, bool non_empty,
                         F&& read_item) {
  std::vector<T> out;
  auto n = r.get(key);
  if (!n.IsDefined())
    return out;
  auto path = r.path_of(key);
  if (kind_of(n) != json_kind::array) {
    r.context().error(path, n, fmt::format("'{}' must be an array, not {}", key,
                                           to_string(kind_of(n))));
    return out;
  }
  if (non_empty && n.size() == 0)
    r.context().error(path, n, fmt::format("'{}' must not be empty", key));
  std::size_t i = 0;
  for (const auto& item : n) {
    auto item_at = item_path(path, i++);
    if (!r.context().visit(item_at, item))
      break;
    if (auto v = read_item(item, item_at))
      out.push_back(std::move(*v));
  }
  return out;
}

/// Reports unless exactly one of `keys` is present (or none, when optional).
bool exactly_one(object_reader& r, std::initializer_list<std::string_view> keys,
                 bool required, std::string_view what) {
  std::vector<std::string_view> present;
  for (auto k : keys)
    if (r.has(k))
      present.push_back(k);
  std::string names;
  for (auto k : keys)
    names += fmt::format("{}'{}'", names.empty() ? "" : " or ", k);
  if (present.size() > 1) {
    r.context().error(r.path(), r.node(),
                      fmt::format("{} has {}: give only one", what, names));
    return false;
  }
  if (present.empty() && required) {
    r.context().error(r.path(), r.node(), fmt::format("{} needs {}", what, names));
    return false;
  }
  return true;
}

class document_reader {
public:
  document_reader(read_context& ctx, std::filesystem::path base_dir,
                  const load_options& options, std::vector<diagnostic>& out)
    : ctx_(&ctx), base_dir_(std::move(base_dir)), options_(options), out_(out) {
  }

  std::optional<workflow> read(const Node& root);

private:
  // --- definitions -------------------------------------------------------

  std::optional<function_def> function(const Node& n, const std::string& path) {
    if (!expect_object(ctx(), n, path, "a function definition"))
      return std::nullopt;
    object_reader r{ctx(), n, path};
    function_def f;
    auto name = require_string(r, "name", true);
    auto operation = require_string(r, "operation", true);
    if (auto t = read_enum(r, "type", function_type_names))
      f.type = static_cast<function_type>(*t);
    f.auth_ref = read_string(r, "authRef", true);
    f.metadata = read_metadata(r);
    r.finish();
    if (!name || !operation)
      return std::nullopt;
    f.name = *name;
    f.operation = *operation;
    return f;
  }

  std::optional<event_def> event(const Node& n, const std::string& path) {
    if (!expect_object(ctx(), n, path, "an event definition"))
      return std::nullopt;
    object_reader r{ctx(), n, path};
    event_def e;
    auto name = require_string(r, "name", true);
    e.source = read_string(r, "source");
    auto type = require_string(r, "type");
    if (auto k = read_enum(r, "kind", {"consumed", "produced"}))
      e.kind = static_cast<event_kind>(*k);
    e.correlation = read_list<correlation_def>(
      r, "correlation", true, [&](const Node& c, const std::string& at) {
        return correlation(c, at);
      });
    if (auto b = read_bool(r, "dataOnly"))
      e.data_only = *b;
    e.metadata = read_metadata(r);
    if (e.kind == event_kind::consumed && !r.has("source"))
      r.missing("source", "a consumed event needs its source");
    r.finish();
    if (!name || !type)
      return std::nullopt;
    e.name = *name;
    e.type = *type;
    return e;
  }

  std::optional<correlation_def> correlation(const Node& n, const std::string& path) {
    if (!expect_object(ctx(), n, path, "a correlation definition"))
      return std::nullopt;
    object_reader r{ctx(), n, path};
    correlation_def c;
    auto name = require_string(r, "contextAttributeName", true);
    c.context_attribute_value = read_string(r, "contextAttributeValue", true);
    r.finish();
    if (!name)
      return std::nullopt;
    c.context_attribute_name = *name;
    return c;
  }

  std::optional<error_def> error_definition(const Node& n, const std::string& path) {
    if (!expect_object(ctx(), n, path, "an error definition"))
      return std::nullopt;
    object_reader r{ctx(), n, path};
    error_def e;
    auto name = require_string(r, "name", true);
    e.code = read_string(r, "code", true);
    r.finish();
    if (!name)
      return std::nullopt;
    e.name = *name;
    return e;
  }

  std::optional<retry_def> retry(const Node& n, const std::string& path) {
    if (!expect_object(ctx(), n, path, "a retry definition"))
      return std::nullopt;
    object_reader r{ctx(), n, path};
    retry_def d;
    auto name = require_string(r, "name", true);
    d.delay = read_duration(r, "delay");
    d.max_delay = read_duration(r, "maxDelay");
    d.increment = read_duration(r, "increment");
    d.multiplier = read_number(r, "multiplier");
    if (d.multiplier && *d.multiplier < 0)
      ctx().error(r.path_of("multiplier"), r.get("multiplier"),
                 "'multiplier' must not be negative");
    d.max_attempts = read_count(r, "maxAttempts", 1);
    auto jitter = r.get("jitter");
    if (jitter.IsDefined()) {
      if (kind_of(jitter) == json_kind::string) {
        if (auto j = read_duration(r, "jitter"))
          d.jitter = *j;
      } else if (auto j = read_number(r, "jitter")) {
        if (*j < 0 || *j > 1)
          ctx().error(r.path_of("jitter"), jitter,
                     "'jitter' as a number is a fraction of the delay, from 0 to 1");
        else
          d.jitter = *j;
      }
    }
    if (!r.has("maxAttempts"))
      r.missing("maxAttempts");
    r.finish();
    if (!name)
      return std::nullopt;
    d.name = *name;
    return d;
  }

  std::optional<auth_def> auth(const Node& n, const std::string& path) {
    if (!expect_object(ctx(), n, path, "an auth definition"))
      return std::nullopt;
    object_reader r{ctx(), n, path};
    auth_def a;
    auto name = require_string(r, "name", true);
    if (auto s = read_enum(r, "scheme", {"basic", "bearer", "oauth2"}))
      a.scheme = static_cast<auth_scheme>(*s);
    auto properties = r.get("properties");
    if (properties.IsDefined()) {
      if (kind_of(properties) == json_kind::object)
        auth_properties(a.scheme, properties, r.path_of("properties"));
      else if (kind_of(properties) != json_kind::string)
        ctx().error(r.path_of("properties"), properties,
                   "'properties' must be an object or a string");
      if (auto j = to_json(ctx(), properties, r.path_of("properties")))
        a.properties = std::move(*j);
    } else {
      r.missing("properties");
    }
    r.finish(false);
    if (!name)
      return std::nullopt;
    a.name = *name;
    return a;
  }

  void auth_properties(auth_scheme scheme, const Node& n, const std::string& path) {
    object_reader r{ctx(), n, path};
    auto strings = [&](std::initializer_list<std::string_view> keys) {
      for (auto k : keys)
        read_string(r, k, true);
    };
    read_metadata(r);
    switch (scheme) {
      case auth_scheme::basic:
        strings({"username", "password"});
        for (auto k : {"username", "password"})
          if (!r.has(k))
            r.missing(k, "basic authentication");
        r.finish();
        break;
      case auth_scheme::bearer:
        strings({"token"});
        if (!r.has("token"))
          r.missing("token", "bearer authentication");
        r.finish();
        break;
      case auth_scheme::oauth2:
        strings({"authority", "clientId", "clientSecret", "username", "password",
                 "subjectToken", "requestedSubject", "requestedIssuer"});
        read_enum(r, "grantType", {"password", "clientCredentials", "tokenExchange"});
        read_string_list(r, "scopes", true);
        read_string_list(r, "audiences", true);
        for (auto k : {"grantType", "clientId"})
          if (!r.has(k))
            r.missing(k, "OAuth 2.0 authentication");
        r.finish(false);
        break;
    }
  }

  /// `functions`, `events`, `errors`, `retries`, `auth`: an array, or the
  /// URI of a document that holds `{KEY: [...]}`.
  template <class T, class F>
  std::vector<T> definitions(object_reader& r, std::string_view key, F&& read_item) {
    auto n = r.get(key);
    if (!n.IsDefined())
      return {};
    if (kind_of(n) == json_kind::string) {
      std::vector<T> items;
      with_referenced(n.Scalar(), r.path_of(key), n, fmt::format("a document of {}", key),
                      [&](read_context& sub, const Node& root) {
                        object_reader dr{sub, root, ""};
                        items = read_list<T>(dr, key, true, read_item);
                        if (!dr.has(key))
                          dr.missing(key);
                        dr.finish(false);
                      });
      return items;
    }
    return read_list<T>(r, key, true, read_item);
  }

  /// While alive, reading reports into another document's context.
  class scoped_context {
  public:
    scoped_context(document_reader& reader, read_context& ctx)
      : reader_(reader), saved_(reader.ctx_) {
      reader_.ctx_ = &ctx;
    }
    ~scoped_context() { reader_.ctx_ = saved_; }
    scoped_context(const scoped_context&) = delete;
    scoped_context& operator=(const scoped_context&) = delete;

  private:
    document_reader& reader_;
    read_context* saved_;
  };

  read_context& ctx() { return *ctx_; }

  /// Something the schema accepts but that cannot run: an error when
  /// strict, else a warning that says deploying will fail.
  void finding(const std::string& path, const Node& at, std::string message) {
    if (options_.strict)
      ctx().error(path, at, std::move(message));
    else
      ctx().warning(path, at, message + " (deploying this workflow will fail)");
  }

  /// The 0.8 text lets a workflow name the language of its expressions.
  /// Besides jq, engines of 0.8 run JSONPath (SonataFlow does): such a
  /// definition is valid, but meshflow cannot run it. A name no engine knows
  /// cannot run anywhere.
  void expression_language(const workflow& w, const Node& at) {
    if (w.expressions_are_jq())
      return;
    if (w.expression_lang == "jsonpath")
      finding("expressionLang", at,
              "meshflow evaluates jq expressions only, not 'jsonpath'; the workflow's "
              "expressions are not checked");
    else
      ctx().error("expressionLang", at,
                  fmt::format("'{}' is no expression language meshflow knows; meshflow "
                              "evaluates jq (leave out expressionLang, or give 'jq')",
                              w.expression_lang));
  }

  /// Reads the document a definition names by `uri` (a path relative to the
  /// workflow, or `file://`): when it is an object, `read(ctx, root)` runs
  /// with the document's own context, so that findings name its file and
  /// lines. A remote or unreadable document is a warning, and what it holds
  /// stays unchecked.
  template <class F>
  void with_referenced(const std::string& uri, const std::string& path, const Node& at,
                       std::string_view what, F&& read) {
    std::string_view name = uri;
    if (name.starts_with("file://"))
      name.remove_prefix(7);
    else if (name.find("://") != std::string_view::npos) {
      ctx().warning(path, at,
                    fmt::format("'{}' is not fetched by meshflow; the definitions "
                                "it holds are not checked",
                                uri));
      unresolved_ = true;
      return;
    }
    auto file = std::filesystem::path{name}.is_absolute() ? std::filesystem::path{name}
                                                          : base_dir_ / name;
    auto text = read_text(file, options_.max_bytes);
    if (!text) {
      ctx().warning(path, at,
                    fmt::format("{}; the definitions of '{}' are not checked",
                                text.error().message, uri));
      unresolved_ = true;
      return;
    }
    auto parsed = detail::parse_document(*text, file.string());
    for (auto& d : parsed.diagnostics)
      out_.push_back(std::move(d));
    if (!parsed.root) {
      unresolved_ = true;
      return;
    }
    dsl::source_map positions;
    read_context sub{file.string(), out_, positions, options_.max_nodes};
    if (!expect_object(sub, *parsed.root, "", what))
      return;
    scoped_context in_document{*this, sub};
    read(sub, *parsed.root);
  }

  // --- data filters, timeouts --------------------------------------------

  std::optional<state_data_filter> state_filter(object_reader& parent) {
    auto n = parent.get("stateDataFilter");
    if (!n.IsDefined() || !expect_object(ctx(), n, parent.path_of("stateDataFilter"),
                                         "'stateDataFilter'"))
      return std::nullopt;
    object_reader r{ctx(), n, parent.path_of("stateDataFilter")};
    state_data_filter f;
    f.input = read_string(r, "input");
    f.output = read_string(r, "output");
    r.finish();
    return f;
  }

  std::optional<event_data_filter> event_filter(object_reader& parent) {
    auto n = parent.get("eventDataFilter");
    if (!n.IsDefined() || !expect_object(ctx(), n, parent.path_of("eventDataFilter"),
                                         "'eventDataFilter'"))
      return std::nullopt;
    object_reader r{ctx(), n, parent.path_of("eventDataFilter")};
    event_data_filter f;
    if (auto b = read_bool(r, "useData"))
      f.use_data = *b;
    f.data = read_string(r, "data");
    f.to_state_data = read_string(r, "toStateData");
    r.finish();
    return f;
  }

  std::optional<action_data_filter> action_filter(object_reader& parent) {
    auto n = parent.get("actionDataFilter");
    if (!n.IsDefined() || !expect_object(ctx(), n, parent.path_of("actionDataFilter"),
                                         "'actionDataFilter'"))
      return std::nullopt;
    object_reader r{ctx(), n, parent.path_of("actionDataFilter")};
    action_data_filter f;
    f.from_state_data = read_string(r, "fromStateData");
    if (auto b = read_bool(r, "useResults"))
      f.use_results = *b;
    f.results = read_string(r, "results");
    f.to_state_data = read_string(r, "toStateData");
    r.finish();
    return f;
  }

  std::optional<dsl::workflow_exec_timeout> workflow_timeout(object_reader& parent) {
    auto n = parent.get("workflowExecTimeout");
    if (!n.IsDefined())
      return std::nullopt;
    if (kind_of(n) == json_kind::string) {
      if (auto d = read_duration(parent, "workflowExecTimeout"))
        return dsl::workflow_exec_timeout{*d, true, std::nullopt};
      return std::nullopt;
    }
    if (!expect_object(ctx(), n, parent.path_of("workflowExecTimeout"),
                       "'workflowExecTimeout'"))
      return std::nullopt;
    object_reader r{ctx(), n, parent.path_of("workflowExecTimeout")};
    dsl::workflow_exec_timeout t;
    auto d = read_duration(r, "duration");
    if (auto b = read_bool(r, "interrupt"))
      t.interrupt = *b;
    t.run_before = read_string(r, "runBefore", true);
    if (!r.has("duration"))
      r.missing("duration");
    r.finish();
    if (!d)
      return std::nullopt;
    t.duration = *d;
    return t;
  }

  std::optional<dsl::state_exec_timeout> state_timeout(object_reader& parent) {
    auto n = parent.get("stateExecTimeout");
    if (!n.IsDefined())
      return std::nullopt;
    if (kind_of(n) == json_kind::string) {
      if (auto d = read_duration(parent, "stateExecTimeout"))
        return dsl::state_exec_timeout{std::nullopt, *d};
      return std::nullopt;
    }
    if (!expect_object(ctx(), n, parent.path_of("stateExecTimeout"), "'stateExecTimeout'"))
      return std::nullopt;
    object_reader r{ctx(), n, parent.path_of("stateExecTimeout")};
    dsl::state_exec_timeout t;
    t.single = read_duration(r, "single");
    auto total = read_duration(r, "total");
    if (!r.has("total"))
      r.missing("total");
    r.finish();
    if (!total)
      return std::nullopt;
    t.total = *total;
    return t;
  }

  /// A `timeouts` object that may set `allowed`; `strict` where the schema
  /// forbids other members (the top level), else they are warnings.
  dsl::timeouts timeouts_of(object_reader& parent,
                            std::initializer_list<std::string_view> allowed, bool strict,
                            std::string_view owner) {
    dsl::timeouts t;
    auto n = parent.get("timeouts");
    if (!n.IsDefined())
      return t;
    auto path = parent.path_of("timeouts");
    if (strict && kind_of(n) == json_kind::string) {
      with_referenced(n.Scalar(), path, n, "a timeouts document",
                      [&](read_context& sub, const Node& root) {
                        object_reader dr{sub, root, ""};
                        auto inner = dr.get("timeouts");
                        dr.finish(false);
                        if (inner.IsDefined()
                            && expect_object(sub, inner, "timeouts", "'timeouts'"))
                          t = timeouts_object(sub, inner, "timeouts", allowed, strict, owner);
                      });
      return t;
    }
    if (!expect_object(ctx(), n, path, "'timeouts'"))
      return t;
    return timeouts_object(ctx(), n, path, allowed, strict, owner);
  }

  dsl::timeouts timeouts_object(read_context& ctx, const Node& n, const std::string& path,
                                std::initializer_list<std::string_view> allowed,
                                bool strict, std::string_view owner) {
    scoped_context in_document{*this, ctx};
    object_reader r{ctx, n, path};
    dsl::timeouts t;
    auto permitted = [&](std::string_view k) {
      return std::find(allowed.begin(), allowed.end(), k) != allowed.end();
    };
    if (permitted("workflowExecTimeout"))
      t.workflow_exec_timeout = workflow_timeout(r);
    if (permitted("stateExecTimeout"))
      t.state_exec_timeout = state_timeout(r);
    if (permitted("actionExecTimeout"))
      t.action_exec_timeout = read_duration(r, "actionExecTimeout");
    if (permitted("branchExecTimeout"))
      t.branch_exec_timeout = read_duration(r, "branchExecTimeout");
    if (permitted("eventTimeout"))
      t.event_timeout = read_duration(r, "eventTimeout");
    if (strict) {
      r.finish(true);
    } else {
      for (const auto& kv : n) {
        auto key = kv.first.Scalar();
        if (!permitted(key))
          ctx.warning(member_path(path, key), kv.first,
                      fmt::format("'{}' does not apply to {} (ignored)", key, owner));
      }
    }
    return t;
  }

  // --- transitions, ends, errors ------------------------------------------

  std::vector<produce_event_def> produce_events(object_reader& parent) {
    return read_list<produce_event_def>(
      parent, "produceEvents", false,
      [&](const Node& n, const std::string& path) -> std::optional<produce_event_def> {
        if (!expect_object(ctx(), n, path, "a produced event"))
          return std::nullopt;
        object_reader r{ctx(), n, path};
        produce_event_def p;
        auto ref = require_string(r, "eventRef");
        p.data = read_string_or_object(r, "data");
        p.context_attributes = read_string_map(r, "contextAttributes");
        r.finish();
        if (!ref)
          return std::nullopt;
        p.event_ref = *ref;
        return p;
      });
  }

  std::optional<transition_def> transition(object_reader& parent) {
    auto n = parent.get("transition");
    auto path = parent.path_of("transition");
    if (kind_of(n) == json_kind::string) {
      if (n.Scalar().empty()) {
        ctx().error(path, n, "'transition' must name a state");
        return std::nullopt;
      }
      return transition_def{n.Scalar(), {}, false};
    }
    if (!expect_object(ctx(), n, path, "'transition' (a state name or an object)"))
      return std::nullopt;
    object_reader r{ctx(), n, path};
    transition_def t;
    auto next = require_string(r, "nextState", true);
    t.produce_events = produce_events(r);
    if (auto b = read_bool(r, "compensate"))
      t.compensate = *b;
    r.finish();
    if (!next)
      return std::nullopt;
    t.next_state = *next;
    return t;
  }

  std::optional<end_def> end(object_reader& parent) {
    auto n = parent.get("end");
    auto path = parent.path_of("end");
    if (kind_of(n) == json_kind::boolean) {
      if (n.Scalar() == "false" || n.Scalar() == "False" || n.Scalar() == "FALSE") {
        // The schema allows it; it leaves the state with nowhere to go.
        finding(path, n, "'end: false' does not end anything and there is no "
                         "'transition': give 'end: true' or a 'transition'");
        return std::nullopt;
      }
      return end_def{};
    }
    if (!expect_object(ctx(), n, path, "'end' (true or an object)"))
      return std::nullopt;
    object_reader r{ctx(), n, path};
    end_def e;
    if (auto b = read_bool(r, "terminate"))
      e.terminate = *b;
    e.produce_events = produce_events(r);
    if (auto b = read_bool(r, "compensate"))
      e.compensate = *b;
    auto c = r.get("continueAs");
    if (c.IsDefined())
      e.continue_as = continue_as(c, r.path_of("continueAs"));
    r.finish();
    return e;
  }

  std::optional<continue_as_def> continue_as(const Node& n, const std::string& path) {
    if (kind_of(n) == json_kind::string && !n.Scalar().empty())
      return continue_as_def{n.Scalar(), std::nullopt, std::nullopt, std::nullopt};
    if (!expect_object(ctx(), n, path, "'continueAs' (a workflow id or an object)"))
      return std::nullopt;
    object_reader r{ctx(), n, path};
    continue_as_def c;
    auto id = require_string(r, "workflowId");
    c.version = read_string(r, "version", true);
    c.data = read_string_or_object(r, "data");
    c.workflow_exec_timeout = workflow_timeout(r);
    r.finish(false);
    if (!id)
      return std::nullopt;
    c.workflow_id = *id;
    return c;
  }

  /// `transition` or `end`, exactly one; nullopt when neither was readable.
  std::optional<dsl::flow> flow_of(object_reader& r, bool required, std::string_view what) {
    if (!exactly_one(r, {"transition", "end"}, required, what)) {
      r.get("transition");
      r.get("end");
      return std::nullopt;
    }
    if (r.has("transition")) {
      r.get("end");
      if (auto t = transition(r))
        return dsl::flow{std::move(*t)};
    } else if (r.has("end")) {
      r.get("transition");
      if (auto e = end(r))
        return dsl::flow{std::move(*e)};
    } else {
      r.get("transition");
      r.get("end");
    }
    return std::nullopt;
  }

  std::optional<on_error> on_error_handler(const Node& n, const std::string& path) {
    if (!expect_object(ctx(), n, path, "an error handler"))
      return std::nullopt;
    object_reader r{ctx(), n, path};
    on_error h;
    exactly_one(r, {"errorRef", "errorRefs"}, true, "an error handler");
    if (auto ref = read_string(r, "errorRef", true))
      h.error_refs.push_back(*ref);
    if (auto refs = read_string_list(r, "errorRefs", true))
      h.error_refs = *refs;
    auto f = flow_of(r, true, "an error handler");
    r.finish();
    if (!f || h.error_refs.empty())
      return std::nullopt;
    h.flow = std::move(*f);
    return h;
  }

  // --- actions ----------------------------------------------------------

  std::optional<function_ref> function_reference(object_reader& parent) {
    auto n = parent.get("functionRef");
    auto path = parent.path_of("functionRef");
    if (kind_of(n) == json_kind::string && !n.Scalar().empty())
      return function_ref{n.Scalar(), nlohmann::json::object(), std::nullopt,
                          invoke_kind::sync};
    if (!expect_object(ctx(), n, path, "'functionRef' (a function name or an object)"))
      return std::nullopt;
    object_reader r{ctx(), n, path};
    function_ref f;
    auto name = require_string(r, "refName");
    if (auto args = read_object(r, "arguments"))
      f.arguments = std::move(*args);
    f.selection_set = read_string(r, "selectionSet");
    if (auto i = read_enum(r, "invoke", invoke_names))
      f.invoke = static_cast<invoke_kind>(*i);
    r.finish();
    if (!name)
      return std::nullopt;
    f.ref_name = *name;
    return f;
  }

  std::optional<event_ref> event_reference(object_reader& parent) {
    auto path = parent.path_of("eventRef");
    auto n = parent.get("eventRef");
    if (!expect_object(ctx(), n, path, "'eventRef'"))
      return std::nullopt;
    object_reader r{ctx(), n, path};
    event_ref e;
    auto trigger = require_string(r, "triggerEventRef");
    e.result_event_ref = read_string(r, "resultEventRef");
    e.result_event_timeout = read_duration(r, "resultEventTimeout");
    e.data = read_string_or_object(r, "data");
    e.context_attributes = read_string_map(r, "contextAttributes");
    if (auto i = read_enum(r, "invoke", invoke_names))
      e.invoke = static_cast<invoke_kind>(*i);
    if (!r.has("resultEventRef"))
      ctx().warning(path, n,
                   "no 'resultEventRef': the trigger event is sent and the action "
                   "completes at once (fire-and-forget); the 0.8 schema requires "
                   "'resultEventRef'");
    r.finish();
    if (!trigger)
      return std::nullopt;
    e.trigger_event_ref = *trigger;
    return e;
  }

  std::optional<sub_flow_ref> sub_flow_reference(object_reader& parent) {
    auto n = parent.get("subFlowRef");
    auto path = parent.path_of("subFlowRef");
    if (kind_of(n) == json_kind::string && !n.Scalar().empty())
      return sub_flow_ref{n.Scalar(), std::nullopt, on_parent_complete::terminate,
                          invoke_kind::sync};
    if (!expect_object(ctx(), n, path, "'subFlowRef' (a workflow id or an object)"))
      return std::nullopt;
    object_reader r{ctx(), n, path};
    sub_flow_ref s;
    auto id = require_string(r, "workflowId");
    s.version = read_string(r, "version", true);
    if (auto o = read_enum(r, "onParentComplete", {"terminate", "continue"}))
      s.on_parent_complete = static_cast<on_parent_complete>(*o);
    if (auto i = read_enum(r, "invoke", invoke_names))
      s.invoke = static_cast<invoke_kind>(*i);
    r.finish(false);
    if (!id)
      return std::nullopt;
    s.workflow_id = *id;
    return s;
  }

  std::optional<action> action_at(const Node& n, const std::string& path) {
    if (!expect_object(ctx(), n, path, "an action"))
      return std::nullopt;
    object_reader r{ctx(), n, path};
    action a;
    a.id = read_string(r, "id");
    a.name = read_string(r, "name");
    bool one = exactly_one(r, {"functionRef", "eventRef", "subFlowRef"}, true, "an action");
    bool have_target = false;
    if (r.has("functionRef")) {
      if (auto f = function_reference(r)) {
        a.target = std::move(*f);
        have_target = true;
      }
    }
    if (r.has("eventRef")) {
      if (auto e = event_reference(r)) {
        a.target = std::move(*e);
        have_target = true;
      }
    }
    if (r.has("subFlowRef")) {
      if (auto s = sub_flow_reference(r)) {
        a.target = std::move(*s);
        have_target = true;
      }
    }
    for (auto k : {"functionRef", "eventRef", "subFlowRef"})
      r.get(k);
    auto sleep = r.get("sleep");
    if (sleep.IsDefined() && expect_object(ctx(), sleep, r.path_of("sleep"), "'sleep'")) {
      object_reader s{ctx(), sleep, r.path_of("sleep")};
      sleep_def d;
      d.before = read_duration(s, "before");
      d.after = read_duration(s, "after");
      if (!s.has("before") && !s.has("after"))
        ctx().error(s.path(), sleep, "'sleep' needs 'before' or 'after'");
      s.finish(false);
      a.sleep = d;
    }
    a.retry_ref = read_string(r, "retryRef");
    if (auto l = read_string_list(r, "nonRetryableErrors", true))
      a.non_retryable_errors = *l;
    if (auto l = read_string_list(r, "retryableErrors", true))
      a.retryable_errors = *l;
    a.action_data_filter = action_filter(r);
    a.condition = read_string(r, "condition", true);
    r.finish();
    if (!one || !have_target)
      return std::nullopt;
    return a;
  }

  std::vector<action> actions(object_reader& r, std::string_view key = "actions") {
    return read_list<action>(r, key, false, [&](const Node& n, const std::string& path) {
      return action_at(n, path);
    });
  }

  // --- states ------------------------------------------------------------

  std::optional<state> state_at(const Node& n, const std::string& path);

  std::optional<on_events> on_events_at(const Node& n, const std::string& path) {
    if (!expect_object(ctx(), n, path, "an onEvents entry"))
      return std::nullopt;
    object_reader r{ctx(), n, path};
    on_events o;
    auto refs = read_string_list(r, "eventRefs", true);
    if (auto m = read_enum(r, "actionMode", action_mode_names))
      o.action_mode = static_cast<action_mode>(*m);
    o.actions = actions(r);
    o.event_data_filter = event_filter(r);
    if (!r.has("eventRefs"))
      r.missing("eventRefs");
    r.finish();
    if (!refs)
      return std::nullopt;
    for (std::size_t i = 0; i < refs->size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if ((*refs)[i] == (*refs)[j])
          ctx().error(item_path(r.path_of("eventRefs"), i), r.get("eventRefs")[i],
                     fmt::format("event '{}' is listed twice", (*refs)[i]));
    o.event_refs = std::move(*refs);
    return o;
  }

  std::optional<branch> branch_at(const Node& n, const std::string& path) {
    if (!expect_object(ctx(), n, path, "a branch"))
      return std::nullopt;
    object_reader r{ctx(), n, path};
    branch b;
    auto name = require_string(r, "name");
    b.timeouts = timeouts_of(r, {"actionExecTimeout", "branchExecTimeout"}, false,
                             "a branch");
    b.actions = actions(r);
    if (!r.has("actions"))
      r.missing("actions");
    r.finish();
    if (!name)
      return std::nullopt;
    b.name = *name;
    return b;
  }

  template <class Condition>
  std::optional<Condition> condition_at(const Node& n, const std::string& path,
                                        bool event_based) {
    if (!expect_object(ctx(), n, path, event_based ? "an event condition" : "a data condition"))
      return std::nullopt;
    object_reader r{ctx(), n, path};
    Condition c;
    c.name = read_string(r, "name");
    std::optional<std::string> key;
    if constexpr (std::is_same_v<Condition, event_condition>) {
      key = read_string(r, "eventRef");
      c.event_data_filter = event_filter(r);
      if (!r.has("eventRef"))
        r.missing("eventRef");
    } else {
      key = read_string(r, "condition");
      if (!r.has("condition"))
        r.missing("condition");
    }
    c.metadata = read_metadata(r);
    auto f = flow_of(r, true, event_based ? "an event condition" : "a data condition");
    r.finish();
    if (!key || !f)
      return std::nullopt;
    if constexpr (std::is_same_v<Condition, event_condition>)
      c.event_ref = *key;
    else
      c.condition = *key;
    c.flow = std::move(*f);
    return c;
  }

  std::optional<switch_state> switch_properties(object_reader& r, bool& ok) {
    switch_state s;
    if (!exactly_one(r, {"dataConditions", "eventConditions"}, true, "a switch state"))
      ok = false;
    s.data_conditions = read_list<data_condition>(
      r, "dataConditions", false, [&](const Node& n, const std::string& path) {
        return condition_at<data_condition>(n, path, false);
      });
    s.event_conditions = read_list<event_condition>(
      r, "eventConditions", false, [&](const Node& n, const std::string& path) {
        return condition_at<event_condition>(n, path, true);
      });
    auto d = r.get("defaultCondition");
    if (!d.IsDefined()) {
      r.missing("defaultCondition");
      ok = false;
    } else if (expect_object(ctx(), d, r.path_of("defaultCondition"), "'defaultCondition'")) {
      object_reader dr{ctx(), d, r.path_of("defaultCondition")};
      auto f = flow_of(dr, true, "'defaultCondition'");
      dr.finish();
      if (f)
        s.default_condition = std::move(*f);
      else
        ok = false;
    } else {
      ok = false;
    }
    return s;
  }

  std::optional<iso_interval> interval_of(object_reader& r, std::string_view key) {
    auto text = read_string(r, key, true);
    if (!text)
      return std::nullopt;
    auto i = parse_interval(*text);
    if (!i) {
      ctx().error(r.path_of(key), r.get(key), i.error().message);
      return std::nullopt;
    }
    return *i;
  }

  std::optional<dsl::schedule> schedule_of(object_reader& parent) {
    auto n = parent.get("schedule");
    auto path = parent.path_of("schedule");
    if (!n.IsDefined())
      return std::nullopt;
    dsl::schedule s;
    if (kind_of(n) == json_kind::string) {
      s.interval = interval_of(parent, "schedule");
      return s;
    }
    if (!expect_object(ctx(), n, path, "'schedule' (an interval or an object)"))
      return std::nullopt;
    object_reader r{ctx(), n, path};
    exactly_one(r, {"interval", "cron"}, true, "'schedule'");
    if (r.has("interval"))
      s.interval = interval_of(r, "interval");
    s.timezone = read_string(r, "timezone");
    auto cron = r.get("cron");
    if (cron.IsDefined()) {
      std::optional<std::string> expression;
      auto cron_path = r.path_of("cron");
      if (kind_of(cron) == json_kind::string) {
        expression = cron.Scalar();
      } else if (expect_object(ctx(), cron, cron_path, "'cron' (an expression or an object)")) {
        object_reader cr{ctx(), cron, cron_path};
        expression = require_string(cr, "expression", true);
        s.valid_until = read_string(cr, "validUntil");
        cr.finish();
        cron_path = cr.path_of("expression");
      }
      if (expression) {
        if (auto c = parse_cron(*expression))
          s.cron = std::move(*c);
        else
          ctx().error(cron_path, cron, c.error().message);
      }
    }
    r.finish();
    return s;
  }

  read_context* ctx_;
  std::filesystem::path base_dir_;
  load_options options_;
  std::vector<diagnostic>& out_;
  bool unresolved_ = false;

public:
  bool unresolved() const { return unresolved_; }
};

std::optional<state> document_reader::state_at(const Node& n, const std::string& path) {
  if (!expect_object(ctx(), n, path, "a state"))
    return std::nullopt;
  object_reader r{ctx(), n, path};
  state s;
  s.id = read_string(r, "id", true);
  auto name = require_string(r, "name");
  auto type_node = r.get("type");
  if (!type_node.IsDefined()) {
    r.missing("type", "one of sleep, event, operation, parallel, switch, inject, "
                      "foreach, callback");
    return std::nullopt;
  }
  auto type_index = read_enum(r, "type", state_type_names);
  if (!type_index)
    return std::nullopt;
  auto type = static_cast<state_type>(*type_index);
  auto what = fmt::format("{} {} state", type == state_type::inject || type == state_type::event
                                           || type == state_type::operation
                                           ? "an"
                                           : "a",
                          state_type_names[*type_index]);
  int errors_before = ctx().errors();

  s.state_data_filter = state_filter(r);
  s.on_errors = read_list<on_error>(r, "onErrors", false,
                                    [&](const Node& e, const std::string& at) {
                                      return on_error_handler(e, at);
                                    });
  s.compensated_by = read_string(r, "compensatedBy", true);
  if (type != state_type::event) {
    if (auto b = read_bool(r, "usedForCompensation"))
      s.used_for_compensation = *b;
  }
  s.metadata = read_metadata(r);

  auto require = [&](std::string_view key) {
    if (!r.has(key))
      r.missing(key, what);
  };

  switch (type) {
    case state_type::sleep: {
      s.timeouts = timeouts_of(r, {"stateExecTimeout"}, false, what);
      require("duration");
      sleep_state p;
      if (auto d = read_duration(r, "duration"))
        p.duration = *d;
      s.properties = p;
      break;
    }
    case state_type::event: {
      s.timeouts = timeouts_of(r, {"stateExecTimeout", "actionExecTimeout", "eventTimeout"},
                               false, what);
      require("onEvents");
      event_state p;
      if (auto b = read_bool(r, "exclusive"))
        p.exclusive = *b;
      p.on_events = read_list<on_events>(r, "onEvents", false,
                                         [&](const Node& e, const std::string& at) {
                                           return on_events_at(e, at);
                                         });
      s.properties = std::move(p);
      break;
    }
    case state_type::operation: {
      s.timeouts = timeouts_of(r, {"stateExecTimeout", "actionExecTimeout"}, false, what);
      require("actions");
      operation_state p;
      if (auto m = read_enum(r, "actionMode", action_mode_names))
        p.action_mode = static_cast<action_mode>(*m);
      p.actions = actions(r);
      s.properties = std::move(p);
      break;
    }
    case state_type::parallel: {
      s.timeouts = timeouts_of(r, {"stateExecTimeout", "branchExecTimeout"}, false, what);
      require("branches");
      parallel_state p;
      p.branches = read_list<branch>(r, "branches", false,
                                     [&](const Node& b, const std::string& at) {
                                       return branch_at(b, at);
                                     });
      if (auto c = read_enum(r, "completionType", {"allOf", "atLeast"}))
        p.completion_type = static_cast<completion_type>(*c);
      p.num_completed = read_count(r, "numCompleted", 0);
      s.properties = std::move(p);
      break;
    }
    case state_type::switch_: {
      bool events = r.has("eventConditions");
      s.timeouts = timeouts_of(r,
                               events ? std::initializer_list<std::string_view>{
                                          "stateExecTimeout", "eventTimeout"}
                                      : std::initializer_list<std::string_view>{
                                          "stateExecTimeout"},
                               false, what);
      bool ok = true;
      auto p = switch_properties(r, ok);
      if (p)
        s.properties = std::move(*p);
      break;
    }
    case state_type::inject: {
      s.timeouts = timeouts_of(r, {"stateExecTimeout"}, false, what);
      require("data");
      inject_state p;
      if (auto d = read_object(r, "data"))
        p.data = std::move(*d);
      s.properties = std::move(p);
      break;
    }
    case state_type::foreach: {
      s.timeouts = timeouts_of(r, {"stateExecTimeout", "actionExecTimeout"}, false, what);
      require("inputCollection");
      require("actions");
      foreach_state p;
      if (auto c = read_string(r, "inputCollection"))
        p.input_collection = *c;
      p.output_collection = read_string(r, "outputCollection");
      p.iteration_param = read_string(r, "iterationParam");
      p.batch_size = read_count(r, "batchSize", 0);
      p.actions = actions(r);
      if (auto m = read_enum(r, "mode", action_mode_names))
        p.mode = static_cast<action_mode>(*m);
      s.properties = std::move(p);
      break;
    }
    case state_type::callback: {
      s.timeouts = timeouts_of(r, {"stateExecTimeout", "actionExecTimeout", "eventTimeout"},
                               false, what);
      require("action");
      require("eventRef");
      callback_state p;
      auto a = r.get("action");
      if (a.IsDefined())
        if (auto parsed = action_at(a, r.path_of("action")))
          p.action = std::move(*parsed);
      if (auto e = read_string(r, "eventRef"))
        p.event_ref = *e;
      p.event_data_filter = event_filter(r);
      s.properties = std::move(p);
      break;
    }
  }

  if (type == state_type::switch_) {
    r.finish();
  } else {
    // Compensation states may leave out both; every other state needs one.
    s.flow = flow_of(r, !s.used_for_compensation, what);
    r.finish();
  }
  if (!name || ctx().errors() != errors_before)
    return std::nullopt;
  s.name = *name;
  return s;
}

std::optional<workflow> document_reader::read(const Node& root) {
  if (!expect_object(ctx(), root, "", "a workflow definition"))
    return std::nullopt;
  object_reader r{ctx(), root, ""};
  int errors_before = ctx().errors();
  workflow w;
  w.id = read_string(r, "id", true);
  w.key = read_string(r, "key", true);
  w.name = read_string(r, "name", true);
  w.description = read_string(r, "description");
  w.version = read_string(r, "version", true);
  if (!r.has("id") && !r.has("key"))
    r.missing("id", "or 'key': the workflow's identity");
  if (r.has("id") && r.has("key"))
    ctx().error("key", r.get("key"), "give either 'id' or 'key', not both");
  if (auto v = read_string(r, "specVersion", true)) {
    w.spec_version = *v;
    if (*v != "0.8")
      ctx().warning("specVersion", r.get("specVersion"),
                    fmt::format("meshflow implements specVersion 0.8; this definition "
                                "says '{}'",
                                *v));
  } else if (!r.has("specVersion")) {
    r.missing("specVersion");
  }
  if (auto a = read_string_list(r, "annotations", true))
    w.annotations = *a;

  auto schema = r.get("dataInputSchema");
  if (schema.IsDefined()) {
    if (kind_of(schema) == json_kind::string && !schema.Scalar().empty()) {
      w.data_input_schema = data_input_schema{schema.Scalar(), true};
    } else if (expect_object(ctx(), schema, "dataInputSchema",
                             "'dataInputSchema' (a URI or an object)")) {
      object_reader sr{ctx(), schema, "dataInputSchema"};
      auto s = require_string(sr, "schema", true);
      auto fail_on = read_bool(sr, "failOnValidationErrors");
      if (!sr.has("failOnValidationErrors"))
        sr.missing("failOnValidationErrors");
      sr.finish();
      if (s && fail_on)
        w.data_input_schema = data_input_schema{*s, *fail_on};
    }
  }

  auto secrets = r.get("secrets");
  if (secrets.IsDefined()) {
    if (kind_of(secrets) == json_kind::string) {
      with_referenced(secrets.Scalar(), "secrets", secrets, "a secrets document",
                      [&](read_context& sub, const Node& root) {
                        object_reader dr{sub, root, ""};
                        if (auto l = read_string_list(dr, "secrets", true))
                          w.secrets = *l;
                        dr.finish(false);
                      });
    } else if (auto l = read_string_list(r, "secrets", true)) {
      w.secrets = *l;
    }
  }

  auto constants = r.get("constants");
  if (constants.IsDefined()) {
    if (kind_of(constants) == json_kind::string) {
      with_referenced(constants.Scalar(), "constants", constants, "a constants document",
                      [&](read_context& sub, const Node& root) {
                        if (auto j = to_json(sub, root, ""))
                          w.constants = std::move(*j);
                      });
    } else if (auto j = read_object(r, "constants")) {
      w.constants = std::move(*j);
    }
  }

  auto start = r.get("start");
  if (start.IsDefined()) {
    if (kind_of(start) == json_kind::string && !start.Scalar().empty()) {
      w.start.state_name = start.Scalar();
    } else if (expect_object(ctx(), start, "start", "'start' (a state name or an object)")) {
      object_reader sr{ctx(), start, "start"};
      if (auto name = read_string(sr, "stateName", true))
        w.start.state_name = *name;
      w.start.schedule = schedule_of(sr);
      if (!sr.has("stateName"))
        sr.missing("stateName");
      if (!sr.has("schedule"))
        sr.missing("schedule");
      sr.finish();
    }
  }

  if (auto lang = read_string(r, "expressionLang", true)) {
    w.expression_lang = *lang;
    expression_language(w, r.get("expressionLang"));
  }
  w.timeouts = timeouts_of(r, {"workflowExecTimeout", "stateExecTimeout",
                               "actionExecTimeout", "branchExecTimeout", "eventTimeout"},
                           true, "the workflow");
  w.errors = definitions<error_def>(r, "errors", [&](const Node& n, const std::string& at) {
    return error_definition(n, at);
  });
  if (auto b = read_bool(r, "keepActive"))
    w.keep_active = *b;
  w.metadata = read_metadata(r);
  w.events = definitions<event_def>(r, "events", [&](const Node& n, const std::string& at) {
    return event(n, at);
  });
  w.functions = definitions<function_def>(r, "functions",
                                          [&](const Node& n, const std::string& at) {
                                            return function(n, at);
                                          });
  if (auto b = read_bool(r, "autoRetries"))
    w.auto_retries = *b;
  w.retries = definitions<retry_def>(r, "retries", [&](const Node& n, const std::string& at) {
    return retry(n, at);
  });
  w.auth = definitions<auth_def>(r, "auth", [&](const Node& n, const std::string& at) {
    return auth(n, at);
  });
  if (!r.has("states"))
    r.missing("states");
  w.states = read_list<state>(r, "states", true, [&](const Node& n, const std::string& at) {
    return state_at(n, at);
  });
  // The schema lets the top level carry other members; say so, with a hint.
  r.finish(false);
  if (ctx().errors() != errors_before)
    return std::nullopt;
  return w;
}

} // namespace

load_result load_workflow_text(std::string_view text, std::string file,
                               const std::filesystem::path& base_dir,
                               const load_options& options) {
  load_result result;
  if (text.size() > options.max_bytes) {
    result.diagnostics.push_back(
      {file, {1, 1}, severity::error, "",
       fmt::format("the document is {} bytes; definitions are limited to {} bytes",
                   text.size(), options.max_bytes)});
    return result;
  }
  auto parsed = detail::parse_document(text, file);
  result.diagnostics = std::move(parsed.diagnostics);
  if (!parsed.root)
    return result;
  workflow w;
  detail::read_context ctx{file, result.diagnostics, w.source_map, options.max_nodes};
  document_reader reader{ctx, base_dir, options, result.diagnostics};
  try {
    auto read = reader.read(*parsed.root);
    if (read) {
      read->source_map = std::move(w.source_map);
      read->file = file;
      read->definitions_unresolved = reader.unresolved();
      result.workflow = std::move(read);
    }
  } catch (const std::exception& e) {
    // yaml-cpp throws on conversions it cannot make; never let one escape.
    result.diagnostics.push_back({file, {}, severity::error, "",
                                  fmt::format("cannot read the document: {}", e.what())});
    result.workflow.reset();
  }
  return result;
}

load_result load_workflow_file(const std::filesystem::path& file,
                               const load_options& options) {
  auto text = read_text(file, options.max_bytes);
  if (!text) {
    load_result result;
    result.diagnostics.push_back(
      {file.string(), {}, severity::error, "", text.error().message});
    return result;
  }
  return load_workflow_text(*text, file.string(), file.parent_path(), options);
}

} // namespace meshflow::dsl
