#pragma once

// One supervisor per action invocation (DESIGN.md, "Actors").
//
// How it works:
//  1. The supervisor sends `(invoke_atom, arguments, instance_id, call_key)`
//     to the
//     function binding
//     as a request that expires after `actionExecTimeout` (CAF's request
//     timeout, on the actor clock).
//  2. The binding answers with an `invocation_result`: the result (JSON
//     text) or an error with a code. An expired request is error `timeout`,
//     and the supervisor tells the binding `(abandon_atom)`, so that the
//     call does not go on without anyone waiting for it (a REST binding
//     cancels its HTTP transfer; function_binding.hpp). A binding that died
//     or refused the message is error `crash`. (A supervisor that is
//     stopped while it waits says nothing: the binding monitors it.)
//  3. On an error, `retry_for` (the action's retry rules, see
//     dsl/retry.hpp) says whether and how to retry. If another attempt is
//     allowed, the supervisor tells its parent `(action_retry_atom, attempt,
//     code, delay)` and arms a `delayed_send` to itself for the delay; when
//     it fires, step 1 runs again.
//  4. The final outcome goes to the parent as `(action_done_atom,
//     invocation_result, attempts)`, and the supervisor quits.
//
// Timers live on the actor clock, so tests drive retries and timeouts with
// CAF's deterministic test coordinator (tests/actors/supervisor_test.cpp).

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <caf/all.hpp>

#include "meshflow/dsl/retry.hpp"
#include "meshflow/error.hpp"

namespace meshflow::actors {

using invoke_atom = caf::atom_constant<caf::atom("invoke")>;
/// To a binding, from the requester of a call: it waits no more.
using abandon_atom = caf::atom_constant<caf::atom("abandon")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using action_retry_atom = caf::atom_constant<caf::atom("actretry")>;
using action_done_atom = caf::atom_constant<caf::atom("actdone")>;

/// What a function binding answers to `(invoke_atom, std::string arguments,
/// std::string instance_id, std::string call_key)`.
struct invocation_result {
  bool ok = false;
  std::string result;  // JSON text, when ok
  meshflow::error failure;
  /// What an `asyncapi` function publishes (function_binding.hpp): the
  /// topic and the CloudEvent (structured JSON), "" none. The instance
  /// hands it to its partition with the step that records the action done,
  /// so that the event is written in the same transaction as that step.
  std::string publish_topic;
  std::string publish_event;

  static invocation_result success(std::string json) { return {true, std::move(json), {}, {}, {}}; }
  static invocation_result failed(std::string code, std::string message) {
    return {false, {}, {std::move(code), std::move(message)}, {}, {}};
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, invocation_result& x) {
  return f(caf::meta::type_name("meshflow::invocation_result"), x.ok, x.result,
           x.failure.code, x.failure.message, x.publish_topic, x.publish_event);
}

/// Everything one supervised invocation needs.
struct supervision {
  caf::actor binding;
  std::string arguments;  // JSON text
  /// The instance the action belongs to (an asyncapi function's event
  /// names it as `workflowinstanceid`).
  std::string instance_id;
  /// `<instance id>.<action token>`: names the call, the same for each of
  /// its attempts and after the instance is restored (a REST binding sends
  /// it as the `Idempotency-Key` header).
  std::string call_key;
  /// The retry decision for an error code (dsl::retry_for, bound to the
  /// workflow and the action).
  std::function<std::optional<dsl::retry_policy>(const std::string& code)> retry_for;
  std::optional<std::chrono::milliseconds> action_exec_timeout;
  /// Attempts made before this supervisor (a call restored from its
  /// instance's snapshot goes on with its retries), and how long until the
  /// next one is due (0: at once).
  int attempts_before = 0;
  std::chrono::milliseconds first_delay{0};
  caf::actor parent;
  /// A number in [0, 1) for the jitter of each retry; random by default.
  std::function<double()> random_unit;
};

struct supervisor_state {
  supervision job;
  int attempt = 0;
  static inline const char* name = "meshflow.supervisor";
};

/// The supervisor's behavior: spawn it with `spawn(supervisor, job)`.
caf::behavior supervisor(caf::stateful_actor<supervisor_state>* self, supervision job);

} // namespace meshflow::actors
