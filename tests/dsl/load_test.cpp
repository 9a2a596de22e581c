// What the 0.8 JSON schema checks, checked by the reader, with positions,
// definition paths and suggestions.

#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "load_helpers.hpp"
#include "meshflow/dsl/document.hpp"

using namespace meshflow::dsl;
using namespace meshflow::dsl::testing;

namespace {

const std::string inject_end = "  - name: A\n    type: inject\n    data: {}\n    end: true\n";

diagnostic only_error(const load_result& r) {
  auto errors = errors_of(r.diagnostics);
  EXPECT_EQ(errors.size(), 1u) << all_text(r.diagnostics);
  return errors.empty() ? diagnostic{} : errors.front();
}

} // namespace

TEST(load, reads_a_minimal_definition) {
  auto r = load(workflow_with(inject_end));
  ASSERT_TRUE(r.workflow) << all_text(r.diagnostics);
  EXPECT_EQ(r.workflow->identity(), "test");
  ASSERT_EQ(r.workflow->states.size(), 1u);
  EXPECT_EQ(r.workflow->states[0].type(), state_type::inject);
  EXPECT_TRUE(r.diagnostics.empty()) << all_text(r.diagnostics);
}

TEST(load, unknown_state_property_is_an_error_with_a_suggestion) {
  auto d = only_error(load(workflow_with(
    "  - name: A\n    type: operation\n    actoins: []\n    actions: []\n    end: true\n")));
  EXPECT_EQ(d.path, "states[0].actoins");
  EXPECT_EQ(d.position.line, 7);
  EXPECT_EQ(d.position.column, 5);
  EXPECT_NE(d.message.find("did you mean 'actions'?"), std::string::npos) << d.message;
}

TEST(load, unknown_top_level_property_is_a_warning_as_the_schema_allows_it) {
  auto r = load(workflow_with(inject_end, "descripton: x\n"));
  ASSERT_TRUE(r.workflow);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].severity, severity::warning);
  EXPECT_NE(r.diagnostics[0].message.find("did you mean 'description'?"), std::string::npos);
}

TEST(load, missing_required_property) {
  auto d = only_error(load(workflow_with("  - name: A\n    type: inject\n    end: true\n")));
  EXPECT_EQ(d.path, "states[0]");
  EXPECT_NE(d.message.find("'data'"), std::string::npos) << d.message;
}

TEST(load, missing_identity_and_spec_version) {
  auto r = load("states:\n" + inject_end);
  auto errors = errors_of(r.diagnostics);
  ASSERT_EQ(errors.size(), 2u) << all_text(r.diagnostics);
  EXPECT_NE(all_text(errors).find("'id'"), std::string::npos);
  EXPECT_NE(all_text(errors).find("'specVersion'"), std::string::npos);
}

TEST(load, misspelt_state_type_suggests_the_right_one) {
  auto d = only_error(load(workflow_with("  - name: A\n    type: opration\n    end: true\n")));
  EXPECT_EQ(d.path, "states[0].type");
  EXPECT_NE(d.message.find("did you mean 'operation'?"), std::string::npos) << d.message;
}

TEST(load, wrong_type_names_both_types) {
  auto d = only_error(load(workflow_with(
    "  - name: A\n    type: operation\n    actions: {}\n    end: true\n")));
  EXPECT_EQ(d.path, "states[0].actions");
  EXPECT_NE(d.message.find("must be an array, not an object"), std::string::npos) << d.message;
}

TEST(load, yaml_plain_scalars_are_typed_like_the_schema_sees_them) {
  // `version: 1.0` is a number in YAML: the schema wants a string.
  auto d = only_error(load("id: t\nversion: 1.0\nspecVersion: '0.8'\nstates:\n" + inject_end));
  EXPECT_EQ(d.path, "version");
  EXPECT_NE(d.message.find("not a number"), std::string::npos) << d.message;
  // A quoted "true" is a string, a plain true a boolean.
  auto r = load(workflow_with(inject_end, "keepActive: 'true'\n"));
  EXPECT_EQ(only_error(r).path, "keepActive");
}

TEST(load, transition_and_end_are_exclusive_and_one_is_required) {
  auto both = only_error(load(workflow_with(
    "  - name: A\n    type: inject\n    data: {}\n    end: true\n    transition: A\n")));
  EXPECT_NE(both.message.find("give only one"), std::string::npos) << both.message;
  auto none = only_error(load(workflow_with("  - name: A\n    type: inject\n    data: {}\n")));
  EXPECT_NE(none.message.find("needs 'transition' or 'end'"), std::string::npos) << none.message;
  // A compensation state may have neither.
  auto r = load(workflow_with(inject_end + "  - name: B\n    type: inject\n    data: {}\n"
                                           "    usedForCompensation: true\n"));
  EXPECT_TRUE(errors_of(r.diagnostics).empty()) << all_text(r.diagnostics);
}

TEST(load, an_action_has_exactly_one_target) {
  auto d = only_error(load(workflow_with(
    "  - name: A\n    type: operation\n    actions:\n      - functionRef: f\n"
    "        subFlowRef: g\n    end: true\n",
    "functions:\n  - name: f\n    operation: x\n")));
  EXPECT_EQ(d.path, "states[0].actions[0]");
  EXPECT_NE(d.message.find("give only one"), std::string::npos) << d.message;
}

TEST(load, enum_values_are_checked) {
  auto d = only_error(load(workflow_with(
    "  - name: A\n    type: operation\n    actionMode: paralel\n    actions: []\n    end: true\n")));
  EXPECT_EQ(d.path, "states[0].actionMode");
  EXPECT_NE(d.message.find("did you mean 'parallel'?"), std::string::npos) << d.message;
}

TEST(load, timeouts_per_state_type) {
  auto r = load(workflow_with(
    "  - name: A\n    type: operation\n    timeouts:\n      stateExecTimeout: PT1S\n"
    "      eventTimeout: PT2S\n    actions: []\n    end: true\n"));
  ASSERT_TRUE(r.workflow) << all_text(r.diagnostics);
  EXPECT_EQ(r.workflow->states[0].timeouts.state_exec_timeout->total.value.count(), 1000);
  EXPECT_FALSE(r.workflow->states[0].timeouts.event_timeout);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].severity, severity::warning);
  EXPECT_EQ(r.diagnostics[0].path, "states[0].timeouts.eventTimeout");
}

TEST(load, bad_duration_is_an_error_naming_the_value) {
  auto d = only_error(load(workflow_with("  - name: A\n    type: sleep\n    duration: 5 seconds\n"
                                         "    end: true\n")));
  EXPECT_EQ(d.path, "states[0].duration");
  EXPECT_NE(d.message.find("'5 seconds'"), std::string::npos) << d.message;
}

TEST(load, bad_cron_is_an_error) {
  auto d = only_error(load(workflow_with(
    inject_end, "start:\n  stateName: A\n  schedule:\n    cron: '61 * * * *'\n")));
  EXPECT_EQ(d.path, "start.schedule.cron");
  EXPECT_NE(d.message.find("out of range"), std::string::npos) << d.message;
}

TEST(load, json_syntax_errors_are_reported_as_json_with_their_line) {
  auto r = load_workflow_text("{\n  \"id\": \"x\",\n  \"states\": [,]\n}", "t.json", ".");
  auto d = only_error(r);
  EXPECT_EQ(d.position.line, 3);
  EXPECT_NE(d.message.find("not valid JSON"), std::string::npos) << d.message;
}

TEST(load, every_value_of_the_model_is_read) {
  auto r = load(workflow_with(
    "  - name: Ops\n    type: operation\n    actionMode: parallel\n"
    "    stateDataFilter: {input: '${ .a }', output: '${ .b }'}\n"
    "    actions:\n      - name: call\n        functionRef:\n          refName: f\n"
    "          arguments: {x: '${ .x }', y: 3}\n          invoke: async\n"
    "        retryRef: r\n        retryableErrors: [e]\n        sleep: {before: PT1S}\n"
    "        actionDataFilter: {results: '${ .r }', toStateData: '${ .out }', useResults: true}\n"
    "        condition: '${ true }'\n"
    "    onErrors:\n      - errorRef: e\n        end: {terminate: true}\n"
    "    end:\n      produceEvents:\n        - eventRef: done\n          data: '${ . }'\n"
    "      continueAs: {workflowId: next, version: '2', data: {k: 1}}\n",
    "functions:\n  - {name: f, operation: 'api.json#op', type: rest}\n"
    "events:\n  - {name: done, type: t, kind: produced}\n"
    "errors:\n  - {name: e, code: '503'}\n"
    "retries:\n  - {name: r, delay: PT1S, multiplier: 2, maxAttempts: 3, jitter: 0.1}\n"));
  ASSERT_TRUE(r.workflow) << all_text(r.diagnostics);
  const auto& s = r.workflow->states[0];
  const auto& op = std::get<operation_state>(s.properties);
  EXPECT_EQ(op.action_mode, action_mode::parallel);
  const auto& f = std::get<function_ref>(op.actions[0].target);
  EXPECT_EQ(f.invoke, invoke_kind::async);
  EXPECT_EQ(f.arguments["y"], 3);
  EXPECT_EQ(op.actions[0].sleep->before->value.count(), 1000);
  EXPECT_EQ(s.on_errors[0].error_refs, std::vector<std::string>{"e"});
  EXPECT_TRUE(std::get<end_def>(s.on_errors[0].flow).terminate);
  const auto& end = std::get<end_def>(*s.flow);
  EXPECT_EQ(end.continue_as->workflow_id, "next");
  EXPECT_EQ(end.produce_events[0].event_ref, "done");
  EXPECT_EQ(r.workflow->retries[0].max_attempts, 3);
  EXPECT_DOUBLE_EQ(std::get<double>(*r.workflow->retries[0].jitter), 0.1);
  EXPECT_EQ(*r.workflow->errors[0].code, "503");
}

TEST(load, alias_bombs_stop_at_the_node_budget) {
  // Ten levels of ten aliases: 10^10 nodes once expanded.
  std::string text = "id: t\nspecVersion: '0.8'\nconstants:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'j'; ++c)
    text += fmt::format("  {0}: &{0} [*{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}, *{1}]\n",
                        c, static_cast<char>(c - 1));
  load_options limits;
  limits.max_nodes = 100'000;  // the default (1M) works the same, only longer
  auto r = load(text + "states:\n" + inject_end, limits);
  EXPECT_FALSE(r.workflow);
  EXPECT_NE(all_text(r.diagnostics).find("too many nodes"), std::string::npos)
    << all_text(r.diagnostics);
}

TEST(load, hostile_documents_give_diagnostics_not_crashes) {
  std::vector<std::string> inputs = {
    "", "   \n", std::string("\0\x01\x02", 3), "\xC0\xAF: x", "[1, 2", "- a\n- b",
    "null", "42", "{\"id\": \"\xED\xA0\x80\"}",
    std::string(100000, '[') + std::string(100000, ']'),
    std::string(100000, '{') + std::string(100000, '}'),
  };
  std::string deep_yaml;
  for (int i = 0; i < 100000; ++i)
    deep_yaml += "- ";
  deep_yaml += "x\n";
  inputs.push_back(deep_yaml);
  for (const auto& in : inputs) {
    auto r = load(in);
    EXPECT_FALSE(r.workflow);
    EXPECT_FALSE(errors_of(r.diagnostics).empty()) << in.substr(0, 20);
  }
}

TEST(load, oversized_documents_are_refused_with_the_limit) {
  auto r = load(std::string(11 * 1024 * 1024, ' '));
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_NE(r.diagnostics[0].message.find("limited to"), std::string::npos);
}

TEST(load, id_and_key_together_are_rejected_as_the_schema_does) {
  auto d = only_error(load("id: a\nkey: b\nspecVersion: '0.8'\nstates:\n" + inject_end));
  EXPECT_EQ(d.path, "key");
}

TEST(load, end_false_is_an_error_and_a_warning_in_the_schema_level_reading) {
  auto text = workflow_with("  - name: A\n    type: inject\n    data: {}\n    end: false\n");
  EXPECT_EQ(only_error(load(text)).path, "states[0].end");
  load_options schema_level;
  schema_level.strict = false;
  auto lenient = load(text, schema_level);
  EXPECT_TRUE(errors_of(lenient.diagnostics).empty()) << all_text(lenient.diagnostics);
  ASSERT_EQ(lenient.diagnostics.size(), 1u);
  EXPECT_NE(lenient.diagnostics[0].message.find("deploying this workflow will fail"),
            std::string::npos);
}

TEST(load, yaml_flow_style_is_yaml_even_when_it_starts_like_json) {
  auto r = load_workflow_text(
    "{id: t, specVersion: '0.8', states: [{name: A, type: inject, data: {}, end: true}]}",
    "flow.sw.yaml", ".");
  EXPECT_TRUE(r.workflow) << all_text(r.diagnostics);
  // In a .json file the same text is a JSON error, named as one.
  auto j = load_workflow_text("{id: t}", "flow.sw.json", ".");
  EXPECT_NE(all_text(j.diagnostics).find("not valid JSON"), std::string::npos);
}

TEST(load, a_file_holds_one_document) {
  auto d = only_error(load(workflow_with(inject_end) + "---\nid: other\n"));
  EXPECT_NE(d.message.find("a second YAML document"), std::string::npos) << d.message;
  EXPECT_EQ(d.position.line, 9);
}

TEST(load, deep_nesting_is_named_as_such) {
  auto d = only_error(load(std::string(100000, '[') + std::string(100000, ']')));
  EXPECT_NE(d.message.find("nesting deeper than"), std::string::npos) << d.message;
}

TEST(load, diagnostics_stay_on_one_line) {
  auto r = load(workflow_with(inject_end, "\"a\\u0000b\\nc\": 1\n"));
  ASSERT_EQ(r.diagnostics.size(), 1u);
  auto line = to_string(r.diagnostics[0]);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\0'), std::string::npos);
  EXPECT_NE(line.find("\\u0000"), std::string::npos) << line;
}

TEST(load, junk_after_a_flow_document_does_not_hang_the_reader) {
  // Found by the fuzzer: YAML::LoadAll loops forever on this input.
  auto r = load_workflow_file(std::filesystem::path{__FILE__}.parent_path()
                              / "inputs/yaml-cpp-loadall-loop.sw.yaml");
  EXPECT_FALSE(r.workflow);
  EXPECT_FALSE(errors_of(r.diagnostics).empty());
}

TEST(load, other_documents_read_as_json_with_the_same_care) {
  auto dir = std::filesystem::temp_directory_path() / "meshflow-read-document";
  std::filesystem::create_directories(dir);
  {
    std::ofstream{dir / "api.yaml"} << "openapi: 3.0.0\npaths:\n  /a: {get: {operationId: a}}\n"
                                       "version: 1.0\n";
    std::ofstream{dir / "bad.yaml"} << "a: [1,\n";
  }
  auto doc = read_document(dir / "api.yaml");
  ASSERT_TRUE(doc) << doc.error().message;
  EXPECT_EQ((*doc)["paths"]["/a"]["get"]["operationId"], "a");
  EXPECT_EQ((*doc)["version"], 1.0);  // typed as YAML 1.2 says
  auto bad = read_document(dir / "bad.yaml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("bad.yaml:"), std::string::npos) << bad.error().message;
  EXPECT_FALSE(read_document(dir / "missing.yaml"));
  std::filesystem::remove_all(dir);
}

TEST(load, every_definition_list_can_live_in_a_file_beside_the_workflow) {
  auto dir = std::filesystem::temp_directory_path() / "meshflow-referenced";
  std::filesystem::create_directories(dir);
  std::ofstream{dir / "constants.json"} << R"({"limit": 5})";
  std::ofstream{dir / "secrets.yaml"} << "secrets: [TOKEN]\n";
  std::ofstream{dir / "timeouts.yaml"} << "timeouts:\n  workflowExecTimeout: PT1H\n";
  std::ofstream{dir / "retries.yaml"} << "retries:\n  - {name: r, maxAttempts: 3}\n";
  std::ofstream{dir / "errors.yaml"} << "errors:\n  - {name: e, code: '503'}\n"
                                     << "  - {nmae: typo}\n";
  std::ofstream{dir / "flow.sw.yaml"}
    << "id: t\nspecVersion: '0.8'\nconstants: constants.json\nsecrets: file://secrets.yaml\n"
    << "timeouts: timeouts.yaml\nretries: retries.yaml\nerrors: errors.yaml\n"
    << "states:\n" << inject_end;
  auto r = load_workflow_file(dir / "flow.sw.yaml");
  // The typo in errors.yaml is reported against that file, at its line.
  auto errors = errors_of(r.diagnostics);
  ASSERT_EQ(errors.size(), 2u) << all_text(r.diagnostics);
  EXPECT_EQ(std::filesystem::path{errors[0].file}.filename(), "errors.yaml");
  EXPECT_EQ(errors[0].position.line, 3);
  std::ofstream{dir / "errors.yaml"} << "errors:\n  - {name: e, code: '503'}\n";
  r = load_workflow_file(dir / "flow.sw.yaml");
  ASSERT_TRUE(r.workflow) << all_text(r.diagnostics);
  EXPECT_EQ(r.workflow->constants["limit"], 5);
  EXPECT_EQ(r.workflow->secrets, std::vector<std::string>{"TOKEN"});
  EXPECT_EQ(r.workflow->timeouts.workflow_exec_timeout->duration.value,
            std::chrono::hours{1});
  EXPECT_EQ(r.workflow->retries.at(0).max_attempts, 3);
  EXPECT_EQ(*r.workflow->errors.at(0).code, "503");
  std::filesystem::remove_all(dir);
}
