#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "meshflow/error.hpp"

/// The Kafka topics of a meshflow cluster (DESIGN.md, "Kafka topics"), as
/// values: what `kafka_admin::ensure_topics` creates or checks.
namespace meshflow::transport {

/// A topic as it should be: name, partition count, replication factor, and
/// the topic configs to create it with (`cleanup.policy`, `retention.ms`,
/// `min.insync.replicas`, ... as Kafka names them).
struct kafka_topic_spec {
  std::string name{};
  std::int32_t partitions = 1;
  std::int16_t replication_factor = 1;
  std::map<std::string, std::string> configs{};

  friend bool operator==(const kafka_topic_spec&, const kafka_topic_spec&) = default;
};

/// The settings the engine's topics are made from.
struct engine_topic_settings {
  /// The cluster's name: every topic is `<cluster>.<role>`. Letters, digits,
  /// `.`, `_` and `-` (what Kafka allows in topic names).
  std::string cluster = "meshflow";

  /// P, the partition count of commands, instances and history: the unit of
  /// ownership and of parallelism. It cannot change once instances exist
  /// (an instance's partition is its key's hash modulo P), so it is chosen
  /// with headroom: 24 spreads evenly over 1, 2, 3, 4, 6, 8, 12 or 24 nodes
  /// (8 each on the three of the cluster step), gives a single node more
  /// partitions than cores to keep busy, and costs little (3 x 24 partitions
  /// on the broker; one partition carries far more than the 2,000
  /// instances/s of the benchmark target, so the count is set by spread,
  /// not by throughput).
  std::int32_t partitions = 24;

  /// Replicas of every partition: 1 for a single broker; 3 for a cluster
  /// that survives the loss of a broker. With more than 1, the topics get
  /// `min.insync.replicas` = a majority of the replicas (2 of 3).
  std::int16_t replication_factor = 1;

  /// Partitions of the dead-letter topic. Poison records are rare and read
  /// by people: 1 keeps them in one order.
  std::int32_t dlq_partitions = 1;

  /// How long commands are kept: longer than the longest outage the cluster
  /// must survive (a command deleted before it was consumed is lost).
  std::chrono::milliseconds commands_retention = std::chrono::hours{24 * 7};

  /// How long history entries are kept (7 days, Kafka's default retention).
  std::chrono::milliseconds history_retention = std::chrono::hours{24 * 7};

  /// How long poison records are kept: long enough for someone to look
  /// (30 days).
  std::chrono::milliseconds dlq_retention = std::chrono::hours{24 * 30};
};

/// The engine's topics of one cluster.
///
/// | topic | partitions | configs |
/// | --- | --- | --- |
/// | `definitions` | 1 | `cleanup.policy=compact` |
/// | `catalog` | 1 | `cleanup.policy=compact` |
/// | `commands` | P | `cleanup.policy=delete`, `retention.ms` = commands_retention |
/// | `instances` | P | `cleanup.policy=compact` |
/// | `history` | P | `cleanup.policy=delete`, `retention.ms` = history_retention |
/// | `events` | P | `cleanup.policy=delete`, `retention.ms` = history_retention |
/// | `dlq` | dlq_partitions | `cleanup.policy=delete`, `retention.ms` = dlq_retention |
///
/// and `min.insync.replicas` on each when the replication factor is above 1.
struct engine_topics {
  kafka_topic_spec definitions{};
  kafka_topic_spec catalog{};
  kafka_topic_spec commands{};
  kafka_topic_spec instances{};
  kafka_topic_spec history{};
  /// Events instances produce that no definition binds to a channel (an
  /// AsyncAPI operation): the router reads them as it reads the business
  /// topics, so that such events still reach the instances consuming them.
  kafka_topic_spec events{};
  kafka_topic_spec dlq{};

  /// The topics for `settings`; fails (`arguments`) on a cluster name Kafka
  /// would refuse in a topic name, or counts below 1.
  static expected<engine_topics> of(const engine_topic_settings& settings = {});

  /// All seven, in the order of the table.
  std::vector<kafka_topic_spec> all() const;
};

/// The partition, of `partitions`, that the engine's producer puts a record
/// keyed `key` in: murmur2 of the key's bytes, as the Java client's default
/// partitioner and librdkafka's `murmur2_random` compute it (which is why
/// `engine_producer_config` sets that partitioner). How a node finds the
/// owner of an instance id without asking Kafka. `partitions` must be >= 1.
std::int32_t partition_for_key(std::string_view key, std::int32_t partitions);

} // namespace meshflow::transport
