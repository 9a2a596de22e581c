#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "meshflow/error.hpp"
#include "meshflow/transport/kafka_client.hpp"
#include "meshflow/transport/kafka_topics.hpp"

namespace meshflow::transport {

/// Creates and describes topics, on a real Kafka cluster (librdkafka's
/// admin API: CreateTopics, DescribeConfigs, metadata) or on an
/// `embedded_cluster` of this process (whose mock broker has no
/// CreateTopics: the topics are created in the mock directly). Which one is
/// decided at `create` by `bootstrap.servers`; the calls behave the same,
/// except that the mock keeps no topic configs (see `embedded_cluster`).
///
/// Belongs to one owner, like the other clients; errors are `errc::kafka`
/// (naming the topic and quoting the broker), `errc::timeout`,
/// `errc::arguments`.
class kafka_admin {
 public:
  /// An admin client for the cluster at `config`'s `bootstrap.servers`
  /// (other properties, e.g. security, are passed to librdkafka).
  static expected<kafka_admin> create(const kafka_config& config);

  kafka_admin(kafka_admin&&) noexcept;
  kafka_admin& operator=(kafka_admin&&) noexcept;
  ~kafka_admin();

  /// Makes each topic exist as specified, idempotently: a missing topic is
  /// created with its partitions, replication factor and configs; an
  /// existing one is fine when it has the same partition count and (on a
  /// real cluster) the same `cleanup.policy`, when the spec names one. Fails
  /// with every topic that is not as specified, each named with the reason:
  /// another partition count or cleanup policy, or the broker's refusal
  /// (e.g. a replication factor above the number of brokers). How the
  /// engine's topics (`engine_topics::all()`) and the business topics of
  /// AsyncAPI channels are made.
  expected<void> ensure_topics(const std::vector<kafka_topic_spec>& topics,
                               std::chrono::milliseconds timeout);

  /// The partition count of `topic`, or nothing when it does not exist.
  /// Never creates it.
  expected<std::optional<std::int32_t>> partition_count(const std::string& topic,
                                                        std::chrono::milliseconds timeout);

  /// Whether this client talks to an `embedded_cluster` of this process.
  bool embedded() const;

 private:
  struct impl;
  explicit kafka_admin(std::unique_ptr<impl> self);
  std::unique_ptr<impl> self_;
};

} // namespace meshflow::transport
