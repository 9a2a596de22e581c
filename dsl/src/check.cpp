// Checks across a definition, after its structure was read (load.cpp).

#include <algorithm>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "meshflow/dsl/validate.hpp"
#include "reader.hpp"
#include "walk.hpp"

namespace meshflow::dsl {

namespace {

using detail::for_each_action;
using detail::for_each_flow;

class checker {
public:
  checker(const workflow& w, severity findings) : w_(w), findings_(findings) {
    for (std::size_t i = 0; i < w.states.size(); ++i)
      state_names_.push_back(w.states[i].name);
  }

  std::vector<diagnostic> run() {
    unique_names();
    start();
    for (std::size_t i = 0; i < w_.states.size(); ++i)
      state_at(i);
    workflow_timeouts();
    functions();
    reachability();
    return std::move(out_);
  }

private:
  void error(const std::string& path, std::string message) {
    if (findings_ == severity::warning)
      message += " (deploying this workflow will fail)";
    out_.push_back({w_.file.string(), w_.source_map.find(path), findings_, path,
                    std::move(message)});
  }
  void warning(const std::string& path, std::string message) {
    out_.push_back({w_.file.string(), w_.source_map.find(path), severity::warning, path,
                    std::move(message)});
  }

  /// Reports `name` unless it is one of `names`, suggesting the closest.
  bool resolve(const std::string& path, const std::string& name,
               const std::vector<std::string>& names, std::string_view what,
               bool unresolved_ok = false) {
    if (std::find(names.begin(), names.end(), name) != names.end())
      return true;
    if (unresolved_ok && w_.definitions_unresolved)
      return false;
    std::vector<std::string_view> views(names.begin(), names.end());
    auto message = fmt::format("no {} named '{}'", what, name);
    if (auto s = closest(name, views))
      message += fmt::format("; did you mean '{}'?", *s);
    else if (names.empty())
      message += fmt::format(" (the workflow defines no {}s)", what);
    error(path, std::move(message));
    return false;
  }

  template <class T>
  static std::vector<std::string> names_of(const std::vector<T>& defs) {
    std::vector<std::string> out;
    for (const auto& d : defs)
      out.push_back(d.name);
    return out;
  }

  template <class T>
  void unique(const std::vector<T>& defs, std::string_view list, std::string_view what) {
    std::unordered_map<std::string, std::size_t> seen;
    for (std::size_t i = 0; i < defs.size(); ++i) {
      auto [it, fresh] = seen.emplace(defs[i].name, i);
      if (!fresh)
        error(fmt::format("{}[{}].name", list, i),
              fmt::format("{} name '{}' is already used by {}[{}]", what, defs[i].name, list,
                          it->second));
    }
  }

  void unique_names() {
    unique(w_.states, "states", "state");
    unique(w_.functions, "functions", "function");
    unique(w_.events, "events", "event");
    unique(w_.errors, "errors", "error");
    unique(w_.retries, "retries", "retry");
    unique(w_.auth, "auth", "auth");
  }

  void start() {
    if (!w_.start.state_name.empty())
      resolve(w_.start.schedule ? "start.stateName" : "start", w_.start.state_name,
              state_names_, "state");
  }

  const event_def* event_named(const std::string& name) const {
    for (const auto& e : w_.events)
      if (e.name == name)
        return &e;
    return nullptr;
  }

  void event_use(const std::string& path, const std::string& name, event_kind kind) {
    if (!resolve(path, name, names_of(w_.events), "event", true))
      return;
    const auto* e = event_named(name);
    if (e && e->kind != kind)
      error(path, fmt::format("event '{}' is {}, but is used here as a {} event", name,
                              e->kind == event_kind::consumed ? "consumed" : "produced",
                              kind == event_kind::consumed ? "consumed" : "produced"));
  }

  void error_refs(const std::string& path, const std::vector<std::string>& refs) {
    auto names = names_of(w_.errors);
    for (std::size_t i = 0; i < refs.size(); ++i)
      resolve(refs.size() == 1 && path.ends_with("errorRef") ? path
                                                             : fmt::format("{}[{}]", path, i),
              refs[i], names, "error definition", true);
  }

  void produce_events(const std::vector<produce_event_def>& events, const std::string& path) {
    for (std::size_t i = 0; i < events.size(); ++i)
      event_use(fmt::format("{}.produceEvents[{}].eventRef", path, i), events[i].event_ref,
                event_kind::produced);
  }

  void flow_at(const flow& f, const std::string& path, bool from_compensation) {
    if (const auto* t = std::get_if<transition_def>(&f)) {
      // `transition: NAME`, or `transition: {nextState: NAME}`.
      auto target = w_.source_map.contains(path + ".nextState") ? path + ".nextState" : path;
      if (resolve(target, t->next_state, state_names_, "state")) {
        const auto& next = w_.states[index_of(t->next_state)];
        if (next.used_for_compensation && !from_compensation)
          error(path, fmt::format("state '{}' is used for compensation "
                                  "(usedForCompensation: true); a normal transition "
                                  "cannot go to it",
                                  t->next_state));
      }
      produce_events(t->produce_events, path);
    } else {
      const auto& e = std::get<end_def>(f);
      produce_events(e.produce_events, path);
    }
  }

  std::size_t index_of(const std::string& name) const {
    return static_cast<std::size_t>(
      std::find(state_names_.begin(), state_names_.end(), name) - state_names_.begin());
  }

  void action_at(const action& a, const std::string& path) {
    if (const auto* f = std::get_if<function_ref>(&a.target)) {
      auto at = path + ".functionRef";
      resolve(w_.source_map.contains(at + ".refName") ? at + ".refName" : at, f->ref_name,
              names_of(w_.functions), "function", true);
    } else if (const auto* e = std::get_if<event_ref>(&a.target)) {
      event_use(path + ".eventRef.triggerEventRef", e->trigger_event_ref, event_kind::produced);
      if (e->result_event_ref)
        event_use(path + ".eventRef.resultEventRef", *e->result_event_ref,
                  event_kind::consumed);
    }
    if (a.retry_ref)
      resolve(path + ".retryRef", *a.retry_ref, names_of(w_.retries), "retry definition", true);
    error_refs(path + ".retryableErrors", a.retryable_errors);
    error_refs(path + ".nonRetryableErrors", a.non_retryable_errors);
    if (!a.retryable_errors.empty() && w_.auto_retries)
      warning(path + ".retryableErrors",
              "with autoRetries: true every error is retried except nonRetryableErrors; "
              "retryableErrors is not used");
    if (!a.non_retryable_errors.empty() && !w_.auto_retries)
      warning(path + ".nonRetryableErrors",
              "with autoRetries: false only retryableErrors are retried; "
              "nonRetryableErrors is not used");
  }

  void state_at(std::size_t i) {
    const auto& s = w_.states[i];
    auto path = fmt::format("states[{}]", i);
    for_each_flow(s, path, [&](const flow& f, const std::string& at) {
      flow_at(f, at, s.used_for_compensation);
    });
    for (std::size_t k = 0; k < s.on_errors.size(); ++k)
      error_refs(fmt::format("{}.onErrors[{}].{}", path, k,
                             s.on_errors[k].error_refs.size() == 1 ? "errorRef" : "errorRefs"),
                 s.on_errors[k].error_refs);
    for_each_action(s, path, [&](const action& a, const std::string& at) { action_at(a, at); });

    if (s.compensated_by) {
      auto at = path + ".compensatedBy";
      if (resolve(at, *s.compensated_by, state_names_, "state")) {
        const auto& c = w_.states[index_of(*s.compensated_by)];
        if (!c.used_for_compensation)
          error(at, fmt::format("state '{}' compensates '{}' but does not say "
                                "usedForCompensation: true",
                                c.name, s.name));
        if (c.name == s.name)
          error(at, "a state cannot compensate itself");
      }
    }
    if (s.used_for_compensation && w_.start.state_name == s.name)
      error(path + ".usedForCompensation",
            "the start state cannot be a compensation state");

    if (const auto* e = std::get_if<event_state>(&s.properties)) {
      for (std::size_t k = 0; k < e->on_events.size(); ++k)
        for (std::size_t r = 0; r < e->on_events[k].event_refs.size(); ++r)
          event_use(fmt::format("{}.onEvents[{}].eventRefs[{}]", path, k, r),
                    e->on_events[k].event_refs[r], event_kind::consumed);
    } else if (const auto* sw = std::get_if<switch_state>(&s.properties)) {
      for (std::size_t k = 0; k < sw->event_conditions.size(); ++k)
        event_use(fmt::format("{}.eventConditions[{}].eventRef", path, k),
                  sw->event_conditions[k].event_ref, event_kind::consumed);
    } else if (const auto* c = std::get_if<callback_state>(&s.properties)) {
      event_use(path + ".eventRef", c->event_ref, event_kind::consumed);
    } else if (const auto* p = std::get_if<parallel_state>(&s.properties)) {
      if (p->completion_type == completion_type::at_least) {
        if (!p->num_completed)
          error(path, "completionType 'atLeast' needs 'numCompleted'");
        else if (static_cast<std::size_t>(*p->num_completed) > p->branches.size())
          error(path + ".numCompleted",
                fmt::format("numCompleted is {} but the state has {} branches",
                            *p->num_completed, p->branches.size()));
      } else if (p->num_completed) {
        warning(path + ".numCompleted", "numCompleted applies to completionType 'atLeast' only");
      }
    } else if (const auto* f = std::get_if<foreach_state>(&s.properties)) {
      if (f->iteration_param) {
        const auto& name = *f->iteration_param;
        bool ident = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]))
                     && std::all_of(name.begin(), name.end(), [](char ch) {
                          return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_';
                        });
        if (!ident)
          error(path + ".iterationParam",
                fmt::format("'{}' cannot be a jq variable name; use letters, digits and _",
                            name));
      }
    }
  }

  void workflow_timeouts() {
    if (w_.timeouts.workflow_exec_timeout && w_.timeouts.workflow_exec_timeout->run_before)
      resolve("timeouts.workflowExecTimeout.runBefore",
              *w_.timeouts.workflow_exec_timeout->run_before, state_names_, "state");
  }

  void functions() {
    for (std::size_t i = 0; i < w_.functions.size(); ++i) {
      const auto& f = w_.functions[i];
      if (auto why = unsupported_function_type(f.type))
        error(fmt::format("functions[{}].type", i), std::move(*why));
      if (f.auth_ref)
        resolve(fmt::format("functions[{}].authRef", i), *f.auth_ref, names_of(w_.auth),
                "auth definition", true);
    }
  }

  void reachability() {
    if (w_.states.empty())
      return;
    std::vector<bool> reached(w_.states.size(), false);
    std::vector<std::size_t> todo;
    auto reach = [&](const std::string& name) {
      auto i = index_of(name);
      if (i < w_.states.size() && !reached[i]) {
        reached[i] = true;
        todo.push_back(i);
      }
    };
    reach(w_.start.state_name.empty() ? w_.states.front().name : w_.start.state_name);
    if (w_.timeouts.workflow_exec_timeout && w_.timeouts.workflow_exec_timeout->run_before)
      reach(*w_.timeouts.workflow_exec_timeout->run_before);
    while (!todo.empty()) {
      auto i = todo.back();
      todo.pop_back();
      const auto& s = w_.states[i];
      for_each_flow(s, "", [&](const flow& f, const std::string&) {
        if (const auto* t = std::get_if<transition_def>(&f))
          reach(t->next_state);
      });
      if (s.compensated_by)
        reach(*s.compensated_by);
    }
    for (std::size_t i = 0; i < w_.states.size(); ++i)
      if (!reached[i])
        warning(fmt::format("states[{}]", i),
                fmt::format("state '{}' is never reached from the start state",
                            w_.states[i].name));
  }

  const workflow& w_;
  severity findings_;
  std::vector<std::string> state_names_;
  std::vector<diagnostic> out_;
};

} // namespace

std::vector<diagnostic> check_references(const workflow& w, severity findings) {
  return checker{w, findings}.run();
}

namespace {

/// Checks and compiles what was loaded.
validation finish(load_result loaded, const load_options& options, secret_values secrets) {
  validation v;
  v.diagnostics = std::move(loaded.diagnostics);
  if (!loaded.workflow || has_errors(v.diagnostics))
    return v;
  auto checked = check_references(*loaded.workflow,
                                  options.strict ? severity::error : severity::warning);
  v.diagnostics.insert(v.diagnostics.end(), checked.begin(), checked.end());
  // Expressions in another language stay unchecked: the reader has said so.
  if (has_errors(v.diagnostics) || !loaded.workflow->expressions_are_jq())
    return v;
  compile_options compiling;  // by default, secrets come from the environment
  if (secrets == secret_values::unread)
    compiling.secret = [](const std::string&) { return std::nullopt; };
  auto compiled = compile(std::make_shared<const workflow>(std::move(*loaded.workflow)),
                          compiling);
  v.diagnostics.insert(v.diagnostics.end(), compiled.diagnostics.begin(),
                       compiled.diagnostics.end());
  v.plan = std::move(compiled.plan);
  return v;
}

} // namespace

validation validate_file(const std::filesystem::path& file, const load_options& options,
                         secret_values secrets) {
  return finish(load_workflow_file(file, options), options, secrets);
}

validation validate_text(std::string_view text, std::string file,
                         const std::filesystem::path& base_dir, const load_options& options,
                         secret_values secrets) {
  return finish(load_workflow_text(text, std::move(file), base_dir, options), options, secrets);
}

} // namespace meshflow::dsl
