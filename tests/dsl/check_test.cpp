// Checks across the definition: references, names, compensation, reachability.

#include <gtest/gtest.h>

#include "load_helpers.hpp"
#include "meshflow/dsl/validate.hpp"

using namespace meshflow::dsl;
using namespace meshflow::dsl::testing;

namespace {

std::vector<diagnostic> check(const std::string& text, severity s = severity::error) {
  auto r = load(text);
  EXPECT_TRUE(r.workflow) << all_text(r.diagnostics);
  if (!r.workflow)
    return {};
  return check_references(*r.workflow, s);
}

} // namespace

TEST(check, transition_to_an_unknown_state_suggests_the_closest) {
  auto ds = check(workflow_with("  - name: Start\n    type: inject\n    data: {}\n"
                                "    transition: Finsh\n"
                                "  - name: Finish\n    type: inject\n    data: {}\n    end: true\n"));
  auto errors = errors_of(ds);
  ASSERT_EQ(errors.size(), 1u) << all_text(ds);
  EXPECT_EQ(errors[0].path, "states[0].transition");
  EXPECT_EQ(errors[0].position.line, 8);
  EXPECT_NE(errors[0].message.find("did you mean 'Finish'?"), std::string::npos);
}

TEST(check, reference_findings_are_warnings_unless_strict) {
  auto text = workflow_with("  - name: A\n    type: operation\n    actions:\n"
                            "      - functionRef: nowhere\n    end: true\n");
  auto lenient = check(text, severity::warning);
  ASSERT_EQ(lenient.size(), 1u);
  EXPECT_EQ(lenient[0].severity, severity::warning);
  EXPECT_NE(lenient[0].message.find("deploying this workflow will fail"), std::string::npos);
  auto strict = check(text, severity::error);
  ASSERT_EQ(errors_of(strict).size(), 1u);
  EXPECT_EQ(strict[0].path, "states[0].actions[0].functionRef");
}

TEST(check, duplicate_state_names) {
  auto ds = errors_of(check(workflow_with(
    "  - name: A\n    type: inject\n    data: {}\n    transition: A\n"
    "  - name: A\n    type: inject\n    data: {}\n    end: true\n")));
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].path, "states[1].name");
}

TEST(check, compensation_rules) {
  // compensatedBy must name a state with usedForCompensation: true ...
  auto ds = errors_of(check(workflow_with(
    "  - name: A\n    type: inject\n    data: {}\n    compensatedBy: B\n    transition: B\n"
    "  - name: B\n    type: inject\n    data: {}\n    end: true\n")));
  ASSERT_EQ(ds.size(), 1u) << all_text(ds);
  EXPECT_EQ(ds[0].path, "states[0].compensatedBy");
  // ... which normal transitions cannot reach.
  ds = errors_of(check(workflow_with(
    "  - name: A\n    type: inject\n    data: {}\n    compensatedBy: B\n    transition: B\n"
    "  - name: B\n    type: inject\n    data: {}\n    usedForCompensation: true\n")));
  ASSERT_EQ(ds.size(), 1u) << all_text(ds);
  EXPECT_EQ(ds[0].path, "states[0].transition");
}

TEST(check, unreachable_states_are_warnings) {
  auto ds = check(workflow_with("  - name: A\n    type: inject\n    data: {}\n    end: true\n"
                                "  - name: Lost\n    type: inject\n    data: {}\n    end: true\n"));
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].severity, severity::warning);
  EXPECT_EQ(ds[0].path, "states[1]");
}

TEST(check, events_are_used_in_their_direction) {
  auto ds = errors_of(check(workflow_with(
    "  - name: A\n    type: event\n    onEvents:\n      - eventRefs: [out]\n    end: true\n",
    "events:\n  - {name: out, type: t, kind: produced}\n")));
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_NE(ds[0].message.find("produced"), std::string::npos);
}

TEST(check, error_and_retry_references) {
  auto ds = errors_of(check(workflow_with(
    "  - name: A\n    type: operation\n    actions:\n      - functionRef: f\n"
    "        retryRef: fast\n        retryableErrors: [oops]\n"
    "    onErrors:\n      - errorRef: boom\n        end: true\n    end: true\n",
    "functions:\n  - {name: f, operation: x}\n")));
  ASSERT_EQ(ds.size(), 3u) << all_text(ds);
}

TEST(check, at_least_needs_num_completed_within_the_branch_count) {
  auto ds = errors_of(check(workflow_with(
    "  - name: P\n    type: parallel\n    completionType: atLeast\n    numCompleted: 3\n"
    "    branches:\n      - name: b\n        actions: []\n    end: true\n")));
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].path, "states[0].numCompleted");
}

TEST(check, expressions_are_compiled_and_errors_name_the_expression) {
  auto r = load(workflow_with(
    "  - name: S\n    type: switch\n    dataConditions:\n"
    "      - condition: '${ .a == 1 }'\n        end: true\n"
    "      - condition: '${ .a | nosuchfunction }'\n        end: true\n"
    "      - condition: '${ .b ==== 2 }'\n        end: true\n"
    "    defaultCondition:\n      end: true\n"));
  ASSERT_TRUE(r.workflow);
  auto c = compile(std::make_shared<const workflow>(std::move(*r.workflow)));
  EXPECT_FALSE(c.plan);
  auto errors = errors_of(c.diagnostics);
  ASSERT_EQ(errors.size(), 2u) << all_text(c.diagnostics);
  EXPECT_EQ(errors[0].path, "states[0].dataConditions[1].condition");
  EXPECT_NE(errors[0].message.find("nosuchfunction/0 is not defined"), std::string::npos)
    << errors[0].message;
  EXPECT_EQ(errors[1].path, "states[0].dataConditions[2].condition");
  EXPECT_NE(errors[1].message.find("syntax error"), std::string::npos) << errors[1].message;
}

TEST(check, an_empty_reference_is_a_reference_finding) {
  auto ds = check(workflow_with("  - name: A\n    type: operation\n    actions:\n"
                                "      - functionRef: {refName: ''}\n    end: true\n"),
                  severity::warning);
  ASSERT_EQ(ds.size(), 1u) << all_text(ds);
  EXPECT_EQ(ds[0].severity, severity::warning);
  EXPECT_NE(ds[0].message.find("no function named ''"), std::string::npos);
}

TEST(check, validate_refuses_what_a_deploy_refuses_unless_schema_level) {
  auto text = workflow_with("  - name: Pack\n    type: inject\n    data: {}\n"
                            "    transition: Shipp\n"
                            "  - name: Ship\n    type: inject\n    data: {}\n    end: true\n");
  auto deploy = validate_text(text, "order.sw.yaml", ".");
  EXPECT_FALSE(deploy.plan);
  auto errors = errors_of(deploy.diagnostics);
  ASSERT_EQ(errors.size(), 1u) << all_text(deploy.diagnostics);
  EXPECT_EQ(errors[0].path, "states[0].transition");
  EXPECT_NE(errors[0].message.find("did you mean 'Ship'?"), std::string::npos);

  load_options schema_level;
  schema_level.strict = false;
  auto lenient = validate_text(text, "order.sw.yaml", ".", schema_level);
  EXPECT_TRUE(lenient.plan);
  EXPECT_TRUE(errors_of(lenient.diagnostics).empty()) << all_text(lenient.diagnostics);
}

TEST(check, every_finding_a_deploy_refuses_is_an_error_unless_schema_level) {
  // Each definition has one finding the 0.8 schema accepts and a deploy refuses.
  const std::string inject_end = "  - name: B\n    type: inject\n    data: {}\n    end: true\n";
  const std::string calls = "  - name: A\n    type: operation\n    actions:\n"
                            "      - functionRef: f\n";
  const std::string defines_f = "functions:\n  - {name: f, type: expression, operation: '.'}\n";
  struct finding {
    std::string what, text, path;
  };
  const std::vector<finding> findings{
    {"unknown function", workflow_with(calls + "    end: true\n"),
     "states[0].actions[0].functionRef"},
    {"unknown event",
     workflow_with("  - name: A\n    type: event\n    onEvents:\n      - eventRefs: [e]\n"
                   "    end: true\n"),
     "states[0].onEvents[0].eventRefs[0]"},
    {"unknown error",
     workflow_with(calls + "    onErrors:\n      - {errorRef: boom, end: true}\n    end: true\n",
                   defines_f),
     "states[0].onErrors[0].errorRef"},
    {"unknown retry", workflow_with(calls + "        retryRef: fast\n    end: true\n", defines_f),
     "states[0].actions[0].retryRef"},
    {"duplicate state",
     workflow_with("  - name: B\n    type: inject\n    data: {}\n    transition: B\n"
                   + inject_end),
     "states[1].name"},
    {"unknown start", workflow_with(inject_end, "start: Bee\n"), "start"},
    {"compensatedBy without usedForCompensation",
     workflow_with("  - name: A\n    type: inject\n    data: {}\n    compensatedBy: B\n"
                   "    end: true\n" + inject_end),
     "states[0].compensatedBy"},
    {"rpc function",
     workflow_with(calls + "    end: true\n",
                   "functions:\n  - {name: f, type: rpc, operation: 'a.proto#S#m'}\n"),
     "functions[0].type"},
    {"end: false", workflow_with("  - name: A\n    type: inject\n    data: {}\n    end: false\n"),
     "states[0].end"},
    {"jsonpath", workflow_with(inject_end, "expressionLang: jsonpath\n"), "expressionLang"},
  };
  load_options schema_level;
  schema_level.strict = false;
  for (const auto& f : findings) {
    auto deploy = validate_text(f.text, "t.sw.yaml", ".");
    EXPECT_FALSE(deploy.plan) << f.what;
    auto errors = errors_of(deploy.diagnostics);
    EXPECT_TRUE(std::any_of(errors.begin(), errors.end(),
                            [&](const diagnostic& d) { return d.path == f.path; }))
      << f.what << ": no error at " << f.path << "\n" << all_text(deploy.diagnostics);
    auto lenient = validate_text(f.text, "t.sw.yaml", ".", schema_level);
    EXPECT_TRUE(errors_of(lenient.diagnostics).empty()) << f.what << "\n"
                                                         << all_text(lenient.diagnostics);
  }
}

TEST(check, function_types_meshflow_cannot_bind_are_reference_findings) {
  auto text = workflow_with(
    "  - name: A\n    type: operation\n    actions:\n"
    "      - functionRef: r\n      - functionRef: g\n      - functionRef: o\n"
    "      - functionRef: a\n      - functionRef: e\n      - functionRef: c\n"
    "      - functionRef: h\n    end: true\n",
    "functions:\n"
    "  - {name: r, type: rpc, operation: 'file://s.proto#S#M'}\n"
    "  - {name: g, type: graphql, operation: 'https://x/graphql#query#q'}\n"
    "  - {name: o, type: odata, operation: 'https://x/odata#E'}\n"
    "  - {name: a, type: asyncapi, operation: 'file://a.yaml#op'}\n"
    "  - {name: e, type: expression, operation: '.x'}\n"
    "  - {name: c, type: custom, operation: native}\n"
    "  - {name: h, operation: 'file://api.json#op'}\n");
  // asyncapi functions are bound at deploy, through the catalog.
  auto errors = errors_of(check(text));
  ASSERT_EQ(errors.size(), 3u) << all_text(errors);
  EXPECT_EQ(errors[0].path, "functions[0].type");
  EXPECT_EQ(errors[0].message, "function type rpc is not supported yet");
  EXPECT_EQ(errors[1].message, "function type graphql is not supported yet");
  EXPECT_EQ(errors[2].message, "function type odata is not supported yet");
  auto warnings = check(text, severity::warning);
  ASSERT_EQ(warnings.size(), 3u) << all_text(warnings);
  EXPECT_NE(warnings[0].message.find("deploying this workflow will fail"), std::string::npos);
}

TEST(check, jsonpath_is_valid_0_8_that_meshflow_cannot_run) {
  auto text = workflow_with("  - name: A\n    type: inject\n    data: {}\n"
                            "    stateDataFilter:\n      output: '$.name'\n    end: true\n",
                            "expressionLang: jsonpath\n");
  auto deploy = validate_text(text, "t.sw.yaml", ".");
  auto errors = errors_of(deploy.diagnostics);
  ASSERT_EQ(errors.size(), 1u) << all_text(deploy.diagnostics);
  EXPECT_EQ(errors[0].path, "expressionLang");
  EXPECT_NE(errors[0].message.find("jq expressions only"), std::string::npos);

  // The schema-level reading accepts it, and does not read '$.name' as jq.
  load_options schema_level;
  schema_level.strict = false;
  auto lenient = validate_text(text, "t.sw.yaml", ".", schema_level);
  EXPECT_FALSE(lenient.plan);
  ASSERT_EQ(lenient.diagnostics.size(), 1u) << all_text(lenient.diagnostics);
  EXPECT_EQ(lenient.diagnostics[0].severity, severity::warning);
  EXPECT_EQ(lenient.diagnostics[0].path, "expressionLang");
}

TEST(check, an_expression_language_nobody_knows_is_an_error_in_every_reading) {
  auto text = workflow_with("  - name: A\n    type: inject\n    data: {}\n    end: true\n",
                            "expressionLang: abc\n");
  load_options schema_level;
  schema_level.strict = false;
  for (const auto& options : {load_options{}, schema_level}) {
    auto errors = errors_of(validate_text(text, "t.sw.yaml", ".", options).diagnostics);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].path, "expressionLang");
    EXPECT_NE(errors[0].message.find("'abc' is no expression language"), std::string::npos)
      << errors[0].message;
  }
}
