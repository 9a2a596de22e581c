#pragma once

// The node's actors: the admin actor that owns deployed workflows and the
// instances of this node, and one instance actor per live instance.
//
// How a request flows:
//  1. A client (the CLI, over CAF's middleman, or `meshflow run` in
//     process) sends the admin actor a request made of atoms and strings
//     (the protocol below); every answer is JSON text, `{"error": {...}}`
//     on failure, so that the wire carries only CAF's built-in types.
//  2. `deploy` checks (strictly) and compiles a definition, and binds
//     its functions (function_binding.hpp): a `deployment`, immutable and
//     shared by the version's instances.
//  3. `start` spawns an instance actor (src/instance_actor.cpp), which
//     animates an `instance` value with a `machine` (machine.hpp): it runs
//     the machine's effects as CAF actions (a supervisor per invocation,
//     `delayed_send` per timer), and reports status changes to the admin.
//  4. An instance that ends hands its final snapshot to the admin and
//     quits; `get` and `history` of an ended instance read that snapshot.
//
// Parking: an instance waiting with nothing in flight (no supervisor; it
// waits for events, timers or a subflow) lives as its snapshot, not as an
// actor. Everything reaches an instance from or through the admin (timers
// too: the instance asks the admin to arm them), and the admin counts what
// it sends to each instance actor. After each message, an idle instance
// offers (idle_atom, id, messages handled, snapshot); the admin takes it
// only if the counts agree — nothing is on its way to the actor, so the
// snapshot is the whole truth — then sends park_atom, and the actor quits.
// The next message for the instance wakes it: a new actor from the
// snapshot. `get` and `history` read a parked snapshot without waking it.
//
// Admin protocol (every argument and answer a std::string):
//   (deploy_atom, path, text)                -> {"workflows": [{id, version}]}
//                 the client reads the file: `path` names the definition and
//                 its directory resolves relative references (on the node)
//   (start_atom, workflow, version, input)   -> {"id": ...}   version "" = latest;
//                 an input against the dataInputSchema is refused (`input`)
//   (get_atom, id) / (history_atom, id)      -> the instance / its history
//   (list_atom, workflow, status)            -> [instances]   "" = any
//   (pause_atom | resume_atom | cancel_atom | retry_atom, id) -> the instance
//   (wait_atom, id)                          -> the instance, once it ended
//   (event_atom, cloudevent_json, id)        -> {"delivered": n}
//
// A workflow with `start.schedule` starts an instance (input {}) at each of
// its times, from its deploy on, for the version deployed last.
//                 id "" = by `workflowinstanceid`, else to every waiting one,
//                 and a new instance per workflow whose start state awaits it

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "meshflow/actors/function_binding.hpp"
#include "meshflow/actors/input_schema.hpp"
#include "meshflow/actors/instance.hpp"
#include "meshflow/actors/machine.hpp"
#include "meshflow/actors/schedule.hpp"
#include "meshflow/json_limits.hpp"
#include "meshflow/dsl/plan.hpp"
#include "meshflow/transport/cloud_event.hpp"

// Between the admin and its instances (in process), events travel parsed.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(meshflow::transport::cloud_event)

namespace meshflow::actors {

using deploy_atom = caf::atom_constant<caf::atom("deploy")>;
using start_atom = caf::atom_constant<caf::atom("start")>;
using get_atom = caf::atom_constant<caf::atom("get")>;
using list_atom = caf::atom_constant<caf::atom("list")>;
using pause_atom = caf::atom_constant<caf::atom("pause")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using history_atom = caf::atom_constant<caf::atom("history")>;
using wait_atom = caf::atom_constant<caf::atom("wait")>;
using event_atom = caf::atom_constant<caf::atom("event")>;
// Between the admin and its instances.
using timer_atom = caf::atom_constant<caf::atom("timer")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using ended_atom = caf::atom_constant<caf::atom("ended")>;
using child_atom = caf::atom_constant<caf::atom("child")>;
using child_done_atom = caf::atom_constant<caf::atom("childdone")>;
using continue_atom = caf::atom_constant<caf::atom("continue")>;
using gather_atom = caf::atom_constant<caf::atom("gather")>;
using produced_atom = caf::atom_constant<caf::atom("produced")>;
using schedule_atom = caf::atom_constant<caf::atom("schedule")>;
using arm_atom = caf::atom_constant<caf::atom("arm")>;
using idle_atom = caf::atom_constant<caf::atom("idle")>;
using park_atom = caf::atom_constant<caf::atom("park")>;

/// A deployed workflow version: its plan, its function bindings, the
/// schema its input must satisfy and when it starts by itself.
struct deployment {
  std::shared_ptr<const dsl::plan> plan;
  /// By function index.
  std::vector<caf::actor> bindings;
  std::optional<input_schema> input;
  std::optional<start_schedule> schedule;
};

/// How a node is set up.
struct node_options {
  std::shared_ptr<const native_registry> natives;
  /// A REST call's HTTP timeout (actionExecTimeout is usually shorter).
  std::chrono::milliseconds http_timeout{std::chrono::seconds{30}};
  /// How long fetching a document a definition names may take (an OpenAPI
  /// description, a JSON Schema). Deploys read documents off the admin's
  /// thread: a slow one delays that deploy, never the node's other
  /// requests.
  std::chrono::milliseconds document_timeout{std::chrono::seconds{10}};
  /// The node's HTTP client (REST calls, fetched documents); spawn_admin
  /// makes one when none is given.
  std::shared_ptr<transport::http_client> http;
  /// A REST function's calls in flight at once (binding_context).
  std::size_t max_concurrent_calls = binding_context::default_max_concurrent_calls;
  /// Told of every event an instance produces, as CloudEvent JSON text:
  /// (produced_atom, instance_id, event_json). Optional.
  caf::actor event_listener;
  /// Bounds on each instance: states entered in all, and per turn.
  machine_limits limits;
  /// Bounds on every JSON document that enters the node: inputs, events,
  /// REST response bodies.
  json_limits json;
};

/// Spawns a node's admin actor.
caf::actor spawn_admin(caf::actor_system& sys, node_options options);

} // namespace meshflow::actors
