// REST functions through OpenAPI 3 documents, against a real HTTP server on
// loopback: argument mapping, results, and the error codes of SEMANTICS.md.

#include <chrono>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>

#include "meshflow/transport/rest.hpp"

namespace meshflow::transport {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

/// A small service: the one the OpenAPI document below describes.
class pet_service : public ::testing::Test {
protected:
  void SetUp() override {
    server_.Get(R"(/v1/pets/([^/]+))", [](const httplib::Request& req, httplib::Response& res) {
      json body{{"id", req.matches[1].str()},
                {"verbose", req.get_param_value("verbose")},
                {"trace", req.get_header_value("X-Trace")}};
      res.set_content(body.dump(), "application/json");
    });
    server_.Post("/v1/orders", [](const httplib::Request& req, httplib::Response& res) {
      json body{{"received", json::parse(req.body)}, {"query", req.get_param_value("dryRun")}};
      res.set_content(body.dump(), "application/json");
    });
    server_.Get("/v1/unavailable", [](const httplib::Request&, httplib::Response& res) {
      res.status = 503;
      res.set_content("try later", "text/plain");
    });
    server_.Get("/v1/slow", [](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(1500ms);
      res.set_content("{}", "application/json");
    });
    server_.Get("/v1/motd", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("hello, world", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread{[this] { server_.listen_after_bind(); }};
    // Serving starts on the thread; wait (boundedly) until it does.
    for (int i = 0; i < 5000 && !server_.is_running(); ++i)
      std::this_thread::sleep_for(1ms);
    ASSERT_TRUE(server_.is_running());
  }

  void TearDown() override {
    server_.stop();
    if (thread_.joinable())
      thread_.join();
  }

  json document(const std::string& server_url) const {
    return json::parse(R"({
      "openapi": "3.0.0",
      "servers": [{"url": ")" + server_url + R"("}],
      "paths": {
        "/pets/{petId}": {
          "parameters": [{"name": "petId", "in": "path", "required": true}],
          "get": {"operationId": "getPet",
                  "parameters": [{"name": "verbose", "in": "query"},
                                 {"name": "X-Trace", "in": "header"}]}
        },
        "/orders": {"post": {"operationId": "placeOrder",
                             "parameters": [{"name": "dryRun", "in": "query"}]}},
        "/unavailable": {"get": {"operationId": "unavailable"}},
        "/slow": {"get": {"operationId": "slow"}},
        "/motd": {"get": {"operationId": "motd"}}
      }})");
  }

  rest_operation operation(const std::string& id) const {
    auto url = "http://127.0.0.1:" + std::to_string(port_) + "/v1";
    auto op = find_operation(document(url), "file:///specs/pets.json", id);
    EXPECT_TRUE(op) << op.error().message;
    return *op;
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

TEST_F(pet_service, arguments_fill_path_query_and_header_parameters) {
  auto r = call(operation("getPet"),
                {{"petId", "rex 1"}, {"verbose", true}, {"X-Trace", "t-1"}}, 5s);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, json({{"id", "rex 1"}, {"verbose", "true"}, {"trace", "t-1"}}));
}

TEST_F(pet_service, remaining_arguments_form_the_json_body) {
  auto r = call(operation("placeOrder"),
                {{"dryRun", "yes"}, {"item", "bone"}, {"quantity", 2}}, 5s);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)["received"], json({{"item", "bone"}, {"quantity", 2}}));
  EXPECT_EQ((*r)["query"], "yes");
}

TEST_F(pet_service, a_body_that_is_not_json_is_a_string) {
  auto r = call(operation("motd"), json::object(), 5s);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, "hello, world");
}

TEST_F(pet_service, an_http_error_status_is_the_error_code) {
  auto r = call(operation("unavailable"), json::object(), 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "503");
  EXPECT_NE(r.error().message.find("try later"), std::string::npos);
}

TEST_F(pet_service, no_answer_in_time_is_a_timeout) {
  auto r = call(operation("slow"), json::object(), 200ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "timeout");
}

TEST_F(pet_service, a_missing_path_argument_is_named) {
  auto r = call(operation("getPet"), json::object(), 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "arguments");
  EXPECT_NE(r.error().message.find("petId"), std::string::npos);
}

TEST_F(pet_service, a_relative_server_url_resolves_against_the_document_url) {
  auto doc_url = "http://127.0.0.1:" + std::to_string(port_) + "/specs/pets.json";
  auto op = find_operation(document("/v1"), doc_url, "motd");
  ASSERT_TRUE(op) << op.error().message;
  EXPECT_EQ(op->server, "http://127.0.0.1:" + std::to_string(port_));
  EXPECT_EQ(op->base_path, "/v1");
  EXPECT_EQ(*call(*op, json::object(), 5s), "hello, world");
  // A file:// document cannot anchor a relative server URL.
  EXPECT_FALSE(find_operation(document("/v1"), "file:///specs/pets.json", "motd"));
}

TEST(rest, a_refused_connection_is_code_connection) {
  // A port that was free a moment ago and that nobody listens on.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  int port = ntohs(addr.sin_port);
  ::close(fd);
  rest_operation op;
  op.operation_id = "ping";
  op.method = "GET";
  op.server = "http://127.0.0.1:" + std::to_string(port);
  op.path = "/ping";
  auto r = call(op, json::object(), 2s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "connection");
}

TEST(rest, operations_are_found_by_id_and_named_when_not) {
  EXPECT_EQ(split_operation("file://api.json#getPet")->second, "getPet");
  EXPECT_FALSE(split_operation("api.json"));
  auto doc = json::parse(R"({"paths": {"/a": {"get": {"operationId": "a"}}}})");
  auto missing = find_operation(doc, "http://h/api.json", "b");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("no operation 'b'"), std::string::npos);
  EXPECT_FALSE(find_operation(json::parse("{}"), "http://h/x.json", "a"));
}

} // namespace
} // namespace meshflow::transport
