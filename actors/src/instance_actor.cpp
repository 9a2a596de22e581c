#include "instance_actor.hpp"

#include <chrono>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "meshflow/actors/fault_injection.hpp"
#include "meshflow/dsl/retry.hpp"
#include "meshflow/transport/json_format.hpp"

namespace meshflow::actors {

namespace {

using self_ptr = caf::stateful_actor<instance_actor_state>*;

std::string iso_time(epoch_ms ms) {
  auto t = std::chrono::system_clock::time_point{std::chrono::milliseconds{ms}};
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", fmt::gmtime(std::chrono::system_clock::to_time_t(t)),
                     ms % 1000);
}

/// The machine's effects, as CAF actions of the instance actor.
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
    job.retry_for = [&w, action = call.action](const std::string& code) {
      return dsl::retry_for(w, *action, code);
    };
    job.action_exec_timeout = call.timeout;
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
    // The admin keeps the timers, so that they outlive a parked actor.
    self_->send(self_->state.admin, arm_atom::value, self_->state.value.id, token, deadline);
  }

  void produce(transport::cloud_event event) override {
    auto text = transport::json_format::serialize(event);
    if (text)
      self_->send(self_->state.admin, produced_atom::value, self_->state.value.id, *text);
  }

  expected<std::string> start_child(child_start request) override {
    auto id = fmt::format("{}.{}", self_->state.value.id, request.token);
    self_->send(self_->state.admin, child_atom::value, id, request.workflow_id,
                request.version.value_or(""), request.input.dump(),
                request.wait ? request.token : std::uint64_t{0});
    return id;
  }

  void end_child(const std::string& id) override {
    // Anonymous: the admin's answer is for nobody.
    caf::anon_send(self_->state.admin, cancel_atom::value, id);
  }

  expected<std::string> continue_as(continuation next) override {
    auto id = fmt::format("{}+", self_->state.value.id);
    self_->send(self_->state.admin, continue_atom::value, self_->state.value.id, id,
                next.workflow_id, next.version.value_or(""), next.input.dump(),
                next.exec_timeout ? encode(*next.exec_timeout) : std::string{});
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

void end(self_ptr self);

/// The instance as `get` answers (taken before `report` may end the actor).
std::string current(self_ptr self) {
  return describe(self->state.value, *self->state.job->plan).dump();
}

/// After every message: tell the admin of a status change; an instance that
/// ended hands over its final snapshot and quits; one whose machine yielded
/// lets the other actors run and goes on with its next message to itself;
/// one with nothing in flight offers its snapshot to be parked (node.hpp,
/// "Parking").
/// `from_admin`: the message came from (or through) the admin, which counts
/// what it sent; supervisors' reports and its own messages do not count.
void report(self_ptr self, bool from_admin = true) {
  auto& st = self->state;
  if (from_admin)
    ++st.received;
  if (st.value.status != st.reported) {
    st.reported = st.value.status;
    if (st.run->ended()) {
      end(self);
      return;
    }
    self->send(st.admin, status_atom::value, st.value.id,
               std::string{to_string(st.value.status)});
  }
  if (st.value.current &&
      fault_injection::fires("instance.throw",
                             st.job->plan->definition->states[st.value.current->state].name))
    throw std::runtime_error("injected fault instance.throw (MESHFLOW_TEST_FAULTS)");
  if (st.run->busy()) {
    self->send(self, proceed_atom::value);
    return;
  }
  if (st.supervisors.empty())
    self->send(st.admin, idle_atom::value, st.value.id, st.received, snapshot(st.value));
}

/// The instance ended: its final snapshot to the admin, and quit.
void end(self_ptr self) {
  auto& st = self->state;
  for (auto& [token, sup] : st.supervisors)
    self->send_exit(sup, caf::exit_reason::user_shutdown);
  st.supervisors.clear();
  st.tokens.clear();
  self->send(st.admin, ended_atom::value, st.value.id, snapshot(st.value));
  st.admin = nullptr;
  st.run.reset();
  st.fx.reset();
  st.job.reset();
  self->quit();
}

} // namespace

caf::behavior instance_actor(self_ptr self, std::shared_ptr<const deployment> job,
                             caf::actor admin, std::shared_ptr<instance_start> start) {
  // An exception (a bug) ends the actor with its message as the exit
  // reason; the admin, which monitors it, makes that the instance's error.
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
  st.admin = std::move(admin);
  st.value = std::move(start->value);
  st.reported = st.value.status;
  st.fx = std::make_unique<actor_effects>(self);
  st.run = std::make_unique<machine>(*st.job->plan, st.value, *st.fx, start->limits);
  // A supervisor that dies without its report (it was cancelled, or it
  // crashed) is forgotten; a crash becomes the action's error.
  self->set_down_handler([self](caf::down_msg& down) {
    auto token = self->state.run ? forget(self, down.source) : std::nullopt;
    if (!token)
      return;
    self->state.run->function_done(
      *token, fail("crash", fmt::format("the action's supervisor died: {}",
                                        self->system().render(down.reason))));
    report(self, false);
  });
  if (start->input) {
    auto input = jq::value::parse(*start->input);
    st.run->start(input ? std::move(*input) : jq::value{jv_object()});
  } else if (start->parked) {
    // Woken: its timers are with the admin, nothing was in flight.
  } else if (auto fits = st.run->rearm(); !fits) {
    // A snapshot that does not fit its definition cannot run: it ends
    // FAULTED, kept for inspection, and nothing of it is lost.
    st.value.status = instance_status::faulted;
    st.value.error = instance_error{fits.error().code, fits.error().message, ""};
  }
  report(self, false);
  return {
    [self](action_done_atom, invocation_result& r, int) {
      auto token = forget(self, caf::actor_cast<caf::actor_addr>(self->current_sender()));
      if (!token)
        return;
      self->state.run->function_done(*token, outcome(r));
      report(self, false);
    },
    [self](action_retry_atom, int attempt, const std::string& code, std::int64_t delay) {
      auto& st = self->state;
      auto it = st.tokens.find(caf::actor_cast<caf::actor_addr>(self->current_sender()));
      if (it != st.tokens.end())
        st.run->function_retrying(it->second, attempt, code, delay);
    },
    [self](child_done_atom, std::uint64_t token, invocation_result& r) {
      self->state.run->function_done(token, outcome(r));
      report(self);
    },
    [self](timer_atom, std::uint64_t token) {
      self->state.run->timer(token);
      report(self);
    },
    [self](proceed_atom) {
      self->state.run->proceed();
      report(self, false);
    },
    [self](event_atom, const transport::cloud_event& e) {
      self->state.run->event(e);
      report(self);
    },
    [self](pause_atom) {
      self->state.run->pause();
      auto answer = current(self);
      report(self);
      return answer;
    },
    [self](resume_atom) {
      self->state.run->resume();
      auto answer = current(self);
      report(self);
      return answer;
    },
    [self](cancel_atom, const std::string& reason) {
      self->state.run->cancel(reason);
      auto answer = current(self);
      report(self);
      return answer;
    },
    [self](retry_atom) {
      auto r = self->state.run->retry();
      auto answer = r ? current(self) : error_json(r.error());
      report(self);
      return answer;
    },
    [self](get_atom) {
      auto answer = current(self);
      report(self);
      return answer;
    },
    [self](history_atom) {
      auto answer = history_json(self->state.value).dump();
      report(self);
      return answer;
    },
    // The admin took the snapshot this actor offered: nothing is in flight
    // and nothing came since, so the actor can go (node.hpp, "Parking").
    [self](park_atom) {
      auto& st = self->state;
      st.admin = nullptr;
      st.run.reset();
      st.fx.reset();
      st.job.reset();
      self->quit();
    },
  };
}

nlohmann::json describe(const instance& i, const dsl::plan& p) {
  const auto& w = *p.definition;
  nlohmann::json j{{"id", i.id},
                   {"workflowId", i.workflow_id},
                   {"version", i.version},
                   {"status", to_string(i.status)}};
  auto states = nlohmann::json::array();
  if (i.current && i.current->state < w.states.size())
    states.push_back(w.states[i.current->state].name);
  j["states"] = std::move(states);
  j["data"] = current_data(p, i).to_json();
  if (i.error)
    j["error"] = {{"code", i.error->code}, {"message", i.error->message}, {"state", i.error->state}};
  return j;
}

std::string error_json(const meshflow::error& e) {
  return nlohmann::json{{"error", {{"code", e.code}, {"message", e.message}}}}.dump();
}

nlohmann::json history_json(const instance& i) {
  auto out = nlohmann::json::array();
  for (const auto& h : i.history)
    out.push_back({{"at", iso_time(h.at)}, {"kind", h.kind}, {"detail", h.detail}});
  return out;
}

} // namespace meshflow::actors
