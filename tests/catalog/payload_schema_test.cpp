// Payload schemas: compiled once with valijson, refs resolved against their
// document, every way a schema can be broken a problem, never an exception.

#include <gtest/gtest.h>

#include "meshflow/catalog/payload_schema.hpp"

using namespace meshflow;
using namespace meshflow::catalog;
using json = nlohmann::json;
using pointer = json::json_pointer;
using lines = std::vector<std::string>;

namespace {

payload_schema compiled(const json& doc, const pointer& at = pointer{}) {
  auto c = payload_schema::compile(doc, at);
  EXPECT_TRUE(c.problems.empty()) << c.problems.front().message;
  EXPECT_TRUE(c.schema);
  return *c.schema;
}

schema_problem only_problem(const json& doc, const pointer& at = pointer{}) {
  auto c = payload_schema::compile(doc, at);
  EXPECT_FALSE(c.schema);
  EXPECT_EQ(c.problems.size(), 1u);
  return c.problems.empty() ? schema_problem{} : c.problems.front();
}

/// `{"properties": {"a": {"properties": {"a": ... {"type": "string"}}}}}`.
json nested(std::size_t levels) {
  json schema = {{"type", "string"}};
  for (std::size_t i = 0; i < levels; ++i)
    schema = {{"properties", {{"a", schema}}}};
  return schema;
}

} // namespace

TEST(payload_schema, checks_a_self_contained_schema) {
  auto s = compiled(json::parse(R"({
    "type": "object",
    "required": ["id"],
    "properties": {"id": {"$ref": "#/definitions/id"}, "tags": {"type": "array"}},
    "definitions": {"id": {"type": "string", "minLength": 2}}
  })"));
  EXPECT_EQ(s.violations({{"id", "ab"}}), lines{});
  EXPECT_EQ(s.violations({{"id", "a"}, {"tags", 3}}),
            (lines{"<root>[id]: String should be no fewer than 2 characters in length.",
                   "<root>[tags]: Value type not permitted by 'type' constraint."}));
}

TEST(payload_schema, refs_resolve_against_the_whole_document) {
  auto doc = json::parse(R"({
    "components": {
      "schemas": {"Money": {"type": "number", "minimum": 0}},
      "messages": {"Paid": {"payload": {"properties": {"amount": {"$ref": "#/components/schemas/Money"}}}}}
    }
  })");
  auto s = compiled(doc, pointer{"/components/messages/Paid/payload"});
  EXPECT_EQ(s.violations({{"amount", 3}}), lines{});
  EXPECT_EQ(s.violations({{"amount", -1}}),
            (lines{"<root>[amount]: Expected number greater than or equal to 0.000000"}));
  // The compiled form: the schema and what it refers to, refs rewritten.
  EXPECT_EQ(s.source()["$ref"], "#/definitions/0");
  EXPECT_EQ(s.source()["definitions"]["0"]["properties"]["amount"]["$ref"], "#/definitions/1");
  EXPECT_EQ(s.source()["definitions"]["1"]["minimum"], 0);
}

TEST(payload_schema, recursive_schemas_compile_and_check_every_level) {
  auto doc = json::parse(R"({
    "definitions": {
      "node": {"type": "object", "required": ["name"],
               "properties": {"name": {"type": "string"},
                              "children": {"type": "array", "items": {"$ref": "#/definitions/node"}}}}
    },
    "$ref": "#/definitions/node"
  })");
  auto s = compiled(doc);
  json tree = {{"name", "a"}, {"children", {{{"name", "b"}, {"children", {{{"name", "c"}}}}}}}};
  EXPECT_EQ(s.violations(tree), lines{});
  tree["children"][0]["children"][0].erase("name");
  EXPECT_EQ(s.violations(tree),
            (lines{"<root>[children][0][children][0]: Missing required property 'name'."}));
}

TEST(payload_schema, a_ref_cycle_is_an_error_not_a_stack_overflow) {
  auto p = only_problem(json::parse(R"({
    "definitions": {"a": {"$ref": "#/definitions/b"}, "b": {"$ref": "#/definitions/a"}},
    "properties": {"x": {"$ref": "#/definitions/a"}}
  })"));
  EXPECT_EQ(p.severity, dsl::severity::error);
  EXPECT_EQ(p.at.to_string(), "/definitions/a/$ref");
  EXPECT_EQ(p.message, "$ref cycle: '#/definitions/a' -> '#/definitions/b' -> '#/definitions/a'; "
                       "the refs lead back to where they started and name no value");
  auto self = only_problem(json{{"$ref", "#"}});
  EXPECT_EQ(self.message, "$ref cycle: '#' -> '#'; the refs lead back to where they started and "
                          "name no value");
}

TEST(payload_schema, unresolvable_and_non_local_refs_are_warnings) {
  auto missing = only_problem(json{{"properties", {{"a", {{"$ref", "#/definitions/nope"}}}}}});
  EXPECT_EQ(missing.severity, dsl::severity::warning);
  EXPECT_EQ(missing.at.to_string(), "/properties/a/$ref");
  EXPECT_EQ(missing.message, "cannot resolve $ref '#/definitions/nope': the document has no "
                             "'definitions'; nothing is checked for this payload");
  auto remote = only_problem(json{{"items", {{"$ref", "https://example.com/s.json#/x"}}}});
  EXPECT_EQ(remote.severity, dsl::severity::warning);
  EXPECT_EQ(remote.message, "cannot resolve $ref 'https://example.com/s.json#/x' names another "
                            "document, which meshflow does not fetch; nothing is checked for "
                            "this payload");
  auto anchor = only_problem(json{{"items", {{"$ref", "#node"}}}});
  EXPECT_EQ(anchor.message, "cannot resolve $ref '#node' is not a JSON pointer (write "
                            "'#/components/...'); nothing is checked for this payload");
}

TEST(payload_schema, schemas_nested_too_deeply_are_refused) {
  compiled(nested(payload_schema::max_depth - 1));
  auto p = only_problem(nested(payload_schema::max_depth + 1));
  EXPECT_EQ(p.severity, dsl::severity::error);
  EXPECT_EQ(p.message, "the schema nests deeper than 64 levels ($refs followed); payload "
                       "schemas are not nested that deeply");
  // Refs count: each hop below goes one level further down.
  json chain = {{"definitions", json::object()}};
  for (int i = 0; i < 100; ++i)
    chain["definitions"][std::to_string(i)] = {
      {"properties", {{"next", {{"$ref", "#/definitions/" + std::to_string(i + 1)}}}}}};
  chain["definitions"]["100"] = {{"type", "string"}};
  EXPECT_EQ(only_problem(chain, pointer{"/definitions/0"}).severity, dsl::severity::error);
}

TEST(payload_schema, a_schema_valijson_cannot_use_is_an_error_not_an_exception) {
  for (const auto& bad : {json{{"type", "identifier"}}, json{{"required", "id"}},
                          json{{"properties", {{"a", 5}}}}, json{{"minimum", "zero"}}}) {
    auto c = payload_schema::compile(bad);
    EXPECT_FALSE(c.schema) << bad.dump();
    ASSERT_EQ(c.problems.size(), 1u) << bad.dump();
    EXPECT_EQ(c.problems[0].severity, dsl::severity::error);
    EXPECT_TRUE(c.problems[0].message.starts_with("not a usable JSON Schema: "))
      << c.problems[0].message;
  }
  // valijson compiles patterns when it first validates: they are tried here.
  auto pattern = only_problem(json{{"properties", {{"id", {{"pattern", "("}}}}}});
  EXPECT_EQ(pattern.at.to_string(), "/properties/id/pattern");
  EXPECT_TRUE(pattern.message.starts_with("'(' is not a regular expression meshflow can use ("))
    << pattern.message;
  EXPECT_EQ(only_problem(json("a string")).message,
            "a schema must be an object (or true/false), not a string");
}

TEST(payload_schema, boolean_schemas_and_data_that_looks_like_refs) {
  EXPECT_EQ(compiled(json(true)).violations({{"a", 1}}), lines{});
  EXPECT_FALSE(compiled(json(false)).violations({{"a", 1}}).empty());
  // `enum` values are data, not schemas: a `$ref` in them is not followed.
  auto s = compiled(json{{"enum", {{{"$ref", "#/nowhere"}}}}});
  EXPECT_EQ(s.violations({{"$ref", "#/nowhere"}}), lines{});
  EXPECT_FALSE(s.violations({{"$ref", "#/elsewhere"}}).empty());
}

TEST(payload_schema, an_absolute_id_does_not_send_refs_elsewhere) {
  auto s = compiled(json::parse(R"({
    "$id": "https://example.com/order.json",
    "properties": {"id": {"$ref": "#/definitions/id"}},
    "definitions": {"id": {"$id": "https://example.com/id.json", "type": "string"}}
  })"));
  EXPECT_EQ(s.violations({{"id", 7}}),
            (lines{"<root>[id]: Value type not permitted by 'type' constraint."}));
}

TEST(payload_schema, a_missing_place_is_a_problem) {
  EXPECT_EQ(only_problem(json::object(), pointer{"/components/x"}).message,
            "there is no schema here");
}
