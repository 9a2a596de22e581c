#include "meshflow/transport/kafka_binding.hpp"

#include <set>

#include <fmt/format.h>

#include "encoding.hpp"
#include "meshflow/transport/errc.hpp"
#include "meshflow/transport/json_format.hpp"

namespace meshflow::transport::kafka_binding {

namespace {

constexpr std::string_view structured_content_type =
  "application/cloudevents+json; charset=UTF-8";

tl::unexpected<error> invalid(std::string message) {
  return fail(errc::invalid_event, std::move(message));
}

bool is_content_type(std::string_view key) {
  return detail::lowercase(key) == content_type_header;
}

// The `content-type` header, or null; an error when there are several.
expected<const kafka_header*> content_type_of(const kafka_message& message) {
  const kafka_header* found = nullptr;
  for (const auto& h : message.headers) {
    if (!is_content_type(h.key))
      continue;
    if (found)
      return invalid("the message has more than one content-type header");
    found = &h;
  }
  return found;
}

bool is_cloudevents_media_type(std::string_view content_type) {
  return detail::lowercase(content_type).starts_with("application/cloudevents");
}

std::optional<std::string> key_of(const cloud_event& event) {
  if (auto i = event.extensions.find("partitionkey"); i != event.extensions.end())
    return i->second;
  return std::nullopt;
}

expected<cloud_event> decode_structured(const kafka_message& message,
                                        std::string_view content_type) {
  std::string essence = detail::media_type_essence(content_type);
  if (essence == json_format::batch_media_type)
    return invalid("structured-mode message: the Kafka binding has no batch mode "
                   "(content-type application/cloudevents-batch+json)");
  if (essence != json_format::media_type)
    return invalid(fmt::format("structured-mode message: event format {} is not "
                               "supported (only application/cloudevents+json)",
                               detail::quote(content_type)));
  if (!message.value)
    return invalid("structured-mode message: the value is null, it should hold the "
                   "event as JSON");
  auto event = json_format::parse(*message.value);
  if (!event)
    return invalid(fmt::format("structured-mode message: {}", event.error().message));
  return event;
}

expected<cloud_event> decode_binary(const kafka_message& message,
                                    const kafka_header* content_type) {
  if (!message.header("ce_specversion"))
    return invalid("not a CloudEvent: the message has no ce_specversion header "
                   "(binary mode) and its content-type is not "
                   "application/cloudevents+json (structured mode)");
  cloud_event event;
  std::set<std::string_view> seen;
  for (const auto& h : message.headers) {
    std::string_view key = h.key;
    if (!key.starts_with(header_prefix))
      continue;
    std::string_view name = key.substr(header_prefix.size());
    if (!seen.insert(name).second)
      return invalid(fmt::format("binary-mode message: header {} appears more "
                                 "than once",
                                 detail::quote(key)));
    if (!h.value)
      return invalid(fmt::format("binary-mode message: header {} has no value",
                                 detail::quote(key)));
    if (auto ok = event.set_attribute(name, *h.value); !ok)
      return invalid(fmt::format("binary-mode message: header {}: {}",
                                 detail::quote(key), ok.error().message));
  }
  if (content_type) {
    if (!content_type->value)
      return invalid("binary-mode message: header content-type has no value");
    if (event.datacontenttype && *event.datacontenttype != *content_type->value)
      return invalid("binary-mode message: headers content-type and "
                     "ce_datacontenttype disagree");
    event.datacontenttype = *content_type->value;
  }
  event.data = message.value;
  if (auto ok = validate(event); !ok)
    return invalid(fmt::format("binary-mode message: {}", ok.error().message));
  return event;
}

} // namespace

content_mode mode_of(const kafka_message& message) {
  for (const auto& h : message.headers)
    if (is_content_type(h.key) && h.value && is_cloudevents_media_type(*h.value))
      return content_mode::structured;
  return content_mode::binary;
}

expected<kafka_message> encode(const cloud_event& event, content_mode mode,
                               std::optional<std::string_view> default_key) {
  kafka_message message;
  message.key = key_of(event);
  if (!message.key && default_key)
    message.key = std::string(*default_key);
  if (mode == content_mode::structured) {
    auto json = json_format::serialize(event);
    if (!json)
      return tl::unexpected(json.error());
    message.value = std::move(*json);
    message.headers.push_back(
      {std::string(content_type_header), std::string(structured_content_type)});
    return message;
  }
  if (auto ok = validate(event); !ok)
    return tl::unexpected(ok.error());
  auto add = [&](std::string_view name, const std::string& value) {
    message.headers.push_back({fmt::format("{}{}", header_prefix, name), value});
  };
  add("specversion", event.specversion);
  add("id", event.id);
  add("source", event.source);
  add("type", event.type);
  if (event.datacontenttype)
    message.headers.push_back(
      {std::string(content_type_header), *event.datacontenttype});
  if (event.dataschema)
    add("dataschema", *event.dataschema);
  if (event.subject)
    add("subject", *event.subject);
  if (event.time)
    add("time", *event.time);
  for (const auto& [name, value] : event.extensions)
    add(name, value);
  message.value = event.data;
  return message;
}

expected<cloud_event> decode(const kafka_message& message) {
  auto content_type = content_type_of(message);
  if (!content_type)
    return tl::unexpected(content_type.error());
  const kafka_header* ct = *content_type;
  if (ct && ct->value && is_cloudevents_media_type(*ct->value))
    return decode_structured(message, *ct->value);
  return decode_binary(message, ct);
}

} // namespace meshflow::transport::kafka_binding
