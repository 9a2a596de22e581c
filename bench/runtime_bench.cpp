// The runtime's figures (bench/README.md):
//  (a) state transitions per second of the machine, in memory, for a
//      10-state inject/switch/expression workflow, on one thread and on two;
//  (b) memory per instance parked on an Event state, at 100,000 and at
//      1,000,000 instances: as live instance values, and as the protobuf
//      snapshots a parked instance can be reduced to.
// Prints a table; `meshflow run` of Hello World is timed by scripts/bench.

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "meshflow/actors/machine.hpp"
#include "meshflow/dsl/validate.hpp"

using namespace meshflow;
using namespace meshflow::actors;

namespace {

std::shared_ptr<const dsl::plan> plan_of(const std::string& yaml) {
  auto v = dsl::validate_text(yaml, "bench.sw.yaml", ".");
  if (!v.plan)
    throw std::runtime_error(dsl::to_string(v.diagnostics.front()));
  return v.plan;
}

/// Effects that do nothing: the machine alone is measured.
struct no_effects final : effects {
  epoch_ms now() override { return 0; }
  void invoke(invocation) override {}
  void cancel(std::uint64_t) override {}
  void arm(std::uint64_t, epoch_ms) override {}
  void produce(std::uint32_t, transport::cloud_event) override {}
  expected<std::string> start_child(child_start) override { return std::string{}; }
  void end_child(const std::string&) override {}
  expected<std::string> continue_as(continuation) override { return std::string{}; }
};

// Ten states: inject, switch and operation (expression function) states in
// a loop that the switch leaves after three rounds.
const char* ten_states = R"(id: ten
version: '1'
specVersion: '0.8'
functions:
  - {name: inc, type: expression, operation: '.round + 1'}
start: S0
states:
  - {name: S0, type: inject, data: {a: 1}, transition: S1}
  - {name: S1, type: inject, data: {b: 2}, transition: S2}
  - name: S2
    type: switch
    dataConditions: [{condition: '${ .a == 1 }', transition: S3}]
    defaultCondition: {transition: S9}
  - {name: S3, type: inject, data: {c: 3}, transition: S4}
  - name: S4
    type: operation
    actions: [{functionRef: inc, actionDataFilter: {toStateData: '${ .round }'}}]
    transition: S5
  - {name: S5, type: inject, data: {d: 4}, transition: S6}
  - name: S6
    type: switch
    dataConditions: [{condition: '${ .b == 2 }', transition: S7}]
    defaultCondition: {transition: S9}
  - {name: S7, type: inject, data: {e: 5}, transition: S8}
  - name: S8
    type: switch
    dataConditions: [{condition: '${ .round < 3 }', transition: S1}]
    defaultCondition: {transition: S9}
  - {name: S9, type: inject, data: {done: true}, end: true}
)";

double transitions_per_second(const dsl::plan& p, int threads, int instances_per_thread) {
  std::vector<std::thread> workers;
  std::vector<std::uint64_t> counts(threads);
  auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      no_effects fx;
      for (int k = 0; k < instances_per_thread; ++k) {
        instance i;
        i.id = std::string(1, 'i');
        i.workflow_id = std::string{"ten"};
        machine m{p, i, fx};
        m.start(jq::value{jv_object_set(jv_object(), jv_string("round"), jv_number(0))});
        if (i.status != instance_status::completed)
          throw std::runtime_error("the benchmark workflow did not complete");
        counts[t] += m.transitions();
      }
    });
  for (auto& w : workers)
    w.join();
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  std::uint64_t total = 0;
  for (auto c : counts)
    total += c;
  return static_cast<double>(total) / took.count();
}

std::size_t rss_bytes() {
  std::ifstream status{"/proc/self/status"};
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with("VmRSS:"))
      return std::stoull(line.substr(6)) * 1024;
  return 0;
}

const char* parked = R"(id: parked
version: '1'
specVersion: '0.8'
events:
  - {name: Paid, type: com.example.paid, source: /payments,
     correlation: [{contextAttributeName: orderid}]}
start: Wait
states:
  - name: Wait
    type: event
    onEvents: [{eventRefs: [Paid]}]
    end: true
)";

struct parked_figures {
  double value_bytes;
  double snapshot_bytes;
};

parked_figures park(const dsl::plan& p, std::size_t n) {
  no_effects fx;
  auto input = jq::value::parse(R"({"order": {"id": "o-000000", "customer": "c-1"}})");
  auto before = rss_bytes();
  std::vector<instance> values(n);
  for (std::size_t k = 0; k < n; ++k) {
    auto& i = values[k];
    i.id = fmt::format("{:036}", k);
    i.workflow_id = std::string{"parked"};
    i.version = std::string(1, '1');
    machine m{p, i, fx};
    m.start(*input);
    i.history.clear();  // history goes to its own topic; not part of the parked cost
    i.history.shrink_to_fit();
  }
  auto with_values = rss_bytes();
  std::vector<std::string> snapshots(n);
  for (std::size_t k = 0; k < n; ++k)
    snapshots[k] = snapshot(values[k]);
  values.clear();
  values.shrink_to_fit();
  // (The allocator may keep freed pages; count the snapshots' own bytes.)
  std::size_t snapshot_total = 0;
  for (const auto& s : snapshots)
    snapshot_total += sizeof(std::string) + (s.size() > 15 ? s.capacity() + 1 : 0);
  return {static_cast<double>(with_values - before) / static_cast<double>(n),
          static_cast<double>(snapshot_total) / static_cast<double>(n)};
}

} // namespace

int main() {
  auto ten = plan_of(ten_states);
  transitions_per_second(*ten, 1, 1000);  // warm up the jq state pool
  std::printf("%-58s %14s\n", "measurement", "result");
  for (int threads : {1, 2})
    std::printf("%-58s %14.0f\n",
                fmt::format("(a) transitions/s, 10-state workflow, {} thread(s)", threads).c_str(),
                transitions_per_second(*ten, threads, 20'000));
  auto p = plan_of(parked);
  for (std::size_t n : {100'000UL, 1'000'000UL}) {
    auto f = park(*p, n);
    std::printf("%-58s %14.0f\n",
                fmt::format("(b) bytes per parked instance, live value, n={}", n).c_str(),
                f.value_bytes);
    std::printf("%-58s %14.0f\n",
                fmt::format("(b) bytes per parked instance, snapshot, n={}", n).c_str(),
                f.snapshot_bytes);
  }
}
