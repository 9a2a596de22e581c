#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "meshflow/error.hpp"

namespace meshflow::transport {

/// A CloudEvents 1.0 event: its context attributes and its data.
///
/// A plain value: build it with designated initializers, compare it with
/// `==`, copy it freely. Nothing is checked on construction; `validate` (and
/// every encoder, which calls it) checks the rules of the specification.
/// Decoders (`json_format`, `kafka_binding`, `proto_format`) only ever return
/// events that pass `validate`.
///
/// Attribute values are kept in their canonical string form, whatever type
/// the format carried them as: an Integer extension `5` is `"5"`, a Boolean
/// `true` is `"true"`, a Timestamp is its RFC 3339 text. This is also the
/// form in which workflow correlation compares them.
///
/// (Every member has an initializer so that designated initializers may
/// leave members out without -Wmissing-field-initializers.)
struct cloud_event {
  /// Identifies the event; `source` + `id` is unique per distinct event.
  std::string id{};
  /// A URI-reference naming the context in which the event happened.
  std::string source{};
  /// The CloudEvents version; only `"1.0"` is valid.
  std::string specversion = "1.0";
  /// The kind of event, e.g. `com.example.order.created`.
  std::string type{};
  /// The media type of `data` (RFC 2046), e.g. `application/json`.
  std::optional<std::string> datacontenttype{};
  /// An absolute URI naming the schema `data` adheres to.
  std::optional<std::string> dataschema{};
  /// The subject of the event within the context of `source`.
  std::optional<std::string> subject{};
  /// When the event happened, as an RFC 3339 timestamp.
  std::optional<std::string> time{};
  /// Extension attributes by name (`partitionkey`, `workflowinstanceid`, ...).
  std::map<std::string, std::string> extensions{};
  /// The event payload as raw octets (any bytes, not necessarily text);
  /// absent when the event has no data, which differs from empty data.
  std::optional<std::string> data{};

  /// The value of any context attribute, core or extension, by name; absent
  /// when the event does not have it. The view points into this event.
  std::optional<std::string_view> attribute(std::string_view name) const;

  /// Sets any context attribute by name: a core attribute when `name` is
  /// one, else an extension. Fails, changing nothing, when `name` breaks the
  /// naming rules (see `validate_attribute_name`) or is `data`.
  expected<void> set_attribute(std::string_view name, std::string value);

  friend bool operator==(const cloud_event&, const cloud_event&) = default;
};

/// Checks `event` against CloudEvents 1.0: `id`, `source`, `type` present
/// and non-empty, `specversion` is `1.0`, `datacontenttype` a media type,
/// `dataschema` an absolute URI, `time` an RFC 3339 timestamp, extension
/// names valid and not reserved, every value valid Unicode text without
/// control characters. The error (code `errc::invalid_event`) names the
/// first attribute at fault.
expected<void> validate(const cloud_event& event);

/// Checks an attribute name: 1 to 20 characters, each a lowercase ASCII
/// letter or a digit. The error names the attribute and the rule.
expected<void> validate_attribute_name(std::string_view name);

/// True when `name` is one of the eight attributes CloudEvents 1.0 defines
/// (as opposed to an extension).
bool is_core_attribute(std::string_view name);

/// True when a `datacontenttype` declares JSON data: a media type `*/json`
/// or `*/*+json`, parameters ignored, case-insensitively. An absent content
/// type counts as JSON, as the JSON event format says.
bool is_json_media_type(std::optional<std::string_view> content_type);

} // namespace meshflow::transport
