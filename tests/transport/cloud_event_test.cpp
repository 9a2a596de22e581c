#include "meshflow/transport/cloud_event.hpp"

#include <gtest/gtest.h>

#include "meshflow/transport/errc.hpp"
#include "sample_event.hpp"

namespace meshflow::transport {
namespace {

using testing::full_event;
using testing::minimal_event;

// The message of the validation error, or "" when `event` is valid.
std::string problem(const cloud_event& event) {
  auto ok = validate(event);
  if (ok)
    return "";
  EXPECT_EQ(ok.error().code, errc::invalid_event);
  return ok.error().message;
}

TEST(transport_cloud_event, sample_events_are_valid) {
  EXPECT_EQ(problem(full_event()), "");
  EXPECT_EQ(problem(minimal_event()), "");
}

TEST(transport_cloud_event, required_attributes_are_named_when_missing) {
  for (std::string name : {"id", "source", "type"}) {
    auto event = minimal_event();
    ASSERT_TRUE(event.set_attribute(name, ""));
    EXPECT_EQ(problem(event),
              "attribute \"" + name + "\": required attribute is missing or empty");
  }
  auto event = minimal_event();
  event.specversion.clear();
  EXPECT_EQ(problem(event), "attribute \"specversion\": required attribute is missing");
}

TEST(transport_cloud_event, only_specversion_1_0_is_accepted) {
  auto event = minimal_event();
  event.specversion = "0.3";
  EXPECT_EQ(problem(event), "attribute \"specversion\": unsupported CloudEvents "
                            "version \"0.3\" (only \"1.0\" is supported)");
}

TEST(transport_cloud_event, extension_names_are_lowercase_alphanumeric) {
  auto event = minimal_event();
  event.extensions["Trace"] = "x";
  EXPECT_EQ(problem(event), "attribute \"Trace\": invalid name: CloudEvents attribute "
                            "names consist of lowercase letters a-z and digits 0-9 "
                            "only");
  event = minimal_event();
  event.extensions["my_ext"] = "x";
  EXPECT_NE(problem(event).find("attribute \"my_ext\": invalid name"), std::string::npos);
  event = minimal_event();
  event.extensions[""] = "x";
  EXPECT_EQ(problem(event), "an attribute has an empty name");
}

TEST(transport_cloud_event, extension_names_are_at_most_20_characters) {
  auto event = minimal_event();
  event.extensions["abcdefghij0123456789"] = "20 is fine";
  EXPECT_EQ(problem(event), "");
  event.extensions["abcdefghij0123456789x"] = "21 is not";
  EXPECT_EQ(problem(event), "attribute \"abcdefghij0123456789x\": invalid name: it is "
                            "21 characters long, CloudEvents attribute names are at "
                            "most 20");
}

TEST(transport_cloud_event, core_names_cannot_be_extensions) {
  auto event = minimal_event();
  event.extensions["subject"] = "x";
  EXPECT_EQ(problem(event), "attribute \"subject\": is reserved by CloudEvents and "
                            "cannot be an extension attribute");
  event = minimal_event();
  event.extensions["data"] = "x";
  EXPECT_NE(problem(event).find("attribute \"data\": is reserved"), std::string::npos);
}

TEST(transport_cloud_event, optional_attributes_are_not_empty_when_present) {
  auto event = minimal_event();
  event.subject = "";
  EXPECT_EQ(problem(event), "attribute \"subject\": must not be empty when present");
}

TEST(transport_cloud_event, time_is_rfc3339) {
  auto event = minimal_event();
  for (std::string good : {"2018-04-05T17:31:00Z", "2018-04-05T17:31:00.123456789Z",
                           "2018-04-05t17:31:00z", "2024-02-29T00:00:00+02:00",
                           "2016-12-31T23:59:60Z", "2018-04-05T17:31:00-11:30"}) {
    event.time = good;
    EXPECT_EQ(problem(event), "") << good;
  }
  for (std::string bad : {"2018-04-05", "2018-04-05 17:31:00Z", "2018-04-05T17:31Z",
                          "2018-04-05T17:31:00", "2018-04-05T17:31:00.Z",
                          "18-04-05T17:31:00Z", "2018-04-05T17:31:00Z trailing",
                          "2018-04-05T17:31:00+0200"}) {
    event.time = bad;
    EXPECT_EQ(problem(event), "attribute \"time\": \"" + bad
                                + "\" is not an RFC 3339 timestamp (expected the form "
                                  "2018-04-05T17:31:00Z or 2018-04-05T17:31:00.5+02:00)")
      << bad;
  }
  event.time = "2023-02-29T00:00:00Z";
  EXPECT_EQ(problem(event), "attribute \"time\": \"2023-02-29T00:00:00Z\" has a day "
                            "out of range for its month");
  event.time = "2023-13-01T00:00:00Z";
  EXPECT_EQ(problem(event),
            "attribute \"time\": \"2023-13-01T00:00:00Z\" has a month out of range");
  event.time = "2023-01-01T24:00:00Z";
  EXPECT_EQ(problem(event), "attribute \"time\": \"2023-01-01T24:00:00Z\" has a time "
                            "of day out of range");
}

TEST(transport_cloud_event, datacontenttype_is_a_media_type) {
  auto event = minimal_event();
  for (std::string good : {"application/json", "text/plain; charset=utf-8",
                           "application/vnd.apache.thrift.binary",
                           "application/cloudevents+json"}) {
    event.datacontenttype = good;
    EXPECT_EQ(problem(event), "") << good;
  }
  event.datacontenttype = "json";
  EXPECT_EQ(problem(event), "attribute \"datacontenttype\": \"json\" is not a media "
                            "type (expected type/subtype, e.g. application/json)");
  event.datacontenttype = "application/";
  EXPECT_NE(problem(event), "");
}

TEST(transport_cloud_event, dataschema_is_an_absolute_uri) {
  auto event = minimal_event();
  event.dataschema = "urn:example:schema";
  EXPECT_EQ(problem(event), "");
  event.dataschema = "/schemas/order.json";
  EXPECT_EQ(problem(event), "attribute \"dataschema\": \"/schemas/order.json\" is not "
                            "an absolute URI (it needs a scheme, e.g. "
                            "https://example.com/schema.json)");
  event.dataschema = "https://example.com/a b";
  EXPECT_EQ(problem(event), "attribute \"dataschema\": \"https://example.com/a b\" is "
                            "not a URI: it contains whitespace");
}

TEST(transport_cloud_event, values_are_unicode_text_without_control_characters) {
  auto event = minimal_event();
  event.subject = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"; // café € 😀
  EXPECT_EQ(problem(event), "");
  event.subject = std::string("a\0b", 3);
  EXPECT_EQ(problem(event), "attribute \"subject\": the value holds the control "
                            "character U+0000 at offset 1");
  event.subject = "bad \xc3";
  EXPECT_EQ(problem(event), "attribute \"subject\": the value is not valid UTF-8 (bad "
                            "byte at offset 4)");
  event.subject = "\xed\xa0\x80"; // a UTF-16 surrogate
  EXPECT_NE(problem(event).find("not valid UTF-8"), std::string::npos);
  event.subject = "\xc0\xaf"; // overlong '/'
  EXPECT_NE(problem(event).find("not valid UTF-8"), std::string::npos);
  event.subject = "x\xef\xbf\xbf"; // U+FFFF
  EXPECT_EQ(problem(event), "attribute \"subject\": the value holds the Unicode "
                            "noncharacter U+FFFF at offset 1");
  event = minimal_event();
  event.extensions["ext"] = "tab\there";
  EXPECT_EQ(problem(event), "attribute \"ext\": the value holds the control character "
                            "U+0009 at offset 3");
}

TEST(transport_cloud_event, attribute_reads_core_and_extension_attributes) {
  auto event = full_event();
  EXPECT_EQ(event.attribute("id"), "order-42");
  EXPECT_EQ(event.attribute("specversion"), "1.0");
  EXPECT_EQ(event.attribute("time"), "2024-05-01T12:30:00Z");
  EXPECT_EQ(event.attribute("workflowinstanceid"), "wf-1");
  EXPECT_EQ(event.attribute("nosuch"), std::nullopt);
  EXPECT_EQ(event.attribute("data"), std::nullopt);
  EXPECT_EQ(minimal_event().attribute("subject"), std::nullopt);
}

TEST(transport_cloud_event, set_attribute_routes_and_validates_names) {
  cloud_event event;
  ASSERT_TRUE(event.set_attribute("id", "a"));
  ASSERT_TRUE(event.set_attribute("subject", "s"));
  ASSERT_TRUE(event.set_attribute("correlationid", "c"));
  EXPECT_EQ(event.id, "a");
  EXPECT_EQ(event.subject, "s");
  EXPECT_EQ(event.extensions.at("correlationid"), "c");

  auto bad = event.set_attribute("Bad-Name", "x");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, errc::invalid_event);
  EXPECT_NE(bad.error().message.find("\"Bad-Name\""), std::string::npos);
  auto data = event.set_attribute("data", "x");
  ASSERT_FALSE(data);
  EXPECT_EQ(data.error().message,
            "attribute \"data\": \"data\" is the event payload, not an attribute");
  EXPECT_EQ(event.extensions.size(), 1u);
}

TEST(transport_cloud_event, json_media_types) {
  EXPECT_TRUE(is_json_media_type(std::nullopt));
  EXPECT_TRUE(is_json_media_type("application/json"));
  EXPECT_TRUE(is_json_media_type("Application/JSON; charset=utf-8"));
  EXPECT_TRUE(is_json_media_type("application/vnd.order+json"));
  EXPECT_TRUE(is_json_media_type("text/json"));
  EXPECT_FALSE(is_json_media_type("application/xml"));
  EXPECT_FALSE(is_json_media_type("application/jsonx"));
  EXPECT_FALSE(is_json_media_type("json"));
}

TEST(transport_cloud_event, equality_covers_every_member) {
  auto a = full_event();
  auto b = full_event();
  EXPECT_EQ(a, b);
  b.data = std::nullopt;
  EXPECT_NE(a, b);
  b = a;
  b.extensions["more"] = "1";
  EXPECT_NE(a, b);
}

} // namespace
} // namespace meshflow::transport
