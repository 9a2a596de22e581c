#pragma once

// A node: the actors that run workflow instances (DESIGN.md, "Actors").
//
//   admin        the front door (this header): the protocol of protocol.hpp;
//                requests become commands, queries go to the owner
//   deployers    one per deploy, on a thread of its own (deployment.hpp)
//   engine       commands -> batches of the partitions (engine.hpp)
//   router       events -> commands (router.hpp)
//   partitions   the instances of each partition (partition.hpp)
//     instance     one per live instance (src/instance_actor.cpp)
//       supervisor   one per action invocation (supervisor.hpp)
//   bindings     one per function of each deployed version
//                (function_binding.hpp)
//
// How a request flows:
//  - `deploy`: a deployer prepares the definition off the admin's thread;
//    the admin installs it (binds its functions) and hands the node's new
//    set of versions to the router and the partitions.
//  - `start`: the admin checks the input (JSON limits, the
//    dataInputSchema), picks the version and an instance id, and writes a
//    start command; `pause`, `resume`, `cancel`, `retry` are commands too,
//    answered by the owning partition once applied (`await_atom`).
//  - `get`, `history`, `wait` go to the instance's partition; `ls` to all.
//  - `event`: the router turns the event into commands.
//  - `start.schedule`: the admin writes a start command at each time of the
//    schedule of each workflow's version deployed last.

#include <chrono>
#include <cstdint>
#include <memory>

#include <caf/all.hpp>

#include "meshflow/actors/deployment.hpp"
#include "meshflow/actors/function_binding.hpp"
#include "meshflow/actors/machine.hpp"
#include "meshflow/actors/protocol.hpp"
#include "meshflow/json_limits.hpp"

namespace meshflow::actors {

using schedule_atom = caf::atom_constant<caf::atom("schedule")>;

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
  /// Partitions of the instances (and of the commands topic).
  std::uint32_t partitions = 16;
};

/// Spawns a node: its admin actor, which owns the others (they stop with
/// it).
caf::actor spawn_admin(caf::actor_system& sys, node_options options);

} // namespace meshflow::actors
