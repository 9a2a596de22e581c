#pragma once

// The bus: a node's one link to Kafka (DESIGN.md, principles 1 to 4 and 7).
//
// The bus's actor (the writer, on a thread of its own: librdkafka's calls
// block) owns the node's transactional producer and its member of the
// consumer group of `<cluster>.commands`; two more actors, each on a thread
// of its own, read the business topics (the router's consumer) and look
// ended instances up in `<cluster>.instances` (the archive).
//
// Ownership. The commands' partitions are the consumer group's to give
// (dynamic membership: a static member, `group.instance.id`, got its
// partitions back at once after a restart, but librdkafka 2.0 fences such a
// member for good when the broker comes back from an outage).
// When a partition is assigned, the bus reads the same partition of
// `<cluster>.instances` to its end (`read_committed`: the last committed
// snapshot of each instance), hands the snapshots to the engine
// (`restore_atom`, with a new epoch of ownership) and only then hands it
// the partition's commands. When one is revoked, the bus commits what it
// has and tells the engine to drop it (`revoke_atom`). On the embedded
// default the node is the only member: it assigns itself every partition
// and restores them the same way.
//
// Exactly once per transaction. Everything the bus writes goes into the
// open transaction: the outputs of each batch (snapshots, history entries,
// events, commands for other instances) with the offset its commands are
// applied up to, the commands a batch of business events became with those
// events' offsets (the router's group), the admin's commands, dead letters,
// definitions. The bus commits (`send_offsets_to_transaction` for both
// groups, then `commit_transaction`) as soon as it has nothing else to do,
// and at the latest `commit_interval` after the transaction began. Outputs
// tagged with an epoch that is no longer the partition's are dropped: the
// partition moved or was rewound, and whoever owns it now applies those
// commands again. A crash loses an open transaction and nothing else: its
// commands are applied again from the snapshots it did not commit.
//
// Failures. A retriable one (a broker away, a coordinator moving) is tried
// again with backoff, for as long as it takes; the node says it waits. An
// abortable one aborts the transaction and rewinds: every owned partition
// is restored from its committed snapshots and read again from its
// committed offset, and the router's topics from theirs; an admin request
// whose command was in the aborted transaction is answered with error
// `publish`. A fenced producer (another process took this node's name) is
// replaced, then the node rewinds too.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
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

/// `(consumed_atom, partition, std::vector<command>, next_offset)`: the bus
/// hands the engine the commands it read of one partition.
using consumed_atom = caf::atom_constant<caf::atom("consumed")>;

/// `(restore_atom, partition, epoch, snapshots)`: the partition is the
/// node's (again) from now on, in ownership `epoch`; its instances are these
/// (instance id -> last committed snapshot).
using restore_atom = caf::atom_constant<caf::atom("restore")>;

/// `(revoke_atom, partition)`: the partition is no longer the node's; its
/// instances and their timers are dropped.
using revoke_atom = caf::atom_constant<caf::atom("revoke")>;

/// The last committed snapshot of each instance of a partition.
using partition_snapshots = std::vector<std::pair<std::string, std::string>>;

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

/// `(history_atom, instance_id) -> std::string`: every committed history
/// entry of the instance in `<cluster>.history`, as one JSON array in
/// order ("" when the topic cannot be read). Reads the instance's
/// partition of the topic to its end: the path of `history` for an
/// instance whose snapshot keeps only the tail.

/// The header of every record of `<cluster>.commands` that says what kind
/// of command it holds (`start`, `event`, `pause`, ...; command.hpp's
/// `kind_of`), for people and tools that read the topic.
inline constexpr std::string_view command_kind_header = "meshflow-command";

/// `(listening_atom) -> bool`: answered once every `listen_atom` sent
/// before it is in effect (the topics are read); false if one failed.
using listening_atom = caf::atom_constant<caf::atom("listening")>;

/// `(routed_atom, offsets)`: the events read before these offsets (of the
/// business topics) are routed, from the events reader to the router; the
/// router passes `(routed_atom, commands, offsets)` on to the engine and the
/// bus: the commands those events became, written in one transaction with
/// the offsets.
using routed_atom = caf::atom_constant<caf::atom("routed")>;

/// What the bus writes in one round.
struct bus_writes {
  /// The outputs of a batch of this partition of the commands, in this
  /// epoch of its ownership; -1: not a batch's (the admin's, the router's).
  std::int32_t partition = -1;
  std::uint64_t epoch = 0;
  /// To their instances' partitions of `<cluster>.commands`.
  std::vector<command> commands;
  /// To their channels, or `<cluster>.events`.
  std::vector<produced_event> events;
  /// Instance id -> snapshot, to `<cluster>.instances`.
  std::vector<std::pair<std::string, std::string>> snapshots;
  /// Instance id -> new history entries (a JSON array), to
  /// `<cluster>.history`.
  std::vector<std::pair<std::string, std::string>> history;
  /// Commands of this partition that cannot be applied, to
  /// `<cluster>.dlq` (dead_command).
  std::vector<dead_command> dead;
  /// Key (`id@version`) -> record value, to `<cluster>.definitions`.
  std::vector<std::pair<std::string, std::string>> definitions;
  /// The batch's commands are applied up to (not including) this offset
  /// (-1: none): committed with everything above.
  std::int64_t applied = -1;
  /// The business events routed up to these offsets: committed in the
  /// router's group with everything above.
  std::vector<transport::kafka_topic_partition> routed;
};

/// What the bus says of itself, for `meshflow status` (the bus may be
/// waiting in a retry when it is asked: it writes here, the admin reads).
struct bus_health {
  std::mutex lock;
  bool healthy = true;
  /// Why not, while not.
  std::string problem;
  /// The commands' partitions the node owns.
  std::set<std::int32_t> owned;
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
  /// The node's name: its producer's `transactional.id` is
  /// `<cluster>.<name>`.
  std::string name;
  /// The longest a transaction stays open while the bus is busy (it
  /// commits at once when idle): the bound on what a step waits for its
  /// outputs to be committed, against the cost of a commit per batch.
  std::chrono::milliseconds commit_interval{std::chrono::milliseconds{50}};
  /// Kept up to date by the bus.
  std::shared_ptr<bus_health> health = std::make_shared<bus_health>();
};

/// Spawns the bus on a thread of its own; it connects at once and fails
/// when a client cannot be made. It consumes commands once told
/// `(attach_atom)` (by the admin, when the definitions deployed before are
/// deployed again: a restored instance needs its version).
expected<caf::actor> spawn_bus(caf::actor_system& sys, bus_options options);

} // namespace meshflow::actors

// In process, between a node's actors.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(meshflow::actors::bus_writes)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<meshflow::transport::kafka_topic_partition>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(meshflow::actors::channel_operations)
