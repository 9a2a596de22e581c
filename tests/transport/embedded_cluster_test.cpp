// The engine's Kafka needs on the embedded cluster (librdkafka's mock):
// the scenarios of kafka_scenarios.hpp, each on a cluster of its own. They
// also pin down where the mock differs from Kafka (embedded_cluster.hpp).

#include "meshflow/transport/embedded_cluster.hpp"

#include <gtest/gtest.h>

#include "kafka_scenarios.hpp"

namespace meshflow::transport::testing {
namespace {

class transport_embedded_cluster : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = embedded_cluster::start();
    ASSERT_TRUE(started) << started.error().message;
    cluster_.emplace(std::move(*started));
    target_ = {cluster_->bootstrap_servers(), target::embedded};
  }

  std::optional<embedded_cluster> cluster_;
  cluster_under_test target_;
};

TEST(transport_embedded_cluster_start, has_loopback_brokers_and_refuses_silly_sizes) {
  auto cluster = embedded_cluster::start(3);
  ASSERT_TRUE(cluster) << cluster.error().message;
  EXPECT_EQ(cluster->brokers(), 3);
  EXPECT_NE(cluster->bootstrap_servers().find("127.0.0.1:"), std::string::npos)
    << cluster->bootstrap_servers();
  auto admin = kafka_admin::create({{"bootstrap.servers", cluster->bootstrap_servers()}});
  ASSERT_TRUE(admin);
  EXPECT_TRUE(admin->embedded());
  // Three brokers take three replicas.
  EXPECT_TRUE(admin->ensure_topics(
    {{.name = "replicated", .partitions = 2, .replication_factor = 3}}, 10s));

  // Unlike a careful broker, the mock creates a topic on first use, with 4
  // partitions: make the engine's topics before anything produces to them.
  auto producer = kafka_producer::create(engine_producer_config(cluster->bootstrap_servers()));
  ASSERT_TRUE(producer) << producer.error().message;
  ASSERT_TRUE(producer->produce_sync("created-on-first-use", {.value = "v"}, 10s));
  auto count = admin->partition_count("created-on-first-use", 10s);
  ASSERT_TRUE(count) << count.error().message;
  EXPECT_EQ(*count, 4);

  auto none = embedded_cluster::start(0);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, errc::arguments);
}

TEST_F(transport_embedded_cluster, engine_topics_are_created_idempotently) {
  engine_topics_are_created_idempotently(target_);
}

TEST_F(transport_embedded_cluster, refusals_name_the_topic_and_the_reason) {
  refusals_name_the_topic_and_the_reason(target_);
}

TEST_F(transport_embedded_cluster, cleanup_policy_is_not_kept_by_the_mock) {
  existing_cleanup_policy_is_checked_on_a_broker(target_);
}

TEST_F(transport_embedded_cluster, keyed_records_land_where_partition_for_key_says) {
  keyed_records_land_where_partition_for_key_says(target_);
}

TEST_F(transport_embedded_cluster, group_members_share_partitions_and_hand_them_over) {
  group_members_share_partitions_and_hand_them_over(target_);
}

TEST_F(transport_embedded_cluster, committed_offsets_survive_a_restart) {
  committed_offsets_survive_a_restart(target_);
}

TEST_F(transport_embedded_cluster, paused_partitions_wait_and_seek_replays) {
  paused_partitions_wait_and_seek_replays(target_);
}

TEST_F(transport_embedded_cluster, read_to_end_returns_when_caught_up) {
  read_to_end_returns_when_caught_up(target_);
}

TEST_F(transport_embedded_cluster, transactions_commit_but_aborts_stay_visible) {
  committed_transactions_are_seen_and_aborted_ones_are_not(target_);
}

TEST_F(transport_embedded_cluster, offsets_in_a_transaction_are_not_stored) {
  offsets_sent_in_a_transaction_are_committed_with_it(target_);
}

TEST_F(transport_embedded_cluster, a_newer_producer_with_the_same_id_fences_the_older) {
  a_newer_producer_with_the_same_id_fences_the_older(target_);
}

TEST_F(transport_embedded_cluster, generations_are_not_checked_by_the_mock) {
  offsets_of_an_older_generation_are_refused(target_);
}

TEST_F(transport_embedded_cluster, a_poison_record_lands_in_the_dead_letter_topic) {
  a_poison_record_lands_in_the_dead_letter_topic(target_);
}

} // namespace
} // namespace meshflow::transport::testing
