#include "meshflow/transport/json_format.hpp"

#include <gtest/gtest.h>

#include "meshflow/transport/errc.hpp"
#include "sample_event.hpp"

namespace meshflow::transport {
namespace {

using nlohmann::json;
using testing::full_event;
using testing::minimal_event;

// The message of the error `parse` gives for `text`.
std::string parse_error(std::string_view text) {
  auto event = json_format::parse(text);
  if (event)
    return "(parsed)";
  EXPECT_EQ(event.error().code, errc::invalid_event);
  return event.error().message;
}

TEST(transport_json_format, parses_the_specification_example_with_json_data) {
  auto event = json_format::parse(R"({
    "specversion" : "1.0",
    "type" : "com.example.someevent",
    "source" : "/mycontext",
    "subject": null,
    "id" : "C234-1234-1234",
    "time" : "2018-04-05T17:31:00Z",
    "comexampleextension1" : "value",
    "comexampleothervalue" : 5,
    "datacontenttype" : "application/json",
    "data" : { "appinfoA" : "abc", "appinfoB" : 123, "appinfoC" : true }
  })");
  ASSERT_TRUE(event) << event.error().message;
  EXPECT_EQ(event->id, "C234-1234-1234");
  EXPECT_EQ(event->source, "/mycontext");
  EXPECT_EQ(event->type, "com.example.someevent");
  EXPECT_EQ(event->time, "2018-04-05T17:31:00Z");
  EXPECT_EQ(event->subject, std::nullopt);
  EXPECT_EQ(event->extensions.at("comexampleextension1"), "value");
  EXPECT_EQ(event->extensions.at("comexampleothervalue"), "5");
  ASSERT_TRUE(event->data);
  EXPECT_EQ(json::parse(*event->data),
            json({{"appinfoA", "abc"}, {"appinfoB", 123}, {"appinfoC", true}}));
}

TEST(transport_json_format, data_without_content_type_is_json_and_gets_the_type) {
  auto event = json_format::parse(
    R"({"specversion":"1.0","id":"1","source":"/s","type":"t","data":"I'm just a string"})");
  ASSERT_TRUE(event) << event.error().message;
  EXPECT_EQ(event->data, R"("I'm just a string")");
  EXPECT_EQ(event->datacontenttype, "application/json");
}

TEST(transport_json_format, text_data_of_other_content_types_is_kept_as_is) {
  auto event = json_format::parse(
    R"({"specversion":"1.0","id":"1","source":"/s","type":"t",
        "datacontenttype":"application/xml","data":"<much wow=\"xml\"/>"})");
  ASSERT_TRUE(event) << event.error().message;
  EXPECT_EQ(event->data, R"(<much wow="xml"/>)");
  auto encoded = json_format::encode(*event);
  ASSERT_TRUE(encoded);
  EXPECT_EQ((*encoded)["data"], R"(<much wow="xml"/>)");
}

TEST(transport_json_format, data_base64_carries_bytes) {
  auto event = json_format::parse(
    R"({"specversion":"1.0","id":"1","source":"/s","type":"t",
        "datacontenttype":"application/octet-stream","data_base64":"AAEC/w=="})");
  ASSERT_TRUE(event) << event.error().message;
  EXPECT_EQ(event->data, std::string("\x00\x01\x02\xff", 4));
  auto encoded = json_format::encode(*event);
  ASSERT_TRUE(encoded);
  EXPECT_EQ((*encoded)["data_base64"], "AAEC/w==");
  EXPECT_FALSE(encoded->contains("data"));
}

TEST(transport_json_format, binary_data_is_written_as_base64_and_round_trips) {
  auto event = minimal_event();
  for (std::string bytes : {std::string(""), std::string("\xff", 1), std::string("ab"),
                            std::string("abc"), std::string("\x00\x80\xfe\x7f", 4)}) {
    event.datacontenttype = "application/octet-stream";
    event.data = bytes;
    auto text = json_format::serialize(event);
    ASSERT_TRUE(text) << text.error().message;
    auto back = json_format::parse(*text);
    ASSERT_TRUE(back) << back.error().message << " in " << *text;
    EXPECT_EQ(*back, event);
  }
}

TEST(transport_json_format, json_content_type_with_bytes_that_are_not_json_uses_base64) {
  auto event = minimal_event();
  event.datacontenttype = "application/json";
  event.data = "{not json";
  auto encoded = json_format::encode(event);
  ASSERT_TRUE(encoded);
  EXPECT_EQ((*encoded)["data_base64"], "e25vdCBqc29u");
  auto back = json_format::decode(*encoded);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, event);
}

TEST(transport_json_format, full_event_round_trips) {
  auto text = json_format::serialize(full_event());
  ASSERT_TRUE(text) << text.error().message;
  auto value = json::parse(*text);
  EXPECT_EQ(value["data"], json::parse(*full_event().data)); // embedded, not a string
  EXPECT_EQ(value["workflowinstanceid"], "wf-1");
  auto back = json_format::parse(*text);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, full_event());
}

TEST(transport_json_format, event_without_data_round_trips) {
  auto text = json_format::serialize(minimal_event());
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, R"({"id":"1","source":"/s","specversion":"1.0","type":"t"})");
  auto back = json_format::parse(*text);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, minimal_event());
}

TEST(transport_json_format, boolean_extensions_become_text_and_null_is_absent) {
  auto event = json_format::parse(
    R"({"specversion":"1.0","id":"1","source":"/s","type":"t","sampled":true,
        "gone":null,"negative":-2147483648})");
  ASSERT_TRUE(event) << event.error().message;
  EXPECT_EQ(event->extensions.at("sampled"), "true");
  EXPECT_EQ(event->extensions.at("negative"), "-2147483648");
  EXPECT_FALSE(event->extensions.contains("gone"));
}

TEST(transport_json_format, parse_events_takes_one_event_or_an_array) {
  auto one = json_format::parse_events(R"({"specversion":"1.0","id":"1","source":"/s","type":"t"})");
  ASSERT_TRUE(one) << one.error().message;
  EXPECT_EQ(one->size(), 1u);
  auto many = json_format::parse_events(
    R"([{"specversion":"1.0","id":"1","source":"/s","type":"t"},
        {"specversion":"1.0","id":"2","source":"/s","type":"t","data":{"x":1}}])");
  ASSERT_TRUE(many) << many.error().message;
  ASSERT_EQ(many->size(), 2u);
  EXPECT_EQ((*many)[1].id, "2");
  EXPECT_EQ((*many)[1].data, R"({"x":1})");
  auto none = json_format::parse_events("[]");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(transport_json_format, parse_events_names_the_index_of_a_bad_element) {
  auto many = json_format::parse_events(
    R"([{"specversion":"1.0","id":"1","source":"/s","type":"t"},
        {"specversion":"1.0","source":"/s","type":"t"}])");
  ASSERT_FALSE(many);
  EXPECT_EQ(many.error().message,
            "[1]: attribute \"id\": required attribute is missing or empty");
  auto scalar = json_format::parse_events("42");
  ASSERT_FALSE(scalar);
  EXPECT_EQ(scalar.error().message,
            "expected a CloudEvent (a JSON object) or an array of them, got number");
}

TEST(transport_json_format, malformed_input_gives_clear_errors) {
  EXPECT_EQ(parse_error(""), "invalid JSON: parse error at line 1, column 1: syntax "
                             "error while parsing value - unexpected end of input; "
                             "expected '[', '{', or a literal");
  EXPECT_EQ(parse_error("{\"id\":\n 1,"),
            "invalid JSON: parse error at line 2, column 4: syntax error while parsing "
            "object key - unexpected end of input; expected string literal");
  EXPECT_NE(parse_error("{\"id\": \"\xff\"}").find("invalid JSON"), std::string::npos);
  EXPECT_EQ(parse_error("[1]"), "expected a CloudEvent as a JSON object, got array");
  EXPECT_EQ(parse_error(R"({"id":"1","source":"/s","type":"t"})"),
            "attribute \"specversion\": required attribute is missing");
  EXPECT_EQ(parse_error(R"({"specversion":"1.0","id":7,"source":"/s","type":"t"})"),
            "attribute \"id\": expected a string, got 7");
  EXPECT_EQ(parse_error(R"({"specversion":"1.0","id":"1","source":"/s","type":"t","ext":1.5})"),
            "attribute \"ext\": the number 1.5 is not an integer; CloudEvents "
            "attributes hold strings, integers or booleans");
  EXPECT_EQ(parse_error(R"({"specversion":"1.0","id":"1","source":"/s","type":"t","ext":4294967296})"),
            "attribute \"ext\": the integer 4294967296 is out of the CloudEvents "
            "Integer range (32 bits)");
  EXPECT_EQ(parse_error(R"({"specversion":"1.0","id":"1","source":"/s","type":"t","ext":{}})"),
            "attribute \"ext\": a JSON object is not a CloudEvents attribute value; "
            "use a string");
  EXPECT_NE(parse_error(R"({"specversion":"1.0","id":"1","source":"/s","type":"t","Ext":"x"})")
              .find("attribute \"Ext\": invalid name"),
            std::string::npos);
  EXPECT_EQ(parse_error(R"({"specversion":"1.0","id":"1","source":"/s","type":"t","data":1,"data_base64":"AA=="})"),
            "an event has both \"data\" and \"data_base64\"; keep one");
  EXPECT_EQ(parse_error(R"({"specversion":"1.0","id":"1","source":"/s","type":"t","data_base64":"***"})"),
            "\"data_base64\": not valid base64 (RFC 4648, standard alphabet)");
  EXPECT_EQ(parse_error(R"({"specversion":"1.0","id":"1","source":"/s","type":"t","data_base64":"AAF"})"),
            "\"data_base64\": not valid base64 (RFC 4648, standard alphabet)");
  EXPECT_EQ(parse_error(R"({"specversion":"1.0","id":"1","source":"/s","type":"t","data_base64":5})"),
            "\"data_base64\": expected a base64 string, got number");
  EXPECT_EQ(parse_error(R"({"specversion":"1.0","id":"1","source":"/s","type":"t",
                            "datacontenttype":"text/plain","data":{"a":1}})"),
            "\"data\": datacontenttype \"text/plain\" is not JSON, so \"data\" must be a "
            "string (or use \"data_base64\"), got a JSON object");
  EXPECT_EQ(parse_error(R"({"specversion":"1.0","id":"1","source":"/s","type":"t",
                            "time":"yesterday"})"),
            "attribute \"time\": \"yesterday\" is not an RFC 3339 timestamp (expected "
            "the form 2018-04-05T17:31:00Z or 2018-04-05T17:31:00.5+02:00)");
}

TEST(transport_json_format, deep_nesting_is_refused_not_a_crash) {
  std::string deep = R"({"specversion":"1.0","id":"1","source":"/s","type":"t","data":)";
  deep += std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_EQ(parse_error(deep), "JSON nested deeper than 256 levels");
  auto event = minimal_event();
  event.data = std::string(100000, '[') + std::string(100000, ']');
  auto encoded = json_format::encode(event); // JSON by default: too deep, so base64
  ASSERT_TRUE(encoded);
  EXPECT_TRUE(encoded->contains("data_base64"));
}

TEST(transport_json_format, invalid_events_are_not_encoded) {
  auto event = minimal_event();
  event.type.clear();
  auto text = json_format::serialize(event);
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().message,
            "attribute \"type\": required attribute is missing or empty");
}

} // namespace
} // namespace meshflow::transport
