#pragma once

// The engine: the node's loop between the commands on Kafka and the
// partitions that own their instances (partition.hpp).
//
//  1. Commands to write come from the admin (starts, pause, ...), the
//     router (events) and the partitions themselves (timers, subflows,
//     continueAs): `(dispatch_atom, commands)`, or from the router with the
//     offsets of the events they came of, `(routed_atom, commands,
//     offsets)`. The engine hands them to the bus (bus.hpp), which writes
//     each to its instance's partition of `<cluster>.commands`
//     (`partition_of`): nothing reaches an instance but through Kafka.
//  2. The bus tells which partitions the node owns: `(restore_atom,
//     partition, epoch, snapshots)` (the partition actor restores its
//     instances from them) and `(revoke_atom, partition)`.
//  3. The bus reads the commands of owned partitions back: `(consumed_atom,
//     partition, commands, next_offset)`. The engine sends each partition
//     its commands as one batch (`apply_atom`), one batch per partition at
//     a time, and collects the partition's output when the batch is
//     applied: commands, produced events, the snapshots that changed and
//     history entries, which it gives the bus to write in its open
//     transaction, with the offset the partition's commands are applied up
//     to and the epoch the batch was applied in (the bus drops the output
//     of an epoch that is over). Produced events also go to the node's
//     listener.
//  4. A partition with output between batches says so (`dirty_atom`); the
//     engine collects it with an empty batch.

#include <cstdint>
#include <vector>

#include <caf/all.hpp>

#include "meshflow/actors/partition.hpp"

namespace meshflow::actors {

using attach_atom = caf::atom_constant<caf::atom("attach")>;

/// Spawns the engine. It starts working once attached:
///   (attach_atom, std::vector<caf::actor> partitions, bus)
///   (dispatch_atom, std::vector<command>)
///   (consumed_atom, partition, std::vector<command>, next_offset)
///   (dirty_atom, partition index)
///   (unwritten_atom, instance_id, request_id, error_json)   from the bus
///   (routed_atom, commands, offsets)   from the router, to the bus
///   (restore_atom, partition, epoch, snapshots), (revoke_atom, partition)
///                            from the bus
/// `event_listener`, if any, is told `(produced_atom, instance_id,
/// cloudevent_json)` of every event an instance produces.
caf::actor spawn_engine(caf::actor_system& sys, caf::actor event_listener);

} // namespace meshflow::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<caf::actor>)
