// The specification's own examples validate (in the schema-level reading:
// some name things they do not define, which only a deploy refuses); the
// documents it got wrong are rejected with diagnostics that let a person fix
// them.

#include <filesystem>
#include <set>

#include <gtest/gtest.h>

#include "load_helpers.hpp"
#include "meshflow/dsl/validate.hpp"

namespace fs = std::filesystem;
using namespace meshflow::dsl;
using meshflow::dsl::testing::all_text;

namespace {

const fs::path shared{MESHFLOW_SHARED_DIR};

std::vector<fs::path> examples() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator{shared / "conformance/sw-0.8/examples"}) {
    auto name = e.path().filename().string();
    if (name.find(".sw.") != std::string::npos)
      out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// What the 0.8 schema (and the specification's text) checks, as
/// `meshflow validate --schema-only` does.
load_options schema_level() {
  load_options o;
  o.strict = false;
  return o;
}

} // namespace

TEST(conformance, every_specification_example_validates_without_error) {
  auto files = examples();
  ASSERT_EQ(files.size(), 56u) << "56 workflow documents beside the two definition files";
  for (const auto& f : files) {
    auto v = validate_file(f, schema_level());
    EXPECT_FALSE(has_errors(v.diagnostics)) << f << "\n" << all_text(v.diagnostics);
    EXPECT_TRUE(v.plan) << f;
  }
}

TEST(conformance, a_deploy_refuses_exactly_the_examples_that_name_what_they_do_not_define) {
  // The examples validate.hpp names; every other one would deploy.
  const std::set<std::string> refused{
    "15-perform-customer-credit-check", "20-new-patient-onboarding", "23-car-vitals-checks-2",
    "24-book-lending",                  "26-online-food-ordering-2", "26-online-food-ordering-3",
    "28-process-transactions"};
  for (const auto& f : examples()) {
    auto name = f.filename().string();
    auto v = validate_file(f);
    EXPECT_EQ(has_errors(v.diagnostics), refused.contains(name.substr(0, name.find(".sw."))))
      << f << "\n" << all_text(v.diagnostics);
  }
}

TEST(conformance, json_and_yaml_twins_compile_to_the_same_expressions) {
  for (const auto& f : examples()) {
    if (f.extension() != ".json")
      continue;
    auto yaml = f;
    yaml.replace_extension(".yaml");
    if (!fs::exists(yaml))
      continue;
    auto a = validate_file(f, schema_level());
    auto b = validate_file(yaml, schema_level());
    ASSERT_TRUE(a.plan && b.plan) << f;
    EXPECT_EQ(a.plan->expressions->source(), b.plan->expressions->source()) << f;
    EXPECT_EQ(a.plan->definition->states.size(), b.plan->definition->states.size()) << f;
  }
}

TEST(conformance, store_order_example_validates_with_its_two_documented_warnings) {
  auto v = validate_file(shared / "examples/store-order/storeorderworkflow.sw.yaml");
  EXPECT_FALSE(has_errors(v.diagnostics)) << all_text(v.diagnostics);
  auto text = all_text(v.diagnostics);
  EXPECT_NE(text.find("states[2].actions[0].eventRef: no 'resultEventRef'"), std::string::npos)
    << text;
  EXPECT_NE(text.find("'success' is not jq"), std::string::npos) << text;
  ASSERT_TRUE(v.plan);
  // The single-quoted literal was read as the jq string it means.
  auto id = v.plan->expression("states[1].dataConditions[0].condition");
  ASSERT_TRUE(id);
  auto data = meshflow::jq::value::parse(R"({"payment":{"status":"success"}})");
  auto r = v.plan->expressions->evaluate(*id, *data);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->truthy());
}

TEST(conformance, known_bad_08_yaml_names_the_line) {
  auto v = validate_file(shared / "conformance/sw-0.8/known-bad/08-event-based-transitions.sw.yaml");
  ASSERT_EQ(v.diagnostics.size(), 1u) << all_text(v.diagnostics);
  EXPECT_EQ(v.diagnostics[0].severity, severity::error);
  EXPECT_EQ(v.diagnostics[0].position.line, 32);
  EXPECT_EQ(v.diagnostics[0].position.column, 12);
  EXPECT_NE(v.diagnostics[0].message.find("not valid YAML"), std::string::npos);
}

TEST(conformance, known_bad_20_yaml_names_the_line) {
  auto v = validate_file(shared / "conformance/sw-0.8/known-bad/20-new-patient-onboarding.sw.yaml");
  ASSERT_EQ(v.diagnostics.size(), 1u) << all_text(v.diagnostics);
  EXPECT_EQ(v.diagnostics[0].severity, severity::error);
  EXPECT_EQ(v.diagnostics[0].position.line, 24);
}

TEST(conformance, known_bad_08_json_points_to_timeouts_event_timeout) {
  auto v = validate_file(shared / "conformance/sw-0.8/known-bad/08-event-based-transitions.sw.json");
  ASSERT_EQ(v.diagnostics.size(), 1u) << all_text(v.diagnostics);
  const auto& d = v.diagnostics[0];
  EXPECT_EQ(d.severity, severity::error);
  EXPECT_EQ(d.path, "states[0].eventTimeout");
  EXPECT_NE(d.message.find("'eventTimeout'"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("timeouts.eventTimeout"), std::string::npos) << d.message;
  EXPECT_GT(d.position.line, 0);
}

TEST(conformance, definitions_by_file_reference_are_loaded_relative_to_the_workflow) {
  auto v = validate_file(shared / "conformance/sw-0.8/examples/19-reusing-function-and-event-definitions.sw.yaml");
  ASSERT_TRUE(v.plan) << all_text(v.diagnostics);
  const auto& w = *v.plan->definition;
  ASSERT_EQ(w.functions.size(), 3u);
  EXPECT_EQ(w.functions[0].name, "checkFundsAvailability");
  ASSERT_EQ(w.events.size(), 2u);
  EXPECT_EQ(w.events[0].correlation.at(0).context_attribute_name, "accountId");
  EXPECT_EQ(w.events[1].kind, event_kind::produced);
}
