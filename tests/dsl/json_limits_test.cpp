#include "meshflow/json_limits.hpp"

#include <string>

#include <gtest/gtest.h>

namespace meshflow {
namespace {

std::string nested(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

TEST(json_limits, accepts_a_document_within_both_limits) {
  json_limits l;
  EXPECT_TRUE(check_json(R"({"a": [1, {"b": "}}}]]]"}]})", l, "the input"));
  EXPECT_TRUE(check_json(nested(256), l, "the input"));
}

TEST(json_limits, refuses_a_deep_document_without_recursing) {
  json_limits l;
  auto r = check_json(nested(100'000), l, "the input");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "limit");
  EXPECT_NE(r.error().message.find("the input nests deeper than 256 levels"), std::string::npos)
    << r.error().message;
  EXPECT_FALSE(check_json(nested(257), l, "x"));
}

TEST(json_limits, brackets_inside_strings_and_escapes_do_not_count) {
  json_limits l;
  l.max_depth = 2;
  EXPECT_TRUE(check_json(R"({"a": "[[[[{{{{\"[[[["})", l, "x"));
  EXPECT_FALSE(check_json(R"({"a": [{"b": 1}]})", l, "x"));
}

TEST(json_limits, refuses_a_document_over_the_size_limit_naming_it) {
  json_limits l;
  l.max_bytes = 10;
  auto r = check_json(R"({"name": "Ada Lovelace"})", l, "event e-1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "event e-1 is 24 bytes; the limit is 10 bytes");
}

} // namespace
} // namespace meshflow
