// A binary-mode CloudEvent through a real Apache Kafka broker (the `kafka`
// ctest fixture): produced with kafka_producer, read back with
// kafka_consumer, compared attribute by attribute, header by header.

#include <chrono>
#include <random>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "meshflow/testing/kafka.hpp"
#include "meshflow/transport/kafka_binding.hpp"
#include "meshflow/transport/kafka_client.hpp"

namespace meshflow::transport {
namespace {

using namespace std::chrono_literals;

std::string fresh_topic() {
  std::random_device random;
  return fmt::format("transport-roundtrip-{:08x}", random());
}

TEST(transport_kafka_roundtrip, binary_cloud_event_survives_the_broker) {
  auto bootstrap = meshflow::testing::kafka_bootstrap();
  ASSERT_TRUE(bootstrap) << bootstrap.error().message;

  const cloud_event sent{
    .id = "evt-0001",
    .source = "/meshflow/tests/transport",
    .specversion = "1.0",
    .type = "com.example.order.created",
    .datacontenttype = "application/json",
    .dataschema = "https://example.com/schemas/order.json",
    .subject = "orders/42",
    .time = "2024-05-01T12:30:00.125Z",
    .extensions = {{"partitionkey", "customer-7"}, {"workflowinstanceid", "wf-1"}},
    .data = R"({"order":42,"items":["book","pen"],"note":"caf\u00e9"})",
  };
  auto message = kafka_binding::encode(sent);
  ASSERT_TRUE(message) << message.error().message;

  const std::string topic = fresh_topic();
  auto producer = kafka_producer::create(
    {{"bootstrap.servers", *bootstrap}, {"enable.idempotence", "true"}});
  ASSERT_TRUE(producer) << producer.error().message;
  auto delivery = producer->produce_sync(topic, *message, 30s);
  ASSERT_TRUE(delivery) << delivery.error().message;
  EXPECT_EQ(delivery->topic, topic);
  ASSERT_TRUE(producer->flush(10s));

  auto consumer = kafka_consumer::create({{"bootstrap.servers", *bootstrap},
                                          {"group.id", topic},
                                          {"enable.auto.commit", "false"}});
  ASSERT_TRUE(consumer) << consumer.error().message;
  ASSERT_TRUE(consumer->assign({{topic, delivery->partition, delivery->offset}}));
  std::vector<kafka_record> records;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (records.empty() && std::chrono::steady_clock::now() < deadline) {
    auto polled = consumer->poll(500ms);
    ASSERT_TRUE(polled) << polled.error().message;
    records = std::move(*polled);
  }
  ASSERT_EQ(records.size(), 1u) << "nothing read back from " << topic;
  const kafka_record& record = records[0];
  EXPECT_EQ(record.topic, topic);
  EXPECT_EQ(record.partition, delivery->partition);
  EXPECT_EQ(record.offset, delivery->offset);
  EXPECT_GT(record.timestamp_ms, 0);

  // On the wire: the key is the partition key, attributes are ce_ headers,
  // the content type is content-type, and the value is the data, untouched.
  EXPECT_EQ(record.message.key, "customer-7");
  EXPECT_EQ(record.message.value, sent.data);
  std::vector<kafka_header> headers = {
    {"ce_specversion", "1.0"},
    {"ce_id", "evt-0001"},
    {"ce_source", "/meshflow/tests/transport"},
    {"ce_type", "com.example.order.created"},
    {"content-type", "application/json"},
    {"ce_dataschema", "https://example.com/schemas/order.json"},
    {"ce_subject", "orders/42"},
    {"ce_time", "2024-05-01T12:30:00.125Z"},
    {"ce_partitionkey", "customer-7"},
    {"ce_workflowinstanceid", "wf-1"},
  };
  EXPECT_EQ(record.message.headers, headers);

  auto received = kafka_binding::decode(record.message);
  ASSERT_TRUE(received) << received.error().message;
  EXPECT_EQ(received->id, sent.id);
  EXPECT_EQ(received->source, sent.source);
  EXPECT_EQ(received->specversion, sent.specversion);
  EXPECT_EQ(received->type, sent.type);
  EXPECT_EQ(received->datacontenttype, sent.datacontenttype);
  EXPECT_EQ(received->dataschema, sent.dataschema);
  EXPECT_EQ(received->subject, sent.subject);
  EXPECT_EQ(received->time, sent.time);
  EXPECT_EQ(received->extensions, sent.extensions);
  EXPECT_EQ(received->data, sent.data);
  EXPECT_EQ(*received, sent);

  auto position = consumer->assignment();
  ASSERT_TRUE(position) << position.error().message;
  ASSERT_EQ(position->size(), 1u);
  EXPECT_EQ((*position)[0].offset, delivery->offset + 1);
  EXPECT_TRUE(consumer->commit());
  EXPECT_TRUE(consumer->close());
}

} // namespace
} // namespace meshflow::transport
