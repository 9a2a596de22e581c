// Data merging as SEMANTICS.md reads the specification.

#include <gtest/gtest.h>

#include "meshflow/dsl/data.hpp"

using namespace meshflow;
using meshflow::jq::value;

namespace {

value json(const char* text) {
  return *value::parse(text);
}

nlohmann::json merged(const char* a, const char* b) {
  return dsl::merge(json(a), json(b)).to_json();
}

} // namespace

TEST(data, objects_merge_key_by_key_and_the_incoming_side_wins) {
  EXPECT_EQ(merged(R"({"a":1,"b":{"x":1,"y":2}})", R"({"b":{"y":3,"z":4},"c":5})"),
            nlohmann::json::parse(R"({"a":1,"b":{"x":1,"y":3,"z":4},"c":5})"));
}

TEST(data, arrays_concatenate_without_repeating_elements) {
  EXPECT_EQ(merged(R"({"l":[1,2,{"k":1}]})", R"({"l":[2,3,{"k":1},{"k":2}]})"),
            nlohmann::json::parse(R"({"l":[1,2,{"k":1},3,{"k":2}]})"));
}

TEST(data, scalars_overwrite_and_different_kinds_replace) {
  EXPECT_EQ(merged(R"({"a":1})", R"({"a":"x"})"), nlohmann::json::parse(R"({"a":"x"})"));
  EXPECT_EQ(merged(R"({"a":{"b":1}})", R"({"a":[1]})"), nlohmann::json::parse(R"({"a":[1]})"));
  EXPECT_EQ(merged(R"({"a":[1]})", R"({"a":null})"), nlohmann::json::parse(R"({"a":null})"));
}

TEST(data, merge_at_a_path_creates_missing_objects) {
  auto r = dsl::merge_at(json(R"({"a":1})"), json(R"(["x","y"])"), json(R"({"v":2})"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->to_json(), nlohmann::json::parse(R"({"a":1,"x":{"y":{"v":2}}})"));
  // Any value may be placed at a path.
  auto s = dsl::merge_at(json(R"({"a":1})"), json(R"(["greeting"])"), json(R"("hello")"));
  EXPECT_EQ(s->to_json(), nlohmann::json::parse(R"({"a":1,"greeting":"hello"})"));
  // And merges with what is there.
  auto t = dsl::merge_at(json(R"({"x":{"k":1}})"), json(R"(["x"])"), json(R"({"j":2})"));
  EXPECT_EQ(t->to_json(), nlohmann::json::parse(R"({"x":{"k":1,"j":2}})"));
}

TEST(data, a_non_object_merged_at_the_top_is_a_merge_error) {
  auto r = dsl::merge_at(json(R"({"a":1})"), json("[]"), json("42"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "merge");
  auto bad_path = dsl::merge_at(json(R"({"a":1})"), json(R"(["a","b"])"), json("1"));
  ASSERT_FALSE(bad_path);
  EXPECT_EQ(bad_path.error().code, "merge");
}
