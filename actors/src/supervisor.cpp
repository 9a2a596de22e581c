#include "meshflow/actors/supervisor.hpp"

#include <random>

#include <fmt/format.h>

namespace meshflow::actors {

namespace {

// A request that never expires: CAF wants a timeout; a year is "never" for
// an action without actionExecTimeout.
constexpr auto no_timeout = std::chrono::hours{24 * 365};

void attempt(caf::stateful_actor<supervisor_state>* self);

void finish(caf::stateful_actor<supervisor_state>* self, invocation_result r) {
  // Drop every handle held: a finished supervisor keeps nothing alive.
  auto job = std::move(self->state.job);
  self->state.job = {};
  self->send(job.parent, action_done_atom::value, std::move(r), self->state.attempt);
  self->quit();
}

void failed(caf::stateful_actor<supervisor_state>* self, invocation_result r) {
  auto& st = self->state;
  auto policy = st.job.retry_for ? st.job.retry_for(r.failure.code) : std::nullopt;
  if (!policy || !policy->allows_another(st.attempt)) {
    finish(self, std::move(r));
    return;
  }
  auto delay = policy->delay_for(st.attempt, st.job.random_unit());
  self->send(st.job.parent, action_retry_atom::value, st.attempt, r.failure.code,
             static_cast<std::int64_t>(delay.count()));
  self->delayed_send(self, delay, retry_atom::value);
}

void attempt(caf::stateful_actor<supervisor_state>* self) {
  auto& st = self->state;
  ++st.attempt;
  auto timeout = st.job.action_exec_timeout
                   ? std::chrono::duration_cast<caf::timespan>(*st.job.action_exec_timeout)
                   : std::chrono::duration_cast<caf::timespan>(no_timeout);
  self->request(st.job.binding, timeout, invoke_atom::value, st.job.arguments,
                st.job.instance_id, st.job.call_key)
    .then(
      [self](invocation_result& r) {
        if (r.ok)
          finish(self, std::move(r));
        else
          failed(self, std::move(r));
      },
      [self](caf::error& e) {
        auto& st = self->state;
        if (e == caf::sec::request_timeout) {
          self->send(st.job.binding, abandon_atom::value);
          failed(self, invocation_result::failed(
                         "timeout", fmt::format("no result within actionExecTimeout ({} ms)",
                                                st.job.action_exec_timeout->count())));
        } else {
          failed(self, invocation_result::failed(
                         "crash", fmt::format("the function binding failed: {}",
                                              self->system().render(e))));
        }
      });
}

} // namespace

caf::behavior supervisor(caf::stateful_actor<supervisor_state>* self, supervision job) {
  if (!job.random_unit)
    job.random_unit = [rng = std::make_shared<std::mt19937_64>(std::random_device{}())] {
      return std::uniform_real_distribution<double>{0.0, 1.0}(*rng);
    };
  self->state.attempt = job.attempts_before;
  auto delay = job.first_delay;
  self->state.job = std::move(job);
  if (delay.count() > 0)
    self->delayed_send(self, delay, retry_atom::value);
  else
    attempt(self);
  return {
    [self](retry_atom) { attempt(self); },
  };
}

} // namespace meshflow::actors
