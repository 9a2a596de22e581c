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
#include <string>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "meshflow/actors/command.hpp"

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

/// `(listen_atom, topics)`: the business topics to consume (all of them,
/// replacing the previous list).
using listen_atom = caf::atom_constant<caf::atom("listen")>;

} // namespace meshflow::actors
