#pragma once

// The bus: a node's one link to Kafka (DESIGN.md, principles 1, 2 and 7).
//
// One actor, on a thread of its own (librdkafka's calls block), owns the
// node's Kafka clients: one producer, the consumer of `<cluster>.commands`
// and the consumer of the business topics that the deployed workflows
// listen to (and `<cluster>.events`, where events bound to no channel go).
//
// Its loop, one round after the other:
//  1. poll the commands: each record is decoded (a record that is not a
//     command goes to `<cluster>.dlq` with the reason) and handed to the
//     engine with its partition and offset (`consumed_atom`);
//  2. poll the business topics: each record is decoded as a CloudEvent in
//     either content mode and checked against the node's JSON limits (else
//     to the DLQ) and handed to the router (`route_atom`);
//  3. write what it was given since the last round (`write_atom`: commands
//     to their partitions of `<cluster>.commands`, snapshots to
//     `<cluster>.instances`, events to their channels), flush, and commit
//     the offsets of the commands whose outputs are written (at least
//     once; issue "Durable instances" makes the round one transaction).
//
// On the embedded default the cluster is librdkafka's mock in this process;
// the code is the same.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "meshflow/actors/command.hpp"
#include "meshflow/actors/partition.hpp"
#include "meshflow/catalog/asyncapi.hpp"
#include "meshflow/json_limits.hpp"
#include "meshflow/transport/kafka_client.hpp"
#include "meshflow/transport/kafka_topics.hpp"

namespace meshflow::actors {

/// `(publish_atom, topic, cloudevent_json, key) -> std::string`: produces
/// the CloudEvent (binary mode, keyed by its `partitionkey`, else `key`) to
/// `topic` and answers once the broker has it: "" then, else why it was not
/// delivered (after librdkafka's retries). How an `asyncapi` function
/// publishes.
using publish_atom = caf::atom_constant<caf::atom("publish")>;

/// `(consumed_atom, partition, std::vector<command>, next_offset)`: the bus
/// hands the engine the commands it read of one partition.
using consumed_atom = caf::atom_constant<caf::atom("consumed")>;

/// `(write_atom, bus_writes)`: records for the bus to write in its next
/// round.
using write_atom = caf::atom_constant<caf::atom("write")>;

/// The AsyncAPI operations that consume from each channel (topic) of the
/// deployed versions: the payload schemas of their messages check the
/// events read from it (one operation that accepts an event is enough; an
/// event none accepts goes to the dead-letter topic).
using channel_operations =
  std::map<std::string, std::vector<std::shared_ptr<const catalog::operation>>>;

/// `(listen_atom, channel_operations consumed, std::vector<std::string>
/// produced)`: the business topics to consume (more of them: a topic is
/// read until the node stops) with their operations, and those the node
/// produces to; each is created (with the cluster's partition count) when
/// missing, so that services can subscribe before the first event.
using listen_atom = caf::atom_constant<caf::atom("listen")>;

/// `(archive_atom, instance_id) -> std::string`: the instance's latest
/// snapshot in `<cluster>.instances`, "" when there is none (or its record
/// was deleted). Reads the instance's partition of the topic to its end:
/// the slow path of a query for an instance no partition holds in memory.
using archive_atom = caf::atom_constant<caf::atom("archive")>;

/// The header of every record of `<cluster>.commands` that says what kind
/// of command it holds (`start`, `event`, `pause`, ...; command.hpp's
/// `kind_of`), for people and tools that read the topic.
inline constexpr std::string_view command_kind_header = "meshflow-command";

/// `(listening_atom) -> bool`: answered once every `listen_atom` sent
/// before it is in effect (the topics are read); false if one failed.
using listening_atom = caf::atom_constant<caf::atom("listening")>;

/// `(routed_atom, offsets)`: the events read before these offsets (of the
/// business topics) are routed; passed along router -> engine -> bus, in
/// order with the commands they became, so that the bus commits them once
/// those commands are written.
using routed_atom = caf::atom_constant<caf::atom("routed")>;

/// What the bus writes in one round.
struct bus_writes {
  /// To their instances' partitions of `<cluster>.commands`.
  std::vector<command> commands;
  /// To their channels, or `<cluster>.events`.
  std::vector<produced_event> events;
  /// Instance id -> snapshot, to `<cluster>.instances`.
  std::vector<std::pair<std::string, std::string>> snapshots;
  /// Instance id -> new history entries (a JSON array), to
  /// `<cluster>.history`.
  std::vector<std::pair<std::string, std::string>> history;
  /// Key (`id@version`) -> record value, to `<cluster>.definitions`.
  std::vector<std::pair<std::string, std::string>> definitions;
  /// The commands of these partitions are applied up to (not including)
  /// these offsets: committed once everything above is written.
  std::vector<std::pair<std::int32_t, std::int64_t>> applied;
  /// The business events routed up to these offsets: committed in the
  /// router's group once everything above is written.
  std::vector<transport::kafka_topic_partition> routed;
};

/// Where the bus connects and whom it feeds.
struct bus_options {
  /// librdkafka settings every client of the node shares (at least
  /// `bootstrap.servers`, and `client.id`).
  transport::kafka_config kafka;
  transport::engine_topics topics;
  /// Told `(consumed_atom, ...)` and `(route_atom, consumed_event)`.
  caf::actor engine;
  caf::actor router;
  /// Bounds on every event read from a business topic.
  json_limits json;
  /// Keeps the embedded cluster (if any) alive as long as the bus's clients.
  std::shared_ptr<const void> cluster;
};

/// Spawns the bus on a thread of its own; it connects at once and fails
/// when a client cannot be made.
expected<caf::actor> spawn_bus(caf::actor_system& sys, bus_options options);

} // namespace meshflow::actors

// In process, between a node's actors.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(meshflow::actors::bus_writes)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<meshflow::transport::kafka_topic_partition>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(meshflow::actors::channel_operations)
