#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "meshflow/error.hpp"
#include "meshflow/transport/cloud_event.hpp"

/// The CloudEvents JSON event format (`application/cloudevents+json`): the
/// structured content mode of the Kafka binding, `meshflow run --event`, and
/// anywhere a person writes an event by hand.
///
/// Decoding follows the format's rules for `data`: with a JSON content type
/// (or none, which means `application/json`) `data` is a JSON value and the
/// event's data are its compact serialization, and an event without
/// `datacontenttype` gets `application/json` explicitly, so that it keeps its
/// meaning in other formats; with another content type `data` must be a
/// string; `data_base64` carries bytes. Attribute values that are JSON
/// booleans or integers (allowed for extensions) become their text. A `null`
/// attribute counts as absent.
///
/// Encoding writes JSON data as a JSON value, text data (`text/*`, XML, or a
/// `charset`) that is valid UTF-8 as a string, and everything else, including
/// data that do not parse under a JSON content type, as `data_base64`, so no
/// byte is lost.
namespace meshflow::transport::json_format {

/// The media type of one event in this format.
inline constexpr std::string_view media_type = "application/cloudevents+json";

/// The media type of a JSON array of events (the JSON batch format).
inline constexpr std::string_view batch_media_type =
  "application/cloudevents-batch+json";

/// Reads one event from a JSON object.
expected<cloud_event> decode(const nlohmann::json& value);

/// The JSON object for `event`; fails when `event` is not valid.
expected<nlohmann::json> encode(const cloud_event& event);

/// Parses JSON text holding one event (a JSON object).
expected<cloud_event> parse(std::string_view text);

/// Parses JSON text holding one event or a JSON array of events (as
/// `meshflow run --event @FILE` accepts). An error in an element names its
/// index: `[2]: attribute "id": ...`.
expected<std::vector<cloud_event>> parse_events(std::string_view text);

/// `event` as compact JSON text; fails when `event` is not valid.
expected<std::string> serialize(const cloud_event& event);

} // namespace meshflow::transport::json_format
