#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "meshflow/error.hpp"
#include "meshflow/transport/kafka_message.hpp"

/// meshflow's one Kafka client: small RAII wrappers over librdkafka's C++
/// API (rdkafka++), which this header does not expose.
///
/// Configuration is librdkafka's own property map (`bootstrap.servers`,
/// `group.id`, `enable.idempotence`, ...; see librdkafka's CONFIGURATION.md),
/// passed through untouched. Every failure is a `meshflow::error` with code
/// `errc::kafka` (librdkafka refused or reported something; its text is in
/// the message) or `errc::timeout`; nothing throws.
///
/// A moved-from client may only be destroyed or assigned to.
///
/// Neither class is thread-safe: each belongs to one owner (an actor), which
/// also receives the callbacks' effects through `poll`/`flush`. librdkafka's
/// log lines go to stderr, as librdkafka prints them by default.
namespace meshflow::transport {

/// librdkafka configuration properties.
using kafka_config = std::map<std::string, std::string>;

/// Sends records.
///
/// `produce` only queues a record; librdkafka sends it in the background and
/// reports its delivery later. A delivery failure (after librdkafka's own
/// retries) is collected and returned by the next `flush`, so that a caller
/// that produces and then flushes learns of every failure. `produce_sync`
/// waits for one record's delivery and reports it directly.
class kafka_producer {
 public:
  /// A producer configured with `config`; fails on an unknown property or a
  /// bad value, naming it.
  static expected<kafka_producer> create(const kafka_config& config);

  kafka_producer(kafka_producer&&) noexcept;
  kafka_producer& operator=(kafka_producer&&) noexcept;
  /// Waits up to 5 s for queued records, then drops what is left. Call
  /// `flush` first to know whether everything was delivered.
  ~kafka_producer();

  /// Queues `message` for `topic` (to `partition`, or where the partitioner
  /// puts its key). Fails at once when librdkafka cannot queue it (queue
  /// full, message too large, unknown partition, fatal producer error).
  expected<void> produce(const std::string& topic, const kafka_message& message,
                         std::optional<std::int32_t> partition = std::nullopt);

  /// Produces `message` and waits until the broker has it (or it failed, or
  /// `timeout` passed); returns where it was stored.
  expected<kafka_delivery> produce_sync(const std::string& topic,
                                        const kafka_message& message,
                                        std::chrono::milliseconds timeout,
                                        std::optional<std::int32_t> partition
                                        = std::nullopt);

  /// Waits until every queued record is delivered or failed. Fails with
  /// `errc::timeout` when records are still undelivered after `timeout`, else
  /// with `errc::kafka` when deliveries failed since the last `flush`
  /// (the message counts them and quotes the first).
  expected<void> flush(std::chrono::milliseconds timeout);

  /// Serves delivery reports, waiting at most `timeout` for one. A caller
  /// that produces for a long time without flushing calls this regularly.
  void poll(std::chrono::milliseconds timeout = std::chrono::milliseconds{0});

  /// Records produced whose delivery (or failure) is not reported yet; 0
  /// after a successful `flush`.
  std::size_t pending() const;

 private:
  struct impl;
  explicit kafka_producer(std::unique_ptr<impl> self);
  std::unique_ptr<impl> self_;
};

/// Reads records, as a member of a consumer group (`subscribe`, needs
/// `group.id`) or from partitions chosen by the caller (`assign`).
class kafka_consumer {
 public:
  /// A consumer configured with `config`; fails on an unknown property or
  /// a bad value, naming it.
  static expected<kafka_consumer> create(const kafka_config& config);

  kafka_consumer(kafka_consumer&&) noexcept;
  kafka_consumer& operator=(kafka_consumer&&) noexcept;
  /// Closes the consumer (leaving its group) if `close` was not called.
  ~kafka_consumer();

  /// Joins the consumer group for `topics`; partitions are assigned by the
  /// group and arrive with later `poll`s.
  expected<void> subscribe(const std::vector<std::string>& topics);

  /// Reads exactly these partitions, each from its `offset`
  /// (`kafka_offset_beginning`, `kafka_offset_end`, `kafka_offset_stored`
  /// or an absolute offset), replacing any previous assignment.
  expected<void> assign(const std::vector<kafka_topic_partition>& partitions);

  /// The partitions currently assigned, with their positions (the next
  /// offset to read, or `kafka_offset_invalid` when none was read yet).
  expected<std::vector<kafka_topic_partition>> assignment() const;

  /// Waits up to `timeout` for a record, then takes whatever else is already
  /// fetched, up to `max_records` in all. An empty result means nothing
  /// arrived in time. A consumer error is returned when no record came
  /// before it (else with the next `poll`); most are transient and a caller
  /// may keep polling.
  expected<std::vector<kafka_record>> poll(std::chrono::milliseconds timeout,
                                           std::size_t max_records = 1);

  /// Commits the current positions of all assigned partitions (waits).
  expected<void> commit();

  /// Commits these offsets (each the next offset to read) (waits).
  expected<void> commit(const std::vector<kafka_topic_partition>& offsets);

  /// Leaves the group and stops fetching; the consumer is unusable after.
  expected<void> close();

 private:
  struct impl;
  explicit kafka_consumer(std::unique_ptr<impl> self);
  std::unique_ptr<impl> self_;
};

} // namespace meshflow::transport
