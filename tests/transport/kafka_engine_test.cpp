// The engine's Kafka needs on a real Apache Kafka broker (the `kafka`
// ctest fixture): the scenarios of kafka_scenarios.hpp, which run on the
// embedded cluster too (embedded_cluster_test.cpp).

#include <gtest/gtest.h>

#include "kafka_scenarios.hpp"
#include "meshflow/testing/kafka.hpp"

namespace meshflow::transport::testing {
namespace {

class transport_kafka_engine : public ::testing::Test {
 protected:
  void SetUp() override {
    auto bootstrap = meshflow::testing::kafka_bootstrap();
    ASSERT_TRUE(bootstrap) << bootstrap.error().message;
    target_ = {*bootstrap, target::broker};
  }

  cluster_under_test target_;
};

TEST_F(transport_kafka_engine, engine_topics_are_created_idempotently) {
  engine_topics_are_created_idempotently(target_);
}

TEST_F(transport_kafka_engine, refusals_name_the_topic_and_the_reason) {
  refusals_name_the_topic_and_the_reason(target_);
}

TEST_F(transport_kafka_engine, existing_cleanup_policy_is_checked) {
  existing_cleanup_policy_is_checked_on_a_broker(target_);
}

TEST_F(transport_kafka_engine, keyed_records_land_where_partition_for_key_says) {
  keyed_records_land_where_partition_for_key_says(target_);
}

TEST_F(transport_kafka_engine, group_members_share_partitions_and_hand_them_over) {
  group_members_share_partitions_and_hand_them_over(target_);
}

TEST_F(transport_kafka_engine, committed_offsets_survive_a_restart) {
  committed_offsets_survive_a_restart(target_);
}

TEST_F(transport_kafka_engine, paused_partitions_wait_and_seek_replays) {
  paused_partitions_wait_and_seek_replays(target_);
}

TEST_F(transport_kafka_engine, read_to_end_returns_when_caught_up) {
  read_to_end_returns_when_caught_up(target_);
}

TEST_F(transport_kafka_engine, committed_transactions_are_seen_and_aborted_ones_are_not) {
  committed_transactions_are_seen_and_aborted_ones_are_not(target_);
}

TEST_F(transport_kafka_engine, offsets_sent_in_a_transaction_are_committed_with_it) {
  offsets_sent_in_a_transaction_are_committed_with_it(target_);
}

TEST_F(transport_kafka_engine, a_newer_producer_with_the_same_id_fences_the_older) {
  a_newer_producer_with_the_same_id_fences_the_older(target_);
}

TEST_F(transport_kafka_engine, offsets_of_an_older_generation_are_refused) {
  offsets_of_an_older_generation_are_refused(target_);
}

TEST_F(transport_kafka_engine, a_poison_record_lands_in_the_dead_letter_topic) {
  a_poison_record_lands_in_the_dead_letter_topic(target_);
}

} // namespace
} // namespace meshflow::transport::testing
