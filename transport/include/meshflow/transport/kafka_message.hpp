#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Plain values. Every member has an initializer so that designated
// initializers may leave members out without -Wmissing-field-initializers.

namespace meshflow::transport {

/// One Kafka record header. Kafka allows a header without a value (null),
/// which differs from an empty value.
struct kafka_header {
  std::string key{};
  std::optional<std::string> value{};

  friend bool operator==(const kafka_header&, const kafka_header&) = default;
};

/// What a producer sends and a consumer receives, apart from where it goes:
/// key, value and headers, all raw bytes. An absent value is a null value
/// (a tombstone on a compacted topic); an absent key lets the partitioner
/// choose.
struct kafka_message {
  std::optional<std::string> key{};
  std::optional<std::string> value{};
  /// In wire order; Kafka allows repeated keys.
  std::vector<kafka_header> headers{};

  /// The first header named `key`, or null.
  const kafka_header* header(std::string_view key) const {
    for (const auto& h : headers)
      if (h.key == key)
        return &h;
    return nullptr;
  }

  friend bool operator==(const kafka_message&, const kafka_message&) = default;
};

/// `kafka_topic_partition::offset` values with a special meaning.
inline constexpr std::int64_t kafka_offset_beginning = -2;
inline constexpr std::int64_t kafka_offset_end = -1;
inline constexpr std::int64_t kafka_offset_stored = -1000;
inline constexpr std::int64_t kafka_offset_invalid = -1001;

/// A partition of a topic, with an offset: where to start reading (`assign`)
/// or the next offset to read (`commit`, `assignment`).
struct kafka_topic_partition {
  std::string topic{};
  std::int32_t partition = 0;
  std::int64_t offset = kafka_offset_stored;

  friend bool operator==(const kafka_topic_partition&,
                         const kafka_topic_partition&) = default;
};

/// A record read from Kafka: the message and where it was stored.
struct kafka_record {
  std::string topic{};
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  /// Milliseconds since the epoch (create or log-append time), or -1.
  std::int64_t timestamp_ms = -1;
  kafka_message message{};
};

/// Where a produced record was stored.
struct kafka_delivery {
  std::string topic{};
  std::int32_t partition = 0;
  std::int64_t offset = 0;
};

/// A consumer's membership of its group at one moment: group id, generation
/// and member id, as librdkafka serializes them. `kafka_consumer::
/// group_metadata` hands it out; `kafka_producer::
/// send_offsets_to_transaction` sends it with the offsets so that the group
/// coordinator refuses offsets from a member of an older generation (a
/// zombie owner after a rebalance, KIP-447). Take a fresh one for each
/// transaction: it goes stale at the next rebalance.
struct kafka_group_metadata {
  std::string serialized{};

  friend bool operator==(const kafka_group_metadata&,
                         const kafka_group_metadata&) = default;
};

/// The offsets of a partition's first record (`low`) and the one after its
/// last (`high`, the high watermark; for a `read_committed` consumer, the
/// last stable offset).
struct kafka_watermarks {
  std::int64_t low = 0;
  std::int64_t high = 0;

  friend bool operator==(const kafka_watermarks&, const kafka_watermarks&) = default;
};

/// What `read_to_end` read: how many records, and the partition's end
/// offset when it got there (the next offset a reader would get).
struct kafka_read_summary {
  std::size_t records = 0;
  std::int64_t end_offset = 0;
};

} // namespace meshflow::transport
