// One program per workflow version: expressions compiled together, evaluated
// by id, errors attributed to the expression that caused them.

#include <thread>

#include <gtest/gtest.h>

#include "meshflow/dsl/jq.hpp"

using meshflow::jq::program_builder;
using meshflow::jq::value;

namespace {

value json(const char* text) {
  auto v = value::parse(text);
  EXPECT_TRUE(v) << text;
  return v ? *v : value{};
}

} // namespace

TEST(jq, many_expressions_in_one_program_each_evaluated_by_id) {
  program_builder b;
  std::vector<meshflow::jq::expression_id> ids;
  for (int i = 0; i < 25; ++i)
    ids.push_back(b.add(".n + " + std::to_string(i)));
  auto p = std::move(b).build(nlohmann::json::object(), nlohmann::json::object());
  ASSERT_TRUE(p);
  for (int i = 0; i < 25; ++i) {
    auto r = (*p)->evaluate(ids[i], json(R"({"n": 100})"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->to_json(), 100 + i);
  }
}

TEST(jq, variables_const_secrets_workflow) {
  program_builder b;
  auto c = b.add("$CONST.limit");
  auto s = b.add("$SECRETS.TOKEN");
  auto w = b.add("$WORKFLOW.instanceId");
  auto p = std::move(b).build({{"limit", 7}}, {{"TOKEN", "t0k"}});
  ASSERT_TRUE(p);
  auto wf = json(R"({"id": "wf", "instanceId": "i-1", "version": "1"})");
  EXPECT_EQ((*p)->evaluate(c, value{})->to_json(), 7);
  EXPECT_EQ((*p)->evaluate(s, value{})->to_json(), "t0k");
  EXPECT_EQ((*p)->evaluate(w, value{}, wf)->to_json(), "i-1");
}

TEST(jq, the_environment_is_not_visible) {
  setenv("MESHFLOW_TEST_HIDDEN", "secret", 1);
  program_builder b;
  auto e1 = b.add("env.MESHFLOW_TEST_HIDDEN");
  auto e2 = b.add("$ENV.MESHFLOW_TEST_HIDDEN");
  auto p = std::move(b).build(nlohmann::json::object(), nlohmann::json::object());
  ASSERT_TRUE(p);
  EXPECT_EQ((*p)->evaluate(e1, value{})->to_json(), nullptr);
  EXPECT_EQ((*p)->evaluate(e2, value{})->to_json(), nullptr);
}

TEST(jq, functions_are_callable_from_expressions) {
  program_builder b;
  b.add_function(".applicant | .age > 18");
  auto id = b.add("__mf_fn_0 and true");
  auto p = std::move(b).build(nlohmann::json::object(), nlohmann::json::object());
  ASSERT_TRUE(p) << p.error().front().message;
  EXPECT_TRUE((*p)->evaluate(id, json(R"({"applicant": {"age": 30}})"))->truthy());
  EXPECT_FALSE((*p)->evaluate(id, json(R"({"applicant": {"age": 3}})"))->truthy());
}

TEST(jq, error_codes_follow_the_semantics) {
  program_builder b;
  auto user = b.add(R"(error("payment_declined"))", false, true);
  auto runtime = b.add(".a.b");
  auto p = std::move(b).build(nlohmann::json::object(), nlohmann::json::object());
  ASSERT_TRUE(p);
  auto r1 = (*p)->evaluate(user, value{});
  ASSERT_FALSE(r1);
  EXPECT_EQ(r1.error().code, "payment_declined");
  auto r2 = (*p)->evaluate(runtime, json(R"({"a": 3})"));
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().code, "expression");
  EXPECT_NE(r2.error().message.find("Cannot index number"), std::string::npos);
}

TEST(jq, no_output_is_null_and_paths_are_paths) {
  program_builder b;
  auto empty = b.add("empty");
  auto path = b.add(".a.b[0]", true);
  auto p = std::move(b).build(nlohmann::json::object(), nlohmann::json::object());
  ASSERT_TRUE(p);
  EXPECT_EQ((*p)->evaluate(empty, value{})->to_json(), nullptr);
  EXPECT_EQ((*p)->evaluate(path, value{})->to_json(), nlohmann::json::parse(R"(["a","b",0])"));
}

TEST(jq, every_bad_expression_is_named) {
  program_builder b;
  b.add(".ok");
  b.add(".a | undefined_fn");
  b.add(".fine | length");
  b.add(". as [$x | $x");
  auto p = std::move(b).build(nlohmann::json::object(), nlohmann::json::object());
  ASSERT_FALSE(p);
  ASSERT_EQ(p.error().size(), 2u);
  EXPECT_EQ(p.error()[0].index, 1u);
  EXPECT_EQ(p.error()[1].index, 3u);
}

TEST(jq, concurrent_evaluation_is_safe) {
  program_builder b;
  auto id = b.add("[range(0; .n)] | add");
  auto p = std::move(b).build(nlohmann::json::object(), nlohmann::json::object());
  ASSERT_TRUE(p);
  auto program = *p;
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto r = program->evaluate(id, json(R"({"n": 100})"));
        if (!r || r->to_json() != 4950)
          ++wrong;
      }
    });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(jq, values_round_trip_through_json) {
  auto j = nlohmann::json::parse(R"({"a":[1,2.5,"x",null,true,{"b":false}],"big":12345678901})");
  EXPECT_EQ(value::from_json(j).to_json(), j);
  EXPECT_FALSE(value::parse("{bad"));
}

TEST(jq, the_same_expressions_compile_once_per_process) {
  auto make = [](int limit) {
    program_builder b;
    b.add(".a > $CONST.limit");
    b.add(".b", true);
    return std::move(b).build({{"limit", limit}}, nlohmann::json::object());
  };
  auto first = make(1);
  auto again = make(1);
  auto other = make(2);
  ASSERT_TRUE(first && again && other);
  EXPECT_EQ(first->get(), again->get());
  EXPECT_NE(first->get(), other->get());  // other constants, another program
}

// libjq's reference counts are not atomic: a result that shared the
// compiled program's constants (the key of `path(.round)`, a literal)
// corrupted the heap once two threads evaluated the same program. Under
// ASan this test fails at once without the fix in program::evaluate.
TEST(jq, two_threads_evaluate_one_program) {
  meshflow::jq::program_builder b;
  auto key = b.add(".round", true);
  auto literal = b.add("{status: \"ok\", tags: [\"a\", \"b\"]} + .");
  auto p = std::move(b).build(nlohmann::json{{"c", "constant"}}, nlohmann::json::object());
  ASSERT_TRUE(p);
  auto work = [&] {
    auto input = *meshflow::jq::value::parse(R"({"round": 1})");
    for (int k = 0; k < 2000; ++k) {
      auto a = (*p)->evaluate(key, input);
      auto c = (*p)->evaluate(literal, input);
      ASSERT_TRUE(a && c);
      ASSERT_EQ(a->dump(), R"(["round"])");
    }
  };
  std::thread other{work};
  work();
  other.join();
}

// A state goes back to the pool, for any thread, holding nothing of the
// evaluation it ran: its input is referenced by its owner alone afterwards,
// whether the expression had one output, several, none or an error.
TEST(jq, a_state_keeps_no_reference_to_what_it_evaluated) {
  meshflow::jq::program_builder b;
  std::vector<meshflow::jq::expression_id> ids;
  for (const char* e : {".n * .n", ".a as $x | {y: $x}", ".xs[] | select(. > 1)", "empty",
                        "error(\"x\")", "first(.xs[])", "label $out | .xs[] | ., break $out"})
    ids.push_back(b.add(e));
  auto p = std::move(b).build(nlohmann::json::object(), nlohmann::json::object());
  ASSERT_TRUE(p);
  for (auto id : ids) {
    auto input = *meshflow::jq::value::parse(R"({"n": 3, "a": {"b": "c"}, "xs": [1, 2, 3]})");
    (void)(*p)->evaluate(id, input);
    EXPECT_EQ(jv_get_refcnt(input.get()), 1) << "expression " << id;
  }
}
