// REST functions through OpenAPI 3 documents, against a real HTTP server on
// loopback: argument mapping, results, the error codes of SEMANTICS.md, and
// response bodies bounded by json_limits.

#include <chrono>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "meshflow/testing/http.hpp"
#include "meshflow/transport/rest.hpp"

namespace meshflow::transport {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

/// A small service: the one the OpenAPI document below describes.
class pet_service : public ::testing::Test {
protected:
  void SetUp() override {
    auto& server_ = service_.server;
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
    // A body without end, until the client stops reading.
    server_.Get("/v1/endless", [](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("application/json",
                                       [](std::size_t, httplib::DataSink& sink) {
                                         static const std::string chunk(64 * 1024, ' ');
                                         return sink.write(chunk.data(), chunk.size());
                                       });
    });
    server_.Get("/v1/deep", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(300, '[') + std::string(300, ']'), "application/json");
    });
    ASSERT_TRUE(service_.start());
    port_ = service_.port();
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
        "/motd": {"get": {"operationId": "motd"}},
        "/endless": {"get": {"operationId": "endless"}},
        "/deep": {"get": {"operationId": "deep"}}
      }})");
  }

  rest_operation operation(const std::string& id) const {
    auto url = "http://127.0.0.1:" + std::to_string(port_) + "/v1";
    auto op = find_operation(document(url), "file:///specs/pets.json", id);
    EXPECT_TRUE(op) << op.error().message;
    return *op;
  }

  meshflow::testing::http_service service_;
  int port_ = 0;
  /// After the service: dropped first, it closes its kept connections.
  http_client http_;
};

TEST_F(pet_service, arguments_fill_path_query_and_header_parameters) {
  auto r = call(http_, operation("getPet"),
                {{"petId", "rex 1"}, {"verbose", true}, {"X-Trace", "t-1"}}, 5s);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, json({{"id", "rex 1"}, {"verbose", "true"}, {"trace", "t-1"}}));
}

TEST_F(pet_service, remaining_arguments_form_the_json_body) {
  auto r = call(http_, operation("placeOrder"),
                {{"dryRun", "yes"}, {"item", "bone"}, {"quantity", 2}}, 5s);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)["received"], json({{"item", "bone"}, {"quantity", 2}}));
  EXPECT_EQ((*r)["query"], "yes");
}

TEST_F(pet_service, a_body_that_is_not_json_is_a_string) {
  auto r = call(http_, operation("motd"), json::object(), 5s);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, "hello, world");
}

TEST_F(pet_service, an_http_error_status_is_the_error_code) {
  auto r = call(http_, operation("unavailable"), json::object(), 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "503");
  EXPECT_NE(r.error().message.find("try later"), std::string::npos);
}

TEST_F(pet_service, no_answer_in_time_is_a_timeout) {
  auto r = call(http_, operation("slow"), json::object(), 200ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "timeout");
  EXPECT_NE(r.error().message.find("GET http://127.0.0.1:" + std::to_string(port_)
                                   + "/v1/slow: no answer within 200 ms"),
            std::string::npos)
    << r.error().message;
}

TEST_F(pet_service, a_body_beyond_max_bytes_is_refused_while_it_arrives) {
  json_limits limits;
  limits.max_bytes = 64 * 1024;
  // Were the body read to its end, this call would last until its timeout.
  auto r = call(http_, operation("endless"), json::object(), 30s, limits);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "limit");
  auto url = "http://127.0.0.1:" + std::to_string(port_) + "/v1/endless";
  EXPECT_NE(r.error().message.find("GET " + url), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("limit of 65536 bytes"), std::string::npos)
    << r.error().message;
}

TEST_F(pet_service, a_body_nested_beyond_max_depth_is_refused_before_it_is_parsed) {
  auto r = call(http_, operation("deep"), json::object(), 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "limit");
  EXPECT_NE(r.error().message.find("the response of GET http://127.0.0.1:"), std::string::npos)
    << r.error().message;
  EXPECT_NE(r.error().message.find("deeper than 256 levels"), std::string::npos)
    << r.error().message;
  json_limits deeper;
  deeper.max_depth = 300;
  EXPECT_TRUE(call(http_, operation("deep"), json::object(), 5s, deeper));
}

TEST_F(pet_service, fetch_reads_a_document_through_the_same_client) {
  auto base = "http://127.0.0.1:" + std::to_string(port_) + "/v1";
  auto motd = fetch(http_, base + "/motd", 5s, 1024);
  ASSERT_TRUE(motd) << motd.error().message;
  EXPECT_EQ(*motd, "hello, world");
  auto down = fetch(http_, base + "/unavailable", 5s, 1024);
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code, "503");
  auto big = fetch(http_, base + "/endless", 5s, 1024);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, "limit");
}

TEST_F(pet_service, a_missing_path_argument_is_named) {
  auto r = call(http_, operation("getPet"), json::object(), 5s);
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
  EXPECT_EQ(*call(http_, *op, json::object(), 5s), "hello, world");
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
  http_client http;
  auto r = call(http, op, json::object(), 2s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "connection");
  EXPECT_NE(r.error().message.find("GET " + op.server + "/ping"), std::string::npos)
    << r.error().message;
  // fetch: the same client, the same codes.
  auto doc = fetch(http, op.server + "/openapi.json", 2s, 1024);
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().code, "connection");
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
