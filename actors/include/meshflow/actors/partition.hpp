#pragma once

// A partition actor owns the instances of one partition of the commands
// (DESIGN.md, principles 1, 2 and 4): it applies their commands in order,
// keeps them parked or animated, arms their timers and collects what they
// ask of the world. The engine (engine.hpp) feeds it and writes what it
// collects.
//
// How a batch of commands is applied:
//  1. The engine sends `(apply_atom, commands)` as a request. For each
//     command the partition finds its instance: a live instance actor
//     (instance_actor.hpp), or a parked one woken from its snapshot (a new
//     actor), or, for a start, a new instance. It sends the command to the
//     instance actor as a request; commands for one instance stay in order
//     (one mailbox), those for different instances run side by side.
//  2. The instance actor applies the command with its machine and answers
//     with an `instance_report`: its snapshot now, its status, whether it
//     is idle (nothing in flight), and the answer for the admin request that
//     the command carries (`command::request_id`), if any. Before that it has
//     sent the partition what its machine asked for: timers to arm, events
//     produced, commands for other instances (a subflow's start, a parent's
//     child_done, a continueAs, a cancel for an async child).
//  3. Once every command of the batch is answered, the partition answers the
//     engine with a `partition_output`: the commands and events to write,
//     and the snapshots that changed. Between batches, instances whose calls
//     or timers complete report too (`update_atom`); what they ask for waits
//     in the partition, which tells the engine once (`dirty_atom`) so that
//     the engine collects it with its next (possibly empty) batch.
//
// Ended instances: an instance that ended stays in memory, as its final
// snapshot, among the `keep_ended` most recent; an older one is dropped,
// and a query for it (`get`, `history`, `wait`) reads its final snapshot
// from `<cluster>.instances` (the bus's archive), up to `retention` after
// its end. `ls` lists the instances in memory: the live ones and the
// recently ended.
//
// Parking: an instance that reports itself idle, with no command on its way
// to its actor, lives as its snapshot: the partition tells the actor to go
// (`park_atom`) and forgets it; the next command wakes a new actor from the
// snapshot. `get` and `history` are answered from the latest snapshot, live
// or parked, without waking anything.
//
// Ownership: a partition actor holds instances only while the node owns
// its partition (bus.hpp). `(restore_atom, snapshots)` replaces whatever it
// held with the instances of the last committed snapshots: the ended ones
// are kept as such; the others get an actor, which arms their timers again
// from the deadlines in the snapshot (a deadline that passed while no node
// owned them fires at once) and calls again the functions that were in
// flight (at least once, as REST calls are; an `asyncapi` function's event
// was not committed either), then parks. `(revoke_atom)` drops them all;
// the admin requests waiting for a command of theirs are answered with
// error `moved`.
//
// Timers: the partition's timer wheel holds every armed deadline of its
// instances (parked ones included); a deadline that passes becomes a timer
// command, written like any other (DESIGN.md: nothing reaches an instance
// by a side door).
//
// An instance actor that dies without ending or parking (an exception, a
// bug) leaves its instance FAULTED with code `crash`, as its last snapshot
// left it; `retry` carries on from there.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "meshflow/actors/command.hpp"
#include "meshflow/actors/deployment.hpp"
#include "meshflow/actors/machine.hpp"
#include "meshflow/actors/protocol.hpp"
#include "meshflow/transport/cloud_event.hpp"

namespace meshflow::actors {

using apply_atom = caf::atom_constant<caf::atom("apply")>;
using await_atom = caf::atom_constant<caf::atom("await")>;
using deployed_atom = caf::atom_constant<caf::atom("deployed")>;
using update_atom = caf::atom_constant<caf::atom("update")>;
using arm_atom = caf::atom_constant<caf::atom("arm")>;
using park_atom = caf::atom_constant<caf::atom("park")>;
using emit_atom = caf::atom_constant<caf::atom("emit")>;
using dirty_atom = caf::atom_constant<caf::atom("dirty")>;
/// `(unwritten_atom, command)`: the bus could not write this command; the
/// request it carries, if any, is answered with the reason.
using unwritten_atom = caf::atom_constant<caf::atom("unwritten")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using track_atom = caf::atom_constant<caf::atom("track")>;

/// An event an instance produced, for the bus to publish.
struct produced_event {
  std::string instance_id;
  /// The channel (Kafka topic) its definition is bound to; "" none: it goes
  /// to the cluster's `events` topic.
  std::string channel;
  transport::cloud_event event;
};

/// What a partition has for the engine to write after a batch.
struct partition_output {
  std::vector<command> commands;
  std::vector<produced_event> events;
  /// Instance id -> its snapshot, for each instance that changed.
  std::vector<std::pair<std::string, std::string>> snapshots;
  /// Instance id -> its new history entries (a JSON array), in order.
  std::vector<std::pair<std::string, std::string>> history;
  /// The batch's commands that cannot be applied.
  std::vector<dead_command> dead;
};

/// What an instance actor tells its partition after each message.
struct instance_report {
  std::string id;
  std::string snapshot;
  instance_status status = instance_status::running;
  /// Nothing in flight: the instance may be parked.
  bool idle = false;
  /// The instance's correlation values (the router's index).
  std::string correlation;
  /// Its history entries since the last report, as a JSON array ("" none).
  std::string history;
  /// For the admin request the command carried: the instance as `get`
  /// shows it after the command, or `{"error": ...}` when it refused it.
  std::string answer;
};

/// Where an instance stands for the router's correlation index
/// (router.hpp): `(track_atom, instance_track)`.
struct instance_track {
  std::string id;
  std::string workflow_id;
  std::string version;
  /// Its recorded correlation values, `name=value;` each, in the order
  /// recorded.
  std::string correlation;
  /// False once it ended: it is dropped from the index.
  bool live = true;
};

/// What every partition of a node shares.
struct partition_options {
  std::uint32_t index = 0;
  deployments deployed;
  machine_limits limits;
  /// Told `(dirty_atom, index)` when outputs wait between batches.
  caf::actor engine;
  /// Told `(track_atom, instance_track)` when an instance's correlation
  /// changes or it ends.
  caf::actor router;
  /// Asked `(archive_atom, id)` for an instance the partition does not hold.
  caf::actor bus;
  /// Ended instances held in memory, the most recent ones; the others are
  /// read from `<cluster>.instances` when asked for.
  std::size_t keep_ended = 1000;
  /// How long after its end an instance can still be asked for.
  std::chrono::milliseconds retention{std::chrono::hours{24 * 7}};
};

/// Spawns a partition actor. Protocol, besides the batch above (every
/// answer a std::string of the admin's protocol, protocol.hpp):
///   (await_atom, request_id)       -> the answer of the command carrying
///                                     that request id, once it is applied
///   (get_atom, id), (history_atom, id), (wait_atom, id)
///   (list_atom, workflow, status)  -> JSON array of {id, workflowId,
///                                     version, status}
///   (deployed_atom, deployments)   the node's versions changed
///   (unwritten_atom, request_id, error_json)   a command carrying that
///                                     request could not be written
///   (restore_atom, partition_snapshots), (revoke_atom)   ownership
caf::actor spawn_partition(caf::actor_system& sys, partition_options options);

} // namespace meshflow::actors

// In process, between a node's actors.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(meshflow::actors::partition_output)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(meshflow::actors::instance_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(meshflow::actors::instance_track)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(meshflow::actors::produced_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<meshflow::actors::command>)
