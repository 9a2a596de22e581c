#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "meshflow/error.hpp"
#include "meshflow/transport/kafka_message.hpp"

namespace meshflow::transport {

class kafka_producer;

/// The headers a dead letter carries besides the poison record's own.
namespace dead_letter_header {
/// Why the record was refused: the error's message.
inline constexpr std::string_view reason = "meshflow-reason";
/// The error's code (`cloudevent`, ...), to filter by kind.
inline constexpr std::string_view code = "meshflow-code";
/// Where it was read: topic, partition and offset (decimal).
inline constexpr std::string_view topic = "meshflow-topic";
inline constexpr std::string_view partition = "meshflow-partition";
inline constexpr std::string_view offset = "meshflow-offset";
/// When it was refused, RFC 3339 in UTC with milliseconds.
inline constexpr std::string_view time = "meshflow-time";
} // namespace dead_letter_header

/// The dead letter for `poison`, refused for `why` at `when`: the original
/// key, value and headers, then the `dead_letter_header`s.
kafka_message dead_letter_of(const kafka_record& poison, const error& why,
                             std::chrono::system_clock::time_point when);

/// Where a node sends the records it cannot apply (DESIGN.md, principle 7):
/// the dead-letter topic of its cluster (`engine_topics::dlq.name`), and
/// how many records it sent there.
///
/// `send` only queues the dead letter with the caller's producer: inside
/// the caller's transaction when one is open, so that the poison record's
/// offset and its dead letter are committed together; its delivery is
/// reported like any other record's (`flush`, `commit_transaction`). The
/// key is the original key, so with several dlq partitions one key's dead
/// letters stay in order. One owner, like the producer.
class dead_letter_queue {
 public:
  explicit dead_letter_queue(std::string topic);

  /// Queues the dead letter of `poison`, refused for `why`, with `producer`.
  expected<void> send(kafka_producer& producer, const kafka_record& poison,
                      const error& why);

  /// The topic dead letters go to.
  const std::string& topic() const { return topic_; }

  /// Dead letters queued so far.
  std::uint64_t sent() const { return sent_; }

 private:
  std::string topic_;
  std::uint64_t sent_ = 0;
};

} // namespace meshflow::transport
