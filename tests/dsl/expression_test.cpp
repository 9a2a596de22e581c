#include <gtest/gtest.h>

#include "meshflow/dsl/expression.hpp"

using namespace meshflow::dsl;

TEST(expression, unwraps_whole_value_expressions_only) {
  EXPECT_EQ(unwrap_expression("${ .a }"), ".a");
  EXPECT_EQ(unwrap_expression("  ${.a}  "), ".a");
  EXPECT_FALSE(unwrap_expression("hello ${ .a }"));
  EXPECT_FALSE(unwrap_expression(".a"));
}

TEST(expression, single_quoted_literals_become_jq_strings_with_a_warning) {
  auto p = prepare_expression("${ .payment.status == 'success' }", {});
  EXPECT_EQ(p.source, R"(.payment.status == "success")");
  ASSERT_EQ(p.warnings.size(), 1u);
  // Inside a jq string a single quote is just a character.
  auto q = prepare_expression(R"(.name == "it's")", {});
  EXPECT_EQ(q.source, R"(.name == "it's")");
  EXPECT_TRUE(q.warnings.empty());
}

TEST(expression, fn_calls_are_rewritten_and_checked) {
  auto p = prepare_expression("${ fn:isAdult and fn:hasId }", {"hasId", "isAdult"});
  EXPECT_EQ(p.source, "__mf_fn_1 and __mf_fn_0");
  EXPECT_EQ(p.functions_called, (std::vector<std::string>{"isAdult", "hasId"}));
  auto bad = prepare_expression("${ fn:nope }", {"isAdult"});
  ASSERT_TRUE(bad.error);
  EXPECT_NE(bad.error->find("fn:nope"), std::string::npos);
}

TEST(expression, an_expression_cannot_escape_its_parentheses) {
  EXPECT_TRUE(prepare_expression(".a) | (.b", {}).error);
  EXPECT_TRUE(prepare_expression(".a | (.b", {}).error);
  EXPECT_TRUE(prepare_expression("\"open", {}).error);
  // Brackets inside strings, interpolations and comments do not count.
  EXPECT_FALSE(prepare_expression(R"x("a)" + .b + "(\(.c | (.d))")x", {}).error);
  EXPECT_FALSE(prepare_expression(".a # closing ) in a comment\n| .b", {}).error);
}

TEST(expression, notices_calls_to_error) {
  EXPECT_TRUE(prepare_expression(R"(if .x then error("bad") else . end)", {}).calls_error);
  EXPECT_FALSE(prepare_expression(".errors | length", {}).calls_error);
  EXPECT_FALSE(prepare_expression(R"("error")", {}).calls_error);
}

TEST(expression, an_empty_expression_is_the_identity_as_in_jq) {
  auto p = prepare_expression("", {});
  EXPECT_FALSE(p.error);
  EXPECT_EQ(p.source, ".");
  EXPECT_EQ(prepare_expression("${ }", {}).source, ".");
}
