#include "meshflow/transport/proto_format.hpp"

#include <climits>

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

#include "encoding.hpp"
#include "meshflow/utf8.hpp"
#include "meshflow/transport/errc.hpp"

namespace meshflow::transport::proto_format {

namespace {

using io::cloudevents::v1::CloudEvent;
using attribute_value = CloudEvent::CloudEventAttributeValue;
using google::protobuf::Timestamp;
using google::protobuf::util::TimeUtil;

tl::unexpected<error> invalid(std::string message) {
  return fail(errc::invalid_event, std::move(message));
}

attribute_value string_value(const std::string& text) {
  attribute_value value;
  value.set_ce_string(text);
  return value;
}

// The text of an attribute value of any CloudEvents type.
expected<std::string> text_of(const std::string& name, const attribute_value& value) {
  switch (value.attr_case()) {
    case attribute_value::kCeBoolean:
      return std::string(value.ce_boolean() ? "true" : "false");
    case attribute_value::kCeInteger:
      return std::to_string(value.ce_integer());
    case attribute_value::kCeString:
      return value.ce_string();
    case attribute_value::kCeBytes:
      return detail::base64_encode(value.ce_bytes());
    case attribute_value::kCeUri:
      return value.ce_uri();
    case attribute_value::kCeUriRef:
      return value.ce_uri_ref();
    case attribute_value::kCeTimestamp: {
      const Timestamp& t = value.ce_timestamp();
      if (t.seconds() < TimeUtil::kTimestampMinSeconds
          || t.seconds() > TimeUtil::kTimestampMaxSeconds || t.nanos() < 0
          || t.nanos() > 999'999'999)
        return invalid(fmt::format("attribute \"{}\": timestamp out of range "
                                   "(seconds {}, nanos {})",
                                   name, t.seconds(), t.nanos()));
      return TimeUtil::ToString(t);
    }
    case attribute_value::ATTR_NOT_SET:
      break;
  }
  return invalid(fmt::format("attribute \"{}\" has no value", name));
}

} // namespace

expected<CloudEvent> encode(const cloud_event& event) {
  if (auto ok = validate(event); !ok)
    return tl::unexpected(ok.error());
  CloudEvent message;
  message.set_id(event.id);
  message.set_source(event.source);
  message.set_spec_version(event.specversion);
  message.set_type(event.type);
  auto& attributes = *message.mutable_attributes();
  if (event.datacontenttype)
    attributes["datacontenttype"] = string_value(*event.datacontenttype);
  if (event.dataschema)
    attributes["dataschema"].set_ce_uri(*event.dataschema);
  if (event.subject)
    attributes["subject"] = string_value(*event.subject);
  if (event.time) {
    Timestamp t;
    if (TimeUtil::FromString(*event.time, &t))
      *attributes["time"].mutable_ce_timestamp() = t;
    else
      attributes["time"] = string_value(*event.time);
  }
  for (const auto& [name, value] : event.extensions)
    attributes[name] = string_value(value);
  if (event.data) {
    if (event.datacontenttype && detail::is_text_media_type(*event.datacontenttype)
        && utf8::is_valid(*event.data))
      message.set_text_data(*event.data);
    else
      message.set_binary_data(*event.data);
  }
  return message;
}

expected<cloud_event> decode(const CloudEvent& message) {
  cloud_event event;
  event.id = message.id();
  event.source = message.source();
  event.specversion = message.spec_version();
  event.type = message.type();
  for (const auto& [name, value] : message.attributes()) {
    if (name == "id" || name == "source" || name == "specversion" || name == "type")
      return invalid(fmt::format("attribute \"{}\" belongs in its own field, not in "
                                 "the attributes map",
                                 name));
    auto text = text_of(name, value);
    if (!text)
      return tl::unexpected(text.error());
    if (auto ok = event.set_attribute(name, std::move(*text)); !ok)
      return tl::unexpected(ok.error());
  }
  switch (message.data_case()) {
    case CloudEvent::kBinaryData:
      event.data = message.binary_data();
      break;
    case CloudEvent::kTextData:
      event.data = message.text_data();
      break;
    case CloudEvent::kProtoData:
      event.data = message.proto_data().value();
      if (!event.datacontenttype)
        event.datacontenttype = "application/protobuf";
      break;
    case CloudEvent::DATA_NOT_SET:
      break;
  }
  if (auto ok = validate(event); !ok)
    return tl::unexpected(ok.error());
  return event;
}

expected<std::string> serialize(const cloud_event& event) {
  auto message = encode(event);
  if (!message)
    return tl::unexpected(message.error());
  std::string bytes;
  if (!message->SerializeToString(&bytes))
    return invalid("the event could not be serialized as protobuf");
  return bytes;
}

expected<cloud_event> parse(std::string_view bytes) {
  if (bytes.size() > static_cast<std::size_t>(INT_MAX))
    return invalid("protobuf input larger than 2 GiB");
  CloudEvent message;
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return invalid(fmt::format("{} bytes are not a valid io.cloudevents.v1.CloudEvent "
                               "protobuf message",
                               bytes.size()));
  return decode(message);
}

} // namespace meshflow::transport::proto_format
