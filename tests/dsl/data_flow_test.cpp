// The data-filter rules of the specification and SEMANTICS.md, on compiled
// plans: what a state, an action and an event do to the state data.

#include <gtest/gtest.h>

#include "load_helpers.hpp"
#include "meshflow/dsl/data_flow.hpp"
#include "meshflow/dsl/validate.hpp"

using namespace meshflow;
using namespace meshflow::dsl;
using meshflow::dsl::testing::all_text;
using meshflow::dsl::testing::load;
using meshflow::jq::value;

namespace {

std::shared_ptr<const plan> plan_of(const std::string& text) {
  auto r = load(text);
  if (!r.workflow)
    throw std::runtime_error(all_text(r.diagnostics));
  auto c = compile(std::make_shared<const workflow>(std::move(*r.workflow)));
  if (!c.plan)
    throw std::runtime_error(all_text(c.diagnostics));
  return c.plan;
}

value jv_of(const char* text) {
  return *value::parse(text);
}

nlohmann::json j(const char* text) {
  return nlohmann::json::parse(text);
}

const std::string definition = R"(id: flow
specVersion: '0.8'
constants: {greeting: Hello}
functions:
  - {name: api, operation: 'api.json#op'}
  - {name: fullName, type: expression, operation: '.first + " " + .last'}
events:
  - {name: paid, type: payment.done, source: payments}
states:
  - name: Work
    type: operation
    stateDataFilter:
      input: ${ .order }
      output: '${ {summary: .result} }'
    actions:
      - functionRef:
          refName: api
          arguments:
            who: ${ fn:fullName }
            greeting: ${ $CONST.greeting }
            literal: 'plain text, ${ not } an expression'
            nested: {list: ['${ .first }', 2]}
        actionDataFilter:
          fromStateData: ${ .customer }
          results: ${ .body }
          toStateData: ${ .result.call }
      - functionRef: api
        actionDataFilter:
          useResults: false
      - functionRef: api
    end: true
  - name: Wait
    type: event
    onEvents:
      - eventRefs: [paid]
        eventDataFilter:
          data: ${ .amount }
          toStateData: ${ .payment.amount }
      - eventRefs: [paid]
        eventDataFilter:
          useData: false
      - eventRefs: [paid]
    end: true
)";

const value no_workflow{};

} // namespace

TEST(data_flow, state_data_filters_shape_what_a_state_sees_and_gives) {
  auto p = plan_of(definition);
  auto in = state_data_in(*p, "states[0]", jv_of(R"({"order":{"id":7},"noise":1})"), no_workflow);
  ASSERT_TRUE(in);
  EXPECT_EQ(in->to_json(), j(R"({"id":7})"));
  auto out = state_data_out(*p, "states[0]", jv_of(R"({"id":7,"result":{"ok":true}})"), no_workflow);
  EXPECT_EQ(out->to_json(), j(R"({"summary":{"ok":true}})"));
  // A state without a filter passes its data through.
  EXPECT_EQ(state_data_in(*p, "states[1]", jv_of(R"({"a":1})"), no_workflow)->to_json(),
            j(R"({"a":1})"));
}

TEST(data_flow, from_state_data_is_the_action_input_and_arguments_see_it) {
  auto p = plan_of(definition);
  auto input = action_input(*p, "states[0].actions[0]",
                            jv_of(R"({"customer":{"first":"Ada","last":"Lovelace"}})"),
                            no_workflow);
  ASSERT_TRUE(input);
  EXPECT_EQ(input->to_json(), j(R"({"first":"Ada","last":"Lovelace"})"));
  const auto& action = std::get<operation_state>(p->definition->states[0].properties).actions[0];
  auto args = render_template(*p, "states[0].actions[0].functionRef.arguments",
                              std::get<function_ref>(action.target).arguments, *input,
                              no_workflow);
  ASSERT_TRUE(args) << args.error().message;
  EXPECT_EQ(args->to_json(), j(R"({"who":"Ada Lovelace","greeting":"Hello",
                                   "literal":"plain text, ${ not } an expression",
                                   "nested":{"list":["Ada",2]}})"));
}

TEST(data_flow, results_are_filtered_and_merged_at_to_state_data) {
  auto p = plan_of(definition);
  const auto& actions = std::get<operation_state>(p->definition->states[0].properties).actions;
  auto data = jv_of(R"({"id":7,"result":{"earlier":1}})");
  auto merged = merge_action_result(*p, actions[0], "states[0].actions[0]", data,
                                    jv_of(R"({"status":200,"body":{"x":1}})"), no_workflow);
  ASSERT_TRUE(merged) << merged.error().message;
  EXPECT_EQ(merged->to_json(), j(R"({"id":7,"result":{"earlier":1,"call":{"x":1}}})"));
}

TEST(data_flow, use_results_false_merges_nothing) {
  auto p = plan_of(definition);
  const auto& actions = std::get<operation_state>(p->definition->states[0].properties).actions;
  auto data = jv_of(R"({"id":7})");
  auto merged = merge_action_result(*p, actions[1], "states[0].actions[1]", data,
                                    jv_of(R"({"x":1})"), no_workflow);
  EXPECT_EQ(merged->to_json(), j(R"({"id":7})"));
}

TEST(data_flow, without_to_state_data_an_object_merges_and_anything_else_is_error_merge) {
  auto p = plan_of(definition);
  const auto& actions = std::get<operation_state>(p->definition->states[0].properties).actions;
  auto data = jv_of(R"({"id":7,"tags":["a"]})");
  auto merged = merge_action_result(*p, actions[2], "states[0].actions[2]", data,
                                    jv_of(R"({"id":8,"tags":["a","b"]})"), no_workflow);
  EXPECT_EQ(merged->to_json(), j(R"({"id":8,"tags":["a","b"]})"));
  auto refused = merge_action_result(*p, actions[2], "states[0].actions[2]", data,
                                     jv_of(R"("just a string")"), no_workflow);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "merge");
}

TEST(data_flow, event_data_filters) {
  auto p = plan_of(definition);
  const auto& on = std::get<event_state>(p->definition->states[1].properties).on_events;
  auto data = jv_of(R"({"order":1})");
  auto payload = jv_of(R"({"amount":42,"currency":"EUR"})");
  auto filtered = merge_event_data(*p, on[0].event_data_filter,
                                   "states[1].onEvents[0].eventDataFilter", data, payload,
                                   no_workflow);
  ASSERT_TRUE(filtered) << filtered.error().message;
  EXPECT_EQ(filtered->to_json(), j(R"({"order":1,"payment":{"amount":42}})"));
  auto unused = merge_event_data(*p, on[1].event_data_filter,
                                 "states[1].onEvents[1].eventDataFilter", data, payload,
                                 no_workflow);
  EXPECT_EQ(unused->to_json(), j(R"({"order":1})"));
  auto whole = merge_event_data(*p, on[2].event_data_filter,
                                "states[1].onEvents[2].eventDataFilter", data, payload,
                                no_workflow);
  EXPECT_EQ(whole->to_json(), j(R"({"order":1,"amount":42,"currency":"EUR"})"));
}

TEST(data_flow, a_failing_filter_names_its_place_and_keeps_its_code) {
  auto p = plan_of(definition);
  auto r = state_data_out(*p, "states[0]", jv_of(R"([1,2])"), no_workflow);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "expression");
  EXPECT_NE(r.error().message.find("states[0].stateDataFilter.output"), std::string::npos);
}
