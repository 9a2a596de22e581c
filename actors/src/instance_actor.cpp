#include "instance_actor.hpp"

#include <fmt/format.h>

#include "meshflow/actors/fault_injection.hpp"
#include "meshflow/actors/protocol.hpp"
#include "meshflow/dsl/retry.hpp"
#include "meshflow/transport/json_format.hpp"

namespace meshflow::actors {

namespace {

using self_ptr = caf::stateful_actor<instance_actor_state>*;

/// Something for another instance, written by the partition like any
/// command.
void emit(self_ptr self, command c) {
  self->send(self->state.partition, emit_atom::value, std::move(c));
}

/// The machine's effects, as CAF actions of the instance actor: calls go to
/// supervisors; timers, events and what other instances are to do go to the
/// partition.
class actor_effects final : public effects {
public:
  explicit actor_effects(self_ptr self) : self_(self) {}

  epoch_ms now() override { return now_ms(); }

  void invoke(invocation call) override {
    auto& st = self_->state;
    const auto& w = *st.job->plan->definition;
    supervision job;
    job.binding = st.job->bindings.at(call.function);
    job.arguments = call.arguments.dump();
    job.instance_id = self_->state.value.id;
    job.call_key = fmt::format("{}.{}", job.instance_id, call.token);
    job.retry_for = [&w, action = call.action](const std::string& code) {
      return dsl::retry_for(w, *action, code);
    };
    job.action_exec_timeout = call.timeout;
    job.attempts_before = static_cast<int>(call.attempts);
    if (call.retry_at > 0)
      job.first_delay = std::chrono::milliseconds{std::max<epoch_ms>(0, call.retry_at - now_ms())};
    job.parent = caf::actor_cast<caf::actor>(self_);
    auto sup = self_->spawn<caf::monitored>(supervisor, std::move(job));
    st.tokens[sup.address()] = call.token;
    st.supervisors[call.token] = sup;
  }

  void cancel(std::uint64_t token) override {
    auto& st = self_->state;
    auto it = st.supervisors.find(token);
    if (it == st.supervisors.end())
      return;
    st.tokens.erase(it->second.address());
    self_->send_exit(it->second, caf::exit_reason::user_shutdown);
    st.supervisors.erase(it);
  }

  void arm(std::uint64_t token, epoch_ms deadline) override {
    // The partition keeps the timers, so that they outlive a parked actor.
    self_->send(self_->state.partition, arm_atom::value, self_->state.value.id, token, deadline);
  }

  void produce(std::uint32_t event_def, transport::cloud_event event) override {
    const auto& v = self_->state.value;
    self_->send(self_->state.partition, produced_atom::value,
                produced_event{v.id, std::string{self_->state.job->channel_of(event_def)},
                               std::move(event)});
  }

  expected<std::string> start_child(child_start request) override {
    const auto& v = self_->state.value;
    start_command s;
    s.workflow_id = request.workflow_id;
    s.version = request.version.value_or("");
    s.input = request.input.dump();
    if (request.wait) {
      s.parent_id = v.id;
      s.parent_token = request.token;
    }
    auto id = fmt::format("{}.{}", v.id, request.token);
    emit(self_, command{id, {}, std::move(s)});
    return id;
  }

  void end_child(const std::string& id) override {
    emit(self_, command{id, {}, cancel_command{"its parent ended"}});
  }

  expected<std::string> continue_as(continuation next) override {
    auto& v = self_->state.value;
    start_command s;
    s.workflow_id = next.workflow_id;
    s.version = next.version.value_or("");
    s.input = next.input.dump();
    s.exec_timeout = std::move(next.exec_timeout);
    // A sync subflow's parent waits for the last instance of the chain.
    s.parent_id = std::exchange(v.parent_id, {});
    s.parent_token = std::exchange(v.parent_token, 0);
    auto id = fmt::format("{}+", v.id);
    emit(self_, command{id, {}, std::move(s)});
    return id;
  }

private:
  self_ptr self_;
};

/// The outcome of an invocation or a sync sub-instance, for the machine.
expected<jq::value> outcome(const invocation_result& r) {
  if (!r.ok)
    return tl::unexpected(r.failure);
  auto v = jq::value::parse(r.result);
  if (!v)
    return fail("result", "the result is not JSON");
  return v;
}

/// An `asyncapi` function's event, to the partition before the report that
/// records its action done: both are written in one transaction.
void publish(self_ptr self, const invocation_result& r) {
  auto event = transport::json_format::parse(r.publish_event);
  if (!event)
    return;  // made by the binding, which serialized a CloudEvent
  self->send(self->state.partition, produced_atom::value,
             produced_event{self->state.value.id, r.publish_topic, std::move(*event)});
}

/// Forgets the supervisor `sender`; its invocation's token, if it had one.
std::optional<std::uint64_t> forget(self_ptr self, const caf::actor_addr& sender) {
  auto& st = self->state;
  auto it = st.tokens.find(sender);
  if (it == st.tokens.end())
    return std::nullopt;
  auto token = it->second;
  st.tokens.erase(it);
  st.supervisors.erase(token);
  return token;
}

/// The instance ended: its supervisors stop, a waiting parent is told, and
/// the actor goes (after this message's report).
void end(self_ptr self) {
  auto& st = self->state;
  for (auto& [token, sup] : st.supervisors)
    self->send_exit(sup, caf::exit_reason::user_shutdown);
  st.supervisors.clear();
  st.tokens.clear();
  const auto& v = st.value;
  if (!v.parent_id.empty()) {
    auto r = v.status == instance_status::completed
               ? invocation_result::success(v.data.dump())
               : invocation_result::failed(v.error ? v.error->code : "subflow",
                                           fmt::format("subflow {} {}: {}", v.id,
                                                       to_string(v.status),
                                                       v.error ? v.error->message : ""));
    emit(self, command{v.parent_id, {}, child_done_command{v.parent_token, std::move(r)}});
  }
  self->quit();
}

/// Where the instance stands after a message, for the partition. An
/// instance that ended also ends its actor; one whose machine yielded goes
/// on with its next message to itself.
instance_report report(self_ptr self, std::string answer = {}) {
  auto& st = self->state;
  if (st.value.current && !st.run->ended() &&
      fault_injection::fires("instance.throw",
                             st.job->plan->definition->states[st.value.current->state].name))
    throw std::runtime_error("injected fault instance.throw (MESHFLOW_TEST_FAULTS)");
  instance_report r;
  r.id = st.value.id;
  r.status = st.value.status;
  r.correlation = correlation_text(st.value);
  r.answer = std::move(answer);
  if (st.run->ended()) {
    end(self);
  } else if (st.run->busy()) {
    self->send(self, proceed_atom::value);
  } else {
    r.idle = st.supervisors.empty();
  }
  auto& h = st.value.history;
  if (st.history_reported < h.size()) {
    auto entries = nlohmann::json::array();
    for (auto i = st.history_reported; i < h.size(); ++i)
      entries.push_back(history_entry_json(h[i]));
    r.history = entries.dump();
    st.history_reported = h.size();
  }
  // Reported, the older entries are `<cluster>.history`'s to keep.
  if (h.size() > history_tail) {
    auto dropped = h.size() - history_tail;
    h.erase(h.begin(), h.begin() + static_cast<std::ptrdiff_t>(dropped));
    st.value.history_dropped += dropped;
    st.history_reported -= dropped;
  }
  r.snapshot = snapshot(st.value);
  return r;
}

/// The same for a message that was no command: sent to the partition.
void update(self_ptr self) {
  auto r = report(self);
  self->send(self->state.partition, update_atom::value, std::move(r));
}

/// Applies a command; the answer for the admin request it carries.
std::string apply(self_ptr self, command& c) {
  auto& st = self->state;
  auto& run = *st.run;
  auto current = [&] { return describe(st.value, *st.job->plan).dump(); };
  return std::visit(
    [&](auto& x) -> std::string {
      using T = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<T, start_command>) {
        auto input = jq::value::parse(x.input);
        st.value.parent_id = x.parent_id;
        st.value.parent_token = x.parent_token;
        st.value.start_key = x.start_key;
        if (!x.input_invalid.empty())
          st.value.history.push_back({now_ms(), "input.invalid", x.input_invalid});
        st.value.exec_timeout = x.exec_timeout;
        run.start(input ? std::move(*input) : jq::value{jv_object()});
        for (const auto& e : x.events)
          run.event(e);
        return current();
      } else if constexpr (std::is_same_v<T, event_command>) {
        run.event(consumed_event{x.event, x.channel});
        return current();
      } else if constexpr (std::is_same_v<T, timer_command>) {
        run.timer(x.token);
        return current();
      } else if constexpr (std::is_same_v<T, pause_command>) {
        run.pause();
        return current();
      } else if constexpr (std::is_same_v<T, resume_command>) {
        run.resume();
        return current();
      } else if constexpr (std::is_same_v<T, cancel_command>) {
        run.cancel(x.reason);
        return current();
      } else if constexpr (std::is_same_v<T, retry_command>) {
        auto r = run.retry();
        return r ? current() : error_json(r.error());
      } else {
        run.function_done(x.token, outcome(x.result));
        return current();
      }
    },
    c.what);
}

} // namespace

caf::behavior instance_actor(self_ptr self, std::shared_ptr<const deployment> job,
                             caf::actor partition, std::shared_ptr<instance_start> start) {
  // An exception (a bug) ends the actor with its message as the exit
  // reason; the partition, which monitors it, makes that the instance's
  // error.
  self->set_exception_handler([](caf::scheduled_actor*, std::exception_ptr& thrown) {
    try {
      std::rethrow_exception(thrown);
    } catch (const std::exception& e) {
      return caf::make_error(caf::sec::runtime_error, std::string{e.what()});
    } catch (...) {
      return caf::make_error(caf::sec::runtime_error, std::string{"an unknown exception"});
    }
  });
  auto& st = self->state;
  st.job = std::move(job);
  st.partition = std::move(partition);
  st.value = std::move(start->value);
  st.history_reported = st.value.history.size();  // reported by its earlier actors
  st.fx = std::make_unique<actor_effects>(self);
  st.run = std::make_unique<machine>(*st.job->plan, st.value, *st.fx, start->limits,
                                     st.job->event_channels);
  // A supervisor that dies without its report (it was cancelled, or it
  // crashed) is forgotten; a crash becomes the action's error.
  self->set_down_handler([self](caf::down_msg& down) {
    auto token = self->state.run ? forget(self, down.source) : std::nullopt;
    if (!token)
      return;
    self->state.run->function_done(
      *token, fail("crash", fmt::format("the action's supervisor died: {}",
                                        self->system().render(down.reason))));
    update(self);
  });
  if (start->rearm) {
    if (auto fits = st.run->rearm(); !fits) {
      // A snapshot that does not fit its definition cannot run: it ends
      // FAULTED, kept for inspection, and nothing of it is lost.
      st.value.status = instance_status::faulted;
      st.value.error = instance_error{fits.error().code, fits.error().message, ""};
    }
    update(self);
  }
  return {
    [self](command& c) -> instance_report {
      auto answer = apply(self, c);
      return report(self, c.request_id.empty() ? std::string{} : std::move(answer));
    },
    [self](action_done_atom, invocation_result& r, int) {
      auto token = forget(self, caf::actor_cast<caf::actor_addr>(self->current_sender()));
      if (!token)
        return;
      if (!r.publish_topic.empty())
        publish(self, r);
      self->state.run->function_done(*token, outcome(r));
      update(self);
    },
    [self](action_retry_atom, int attempt, const std::string& code, std::int64_t delay) {
      auto& st = self->state;
      auto it = st.tokens.find(caf::actor_cast<caf::actor_addr>(self->current_sender()));
      if (it == st.tokens.end())
        return;
      st.run->function_retrying(it->second, attempt, code, delay);
      update(self);  // the attempt and its deadline are in the snapshot
    },
    [self](proceed_atom) {
      self->state.run->proceed();
      update(self);
    },
    // The partition took this actor's last report as the instance's whole
    // truth: nothing is in flight and nothing is on its way (partition.hpp,
    // "Parking").
    [self](park_atom) { self->quit(); },
  };
}

} // namespace meshflow::actors
