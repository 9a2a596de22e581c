// Function bindings, called as the supervisor calls them: expression, custom
// (native), rest (real HTTP services on loopback: many calls at once, within
// the function's bound, abandoned for real, bodies within the limits),
// asyncapi (publishing through a stand-in bus), the two steps prepare and
// bind, and the types refused at deploy.

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <unistd.h>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "meshflow/actors/bus.hpp"
#include "meshflow/actors/function_binding.hpp"
#include "meshflow/dsl/load.hpp"
#include "meshflow/dsl/plan.hpp"
#include "meshflow/testing/http.hpp"

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
  /// What the binding answers to `arguments` (a call named `key`).
  invocation_result invoke(const caf::actor& binding, const std::string& arguments,
                           const std::string& key = {}) {
    caf::scoped_actor self{sys_};
    invocation_result out = invocation_result::failed("test", "no answer");
    self->request(binding, caf::infinite, invoke_atom::value, arguments, std::string{}, key)
      .receive([&](invocation_result& r) { out = std::move(r); },
               [&](caf::error& e) { out = invocation_result::failed("test", sys_.render(e)); });
    return out;
  }

  /// A folder with `api.yaml`: an OpenAPI document of the operations
  /// `ids` (GET /ID each) on the service at `url`.
  std::filesystem::path openapi(const std::string& url, const std::vector<std::string>& ids) {
    std::ofstream out{dir_ / "api.yaml"};
    out << "openapi: 3.0.0\nservers:\n  - url: " << url << "\npaths:\n";
    for (const auto& id : ids)
      out << "  /" << id << ":\n    get: {operationId: " << id << "}\n";
    return dir_;
  }

  /// The binding of `api.yaml#ID`, bound with `ctx`'s settings.
  caf::actor rest(const std::string& id, binding_context ctx = {}) {
    ctx.plan = plan_of("  - {name: f, operation: 'api.yaml#" + id + "'}\n");
    ctx.base_dir = dir_;
    ctx.http = http_;
    auto b = bind_function(sys_, ctx, 0);
    EXPECT_TRUE(b) << b.error().message;
    return b ? *b : caf::actor{};
  }

  binding_test() {
    dir_ = std::filesystem::temp_directory_path()
           / ("meshflow-binding-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  ~binding_test() override { std::filesystem::remove_all(dir_); }

  caf::actor_system_config cfg_;
  caf::actor_system sys_{cfg_};
  /// Before the client, so that the client (dropped first) closes the
  /// connections it keeps before the service stops.
  meshflow::testing::http_service service_;
  std::shared_ptr<transport::http_client> http_ = std::make_shared<transport::http_client>();
  std::filesystem::path dir_;
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
  service_.server.Get(R"(/api/greet/([^/]+))",
                     [](const httplib::Request& req, httplib::Response& res) {
                       res.set_content(
                         nlohmann::json{{"greeting", "Hello " + req.matches[1].str()},
                                        {"key", req.get_header_value("Idempotency-Key")}}
                           .dump(),
                         "application/json");
                     });
  service_.server.Get("/api/down", [](const httplib::Request&, httplib::Response& res) {
    res.status = 503;
  });
  ASSERT_TRUE(service_.start());

  std::ofstream{dir_ / "greeting.yaml"}
    << "openapi: 3.0.0\nservers:\n  - url: " << service_.url() << "/api\n"
    << "paths:\n  /greet/{name}:\n    get:\n      operationId: greet\n"
    << "      parameters: [{name: name, in: path, required: true}]\n"
    << "  /down:\n    get: {operationId: down}\n";

  binding_context ctx;
  ctx.plan = plan_of("  - {name: greet, operation: 'greeting.yaml#greet'}\n"
                     "  - {name: down, operation: 'file://greeting.yaml#down'}\n"
                     "  - {name: lost, operation: 'greeting.yaml#nothing'}\n"
                     "  - {name: gone, operation: 'missing.yaml#greet'}\n");
  ctx.base_dir = dir_;
  ctx.http = http_;
  auto greet = bind_function(sys_, ctx, 0);
  ASSERT_TRUE(greet) << greet.error().message;
  // The call's key goes with it, so that the service can deduplicate.
  auto r = invoke(*greet, R"({"name": "Ada"})", "instance-7.3");
  ASSERT_TRUE(r.ok) << r.failure.message;
  EXPECT_EQ(r.result, R"({"greeting":"Hello Ada","key":"instance-7.3"})");
  auto down = bind_function(sys_, ctx, 1);
  ASSERT_TRUE(down) << down.error().message;
  EXPECT_EQ(invoke(*down, "{}").failure.code, "503");
  EXPECT_NE(bind_function(sys_, ctx, 2).error().message.find("no operation 'nothing'"),
            std::string::npos);
  EXPECT_NE(bind_function(sys_, ctx, 3).error().message.find("missing.yaml"),
            std::string::npos);

  caf::anon_send_exit(*greet, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(*down, caf::exit_reason::user_shutdown);
}

TEST_F(binding_test, rest_calls_of_one_function_are_in_flight_together) {
  // The service answers once four calls are inside it at once: only if the
  // binding does not wait for one call before it starts the next.
  constexpr int n = 4;
  std::mutex mutex;
  std::condition_variable all_in;
  int inside = 0;
  service_.server.Get("/together", [&](const httplib::Request&, httplib::Response& res) {
    std::unique_lock lock{mutex};
    ++inside;
    all_in.notify_all();
    bool together = all_in.wait_for(lock, std::chrono::seconds{10}, [&] { return inside >= n; });
    res.set_content(together ? R"("together")" : R"("one after another")", "application/json");
  });
  ASSERT_TRUE(service_.start());
  openapi(service_.url(), {"together"});
  auto binding = rest("together");
  caf::scoped_actor self{sys_};
  std::vector<decltype(self->request(binding, caf::infinite, invoke_atom::value, std::string{},
                                     std::string{}, std::string{}))>
    calls;
  for (int k = 0; k < n; ++k)
    calls.push_back(
      self->request(binding, caf::infinite, invoke_atom::value, std::string{"{}"}, std::string{},
                    std::string{}));
  for (auto& call : calls)
    call.receive([](invocation_result& r) { EXPECT_EQ(r.result, R"("together")"); },
                 [&](caf::error& e) { ADD_FAILURE() << sys_.render(e); });
}

TEST_F(binding_test, rest_calls_in_flight_are_bounded_by_max_concurrent_calls) {
  std::mutex mutex;
  int inside = 0, most = 0;
  service_.server.Get("/work", [&](const httplib::Request&, httplib::Response& res) {
    {
      std::lock_guard lock{mutex};
      most = std::max(most, ++inside);
    }
    // (The service takes its time, so that calls would overlap if allowed.)
    std::this_thread::sleep_for(std::chrono::milliseconds{30});
    {
      std::lock_guard lock{mutex};
      --inside;
    }
    res.set_content("{}", "application/json");
  });
  ASSERT_TRUE(service_.start());
  openapi(service_.url(), {"work"});
  binding_context ctx;
  ctx.max_concurrent_calls = 2;
  auto binding = rest("work", ctx);
  caf::scoped_actor self{sys_};
  std::vector<decltype(self->request(binding, caf::infinite, invoke_atom::value, std::string{},
                                     std::string{}, std::string{}))>
    calls;
  for (int k = 0; k < 6; ++k)
    calls.push_back(
      self->request(binding, caf::infinite, invoke_atom::value, std::string{"{}"}, std::string{},
                    std::string{}));
  for (auto& call : calls)
    call.receive([](invocation_result& r) { EXPECT_TRUE(r.ok) << r.failure.message; },
                 [&](caf::error& e) { ADD_FAILURE() << sys_.render(e); });
  EXPECT_EQ(most, 2);
}

TEST_F(binding_test, an_abandoned_rest_call_releases_its_connection) {
  meshflow::testing::silent_service silent;
  openapi(silent.url(), {"never"});
  auto binding = rest("never");
  caf::scoped_actor self{sys_};
  // The supervisor's request, never answered ...
  self->request(binding, caf::infinite, invoke_atom::value, std::string{"{}"}, std::string{}, std::string{});
  ASSERT_TRUE(meshflow::testing::eventually([&] { return silent.requests() == 1; }));
  EXPECT_EQ(http_->transfers(), 1u);
  // ... until it gives up (actionExecTimeout): the connection closes.
  self->send(binding, abandon_atom::value);
  EXPECT_TRUE(meshflow::testing::eventually([&] { return silent.closed() == 1; }));
  EXPECT_TRUE(meshflow::testing::eventually([&] { return http_->transfers() == 0; }));
}

/// Calls `binding` and waits for the answer that never comes.
caf::behavior waiting_requester(caf::event_based_actor* self, caf::actor binding) {
  self->request(binding, caf::infinite, invoke_atom::value, std::string{"{}"}, std::string{}, std::string{})
    .then([](invocation_result&) {});
  return {[](const std::string&) {}};
}

TEST_F(binding_test, a_rest_call_whose_requester_stops_releases_its_connection) {
  meshflow::testing::silent_service silent;
  openapi(silent.url(), {"never"});
  auto binding = rest("never");
  auto requester = sys_.spawn(waiting_requester, binding);
  ASSERT_TRUE(meshflow::testing::eventually([&] { return silent.requests() == 1; }));
  // A supervisor stopped by its instance (cancelled, a state's timeout).
  caf::anon_send_exit(requester, caf::exit_reason::user_shutdown);
  EXPECT_TRUE(meshflow::testing::eventually([&] { return silent.closed() == 1; }));
  EXPECT_TRUE(meshflow::testing::eventually([&] { return http_->transfers() == 0; }));
}

TEST_F(binding_test, a_rest_binding_that_stops_leaves_no_transfer_behind) {
  meshflow::testing::silent_service silent;
  openapi(silent.url(), {"never"});
  auto binding = rest("never");
  caf::scoped_actor self{sys_};
  self->request(binding, caf::infinite, invoke_atom::value, std::string{"{}"}, std::string{}, std::string{});
  ASSERT_TRUE(meshflow::testing::eventually([&] { return silent.requests() == 1; }));
  caf::anon_send_exit(binding, caf::exit_reason::user_shutdown);
  EXPECT_TRUE(meshflow::testing::eventually([&] { return silent.closed() == 1; }));
}

TEST_F(binding_test, rest_response_bodies_are_bounded_by_the_context_limits) {
  service_.server.Get("/big", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"pad": ")" + std::string(4096, 'x') + R"("})", "application/json");
  });
  ASSERT_TRUE(service_.start());
  openapi(service_.url(), {"big"});
  EXPECT_TRUE(invoke(rest("big"), "{}").ok);
  binding_context small;
  small.limits.max_bytes = 1024;
  auto r = invoke(rest("big", small), "{}");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failure.code, "limit");
  EXPECT_NE(r.failure.message.find(service_.url() + "/big"), std::string::npos)
    << r.failure.message;
}

TEST_F(binding_test, a_function_is_prepared_on_one_thread_and_bound_on_another) {
  service_.server.Get("/ping", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"pong": true})", "application/json");
  });
  ASSERT_TRUE(service_.start());
  openapi(service_.url(), {"ping"});
  binding_context ctx;
  ctx.plan = plan_of("  - {name: f, operation: 'api.yaml#ping'}\n");
  ctx.base_dir = dir_;
  ctx.http = http_;
  expected<prepared_function> prepared = fail("test", "not prepared");
  std::thread{[&] { prepared = prepare_function(ctx, 0); }}.join();
  ASSERT_TRUE(prepared) << prepared.error().message;
  EXPECT_EQ(std::get<prepared_function::rest>(prepared->how).operation_id, "ping");
  auto binding = bind_function(sys_, ctx, std::move(*prepared));
  EXPECT_EQ(invoke(binding, "{}").result, R"({"pong":true})");
}

/// An AsyncAPI document of orders: `placeOrder` (publish, its payload needs
/// a string `id`), `orderPlaced` (subscribe).
const char* const orders_document = R"(asyncapi: 2.6.0
info: {title: Orders, version: '1.0.0'}
channels:
  order/requests:
    publish:
      operationId: placeOrder
      message:
        payload:
          type: object
          required: [id]
          properties: {id: {type: string}}
  order/replies:
    subscribe:
      operationId: orderPlaced
      message: {payload: {type: object}}
)";

class asyncapi_binding_test : public binding_test {
protected:
  asyncapi_binding_test() {
    auto c = std::make_shared<catalog::service_catalog>();
    EXPECT_TRUE(c->add("specs/orders.yaml", orders_document).registered);
    ctx_.catalog = std::move(c);
  }
  ~asyncapi_binding_test() override {
    for (const auto& b : bindings_)
      caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  }

  /// The binding of an asyncapi function with `operation`.
  expected<caf::actor> publisher(const std::string& operation) {
    ctx_.plan = plan_of("  - {name: place, type: asyncapi, operation: '" + operation + "'}\n");
    auto b = bind_function(sys_, ctx_, 0);
    if (b)
      bindings_.push_back(*b);
    return b;
  }

  /// What the binding answers to a call on behalf of `instance_id`.
  invocation_result invoke_for(const caf::actor& binding, const std::string& arguments,
                               const std::string& instance_id) {
    caf::scoped_actor self{sys_};
    invocation_result out = invocation_result::failed("test", "no answer");
    self->request(binding, caf::infinite, invoke_atom::value, arguments, instance_id, std::string{})
      .receive([&](invocation_result& r) { out = std::move(r); },
               [&](caf::error& e) { out = invocation_result::failed("test", sys_.render(e)); });
    return out;
  }

  binding_context ctx_;
  std::vector<caf::actor> bindings_;
};

TEST_F(asyncapi_binding_test, a_call_answers_its_arguments_as_a_cloud_event_for_the_topic) {
  auto place = publisher("file://orders.yaml#placeOrder");
  ASSERT_TRUE(place) << place.error().message;
  auto r = invoke_for(*place, R"({"id": "o-1"})", "instance-7");
  ASSERT_TRUE(r.ok) << r.failure.message;
  EXPECT_EQ(r.result, "{}");
  EXPECT_EQ(r.publish_topic, "order.requests");
  auto event = nlohmann::json::parse(r.publish_event);
  EXPECT_EQ(event["type"], "placeOrder");
  EXPECT_EQ(event["source"], "/meshflow/t");
  EXPECT_EQ(event["specversion"], "1.0");
  EXPECT_EQ(event["datacontenttype"], "application/json");
  EXPECT_EQ(event["data"], nlohmann::json({{"id", "o-1"}}));
  EXPECT_EQ(event["workflowinstanceid"], "instance-7");
  EXPECT_FALSE(event.value("id", "").empty());
  // A call that names no instance: no extension; every event its own id.
  auto other = invoke(*place, R"({"id": "o-2"})");
  ASSERT_TRUE(other.ok);
  auto second = nlohmann::json::parse(other.publish_event);
  EXPECT_FALSE(second.contains("workflowinstanceid"));
  EXPECT_NE(second["id"], event["id"]);
}

TEST_F(asyncapi_binding_test, arguments_the_payload_schema_refuses_are_error_payload) {
  auto place = publisher("orders.yaml#placeOrder");
  ASSERT_TRUE(place) << place.error().message;
  auto r = invoke(*place, R"({"id": 42})");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failure.code, "payload");
  EXPECT_NE(r.failure.message.find("function 'place': the arguments do not satisfy the payload "
                                   "schema of operation 'placeOrder' (orders.yaml)"),
            std::string::npos)
    << r.failure.message;
  EXPECT_NE(r.failure.message.find("nothing was published"), std::string::npos);
  EXPECT_TRUE(r.publish_event.empty());
}

TEST_F(asyncapi_binding_test, asyncapi_functions_bind_to_publish_operations_found_somewhere) {
  auto reply = publisher("orders.yaml#orderPlaced");
  ASSERT_FALSE(reply);
  EXPECT_NE(reply.error().message.find("function 'place': operation 'orderPlaced' of "
                                       "'orders.yaml' is a subscribe operation"),
            std::string::npos)
    << reply.error().message;
  auto nowhere = publisher("file://billing.yaml#charge");
  ASSERT_FALSE(nowhere);
  EXPECT_NE(nowhere.error().message.find("operation 'charge' of 'billing.yaml' is neither in the "
                                         "catalog nor in a file beside the workflow"),
            std::string::npos)
    << nowhere.error().message;
  // Beside the workflow (the binding's base folder), it is found.
  std::ofstream{dir_ / "billing.yaml"} << "asyncapi: 2.6.0\ninfo: {title: Billing, version: "
                                          "'1'}\nchannels:\n  billing:\n    publish:\n"
                                          "      operationId: charge\n";
  ctx_.base_dir = dir_;
  auto charge = publisher("file://billing.yaml#charge");
  ASSERT_TRUE(charge) << charge.error().message;
  auto charged = invoke(*charge, "{}");
  ASSERT_TRUE(charged.ok);
  EXPECT_EQ(charged.publish_topic, "billing");
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
