#pragma once

#include <string>
#include <string_view>

#include "meshflow/error.hpp"
#include "meshflow/proto/cloudevent.pb.h"
#include "meshflow/transport/cloud_event.hpp"

/// The CloudEvents Protobuf event format: a `cloud_event` as the
/// `io.cloudevents.v1.CloudEvent` message of `transport/proto/cloudevent.proto`
/// and back. Instance snapshots keep their pending events in this form (the
/// snapshot schemas import `cloudevent.proto`).
///
/// Encoding: `dataschema` is a `ce_uri`, `time` a `ce_timestamp` (a
/// `ce_string` if the timestamp is outside what protobuf can hold),
/// `datacontenttype`, `subject` and extensions `ce_string`s. Data of a text
/// content type (`text/*`, JSON, XML, or with a `charset`) that are valid
/// UTF-8 go to `text_data`, all other data to `binary_data`.
///
/// Decoding accepts every attribute type and keeps the text of the value
/// (`ce_boolean` -> `"true"`, `ce_integer` -> decimal, `ce_bytes` -> base64,
/// `ce_timestamp` -> RFC 3339 in UTC). `proto_data` becomes the bytes of the
/// packed message, with `datacontenttype` `application/protobuf` when the
/// event has none; its type URL is not kept.
///
/// Round trips are exact except that a `time` with a zone offset comes back
/// in UTC (the same instant) and fractional seconds are written with 0, 3, 6
/// or 9 digits.
namespace meshflow::transport::proto_format {

/// The media type of one event in this format.
inline constexpr std::string_view media_type = "application/cloudevents+protobuf";

/// The message for `event`; fails when `event` is not valid.
expected<io::cloudevents::v1::CloudEvent> encode(const cloud_event& event);

/// The event in `message`; fails, naming the attribute, when it is not a
/// valid CloudEvent.
expected<cloud_event> decode(const io::cloudevents::v1::CloudEvent& message);

/// `event` as serialized protobuf bytes.
expected<std::string> serialize(const cloud_event& event);

/// The event in serialized protobuf bytes.
expected<cloud_event> parse(std::string_view bytes);

} // namespace meshflow::transport::proto_format
