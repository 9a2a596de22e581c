// The engine's topics as values, and the partition of a key.

#include "meshflow/transport/kafka_topics.hpp"

#include <gtest/gtest.h>

#include "meshflow/transport/errc.hpp"

namespace meshflow::transport {
namespace {

using configs = std::map<std::string, std::string>;

TEST(transport_kafka_topics, defaults_follow_the_design_table) {
  auto topics = engine_topics::of();
  ASSERT_TRUE(topics) << topics.error().message;
  const std::string week = std::to_string(7LL * 24 * 3600 * 1000);
  const std::string month = std::to_string(30LL * 24 * 3600 * 1000);
  EXPECT_EQ(topics->definitions,
            (kafka_topic_spec{"meshflow.definitions", 1, 1, {{"cleanup.policy", "compact"}}}));
  EXPECT_EQ(topics->catalog,
            (kafka_topic_spec{"meshflow.catalog", 1, 1, {{"cleanup.policy", "compact"}}}));
  EXPECT_EQ(topics->commands,
            (kafka_topic_spec{"meshflow.commands", 24, 1,
                              {{"cleanup.policy", "delete"}, {"retention.ms", week}}}));
  EXPECT_EQ(topics->instances,
            (kafka_topic_spec{"meshflow.instances", 24, 1, {{"cleanup.policy", "compact"}}}));
  EXPECT_EQ(topics->history,
            (kafka_topic_spec{"meshflow.history", 24, 1,
                              {{"cleanup.policy", "delete"}, {"retention.ms", week}}}));
  EXPECT_EQ(topics->dlq, (kafka_topic_spec{"meshflow.dlq", 1, 1,
                                           {{"cleanup.policy", "delete"},
                                            {"retention.ms", month}}}));
  EXPECT_EQ(topics->events,
            (kafka_topic_spec{"meshflow.events", 24, 1,
                              {{"cleanup.policy", "delete"}, {"retention.ms", week}}}));
  auto all = topics->all();
  ASSERT_EQ(all.size(), 7u);
  EXPECT_EQ(all[0].name, "meshflow.definitions");
  EXPECT_EQ(all[5].name, "meshflow.events");
  EXPECT_EQ(all[6].name, "meshflow.dlq");
}

TEST(transport_kafka_topics, settings_shape_every_topic) {
  auto topics = engine_topics::of({.cluster = "prod-eu_1",
                                   .partitions = 48,
                                   .replication_factor = 3,
                                   .dlq_partitions = 2,
                                   .history_retention = std::chrono::hours{1}});
  ASSERT_TRUE(topics) << topics.error().message;
  for (const auto& spec : topics->all()) {
    EXPECT_TRUE(spec.name.starts_with("prod-eu_1.")) << spec.name;
    EXPECT_EQ(spec.replication_factor, 3);
    EXPECT_EQ(spec.configs.at("min.insync.replicas"), "2") << spec.name;
  }
  EXPECT_EQ(topics->commands.partitions, 48);
  EXPECT_EQ(topics->instances.partitions, 48);
  EXPECT_EQ(topics->history.partitions, 48);
  EXPECT_EQ(topics->definitions.partitions, 1);
  EXPECT_EQ(topics->dlq.partitions, 2);
  EXPECT_EQ(topics->history.configs.at("retention.ms"), "3600000");

  auto five = engine_topics::of({.replication_factor = 5});
  ASSERT_TRUE(five);
  EXPECT_EQ(five->commands.configs.at("min.insync.replicas"), "3");
  auto single = engine_topics::of({.replication_factor = 1});
  ASSERT_TRUE(single);
  EXPECT_FALSE(single->commands.configs.contains("min.insync.replicas"));
}

TEST(transport_kafka_topics, bad_settings_are_named) {
  for (const std::string& cluster :
       std::vector<std::string>{"", "has space", "slash/es", std::string(240, 'x')}) {
    auto topics = engine_topics::of({.cluster = cluster});
    ASSERT_FALSE(topics) << cluster;
    EXPECT_EQ(topics.error().code, errc::arguments);
    EXPECT_NE(topics.error().message.find("cluster name"), std::string::npos);
  }
  auto none = engine_topics::of({.partitions = 0});
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("partitions 0"), std::string::npos)
    << none.error().message;
  EXPECT_FALSE(engine_topics::of({.replication_factor = 0}));
  EXPECT_FALSE(engine_topics::of({.dlq_partitions = 0}));
  EXPECT_FALSE(engine_topics::of({.history_retention = std::chrono::milliseconds{0}}));
}

TEST(transport_kafka_topics, partition_for_key_is_the_java_clients_murmur2) {
  // Kafka's own murmur2 vectors (clients UtilsTest): "21" -> -973932308,
  // "foobar" -> -790332482, "abc" -> 479470107; partition =
  // (hash & 0x7fffffff) % count.
  EXPECT_EQ(partition_for_key("21", 24), 12);
  EXPECT_EQ(partition_for_key("foobar", 24), 6);
  EXPECT_EQ(partition_for_key("abc", 24), 3);
  EXPECT_EQ(partition_for_key("abc", 1), 0);
  for (int i = 0; i < 100; ++i) {
    auto p = partition_for_key("instance-" + std::to_string(i), 24);
    EXPECT_GE(p, 0);
    EXPECT_LT(p, 24);
  }
}

} // namespace
} // namespace meshflow::transport
