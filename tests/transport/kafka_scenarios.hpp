#pragma once

// What the engine needs of Kafka, as scenarios run twice: against the
// embedded cluster (embedded_cluster_test.cpp, label unit) and against the
// real broker of the `kafka` fixture (kafka_engine_test.cpp, label
// integration). Same client code on both; where librdkafka 2.0's mock
// behaves differently from Kafka, the scenario says so and checks what the
// mock does, so that the difference stays documented by a test (and the
// test tells when a librdkafka upgrade changes it).

#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "kafka_test_support.hpp"
#include "meshflow/transport/dead_letter.hpp"
#include "meshflow/transport/errc.hpp"
#include "meshflow/transport/kafka_admin.hpp"
#include "meshflow/transport/kafka_binding.hpp"
#include "meshflow/transport/kafka_client.hpp"
#include "meshflow/transport/kafka_topics.hpp"

namespace meshflow::transport::testing {

enum class target : std::uint8_t { embedded, broker };

struct cluster_under_test {
  std::string bootstrap;
  target kind;
  bool embedded() const { return kind == target::embedded; }
};

inline bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

inline std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

/// Creates `name` with `partitions` partitions (fails the test if it cannot).
inline void make_topic(const cluster_under_test& c, const std::string& name,
                       std::int32_t partitions) {
  auto admin = kafka_admin::create({{"bootstrap.servers", c.bootstrap}});
  ASSERT_TRUE(admin) << admin.error().message;
  auto ok = admin->ensure_topics({{.name = name, .partitions = partitions}}, 30s);
  ASSERT_TRUE(ok) << ok.error().message;
}

/// The engine's consumer configuration. On the mock, a rebalance after the
/// first waits for the members up to the session timeout less 1 s: a
/// shorter one keeps the tests quick, but not below the 3 s of the first
/// join (members would time out while they wait for it).
inline kafka_config group_config(const cluster_under_test& c, const std::string& group) {
  auto config = engine_consumer_config(c.bootstrap, group);
  if (c.embedded())
    config["session.timeout.ms"] = "5000";
  return config;
}

inline expected<kafka_producer> plain_producer(const cluster_under_test& c) {
  return kafka_producer::create(engine_producer_config(c.bootstrap));
}

/// Every record of `topic` partition `partition`, read to its end.
inline std::vector<kafka_record> read_all(const cluster_under_test& c,
                                          const std::string& topic, std::int32_t partition,
                                          const std::string& isolation = "read_committed") {
  std::vector<kafka_record> records;
  auto summary = read_to_end({{"bootstrap.servers", c.bootstrap},
                              {"isolation.level", isolation}},
                             topic, partition,
                             [&](const kafka_record& r) { records.push_back(r); }, 30s);
  EXPECT_TRUE(summary) << summary.error().message;
  return records;
}

// -- topics -------------------------------------------------------------------

inline void engine_topics_are_created_idempotently(const cluster_under_test& c) {
  auto admin = kafka_admin::create({{"bootstrap.servers", c.bootstrap}});
  ASSERT_TRUE(admin) << admin.error().message;
  EXPECT_EQ(admin->embedded(), c.embedded());

  const std::string cluster = fresh_name("mf");
  auto topics = engine_topics::of({.cluster = cluster, .partitions = 6});
  ASSERT_TRUE(topics) << topics.error().message;
  auto created = admin->ensure_topics(topics->all(), 30s);
  ASSERT_TRUE(created) << created.error().message;
  for (const auto& spec : topics->all()) {
    auto count = admin->partition_count(spec.name, 30s);
    ASSERT_TRUE(count) << count.error().message;
    EXPECT_EQ(*count, spec.partitions) << spec.name;
  }

  // Again: everything exists as specified, which is fine.
  auto again = admin->ensure_topics(topics->all(), 30s);
  EXPECT_TRUE(again) << again.error().message;

  // The same cluster with another P: each partitioned topic is named.
  auto other = engine_topics::of({.cluster = cluster, .partitions = 8});
  ASSERT_TRUE(other);
  auto refused = admin->ensure_topics(other->all(), 30s);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, errc::kafka);
  for (std::string_view role : {"commands", "instances", "history"})
    EXPECT_TRUE(contains(refused.error().message,
                         fmt::format("topic \"{}.{}\" exists with 6 partitions, 8 needed",
                                     cluster, role)))
      << refused.error().message;
  EXPECT_FALSE(contains(refused.error().message, cluster + ".dlq"))
    << refused.error().message;

  // A business topic on demand (an AsyncAPI channel).
  const std::string channel = fresh_name("orders.created");
  auto business = admin->ensure_topics({{.name = channel, .partitions = 3}}, 30s);
  ASSERT_TRUE(business) << business.error().message;
  auto count = admin->partition_count(channel, 30s);
  ASSERT_TRUE(count) << count.error().message;
  EXPECT_EQ(*count, 3);
}

inline void refusals_name_the_topic_and_the_reason(const cluster_under_test& c) {
  auto admin = kafka_admin::create({{"bootstrap.servers", c.bootstrap}});
  ASSERT_TRUE(admin) << admin.error().message;

  // More replicas than brokers: the broker (or the embedded admin, as a
  // broker would) refuses, and the message says which topic and why.
  const std::string replicated = fresh_name("replicated");
  auto refused = admin->ensure_topics(
    {{.name = replicated, .partitions = 2, .replication_factor = 3}}, 30s);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, errc::kafka);
  EXPECT_TRUE(contains(refused.error().message,
                       fmt::format("topic \"{}\": the broker refused to create it",
                                   replicated)))
    << refused.error().message;
  EXPECT_TRUE(contains(refused.error().message, "INVALID_REPLICATION_FACTOR"))
    << refused.error().message;
  EXPECT_TRUE(contains(lowercase(refused.error().message), "replication factor"))
    << refused.error().message;

  // Describing a missing topic says so, and does not create it.
  const std::string missing = fresh_name("missing");
  for (int i = 0; i < 2; ++i) {
    auto count = admin->partition_count(missing, 10s);
    ASSERT_TRUE(count) << count.error().message;
    EXPECT_EQ(*count, std::nullopt);
  }

  // Bad specs are refused before anything is asked.
  auto bad = admin->ensure_topics({{.name = fresh_name("bad"), .partitions = 0}}, 10s);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, errc::arguments);
}

/// A real broker keeps topic configs and `ensure_topics` checks the cleanup
/// policy of an existing topic; the mock keeps none, so there it cannot.
inline void existing_cleanup_policy_is_checked_on_a_broker(const cluster_under_test& c) {
  auto admin = kafka_admin::create({{"bootstrap.servers", c.bootstrap}});
  ASSERT_TRUE(admin) << admin.error().message;
  const std::string name = fresh_name("snapshots");
  kafka_topic_spec compacted{
    .name = name, .partitions = 2, .configs = {{"cleanup.policy", "compact"}}};
  ASSERT_TRUE(admin->ensure_topics({compacted}, 30s));
  kafka_topic_spec deleting = compacted;
  deleting.configs["cleanup.policy"] = "delete";
  auto checked = admin->ensure_topics({deleting}, 30s);
  if (c.embedded()) {
    EXPECT_TRUE(checked) << "the mock keeps no configs: " << checked.error().message;
    return;
  }
  ASSERT_FALSE(checked);
  EXPECT_TRUE(contains(checked.error().message,
                       fmt::format("topic \"{}\" exists with cleanup.policy=compact, "
                                   "delete needed",
                                   name)))
    << checked.error().message;
}

// -- producing and consuming ----------------------------------------------------

inline void keyed_records_land_where_partition_for_key_says(const cluster_under_test& c) {
  const std::string topic = fresh_name("keyed");
  ASSERT_NO_FATAL_FAILURE(make_topic(c, topic, 4));
  auto producer = plain_producer(c);
  ASSERT_TRUE(producer) << producer.error().message;
  std::map<std::string, std::int32_t> partition_of;
  for (int i = 0; i < 40; ++i) {
    std::string key = fmt::format("instance-{}", i);
    auto delivery = producer->produce_sync(
      topic,
      {.key = key, .value = fmt::format("v{}", i), .headers = {{"h", std::to_string(i)}}},
      30s);
    ASSERT_TRUE(delivery) << delivery.error().message;
    EXPECT_EQ(delivery->partition, partition_for_key(key, 4)) << key;
    partition_of[key] = delivery->partition;
  }
  ASSERT_TRUE(producer->flush(10s));

  // Read back from every partition: the same keys, values and headers.
  std::size_t seen = 0;
  for (std::int32_t p = 0; p < 4; ++p)
    for (const auto& r : read_all(c, topic, p)) {
      ++seen;
      ASSERT_TRUE(r.message.key);
      EXPECT_EQ(partition_of.at(*r.message.key), p);
      auto i = r.message.key->substr(std::string_view("instance-").size());
      EXPECT_EQ(r.message.value, "v" + i);
      EXPECT_EQ(r.message.headers, (std::vector<kafka_header>{{"h", i}}));
    }
  EXPECT_EQ(seen, 40u);
}

inline void group_members_share_partitions_and_hand_them_over(const cluster_under_test& c) {
  const std::string topic = fresh_name("shared");
  const std::string group = fresh_name("group");
  ASSERT_NO_FATAL_FAILURE(make_topic(c, topic, 4));

  recording_listener first_hears, second_hears;
  auto first = kafka_consumer::create(group_config(c, group));
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_TRUE(first->subscribe({topic}, &first_hears));
  ASSERT_TRUE(poll_until({&*first}, [&] { return first_hears.owned.size() == 4; }, 60s));

  auto second = kafka_consumer::create(group_config(c, group));
  ASSERT_TRUE(second) << second.error().message;
  ASSERT_TRUE(second->subscribe({topic}, &second_hears));
  ASSERT_TRUE(poll_until({&*first, &*second}, [&] {
    return first_hears.owned.size() == 2 && second_hears.owned.size() == 2;
  }, 60s));

  // Shared, and incrementally: the first gave up only the two that moved.
  std::set<std::int32_t> all = first_hears.owned;
  all.insert(second_hears.owned.begin(), second_hears.owned.end());
  EXPECT_EQ(all, (std::set<std::int32_t>{0, 1, 2, 3}));
  ASSERT_EQ(first_hears.count(recording_listener::kind::revoked), 1u);
  const auto& revoked = first_hears.events.back();
  EXPECT_EQ(revoked.what, recording_listener::kind::revoked);
  EXPECT_EQ(revoked.partitions, second_hears.owned);
  EXPECT_EQ(first_hears.count(recording_listener::kind::lost), 0u);
  // The cooperative protocol's second round gave the first nothing new,
  // and it heard so.
  EXPECT_GE(first_hears.empty_assignments, 1u);

  // The second leaves: it hears its partitions go, the first gets exactly those.
  const std::set<std::int32_t> moving = second_hears.owned;
  ASSERT_TRUE(second->close());
  EXPECT_EQ(second_hears.events.back().what, recording_listener::kind::revoked);
  EXPECT_EQ(second_hears.events.back().partitions, moving);
  EXPECT_TRUE(second_hears.owned.empty());
  ASSERT_TRUE(poll_until({&*first}, [&] { return first_hears.owned.size() == 4; }, 60s));
  EXPECT_EQ(first_hears.events.back().what, recording_listener::kind::assigned);
  EXPECT_EQ(first_hears.events.back().partitions, moving);
  auto assigned = first->assignment();
  ASSERT_TRUE(assigned) << assigned.error().message;
  EXPECT_EQ(assigned->size(), 4u);
  EXPECT_TRUE(first->close());
}

inline void committed_offsets_survive_a_restart(const cluster_under_test& c) {
  const std::string topic = fresh_name("restart");
  const std::string group = fresh_name("group");
  ASSERT_NO_FATAL_FAILURE(make_topic(c, topic, 1));
  auto producer = plain_producer(c);
  ASSERT_TRUE(producer) << producer.error().message;
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(producer->produce(topic, {.key = "k", .value = std::to_string(i)}));
  ASSERT_TRUE(producer->flush(30s));

  {
    auto consumer = kafka_consumer::create(group_config(c, group));
    ASSERT_TRUE(consumer) << consumer.error().message;
    ASSERT_TRUE(consumer->subscribe({topic}));
    std::vector<kafka_record> records;
    ASSERT_TRUE(poll_until({&*consumer}, [&] { return records.size() >= 6; }, 60s,
                           {&records}));
    EXPECT_EQ(records[0].offset, 0);
    ASSERT_TRUE(consumer->commit({{topic, 0, 6}})); // records 0..5 are done
    auto committed = consumer->committed({{topic, 0}}, 30s);
    ASSERT_TRUE(committed) << committed.error().message;
    EXPECT_EQ((*committed)[0].offset, 6);
    ASSERT_TRUE(consumer->close());
  }

  auto restarted = kafka_consumer::create(group_config(c, group));
  ASSERT_TRUE(restarted) << restarted.error().message;
  ASSERT_TRUE(restarted->subscribe({topic}));
  std::vector<kafka_record> records;
  ASSERT_TRUE(poll_until({&*restarted}, [&] { return records.size() >= 4; }, 60s,
                         {&records}));
  EXPECT_EQ(records[0].offset, 6);
  EXPECT_EQ(values_of(records), (std::vector<std::string>{"6", "7", "8", "9"}));
  EXPECT_TRUE(restarted->close());
}

inline void paused_partitions_wait_and_seek_replays(const cluster_under_test& c) {
  const std::string topic = fresh_name("paused");
  const std::string group = fresh_name("group");
  ASSERT_NO_FATAL_FAILURE(make_topic(c, topic, 2));
  auto producer = plain_producer(c);
  ASSERT_TRUE(producer) << producer.error().message;
  for (std::int32_t p = 0; p < 2; ++p)
    for (int i = 0; i < 5; ++i)
      ASSERT_TRUE(producer->produce(topic, {.value = fmt::format("p{}-{}", p, i)}, p));
  ASSERT_TRUE(producer->flush(30s));

  // As a recovering owner does: partition 0 is paused as it is assigned,
  // from inside the listener.
  auto consumer = kafka_consumer::create(group_config(c, group));
  ASSERT_TRUE(consumer) << consumer.error().message;
  recording_listener hears;
  hears.after_assigned = [&](const std::vector<kafka_topic_partition>& ps) {
    for (const auto& p : ps) {
      if (p.partition == 0) {
        EXPECT_TRUE(consumer->pause({p}));
      }
    }
  };
  ASSERT_TRUE(consumer->subscribe({topic}, &hears));
  std::vector<kafka_record> records;
  auto of = [&](std::int32_t p) {
    return std::count_if(records.begin(), records.end(),
                         [&](const kafka_record& r) { return r.partition == p; });
  };
  ASSERT_TRUE(poll_until({&*consumer}, [&] { return of(1) == 5; }, 60s, {&records}));
  EXPECT_EQ(of(0), 0) << "a paused partition returned records";

  ASSERT_TRUE(consumer->resume({{topic, 0}}));
  ASSERT_TRUE(poll_until({&*consumer}, [&] { return of(0) == 5; }, 60s, {&records}));

  // Replaying: back to offset 2 of partition 0.
  ASSERT_TRUE(consumer->seek({topic, 0, 2}, 10s));
  std::vector<kafka_record> replayed;
  ASSERT_TRUE(poll_until({&*consumer}, [&] { return replayed.size() >= 3; }, 60s,
                         {&replayed}));
  EXPECT_EQ(values_of(replayed), (std::vector<std::string>{"p0-2", "p0-3", "p0-4"}));
  EXPECT_TRUE(consumer->close());
}

inline void read_to_end_returns_when_caught_up(const cluster_under_test& c) {
  const std::string topic = fresh_name("snapshots");
  ASSERT_NO_FATAL_FAILURE(make_topic(c, topic, 2));
  auto producer = plain_producer(c);
  ASSERT_TRUE(producer) << producer.error().message;
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(producer->produce(topic, {.key = fmt::format("i{}", i % 7),
                                          .value = std::to_string(i)},
                                  1));
  ASSERT_TRUE(producer->flush(30s));
  // A committed transaction at the end: on a broker its marker is the
  // partition's last offset, which the reader steps over.
  auto transactional = kafka_producer::create(
    engine_producer_config(c.bootstrap, fresh_name("reader-txn")));
  ASSERT_TRUE(transactional) << transactional.error().message;
  ASSERT_TRUE(transactional->init_transactions(30s));
  ASSERT_TRUE(transactional->begin_transaction());
  ASSERT_TRUE(transactional->produce(topic, {.key = "i0", .value = "20"}, 1));
  ASSERT_TRUE(transactional->commit_transaction(30s));
  auto consumer = kafka_consumer::create(
    {{"bootstrap.servers", c.bootstrap}, {"group.id", fresh_name("g")}});
  ASSERT_TRUE(consumer) << consumer.error().message;
  // The coordinator writes the commit's marker a moment after the commit
  // returns: wait for it, so that the reader has a marker to step over.
  if (!c.embedded()) {
    auto deadline = std::chrono::steady_clock::now() + 30s;
    for (;;) {
      auto marks = consumer->watermarks(topic, 1, 30s);
      ASSERT_TRUE(marks) << marks.error().message;
      if (marks->high == 22)
        break;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no commit marker";
      std::this_thread::sleep_for(10ms); // the broker's pace, not a test's
    }
  }

  std::vector<kafka_record> records;
  auto summary = read_to_end({{"bootstrap.servers", c.bootstrap},
                              {"isolation.level", "read_committed"}},
                             topic, 1, [&](const kafka_record& r) { records.push_back(r); },
                             30s);
  ASSERT_TRUE(summary) << summary.error().message;
  EXPECT_EQ(summary->records, 21u);
  ASSERT_EQ(records.size(), 21u);
  for (int i = 0; i < 21; ++i)
    EXPECT_EQ(records[i].message.value, std::to_string(i));
  EXPECT_EQ(summary->end_offset, c.embedded() ? 21 : 22) << "21 records, + 1 marker";

  auto marks = consumer->watermarks(topic, 1, 30s);
  ASSERT_TRUE(marks) << marks.error().message;
  EXPECT_EQ(*marks, (kafka_watermarks{0, summary->end_offset}));

  // A transaction still open on the partition holds a read_committed reader
  // back until it ends (a real broker; the mock has no stable offset).
  ASSERT_TRUE(transactional->begin_transaction());
  ASSERT_TRUE(transactional->produce(topic, {.key = "i1", .value = "21"}, 1));
  ASSERT_TRUE(transactional->flush(30s));
  std::size_t more = 0;
  auto held = read_to_end({{"bootstrap.servers", c.bootstrap},
                           {"isolation.level", "read_committed"}},
                          topic, 1, [&](const kafka_record&) { ++more; }, 1s);
  if (c.embedded()) {
    ASSERT_TRUE(held) << held.error().message;
    EXPECT_EQ(held->records, 22u) << "the mock shows an open transaction's records";
  } else {
    ASSERT_FALSE(held) << "read past an open transaction";
    EXPECT_EQ(held.error().code, errc::timeout);
    EXPECT_TRUE(contains(held.error().message, "transaction still open"))
      << held.error().message;
    EXPECT_EQ(more, 21u);
  }
  ASSERT_TRUE(transactional->commit_transaction(30s));
  auto after = read_to_end({{"bootstrap.servers", c.bootstrap},
                            {"isolation.level", "read_committed"}},
                           topic, 1, [](const kafka_record&) {}, 30s);
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(after->records, 22u);

  // An empty partition is caught up at once.
  auto empty = read_to_end({{"bootstrap.servers", c.bootstrap}}, topic, 0,
                           [](const kafka_record&) { ADD_FAILURE(); }, 30s);
  ASSERT_TRUE(empty) << empty.error().message;
  EXPECT_EQ(empty->records, 0u);
  EXPECT_EQ(empty->end_offset, 0);

  // A partition that does not exist is an error, not a wait.
  auto missing = read_to_end({{"bootstrap.servers", c.bootstrap}}, topic, 7,
                             [](const kafka_record&) {}, 30s);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, errc::kafka) << missing.error().message;
}

// -- transactions ---------------------------------------------------------------

inline void committed_transactions_are_seen_and_aborted_ones_are_not(
  const cluster_under_test& c) {
  const std::string topic = fresh_name("txn");
  ASSERT_NO_FATAL_FAILURE(make_topic(c, topic, 1));
  auto producer
    = kafka_producer::create(engine_producer_config(c.bootstrap, fresh_name("txn-id")));
  ASSERT_TRUE(producer) << producer.error().message;
  ASSERT_TRUE(producer->init_transactions(30s));

  auto batch = [&](std::string value, bool commit) {
    ASSERT_TRUE(producer->begin_transaction());
    ASSERT_TRUE(producer->produce(topic, {.key = "k", .value = value + "-1"}));
    ASSERT_TRUE(producer->produce(topic, {.key = "k", .value = value + "-2"}));
    // On the broker before the end, so that an abort has something to hide.
    ASSERT_TRUE(producer->flush(30s));
    auto ended = commit ? producer->commit_transaction(30s)
                        : producer->abort_transaction(30s);
    ASSERT_TRUE(ended) << ended.error().message;
    EXPECT_EQ(producer->pending(), 0u);
  };
  ASSERT_NO_FATAL_FAILURE(batch("a", true));
  ASSERT_NO_FATAL_FAILURE(batch("b", false));
  ASSERT_NO_FATAL_FAILURE(batch("c", true));
  EXPECT_TRUE(producer->flush(1s)) << "an abort's purged records are not failures";

  // Out of order: produce outside a transaction is refused, by name.
  auto outside = producer->produce(topic, {.value = "x"});
  ASSERT_FALSE(outside);
  EXPECT_EQ(outside.error().code, errc::kafka);
  EXPECT_TRUE(contains(outside.error().message, "between begin_transaction"))
    << outside.error().message;

  const std::vector<std::string> committed = {"a-1", "a-2", "c-1", "c-2"};
  const std::vector<std::string> everything = {"a-1", "a-2", "b-1", "b-2", "c-1", "c-2"};
  EXPECT_EQ(values_of(read_all(c, topic, 0, "read_uncommitted")), everything);
  // The mock writes no transaction markers: its read_committed readers see
  // aborted records too.
  EXPECT_EQ(values_of(read_all(c, topic, 0, "read_committed")),
            c.embedded() ? everything : committed);
}

inline void offsets_sent_in_a_transaction_are_committed_with_it(
  const cluster_under_test& c) {
  const std::string input = fresh_name("commands");
  const std::string output = fresh_name("instances");
  const std::string group = fresh_name("group");
  ASSERT_NO_FATAL_FAILURE(make_topic(c, input, 1));
  ASSERT_NO_FATAL_FAILURE(make_topic(c, output, 1));
  auto plain = plain_producer(c);
  ASSERT_TRUE(plain) << plain.error().message;
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(plain->produce(input, {.key = "wf-1", .value = fmt::format("cmd{}", i)}));
  ASSERT_TRUE(plain->flush(30s));

  auto consumer = kafka_consumer::create(group_config(c, group));
  ASSERT_TRUE(consumer) << consumer.error().message;
  ASSERT_TRUE(consumer->subscribe({input}));
  std::vector<kafka_record> batch;
  ASSERT_TRUE(poll_until({&*consumer}, [&] { return batch.size() == 3; }, 60s, {&batch}));

  auto producer
    = kafka_producer::create(engine_producer_config(c.bootstrap, fresh_name("node")));
  ASSERT_TRUE(producer) << producer.error().message;
  ASSERT_TRUE(producer->init_transactions(30s));

  // An aborted batch commits no offsets...
  ASSERT_TRUE(producer->begin_transaction());
  ASSERT_TRUE(producer->produce(output, {.key = "wf-1", .value = "aborted snapshot"}));
  auto metadata = consumer->group_metadata();
  ASSERT_TRUE(metadata) << metadata.error().message;
  EXPECT_FALSE(metadata->serialized.empty());
  auto sent = producer->send_offsets_to_transaction({{input, 0, 3}}, *metadata, 30s);
  ASSERT_TRUE(sent) << sent.error().message;
  ASSERT_TRUE(producer->abort_transaction(30s));
  auto after_abort = consumer->committed({{input, 0}}, 30s);
  ASSERT_TRUE(after_abort) << after_abort.error().message;
  EXPECT_EQ((*after_abort)[0].offset, kafka_offset_invalid);

  // ...a committed one commits them with its records.
  ASSERT_TRUE(producer->begin_transaction());
  ASSERT_TRUE(producer->produce(output, {.key = "wf-1", .value = "snapshot"}));
  metadata = consumer->group_metadata();
  ASSERT_TRUE(metadata) << metadata.error().message;
  sent = producer->send_offsets_to_transaction({{input, 0, 3}}, *metadata, 30s);
  ASSERT_TRUE(sent) << sent.error().message;
  auto committed = producer->commit_transaction(30s);
  ASSERT_TRUE(committed) << committed.error().message;

  auto offsets = consumer->committed({{input, 0}}, 30s);
  ASSERT_TRUE(offsets) << offsets.error().message;
  // The mock accepts TxnOffsetCommit but stores nothing.
  EXPECT_EQ((*offsets)[0].offset, c.embedded() ? kafka_offset_invalid : 3);
  EXPECT_TRUE(consumer->close());

  // Garbage for group metadata is refused, locally.
  ASSERT_TRUE(producer->begin_transaction());
  auto garbage = producer->send_offsets_to_transaction({{input, 0, 3}},
                                                       {.serialized = "garbage"}, 30s);
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, errc::kafka);
  EXPECT_TRUE(producer->abort_transaction(30s));
}

inline void a_newer_producer_with_the_same_id_fences_the_older(
  const cluster_under_test& c) {
  const std::string topic = fresh_name("fenced");
  const std::string id = fresh_name("node-1");
  ASSERT_NO_FATAL_FAILURE(make_topic(c, topic, 1));

  auto zombie = kafka_producer::create(engine_producer_config(c.bootstrap, id));
  ASSERT_TRUE(zombie) << zombie.error().message;
  ASSERT_TRUE(zombie->init_transactions(30s));
  ASSERT_TRUE(zombie->begin_transaction());
  ASSERT_TRUE(zombie->produce(topic, {.key = "k", .value = "zombie"}));
  ASSERT_TRUE(zombie->flush(30s)) << "the record reaches the broker before the fencing";

  auto successor = kafka_producer::create(engine_producer_config(c.bootstrap, id));
  ASSERT_TRUE(successor) << successor.error().message;
  auto init = successor->init_transactions(30s);
  ASSERT_TRUE(init) << init.error().message;

  auto commit = zombie->commit_transaction(30s);
  if (c.embedded()) {
    // The mock gives the successor a new epoch but does not check epochs
    // against it: the zombie commits.
    EXPECT_TRUE(commit) << commit.error().message;
    ASSERT_TRUE(successor->begin_transaction());
    ASSERT_TRUE(successor->produce(topic, {.key = "k", .value = "successor"}));
    ASSERT_TRUE(successor->commit_transaction(30s));
    EXPECT_EQ(values_of(read_all(c, topic, 0)),
              (std::vector<std::string>{"zombie", "successor"}));
    return;
  }
  ASSERT_FALSE(commit) << "a fenced producer committed";
  EXPECT_EQ(commit.error().code, errc::kafka_fenced) << commit.error().message;
  EXPECT_TRUE(contains(commit.error().message, "fenced")) << commit.error().message;
  // And it stays unusable.
  auto produce = zombie->produce(topic, {.value = "more"});
  ASSERT_FALSE(produce);
  EXPECT_EQ(produce.error().code, errc::kafka_fenced) << produce.error().message;

  ASSERT_TRUE(successor->begin_transaction());
  ASSERT_TRUE(successor->produce(topic, {.key = "k", .value = "successor"}));
  ASSERT_TRUE(successor->commit_transaction(30s));
  EXPECT_EQ(values_of(read_all(c, topic, 0)), (std::vector<std::string>{"successor"}));
}

/// KIP-447: offsets sent with the group metadata of an older generation
/// (a member that has been through a rebalance since) are refused, and the
/// transaction must be aborted.
inline void offsets_of_an_older_generation_are_refused(const cluster_under_test& c) {
  const std::string topic = fresh_name("generations");
  const std::string group = fresh_name("group");
  ASSERT_NO_FATAL_FAILURE(make_topic(c, topic, 2));

  recording_listener first_hears, second_hears;
  auto first = kafka_consumer::create(group_config(c, group));
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_TRUE(first->subscribe({topic}, &first_hears));
  ASSERT_TRUE(poll_until({&*first}, [&] { return first_hears.owned.size() == 2; }, 60s));
  auto stale = first->group_metadata();
  ASSERT_TRUE(stale) << stale.error().message;

  auto second = kafka_consumer::create(group_config(c, group));
  ASSERT_TRUE(second) << second.error().message;
  ASSERT_TRUE(second->subscribe({topic}, &second_hears));
  ASSERT_TRUE(poll_until({&*first, &*second}, [&] {
    return first_hears.owned.size() == 1 && second_hears.owned.size() == 1;
  }, 60s));
  const std::int32_t kept = *first_hears.owned.begin();

  auto producer
    = kafka_producer::create(engine_producer_config(c.bootstrap, fresh_name("node")));
  ASSERT_TRUE(producer) << producer.error().message;
  ASSERT_TRUE(producer->init_transactions(30s));
  ASSERT_TRUE(producer->begin_transaction());
  ASSERT_TRUE(producer->produce(topic, {.value = "output"}, kept));
  auto sent = producer->send_offsets_to_transaction({{topic, kept, 1}}, *stale, 30s);
  if (c.embedded()) {
    // The mock does not check generations in TxnOffsetCommit.
    EXPECT_TRUE(sent) << sent.error().message;
    EXPECT_TRUE(producer->abort_transaction(30s));
  } else {
    ASSERT_FALSE(sent) << "offsets of an older generation were accepted";
    EXPECT_EQ(sent.error().code, errc::kafka_abortable) << sent.error().message;
    EXPECT_TRUE(contains(sent.error().message, "abort the transaction"))
      << sent.error().message;
    auto commit = producer->commit_transaction(30s);
    ASSERT_FALSE(commit);
    EXPECT_EQ(commit.error().code, errc::kafka_abortable) << commit.error().message;
    ASSERT_TRUE(producer->abort_transaction(30s));
  }

  // With the current generation the same batch commits.
  ASSERT_TRUE(producer->begin_transaction());
  ASSERT_TRUE(producer->produce(topic, {.value = "output"}, kept));
  auto fresh = first->group_metadata();
  ASSERT_TRUE(fresh) << fresh.error().message;
  EXPECT_NE(fresh->serialized, stale->serialized);
  auto resent = producer->send_offsets_to_transaction({{topic, kept, 1}}, *fresh, 30s);
  ASSERT_TRUE(resent) << resent.error().message;
  auto committed = producer->commit_transaction(30s);
  ASSERT_TRUE(committed) << committed.error().message;
  EXPECT_TRUE(second->close());
  EXPECT_TRUE(first->close());
}

// -- dead letters ---------------------------------------------------------------

inline void a_poison_record_lands_in_the_dead_letter_topic(const cluster_under_test& c) {
  auto topics = engine_topics::of({.cluster = fresh_name("mf"), .partitions = 2});
  ASSERT_TRUE(topics) << topics.error().message;
  auto admin = kafka_admin::create({{"bootstrap.servers", c.bootstrap}});
  ASSERT_TRUE(admin) << admin.error().message;
  const std::string business = fresh_name("payments");
  auto made = admin->ensure_topics({topics->dlq, {.name = business, .partitions = 1}}, 30s);
  ASSERT_TRUE(made) << made.error().message;

  auto producer = plain_producer(c);
  ASSERT_TRUE(producer) << producer.error().message;
  const kafka_message poison{.key = "customer-9",
                             .value = "this is not a CloudEvent",
                             .headers = {{"trace", "abc"}}};
  auto where = producer->produce_sync(business, poison, 30s);
  ASSERT_TRUE(where) << where.error().message;

  // The router's path: read, fail to decode, dead-letter it.
  auto records = read_all(c, business, 0);
  ASSERT_EQ(records.size(), 1u);
  auto event = kafka_binding::decode(records[0].message);
  ASSERT_FALSE(event);
  dead_letter_queue dlq(topics->dlq.name);
  EXPECT_EQ(dlq.sent(), 0u);
  ASSERT_TRUE(dlq.send(*producer, records[0], event.error()));
  EXPECT_EQ(dlq.sent(), 1u);
  ASSERT_TRUE(producer->flush(30s));

  auto letters = read_all(c, topics->dlq.name, 0);
  ASSERT_EQ(letters.size(), 1u);
  const kafka_message& letter = letters[0].message;
  EXPECT_EQ(letter.key, poison.key);
  EXPECT_EQ(letter.value, poison.value);
  ASSERT_GE(letter.headers.size(), 7u);
  EXPECT_EQ(letter.headers[0], (kafka_header{"trace", "abc"}));
  auto header = [&](std::string_view name) -> std::string {
    const kafka_header* h = letter.header(name);
    return h && h->value ? *h->value : "<missing>";
  };
  EXPECT_EQ(header("meshflow-reason"), event.error().message);
  EXPECT_TRUE(contains(header("meshflow-reason"), "ce_specversion"));
  EXPECT_EQ(header("meshflow-code"), errc::invalid_event);
  EXPECT_EQ(header("meshflow-topic"), business);
  EXPECT_EQ(header("meshflow-partition"), "0");
  EXPECT_EQ(header("meshflow-offset"), std::to_string(where->offset));
  EXPECT_EQ(header("meshflow-time").size(), std::string("2024-05-01T12:30:00.125Z").size())
    << header("meshflow-time");
}

} // namespace meshflow::transport::testing
