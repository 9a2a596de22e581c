#pragma once

// The engine: the node's loop between the commands and the partitions that
// own their instances (partition.hpp).
//
//  1. Commands come from the admin (starts, pause, ...), the router (events)
//     and the partitions themselves (timers, subflows, continueAs):
//     `(dispatch_atom, commands)`. Each belongs to the partition of its
//     instance id (`partition_of`).
//  2. The engine sends each partition its commands as one batch
//     (`apply_atom`), one batch per partition at a time, and collects the
//     partition's output when the batch is applied: commands, which go
//     round again, and produced events, which go to the node's listener and
//     to the router (so that instances consuming them receive them).
//  3. A partition with output between batches says so (`dirty_atom`); the
//     engine collects it with an empty batch.

#include <cstdint>
#include <vector>

#include <caf/all.hpp>

#include "meshflow/actors/partition.hpp"

namespace meshflow::actors {

using attach_atom = caf::atom_constant<caf::atom("attach")>;

/// Spawns the engine. It starts working once attached:
///   (attach_atom, std::vector<caf::actor> partitions, router)
///   (dispatch_atom, std::vector<command>)
///   (dirty_atom, partition index)
/// `event_listener`, if any, is told `(produced_atom, instance_id,
/// cloudevent_json)` of every event an instance produces.
caf::actor spawn_engine(caf::actor_system& sys, caf::actor event_listener);

} // namespace meshflow::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<caf::actor>)
