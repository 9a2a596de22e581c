// REST calls per second through the real admin actor (bench/README.md,
// "REST calls"): one workflow whose one operation state makes one REST
// call, N instances kept in flight (each that ends is replaced by a new
// one), against a local service in this process that answers every call
// after 10 ms.
//
// Rows:
//  - the service alone, driven by the HTTP client without any actor, with
//    the same number of requests in flight: the ceiling the service (and
//    the client) allow, so that the other rows are known not to measure the
//    service;
//  - the admin with 100 and 300 instances in flight, at the default bound
//    of calls per function (64) and at 100 / 300.
// CPU time per thread group (service threads, the HTTP client's thread, the
// rest: CAF's workers and this driver) says where the time goes.
//
//   rest_bench [CALLS]        CALLS per row, default 20000

#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include <caf/all.hpp>
#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "meshflow/actors/node.hpp"
#include "meshflow/transport/http_client.hpp"

using namespace meshflow;
using namespace std::chrono_literals;

namespace {

constexpr auto service_time = 10ms;

/// The service: POST /work answers `{"done": true}` after 10 ms. A thread
/// per connection (httplib), enough of them for every call in flight.
class service {
public:
  service() {
    server_.new_task_queue = [] { return new httplib::ThreadPool(512); };
    server_.set_tcp_nodelay(true);
    server_.set_keep_alive_max_count(1'000'000);
    int listener = -1;
    server_.set_socket_options([&listener](int fd) {
      int yes = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
      listener = fd;
    });
    server_.Post("/work", [](const httplib::Request&, httplib::Response& res) {
      thread_local bool named = [] {
        pthread_setname_np(pthread_self(), "bench-service");
        return true;
      }();
      (void)named;
      std::this_thread::sleep_for(service_time);
      res.set_content(R"({"done": true})", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    // Debian's httplib listens with a backlog of 5; hundreds of connections
    // open at once here.
    ::listen(listener, 1024);
    thread_ = std::thread{[this] { server_.listen_after_bind(); }};
    while (!server_.is_running())
      std::this_thread::sleep_for(1ms);
  }
  ~service() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

/// CPU seconds of this process's threads, by group: the service's, the
/// HTTP client's, everything else (CAF's workers, this driver). From each
/// thread's schedstat (nanoseconds on a CPU), which unlike the tick counts
/// of `stat` also sees the many short runs of the service's threads.
std::map<std::string, double> cpu_by_group() {
  std::map<std::string, double> out;
  for (const auto& task : std::filesystem::directory_iterator{"/proc/self/task"}) {
    std::ifstream comm{task.path() / "comm"}, schedstat{task.path() / "schedstat"};
    std::string name;
    double ns = 0;
    if (!std::getline(comm, name) || !(schedstat >> ns))
      continue;
    auto group = name == "bench-service" ? "service" : name == "meshflow-http" ? "http" : "rest";
    out[group] += ns / 1e9;
  }
  return out;
}

struct figures {
  double calls_per_second = 0;
  int failed = 0;
  std::map<std::string, double> cpu;  // seconds, during the row
};

std::map<std::string, double> minus(std::map<std::string, double> a,
                                    const std::map<std::string, double>& b) {
  for (const auto& [k, v] : b)
    a[k] -= v;
  return a;
}

/// The service through the HTTP client alone: `window` requests in flight.
figures client_alone(const std::string& url, int calls, int window) {
  transport::http_client http;
  std::atomic<int> done{0}, failed{0}, started{0};
  std::function<void()> next;
  next = [&] {
    if (started++ >= calls)
      return;
    transport::http_request r;
    r.method = "POST";
    r.url = url + "/work";
    r.body = R"({"n": 1})";
    r.headers = {{"Content-Type", "application/json"}};
    http.submit(std::move(r), [&](transport::http_outcome o) {
      if (!o || o->status != 200) {
        if (failed++ == 0)
          std::fprintf(stderr, "first failure: %s\n",
                       o ? std::to_string(o->status).c_str() : o.error().message.c_str());
      }
      ++done;
      next();
    });
  };
  auto cpu0 = cpu_by_group();
  auto t0 = std::chrono::steady_clock::now();
  for (int k = 0; k < window; ++k)
    next();
  while (done < calls)
    std::this_thread::sleep_for(1ms);
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - t0;
  return {calls / took.count(), failed, minus(cpu_by_group(), cpu0)};
}

using go_atom = caf::atom_constant<caf::atom("go")>;

struct driver_state {
  caf::actor admin;
  int total = 0, started = 0, done = 0, failed = 0;
  caf::response_promise finished;
  static inline const char* name = "bench.driver";
};

using driver_ptr = caf::stateful_actor<driver_state>*;

/// Starts one more instance and, when it ended, the next.
void launch(driver_ptr self) {
  auto& st = self->state;
  if (st.started >= st.total)
    return;
  ++st.started;
  self->request(st.admin, caf::infinite, actors::start_atom::value, std::string{"bench"},
                std::string{}, std::string{"{}"})
    .then([self](std::string& answer) {
      auto id = nlohmann::json::parse(answer).value("id", std::string{});
      self->request(self->state.admin, caf::infinite, actors::wait_atom::value, id)
        .then([self](std::string& outcome) {
          auto& st = self->state;
          if (nlohmann::json::parse(outcome).value("status", "") != "COMPLETED")
            ++st.failed;
          if (++st.done == st.total)
            st.finished.deliver(st.failed);
          else
            launch(self);
        });
    });
}

/// Keeps `window` instances in flight until `total` have ended; answers
/// the failures.
caf::behavior driver(driver_ptr self, caf::actor admin, int total, int window) {
  self->state.admin = std::move(admin);
  self->state.total = total;
  return {
    [self, window](go_atom) -> caf::result<int> {
      self->state.finished = self->make_response_promise();
      for (int k = 0; k < window; ++k)
        launch(self);
      return caf::delegated<int>{};
    },
  };
}

const char* workflow = R"(id: bench
version: '1'
specVersion: '0.8'
start: Call
functions:
  - {name: work, operation: 'api.json#work'}
states:
  - name: Call
    type: operation
    actions:
      - functionRef: {refName: work, arguments: {n: 1}}
    end: true
)";

/// Through the admin: `window` instances in flight, `max_calls` calls of
/// the function in flight at most.
figures through_admin(const std::string& url, int calls, int window, std::size_t max_calls) {
  auto dir = std::filesystem::temp_directory_path() / "meshflow-rest-bench";
  std::filesystem::create_directories(dir);
  std::ofstream{dir / "api.json"}
    << nlohmann::json{{"openapi", "3.0.3"},
                      {"servers", {{{"url", url}}}},
                      {"paths", {{"/work", {{"post", {{"operationId", "work"}}}}}}}}
         .dump();
  auto file = (dir / "bench.sw.yaml").string();
  std::ofstream{file} << workflow;

  caf::actor_system_config cfg;
  cfg.set("logger.console", caf::atom("none"));
  caf::actor_system sys{cfg};
  actors::node_options options;
  options.max_concurrent_calls = max_calls;
  auto node = actors::start_node(sys, options);
  if (!node)
    throw std::runtime_error("start_node: " + node.error().message);
  auto admin = node->admin;
  caf::scoped_actor self{sys};
  std::string deployed;
  self->request(admin, caf::infinite, actors::deploy_atom::value, file, std::string{workflow})
    .receive([&](std::string& r) { deployed = r; },
             [&](caf::error& e) { deployed = sys.render(e); });
  if (deployed.find("\"workflows\"") == std::string::npos)
    throw std::runtime_error("deploy: " + deployed);

  figures f;
  // A short warm-up: connections open, allocators settle.
  auto warm = sys.spawn(driver, admin, std::min(calls / 10, 1000), window);
  self->request(warm, caf::infinite, go_atom::value).receive([](int) {}, [](caf::error&) {});
  auto cpu0 = cpu_by_group();
  auto t0 = std::chrono::steady_clock::now();
  auto run = sys.spawn(driver, admin, calls, window);
  self->request(run, caf::infinite, go_atom::value)
    .receive([&](int failed) { f.failed = failed; }, [&](caf::error&) { f.failed = -1; });
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - t0;
  f.calls_per_second = calls / took.count();
  f.cpu = minus(cpu_by_group(), cpu0);
  caf::anon_send_exit(admin, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(warm, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(run, caf::exit_reason::user_shutdown);
  std::filesystem::remove_all(dir);
  return f;
}

void print(const std::string& what, int calls, const figures& f) {
  auto per_k = [&](const char* group) {
    auto it = f.cpu.find(group);
    return it == f.cpu.end() ? 0.0 : it->second * 1000.0 / calls * 1000.0;
  };
  std::printf("%-58s %10.0f %8d %10.1f %10.1f %10.1f\n", what.c_str(), f.calls_per_second,
              f.failed, per_k("rest"), per_k("http"), per_k("service"));
}

} // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string{argv[1]} == "--serve") {
    service svc;
    std::printf("%s\n", svc.url().c_str());
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::seconds{120});
    return 0;
  }
  int calls = argc > 1 ? std::stoi(argv[1]) : 20'000;
  service svc;
  std::printf("REST calls, %d per row, service answers in %lld ms\n", calls,
              static_cast<long long>(service_time.count()));
  std::printf("%-58s %10s %8s %10s %10s %10s\n", "measurement", "calls/s", "failed",
              "cpu rest", "cpu http", "cpu svc");
  std::printf("%-58s %10s %8s %10s %10s %10s\n", "", "", "", "(ms per 1000 calls)", "", "");
  print("service alone: http_client, 100 requests in flight", calls,
        client_alone(svc.url(), calls, 100));
  using row = std::pair<int, std::size_t>;
  for (auto [window, max_calls] : {row{100, 64}, row{100, 100}, row{300, 64}, row{300, 300}})
    print(fmt::format("admin: {} instances in flight, max_concurrent_calls {}", window,
                      max_calls),
          calls, through_admin(svc.url(), calls, window, max_calls));
}
