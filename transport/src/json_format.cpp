#include "meshflow/transport/json_format.hpp"

#include <cstdint>
#include <limits>

#include <fmt/format.h>

#include "encoding.hpp"
#include "meshflow/utf8.hpp"
#include "meshflow/transport/errc.hpp"

namespace meshflow::transport::json_format {

namespace {

using nlohmann::json;

// Deeper JSON is refused: serializing it recurses, and no event needs it.
constexpr int max_depth = 256;

tl::unexpected<error> invalid(std::string message) {
  return fail(errc::invalid_event, std::move(message));
}

// Parses JSON text without throwing and without building anything nested
// deeper than `max_depth`.
expected<json> parse_json(std::string_view text) {
  bool too_deep = false;
  auto limit_depth = [&](int depth, json::parse_event_t, json&) {
    if (depth > max_depth)
      too_deep = true;
    return !too_deep;
  };
  try {
    json value = json::parse(text.begin(), text.end(), limit_depth);
    if (too_deep)
      return invalid(fmt::format("JSON nested deeper than {} levels", max_depth));
    return value;
  } catch (const json::parse_error& e) {
    // "[json.exception.parse_error.101] parse error at line 1, column 2: ..."
    std::string_view what = e.what();
    if (auto close = what.find("] "); close != std::string_view::npos)
      what.remove_prefix(close + 2);
    return invalid(fmt::format("invalid JSON: {}", what));
  }
}

std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// The text form of a JSON attribute value, as CloudEvents types map to JSON.
expected<std::optional<std::string>> attribute_text(const std::string& name,
                                                    const json& value) {
  auto wrong = [&](std::string_view what) {
    return invalid(fmt::format("attribute \"{}\": {}", name, what));
  };
  switch (value.type()) {
    case json::value_t::null:
      return std::nullopt;
    case json::value_t::string:
      return value.get<std::string>();
    case json::value_t::boolean:
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      if (is_core_attribute(name))
        return wrong(fmt::format("expected a string, got {}", dump(value)));
      if (value.is_boolean())
        return std::string(value.get<bool>() ? "true" : "false");
      if (value.is_number_unsigned()
            ? value.get<std::uint64_t>()
                > static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max())
            : (value.get<std::int64_t>() < std::numeric_limits<std::int32_t>::min()
               || value.get<std::int64_t>() > std::numeric_limits<std::int32_t>::max()))
        return wrong(fmt::format("the integer {} is out of the CloudEvents Integer "
                                 "range (32 bits)",
                                 dump(value)));
      return dump(value);
    case json::value_t::number_float:
      return wrong(fmt::format("the number {} is not an integer; CloudEvents "
                               "attributes hold strings, integers or booleans",
                               dump(value)));
    default:
      return wrong(fmt::format("a JSON {} is not a CloudEvents attribute value; "
                               "use a string",
                               value.type_name()));
  }
}

} // namespace

expected<cloud_event> decode(const json& value) {
  if (!value.is_object())
    return invalid(fmt::format("expected a CloudEvent as a JSON object, got {}",
                               value.type_name()));
  cloud_event event;
  event.specversion.clear(); // must come from the input
  const json* data = nullptr;
  const json* data_base64 = nullptr;
  for (const auto& [name, member] : value.items()) {
    if (name == "data") {
      data = &member;
      continue;
    }
    if (name == "data_base64") {
      data_base64 = &member;
      continue;
    }
    auto text = attribute_text(name, member);
    if (!text)
      return tl::unexpected(text.error());
    if (!*text)
      continue; // null: unset
    if (auto ok = event.set_attribute(name, std::move(**text)); !ok)
      return tl::unexpected(ok.error());
  }
  if (data && data_base64 && !data_base64->is_null())
    return invalid("an event has both \"data\" and \"data_base64\"; keep one");
  if (data_base64 && !data_base64->is_null()) {
    if (!data_base64->is_string())
      return invalid(fmt::format("\"data_base64\": expected a base64 string, got {}",
                                 data_base64->type_name()));
    auto bytes = detail::base64_decode(data_base64->get_ref<const std::string&>());
    if (!bytes)
      return invalid("\"data_base64\": not valid base64 (RFC 4648, standard "
                     "alphabet)");
    event.data = std::move(*bytes);
  } else if (data) {
    if (is_json_media_type(event.datacontenttype)) {
      event.data = dump(*data);
      if (!event.datacontenttype)
        event.datacontenttype = "application/json";
    } else if (data->is_string()) {
      event.data = data->get<std::string>();
    } else {
      return invalid(fmt::format("\"data\": datacontenttype {} is not JSON, so "
                                 "\"data\" must be a string (or use "
                                 "\"data_base64\"), got a JSON {}",
                                 detail::quote(*event.datacontenttype),
                                 data->type_name()));
    }
  }
  if (auto ok = validate(event); !ok)
    return tl::unexpected(ok.error());
  return event;
}

expected<json> encode(const cloud_event& event) {
  if (auto ok = validate(event); !ok)
    return tl::unexpected(ok.error());
  json out = json::object();
  out["specversion"] = event.specversion;
  out["id"] = event.id;
  out["source"] = event.source;
  out["type"] = event.type;
  for (auto [name, value] : {std::pair{"datacontenttype", &event.datacontenttype},
                             std::pair{"dataschema", &event.dataschema},
                             std::pair{"subject", &event.subject},
                             std::pair{"time", &event.time}})
    if (*value)
      out[name] = **value;
  for (const auto& [name, value] : event.extensions)
    out[name] = value;
  if (event.data) {
    const std::string& bytes = *event.data;
    if (is_json_media_type(event.datacontenttype)) {
      if (auto parsed = parse_json(bytes)) {
        out["data"] = std::move(*parsed);
        return out;
      }
    } else if (detail::is_text_media_type(*event.datacontenttype)
               && utf8::is_valid(bytes)) {
      out["data"] = bytes;
      return out;
    }
    out["data_base64"] = detail::base64_encode(bytes);
  }
  return out;
}

expected<cloud_event> parse(std::string_view text) {
  auto value = parse_json(text);
  if (!value)
    return tl::unexpected(value.error());
  return decode(*value);
}

expected<std::vector<cloud_event>> parse_events(std::string_view text) {
  auto value = parse_json(text);
  if (!value)
    return tl::unexpected(value.error());
  std::vector<cloud_event> events;
  if (value->is_object()) {
    auto event = decode(*value);
    if (!event)
      return tl::unexpected(event.error());
    events.push_back(std::move(*event));
    return events;
  }
  if (!value->is_array())
    return invalid(fmt::format("expected a CloudEvent (a JSON object) or an array "
                               "of them, got {}",
                               value->type_name()));
  events.reserve(value->size());
  for (std::size_t i = 0; i < value->size(); ++i) {
    auto event = decode((*value)[i]);
    if (!event)
      return invalid(fmt::format("[{}]: {}", i, event.error().message));
    events.push_back(std::move(*event));
  }
  return events;
}

expected<std::string> serialize(const cloud_event& event) {
  auto value = encode(event);
  if (!value)
    return tl::unexpected(value.error());
  return dump(*value);
}

} // namespace meshflow::transport::json_format
