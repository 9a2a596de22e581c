// The machine, state type by state type, with hand-driven effects: timers
// fire when the test advances its clock, functions answer when the test
// says. Every scenario runs twice: straight through, and with the instance
// snapshotted to protobuf, the machine dropped and re-created from the
// snapshot after every step; both runs must end the same way.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "meshflow/actors/machine.hpp"
#include "meshflow/dsl/validate.hpp"
#include "meshflow/proto/instance.pb.h"

namespace meshflow::actors {
namespace {

using json = nlohmann::json;

std::shared_ptr<const dsl::plan> plan_of(const std::string& yaml) {
  dsl::load_options strict;
  strict.strict = true;  // as at deploy
  auto v = dsl::validate_text(yaml, "test.sw.yaml", ".", strict);
  if (!v.plan)
    throw std::runtime_error(v.diagnostics.empty() ? "no plan" : dsl::to_string(v.diagnostics[0]));
  return v.plan;
}

/// Effects the test drives.
struct test_effects final : effects {
  epoch_ms clock = 1'000'000;
  std::map<std::uint64_t, epoch_ms> timers;
  std::vector<std::pair<std::uint64_t, std::string>> calls;  // token, function name
  std::map<std::uint64_t, json> arguments;
  std::vector<std::uint64_t> cancelled;
  std::vector<transport::cloud_event> produced;
  std::vector<child_start> children;
  const dsl::workflow* w = nullptr;

  epoch_ms now() override { return clock; }
  void invoke(invocation call) override {
    calls.emplace_back(call.token, w->functions[call.function].name);
    arguments[call.token] = call.arguments.to_json();
  }
  void cancel(std::uint64_t token) override { cancelled.push_back(token); }
  void arm(std::uint64_t token, epoch_ms deadline) override { timers[token] = deadline; }
  void produce(std::uint32_t, transport::cloud_event e) override {
    produced.push_back(std::move(e));
  }
  expected<std::string> start_child(child_start c) override {
    children.push_back(c);
    return fmt::format("child-{}", c.token);
  }
  void end_child(const std::string&) override {}
  expected<std::string> continue_as(continuation) override { return std::string{"next"}; }
};

using function_answer = std::function<expected<json>(const json& arguments)>;

/// One instance under test.
class harness {
public:
  harness(const std::string& yaml, bool restore_each_step, machine_limits limits = {})
    : plan_(plan_of(yaml)), restore_(restore_each_step), limits_(limits) {
    fx_.w = plan_->definition.get();
    value_.id = "i-1";
    value_.workflow_id = plan_->definition->identity();
    machine_ = std::make_unique<machine>(*plan_, value_, fx_, limits_);
  }

  std::map<std::string, function_answer> functions;

  void start(const char* input) {
    machine_->start(*jq::value::parse(input));
    settle();
  }

  void event(const char* type, const char* data, std::map<std::string, std::string> ext = {}) {
    transport::cloud_event e;
    e.id = fmt::format("e{}", ++events_);
    e.source = "test";
    e.type = type;
    e.datacontenttype = "application/json";
    e.data = data;
    e.extensions = std::move(ext);
    machine_->event(consumed_event{e, {}});
    settle();
  }

  /// Moves the clock on, firing due timers in deadline order.
  void advance(std::int64_t ms) {
    auto until = fx_.clock + ms;
    for (;;) {
      auto next = std::min_element(fx_.timers.begin(), fx_.timers.end(),
                                   [](auto& a, auto& b) { return a.second < b.second; });
      if (next == fx_.timers.end() || next->second > until)
        break;
      auto [token, at] = *next;
      fx_.timers.erase(next);
      fx_.clock = std::max(fx_.clock, at);
      machine_->timer(token);
      settle();
    }
    fx_.clock = until;
  }

  void pause() { machine_->pause(); }
  void resume() {
    machine_->resume();
    settle();
  }

  /// Lets a machine that yielded run on (as the instance actor does when
  /// the instance's turn comes again), then answers every pending call
  /// whose function the test defined.
  void settle() {
    step_boundary();
    for (bool progress = true; progress;) {
      progress = false;
      while (machine_->busy()) {
        ++turns_;
        machine_->proceed();
        step_boundary();
      }
      for (std::size_t k = 0; k < fx_.calls.size(); ++k) {
        auto [token, name] = fx_.calls[k];
        auto f = functions.find(name);
        if (f == functions.end())
          continue;
        fx_.calls.erase(fx_.calls.begin() + static_cast<std::ptrdiff_t>(k));
        auto r = f->second(fx_.arguments[token]);
        machine_->function_done(token, r ? expected<jq::value>{jq::value::from_json(*r)}
                                         : tl::unexpected(r.error()));
        step_boundary();
        progress = true;
        break;
      }
    }
  }

  instance_status status() const { return value_.status; }
  /// How often the machine yielded and was let go on.
  int turns() const { return turns_; }
  json output() const { return value_.data.to_json(); }
  const instance& value() const { return value_; }
  /// The instance, to set up a case the machine does not reach by itself.
  instance& value() { return value_; }
  test_effects& fx() { return fx_; }
  machine& run() { return *machine_; }

  std::vector<std::string> history(std::string_view kind) const {
    std::vector<std::string> out;
    for (const auto& h : value_.history)
      if (h.kind == kind)
        out.push_back(h.detail);
    return out;
  }

private:
  /// With `restore_each_step`: snapshot, drop the machine, restore, re-arm.
  void step_boundary() {
    if (!restore_)
      return;
    auto bytes = snapshot(value_);
    machine_.reset();
    auto restored = restore(bytes);
    ASSERT_TRUE(restored) << restored.error().message;
    value_ = std::move(*restored);
    EXPECT_EQ(snapshot(value_), bytes);
    fx_.timers.clear();
    fx_.calls.clear();
    machine_ = std::make_unique<machine>(*plan_, value_, fx_, limits_);
    auto fits = machine_->rearm();
    ASSERT_TRUE(fits) << fits.error().message;
  }

  std::shared_ptr<const dsl::plan> plan_;
  bool restore_;
  machine_limits limits_;
  int turns_ = 0;
  instance value_;
  test_effects fx_;
  std::unique_ptr<machine> machine_;
  int events_ = 0;
};

class machine_test : public ::testing::TestWithParam<bool> {
protected:
  harness make(const std::string& yaml, machine_limits limits = {}) {
    return harness{yaml, GetParam(), limits};
  }
};

INSTANTIATE_TEST_SUITE_P(, machine_test, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "restored" : "straight"; });

const std::string head = R"(id: t
version: '1'
specVersion: '0.8'
)";

function_answer returns(json j) {
  return [j](const json&) -> expected<json> { return j; };
}

TEST_P(machine_test, inject_and_switch_loop) {
  auto h = make(head + R"(
functions:
  - {name: inc, type: expression, operation: '.n + 1'}
start: Check
states:
  - name: Check
    type: switch
    dataConditions:
      - {condition: '${ .n < 3 }', transition: Add}
    defaultCondition: {transition: Done}
  - name: Add
    type: operation
    actions:
      - functionRef: inc
        actionDataFilter: {toStateData: '${ .n }'}
    transition: Check
  - name: Done
    type: inject
    data: {done: true}
    end: true
)");
  h.start(R"({"n": 0})");
  EXPECT_EQ(h.status(), instance_status::completed);
  EXPECT_EQ(h.output(), json::parse(R"({"n": 3, "done": true})"));
  EXPECT_EQ(h.history("state.entered").size(), 8u);
}

TEST_P(machine_test, operation_sequential_and_parallel_actions) {
  for (const char* mode : {"sequential", "parallel"}) {
    auto h = make(head + fmt::format(R"(
functions:
  - {{name: a, type: custom, operation: a}}
  - {{name: b, type: custom, operation: b}}
start: Op
states:
  - name: Op
    type: operation
    actionMode: {}
    actions:
      - functionRef: {{refName: a, arguments: {{x: '${{ .x }}', literal: 7}}}}
      - functionRef: b
        actionDataFilter: {{results: '${{ .v }}', toStateData: '${{ .fromB }}'}}
    stateDataFilter: {{output: '${{ {{a, fromB}} }}'}}
    end: true
)",
                                   mode));
    json seen;
    h.functions["a"] = [&](const json& args) -> expected<json> {
      seen = args;
      return json{{"a", 1}};
    };
    h.functions["b"] = returns({{"v", "B"}});
    h.start(R"({"x": 5})");
    EXPECT_EQ(h.status(), instance_status::completed) << mode;
    EXPECT_EQ(seen, json::parse(R"({"x": 5, "literal": 7})"));
    EXPECT_EQ(h.output(), json::parse(R"({"a": 1, "fromB": "B"})"));
  }
}

TEST_P(machine_test, parallel_actions_start_together_sequential_ones_do_not) {
  auto h = make(head + R"(
functions:
  - {name: a, type: custom, operation: a}
start: Op
states:
  - name: Op
    type: operation
    actionMode: parallel
    actions:
      - functionRef: a
      - functionRef: a
      - functionRef: a
    end: true
)");
  h.start("{}");
  EXPECT_EQ(h.fx().calls.size(), 3u);
}

TEST_P(machine_test, sleep_state_waits_for_its_timer) {
  auto h = make(head + R"(
start: Nap
states:
  - {name: Nap, type: sleep, duration: PT10S, transition: Done}
  - {name: Done, type: inject, data: {awake: true}, end: true}
)");
  h.start("{}");
  EXPECT_EQ(h.status(), instance_status::running);
  h.advance(9'999);
  EXPECT_EQ(h.status(), instance_status::running);
  h.advance(1);
  EXPECT_EQ(h.status(), instance_status::completed);
  EXPECT_EQ(h.output(), json::parse(R"({"awake": true})"));
}

const std::string events = R"(
events:
  - {name: Paid, type: paid, source: test}
  - {name: Packed, type: packed, source: test}
  - {name: Reply, type: reply, source: test}
  - {name: Request, type: request, kind: produced}
)";

TEST_P(machine_test, exclusive_event_state_runs_the_matching_actions) {
  auto h = make(head + events + R"(
functions:
  - {name: a, type: custom, operation: a}
start: Wait
states:
  - name: Wait
    type: event
    onEvents:
      - eventRefs: [Paid]
        eventDataFilter: {toStateData: '${ .payment }'}
        actions: [{functionRef: a}]
      - eventRefs: [Packed]
        actions: []
    end: true
)");
  h.functions["a"] = returns({{"shipped", true}});
  h.start("{}");
  h.event("other", "{}");
  EXPECT_EQ(h.status(), instance_status::running);
  h.event("paid", R"({"amount": 3})");
  EXPECT_EQ(h.status(), instance_status::completed);
  EXPECT_EQ(h.output(), json::parse(R"({"payment": {"amount": 3}, "shipped": true})"));
}

TEST_P(machine_test, data_only_false_gives_the_whole_event) {
  auto h = make(head + R"(
events:
  - {name: Paid, type: paid, source: test, dataOnly: false}
start: Wait
states:
  - name: Wait
    type: event
    onEvents:
      - eventRefs: [Paid]
        eventDataFilter: {data: '${ {type, orderid, amount: .data.amount} }'}
    end: true
)");
  h.start("{}");
  h.event("paid", R"({"amount": 3})", {{"orderid", "o-1"}});
  EXPECT_EQ(h.output(), json::parse(R"({"type": "paid", "orderid": "o-1", "amount": 3})"));
}

TEST_P(machine_test, non_exclusive_event_state_needs_every_event_in_any_order) {
  auto h = make(head + events + R"(
start: Wait
states:
  - name: Wait
    type: event
    exclusive: false
    onEvents:
      - eventRefs: [Paid, Packed]
    end: true
)");
  h.start("{}");
  h.event("packed", R"({"box": 1})");
  EXPECT_EQ(h.status(), instance_status::running);
  h.event("paid", R"({"amount": 3})");
  EXPECT_EQ(h.status(), instance_status::completed);
  EXPECT_EQ(h.output(), json::parse(R"({"box": 1, "amount": 3})"));
}

TEST_P(machine_test, an_event_that_arrives_early_is_kept) {
  auto h = make(head + events + R"(
start: Nap
states:
  - {name: Nap, type: sleep, duration: PT1S, transition: Wait}
  - name: Wait
    type: event
    onEvents: [{eventRefs: [Paid]}]
    end: true
)");
  h.start("{}");
  h.event("paid", R"({"amount": 3})");
  EXPECT_EQ(h.value().kept_events.size(), 1u);
  h.advance(1000);
  EXPECT_EQ(h.status(), instance_status::completed);
  EXPECT_EQ(h.output(), json::parse(R"({"amount": 3})"));
}

TEST_P(machine_test, event_timeout_is_no_error_the_state_follows_its_flow_without_actions) {
  auto h = make(head + events + R"(
functions:
  - {name: ship, type: custom, operation: ship}
errors: [{name: Late, code: timeout}]
start: Begin
states:
  - {name: Begin, type: inject, data: {begun: true}, transition: Wait}
  - name: Wait
    type: event
    timeouts: {eventTimeout: PT5S}
    onEvents: [{eventRefs: [Paid], actions: [{functionRef: ship}]}]
    onErrors: [{errorRef: Late, transition: Gave Up}]
    transition: After
  - {name: After, type: inject, data: {after: true}, end: true}
  - {name: Gave Up, type: inject, data: {late: true}, end: true}
)");
  h.start("{}");
  h.advance(5000);
  EXPECT_EQ(h.status(), instance_status::completed);
  EXPECT_EQ(h.output(), json::parse(R"({"begun": true, "after": true})"));
  EXPECT_TRUE(h.fx().calls.empty()) << "the state's actions ran";
}

TEST_P(machine_test, event_timeout_of_a_callback_keeps_its_action_result) {
  auto h = make(head + events + R"(
functions:
  - {name: ask, type: custom, operation: ask}
start: Approve
states:
  - name: Approve
    type: callback
    action: {functionRef: ask}
    eventRef: Reply
    timeouts: {eventTimeout: PT1M}
    transition: Done
  - {name: Done, type: inject, data: {done: true}, end: true}
)");
  h.functions["ask"] = returns({{"asked", true}});
  h.start("{}");
  EXPECT_EQ(h.status(), instance_status::running);
  h.advance(60'000);
  EXPECT_EQ(h.status(), instance_status::completed);
  EXPECT_EQ(h.output(), json::parse(R"({"asked": true, "done": true})"));
}

TEST_P(machine_test, switch_on_events_and_its_timeout) {
  const auto yaml = head + events + R"(
start: Which
states:
  - name: Which
    type: switch
    timeouts: {eventTimeout: PT1M}
    eventConditions:
      - {eventRef: Paid, transition: Yes}
    defaultCondition: {transition: No}
  - {name: Yes, type: inject, data: {r: yes}, end: true}
  - {name: No, type: inject, data: {r: no}, end: true}
)";
  auto h = make(yaml);
  h.start("{}");
  h.event("paid", R"({"amount": 1})");
  EXPECT_EQ(h.output(), json::parse(R"({"amount": 1, "r": "yes"})"));
  auto late = make(yaml);
  late.start("{}");
  late.advance(60'000);
  EXPECT_EQ(late.status(), instance_status::completed);
  EXPECT_EQ(late.output(), json::parse(R"({"r": "no"})"));
}

TEST_P(machine_test, parallel_all_of_merges_in_branch_order) {
  auto h = make(head + R"(
functions:
  - {name: a, type: custom, operation: a}
  - {name: b, type: custom, operation: b}
start: Both
states:
  - name: Both
    type: parallel
    branches:
      - {name: A, actions: [{functionRef: a}]}
      - {name: B, actions: [{functionRef: b}]}
    end: true
)");
  h.start(R"({"v": 0})");
  EXPECT_EQ(h.fx().calls.size(), 2u);
  h.functions["b"] = returns({{"v", "b"}});
  h.settle();
  h.functions["a"] = returns({{"v", "a"}});
  h.settle();
  EXPECT_EQ(h.status(), instance_status::completed);
  // B finished first, but A's result is merged first: B's value wins.
  EXPECT_EQ(h.output(), json::parse(R"({"v": "b"})"));
}

TEST_P(machine_test, parallel_at_least_cancels_the_rest) {
  auto h = make(head + R"(
functions:
  - {name: a, type: custom, operation: a}
  - {name: slow, type: custom, operation: slow}
start: Race
states:
  - name: Race
    type: parallel
    completionType: atLeast
    numCompleted: 1
    branches:
      - {name: Slow, actions: [{functionRef: slow}]}
      - {name: Fast, actions: [{functionRef: a}]}
    end: true
)");
  h.functions["a"] = returns({{"fast", true}});
  h.start("{}");
  EXPECT_EQ(h.status(), instance_status::completed);
  EXPECT_EQ(h.output(), json::parse(R"({"fast": true})"));
  if (!GetParam())  // (a restored machine re-issues, so its tokens differ)
    EXPECT_EQ(h.fx().cancelled.size(), 1u);
}

TEST_P(machine_test, foreach_collects_results_in_input_order) {
  for (const char* mode : {"mode: parallel\n    batchSize: 2", "mode: sequential"}) {
    auto h = make(head + fmt::format(R"(
functions:
  - {{name: double, type: custom, operation: double}}
start: Each
states:
  - name: Each
    type: foreach
    inputCollection: '${{ .numbers }}'
    iterationParam: n
    outputCollection: '${{ .doubled }}'
    {}
    actions:
      - functionRef: {{refName: double, arguments: {{n: '${{ .n }}'}}}}
        actionDataFilter: {{results: '${{ .value }}', toStateData: '${{ .last }}'}}
    end: true
)",
                                   mode));
    h.start(R"({"numbers": [1, 2, 3]})");
    std::size_t most = h.fx().calls.size();
    h.functions["double"] = [](const json& a) -> expected<json> {
      return json{{"value", a["n"].get<int>() * 2}};
    };
    h.settle();
    EXPECT_EQ(h.status(), instance_status::completed) << mode;
    EXPECT_LE(most, 2u) << mode;
    EXPECT_EQ(h.output(), json::parse(R"({"numbers": [1, 2, 3], "doubled": [2, 4, 6]})"));
  }
}

TEST_P(machine_test, foreach_over_a_non_array_is_error_foreach) {
  auto h = make(head + R"(
start: Each
states:
  - name: Each
    type: foreach
    inputCollection: '${ .numbers }'
    actions: []
    end: true
)");
  h.start(R"({"numbers": 5})");
  EXPECT_EQ(h.status(), instance_status::faulted);
  EXPECT_EQ(h.value().error->code, "foreach");
  EXPECT_EQ(h.value().error->state, "Each");
}

TEST_P(machine_test, callback_runs_its_action_then_waits_for_the_event) {
  auto h = make(head + events + R"(
functions:
  - {name: ask, type: custom, operation: ask}
start: Approve
states:
  - name: Approve
    type: callback
    action: {functionRef: ask}
    eventRef: Reply
    eventDataFilter: {toStateData: '${ .reply }'}
    end: true
)");
  h.functions["ask"] = returns({{"asked", true}});
  h.start("{}");
  EXPECT_EQ(h.status(), instance_status::running);
  h.event("reply", R"({"ok": true})");
  EXPECT_EQ(h.status(), instance_status::completed);
  EXPECT_EQ(h.output(), json::parse(R"({"asked": true, "reply": {"ok": true}})"));
}

TEST_P(machine_test, event_ref_produces_the_trigger_and_correlates_the_result) {
  auto h = make(head + events + R"(
start: Ask
states:
  - name: Ask
    type: operation
    actions:
      - eventRef:
          triggerEventRef: Request
          resultEventRef: Reply
          data: {q: '${ .q }'}
        actionDataFilter: {toStateData: '${ .answer }'}
    end: true
)");
  h.start(R"({"q": 42})");
  ASSERT_EQ(h.fx().produced.size(), 1u);
  const auto& trigger = h.fx().produced[0];
  EXPECT_EQ(trigger.type, "request");
  EXPECT_EQ(trigger.extensions.at("workflowinstanceid"), "i-1");
  EXPECT_EQ(json::parse(*trigger.data), json::parse(R"({"q": 42})"));
  h.event("reply", R"({"a": 1})", {{"workflowinstanceid", "another"}});
  EXPECT_EQ(h.status(), instance_status::running);
  h.event("reply", R"({"a": 2})", {{"workflowinstanceid", "i-1"}});
  EXPECT_EQ(h.status(), instance_status::completed);
  EXPECT_EQ(h.output(), json::parse(R"({"q": 42, "answer": {"a": 2}})"));
}

TEST_P(machine_test, result_event_timeout_is_error_timeout) {
  auto h = make(head + events + R"(
start: Ask
states:
  - name: Ask
    type: operation
    actions:
      - eventRef: {triggerEventRef: Request, resultEventRef: Reply, resultEventTimeout: PT2S}
    end: true
)");
  h.start("{}");
  h.advance(2000);
  EXPECT_EQ(h.status(), instance_status::faulted);
  EXPECT_EQ(h.value().error->code, "timeout");
}

const std::string payment = head + R"(
functions:
  - {name: pay, type: custom, operation: pay}
errors: [{name: Declined, code: '402'}]
start: Pay
states:
  - name: Pay
    type: operation
    actions: [{functionRef: pay}]
    onErrors: [{errorRef: Declined, transition: Declined}]
    end: true
  - {name: Declined, type: inject, data: {declined: true}, end: true}
)";

TEST_P(machine_test, unhandled_errors_fault_and_an_operator_retry_reruns_the_state) {
  auto h = make(payment);
  int calls = 0;
  h.functions["pay"] = [&](const json&) -> expected<json> {
    ++calls;
    if (calls == 1)
      return fail("503", "unavailable");
    if (calls == 2)
      return json{{"paid", true}};
    return fail("402", "declined");
  };
  h.start(R"({"order": 1})");
  EXPECT_EQ(h.status(), instance_status::faulted);
  EXPECT_EQ(h.value().error->code, "503");
  ASSERT_TRUE(h.run().retry());
  h.settle();
  EXPECT_EQ(h.status(), instance_status::completed);
  EXPECT_EQ(h.output(), json::parse(R"({"order": 1, "paid": true})"));

  auto handled = make(payment);
  handled.functions["pay"] = [](const json&) -> expected<json> { return fail("402", "no"); };
  handled.start(R"({"order": 1})");
  EXPECT_EQ(handled.status(), instance_status::completed);
  EXPECT_EQ(handled.output(), json::parse(R"({"order": 1, "declined": true})"));
}

TEST_P(machine_test, compensation_runs_in_reverse_order_then_ends) {
  auto h = make(head + R"(
start: One
states:
  - {name: One, type: inject, data: {one: 1}, compensatedBy: Undo One, transition: Two}
  - {name: Two, type: inject, data: {two: 2}, compensatedBy: Undo Two, transition: Three}
  - name: Three
    type: inject
    data: {}
    end: {compensate: true}
  - {name: Undo One, type: inject, data: {undone: [one]}, usedForCompensation: true}
  - {name: Undo Two, type: inject, data: {undone: [two]}, usedForCompensation: true}
)");
  h.start("{}");
  EXPECT_EQ(h.status(), instance_status::completed);
  auto entered = h.history("state.entered");
  ASSERT_EQ(entered.size(), 5u);
  EXPECT_EQ(entered[3], "Undo Two");
  EXPECT_EQ(entered[4], "Undo One");
  EXPECT_EQ(h.output(), json::parse(R"({"one": 1, "two": 2, "undone": ["two", "one"]})"));
}

TEST_P(machine_test, workflow_exec_timeout_runs_run_before_then_terminates) {
  auto h = make(head + R"(
timeouts:
  workflowExecTimeout: {duration: PT1M, runBefore: Cleanup}
start: Nap
states:
  - {name: Nap, type: sleep, duration: PT1H, end: true}
  - {name: Cleanup, type: inject, data: {cleaned: true}, end: true}
)");
  h.start("{}");
  h.advance(60'000);
  EXPECT_EQ(h.status(), instance_status::terminated);
  EXPECT_EQ(h.value().error->code, "timeout");
  EXPECT_EQ(h.output(), json::parse(R"({"cleaned": true})"));
}

TEST_P(machine_test, state_exec_timeout_is_error_timeout) {
  auto h = make(head + R"(
functions:
  - {name: never, type: custom, operation: never}
start: Op
states:
  - name: Op
    type: operation
    timeouts: {stateExecTimeout: {total: PT3S}}
    actions: [{functionRef: never}]
    end: true
)");
  h.start("{}");
  h.advance(3000);
  EXPECT_EQ(h.status(), instance_status::faulted);
  EXPECT_EQ(h.value().error->code, "timeout");
}

TEST_P(machine_test, state_exec_timeout_single_bounds_each_attempt) {
  auto h = make(head + R"(
functions:
  - {name: never, type: custom, operation: never}
start: Op
states:
  - name: Op
    type: operation
    timeouts: {stateExecTimeout: {single: PT1S, total: PT10S}}
    actions: [{functionRef: never}]
    end: true
)");
  auto started = h.fx().clock;
  h.start("{}");
  ASSERT_EQ(h.fx().calls.size(), 1u);
  auto call = h.fx().calls[0].first;
  h.advance(900);
  // A retry starts a new attempt: `single` counts again from here.
  h.run().function_retrying(call, 1, "503", 50);
  h.advance(999);
  EXPECT_EQ(h.status(), instance_status::running);
  h.advance(1);
  EXPECT_EQ(h.status(), instance_status::faulted);
  EXPECT_EQ(h.value().error->code, "timeout");
  EXPECT_EQ(h.fx().clock - started, 1900);
}

TEST_P(machine_test, action_condition_and_sleep) {
  auto h = make(head + R"(
functions:
  - {name: a, type: custom, operation: a}
start: Op
states:
  - name: Op
    type: operation
    actions:
      - {functionRef: a, condition: '${ .skip | not }'}
      - {functionRef: a, sleep: {before: PT1S, after: PT2S}}
    end: true
)");
  int calls = 0;
  h.functions["a"] = [&](const json&) -> expected<json> { return json{{"calls", ++calls}}; };
  h.start(R"({"skip": true})");
  EXPECT_EQ(calls, 0);
  h.advance(999);
  EXPECT_EQ(calls, 0);
  h.advance(1);
  EXPECT_EQ(calls, 1);
  h.advance(1999);
  EXPECT_EQ(h.status(), instance_status::running);
  h.advance(1);
  EXPECT_EQ(h.status(), instance_status::completed);
  EXPECT_EQ(h.output(), json::parse(R"({"skip": true, "calls": 1})"));
}

TEST_P(machine_test, pause_holds_new_actions_until_resume) {
  auto h = make(head + R"(
functions:
  - {name: a, type: custom, operation: a}
start: Nap
states:
  - {name: Nap, type: sleep, duration: PT1S, transition: Op}
  - name: Op
    type: operation
    actions: [{functionRef: a}]
    end: true
)");
  h.functions["a"] = returns({{"done", true}});
  h.start("{}");
  h.pause();
  h.advance(1000);
  EXPECT_EQ(h.status(), instance_status::paused);
  EXPECT_TRUE(h.fx().calls.empty());
  h.resume();
  EXPECT_EQ(h.status(), instance_status::completed);
}

TEST_P(machine_test, end_produces_events_and_cancel_terminates) {
  auto h = make(head + events + R"(
start: Done
states:
  - name: Done
    type: inject
    data: {total: 5}
    end:
      produceEvents:
        - {eventRef: Request, data: '${ {total} }', contextAttributes: {subject: order}}
)");
  h.start("{}");
  EXPECT_EQ(h.status(), instance_status::completed);
  ASSERT_EQ(h.fx().produced.size(), 1u);
  EXPECT_EQ(json::parse(*h.fx().produced[0].data), json::parse(R"({"total": 5})"));
  EXPECT_EQ(h.fx().produced[0].subject, "order");

  auto waiting = make(head + R"(
start: Nap
states:
  - {name: Nap, type: sleep, duration: PT1H, end: true}
)");
  waiting.start("{}");
  waiting.run().cancel("by the test");
  EXPECT_EQ(waiting.status(), instance_status::terminated);
  waiting.advance(3'600'000);
  EXPECT_EQ(waiting.status(), instance_status::terminated);
}

TEST_P(machine_test, subflows_start_children) {
  auto h = make(head + R"(
start: Op
states:
  - name: Op
    type: operation
    actions:
      - subFlowRef: {workflowId: child, invoke: async}
        actionDataFilter: {toStateData: '${ .async }'}
      - subFlowRef: child
        actionDataFilter: {toStateData: '${ .child }'}
    end: true
)");
  h.start(R"({"x": 1})");
  ASSERT_EQ(h.fx().children.size(), 2u);
  EXPECT_FALSE(h.fx().children[0].wait);
  EXPECT_TRUE(h.fx().children[1].wait);
  h.run().function_done(h.fx().children[1].token, jq::value::from_json({{"y", 2}}));
  EXPECT_EQ(h.status(), instance_status::completed);
  EXPECT_EQ(h.output(), json::parse(R"({"x": 1, "child": {"y": 2}})"));
}


const std::string counter = head + R"(
start: Count
states:
  - name: Count
    type: switch
    dataConditions:
      - condition: '${ .n < .limit }'
        transition: Inc
    defaultCondition: {end: true}
  - name: Inc
    type: inject
    data: {}
    stateDataFilter: {output: '${ .n += 1 }'}
    transition: Count
)";

TEST_P(machine_test, a_long_loop_completes_yielding_between_turns) {
  auto h = make(counter);
  h.start(R"({"n": 0, "limit": 5000})");
  EXPECT_EQ(h.status(), instance_status::completed);
  EXPECT_EQ(h.output(), json::parse(R"({"n": 5000, "limit": 5000})"));
  // 10,001 states entered, 1,000 a turn: the machine let others run.
  EXPECT_EQ(h.turns(), 10);
  EXPECT_EQ(h.value().transitions, 10'001u);
}

TEST_P(machine_test, an_endless_loop_faults_with_limit_and_suggests_continue_as) {
  machine_limits limits;
  limits.max_transitions = 2'500;
  limits.transitions_per_turn = 300;
  auto h = make(counter, limits);
  h.start(R"({"n": 0, "limit": 1000000000})");
  ASSERT_EQ(h.status(), instance_status::faulted);
  EXPECT_EQ(h.value().error->code, "limit");
  EXPECT_NE(h.value().error->message.find("2500 states"), std::string::npos)
    << h.value().error->message;
  EXPECT_NE(h.value().error->message.find("continueAs"), std::string::npos);
  EXPECT_EQ(h.value().error->state, "Count");
  EXPECT_EQ(h.value().transitions, 2'500u);
  // An operator retry gets a fresh budget and runs on from there.
  ASSERT_TRUE(h.run().retry());
  h.settle();
  EXPECT_EQ(h.value().error->code, "limit");
  EXPECT_EQ(h.value().transitions, 2'500u);
}

TEST_P(machine_test, foreach_iterations_may_yield_any_json_as_their_result) {
  for (const char* mode : {"batchSize: 1", "batchSize: 2", "", "mode: sequential"}) {
    auto h = make(head + fmt::format(R"(
functions:
  - {{name: square, type: expression, operation: '.n * .n'}}
start: Each
states:
  - name: Each
    type: foreach
    inputCollection: '${{ .numbers }}'
    iterationParam: n
    outputCollection: '${{ .squares }}'
    {}
    actions:
      - functionRef: square
    end: true
)",
                                     mode));
    h.start(R"({"numbers": [3, 1, 4]})");
    EXPECT_EQ(h.status(), instance_status::completed) << mode;
    EXPECT_EQ(h.output(), json::parse(R"({"numbers": [3, 1, 4], "squares": [9, 1, 16]})"))
      << mode;
  }
}

TEST_P(machine_test, foreach_a_non_object_result_before_the_last_action_is_error_merge) {
  auto h = make(head + R"(
functions:
  - {name: square, type: expression, operation: '.n * .n'}
start: Each
states:
  - name: Each
    type: foreach
    inputCollection: '${ .numbers }'
    iterationParam: n
    outputCollection: '${ .squares }'
    actions:
      - functionRef: square
      - functionRef: square
    end: true
)");
  h.start(R"({"numbers": [3]})");
  EXPECT_EQ(h.status(), instance_status::faulted);
  EXPECT_EQ(h.value().error->code, "merge");
}

// Straight only: restored at every step, each of the 1,000 answers would
// re-issue the 999 calls still in flight.
TEST(machine, foreach_in_flight_costs_each_iteration_its_own_size) {
  harness h{head + R"(
functions:
  - {name: square, type: custom, operation: square}
start: Each
states:
  - name: Each
    type: foreach
    inputCollection: '${ .numbers }'
    iterationParam: n
    outputCollection: '${ .squares }'
    actions:
      - functionRef: {refName: square, arguments: {n: '${ .n }'}}
    end: true
)",
            false};
  json input{{"numbers", json::array()}, {"pad", std::string(2000, 'x')}};
  for (int k = 0; k < 1000; ++k)
    input["numbers"].push_back(k);
  h.start(input.dump().c_str());
  ASSERT_EQ(h.fx().calls.size(), 1000u);  // every iteration in flight
  // Each iteration's data would be a full copy of the ~6 KB state data:
  // 6 MB. Each holds only its own `n`.
  EXPECT_LT(snapshot(h.value()).size(), 400'000u);
  h.functions["square"] = [](const json& a) -> expected<json> {
    return a["n"].get<int>() * a["n"].get<int>();
  };
  h.settle();
  ASSERT_EQ(h.status(), instance_status::completed);
  auto out = h.output();
  EXPECT_EQ(out["squares"].size(), 1000u);
  EXPECT_EQ(out["squares"][999], 999 * 999);
  EXPECT_EQ(out["pad"], input["pad"]);
}

const std::string partly_done = head + R"(
functions:
  - {name: ok, type: custom, operation: ok}
  - {name: bad, type: custom, operation: bad}
errors: [{name: Down, code: '503'}]
start: Work
states:
)";

const char* handled_tail = R"(
    onErrors: [{errorRef: Down, transition: Handled}]
    end: true
  - {name: Handled, type: inject, data: {handled: true}, end: true}
)";

TEST_P(machine_test, an_error_handled_by_on_errors_keeps_the_results_before_it) {
  auto answer = [](harness& h) {
    h.functions["ok"] = returns({{"y", 2}});
    h.functions["bad"] = [](const json&) -> expected<json> { return fail("503", "down"); };
    h.settle();
  };
  for (const char* mode : {"sequential", "parallel"}) {
    auto h = make(partly_done + fmt::format(R"(
  - name: Work
    type: operation
    actionMode: {}
    actions: [{{functionRef: ok}}, {{functionRef: bad}}])",
                                            mode) + handled_tail);
    h.start(R"({"x": 1})");
    answer(h);
    EXPECT_EQ(h.status(), instance_status::completed) << mode;
    EXPECT_EQ(h.output(), json::parse(R"({"x": 1, "y": 2, "handled": true})")) << mode;
  }
  // A parallel state: the branches that completed before the error count.
  auto p = make(partly_done + R"(
  - name: Work
    type: parallel
    branches:
      - {name: good, actions: [{functionRef: ok}]}
      - {name: failing, actions: [{functionRef: bad}]})" + handled_tail);
  p.start(R"({"x": 1})");
  answer(p);
  EXPECT_EQ(p.output(), json::parse(R"({"x": 1, "y": 2, "handled": true})"));
  // A foreach: iterations work on copies; the state data is as it was.
  auto f = make(partly_done + R"(
  - name: Work
    type: foreach
    inputCollection: '${ .items }'
    outputCollection: '${ .out }'
    mode: sequential
    actions: [{functionRef: ok}, {functionRef: bad}])" + handled_tail);
  f.start(R"({"items": [1, 2]})");
  answer(f);
  EXPECT_EQ(f.output(), json::parse(R"({"items": [1, 2], "handled": true})"));
}

TEST_P(machine_test, an_instance_that_never_ran_is_retried_from_the_start) {
  auto h = make(payment);
  // As the admin keeps an instance whose actor died before its first step.
  auto& i = h.value();
  i.status = instance_status::faulted;
  i.error = instance_error{"crash", "the instance's actor died", ""};
  i.data = jq::value::from_json({{"order", 1}});
  h.functions["pay"] = returns({{"paid", true}});
  ASSERT_TRUE(h.run().retry());
  h.settle();
  EXPECT_EQ(h.status(), instance_status::completed);
  EXPECT_EQ(h.output(), json::parse(R"({"order": 1, "paid": true})"));
}

TEST_P(machine_test, the_run_before_chain_follows_its_flows_then_terminates) {
  auto h = make(head + events + R"(
timeouts:
  workflowExecTimeout: {duration: PT1M, runBefore: Cleanup}
start: Nap
states:
  - {name: Nap, type: sleep, duration: PT1H, end: true}
  - {name: Cleanup, type: inject, data: {cleaned: true}, transition: Notify}
  - name: Notify
    type: inject
    data: {notified: true}
    end: {produceEvents: [{eventRef: Request}]}
)");
  h.start("{}");
  h.advance(60'000);
  EXPECT_EQ(h.status(), instance_status::terminated);
  EXPECT_EQ(h.value().error->code, "timeout");
  EXPECT_EQ(h.output(), json::parse(R"({"cleaned": true, "notified": true})"));
  ASSERT_EQ(h.fx().produced.size(), 1u);
  EXPECT_EQ(h.fx().produced[0].type, "request");
}

TEST_P(machine_test, only_events_that_correlate_are_kept) {
  auto h = make(head + R"(
functions:
  - {name: work, type: custom, operation: work}
events:
  - name: Order
    type: order
    source: test
    correlation: [{contextAttributeName: orderid}]
start: First
states:
  - {name: First, type: event, onEvents: [{eventRefs: [Order]}], transition: Busy}
  - {name: Busy, type: operation, actions: [{functionRef: work}], transition: Second}
  - name: Second
    type: event
    onEvents: [{eventRefs: [Order], eventDataFilter: {toStateData: '${ .second }'}}]
    end: true
)");
  h.start("{}");
  h.event("order", R"({"n": 1})", {{"orderid", "7"}});
  for (int k = 0; k < 5; ++k)
    h.event("order", R"({"n": 99})", {{"orderid", "8"}});
  EXPECT_TRUE(h.value().kept_events.empty()) << "events of another order were kept";
  EXPECT_EQ(h.history("event.ignored").size(), 5u);
  h.event("order", R"({"n": 2})", {{"orderid", "7"}});
  EXPECT_EQ(h.value().kept_events.size(), 1u);
  h.functions["work"] = returns(json::object());
  h.settle();
  EXPECT_EQ(h.status(), instance_status::completed);
  EXPECT_EQ(h.output(), json::parse(R"({"n": 1, "second": {"n": 2}})"));
}

TEST(snapshot, that_does_not_fit_the_definition_is_refused_before_anything_runs) {
  harness h{head + R"(
functions:
  - {name: a, type: custom, operation: a}
start: First
states:
  - {name: First, type: inject, data: {}, transition: Second}
  - name: Second
    type: operation
    actions:
      - functionRef: a
      - functionRef: a
    end: true
)", false};
  h.start("{}");
  ASSERT_EQ(h.fx().calls.size(), 1u);
  auto bytes = snapshot(h.value());
  auto against = [&](const std::string& yaml) {
    auto plan = plan_of(yaml);
    auto restored = restore(bytes);
    EXPECT_TRUE(restored);
    test_effects fx;
    fx.w = plan->definition.get();
    machine m{*plan, *restored, fx};
    auto fits = m.rearm();
    // A misfit re-issues nothing; a fit re-issues the call in flight.
    EXPECT_EQ(fx.calls.size(), fits ? 1u : 0u);
    EXPECT_TRUE(fx.timers.empty());
    return fits ? std::string{} : fits.error().code + ": " + fits.error().message;
  };
  EXPECT_EQ(against(head + "start: First\nstates:\n  - {name: First, type: inject, data: {}, "
                           "end: true}\n"),
            "snapshot: the snapshot of instance i-1 does not fit t version '1': its state 1 is "
            "past the last state");
  EXPECT_EQ(against(head + R"(
start: First
states:
  - {name: First, type: inject, data: {}, transition: Second}
  - {name: Second, type: sleep, duration: PT1S, end: true}
)"),
            "snapshot: the snapshot of instance i-1 does not fit t version '1': state 'Second' "
            "has no action list 0");
  EXPECT_EQ(against(head + R"(
functions:
  - {name: a, type: custom, operation: a}
start: First
states:
  - {name: First, type: inject, data: {}, transition: Second}
  - {name: Second, type: operation, actions: [{functionRef: a}], end: true}
)"),
            "");
}

TEST(snapshot, rejects_garbage) {
  EXPECT_FALSE(restore("\xff\xff not a snapshot"));
}

TEST(snapshot, names_the_field_that_is_wrong) {
  meshflow::instance::Instance m;
  m.set_data("{}");
  m.mutable_current()->set_phase(99);
  auto r = restore(m.SerializeAsString());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "unknown state phase 99");
  m.mutable_current()->set_phase(0);
  m.mutable_current()->set_data("{not json");
  r = restore(m.SerializeAsString());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("current.data"), std::string::npos);
}

} // namespace
} // namespace meshflow::actors
