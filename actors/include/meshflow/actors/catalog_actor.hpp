#pragma once

// The catalog actor: a node's registry of the AsyncAPI documents that
// workflows bind to (DESIGN.md, "Actors": catalog), kept in the compacted
// topic `<cluster>.catalog`. The reading and the lookups are
// meshflow::catalog's (a pure library); this actor owns one
// `service_catalog` and the Kafka records behind it.
//
// How it works (src/catalog_actor.cpp):
//  1. `start_catalog` makes sure the topic exists (one partition,
//     compacted; `kafka_admin::ensure_topics`) unless its caller did, and
//     reads it from its first record to its end (`transport::read_to_end`)
//     unless it is known to be empty. A record is one
//     document: key the service id (the document's `id`, else its
//     `info.title`: catalog/README.md, "Service id"), value the JSON
//     `{"path": NAME, "text": TEXT}`; a later record of a key replaces an
//     earlier one, a tombstone (null value) removes it. The documents are
//     read again (`service_catalog::rebuild`); a record that is not such a
//     value, or a document that no longer reads, is skipped with a warning
//     in the log, never a failure. Then it spawns the actor, detached (its
//     producer's calls block), so a node that restarts finds the catalog as
//     it was.
//  2. `register` reads the document into a copy of the catalog; a broken
//     document is refused with its diagnostics and nothing changes. Else
//     the record is written and the broker's acknowledgement awaited
//     (`kafka_producer::produce_sync`); only then does the copy become the
//     catalog: a document the topic did not take is not registered.
//  3. Every catalog is an immutable snapshot (`catalog_snapshot`). The
//     actors that watch it (the admin) are sent each new one, `(catalog_atom,
//     catalog_snapshot)`, before the register is answered; the admin
//     resolves each deploy against the snapshot current when it began.
//
// Without Kafka (`catalog_settings::kafka` empty) the documents live in the
// actor only and nothing survives it: for tests of the actor itself (a node
// always gives it its cluster, the embedded one included).

#include <chrono>
#include <memory>

#include <caf/all.hpp>

#include "meshflow/actors/protocol.hpp"
#include "meshflow/catalog/service_catalog.hpp"
#include "meshflow/error.hpp"
#include "meshflow/transport/kafka_client.hpp"
#include "meshflow/transport/kafka_topics.hpp"

namespace meshflow::actors {

/// The catalog at one moment: immutable, shared by the deploys that read
/// it.
using catalog_snapshot = std::shared_ptr<const catalog::service_catalog>;

/// `(catalog_atom, watch_atom)`: the sender is sent the current snapshot,
/// then each new one, as `(catalog_atom, catalog_snapshot)`, while it
/// lives. In process only.
using watch_atom = caf::atom_constant<caf::atom("watch")>;

/// Where the catalog keeps its documents.
struct catalog_settings {
  /// librdkafka properties of the catalog's clients (`bootstrap.servers`
  /// at least); empty: no Kafka, the documents live in the actor only.
  transport::kafka_config kafka;
  /// The topic: `engine_topics::catalog` of the node's cluster
  /// (`<cluster>.catalog`, one partition, compacted).
  transport::kafka_topic_spec topic = transport::engine_topics::of()->catalog;
  /// The caller made sure the topic exists (`start_node` makes all the
  /// cluster's topics at once): it is not made again.
  bool topic_made = false;
  /// The topic holds nothing (a cluster just created, as the embedded
  /// one): it is not read.
  bool empty = false;
  /// How long creating, reading the topic and each write may take.
  std::chrono::milliseconds timeout{std::chrono::seconds{30}};
};

/// Starts the catalog actor: reads the topic to its end and rebuilds the
/// catalog (step 1 above), then spawns the actor. Blocks while it reads.
/// The error says what Kafka refused.
///
/// The actor answers, as protocol.hpp says (JSON text, errors
/// `{"error": {code, message}}`):
///   (catalog_atom, register_atom, path, text) -> {"services", "warnings"}
///   (catalog_atom, list_atom)                 -> the services
///   (catalog_atom, show_atom, service)        -> the service
/// and, in process, `(catalog_atom, get_atom)` -> the current
/// `catalog_snapshot`, and `(catalog_atom, watch_atom)` (above).
expected<caf::actor> start_catalog(caf::actor_system& sys, catalog_settings settings);

} // namespace meshflow::actors

// In process, from the catalog actor to its watchers.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(meshflow::actors::catalog_snapshot)
