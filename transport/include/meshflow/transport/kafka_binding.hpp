#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "meshflow/error.hpp"
#include "meshflow/transport/cloud_event.hpp"
#include "meshflow/transport/kafka_message.hpp"

/// The CloudEvents Kafka protocol binding (1.0): a `cloud_event` as a Kafka
/// message and back, without any Kafka client involved.
///
/// Binary content mode (meshflow's default for what it sends): every
/// attribute but `datacontenttype` is a header `ce_<name>` holding the UTF-8
/// text of its value; `datacontenttype` is the `content-type` header; the
/// value is the data as-is (no data: a null value). Structured content mode:
/// the value is the event in the JSON event format and `content-type` is
/// `application/cloudevents+json; charset=UTF-8`.
///
/// In both modes, the key is the `partitionkey` extension when the event has
/// one (the binding's opt-in key mapper), else the caller's default key
/// (`encode`), else null; the event itself is never changed by the mapping.
/// Decoding does not look at the key.
namespace meshflow::transport::kafka_binding {

enum class content_mode : std::uint8_t { binary, structured };

/// The message for `event`; fails when `event` is not valid.
///
/// `default_key` is the key when the event has no `partitionkey`: the
/// engine passes the instance id of the instance that sends the event, so
/// that one instance's events keep their order on a partitioned topic. An
/// event's own `partitionkey` always wins (its consumers chose it); without
/// either the key is null and the producer spreads the records.
expected<kafka_message> encode(const cloud_event& event,
                               content_mode mode = content_mode::binary,
                               std::optional<std::string_view> default_key = std::nullopt);

/// The event in `message`, in either content mode: structured when the
/// `content-type` header starts with `application/cloudevents`
/// (case-insensitively), binary otherwise. Fails, naming the header or
/// attribute, when the message is not a valid CloudEvent, uses an event
/// format other than JSON, or repeats a `ce_` header.
expected<cloud_event> decode(const kafka_message& message);

/// The content mode `message` uses, by the rule `decode` applies.
content_mode mode_of(const kafka_message& message);

/// The prefix of attribute headers in binary mode.
inline constexpr std::string_view header_prefix = "ce_";

/// The header carrying `datacontenttype` (binary) or the event format
/// (structured).
inline constexpr std::string_view content_type_header = "content-type";

} // namespace meshflow::transport::kafka_binding
