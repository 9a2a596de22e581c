#pragma once

// How `kafka_admin` finds an `embedded_cluster` of this process by its
// bootstrap servers (embedded_cluster.cpp keeps the registry), so that the
// same admin calls work on the mock, which has no CreateTopics.

#include <string>

#include "meshflow/error.hpp"
#include "meshflow/transport/kafka_topics.hpp"

namespace meshflow::transport::detail {

/// Whether `bootstrap_servers` are those of a live embedded cluster.
bool is_embedded(const std::string& bootstrap_servers);

/// Creates `spec` in the embedded cluster at `bootstrap_servers`: true when
/// created, false when it existed already (its partitions are not checked
/// here). Fails on a replication factor above the cluster's brokers, or when
/// the cluster is gone.
expected<bool> create_embedded_topic(const std::string& bootstrap_servers,
                                     const kafka_topic_spec& spec);

} // namespace meshflow::transport::detail
