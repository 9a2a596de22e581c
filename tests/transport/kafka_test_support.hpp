#pragma once

// What the Kafka tests share: fresh names, a listener that records
// rebalances, and polling with a deadline (tests never sleep: they poll
// until a condition holds or the deadline passes).

#include <chrono>
#include <functional>
#include <initializer_list>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "meshflow/transport/kafka_client.hpp"

namespace meshflow::transport::testing {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

/// A name no other test (or earlier run against the same broker) uses.
inline std::string fresh_name(std::string_view prefix) {
  static std::random_device random;
  return fmt::format("{}-{:08x}{:08x}", prefix, random(), random());
}

/// Records every rebalance it hears of, and which partitions it owns.
struct recording_listener : kafka_rebalance_listener {
  enum class kind { assigned, revoked, lost };
  struct event {
    kind what;
    std::set<std::int32_t> partitions;
  };
  std::vector<event> events;
  std::set<std::int32_t> owned;
  /// Called after an assignment is recorded (e.g. to pause the partitions).
  std::function<void(const std::vector<kafka_topic_partition>&)> after_assigned;

  static std::set<std::int32_t> numbers(const std::vector<kafka_topic_partition>& ps) {
    std::set<std::int32_t> out;
    for (const auto& p : ps)
      out.insert(p.partition);
    return out;
  }

  /// Rebalances that assigned nothing new (they are told too).
  std::size_t empty_assignments = 0;

  void on_assigned(const std::vector<kafka_topic_partition>& ps) override {
    if (ps.empty()) {
      ++empty_assignments;
      return;
    }
    events.push_back({kind::assigned, numbers(ps)});
    for (const auto& p : ps)
      owned.insert(p.partition);
    if (after_assigned)
      after_assigned(ps);
  }
  void on_revoked(const std::vector<kafka_topic_partition>& ps) override {
    events.push_back({kind::revoked, numbers(ps)});
    for (const auto& p : ps)
      owned.erase(p.partition);
  }
  void on_lost(const std::vector<kafka_topic_partition>& ps) override {
    events.push_back({kind::lost, numbers(ps)});
    for (const auto& p : ps)
      owned.erase(p.partition);
  }

  std::size_t count(kind what) const {
    std::size_t n = 0;
    for (const auto& e : events)
      n += e.what == what;
    return n;
  }
};

/// Polls each of `consumers` in turn (they may be in one group: a
/// rebalance completes only when every member polls) until `done()` or
/// `timeout`; the records each returns are appended to `*records[i]` when
/// given. Fails on a consumer error or at the deadline.
inline ::testing::AssertionResult poll_until(
  std::initializer_list<kafka_consumer*> consumers, const std::function<bool()>& done,
  std::chrono::milliseconds timeout,
  std::initializer_list<std::vector<kafka_record>*> records = {}) {
  auto deadline = steady::now() + timeout;
  std::vector<kafka_consumer*> cs(consumers);
  std::vector<std::vector<kafka_record>*> sinks(records);
  while (!done()) {
    if (steady::now() >= deadline)
      return ::testing::AssertionFailure() << "condition not reached within "
                                           << timeout.count() << " ms";
    for (std::size_t i = 0; i < cs.size(); ++i) {
      auto polled = cs[i]->poll(50ms, 100);
      if (!polled)
        return ::testing::AssertionFailure() << "poll: " << polled.error().message;
      if (i < sinks.size() && sinks[i])
        for (auto& r : *polled)
          sinks[i]->push_back(std::move(r));
    }
  }
  return ::testing::AssertionSuccess();
}

/// The values of `records`, in order.
inline std::vector<std::string> values_of(const std::vector<kafka_record>& records) {
  std::vector<std::string> out;
  for (const auto& r : records)
    out.push_back(r.message.value.value_or("<null>"));
  return out;
}

} // namespace meshflow::transport::testing
