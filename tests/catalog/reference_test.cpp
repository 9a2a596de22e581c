// Channel -> topic, Kafka's topic-name rule, and workflow references.

#include <gtest/gtest.h>

#include "meshflow/catalog/errc.hpp"
#include "meshflow/catalog/reference.hpp"
#include "meshflow/catalog/topic.hpp"

using namespace meshflow;
using namespace meshflow::catalog;

TEST(topic, a_channel_name_maps_to_a_topic_with_dots) {
  EXPECT_EQ(topic_for_channel("store/order"), "store.order");
  EXPECT_EQ(topic_for_channel("a/b/c"), "a.b.c");
  EXPECT_EQ(topic_for_channel("orders"), "orders");
}

TEST(topic, kafka_topic_names_are_checked_as_kafka_does) {
  for (const auto& ok : std::vector<std::string>{"store.order", "a_b-C9", std::string(249, 'x')})
    EXPECT_FALSE(kafka_topic_problem(ok)) << ok;
  EXPECT_EQ(kafka_topic_problem(""), "a topic name cannot be empty");
  EXPECT_EQ(kafka_topic_problem(".."), "'..' cannot be a topic name");
  EXPECT_EQ(kafka_topic_problem(std::string(250, 'x')),
            "a topic name has at most 249 characters, not 250");
  EXPECT_EQ(kafka_topic_problem("a b"),
            "'a b' holds ' '; topic names hold only ASCII letters, digits, '.', '_' and '-'");
  EXPECT_EQ(kafka_topic_problem("caf\xc3\xa9"),
            "'caf\xc3\xa9' holds '\\xC3'; topic names hold only ASCII letters, digits, '.', '_' "
            "and '-'");
}

TEST(reference, the_eventmesh_form_and_uris) {
  auto r = parse_reference("file://orderService.yaml#sendOrder");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->document, "orderService.yaml");
  EXPECT_EQ(r->operation_id, "sendOrder");
  r = parse_reference("https://example.com/specs/order.yaml#sendOrder");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->document, "https://example.com/specs/order.yaml");
  r = parse_reference("#sendOrder");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->document, "");
  EXPECT_EQ(r->operation_id, "sendOrder");
}

TEST(reference, what_is_not_a_reference) {
  auto r = parse_reference("sendOrder");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::reference);
  EXPECT_EQ(r.error().message, "'sendOrder' names no operation; an AsyncAPI reference is "
                               "DOC#operationId, such as file://orderService.yaml#sendOrder");
  r = parse_reference("file://orderService.yaml#");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "'file://orderService.yaml#' has no operationId after '#'; an "
                               "AsyncAPI reference is DOC#operationId, such as "
                               "file://orderService.yaml#sendOrder");
}

TEST(reference, documents_are_matched_by_base_name) {
  EXPECT_EQ(document_base_name("orderService.yaml"), "orderService.yaml");
  EXPECT_EQ(document_base_name("file://specs/orderService.yaml"), "orderService.yaml");
  EXPECT_EQ(document_base_name("/srv/specs/orderService.yaml"), "orderService.yaml");
  EXPECT_EQ(document_base_name("https://example.com/a/orderService.yaml?v=2"),
            "orderService.yaml");
}
