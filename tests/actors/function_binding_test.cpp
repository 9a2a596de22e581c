// Function bindings, called as the supervisor calls them: expression, custom
// (native), rest (a real HTTP server on loopback), and the types refused at
// deploy.

#include <filesystem>
#include <fstream>
#include <thread>

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <httplib.h>

#include "meshflow/actors/function_binding.hpp"
#include "meshflow/dsl/load.hpp"
#include "meshflow/dsl/plan.hpp"

namespace meshflow::actors {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<const dsl::plan> plan_of(const std::string& functions_yaml) {
  auto text = "id: t\nspecVersion: '0.8'\nfunctions:\n" + functions_yaml
              + "states:\n  - {name: A, type: inject, data: {}, end: true}\n";
  auto loaded = dsl::load_workflow_text(text, "t.yaml", ".");
  if (!loaded.workflow)
    throw std::runtime_error("the test definition does not load");
  auto c = dsl::compile(std::make_shared<const dsl::workflow>(std::move(*loaded.workflow)));
  if (!c.plan)
    throw std::runtime_error("the test definition does not compile");
  return c.plan;
}

class binding_test : public ::testing::Test {
protected:
  /// What the binding answers to `arguments`.
  invocation_result invoke(const caf::actor& binding, const std::string& arguments) {
    caf::scoped_actor self{sys_};
    invocation_result out = invocation_result::failed("test", "no answer");
    self->request(binding, caf::infinite, invoke_atom::value, arguments)
      .receive([&](invocation_result& r) { out = std::move(r); },
               [&](caf::error& e) { out = invocation_result::failed("test", sys_.render(e)); });
    return out;
  }

  caf::actor_system_config cfg_;
  caf::actor_system sys_{cfg_};
};

TEST_F(binding_test, expression_functions_run_jq_over_the_action_input) {
  binding_context ctx;
  ctx.plan = plan_of("  - {name: sum, type: expression, operation: '.a + .b'}\n"
                     "  - {name: boom, type: expression, operation: 'error(\"declined\")'}\n");
  auto sum = bind_function(sys_, ctx, 0);
  ASSERT_TRUE(sum) << sum.error().message;
  auto r = invoke(*sum, R"({"a": 1, "b": 2})");
  ASSERT_TRUE(r.ok) << r.failure.message;
  EXPECT_EQ(r.result, "3");
  auto boom = bind_function(sys_, ctx, 1);
  ASSERT_TRUE(boom);
  auto e = invoke(*boom, "{}");
  EXPECT_FALSE(e.ok);
  EXPECT_EQ(e.failure.code, "declined");
}

TEST_F(binding_test, custom_functions_are_native_functions_registered_by_name) {
  auto natives = std::make_shared<native_registry>();
  natives->add("double", [](const nlohmann::json& args) -> expected<nlohmann::json> {
    if (!args.contains("n"))
      return fail("400", "n is missing");
    return nlohmann::json{{"n", args["n"].get<int>() * 2}};
  });
  binding_context ctx;
  ctx.plan = plan_of("  - {name: twice, type: custom, operation: double}\n"
                     "  - {name: other, type: custom, operation: nowhere}\n");
  ctx.natives = natives;
  auto twice = bind_function(sys_, ctx, 0);
  ASSERT_TRUE(twice);
  EXPECT_EQ(invoke(*twice, R"({"n": 21})").result, R"({"n":42})");
  EXPECT_EQ(invoke(*twice, "{}").failure.code, "400");
  auto other = bind_function(sys_, ctx, 1);
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message.find("no native function 'nowhere'"), std::string::npos);
}

TEST_F(binding_test, rest_functions_call_the_openapi_operation) {
  httplib::Server server;
  server.Get(R"(/api/greet/([^/]+))", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(nlohmann::json{{"greeting", "Hello " + req.matches[1].str()}}.dump(),
                    "application/json");
  });
  server.Get("/api/down", [](const httplib::Request&, httplib::Response& res) {
    res.status = 503;
  });
  int port = server.bind_to_any_port("127.0.0.1");
  std::thread serving{[&] { server.listen_after_bind(); }};
  for (int i = 0; i < 5000 && !server.is_running(); ++i)
    std::this_thread::sleep_for(1ms);

  auto dir = std::filesystem::temp_directory_path() / "meshflow-binding-test";
  std::filesystem::create_directories(dir);
  std::ofstream{dir / "greeting.yaml"}
    << "openapi: 3.0.0\nservers:\n  - url: http://127.0.0.1:" << port << "/api\n"
    << "paths:\n  /greet/{name}:\n    get:\n      operationId: greet\n"
    << "      parameters: [{name: name, in: path, required: true}]\n"
    << "  /down:\n    get: {operationId: down}\n";

  binding_context ctx;
  ctx.plan = plan_of("  - {name: greet, operation: 'greeting.yaml#greet'}\n"
                     "  - {name: down, operation: 'file://greeting.yaml#down'}\n"
                     "  - {name: lost, operation: 'greeting.yaml#nothing'}\n"
                     "  - {name: gone, operation: 'missing.yaml#greet'}\n");
  ctx.base_dir = dir;
  auto greet = bind_function(sys_, ctx, 0);
  ASSERT_TRUE(greet) << greet.error().message;
  auto r = invoke(*greet, R"({"name": "Ada"})");
  ASSERT_TRUE(r.ok) << r.failure.message;
  EXPECT_EQ(r.result, R"({"greeting":"Hello Ada"})");
  auto down = bind_function(sys_, ctx, 1);
  ASSERT_TRUE(down) << down.error().message;
  EXPECT_EQ(invoke(*down, "{}").failure.code, "503");
  EXPECT_NE(bind_function(sys_, ctx, 2).error().message.find("no operation 'nothing'"),
            std::string::npos);
  EXPECT_NE(bind_function(sys_, ctx, 3).error().message.find("missing.yaml"),
            std::string::npos);

  caf::anon_send_exit(*greet, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(*down, caf::exit_reason::user_shutdown);
  server.stop();
  serving.join();
  std::filesystem::remove_all(dir);
}

TEST_F(binding_test, unsupported_function_types_are_refused_at_deploy) {
  binding_context ctx;
  ctx.plan = plan_of("  - {name: r, type: rpc, operation: 'svc.proto#S#m'}\n"
                     "  - {name: g, type: graphql, operation: 'api#query#q'}\n");
  auto r = bind_function(sys_, ctx, 0);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("function type rpc is not supported yet"), std::string::npos);
  EXPECT_NE(bind_function(sys_, ctx, 1).error().message.find("graphql"), std::string::npos);
}

} // namespace
} // namespace meshflow::actors
