// The HTTP client (libcurl's multi interface on one thread) against local
// services: requests in flight together, each with its own timeout,
// connections kept and reused, cancellation that closes the connection, and
// a client dropped with transfers in flight or from its own callback.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "meshflow/testing/http.hpp"
#include "meshflow/transport/http_client.hpp"

namespace meshflow::transport {
namespace {

using namespace std::chrono_literals;
using meshflow::testing::eventually;

/// Outcomes gathered from `done` callbacks (the client's thread).
struct outcomes {
  std::mutex mutex;
  std::vector<http_outcome> got;

  http_client::completion collect() {
    return [this](http_outcome o) {
      std::lock_guard lock{mutex};
      got.push_back(std::move(o));
    };
  }
  std::size_t size() {
    std::lock_guard lock{mutex};
    return got.size();
  }
};

http_request get(const std::string& url, std::chrono::milliseconds timeout = 5s) {
  http_request r;
  r.url = url;
  r.timeout = timeout;
  return r;
}

TEST(http_client, requests_are_in_flight_together) {
  // Each request is answered once eight are inside the service at once,
  // which only happens if the client sends them without waiting.
  constexpr int n = 8;
  std::mutex mutex;
  std::condition_variable all_in;
  int inside = 0;
  meshflow::testing::http_service service{16};
  service.server.Get("/together", [&](const httplib::Request&, httplib::Response& res) {
    std::unique_lock lock{mutex};
    ++inside;
    all_in.notify_all();
    bool together = all_in.wait_for(lock, 10s, [&] { return inside >= n; });
    res.set_content(together ? "together" : "alone", "text/plain");
  });
  ASSERT_TRUE(service.start());
  http_client http;
  outcomes out;
  for (int k = 0; k < n; ++k)
    http.submit(get(service.url() + "/together", 20s), out.collect());
  ASSERT_TRUE(eventually([&] { return out.size() == n; }, 30s));
  for (auto& o : out.got) {
    ASSERT_TRUE(o) << o.error().message;
    EXPECT_EQ(o->status, 200);
    EXPECT_EQ(o->body, "together");
  }
  EXPECT_EQ(http.transfers(), 0u);
}

TEST(http_client, each_request_has_its_own_timeout) {
  meshflow::testing::http_service service;
  service.server.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(1500ms);
    res.set_content("late", "text/plain");
  });
  service.server.Get("/fast", [](const httplib::Request&, httplib::Response& res) {
    res.status = 503;
    res.set_content("busy", "text/plain");
  });
  ASSERT_TRUE(service.start());
  http_client http;
  outcomes slow, fast;
  http.submit(get(service.url() + "/slow", 200ms), slow.collect());
  http.submit(get(service.url() + "/fast", 5s), fast.collect());
  ASSERT_TRUE(eventually([&] { return slow.size() == 1 && fast.size() == 1; }));
  ASSERT_FALSE(slow.got[0]);
  EXPECT_EQ(slow.got[0].error().code, "timeout");
  EXPECT_EQ(slow.got[0].error().message,
            "GET " + service.url() + "/slow: no answer within 200 ms");
  // A status is an answer: what it means is the caller's business.
  ASSERT_TRUE(fast.got[0]) << fast.got[0].error().message;
  EXPECT_EQ(fast.got[0]->status, 503);
  EXPECT_EQ(fast.got[0]->body, "busy");
}

TEST(http_client, connections_are_kept_and_reused) {
  meshflow::testing::http_service service;
  service.server.set_keep_alive_max_count(1000);
  service.server.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(std::to_string(req.remote_port) + " " + req.get_header_value("X-Test") + " "
                      + req.body,
                    "text/plain");
  });
  ASSERT_TRUE(service.start());
  http_client http;
  std::set<std::string> ports;
  for (int k = 0; k < 10; ++k) {
    http_request r = get(service.url() + "/echo");
    r.method = "POST";
    r.headers = {{"X-Test", "h"}};
    r.body = std::to_string(k);
    auto o = http.perform(std::move(r));
    ASSERT_TRUE(o) << o.error().message;
    auto space = o->body.find(' ');
    EXPECT_EQ(o->body.substr(space), " h " + std::to_string(k));
    ports.insert(o->body.substr(0, space));
  }
  EXPECT_EQ(ports.size(), 1u) << "one connection for ten requests";
}

TEST(http_client, requests_may_come_from_any_thread) {
  // A thread per connection: up to a hundred at once.
  meshflow::testing::http_service service{128};
  service.server.Get("/ok", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok", "text/plain");
  });
  ASSERT_TRUE(service.start());
  http_client http;
  outcomes out;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int k = 0; k < 25; ++k)
        http.submit(get(service.url() + "/ok", 20s), out.collect());
    });
  for (auto& t : threads)
    t.join();
  ASSERT_TRUE(eventually([&] { return out.size() == 100; }, 30s));
  for (auto& o : out.got) {
    ASSERT_TRUE(o) << o.error().message;
    EXPECT_EQ(o->body, "ok");
  }
}

TEST(http_client, a_cancelled_transfer_closes_its_connection_and_never_completes) {
  meshflow::testing::silent_service silent;
  http_client http;
  std::atomic<bool> completed{false};
  auto id = http.submit(get(silent.url() + "/never", 60s),
                        [&](http_outcome) { completed = true; });
  ASSERT_TRUE(eventually([&] { return silent.requests() == 1; }));
  EXPECT_EQ(http.transfers(), 1u);
  http.cancel(id);
  EXPECT_TRUE(eventually([&] { return silent.closed() == 1; })) << "the connection is released";
  EXPECT_TRUE(eventually([&] { return http.transfers() == 0; }));
  http.cancel(id);  // again, and unknown ids: nothing happens
  http.cancel(12345);
  EXPECT_FALSE(completed);
}

TEST(http_client, a_client_dropped_with_transfers_in_flight_abandons_them) {
  meshflow::testing::silent_service silent;
  auto http = std::make_unique<http_client>();
  std::atomic<int> completed{0};
  for (int k = 0; k < 3; ++k)
    http->submit(get(silent.url() + "/never", 60s), [&](http_outcome) { ++completed; });
  ASSERT_TRUE(eventually([&] { return silent.requests() == 3; }));
  http.reset();
  EXPECT_TRUE(eventually([&] { return silent.closed() == 3; }));
  EXPECT_EQ(completed, 0);
}

TEST(http_client, a_completion_may_drop_the_last_reference_to_its_client) {
  // As when an actor that owns the client is released by the message the
  // callback sends: the client's own thread destroys the client.
  meshflow::testing::http_service service;
  service.server.Get("/ok", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok", "text/plain");
  });
  ASSERT_TRUE(service.start());
  std::atomic<bool> done{false};
  auto http = std::make_shared<http_client>();
  auto* raw = http.get();
  raw->submit(get(service.url() + "/ok"), [owner = std::move(http), &done](http_outcome) mutable {
    owner.reset();
    done = true;
  });
  EXPECT_TRUE(eventually([&] { return done.load(); }));
}

} // namespace
} // namespace meshflow::transport
