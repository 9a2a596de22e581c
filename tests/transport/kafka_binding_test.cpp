#include "meshflow/transport/kafka_binding.hpp"

#include <gtest/gtest.h>

#include "meshflow/transport/errc.hpp"
#include "meshflow/transport/json_format.hpp"
#include "sample_event.hpp"

namespace meshflow::transport {
namespace {

using kafka_binding::content_mode;
using testing::full_event;
using testing::minimal_event;

// The message of the error `decode` gives for `message`.
std::string decode_error(const kafka_message& message) {
  auto event = kafka_binding::decode(message);
  if (event)
    return "(decoded)";
  EXPECT_EQ(event.error().code, errc::invalid_event);
  return event.error().message;
}

kafka_message binary_message() {
  return kafka_message{
    .key = std::nullopt,
    .value = "hello",
    .headers = {{"ce_specversion", "1.0"},
                {"ce_id", "1"},
                {"ce_source", "/s"},
                {"ce_type", "t"},
                {"content-type", "text/plain"}},
  };
}

TEST(transport_kafka_binding, binary_mode_puts_attributes_in_ce_headers) {
  auto message = kafka_binding::encode(full_event());
  ASSERT_TRUE(message) << message.error().message;
  std::vector<kafka_header> expected = {
    {"ce_specversion", "1.0"},
    {"ce_id", "order-42"},
    {"ce_source", "/services/store"},
    {"ce_type", "com.example.order.created"},
    {"content-type", "application/json"},
    {"ce_dataschema", "https://example.com/schemas/order.json"},
    {"ce_subject", "orders/42"},
    {"ce_time", "2024-05-01T12:30:00Z"},
    {"ce_partitionkey", "customer-7"},
    {"ce_traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
    {"ce_workflowinstanceid", "wf-1"},
  };
  EXPECT_EQ(message->headers, expected);
  EXPECT_EQ(message->value, full_event().data);
  EXPECT_EQ(message->key, "customer-7"); // the partitionkey extension
}

TEST(transport_kafka_binding, binary_mode_round_trips) {
  for (const auto& event : {full_event(), minimal_event()}) {
    auto message = kafka_binding::encode(event, content_mode::binary);
    ASSERT_TRUE(message) << message.error().message;
    EXPECT_EQ(kafka_binding::mode_of(*message), content_mode::binary);
    auto back = kafka_binding::decode(*message);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, event);
  }
}

TEST(transport_kafka_binding, binary_event_without_data_has_a_null_value_and_no_key) {
  auto message = kafka_binding::encode(minimal_event());
  ASSERT_TRUE(message);
  EXPECT_EQ(message->value, std::nullopt);
  EXPECT_EQ(message->key, std::nullopt);
  EXPECT_EQ(message->header("content-type"), nullptr);
}

TEST(transport_kafka_binding, default_key_is_used_only_without_a_partition_key) {
  for (auto mode : {content_mode::binary, content_mode::structured}) {
    auto keyless = kafka_binding::encode(minimal_event(), mode, "instance-42");
    ASSERT_TRUE(keyless) << keyless.error().message;
    EXPECT_EQ(keyless->key, "instance-42");
    auto back = kafka_binding::decode(*keyless);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, minimal_event()) << "the key is not part of the event";

    auto keyed = kafka_binding::encode(full_event(), mode, "instance-42");
    ASSERT_TRUE(keyed) << keyed.error().message;
    EXPECT_EQ(keyed->key, "customer-7") << "the event's partitionkey wins";
  }
}

TEST(transport_kafka_binding, binary_mode_keeps_data_bytes_as_they_are) {
  auto event = minimal_event();
  event.datacontenttype = "application/octet-stream";
  event.data = std::string("\x00\xff\x80 bytes", 9);
  auto message = kafka_binding::encode(event);
  ASSERT_TRUE(message);
  EXPECT_EQ(message->value, event.data);
  auto back = kafka_binding::decode(*message);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->data, event.data);
}

TEST(transport_kafka_binding, structured_mode_puts_the_json_event_in_the_value) {
  auto message = kafka_binding::encode(full_event(), content_mode::structured);
  ASSERT_TRUE(message) << message.error().message;
  ASSERT_EQ(message->headers.size(), 1u);
  EXPECT_EQ(message->headers[0],
            (kafka_header{"content-type", "application/cloudevents+json; charset=UTF-8"}));
  EXPECT_EQ(message->key, "customer-7");
  ASSERT_TRUE(message->value);
  auto inner = json_format::parse(*message->value);
  ASSERT_TRUE(inner);
  EXPECT_EQ(*inner, full_event());
  EXPECT_EQ(kafka_binding::mode_of(*message), content_mode::structured);
  auto back = kafka_binding::decode(*message);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, full_event());
}

TEST(transport_kafka_binding, structured_mode_is_recognised_case_insensitively) {
  kafka_message message{
    .key = "k",
    .value = R"({"specversion":"1.0","id":"1","source":"/s","type":"t"})",
    .headers = {{"Content-Type", "Application/CloudEvents+JSON"}},
  };
  auto event = kafka_binding::decode(message);
  ASSERT_TRUE(event) << event.error().message;
  EXPECT_EQ(*event, minimal_event()); // the record key is not mapped back
}

TEST(transport_kafka_binding, decodes_a_hand_written_binary_message) {
  auto event = kafka_binding::decode(binary_message());
  ASSERT_TRUE(event) << event.error().message;
  EXPECT_EQ(event->datacontenttype, "text/plain");
  EXPECT_EQ(event->data, "hello");
}

TEST(transport_kafka_binding, malformed_messages_give_clear_errors) {
  EXPECT_EQ(decode_error(kafka_message{.value = "x"}),
            "not a CloudEvent: the message has no ce_specversion header (binary mode) "
            "and its content-type is not application/cloudevents+json (structured "
            "mode)");

  auto message = binary_message();
  message.headers.erase(message.headers.begin() + 1); // ce_id
  EXPECT_EQ(decode_error(message), "binary-mode message: attribute \"id\": required "
                                   "attribute is missing or empty");

  message = binary_message();
  message.headers.push_back({"ce_id", "2"});
  EXPECT_EQ(decode_error(message),
            "binary-mode message: header \"ce_id\" appears more than once");

  message = binary_message();
  message.headers.push_back({"ce_Trace", "x"});
  EXPECT_EQ(decode_error(message),
            "binary-mode message: header \"ce_Trace\": attribute \"Trace\": invalid "
            "name: CloudEvents attribute names consist of lowercase letters a-z and "
            "digits 0-9 only");

  message = binary_message();
  message.headers.push_back({"ce_ext", std::nullopt});
  EXPECT_EQ(decode_error(message), "binary-mode message: header \"ce_ext\" has no value");

  message = binary_message();
  message.headers.push_back({"ce_ext", "bad \xff"});
  EXPECT_EQ(decode_error(message), "binary-mode message: attribute \"ext\": the value "
                                   "is not valid UTF-8 (bad byte at offset 4)");

  message = binary_message();
  message.headers[0].value = "0.3";
  EXPECT_EQ(decode_error(message), "binary-mode message: attribute \"specversion\": "
                                   "unsupported CloudEvents version \"0.3\" (only "
                                   "\"1.0\" is supported)");

  message = binary_message();
  message.headers.push_back({"content-type", "text/html"});
  EXPECT_EQ(decode_error(message), "the message has more than one content-type header");

  message = binary_message();
  message.headers.push_back({"ce_datacontenttype", "application/json"});
  EXPECT_EQ(decode_error(message), "binary-mode message: headers content-type and "
                                   "ce_datacontenttype disagree");

  message = binary_message();
  message.headers.push_back({"ce_data", "x"});
  EXPECT_EQ(decode_error(message), "binary-mode message: header \"ce_data\": attribute "
                                   "\"data\": \"data\" is the event payload, not an "
                                   "attribute");
}

TEST(transport_kafka_binding, malformed_structured_messages_give_clear_errors) {
  kafka_message message{.value = "{oops",
                        .headers = {{"content-type", "application/cloudevents+json"}}};
  EXPECT_NE(decode_error(message).find("structured-mode message: invalid JSON"),
            std::string::npos);
  message.value = std::nullopt;
  EXPECT_EQ(decode_error(message), "structured-mode message: the value is null, it "
                                   "should hold the event as JSON");
  message.value = R"({"specversion":"1.0","id":"1","source":"/s"})";
  EXPECT_EQ(decode_error(message), "structured-mode message: attribute \"type\": "
                                   "required attribute is missing or empty");
  message.headers[0].value = "application/cloudevents+avro";
  EXPECT_EQ(decode_error(message), "structured-mode message: event format "
                                   "\"application/cloudevents+avro\" is not supported "
                                   "(only application/cloudevents+json)");
  message.headers[0].value = "application/cloudevents-batch+json";
  EXPECT_EQ(decode_error(message), "structured-mode message: the Kafka binding has no "
                                   "batch mode (content-type "
                                   "application/cloudevents-batch+json)");
}

TEST(transport_kafka_binding, invalid_events_are_not_encoded) {
  auto event = minimal_event();
  event.extensions["BAD"] = "x";
  for (auto mode : {content_mode::binary, content_mode::structured}) {
    auto message = kafka_binding::encode(event, mode);
    ASSERT_FALSE(message);
    EXPECT_EQ(message.error().code, errc::invalid_event);
  }
}

} // namespace
} // namespace meshflow::transport
