// The generic part of the machine (machine.hpp, "Where it is written"):
// no state type is named here; what a state type does, the steps ask of
// its hooks (states/state_hooks.hpp), answered in states/<type>.cpp.

#include "meshflow/actors/machine.hpp"

#include <algorithm>
#include <span>

#include <fmt/format.h>

#include "meshflow/actors/correlation.hpp"
#include "meshflow/dsl/data.hpp"
#include "meshflow/dsl/data_flow.hpp"
#include "meshflow/dsl/expression.hpp"
#include "meshflow/dsl/retry.hpp"
#include "meshflow/transport/json_format.hpp"
#include "states/state_hooks.hpp"

namespace meshflow::actors {

namespace {

const char* flow_key(const dsl::flow& f) {
  return std::holds_alternative<dsl::transition_def>(f) ? "transition" : "end";
}

std::string flow_path(const flow_ref& ref, const dsl::flow& f) {
  auto s = state_path(ref.state);
  switch (ref.site) {
    case flow_site::state:
      return fmt::format("{}.{}", s, flow_key(f));
    case flow_site::on_error:
      return fmt::format("{}.onErrors[{}].{}", s, ref.index, flow_key(f));
    case flow_site::data_condition:
      return fmt::format("{}.dataConditions[{}].{}", s, ref.index, flow_key(f));
    case flow_site::event_condition:
      return fmt::format("{}.eventConditions[{}].{}", s, ref.index, flow_key(f));
    case flow_site::default_condition:
      return fmt::format("{}.defaultCondition.{}", s, flow_key(f));
  }
  return s;
}

jq::value workflow_value(const instance& i) {
  jv w = jv_object();
  w = jv_object_set(w, jv_string("id"), jv_string(i.workflow_id.c_str()));
  w = jv_object_set(w, jv_string("instanceId"), jv_string(i.id.c_str()));
  w = jv_object_set(w, jv_string("version"), jv_string(i.version.c_str()));
  return jq::value{w};
}

} // namespace

jq::value current_data(const dsl::plan& p, const instance& i) {
  if (!i.current)
    return i.data;
  const auto& cur = *i.current;
  if (cur.state >= p.definition->states.size())
    return cur.data;
  return hooks_of(p.definition->states[cur.state]).data(cur);
}

struct machine::location {
  enum kind_t { none, workflow_timer, state, state_timer, exec_timer, list, action } kind = none;
  std::size_t list_index = 0;
  std::size_t action_index = 0;
};

machine::machine(const dsl::plan& p, instance& i, effects& fx, machine_limits limits,
                 std::span<const std::string> channels)
  : plan_(p), w_(*p.definition), i_(i), fx_(fx), limits_(limits), channels_(channels),
    workflow_(workflow_value(i)) {
  reindex();
}

bool machine::ended() const { return is_final(i_.status); }

bool machine::busy() const {
  return !ended() && i_.current && i_.current->phase == state_phase::entering;
}

void machine::proceed() {
  if (!busy())
    return;
  queue(i_.current->token, step_kind::enter);
  drain();
}

// --- commands ---------------------------------------------------------------

void machine::start(jq::value input) {
  i_.status = instance_status::running;
  i_.data = input;
  note("status", "RUNNING");
  if (const auto* t = workflow_timeout()) {
    i_.exec_timer_token = token();
    i_.exec_deadline = fx_.now() + t->duration.value.count();
    fx_.arm(i_.exec_timer_token, i_.exec_deadline);
    note("timer.armed", fmt::format("workflowExecTimeout {}", t->duration.text));
  }
  enter(static_cast<std::uint32_t>(plan_.start_state), std::move(input));
  drain();
}

void machine::function_done(std::uint64_t t, expected<jq::value> result) {
  if (result)
    queue(t, step_kind::result, std::move(*result));
  else
    queue(t, step_kind::failure, {}, std::move(result.error()));
  drain();
}

void machine::function_retrying(std::uint64_t t, int attempt, const std::string& code,
                                std::int64_t delay_ms) {
  auto at = locate(t);
  if (at.kind != location::action)
    return;
  auto& cur = *i_.current;
  auto& l = cur.lists[at.list_index];
  auto& a = l.running[at.action_index];
  a.attempts = static_cast<std::uint32_t>(attempt);
  a.retry_at = fx_.now() + delay_ms;
  if (const auto& t = state_def().timeouts.state_exec_timeout; t && t->single)
    cur.single_timer_token = arm_in(t->single->value, cur.single_deadline);
  note("action.retried", fmt::format("{} attempt {} failed with '{}'; retry in {} ms",
                                     action_path(l, l.running[at.action_index]), attempt, code,
                                     delay_ms));
}

void machine::timer(std::uint64_t t) {
  queue(t, step_kind::timer);
  drain();
}

void machine::event(const consumed_event& c) {
  if (ended())
    return;
  const auto& e = c.event;
  if (!offer(c)) {
    bool wanted = false;
    for (std::size_t d = 0; d < w_.events.size() && !wanted; ++d)
      wanted = w_.events[d].kind == dsl::event_kind::consumed && matches(d, c);
    if (wanted) {
      i_.kept_events.push_back(c);
      note("event.kept", fmt::format("{} ({})", e.type, e.id));
    } else {
      note("event.ignored", fmt::format("{} ({}): no consumed event of this instance has this "
                                        "type, source and correlation",
                                        e.type, e.id));
    }
  }
  drain();
}

void machine::pause() {
  if (i_.status != instance_status::running)
    return;
  i_.status = instance_status::paused;
  note("status", "PAUSED");
}

void machine::resume() {
  if (i_.status != instance_status::paused)
    return;
  i_.status = instance_status::running;
  note("status", "RUNNING");
  if (i_.current)
    for (std::size_t li = 0; li < i_.current->lists.size(); ++li)
      for (std::size_t ai = 0; ai < i_.current->lists[li].running.size(); ++ai)
        if (i_.current->lists[li].running[ai].wait == action_wait::deferred)
          schedule_action(li, ai);
  drain();
}

void machine::cancel(const std::string& reason) {
  if (ended())
    return;
  auto where = i_.current ? state_def().name : std::string{};
  finish(instance_status::terminated, instance_error{"cancelled", reason, where});
}

expected<void> machine::retry() {
  if (i_.status != instance_status::faulted)
    return fail("state", fmt::format("only a FAULTED instance can be retried; {} is {}", i_.id,
                                     to_string(i_.status)));
  if (!i_.current && i_.transitions == 0) {
    // It never ran (its actor died before its first step): from the start.
    i_.error.reset();
    note("status", "RUNNING (operator retry from the start)");
    start(i_.data);
    return {};
  }
  if (!i_.current)
    return fail("state", fmt::format("{} has no failed state to re-run", i_.id));
  auto state = i_.current->state;
  auto input = i_.current->input;
  i_.current.reset();
  i_.error.reset();
  i_.status = instance_status::running;
  i_.transitions = 0;  // a fresh budget of states (machine_limits)
  note("status", "RUNNING (operator retry)");
  enter(state, std::move(input));
  drain();
  return {};
}

expected<void> machine::fits() const {
  auto misfit = [&](std::string what) {
    return fail("snapshot", fmt::format("the snapshot of instance {} does not fit {} version "
                                        "'{}': {}",
                                        i_.id, w_.identity(), w_.version.value_or(""), what));
  };
  auto n = w_.states.size();
  auto state_ok = [n](std::uint32_t s) { return s < n; };
  if (!std::all_of(i_.compensable.begin(), i_.compensable.end(), state_ok))
    return misfit("a compensable state is past the last state");
  if (i_.compensation) {
    const auto& c = *i_.compensation;
    if (!std::all_of(c.pending.begin(), c.pending.end(), state_ok) || !resolve(c.origin))
      return misfit("its compensation names a state or flow the definition does not have");
  }
  if (!i_.current)
    return {};
  const auto& cur = *i_.current;
  if (!state_ok(cur.state))
    return misfit(fmt::format("its state {} is past the last state", cur.state));
  const auto& s = w_.states[cur.state];
  const auto& hooks = hooks_of(s);
  for (const auto& l : cur.lists) {
    if (!hooks.has_list || !hooks.has_list(s, l.slot))
      return misfit(fmt::format("state '{}' has no action list {}", s.name, l.slot));
    auto size = hooks.actions(s, l.slot).size();
    if (l.next > size)
      return misfit(fmt::format("state '{}' has no action {}", s.name, l.next));
    for (const auto& a : l.running)
      if (a.action >= size)
        return misfit(fmt::format("state '{}' has no action {}", s.name, a.action));
  }
  return {};
}

expected<void> machine::rearm() {
  if (auto ok = fits(); !ok)
    return ok;
  if (i_.exec_timer_token)
    fx_.arm(i_.exec_timer_token, i_.exec_deadline);
  if (i_.current) {
    auto& cur = *i_.current;
    if (cur.timer_token)
      fx_.arm(cur.timer_token, cur.deadline);
    if (cur.exec_timer_token)
      fx_.arm(cur.exec_timer_token, cur.exec_deadline);
    if (cur.single_timer_token)
      fx_.arm(cur.single_timer_token, cur.single_deadline);
    for (std::size_t li = 0; li < cur.lists.size(); ++li) {
      const auto& l = cur.lists[li];
      if (l.deadline)
        fx_.arm(l.timer_token, l.deadline);
      for (std::size_t ai = 0; ai < l.running.size(); ++ai) {
        const auto& a = l.running[ai];
        if (a.deadline)
          fx_.arm(a.token, a.deadline);
        if (a.wait == action_wait::function)
          invoke_action(li, ai);
      }
    }
  }
  drain();
  return {};
}

// --- steps ------------------------------------------------------------------

void machine::queue(std::uint64_t t, step_kind kind, jq::value value, meshflow::error e) {
  steps_.push_back(step{t, kind, std::move(value), std::move(e)});
}

void machine::drain() {
  entered_this_turn_ = 0;
  for (std::size_t k = 0; k < steps_.size() && !ended(); ++k) {
    if (steps_[k].kind == step_kind::enter && entered_this_turn_ >= limits_.transitions_per_turn)
      break;  // yield: the state stays `entering` (busy()); what follows it is stale
    auto s = std::move(steps_[k]);
    apply(s);  // may queue more
  }
  // Released, not cleared: a parked instance keeps no queue (a std::deque
  // would hold ~600 bytes even empty).
  std::vector<step>{}.swap(steps_);
}

machine::location machine::locate(std::uint64_t t) const {
  if (t == 0)
    return {};
  if (t == i_.exec_timer_token)
    return {location::workflow_timer};
  if (!i_.current)
    return {};
  const auto& cur = *i_.current;
  if (t == cur.token)
    return {location::state};
  if (t == cur.timer_token)
    return {location::state_timer};
  if (t == cur.exec_timer_token || t == cur.single_timer_token)
    return {location::exec_timer};
  auto at = where_.find(t);
  if (at == where_.end() || at->second >= cur.lists.size())
    return {};
  std::size_t li = at->second;
  const auto& l = cur.lists[li];
  if (t == l.timer_token)
    return {location::list, li};
  for (std::size_t ai = 0; ai < l.running.size(); ++ai)
    if (t == l.running[ai].token)
      return {location::action, li, ai};
  return {};
}

void machine::reindex() {
  where_.clear();
  if (!i_.current)
    return;
  for (std::size_t li = 0; li < i_.current->lists.size(); ++li) {
    const auto& l = i_.current->lists[li];
    index(l.timer_token, li);
    for (const auto& a : l.running)
      index(a.token, li);
  }
}

void machine::apply(step& s) {
  auto at = locate(s.token);
  switch (at.kind) {
    case location::none:
      return;  // stale: what it named is gone
    case location::workflow_timer:
      if (s.kind == step_kind::timer)
        exec_timeout();
      return;
    case location::state:
      if (s.kind == step_kind::failure)
        state_failed(s.error);
      else if (s.kind == step_kind::skip)
        offer_kept();
      else if (s.kind == step_kind::enter && i_.current->phase == state_phase::entering)
        begin_state();
      return;
    case location::state_timer: {
      auto& cur = *i_.current;
      cur.timer_token = 0;
      cur.deadline = 0;
      note("timer.fired", state_def().name);
      if (const auto& hooks = hooks_of(state_def()); hooks.timer)
        hooks.timer(*this);
      return;
    }
    case location::exec_timer:
      note("timer.fired", fmt::format("{} stateExecTimeout", state_def().name));
      state_failed({"timeout", fmt::format("state '{}' did not finish within stateExecTimeout",
                                           state_def().name)});
      return;
    case location::list:
      if (s.kind == step_kind::skip) {
        list_done(at.list_index);
      } else if (s.kind == step_kind::timer) {
        if (const auto& hooks = hooks_of(state_def()); hooks.list_timer)
          hooks.list_timer(*this);
      }
      return;
    case location::action: {
      auto& l = i_.current->lists[at.list_index];
      auto& a = l.running[at.action_index];
      switch (s.kind) {
        case step_kind::skip:
          note("action.skipped", action_path(l, a));
          complete_action(at.list_index, at.action_index, std::nullopt);
          return;
        case step_kind::done:
          note("action.completed", action_path(l, a));
          complete_action(at.list_index, at.action_index, std::nullopt);
          return;
        case step_kind::enter:
          return;
        case step_kind::failure:
          note("action.failed", fmt::format("{}: {}: {}", action_path(l, a), s.error.code,
                                            s.error.message));
          state_failed(s.error);
          return;
        case step_kind::result:
          if (a.wait == action_wait::function || a.wait == action_wait::subflow ||
              a.wait == action_wait::result_event)
            action_result(at.list_index, at.action_index, std::move(s.value));
          return;
        case step_kind::timer:
          a.deadline = 0;
          if (a.wait == action_wait::sleep_before) {
            invoke_action(at.list_index, at.action_index);
          } else if (a.wait == action_wait::sleep_after) {
            auto result = std::move(a.result);
            complete_action(at.list_index, at.action_index, std::move(result));
          } else if (a.wait == action_wait::result_event) {
            note("timer.fired", fmt::format("{} resultEventTimeout", action_path(l, a)));
            state_failed({"timeout", fmt::format("{}: no result event within "
                                                 "resultEventTimeout",
                                                 action_path(l, a))});
          }
          return;
      }
    }
  }
}

// --- states -----------------------------------------------------------------

void machine::enter(std::uint32_t state, jq::value input) {
  if (i_.transitions >= limits_.max_transitions) {
    // Kept as the state it was about to enter, so that an operator retry
    // (with a fresh budget) enters it.
    i_.current.emplace();
    i_.current->state = state;
    i_.current->input = std::move(input);
    i_.current->phase = state_phase::entering;
    finish(instance_status::faulted,
           instance_error{"limit",
                          fmt::format("the instance entered {} states, the most an instance may "
                                      "(a node setting); a workflow that loops this long should "
                                      "end its loop with `end: {{continueAs: ...}}`, which goes "
                                      "on in a new instance",
                                      i_.transitions),
                          w_.states[state].name});
    return;
  }
  ++i_.transitions;
  ++transitions_;
  ++entered_this_turn_;
  where_.clear();
  i_.current.emplace();
  auto& cur = *i_.current;
  cur.state = state;
  cur.token = token();
  cur.input = std::move(input);
  cur.phase = state_phase::entering;
  note("state.entered", w_.states[state].name);
  queue(cur.token, step_kind::enter);
}

void machine::begin_state() {
  auto& cur = *i_.current;
  cur.phase = state_phase::running_actions;
  const auto& s = state_def();
  auto data = dsl::state_data_in(plan_, state_path(cur.state), cur.input, workflow_);
  if (!data) {
    queue(cur.token, step_kind::failure, {}, std::move(data.error()));
    return;
  }
  cur.data = std::move(*data);
  if (const auto& t = s.timeouts.state_exec_timeout) {
    cur.exec_timer_token = arm_in(t->total.value, cur.exec_deadline);
    if (t->single)
      cur.single_timer_token = arm_in(t->single->value, cur.single_deadline);
  }
  hooks_of(s).start(*this);
}

void machine::complete_state(std::optional<flow_ref> chosen) {
  auto& cur = *i_.current;
  const auto& s = state_def();
  if (const auto& hooks = hooks_of(s); hooks.completing) {
    if (auto done = hooks.completing(*this); !done) {
      state_failed(done.error());
      return;
    }
  }
  auto out = dsl::state_data_out(plan_, state_path(cur.state), cur.data, workflow_);
  if (!out) {
    state_failed(out.error());
    return;
  }
  note("state.left", s.name);
  if (s.compensated_by && !i_.compensation)
    i_.compensable.push_back(cur.state);
  std::optional<flow_ref> ref = chosen;
  if (!ref && s.flow)
    ref = flow_ref{cur.state, flow_site::state, 0};
  i_.current.reset();
  after_state(ref, std::move(*out));
}

void machine::after_state(std::optional<flow_ref> ref, jq::value data) {
  i_.data = std::move(data);
  if (i_.timed_out) {
    // workflowExecTimeout reached: the `runBefore` chain runs (each of its
    // states follows its own flow, produceEvents included) until it ends;
    // then the instance is terminated (SEMANTICS.md).
    const auto& t = *workflow_timeout();
    const auto* f = ref && i_.running_before ? resolve(*ref) : nullptr;
    if (f) {
      const auto* next = std::get_if<dsl::transition_def>(f);
      produce_events(next ? next->produce_events : std::get<dsl::end_def>(*f).produce_events,
                     flow_path(*ref, *f), i_.data);
      if (next && !ended()) {
        enter(static_cast<std::uint32_t>(plan_.target(*f).state), i_.data);
        return;
      }
    }
    auto run_before = t.run_before ? plan_.state_index.find(*t.run_before) : plan_.state_index.end();
    if (!i_.running_before && run_before != plan_.state_index.end() && !i_.compensation) {
      i_.running_before = true;
      enter(static_cast<std::uint32_t>(run_before->second), i_.data);
      return;
    }
    if (!ended())
      finish(instance_status::terminated,
             instance_error{"timeout",
                            fmt::format("workflowExecTimeout {} reached", t.duration.text), ""});
    return;
  }
  if (i_.compensation) {
    const auto* f = ref ? resolve(*ref) : nullptr;
    if (f && std::holds_alternative<dsl::transition_def>(*f)) {
      enter(static_cast<std::uint32_t>(plan_.target(*f).state), i_.data);
      return;
    }
    compensate_next();
    return;
  }
  if (!ref) {  // a state without transition or end: the workflow ends here
    finish(instance_status::completed);
    return;
  }
  follow(*ref, false);
}

void machine::follow(const flow_ref& ref, bool compensated) {
  const auto* f = resolve(ref);
  if (!f) {
    finish(instance_status::completed);
    return;
  }
  auto path = flow_path(ref, *f);
  auto compensate = [&](bool asked) {
    if (!asked || compensated || i_.compensable.empty())
      return false;
    i_.compensation.emplace();
    i_.compensation->pending = std::move(i_.compensable);
    i_.compensation->origin = ref;
    i_.compensable.clear();
    note("compensation.started", fmt::format("{} state(s)", i_.compensation->pending.size()));
    compensate_next();
    return true;
  };
  if (const auto* t = std::get_if<dsl::transition_def>(f)) {
    if (compensate(t->compensate))
      return;
    produce_events(t->produce_events, path, i_.data);
    if (ended())
      return;
    enter(static_cast<std::uint32_t>(plan_.target(*f).state), i_.data);
    return;
  }
  const auto& e = std::get<dsl::end_def>(*f);
  if (compensate(e.compensate))
    return;
  produce_events(e.produce_events, path, i_.data);
  if (ended())
    return;
  if (e.continue_as) {
    const auto& c = *e.continue_as;
    continuation next{c.workflow_id, c.version, i_.data, std::nullopt};
    if (c.data) {
      auto rendered =
        dsl::render_template(plan_, path + ".continueAs.data", *c.data, i_.data, workflow_);
      if (!rendered) {
        finish(instance_status::faulted,
               instance_error{rendered.error().code, rendered.error().message, ""});
        return;
      }
      next.input = std::move(*rendered);
    }
    if (c.workflow_exec_timeout)
      next.exec_timeout = c.workflow_exec_timeout;
    auto id = fx_.continue_as(std::move(next));
    if (!id) {
      finish(instance_status::faulted,
             instance_error{id.error().code, id.error().message, ""});
      return;
    }
    note("continued.as", *id);
    finish(instance_status::completed);
    return;
  }
  if (!e.terminate && w_.keep_active) {
    note("keepActive", "the flow ended; the instance stays active");
    return;
  }
  finish(instance_status::completed);
}

void machine::compensate_next() {
  auto& comp = *i_.compensation;
  if (comp.pending.empty()) {
    auto origin = comp.origin;
    i_.compensation.reset();
    note("compensation.done", "");
    follow(origin, true);
    return;
  }
  auto s = comp.pending.back();
  comp.pending.pop_back();
  auto by = plan_.state_index.find(*w_.states[s].compensated_by);
  if (by == plan_.state_index.end()) {
    compensate_next();
    return;
  }
  note("compensation.state", fmt::format("{} compensates {}", by->first, w_.states[s].name));
  enter(static_cast<std::uint32_t>(by->second), i_.data);
}

void machine::state_failed(const meshflow::error& e) {
  if (!i_.current) {
    finish(instance_status::faulted, instance_error{e.code, e.message, ""});
    return;
  }
  const auto& s = state_def();
  auto state = i_.current->state;
  note("state.failed", fmt::format("{}: {}: {}", s.name, e.code, e.message));
  for (std::uint32_t k = 0; k < s.on_errors.size(); ++k) {
    for (const auto& name : s.on_errors[k].error_refs) {
      auto it = plan_.error_index.find(name);
      if (it == plan_.error_index.end() || !dsl::matches(w_.errors[it->second], e.code))
        continue;
      auto data = current_data(plan_, i_);
      stop_work();
      i_.current.reset();
      note("error.handled", fmt::format("{} by onErrors[{}] ({})", e.code, k, name));
      after_state(flow_ref{state, flow_site::on_error, k}, std::move(data));
      return;
    }
  }
  finish(instance_status::faulted, instance_error{e.code, e.message, s.name});
}

void machine::stop_work() {
  if (!i_.current)
    return;
  cancel_lists();
  auto& cur = *i_.current;
  cur.timer_token = cur.exec_timer_token = cur.single_timer_token = 0;
  cur.deadline = cur.exec_deadline = cur.single_deadline = 0;
}

void machine::finish(instance_status s, std::optional<instance_error> error) {
  stop_work();
  if (s != instance_status::faulted)
    i_.current.reset();
  i_.status = s;
  i_.error = std::move(error);
  i_.exec_timer_token = 0;
  i_.exec_deadline = 0;
  i_.kept_events.clear();
  for (const auto& c : i_.children)
    if (c.terminate_with_parent)
      fx_.end_child(c.id);
  i_.children.clear();
  if (i_.error)
    note("status", fmt::format("{} {}: {}", to_string(s), i_.error->code, i_.error->message));
  else
    note("status", std::string{to_string(s)});
}

const dsl::workflow_exec_timeout* machine::workflow_timeout() const {
  if (i_.exec_timeout)
    return &*i_.exec_timeout;
  const auto& t = w_.timeouts.workflow_exec_timeout;
  return t ? &*t : nullptr;
}

void machine::exec_timeout() {
  const auto& t = *workflow_timeout();
  note("timer.fired", fmt::format("workflowExecTimeout {}", t.duration.text));
  i_.exec_timer_token = 0;
  i_.exec_deadline = 0;
  i_.timed_out = true;
  if (t.interrupt || !i_.current) {
    if (i_.current)
      i_.data = i_.current->data;
    stop_work();
    i_.current.reset();
    i_.compensation.reset();
    after_state(std::nullopt, i_.data);
  }
}

// --- action lists -----------------------------------------------------------

void machine::start_list(std::uint32_t slot, jq::value data,
                         std::optional<std::chrono::milliseconds> timeout) {
  auto& cur = *i_.current;
  auto& l = cur.lists.emplace_back();
  l.slot = slot;
  l.data = std::move(data);
  l.timer_token = token();
  index(l.timer_token, cur.lists.size() - 1);
  if (timeout) {
    l.deadline = fx_.now() + timeout->count();
    fx_.arm(l.timer_token, l.deadline);
  }
  fill_list(cur.lists.size() - 1);
}

void machine::fill_list(std::size_t li) {
  auto& l = i_.current->lists[li];
  const auto& s = state_def();
  const auto& hooks = hooks_of(s);
  auto actions = hooks.actions(s, l.slot);
  if (actions.empty()) {
    queue(l.timer_token, step_kind::skip);
    return;
  }
  bool all = hooks.all_at_once && hooks.all_at_once(s, l.slot);
  while (l.next < actions.size() && (all || l.running.empty())) {
    auto& a = l.running.emplace_back();
    a.action = l.next++;
    a.token = token();
    index(a.token, li);
    schedule_action(li, l.running.size() - 1);
  }
}

void machine::schedule_action(std::size_t li, std::size_t ai) {
  auto& l = i_.current->lists[li];
  auto& a = l.running[ai];
  const auto& def = action_def(l, a);
  if (i_.status == instance_status::paused) {
    a.wait = action_wait::deferred;
    return;
  }
  if (def.condition) {
    auto path = action_path(l, a) + ".condition";
    auto id = plan_.expression(path);
    auto r = id ? plan_.expressions->evaluate(*id, list_data(li), workflow_)
                : expected<jq::value>{jq::value{jv_true()}};
    if (!r) {
      queue(a.token, step_kind::failure, {},
            {r.error().code, fmt::format("{}: {}", path, r.error().message)});
      return;
    }
    if (!r->truthy()) {
      queue(a.token, step_kind::skip);
      return;
    }
  }
  if (def.sleep && def.sleep->before) {
    a.wait = action_wait::sleep_before;
    fx_.arm(a.token, a.deadline = fx_.now() + def.sleep->before->value.count());
    return;
  }
  invoke_action(li, ai);
}

void machine::invoke_action(std::size_t li, std::size_t ai) {
  auto& l = i_.current->lists[li];
  auto& a = l.running[ai];
  const auto& def = action_def(l, a);
  auto path = action_path(l, a);
  auto failed = [&](meshflow::error e) { queue(a.token, step_kind::failure, {}, std::move(e)); };
  auto input = dsl::action_input(plan_, path, list_data(li), workflow_);
  if (!input)
    return failed(std::move(input.error()));

  if (const auto* f = std::get_if<dsl::function_ref>(&def.target)) {
    auto index = plan_.function_index.at(f->ref_name);
    const auto& fn = w_.functions[index];
    a.wait = action_wait::function;
    if (fn.type == dsl::function_type::expression) {
      // A pure computation: evaluated here, not through a binding actor.
      // A failure the action retries goes to a supervisor like any call.
      auto id = plan_.expression(fmt::format("functions[{}].operation", index));
      auto r = plan_.expressions->evaluate(*id, *input, workflow_);
      if (r) {
        queue(a.token, step_kind::result, std::move(*r));
        return;
      }
      if (!dsl::retry_for(w_, def, r.error().code))
        return failed({r.error().code, fmt::format("function '{}': {}", fn.name,
                                                   r.error().message)});
      fx_.invoke({a.token, static_cast<std::uint32_t>(index), std::move(*input), &def,
                  action_timeout(), a.attempts, a.retry_at});
      return;
    }
    auto args = dsl::render_template(plan_, path + ".functionRef.arguments", f->arguments,
                                     *input, workflow_);
    if (!args)
      return failed(std::move(args.error()));
    note("action.started", fmt::format("{} calls '{}'", path, fn.name));
    fx_.invoke({a.token, static_cast<std::uint32_t>(index), std::move(*args), &def,
                action_timeout(), a.attempts, a.retry_at});
    return;
  }

  if (const auto* e = std::get_if<dsl::event_ref>(&def.target)) {
    auto trigger = plan_.event_index.at(e->trigger_event_ref);
    auto event = make_event(trigger, e->data, e->context_attributes, path + ".eventRef", *input);
    if (!event)
      return failed(std::move(event.error()));
    event->extensions["workflowinstanceid"] = i_.id;
    produce(trigger, std::move(*event));
    if (!e->result_event_ref) {  // fire-and-forget: no result to merge
      queue(a.token, step_kind::done);
      return;
    }
    a.wait = action_wait::result_event;
    if (e->result_event_timeout)
      fx_.arm(a.token, a.deadline = fx_.now() + e->result_event_timeout->value.count());
    queue(i_.current->token, step_kind::skip);  // a kept event may be the result
    return;
  }

  const auto& sub = std::get<dsl::sub_flow_ref>(def.target);
  bool wait = sub.invoke == dsl::invoke_kind::sync;
  auto child = fx_.start_child({a.token, sub.workflow_id, sub.version, *input, wait});
  if (!child)
    return failed(std::move(child.error()));
  note("subflow.started", fmt::format("{} started {} ({})", path, *child, sub.workflow_id));
  if (wait) {
    a.wait = action_wait::subflow;
    return;
  }
  i_.children.push_back(
    {*child, sub.on_parent_complete == dsl::on_parent_complete::terminate});
  // An async subflow produces no result; its actionDataFilter is ignored.
  a.wait = action_wait::function;
  queue(a.token, step_kind::done);
}

void machine::action_result(std::size_t li, std::size_t ai, jq::value result) {
  auto& l = i_.current->lists[li];
  auto& a = l.running[ai];
  const auto& def = action_def(l, a);
  if (def.sleep && def.sleep->after) {
    a.wait = action_wait::sleep_after;
    a.result = std::move(result);
    fx_.arm(a.token, a.deadline = fx_.now() + def.sleep->after->value.count());
    return;
  }
  complete_action(li, ai, std::move(result));
}

void machine::complete_action(std::size_t li, std::size_t ai, std::optional<jq::value> result) {
  auto& l = i_.current->lists[li];
  auto& a = l.running[ai];
  const auto& def = action_def(l, a);
  auto path = action_path(l, a);
  auto size = actions(l).size();
  if (result) {
    auto selected = dsl::action_results(plan_, path, *result, workflow_);
    if (!selected) {
      state_failed(selected.error());
      return;
    }
    // Merged, unless it is the last action's and the state type takes that
    // as the list's result only (a foreach iteration's).
    if (hooks_of(state_def()).last_result_merged || a.action + 1 != size) {
      auto merged =
        dsl::merge_selected_result(plan_, def, path, list_data(li), *selected, workflow_);
      if (!merged) {
        state_failed(merged.error());
        return;
      }
      set_list_data(li, std::move(*merged));
    }
    l.last_result = std::move(*selected);
    note("action.completed", path);
  }
  where_.erase(a.token);
  l.running.erase(l.running.begin() + static_cast<std::ptrdiff_t>(ai));
  fill_list(li);
  if (l.running.empty() && l.next >= size)
    list_done(li);
}

void machine::list_done(std::size_t li) {
  auto l = take_list(li);
  if (const auto& hooks = hooks_of(state_def()); hooks.list_done)
    hooks.list_done(*this, std::move(l));
}

void machine::cancel_lists() {
  auto& cur = *i_.current;
  for (const auto& l : cur.lists)
    for (const auto& a : l.running)
      if (a.wait == action_wait::function || a.wait == action_wait::subflow)
        fx_.cancel(a.token);
  cur.lists.clear();
  where_.clear();
}

jq::value machine::list_data(std::size_t li) const {
  const auto& cur = *i_.current;
  const auto& hooks = hooks_of(state_def());
  return hooks.list_data ? hooks.list_data(cur, cur.lists[li]) : cur.lists[li].data;
}

void machine::set_list_data(std::size_t li, jq::value data) {
  auto& cur = *i_.current;
  const auto& hooks = hooks_of(state_def());
  cur.lists[li].data =
    hooks.kept_list_data ? hooks.kept_list_data(cur, std::move(data)) : std::move(data);
}

action_list_run machine::take_list(std::size_t li) {
  auto& lists = i_.current->lists;
  where_.erase(lists[li].timer_token);
  for (const auto& a : lists[li].running)
    where_.erase(a.token);
  auto l = std::move(lists[li]);
  if (li + 1 != lists.size()) {
    lists[li] = std::move(lists.back());
    index(lists[li].timer_token, li);
    for (const auto& a : lists[li].running)
      index(a.token, li);
  }
  lists.pop_back();
  return l;
}

// --- events -----------------------------------------------------------------

std::string_view machine::channel_of(std::size_t d) const {
  return d < channels_.size() ? std::string_view{channels_[d]} : std::string_view{};
}

bool machine::matches(std::size_t d, const consumed_event& c) const {
  return correlate(w_.events[d], c.event, i_.correlation, channel_of(d), c.channel).has_value();
}

void machine::record_correlation(std::size_t d, const transport::cloud_event& e) {
  for (const auto& c : w_.events[d].correlation) {
    if (c.context_attribute_value)
      continue;
    bool known = std::any_of(i_.correlation.begin(), i_.correlation.end(),
                             [&](const auto& kv) { return kv.first == c.context_attribute_name; });
    if (auto v = e.attribute(c.context_attribute_name); v && !known)
      i_.correlation.emplace_back(c.context_attribute_name, std::string{*v});
  }
}

expected<jq::value> machine::payload(std::size_t d, const transport::cloud_event& e) const {
  jq::value data{jv_null()};
  if (e.data) {
    if (transport::is_json_media_type(e.datacontenttype)) {
      auto parsed = jq::value::parse(*e.data);
      if (!parsed)
        return fail("event", fmt::format("event {} ({}): its data is not JSON: {}", e.type, e.id,
                                         parsed.error().message));
      data = std::move(*parsed);
    } else {
      data = jq::value{jv_string_sized(e.data->data(), static_cast<int>(e.data->size()))};
    }
  }
  if (w_.events[d].data_only)
    return data;
  // The whole event, its context attributes as the JSON format writes
  // them, and its data as read above.
  auto whole = transport::json_format::encode(e);
  if (!whole)
    return tl::unexpected(whole.error());
  whole->erase("data_base64");
  whole->erase("data");
  return jq::value{jv_object_set(jq::value::from_json(*whole).copy(), jv_string("data"),
                                 data.copy())};
}

bool machine::offer(const consumed_event& incoming) {
  if (!i_.current || i_.status == instance_status::faulted)
    return false;
  const auto& e = incoming.event;
  auto& cur = *i_.current;

  // The result of an eventRef action: its own instance's, or uncorrelated.
  auto instance_id = e.attribute("workflowinstanceid");
  if (!instance_id || *instance_id == i_.id) {
    for (std::size_t li = 0; li < cur.lists.size(); ++li)
      for (std::size_t ai = 0; ai < cur.lists[li].running.size(); ++ai) {
        auto& a = cur.lists[li].running[ai];
        if (a.wait != action_wait::result_event)
          continue;
        const auto& ref = std::get<dsl::event_ref>(action_def(cur.lists[li], a).target);
        auto d = plan_.event_index.at(*ref.result_event_ref);
        if (!matches(d, incoming))
          continue;
        auto p = consume(d, e);
        if (!p)
          queue(a.token, step_kind::failure, {}, p.error());
        else
          action_result(li, ai, std::move(*p));
        return true;
      }
  }

  // An event the state itself waits for.
  const auto& hooks = hooks_of(state_def());
  return hooks.offer && hooks.offer(*this, incoming);
}

void machine::offer_kept() {
  for (std::size_t k = 0; k < i_.kept_events.size(); ++k) {
    auto e = i_.kept_events[k];
    if (!i_.current)
      return;
    if (offer(e)) {
      i_.kept_events.erase(i_.kept_events.begin() + static_cast<std::ptrdiff_t>(k));
      // One at a time: what the event started runs before the next one.
      if (i_.current && !ended())
        queue(i_.current->token, step_kind::skip);
      return;
    }
  }
}

void machine::wait_for_events(state_phase phase) {
  auto& cur = *i_.current;
  cur.phase = phase;
  if (auto t = event_timeout())
    cur.timer_token = arm_in(*t, cur.deadline);
  queue(cur.token, step_kind::skip);  // offer the kept events
}

expected<jq::value> machine::consume(std::size_t d, const transport::cloud_event& e) {
  record_correlation(d, e);
  note("event.consumed", fmt::format("{} ({})", e.type, e.id));
  return payload(d, e);
}

bool machine::merge_event(const std::optional<dsl::event_data_filter>& filter,
                          const std::string& filter_path, std::size_t d,
                          const consumed_event& incoming) {
  auto& cur = *i_.current;
  auto p = consume(d, incoming.event);
  auto data = p ? dsl::merge_event_data(plan_, filter, filter_path, cur.data, *p, workflow_) : p;
  if (!data) {
    state_failed(data.error());
    return false;
  }
  cur.data = std::move(*data);
  return true;
}

expected<transport::cloud_event> machine::make_event(
  std::size_t d, const std::optional<nlohmann::json>& data,
  const std::map<std::string, std::string>& attributes, const std::string& path,
  const jq::value& input) {
  jq::value payload = input;
  if (data) {
    auto rendered = dsl::render_template(plan_, path + ".data", *data, input, workflow_);
    if (!rendered)
      return tl::unexpected(rendered.error());
    payload = std::move(*rendered);
  }
  const auto& def = w_.events[d];
  transport::cloud_event e;
  e.id = fmt::format("{}.{}", i_.id, ++i_.events_produced);
  e.source = def.source ? *def.source : fmt::format("/meshflow/{}", i_.workflow_id);
  e.type = def.type;
  // The EventMesh form (`type: asyncapi`, `source: file://DOC#operationId`)
  // names an AsyncAPI operation, not the event's attributes: the event is
  // of the operation's type, from this workflow, as an asyncapi function's
  // is (function_binding.hpp).
  if (def.type == "asyncapi" && def.source)
    if (auto hash = def.source->rfind('#'); hash != std::string::npos) {
      e.type = def.source->substr(hash + 1);
      e.source = fmt::format("/meshflow/{}", i_.workflow_id);
    }
  e.datacontenttype = "application/json";
  e.data = payload.dump();
  for (const auto& [name, value] : attributes) {
    auto at = fmt::format("{}.contextAttributes.{}", path, name);
    auto v = dsl::render_template(plan_, at, value, input, workflow_);
    if (!v)
      return tl::unexpected(v.error());
    auto text = v->kind() == JV_KIND_STRING ? std::string{jv_string_value(v->get())} : v->dump();
    if (auto set = e.set_attribute(name, text); !set)
      return fail("event", fmt::format("{}: {}", at, set.error().message));
  }
  return e;
}

void machine::produce(std::size_t event_def, transport::cloud_event e) {
  note("event.produced", fmt::format("{} ({})", e.type, e.id));
  fx_.produce(static_cast<std::uint32_t>(event_def), std::move(e));
}

void machine::produce_events(const std::vector<dsl::produce_event_def>& defs,
                             const std::string& path, const jq::value& data) {
  for (std::size_t k = 0; k < defs.size(); ++k) {
    const auto& pe = defs[k];
    auto d = plan_.event_index.at(pe.event_ref);
    auto event = make_event(d, pe.data, pe.context_attributes,
                            fmt::format("{}.produceEvents[{}]", path, k), data);
    if (!event) {
      finish(instance_status::faulted,
             instance_error{event.error().code, event.error().message, ""});
      return;
    }
    produce(d, std::move(*event));
  }
}

// --- helpers ----------------------------------------------------------------

std::uint64_t machine::arm_in(std::chrono::milliseconds d, epoch_ms& deadline) {
  auto t = token();
  deadline = fx_.now() + d.count();
  fx_.arm(t, deadline);
  return t;
}

void machine::note(std::string_view kind, std::string detail) {
  i_.history.push_back({fx_.now(), std::string{kind}, std::move(detail)});
}

const dsl::state& machine::state_def() const { return w_.states[i_.current->state]; }

std::span<const dsl::action> machine::actions(const action_list_run& l) const {
  return hooks_of(state_def()).actions(state_def(), l.slot);
}

const dsl::action& machine::action_def(const action_list_run& l, const action_run& a) const {
  return actions(l)[a.action];
}

std::string machine::action_path(const action_list_run& l, const action_run& a) const {
  return hooks_of(state_def()).action_path(state_path(i_.current->state), l.slot, a.action);
}

const dsl::flow* machine::resolve(const flow_ref& ref) const {
  if (ref.state >= w_.states.size())
    return nullptr;
  const auto& s = w_.states[ref.state];
  switch (ref.site) {
    case flow_site::state:
      return s.flow ? &*s.flow : nullptr;
    case flow_site::on_error:
      return ref.index < s.on_errors.size() ? &s.on_errors[ref.index].flow : nullptr;
    case flow_site::data_condition:
    case flow_site::event_condition:
    case flow_site::default_condition: {
      const auto& hooks = hooks_of(s);
      return hooks.flow ? hooks.flow(s, ref.site, ref.index) : nullptr;
    }
  }
  return nullptr;
}

std::optional<std::chrono::milliseconds> machine::action_timeout() const {
  const auto& s = state_def();
  if (s.timeouts.action_exec_timeout)
    return s.timeouts.action_exec_timeout->value;
  if (w_.timeouts.action_exec_timeout)
    return w_.timeouts.action_exec_timeout->value;
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> machine::event_timeout() const {
  const auto& s = state_def();
  if (s.timeouts.event_timeout)
    return s.timeouts.event_timeout->value;
  if (w_.timeouts.event_timeout)
    return w_.timeouts.event_timeout->value;
  return std::nullopt;
}

} // namespace meshflow::actors
