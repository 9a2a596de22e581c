// The action supervisor on CAF's deterministic test coordinator: retries and
// timeouts happen when the test advances the clock, never by sleeping.

#include <memory>
#include <optional>
#include <tuple>
#include <vector>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <gtest/gtest.h>

#include "meshflow/actors/supervisor.hpp"

namespace meshflow::actors {
namespace {

using namespace std::chrono_literals;

/// What the supervisor told its parent.
struct report {
  std::vector<std::tuple<int, std::string, std::int64_t>> retries;
  std::optional<invocation_result> done;
  int attempts = 0;
};

caf::behavior parent(caf::event_based_actor*, std::shared_ptr<report> out) {
  return {
    [out](action_retry_atom, int attempt, const std::string& code, std::int64_t delay_ms) {
      out->retries.emplace_back(attempt, code, delay_ms);
    },
    [out](action_done_atom, invocation_result& r, int attempts) {
      out->done = std::move(r);
      out->attempts = attempts;
    },
  };
}

/// A function binding that answers each call from a script; an empty step
/// never answers (its promise is kept, so it does not break).
struct script {
  std::vector<std::optional<invocation_result>> steps;
  int calls = 0;
  std::vector<caf::response_promise> unanswered;
  /// `(abandon_atom)` received, and the calls made by then.
  std::vector<int> abandoned_after;
};

caf::behavior scripted_binding(caf::event_based_actor* self, std::shared_ptr<script> s) {
  return {
    [self, s](invoke_atom, const std::string&, const std::string&,
              const std::string&) -> caf::result<invocation_result> {
      auto i = static_cast<std::size_t>(s->calls++);
      const auto& step = s->steps.at(std::min(i, s->steps.size() - 1));
      if (step)
        return *step;
      s->unanswered.push_back(self->make_response_promise());
      return caf::delegated<invocation_result>{};
    },
    [s](abandon_atom) { s->abandoned_after.push_back(s->calls); },
  };
}

/// A binding that dies on the call instead of answering. (Spawned with an
/// argument: CAF 0.17 dereferences a null pointer, harmlessly but visibly
/// to UBSan, when it spawns a function that takes none.)
caf::behavior dying_binding(caf::event_based_actor* self, caf::exit_reason reason) {
  return {
    [self, reason](invoke_atom, const std::string&, const std::string&, const std::string&) {
      self->quit(reason);
    },
  };
}

class supervisor_test : public ::testing::Test {
protected:
  supervisor_test() {
    cfg_.set("scheduler.policy", caf::atom("testing"));
    cfg_.set("logger.file-verbosity", caf::atom("quiet"));
    cfg_.set("logger.console-verbosity", caf::atom("quiet"));
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    sched_ = &dynamic_cast<caf::scheduler::test_coordinator&>(sys_->scheduler());
    sched_->clock().current_time += std::chrono::hours(1);
  }

  ~supervisor_test() override {
    // Unanswered promises hold their requesters: drop them, stop the binding.
    if (script_)
      script_->unanswered.clear();
    if (binding_)
      caf::anon_send_exit(binding_, caf::exit_reason::user_shutdown);
    binding_ = nullptr;
    sched_->run();
  }

  /// Starts a supervised invocation against a binding playing `steps`.
  void start(std::vector<std::optional<invocation_result>> steps,
             std::optional<dsl::retry_policy> policy,
             std::optional<std::chrono::milliseconds> timeout = std::nullopt,
             int attempts_before = 0, std::chrono::milliseconds first_delay = 0ms) {
    script_ = std::make_shared<script>();
    script_->steps = std::move(steps);
    binding_ = sys_->spawn(scripted_binding, script_);
    supervision job;
    job.binding = binding_;
    job.arguments = R"({"order": 1})";
    job.retry_for = [policy](const std::string& code) -> std::optional<dsl::retry_policy> {
      if (code == "400")
        return std::nullopt;  // as a nonRetryableErrors entry would say
      return policy;
    };
    job.action_exec_timeout = timeout;
    job.attempts_before = attempts_before;
    job.first_delay = first_delay;
    job.parent = sys_->spawn(parent, report_);
    job.random_unit = [] { return 0.5; };
    sys_->spawn(supervisor, std::move(job));
    sched_->run();
  }

  /// Advances the clock; runs what it triggered.
  std::size_t advance(caf::timespan t) {
    auto fired = sched_->clock().advance_time(t);
    sched_->run();
    return fired;
  }

  static dsl::retry_policy policy(int max_attempts) {
    dsl::retry_policy p;
    p.delay = 1000ms;
    p.multiplier = 2;
    p.max_attempts = max_attempts;
    return p;
  }

  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  caf::scheduler::test_coordinator* sched_ = nullptr;
  std::shared_ptr<report> report_ = std::make_shared<report>();
  std::shared_ptr<script> script_;
  caf::actor binding_;
};

const auto ok = invocation_result::success(R"({"paid": true})");
const auto unavailable = invocation_result::failed("503", "try later");

TEST_F(supervisor_test, a_first_success_is_reported_at_once) {
  start({ok}, policy(3));
  ASSERT_TRUE(report_->done);
  EXPECT_TRUE(report_->done->ok);
  EXPECT_EQ(report_->done->result, R"({"paid": true})");
  EXPECT_EQ(report_->attempts, 1);
  EXPECT_TRUE(report_->retries.empty());
}

TEST_F(supervisor_test, retries_wait_for_the_policy_delay_on_the_clock) {
  start({unavailable, unavailable, ok}, policy(5));
  EXPECT_FALSE(report_->done);
  ASSERT_EQ(report_->retries.size(), 1u);
  EXPECT_EQ(report_->retries[0], std::make_tuple(1, std::string{"503"}, std::int64_t{1000}));
  EXPECT_EQ(script_->calls, 1);
  // Nothing happens before the delay has passed ...
  EXPECT_EQ(advance(999ms), 0u);
  EXPECT_EQ(script_->calls, 1);
  // ... then the second attempt; its failure doubles the delay.
  EXPECT_EQ(advance(1ms), 1u);
  EXPECT_EQ(script_->calls, 2);
  ASSERT_EQ(report_->retries.size(), 2u);
  EXPECT_EQ(std::get<2>(report_->retries[1]), 2000);
  EXPECT_EQ(advance(1999ms), 0u);
  EXPECT_EQ(advance(1ms), 1u);
  ASSERT_TRUE(report_->done);
  EXPECT_TRUE(report_->done->ok);
  EXPECT_EQ(report_->attempts, 3);
}

TEST_F(supervisor_test, max_attempts_counts_the_first_call) {
  start({unavailable}, policy(2));
  advance(1000ms);
  ASSERT_TRUE(report_->done);
  EXPECT_FALSE(report_->done->ok);
  EXPECT_EQ(report_->done->failure.code, "503");
  EXPECT_EQ(report_->attempts, 2);
  EXPECT_EQ(script_->calls, 2);
}

TEST_F(supervisor_test, a_restored_call_goes_on_with_its_attempts_and_waits_for_its_retry) {
  // Restored from a snapshot: two attempts failed, the third is due in 1.5 s.
  start({unavailable, ok}, policy(3), std::nullopt, 2, 1500ms);
  EXPECT_EQ(script_->calls, 0);
  EXPECT_EQ(advance(1499ms), 0u);
  EXPECT_EQ(script_->calls, 0);
  advance(1ms);
  // The third attempt is the last one the policy allows: its failure ends it.
  EXPECT_EQ(script_->calls, 1);
  ASSERT_TRUE(report_->done);
  EXPECT_EQ(report_->done->failure.code, "503");
  EXPECT_EQ(report_->attempts, 3);
}

TEST_F(supervisor_test, an_error_that_is_not_retried_ends_it) {
  start({invocation_result::failed("400", "bad request")}, policy(5));
  ASSERT_TRUE(report_->done);
  EXPECT_EQ(report_->done->failure.code, "400");
  EXPECT_EQ(report_->attempts, 1);
  EXPECT_TRUE(report_->retries.empty());
}

TEST_F(supervisor_test, action_exec_timeout_is_error_timeout) {
  start({std::nullopt}, std::nullopt, 500ms);
  EXPECT_FALSE(report_->done);
  EXPECT_EQ(advance(499ms), 0u);
  EXPECT_FALSE(report_->done);
  advance(1ms);
  ASSERT_TRUE(report_->done);
  EXPECT_EQ(report_->done->failure.code, "timeout");
}

TEST_F(supervisor_test, a_timed_out_attempt_is_retried_like_any_error) {
  start({std::nullopt, ok}, policy(3), 500ms);
  advance(500ms);  // the first attempt times out
  ASSERT_EQ(report_->retries.size(), 1u);
  EXPECT_EQ(std::get<1>(report_->retries[0]), "timeout");
  advance(1000ms);  // the retry delay
  ASSERT_TRUE(report_->done);
  EXPECT_TRUE(report_->done->ok);
  EXPECT_EQ(report_->attempts, 2);
}

TEST_F(supervisor_test, a_timed_out_attempt_is_abandoned_at_the_binding_before_the_retry) {
  start({std::nullopt, ok}, policy(3), 500ms);
  advance(499ms);
  EXPECT_TRUE(script_->abandoned_after.empty());
  advance(1ms);  // the first attempt times out: the binding is told at once
  EXPECT_EQ(script_->abandoned_after, std::vector<int>{1});
  advance(1000ms);  // the retry, which answers: nothing to abandon
  ASSERT_TRUE(report_->done);
  EXPECT_TRUE(report_->done->ok);
  EXPECT_EQ(script_->abandoned_after, std::vector<int>{1});
}

TEST_F(supervisor_test, an_attempt_that_fails_is_not_abandoned) {
  start({unavailable}, policy(2));
  advance(1000ms);
  ASSERT_TRUE(report_->done);
  EXPECT_TRUE(script_->abandoned_after.empty());
}

TEST_F(supervisor_test, a_binding_that_dies_is_error_crash_not_a_node_crash) {
  auto dying = sys_->spawn(dying_binding, caf::exit_reason::user_shutdown);
  supervision job;
  job.binding = dying;
  job.parent = sys_->spawn(parent, report_);
  job.random_unit = [] { return 0.5; };
  sys_->spawn(supervisor, std::move(job));
  sched_->run();
  ASSERT_TRUE(report_->done);
  EXPECT_EQ(report_->done->failure.code, "crash");
}

} // namespace
} // namespace meshflow::actors
