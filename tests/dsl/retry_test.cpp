// Retry policies: the delay formula, attempts, and which errors are retried.

#include <stdexcept>

#include <gtest/gtest.h>

#include "load_helpers.hpp"
#include "meshflow/dsl/retry.hpp"

using namespace meshflow::dsl;
using namespace std::chrono_literals;
using meshflow::dsl::testing::load;

TEST(retry, delay_grows_by_multiplier_and_increment_capped_by_max_delay) {
  retry_policy p;
  p.delay = 1000ms;
  p.multiplier = 2;
  p.increment = 100ms;
  p.max_delay = 5000ms;
  EXPECT_EQ(p.base_delay(1), 1000ms);
  EXPECT_EQ(p.base_delay(2), 2100ms);
  EXPECT_EQ(p.base_delay(3), 4200ms);
  EXPECT_EQ(p.base_delay(4), 5000ms);
}

TEST(retry, jitter_is_a_fraction_or_a_duration) {
  retry_policy p;
  p.delay = 1000ms;
  p.jitter = 0.1;
  EXPECT_EQ(p.delay_for(1, 0.0), 900ms);
  EXPECT_EQ(p.delay_for(1, 0.5), 1000ms);
  EXPECT_EQ(p.delay_for(1, 1.0), 1100ms);
  p.jitter = iso_duration{2000ms, "PT2S"};
  EXPECT_EQ(p.delay_for(1, 0.0), 0ms);  // never negative
}

TEST(retry, max_attempts_counts_the_first_call) {
  retry_policy p;
  p.max_attempts = 3;
  EXPECT_TRUE(p.allows_another(1));
  EXPECT_TRUE(p.allows_another(2));
  EXPECT_FALSE(p.allows_another(3));
  EXPECT_TRUE(retry_policy::automatic().allows_another(1'000'000));
}

TEST(retry, error_definitions_match_by_code_else_by_name) {
  EXPECT_TRUE(matches({"Unavailable", "503"}, "503"));
  EXPECT_FALSE(matches({"503", "500"}, "503"));
  EXPECT_TRUE(matches({"timeout", std::nullopt}, "timeout"));
}

namespace {

workflow definition(bool auto_retries) {
  auto r = load(std::string{"id: t\nspecVersion: '0.8'\n"} + "autoRetries: "
                + (auto_retries ? "true" : "false")
                + "\nerrors:\n  - {name: Unavailable, code: '503'}\n  - {name: Bad, code: '400'}\n"
                  "retries:\n  - {name: quick, delay: PT0.1S, maxAttempts: 2}\n"
                  "functions:\n  - {name: f, operation: x}\nstates:\n"
                  "  - name: A\n    type: operation\n    actions:\n"
                  "      - functionRef: f\n        retryRef: quick\n"
                  "        retryableErrors: [Unavailable]\n        nonRetryableErrors: [Bad]\n"
                  "      - functionRef: f\n    end: true\n");
  if (!r.workflow)  // gtest reports the exception as the test's failure
    throw std::runtime_error(meshflow::dsl::testing::all_text(r.diagnostics));
  return *r.workflow;
}

const action& action_at(const workflow& w, std::size_t i) {
  return std::get<operation_state>(w.states[0].properties).actions[i];
}

} // namespace

TEST(retry, without_auto_retries_only_retryable_errors_are_retried) {
  auto w = definition(false);
  auto p = retry_for(w, action_at(w, 0), "503");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->delay, 100ms);
  EXPECT_EQ(p->max_attempts, 2);
  EXPECT_FALSE(retry_for(w, action_at(w, 0), "500"));
  EXPECT_FALSE(retry_for(w, action_at(w, 1), "503"));
}

TEST(retry, with_auto_retries_everything_but_non_retryable_errors_is_retried) {
  auto w = definition(true);
  EXPECT_FALSE(retry_for(w, action_at(w, 0), "400"));
  EXPECT_EQ(retry_for(w, action_at(w, 0), "500")->delay, 100ms);  // its retryRef
  auto p = retry_for(w, action_at(w, 1), "timeout");  // the default policy
  ASSERT_TRUE(p);
  EXPECT_EQ(p->delay, 1000ms);
  EXPECT_EQ(p->multiplier, 2.0);
  EXPECT_EQ(p->max_delay, 60000ms);
  EXPECT_FALSE(p->max_attempts);
}
