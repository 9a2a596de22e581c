#pragma once

#include <memory>
#include <string>

#include "meshflow/error.hpp"

namespace meshflow::transport {

/// An in-process Kafka cluster: librdkafka's mock cluster, the broker of
/// meshflow's embedded default (DESIGN.md, "Embedded default"). It listens
/// on loopback ports of this process and speaks enough of the Kafka
/// protocol that `kafka_producer`, `kafka_consumer` and `kafka_admin`
/// work against `bootstrap_servers()` unchanged. Everything it holds is in
/// memory and gone with it: nothing is durable in this mode.
///
/// What librdkafka 2.0's mock does, as the scenarios of
/// tests/transport/kafka_scenarios.hpp find it (they run on the mock and on
/// a real broker, and check each one's behaviour where they differ):
///
/// - Like Kafka: produce (idempotent, compressed, keyed, with headers),
///   fetch, consumer groups with the cooperative-sticky assignor and
///   incremental rebalances, offset commits and `committed`, pause/resume,
///   seek, watermarks, `read_to_end`, transactions that commit.
/// - Not in the mock, hidden by `kafka_admin`: CreateTopics (the admin
///   creates topics in the mock directly, and refuses a replication factor
///   above `brokers()` as a broker would) and DescribeConfigs (an existing
///   topic's cleanup policy is not checked).
/// - Unlike Kafka, not hidden: topic configs are not kept (nothing is
///   compacted or expires); topics are created on first use, with 4
///   partitions; the mock writes no transaction markers and has no last
///   stable offset, so aborted records and those of an open transaction are
///   read even by `read_committed` consumers; offsets sent with
///   `send_offsets_to_transaction` are accepted but not stored (commit them
///   with `kafka_consumer::commit` too); a newer producer with the same
///   `transactional.id` does not fence the older one, and offsets of an
///   older group generation are accepted. Exactly-once, fencing and
///   durability hold only on a real broker.
/// - A consumer group's first rebalance waits 3 s; a later one waits up to
///   the session timeout less 1 s for the members to rejoin.
///
/// One owner; the cluster must outlive the clients that use it (they see
/// connections refused afterwards).
class embedded_cluster {
 public:
  /// Starts a cluster of `brokers` brokers (1 to 16).
  static expected<embedded_cluster> start(int brokers = 1);

  embedded_cluster(embedded_cluster&&) noexcept;
  embedded_cluster& operator=(embedded_cluster&&) noexcept;
  /// Stops the brokers; its data is gone.
  ~embedded_cluster();

  /// `host:port,...` of its brokers: the clients' `bootstrap.servers`.
  const std::string& bootstrap_servers() const;

  /// How many brokers it has.
  int brokers() const;

 private:
  struct impl;
  explicit embedded_cluster(std::unique_ptr<impl> self);
  std::unique_ptr<impl> self_;
};

} // namespace meshflow::transport
