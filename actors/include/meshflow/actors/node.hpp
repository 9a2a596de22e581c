#pragma once

// A node: the actors that run workflow instances (DESIGN.md, "Actors"), on
// a Kafka cluster (`node_options::brokers`) or the embedded mock.
//
//   admin        the front door (this header): the protocol of protocol.hpp;
//                requests become commands, queries go to the owner
//   deployers    one per deploy, on a thread of its own (deployment.hpp)
//   catalog      the AsyncAPI documents of <cluster>.catalog
//                (catalog_actor.hpp)
//   bus          the node's Kafka clients: writer, commands reader, events
//                reader, archive (bus.hpp)
//   engine       commands read -> batches of the partitions; their outputs
//                -> the bus (engine.hpp)
//   router       events -> commands (router.hpp)
//   partitions   the instances of each partition (partition.hpp)
//     instance     one per live instance (src/instance_actor.cpp)
//       supervisor   one per action invocation (supervisor.hpp)
//   bindings     one per function of each deployed version
//                (function_binding.hpp)
//
// How a request flows:
//  - `deploy`: a deployer prepares the definition off the admin's thread
//    (binding its AsyncAPI references through the catalog); the admin
//    installs it (binds its functions), writes it to <cluster>.definitions
//    and hands the node's new set of versions to the router and the
//    partitions.
//  - `start`: the admin checks the input (JSON limits, the
//    dataInputSchema), picks the version and an instance id, and has the
//    bus write a start command; it answers once the owning partition has
//    read it back from Kafka and applied it (`await_atom`). `pause`,
//    `resume`, `cancel`, `retry` are commands too, answered the same way.
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
#include "meshflow/transport/kafka_topics.hpp"

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
  /// The node's HTTP client (REST calls, fetched documents); start_node
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
  /// Ended instances held in memory, the most recent (spread over the
  /// partitions); older ones are read from `<cluster>.instances` when asked
  /// for (partition.hpp).
  std::size_t keep_ended = 10'000;
  /// How long after its end an instance can still be asked for.
  std::chrono::milliseconds retention{std::chrono::hours{24 * 7}};
  /// The Kafka cluster the node works on (DESIGN.md, "Kafka topics"): the
  /// `bootstrap.servers` of its brokers, or "" for the embedded default, a
  /// mock cluster in this process (bus.hpp; nothing is durable).
  std::string brokers;
  /// The cluster's name (its topics are `<cluster>.<role>`, its consumer
  /// groups `<cluster>.<role>`), the partition count P the node creates the
  /// topics with, and their other settings.
  transport::engine_topic_settings topics;
  /// This node's name, the `client.id` of its Kafka clients and its
  /// transactional id (`<cluster>.<name>`, bus.hpp): a node restarted with
  /// the same name fences its previous incarnation at once.
  /// "" makes one from the host name and process id.
  std::string name;
  /// The longest a transaction of the bus stays open while it is busy
  /// (bus.hpp): what a step may wait for its outputs to be committed.
  std::chrono::milliseconds commit_interval{std::chrono::milliseconds{50}};
};

/// A node that runs: its admin actor, which owns the others (they stop
/// with it), and where its records live.
struct running_node {
  caf::actor admin;
  /// The brokers' `bootstrap.servers` (for the embedded default, the mock
  /// cluster's, so that services can connect to it).
  std::string bootstrap_servers;
  /// The embedded default: nothing the node holds survives it.
  bool embedded = false;
  /// The embedded cluster, which the node's actors keep alive while they
  /// run; a process that ends anyway may keep it to the end rather than
  /// wait for librdkafka to tear it down (up to a second of thread joins).
  std::shared_ptr<const void> cluster;
};

/// Starts a node: connects to its Kafka cluster (or starts the embedded
/// one), makes sure the cluster's topics exist, loads what they hold and
/// spawns the admin. The error says what the brokers refused.
expected<running_node> start_node(caf::actor_system& sys, node_options options);

} // namespace meshflow::actors
