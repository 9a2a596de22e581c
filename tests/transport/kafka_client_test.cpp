// The Kafka client without a broker: configuration errors, and delivery
// failures reported rather than lost. (With a broker: kafka_roundtrip_test.)

#include "meshflow/transport/kafka_client.hpp"

#include <gtest/gtest.h>

#include "meshflow/transport/errc.hpp"

namespace meshflow::transport {
namespace {

using namespace std::chrono_literals;

// Nothing listens on port 1: every connection is refused at once.
kafka_config unreachable(std::string message_timeout_ms) {
  return {{"bootstrap.servers", "127.0.0.1:1"},
          {"message.timeout.ms", std::move(message_timeout_ms)},
          {"log_level", "0"}};
}

TEST(transport_kafka_client, unknown_configuration_is_named) {
  auto producer = kafka_producer::create({{"bootstrap.servers", "127.0.0.1:1"},
                                          {"no.such.property", "1"}});
  ASSERT_FALSE(producer);
  EXPECT_EQ(producer.error().code, errc::kafka);
  EXPECT_NE(producer.error().message.find("\"no.such.property\""), std::string::npos)
    << producer.error().message;

  auto bad_value = kafka_producer::create({{"acks", "sometimes"}});
  ASSERT_FALSE(bad_value);
  EXPECT_NE(bad_value.error().message.find("\"acks\""), std::string::npos);
}

TEST(transport_kafka_client, consumer_needs_a_group_id) {
  auto consumer = kafka_consumer::create({{"bootstrap.servers", "127.0.0.1:1"}});
  ASSERT_FALSE(consumer);
  EXPECT_EQ(consumer.error().code, errc::kafka);
  EXPECT_NE(consumer.error().message.find("group.id"), std::string::npos)
    << consumer.error().message;
}

TEST(transport_kafka_client, produce_sync_reports_a_failed_delivery) {
  auto producer = kafka_producer::create(unreachable("200"));
  ASSERT_TRUE(producer) << producer.error().message;
  auto delivery = producer->produce_sync("t", kafka_message{.key = "k", .value = "v"}, 10s);
  ASSERT_FALSE(delivery);
  EXPECT_EQ(delivery.error().code, errc::kafka);
  EXPECT_NE(delivery.error().message.find("delivery failed: topic \"t\""),
            std::string::npos)
    << delivery.error().message;
  EXPECT_TRUE(producer->flush(1s)); // reported once, by produce_sync
}

TEST(transport_kafka_client, flush_reports_failed_deliveries_once) {
  auto producer = kafka_producer::create(unreachable("200"));
  ASSERT_TRUE(producer) << producer.error().message;
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(producer->produce("t", kafka_message{.value = "v", .headers = {{"h", std::nullopt}}}));
  EXPECT_EQ(producer->pending(), 3u);
  auto flushed = producer->flush(10s);
  ASSERT_FALSE(flushed);
  EXPECT_EQ(flushed.error().code, errc::kafka);
  EXPECT_EQ(flushed.error().message.rfind("3 records failed delivery; the first: topic "
                                          "\"t\"",
                                          0),
            0u)
    << flushed.error().message;
  EXPECT_EQ(producer->pending(), 0u);
  EXPECT_TRUE(producer->flush(1s));
}

TEST(transport_kafka_client, flush_times_out_with_the_reason) {
  auto producer = kafka_producer::create(unreachable("1000"));
  ASSERT_TRUE(producer) << producer.error().message;
  ASSERT_TRUE(producer->produce("t", kafka_message{.value = "v"}));
  auto flushed = producer->flush(50ms);
  ASSERT_FALSE(flushed);
  EXPECT_EQ(flushed.error().code, errc::timeout);
  EXPECT_EQ(flushed.error().message.rfind("flush: 1 record not delivered after 50 ms", 0), 0u)
    << flushed.error().message;
}

TEST(transport_kafka_client, produce_sync_times_out) {
  auto producer = kafka_producer::create(unreachable("1000"));
  ASSERT_TRUE(producer) << producer.error().message;
  auto delivery = producer->produce_sync("t", kafka_message{}, 50ms);
  ASSERT_FALSE(delivery);
  EXPECT_EQ(delivery.error().code, errc::timeout);
  // The record is still queued; destroying the producer must not leak it.
}

TEST(transport_kafka_client, poll_without_records_returns_nothing_in_time) {
  auto consumer = kafka_consumer::create(
    {{"bootstrap.servers", "127.0.0.1:1"}, {"group.id", "g"}, {"log_level", "0"}});
  ASSERT_TRUE(consumer) << consumer.error().message;
  auto records = consumer->poll(50ms, 10);
  ASSERT_TRUE(records) << records.error().message;
  EXPECT_TRUE(records->empty());
  auto assigned = consumer->assignment();
  ASSERT_TRUE(assigned);
  EXPECT_TRUE(assigned->empty());
  EXPECT_TRUE(consumer->close());
}

TEST(transport_kafka_client, transactions_need_a_transactional_id) {
  auto producer = kafka_producer::create(unreachable("1000"));
  ASSERT_TRUE(producer) << producer.error().message;
  auto init = producer->init_transactions(100ms);
  ASSERT_FALSE(init);
  EXPECT_EQ(init.error().code, errc::kafka);
  EXPECT_EQ(init.error().message.rfind("init_transactions: ", 0), 0u) << init.error().message;
  auto begin = producer->begin_transaction();
  ASSERT_FALSE(begin);
  EXPECT_EQ(begin.error().code, errc::kafka);
}

TEST(transport_kafka_client, a_transaction_that_cannot_start_in_time_is_retriable) {
  auto config = unreachable("1000");
  config.erase("message.timeout.ms"); // follows transaction.timeout.ms
  config["transactional.id"] = "t";
  auto producer = kafka_producer::create(config);
  ASSERT_TRUE(producer) << producer.error().message;
  auto init = producer->init_transactions(100ms);
  ASSERT_FALSE(init);
  EXPECT_EQ(init.error().code, errc::kafka_retriable) << init.error().message;
  EXPECT_NE(init.error().message.find("may be repeated"), std::string::npos)
    << init.error().message;
  // Out of order: no transaction begins before init_transactions succeeded.
  auto begin = producer->begin_transaction();
  ASSERT_FALSE(begin);
  EXPECT_NE(begin.error().code, errc::kafka_abortable) << begin.error().message;
}

TEST(transport_kafka_client, engine_configurations_are_accepted_by_librdkafka) {
  auto quiet = [](kafka_config config) {
    config.emplace("log_level", "0");
    return config;
  };
  auto plain = kafka_producer::create(quiet(engine_producer_config("127.0.0.1:1")));
  ASSERT_TRUE(plain) << plain.error().message;
  auto transactional
    = kafka_producer::create(quiet(engine_producer_config("127.0.0.1:1", "node-1")));
  ASSERT_TRUE(transactional) << transactional.error().message;
  auto config = engine_producer_config("127.0.0.1:1", "node-1");
  EXPECT_EQ(config.at("enable.idempotence"), "true");
  EXPECT_EQ(config.at("partitioner"), "murmur2_random");
  EXPECT_EQ(config.at("transactional.id"), "node-1");
  auto consumer = kafka_consumer::create(quiet(engine_consumer_config("127.0.0.1:1", "g")));
  ASSERT_TRUE(consumer) << consumer.error().message;
  EXPECT_EQ(engine_consumer_config("b", "g").at("partition.assignment.strategy"),
            "cooperative-sticky");
  EXPECT_EQ(engine_consumer_config("b", "g").at("isolation.level"), "read_committed");
  auto metadata = consumer->group_metadata();
  ASSERT_TRUE(metadata) << metadata.error().message;
  EXPECT_FALSE(metadata->serialized.empty());
  EXPECT_TRUE(consumer->close());
}

} // namespace
} // namespace meshflow::transport
