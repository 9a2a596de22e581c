#include "meshflow/transport/proto_format.hpp"

#include <gtest/gtest.h>

#include "meshflow/transport/errc.hpp"
#include "sample_event.hpp"

namespace meshflow::transport {
namespace {

using io::cloudevents::v1::CloudEvent;
using testing::full_event;
using testing::minimal_event;

TEST(transport_proto_format, full_event_uses_the_official_layout) {
  auto message = proto_format::encode(full_event());
  ASSERT_TRUE(message) << message.error().message;
  EXPECT_EQ(message->id(), "order-42");
  EXPECT_EQ(message->source(), "/services/store");
  EXPECT_EQ(message->spec_version(), "1.0");
  EXPECT_EQ(message->type(), "com.example.order.created");
  const auto& attributes = message->attributes();
  EXPECT_EQ(attributes.at("datacontenttype").ce_string(), "application/json");
  EXPECT_EQ(attributes.at("dataschema").ce_uri(), "https://example.com/schemas/order.json");
  EXPECT_EQ(attributes.at("subject").ce_string(), "orders/42");
  ASSERT_TRUE(attributes.at("time").has_ce_timestamp());
  EXPECT_EQ(attributes.at("time").ce_timestamp().seconds(), 1714566600);
  EXPECT_EQ(attributes.at("workflowinstanceid").ce_string(), "wf-1");
  EXPECT_FALSE(attributes.contains("id"));
  EXPECT_EQ(message->data_case(), CloudEvent::kTextData); // JSON is text
  EXPECT_EQ(message->text_data(), *full_event().data);
}

TEST(transport_proto_format, round_trips_through_bytes) {
  for (const auto& event : {full_event(), minimal_event()}) {
    auto bytes = proto_format::serialize(event);
    ASSERT_TRUE(bytes) << bytes.error().message;
    auto back = proto_format::parse(*bytes);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, event);
  }
}

TEST(transport_proto_format, binary_data_round_trips_in_binary_data) {
  auto event = minimal_event();
  event.datacontenttype = "application/octet-stream";
  event.data = std::string("\x00\xff\x10", 3);
  auto message = proto_format::encode(event);
  ASSERT_TRUE(message);
  EXPECT_EQ(message->data_case(), CloudEvent::kBinaryData);
  auto back = proto_format::decode(*message);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, event);

  event.data = "";
  auto empty = proto_format::parse(*proto_format::serialize(event));
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->data, ""); // empty data is not absent data
}

TEST(transport_proto_format, time_keeps_its_instant_in_utc) {
  auto event = minimal_event();
  event.time = "2024-05-01T14:30:00.250+02:00";
  auto back = proto_format::parse(*proto_format::serialize(event));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->time, "2024-05-01T12:30:00.250Z");
  event.time = "2016-12-31T23:59:60Z"; // a leap second: kept as text
  back = proto_format::parse(*proto_format::serialize(event));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->time, "2016-12-31T23:59:60Z");
}

TEST(transport_proto_format, attributes_of_every_type_are_read_as_text) {
  CloudEvent message;
  message.set_id("1");
  message.set_source("/s");
  message.set_spec_version("1.0");
  message.set_type("t");
  auto& attributes = *message.mutable_attributes();
  attributes["flag"].set_ce_boolean(true);
  attributes["count"].set_ce_integer(-7);
  attributes["blob"].set_ce_bytes(std::string("\x01\x02", 2));
  attributes["link"].set_ce_uri_ref("/a/b");
  attributes["dataschema"].set_ce_uri("urn:x");
  attributes["time"].mutable_ce_timestamp()->set_seconds(0);
  message.mutable_proto_data()->set_type_url("type.googleapis.com/x.Y");
  message.mutable_proto_data()->set_value("\x08\x01");
  auto event = proto_format::decode(message);
  ASSERT_TRUE(event) << event.error().message;
  EXPECT_EQ(event->extensions.at("flag"), "true");
  EXPECT_EQ(event->extensions.at("count"), "-7");
  EXPECT_EQ(event->extensions.at("blob"), "AQI=");
  EXPECT_EQ(event->extensions.at("link"), "/a/b");
  EXPECT_EQ(event->dataschema, "urn:x");
  EXPECT_EQ(event->time, "1970-01-01T00:00:00Z");
  EXPECT_EQ(event->data, "\x08\x01");
  EXPECT_EQ(event->datacontenttype, "application/protobuf");
}

TEST(transport_proto_format, malformed_messages_give_clear_errors) {
  auto expect_error = [](const expected<cloud_event>& event, const std::string& text) {
    ASSERT_FALSE(event);
    EXPECT_EQ(event.error().code, errc::invalid_event);
    EXPECT_EQ(event.error().message, text);
  };
  expect_error(proto_format::parse("\xff\xff\xff"),
               "3 bytes are not a valid io.cloudevents.v1.CloudEvent protobuf message");
  expect_error(proto_format::parse(""),
               "attribute \"specversion\": required attribute is missing");

  auto message = *proto_format::encode(minimal_event());
  (*message.mutable_attributes())["ext"]; // no value set
  expect_error(proto_format::decode(message), "attribute \"ext\" has no value");

  message = *proto_format::encode(minimal_event());
  (*message.mutable_attributes())["id"].set_ce_string("2");
  expect_error(proto_format::decode(message), "attribute \"id\" belongs in its own "
                                              "field, not in the attributes map");

  message = *proto_format::encode(minimal_event());
  (*message.mutable_attributes())["Bad"].set_ce_string("x");
  auto bad_name = proto_format::decode(message);
  ASSERT_FALSE(bad_name);
  EXPECT_NE(bad_name.error().message.find("attribute \"Bad\": invalid name"),
            std::string::npos);

  message = *proto_format::encode(minimal_event());
  (*message.mutable_attributes())["time"].mutable_ce_timestamp()->set_nanos(-1);
  expect_error(proto_format::decode(message),
               "attribute \"time\": timestamp out of range (seconds 0, nanos -1)");

  message = *proto_format::encode(minimal_event());
  message.set_type("");
  expect_error(proto_format::decode(message),
               "attribute \"type\": required attribute is missing or empty");
}

TEST(transport_proto_format, invalid_events_are_not_encoded) {
  auto event = minimal_event();
  event.source.clear();
  auto bytes = proto_format::serialize(event);
  ASSERT_FALSE(bytes);
  EXPECT_EQ(bytes.error().message,
            "attribute \"source\": required attribute is missing or empty");
}

} // namespace
} // namespace meshflow::transport
