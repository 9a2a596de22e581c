// The store-order workflow on a real Kafka broker, against the same hops
// without an engine (bench/README.md, "Store order on Kafka"; issue 9).
//
// Two chains carry the same orders through the same kind of topics (same
// partition count, same records):
//
//  - raw: no engine. Three trivial forwarders (consume + produce, librdkafka
//    through meshflow's client, nothing else) stand where meshflow's steps
//    are: raw.store.order -> raw.order.inbound, raw.order.outbound ->
//    raw.payment.inbound, raw.payment.outbound -> raw.shipment.inbound (a
//    paid receipt only). The limit of any engine on this machine.
//  - meshflow: a `meshflow node` on the broker, the four AsyncAPI documents
//    registered, storeorderworkflow deployed; its steps are
//    store.order -> order.inbound, order.outbound -> payment.inbound,
//    payment.outbound -> shipment.inbound.
//
// In both, the three services are native stand-ins of the Python ones
// (examples/store-order/SERVICES.md: binary-mode CloudEvents, the
// `workflowinstanceid` copied and the reply keyed by it, the payment denied
// over the limit), and the driver publishes orders and sees each end on
// shipment.inbound (paid) or payment.outbound (denied), in this process, so
// that one steady clock times every hop:
//
//   t0 driver produces store.order        t3 payment service polls payment.inbound
//   t1 order service polls order.inbound  t4 payment service produces its receipt
//   t2 order service produces its reply   t5 driver polls shipment.inbound (paid)
//                                            or payment.outbound (denied)
//
// The engine's steps are t1-t0, t3-t2, t5-t4 (paid); e2e is t5-t0. Each
// chain runs a warm-up, then (a) N orders published as fast as possible
// (completed per second from the first publish to the last end), then (b)
// N orders at half of (a)'s rate, or at --rate R (p50/p99 per step and end
// to end).
//
//   store_order_bench --brokers HOST:PORT [--meshflow PATH] [--orders N]
//                     [--warmup N] [--partitions P] [--no-raw] [--no-meshflow]
//                     [--broker-pid PID] [--node-log-dir DIR]
//                     [--commit-interval D]   (the node's, e.g. PT0.01S)
//                     [--rate R]              ((b)'s orders/s)
//                     [--services-fetch-wait MS]  (the services' fetch.wait.max.ms)

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "meshflow/transport/cloud_event.hpp"
#include "meshflow/transport/kafka_admin.hpp"
#include "meshflow/transport/kafka_binding.hpp"
#include "meshflow/transport/kafka_client.hpp"
#include "meshflow/transport/kafka_topics.hpp"

extern char** environ;

using namespace meshflow;
using namespace meshflow::transport;
using namespace std::chrono_literals;
using json = nlohmann::json;
using steady = std::chrono::steady_clock;

namespace {

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "store_order_bench: %s\n", what.c_str());
  std::exit(1);
}

template <class T>
T must(expected<T> r, const std::string& what) {
  if (!r)
    die(fmt::format("{}: {}", what, r.error().message));
  return std::move(*r);
}

inline void must(expected<void> r, const std::string& what) {
  if (!r)
    die(fmt::format("{}: {}", what, r.error().message));
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch())
    .count();
}

// -- the clocks of every order ----------------------------------------------

enum mark : int { t_pub, t_order_in, t_order_out, t_pay_in, t_pay_out, t_end, marks };

/// When each order passed each point (ns, steady clock; 0: not yet). An
/// order's number is its index; a mark is written once by one thread and
/// read by the driver after it saw the order end.
struct clocks {
  explicit clocks(std::size_t n) : t(n * marks), denied(n) {}
  std::vector<std::atomic<std::int64_t>> t;
  std::vector<std::atomic<bool>> denied;
  void set(std::size_t order, mark m) {
    if (order < denied.size())
      t[order * marks + m].store(now_ns(), std::memory_order_relaxed);
  }
  std::int64_t get(std::size_t order, mark m) const {
    return t[order * marks + m].load(std::memory_order_relaxed);
  }
};

clocks* the_clocks = nullptr;

/// This process's orders are `o-TAG-N`: orders of other runs on the same
/// broker (which meshflow may still be working on) are told apart.
const std::string order_prefix = fmt::format("o-{:x}-", std::random_device{}() & 0xffffff);

std::string order_id(std::size_t n) { return order_prefix + std::to_string(n); }

/// The order number N in an order id `o-TAG-N` of this run, or SIZE_MAX.
std::size_t number_of(const json& id) {
  if (!id.is_string())
    return SIZE_MAX;
  const auto& s = id.get_ref<const std::string&>();
  if (!s.starts_with(order_prefix))
    return SIZE_MAX;
  return std::strtoull(s.c_str() + order_prefix.size(), nullptr, 10);
}

// -- events -------------------------------------------------------------------

std::string new_event_id() {
  static std::atomic<std::uint64_t> next{0};
  static const std::string prefix = fmt::format("{:x}-", std::random_device{}());
  return prefix + std::to_string(next.fetch_add(1, std::memory_order_relaxed));
}

cloud_event make_event(std::string type, std::string source, std::string data) {
  return {.id = new_event_id(),
          .source = std::move(source),
          .type = std::move(type),
          .datacontenttype = "application/json",
          .data = std::move(data)};
}

constexpr auto instance_attr = "workflowinstanceid";

/// The topics of one chain: the store-order topics, with a prefix.
struct topics {
  std::string store_order, order_in, order_out, pay_in, pay_out, ship_in;
  static topics with_prefix(const std::string& p) {
    return {p + "store.order",     p + "order.inbound",   p + "order.outbound",
            p + "payment.inbound", p + "payment.outbound", p + "shipment.inbound"};
  }
  std::vector<std::string> all() const {
    return {store_order, order_in, order_out, pay_in, pay_out, ship_in};
  }
};

kafka_config producer_config(const std::string& brokers) {
  // As the Python services (store_events.producer).
  return {{"bootstrap.servers", brokers}, {"enable.idempotence", "true"}, {"linger.ms", "5"}};
}

/// The services' `fetch.wait.max.ms` (--services-fetch-wait); "": the
/// client's default (500 ms, as Java's `fetch.max.wait.ms`).
std::string services_fetch_wait;

kafka_config consumer_config(const std::string& brokers, const std::string& group) {
  // As the Python services (store_events.consumer).
  kafka_config c{{"bootstrap.servers", brokers},     {"group.id", group},
                 {"enable.auto.commit", "false"},    {"enable.auto.offset.store", "true"},
                 {"auto.offset.reset", "earliest"},  {"isolation.level", "read_committed"}};
  if (!services_fetch_wait.empty())
    c["fetch.wait.max.ms"] = services_fetch_wait;
  return c;
}

// -- a stage: consume a topic, produce what a handler returns -----------------

struct output {
  std::string topic;
  cloud_event event;
  std::string key;
};

using handler = std::function<void(const kafka_record&, const cloud_event&, std::vector<output>&)>;

/// One thread: a group consumer of `topic` (or, for a reader, an assignment
/// at the end of its topics) and a producer. Each batch: handle every
/// record, produce the outputs, flush; commit at most every 100 ms, after a
/// flush (at least once, as the Python services).
class stage {
public:
  stage(std::string name, std::string brokers, std::vector<std::string> in, handler h,
        bool group)
      : name_(std::move(name)), brokers_(std::move(brokers)), in_(std::move(in)),
        handle_(std::move(h)), group_(group) {}

  void start() { thread_ = std::thread([this] { run(); }); }
  void wait_ready() {
    auto deadline = steady::now() + 60s;
    while (!ready_.load()) {
      if (steady::now() > deadline)
        die(name_ + ": not assigned any partition within 60 s");
      std::this_thread::sleep_for(10ms);
    }
  }
  void stop() {
    stop_ = true;
    if (thread_.joinable())
      thread_.join();
  }
  ~stage() { stop(); }
  const std::string& name() const { return name_; }
  std::uint64_t records() const { return records_.load(); }

private:
  void run() {
    static std::atomic<int> groups{0};
    auto group_id = fmt::format("bench-{}-{}-{}", name_, ::getpid(), groups++);
    auto consumer = must(kafka_consumer::create(consumer_config(brokers_, group_id)),
                         name_ + ": consumer");
    auto producer = must(kafka_producer::create(producer_config(brokers_)), name_ + ": producer");
    // Every stage reads its topics from their end as of its start (explicit
    // offsets, taken before it says it is ready, so that nothing published
    // after is missed): records of earlier runs on the same broker are not
    // read again. Services commit their offsets in their group as the
    // Python ones do (at least once), without the group's rebalances.
    std::vector<kafka_topic_partition> parts;
    auto admin = must(kafka_admin::create({{"bootstrap.servers", brokers_}}), "admin");
    for (const auto& topic : in_) {
      auto count = must(admin.partition_count(topic, 10s), topic);
      for (std::int32_t p = 0; p < count.value_or(0); ++p) {
        // A topic just created may have no leader yet for a moment.
        auto marks = consumer.watermarks(topic, p, 10s);
        for (int tries = 0; !marks && tries < 100; ++tries) {
          std::this_thread::sleep_for(100ms);
          marks = consumer.watermarks(topic, p, 10s);
        }
        parts.push_back({topic, p, must(std::move(marks), topic).high});
      }
    }
    must(consumer.assign(parts), name_ + ": assign");
    ready_ = true;
    std::vector<output> outs;
    auto last_commit = steady::now();
    bool dirty = false;
    while (!stop_) {
      auto batch = consumer.poll(50ms, 500);
      if (!batch) {
        if (!stop_)
          std::fprintf(stderr, "store_order_bench: %s: %s\n", name_.c_str(),
                       batch.error().message.c_str());
        continue;
      }
      for (const auto& r : *batch) {
        auto event = kafka_binding::decode(r.message);
        if (!event) {
          std::fprintf(stderr, "store_order_bench: %s: %s[%d]@%ld: skipped: %s\n",
                       name_.c_str(), r.topic.c_str(), r.partition, static_cast<long>(r.offset),
                       event.error().message.c_str());
          continue;
        }
        handle_(r, *event, outs);
      }
      records_ += batch->size();
      if (!outs.empty()) {
        for (auto& o : outs) {
          auto m = must(kafka_binding::encode(o.event, kafka_binding::content_mode::binary, o.key),
                        name_ + ": encode");
          while (true) {
            auto queued = producer.produce(o.topic, m);
            if (queued)
              break;
            producer.poll(10ms);  // queue full: let deliveries drain
          }
        }
        outs.clear();
        must(producer.flush(30s), name_ + ": flush");
      }
      if (!batch->empty())
        dirty = true;
      if (group_ && dirty && steady::now() - last_commit > 100ms) {
        (void)consumer.commit();
        last_commit = steady::now();
        dirty = false;
      }
    }
  }

  std::string name_, brokers_;
  std::vector<std::string> in_;
  handler handle_;
  bool group_;
  std::atomic<bool> stop_{false}, ready_{false};
  std::atomic<std::uint64_t> records_{0};
  std::thread thread_;
};

std::optional<json> data_of(const cloud_event& e) {
  if (!e.data)
    return std::nullopt;
  auto j = json::parse(*e.data, nullptr, false);
  if (j.is_discarded())
    return std::nullopt;
  return j;
}

std::optional<std::string> instance_of(const cloud_event& e) {
  auto it = e.extensions.find(instance_attr);
  if (it == e.extensions.end())
    return std::nullopt;
  return it->second;
}

// -- the services (SERVICES.md) -----------------------------------------------

handler order_service(const topics& t) {
  return [t](const kafka_record&, const cloud_event& e, std::vector<output>& out) {
    auto instance = instance_of(e);
    if (!instance)
      return;  // no instance could take a reply
    auto data = data_of(e);
    json order = data && data->is_object() && data->contains("order") ? (*data)["order"]
                                                                       : json::object();
    if (!order.is_object())
      order = json::object();
    auto n = number_of(order.value("id", json{}));
    the_clocks->set(n, t_order_in);
    json reply;
    if (order.is_object() && order.contains("id")) {
      order["status"] = "accepted";
      reply = {{"order", order}};
    } else {
      reply = {{"order", {{"status", "rejected"}, {"reason", "the trigger has no order id"}}}};
    }
    auto ev = make_event("com.example.store.order.processed", "/order-service", reply.dump());
    ev.extensions[instance_attr] = *instance;
    if (order.contains("id") && order["id"].is_string())
      ev.subject = order["id"].get<std::string>();
    the_clocks->set(n, t_order_out);
    out.push_back({t.order_out, std::move(ev), *instance});
  };
}

handler payment_service(const topics& t, double limit) {
  return [t, limit](const kafka_record&, const cloud_event& e, std::vector<output>& out) {
    auto instance = instance_of(e);
    if (!instance)
      return;
    auto data = data_of(e);
    json order = data && data->is_object() && data->contains("order") ? (*data)["order"]
                                                                       : json::object();
    if (!order.is_object())
      order = json::object();
    auto n = number_of(order.value("id", json{}));
    the_clocks->set(n, t_pay_in);
    json amount = order.is_object() ? order.value("amount", json{}) : json{};
    json receipt = {{"orderId", order.value("id", json{})}, {"amount", amount}};
    if (!amount.is_number()) {
      receipt["status"] = "denied";
      receipt["reason"] = "the order has no numeric amount";
    } else if (amount.get<double>() > limit) {
      receipt["status"] = "denied";
      receipt["reason"] =
        fmt::format("the amount {:.2f} is over the limit {:.2f}", amount.get<double>(), limit);
    } else {
      receipt["status"] = "success";
    }
    auto ev = make_event("com.example.store.payment.receipt", "/payment-service",
                         json{{"payment", receipt}}.dump());
    ev.extensions[instance_attr] = *instance;
    if (order.contains("id") && order["id"].is_string())
      ev.subject = order["id"].get<std::string>();
    the_clocks->set(n, t_pay_out);
    out.push_back({t.pay_out, std::move(ev), *instance});
  };
}

/// Ships each order once, by order id; no reply.
handler shipment_service() {
  auto shipped = std::make_shared<std::unordered_set<std::string>>();
  return [shipped](const kafka_record&, const cloud_event& e, std::vector<output>&) {
    auto data = data_of(e);
    if (data && data->is_object() && data->contains("order") && (*data)["order"].is_object()) {
      auto id = (*data)["order"].value("id", std::string{});
      shipped->insert(id);
    }
  };
}

// -- the raw chain's forwarders: what stands where meshflow's steps are ------

/// The state a forwarder keeps per "instance": the order, so that the last
/// step can send `{"order", "payment"}` as the workflow's state data.
struct raw_state {
  std::mutex m;
  std::unordered_map<std::string, std::string> order_of;  // instance id -> order JSON
};

handler forward_new_order(const topics& t, std::shared_ptr<raw_state> st) {
  return [t, st](const kafka_record&, const cloud_event& e, std::vector<output>& out) {
    auto data = data_of(e);
    if (!data || !data->contains("order"))
      return;
    auto instance = "raw-" + (*data)["order"].value("id", std::string{});
    auto ev = make_event("io.meshflow.bench.trigger", "/raw-chain", *e.data);
    ev.extensions[instance_attr] = instance;
    out.push_back({t.order_in, std::move(ev), instance});
  };
}

handler forward_processed(const topics& t, std::shared_ptr<raw_state> st) {
  return [t, st](const kafka_record&, const cloud_event& e, std::vector<output>& out) {
    auto instance = instance_of(e);
    auto data = data_of(e);
    if (!instance || !data || !data->contains("order"))
      return;
    {
      std::lock_guard lock{st->m};
      st->order_of[*instance] = (*data)["order"].dump();
    }
    auto ev = make_event("io.meshflow.bench.trigger", "/raw-chain", *e.data);
    ev.extensions[instance_attr] = *instance;
    out.push_back({t.pay_in, std::move(ev), *instance});
  };
}

handler forward_receipt(const topics& t, std::shared_ptr<raw_state> st) {
  return [t, st](const kafka_record&, const cloud_event& e, std::vector<output>& out) {
    auto instance = instance_of(e);
    auto data = data_of(e);
    if (!instance || !data || !data->contains("payment"))
      return;
    std::string order;
    {
      std::lock_guard lock{st->m};
      auto it = st->order_of.find(*instance);
      if (it == st->order_of.end())
        return;
      order = std::move(it->second);
      st->order_of.erase(it);
    }
    if ((*data)["payment"].value("status", std::string{}) != "success")
      return;  // denied: the workflow ends
    auto state = fmt::format(R"({{"order":{},"payment":{}}})", order, (*data)["payment"].dump());
    auto ev = make_event("io.meshflow.bench.trigger", "/raw-chain", std::move(state));
    ev.extensions[instance_attr] = *instance;
    out.push_back({t.ship_in, std::move(ev), *instance});
  };
}

// -- the driver ---------------------------------------------------------------

constexpr double payment_limit = 500.0;

/// Order number `n` (SERVICES.md): one to three items; every fourth buys an
/// espresso machine and is over the limit.
std::string order_data(std::size_t n) {
  static const std::pair<const char*, double> catalog[] = {
    {"tea", 4.5}, {"coffee", 9.9}, {"mug", 12.0}, {"teapot", 29.0}, {"kettle", 39.0}};
  json items = json::array();
  double amount = 0;
  std::size_t count = 1 + n % 3;
  for (std::size_t i = 0; i < count; ++i) {
    const auto& [sku, price] = catalog[(n + i) % 5];
    int quantity = static_cast<int>(1 + (n / 3 + i) % 3);
    items.push_back({{"sku", sku}, {"quantity", quantity}, {"price", price}});
    amount += quantity * price;
  }
  if (n % 4 == 0) {
    items.push_back({{"sku", "espresso-machine"}, {"quantity", 1}, {"price", 649.0}});
    amount += 649.0;
  }
  json order = {{"id", order_id(n)},
                {"customer", fmt::format("c-{:03d}", n % 40 + 1)},
                {"items", items},
                {"amount", std::round(amount * 100) / 100},
                {"currency", "EUR"}};
  return json{{"order", order}}.dump();
}

/// Reads shipment.inbound and payment.outbound; an order ends at its
/// shipment (paid) or its denial.
struct completion {
  std::atomic<std::uint64_t> ended{0};
  std::atomic<std::uint64_t> denied_shipped{0};
};

handler end_reader(const topics& t, std::shared_ptr<completion> done) {
  return [t, done](const kafka_record& r, const cloud_event& e, std::vector<output>&) {
    auto data = data_of(e);
    if (!data || !data->is_object())
      return;
    std::size_t n = SIZE_MAX;
    if (r.topic == t.ship_in) {
      if (data->contains("order") && (*data)["order"].is_object())
        n = number_of((*data)["order"].value("id", json{}));
      if (n < the_clocks->denied.size() && the_clocks->denied[n].load())
        done->denied_shipped++;
    } else if (data->contains("payment") && (*data)["payment"].is_object()) {
      const auto& p = (*data)["payment"];
      if (p.value("status", std::string{}) != "denied")
        return;
      n = number_of(p.value("orderId", json{}));
      if (n < the_clocks->denied.size())
        the_clocks->denied[n] = true;
    }
    if (n >= the_clocks->denied.size() || the_clocks->get(n, t_end) != 0)
      return;  // not ours, or seen before (a redelivery)
    the_clocks->set(n, t_end);
    done->ended++;
  };
}

struct run_result {
  std::size_t orders = 0, ended = 0;
  double seconds = 0;     // first publish to last end
  double publish_s = 0;   // first to last publish
  double rate = 0;        // ended per second
  std::size_t begin = 0;  // order numbers [begin, begin + orders)
};

/// Publishes orders [begin, begin + n) to `topic`, at `rate` per second
/// (0: as fast as possible), then waits for them to end (up to `timeout`
/// after the last publish).
run_result drive(kafka_producer& producer, const std::string& topic, std::size_t begin,
                 std::size_t n, double rate, completion& done, std::chrono::seconds timeout) {
  run_result r;
  r.orders = n;
  r.begin = begin;
  auto ended_before = done.ended.load();
  auto start = steady::now();
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t number = begin + i;
    if (rate > 0) {
      auto due = start + std::chrono::nanoseconds(static_cast<std::int64_t>(i * 1e9 / rate));
      while (steady::now() < due) {
        producer.poll(0ms);
        std::this_thread::sleep_until(std::min(due, steady::now() + 1ms));
      }
    }
    auto id = order_id(number);
    auto ev = make_event("com.example.store.order.new", "/online-store", order_data(number));
    ev.subject = id;
    auto m = must(kafka_binding::encode(ev, kafka_binding::content_mode::binary, id), "encode");
    the_clocks->set(number, t_pub);
    while (!producer.produce(topic, m))
      producer.poll(10ms);
    if (i % 64 == 0)
      producer.poll(0ms);
  }
  auto published = steady::now();
  must(producer.flush(30s), "driver: flush");
  auto deadline = published + timeout;
  // Ended: those of [begin, begin + n) whose end was seen (the counter
  // only says when to look again).
  std::size_t scanned = begin;  // every order before it has ended
  auto ended_in_range = [&] {
    while (scanned < begin + n && the_clocks->get(scanned, t_end))
      ++scanned;
    std::size_t count = scanned - begin;
    for (std::size_t i = scanned; i < begin + n; ++i)
      count += the_clocks->get(i, t_end) != 0;
    return count;
  };
  auto seen = done.ended.load();
  while (steady::now() < deadline) {
    if (auto now = done.ended.load(); now != seen) {
      seen = now;
      if (ended_in_range() == n)
        break;
    }
    std::this_thread::sleep_for(1ms);
  }
  (void)ended_before;
  r.ended = ended_in_range();
  if (r.ended < n) {
    // Where the orders that did not end stopped: the last mark each reached.
    static const char* names[] = {"published", "order.inbound seen", "order.outbound sent",
                                  "payment.inbound seen", "payment.outbound sent"};
    std::size_t at[t_end] = {};
    std::string some;
    for (std::size_t i = begin; i < begin + n; ++i) {
      if (the_clocks->get(i, t_end))
        continue;
      int last = t_pub;
      for (int m = t_pub; m < t_end; ++m)
        if (the_clocks->get(i, static_cast<mark>(m)))
          last = m;
      at[last]++;
      if (some.size() < 60)
        some += " " + order_id(i);
    }
    std::string where;
    for (int m = t_pub; m < t_end; ++m)
      if (at[m])
        where += fmt::format(", {} stopped after {}", at[m], names[m]);
    std::fprintf(stderr, "store_order_bench: %zu of %zu orders did not end%s (e.g.%s)\n",
                 n - r.ended, n, where.c_str(), some.c_str());
  }
  std::int64_t first = INT64_MAX, last = 0;
  for (std::size_t i = begin; i < begin + n; ++i) {
    first = std::min(first, the_clocks->get(i, t_pub));
    last = std::max(last, the_clocks->get(i, t_end));
  }
  r.seconds = (last - first) / 1e9;
  r.publish_s = std::chrono::duration<double>(published - start).count();
  r.rate = r.seconds > 0 ? r.ended / r.seconds : 0;
  return r;
}

// -- latency ------------------------------------------------------------------

struct dist {
  double p50 = 0, p99 = 0, max = 0;
  std::size_t n = 0;
};

dist percentiles(std::vector<std::int64_t> v) {
  dist d;
  d.n = v.size();
  if (v.empty())
    return d;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    return v[std::min(v.size() - 1, static_cast<std::size_t>(q * (v.size() - 1) + 0.5))] / 1e6;
  };
  d.p50 = at(0.50);
  d.p99 = at(0.99);
  d.max = v.back() / 1e6;
  return d;
}

struct latencies {
  dist step1, order_svc, step2, pay_svc, step3, denied_hop, e2e_paid, e2e_denied;
};

latencies latencies_of(const run_result& r) {
  std::vector<std::int64_t> s1, os, s2, ps, s3, dh, ep, ed;
  for (std::size_t i = r.begin; i < r.begin + r.orders; ++i) {
    std::int64_t t[marks];
    for (int m = 0; m < marks; ++m)
      t[m] = the_clocks->get(i, static_cast<mark>(m));
    if (!t[t_end])
      continue;
    bool denied = the_clocks->denied[i].load();
    s1.push_back(t[t_order_in] - t[t_pub]);
    os.push_back(t[t_order_out] - t[t_order_in]);
    s2.push_back(t[t_pay_in] - t[t_order_out]);
    ps.push_back(t[t_pay_out] - t[t_pay_in]);
    if (denied) {
      dh.push_back(t[t_end] - t[t_pay_out]);
      ed.push_back(t[t_end] - t[t_pub]);
    } else {
      s3.push_back(t[t_end] - t[t_pay_out]);
      ep.push_back(t[t_end] - t[t_pub]);
    }
  }
  return {percentiles(s1), percentiles(os), percentiles(s2), percentiles(ps),
          percentiles(s3), percentiles(dh), percentiles(ep), percentiles(ed)};
}

// -- CPU per thread -----------------------------------------------------------

/// Thread name -> CPU seconds (utime + stime) of every thread of `pid`;
/// threads of one name are added up.
std::map<std::string, double> cpu_by_thread(pid_t pid) {
  std::map<std::string, double> out;
  static const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  std::error_code ec;
  for (const auto& task :
       std::filesystem::directory_iterator(fmt::format("/proc/{}/task", pid), ec)) {
    std::ifstream in(task.path() / "stat");
    std::string s((std::istreambuf_iterator<char>(in)), {});
    auto open = s.find('('), close = s.rfind(')');
    if (open == std::string::npos || close == std::string::npos)
      continue;
    auto name = s.substr(open + 1, close - open - 1);
    std::istringstream rest(s.substr(close + 2));
    std::string field;
    std::vector<std::string> f;
    while (rest >> field)
      f.push_back(field);
    if (f.size() < 13)
      continue;
    // after the name: state(0) ... utime(11) stime(12)
    out[name] += (std::stod(f[11]) + std::stod(f[12])) / tick;
  }
  return out;
}

std::map<std::string, double> minus(std::map<std::string, double> after,
                                    const std::map<std::string, double>& before) {
  for (auto& [k, v] : after)
    if (auto it = before.find(k); it != before.end())
      v -= it->second;
  return after;
}

double total_cpu(pid_t pid) {
  double sum = 0;
  for (const auto& [k, v] : cpu_by_thread(pid))
    sum += v;
  return sum;
}

// -- one chain ----------------------------------------------------------------

struct chain_result {
  std::string name;
  run_result max, half;
  latencies lat_half, lat_max;
  std::map<std::string, double> node_cpu;  // meshflow node, during (a)
  double node_cpu_total = 0, bench_cpu = 0, broker_cpu = 0, wall = 0;
  bool ran = false;
  std::string skipped;
  std::vector<std::string> notes;
};

/// The 1, 5 and 15 minute load averages: whether the machine was quiet.
std::string loadavg() {
  std::string a, b, c;
  std::ifstream in("/proc/loadavg");
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

struct options {
  std::string load_at_start = loadavg();
  std::string brokers;
  std::string meshflow = "build/release/cli/meshflow";
  std::string examples = "examples/store-order";
  std::size_t orders = 20000, warmup = 2000;
  std::int32_t partitions = 24;
  bool raw = true, mesh = true;
  pid_t broker_pid = 0;
  std::string node_log_dir;
  std::string commit_interval;  // "": the node's default
  double rate = 0;              // (b)'s offered orders/s; 0: half of (a)'s
};

/// Runs warm-up, (a) and (b) through a chain whose stages are running.
void measure(chain_result& out, kafka_producer& producer, const topics& t,
             std::shared_ptr<completion> done, std::size_t& next, const options& o,
             pid_t node_pid) {
  auto timeout = 120s;
  auto warm = drive(producer, t.store_order, next, o.warmup, 0, *done, timeout);
  next += o.warmup;
  if (warm.ended < warm.orders)
    std::fprintf(stderr, "store_order_bench: %s: warm-up: %zu of %zu orders ended\n",
                 out.name.c_str(), warm.ended, warm.orders);
  std::fprintf(stderr, "store_order_bench: %s: warm-up %zu orders: %.0f/s\n", out.name.c_str(),
               warm.orders, warm.rate);
  auto node_before = node_pid ? cpu_by_thread(node_pid) : std::map<std::string, double>{};
  double bench_before = total_cpu(::getpid());
  double broker_before = o.broker_pid ? total_cpu(o.broker_pid) : 0;
  auto wall_before = steady::now();
  out.max = drive(producer, t.store_order, next, o.orders, 0, *done, timeout);
  next += o.orders;
  out.wall = std::chrono::duration<double>(steady::now() - wall_before).count();
  if (node_pid) {
    out.node_cpu = minus(cpu_by_thread(node_pid), node_before);
    for (const auto& [k, v] : out.node_cpu)
      out.node_cpu_total += v;
  }
  out.bench_cpu = total_cpu(::getpid()) - bench_before;
  if (o.broker_pid)
    out.broker_cpu = total_cpu(o.broker_pid) - broker_before;
  out.lat_max = latencies_of(out.max);
  std::fprintf(stderr, "store_order_bench: %s: (a) %zu/%zu orders ended, %.0f/s\n",
               out.name.c_str(), out.max.ended, out.max.orders, out.max.rate);
  double half = o.rate > 0 ? o.rate : std::max(50.0, out.max.rate / 2);
  std::this_thread::sleep_for(1s);
  out.half = drive(producer, t.store_order, next, o.orders, half, *done, timeout);
  next += o.orders;
  out.lat_half = latencies_of(out.half);
  std::fprintf(stderr, "store_order_bench: %s: (b) at %.0f/s: %zu/%zu ended\n", out.name.c_str(),
               half, out.half.ended, out.half.orders);
  if (done->denied_shipped)
    std::fprintf(stderr, "store_order_bench: %s: %lu denied orders were shipped!\n",
                 out.name.c_str(), static_cast<unsigned long>(done->denied_shipped.load()));
  out.ran = true;
}

/// Waits until every partition of `names` answers a watermark request
/// (has a leader): a topic just created has none for a moment.
void wait_for_leaders(const options& o, const std::vector<std::string>& names) {
  auto admin = must(kafka_admin::create({{"bootstrap.servers", o.brokers}}), "admin");
  auto probe = must(kafka_consumer::create({{"bootstrap.servers", o.brokers}, {"group.id", "store-order-bench-probe"}}), "probe");
  auto deadline = steady::now() + 60s;
  for (const auto& topic : names) {
    auto count = must(admin.partition_count(topic, 10s), topic).value_or(0);
    for (std::int32_t p = 0; p < count; ++p)
      while (!probe.watermarks(topic, p, 5s)) {
        if (steady::now() > deadline)
          die(fmt::format("{} [{}] has no leader after 60 s", topic, p));
        std::this_thread::sleep_for(50ms);
      }
  }
}

void ensure_business_topics(const options& o, const topics& t) {
  auto admin = must(kafka_admin::create({{"bootstrap.servers", o.brokers}}), "admin");
  std::vector<kafka_topic_spec> specs;
  for (const auto& name : t.all())
    specs.push_back({name, o.partitions, 1, {}});
  must(admin.ensure_topics(specs, 30s), "creating the topics");
  wait_for_leaders(o, t.all());
}

struct service_stages {
  std::vector<std::unique_ptr<stage>> all;
  std::shared_ptr<completion> done = std::make_shared<completion>();
  void start_and_wait() {
    for (auto& s : all)
      s->start();
    for (auto& s : all)
      s->wait_ready();
  }
};

/// The services and the driver's reader of a chain.
void add_services(service_stages& s, const options& o, const topics& t) {
  s.all.push_back(std::make_unique<stage>("order", o.brokers,
                                          std::vector{t.order_in}, order_service(t), true));
  s.all.push_back(std::make_unique<stage>("payment", o.brokers, std::vector{t.pay_in},
                                          payment_service(t, payment_limit), true));
  s.all.push_back(std::make_unique<stage>("shipment", o.brokers, std::vector{t.ship_in},
                                          shipment_service(), true));
  s.all.push_back(std::make_unique<stage>("driver", o.brokers,
                                          std::vector{t.ship_in, t.pay_out},
                                          end_reader(t, s.done), false));
}

chain_result run_raw(const options& o, std::size_t& next) {
  chain_result out;
  out.name = "raw";
  auto t = topics::with_prefix("raw.");
  ensure_business_topics(o, t);
  service_stages s;
  auto st = std::make_shared<raw_state>();
  s.all.push_back(std::make_unique<stage>("fwd-new", o.brokers, std::vector{t.store_order},
                                          forward_new_order(t, st), true));
  s.all.push_back(std::make_unique<stage>("fwd-processed", o.brokers,
                                          std::vector{t.order_out}, forward_processed(t, st),
                                          true));
  s.all.push_back(std::make_unique<stage>("fwd-receipt", o.brokers, std::vector{t.pay_out},
                                          forward_receipt(t, st), true));
  add_services(s, o, t);
  s.start_and_wait();
  auto producer = must(kafka_producer::create(producer_config(o.brokers)), "driver: producer");
  must(producer.learn_topics({t.store_order}, 10s), "driver: topics");
  measure(out, producer, t, s.done, next, o, 0);
  return out;
}

// -- the meshflow node --------------------------------------------------------

struct child {
  pid_t pid = 0;
  std::string log;
};

/// The node, stopped with this process when it is interrupted.
std::atomic<pid_t> running_node{0};

void on_stop_signal(int sig) {
  if (pid_t p = running_node.load(); p > 0)
    ::kill(p, SIGTERM);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

child spawn(const std::vector<std::string>& argv, const std::string& log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  child c;
  c.log = log;
  if (int e = posix_spawn(&c.pid, args[0], &fa, nullptr, args.data(), environ); e != 0)
    die(fmt::format("cannot start {}: {}", argv[0], std::strerror(e)));
  posix_spawn_file_actions_destroy(&fa);
  return c;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), {}};
}

/// Runs a command to its end; its exit code, its output in `log`.
int run_command(const std::vector<std::string>& argv, const std::string& log) {
  auto c = spawn(argv, log);
  int status = 0;
  ::waitpid(c.pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void stop_child(child& c) {
  if (!c.pid)
    return;
  ::kill(c.pid, SIGTERM);
  for (int i = 0; i < 200; ++i) {
    int status = 0;
    if (::waitpid(c.pid, &status, WNOHANG) == c.pid) {
      c.pid = 0;
      return;
    }
    std::this_thread::sleep_for(50ms);
  }
  ::kill(c.pid, SIGKILL);
  ::waitpid(c.pid, nullptr, 0);
  c.pid = 0;
}

std::string tail(const std::string& text, std::size_t lines) {
  std::size_t at = text.size();
  for (std::size_t i = 0; i <= lines && at > 0; ++i)
    at = text.rfind('\n', at - 1);
  return at == std::string::npos ? text : text.substr(at + 1);
}

chain_result run_meshflow(const options& o, std::size_t& next) {
  chain_result out;
  out.name = "meshflow";
  if (::access(o.meshflow.c_str(), X_OK) != 0) {
    out.skipped = fmt::format("no meshflow binary at {}", o.meshflow);
    return out;
  }
  auto t = topics::with_prefix("");
  ensure_business_topics(o, t);
  auto dir = o.node_log_dir.empty()
               ? std::filesystem::temp_directory_path() / fmt::format("store-order-bench-{}", ::getpid())
               : std::filesystem::path(o.node_log_dir);
  std::filesystem::create_directories(dir);
  auto cluster = fmt::format("bench-{}-{}", ::getpid(), std::random_device{}() % 100000);
  auto node_log = (dir / "node.log").string();
  std::filesystem::remove(node_log);
  // A node on a fresh cluster exits at once when the topics it has just
  // created have no leader yet ("read_to_end of <cluster>.definitions [0]:
  // ... Not leader for partition"; meshflow's bug, not the benchmark's).
  // So the cluster's topics are made here first, as the node would make
  // them, and waited for until every partition has a leader; a start that
  // fails all the same is tried again (three times), each failure reported.
  {
    engine_topic_settings settings;
    settings.cluster = cluster;
    auto specs = must(engine_topics::of(settings), "engine topics").all();
    auto admin = must(kafka_admin::create({{"bootstrap.servers", o.brokers}}), "admin");
    must(admin.ensure_topics(specs, 30s), "creating the cluster's topics");
    std::vector<std::string> names;
    for (const auto& spec : specs)
      names.push_back(spec.name);
    wait_for_leaders(o, names);
  }
  child node;
  std::string address;
  for (int attempt = 1; address.empty(); ++attempt) {
    std::filesystem::remove(node_log);
    std::vector<std::string> argv{o.meshflow, "node",      "--brokers", o.brokers, "--cluster",
                                  cluster,    "--listen", "127.0.0.1:0", "--quiet"};
    if (!o.commit_interval.empty())
      argv.insert(argv.end(), {"--commit-interval", o.commit_interval});
    node = spawn(argv, node_log);
    running_node = node.pid;
    auto deadline = steady::now() + 60s;
    std::string failed;
    while (address.empty() && failed.empty()) {
      auto text = read_file(node_log);
      auto at = text.find("listening on ");
      if (at != std::string::npos) {
        auto end = text.find_first_of(", \n", at + 13);
        if (end != std::string::npos)
          address = text.substr(at + 13, end - at - 13);
      }
      int status = 0;
      if (address.empty() && ::waitpid(node.pid, &status, WNOHANG) == node.pid) {
        node.pid = 0;
        failed = "the node exited at start: " + tail(text, 5);
      } else if (address.empty() && steady::now() > deadline) {
        stop_child(node);
        failed = "the node did not listen within 60 s: " + tail(read_file(node_log), 5);
      }
      std::this_thread::sleep_for(50ms);
    }
    if (!failed.empty()) {
      std::fprintf(stderr, "store_order_bench: start %d of the node: %s", attempt,
                   failed.c_str());
      std::this_thread::sleep_for(attempt * 2s);
      out.notes.push_back(fmt::format("start {} of the node failed: {}", attempt, failed));
      if (attempt == 3) {
        out.skipped = failed;
        return out;
      }
    }
  }
  std::fprintf(stderr, "store_order_bench: meshflow node (pid %d) on %s, cluster %s, log %s\n",
               node.pid, address.c_str(), cluster.c_str(), node_log.c_str());
  auto cmd_log = (dir / "commands.log").string();
  std::vector<std::string> reg{o.meshflow, "catalog", "register"};
  for (const auto* f : {"onlineStoreApp.yaml", "orderService.yaml", "paymentService.yaml",
                        "shipmentService.yaml"})
    reg.push_back(o.examples + "/" + f);
  reg.insert(reg.end(), {"--node", address});
  if (int rc = run_command(reg, cmd_log); rc != 0) {
    // Until `catalog register` exists, `deploy` reads the documents the
    // definition's `file://` sources name, beside it.
    auto why = fmt::format("`meshflow catalog register` failed ({}): {}", rc,
                           tail(read_file(cmd_log), 3));
    std::fprintf(stderr, "store_order_bench: %s; deploying without it\n", why.c_str());
    out.notes.push_back(why + "; deployed without it");
  }
  if (int rc = run_command({o.meshflow, "deploy", o.examples + "/storeorderworkflow.sw.yaml",
                            "--node", address},
                           cmd_log);
      rc != 0) {
    stop_child(node);
    out.skipped = fmt::format("`meshflow deploy` failed ({}):\n{}", rc,
                              tail(read_file(cmd_log), 10));
    return out;
  }
  service_stages s;
  add_services(s, o, t);
  s.start_and_wait();
  auto producer = must(kafka_producer::create(producer_config(o.brokers)), "driver: producer");
  must(producer.learn_topics({t.store_order}, 10s), "driver: topics");
  measure(out, producer, t, s.done, next, o, node.pid);
  s.all.clear();
  stop_child(node);
  return out;
}

// -- the report ---------------------------------------------------------------

std::string ms(const dist& d) {
  if (!d.n)
    return "-";
  return fmt::format("{:.1f} / {:.1f}", d.p50, d.p99);
}

void report(const options& o, const chain_result& raw, const chain_result& mesh) {
  std::printf("\nstore order on Kafka: %zu orders per run (3 of 4 paid), %d partitions per topic\n",
              o.orders, o.partitions);
  std::printf("machine: %u cores; load average at start %s, at end %s\n",
              std::thread::hardware_concurrency(), o.load_at_start.c_str(), loadavg().c_str());
  auto col = [](const chain_result& c, auto f) -> std::string {
    return c.ran ? f(c) : std::string{"-"};
  };
  auto row = [&](const char* what, auto f, const char* target) {
    std::printf("| %-48s | %-16s | %-16s | %-8s |\n", what, col(raw, f).c_str(),
                col(mesh, f).c_str(), target);
  };
  std::printf("| %-48s | %-16s | %-16s | %-8s |\n", "measurement", "raw chain", "meshflow",
              "target");
  std::printf("| %-48s | %-16s | %-16s | %-8s |\n", "---", "---", "---", "---");
  row("(a) instances completed/s, as fast as possible",
      [](const chain_result& c) { return fmt::format("{:.0f}", c.max.rate); }, ">= 2,000");
  row("(a) ended / published",
      [](const chain_result& c) { return fmt::format("{}/{}", c.max.ended, c.max.orders); }, "");
  row("(a) e2e paid p50 / p99 ms (saturated)",
      [](const chain_result& c) { return ms(c.lat_max.e2e_paid); }, "");
  row("(b) offered rate (half of (a), or --rate), orders/s",
      [](const chain_result& c) { return fmt::format("{:.0f}", c.half.orders / c.half.publish_s); },
      "");
  row("(b) ended / published",
      [](const chain_result& c) { return fmt::format("{}/{}", c.half.ended, c.half.orders); }, "");
  row("(b) step store.order->order.inbound p50/p99",
      [](const chain_result& c) { return ms(c.lat_half.step1); }, "p99<=50");
  row("(b) step order.outbound->payment.inbound",
      [](const chain_result& c) { return ms(c.lat_half.step2); }, "p99<=50");
  row("(b) step payment.outbound->shipment.inbound",
      [](const chain_result& c) { return ms(c.lat_half.step3); }, "p99<=50");
  row("(b) order service (poll to produce)",
      [](const chain_result& c) { return ms(c.lat_half.order_svc); }, "");
  row("(b) payment service (poll to produce)",
      [](const chain_result& c) { return ms(c.lat_half.pay_svc); }, "");
  row("(b) plain hop payment.outbound->driver",
      [](const chain_result& c) { return ms(c.lat_half.denied_hop); }, "");
  row("(b) e2e paid (store.order->shipment.inbound)",
      [](const chain_result& c) { return ms(c.lat_half.e2e_paid); }, "");
  row("(b) e2e denied (store.order->payment.outbound)",
      [](const chain_result& c) { return ms(c.lat_half.e2e_denied); }, "");
  row("(a) CPU s: this process (services, driver, fwd)",
      [](const chain_result& c) { return fmt::format("{:.1f}", c.bench_cpu); }, "");
  row("(a) CPU s: broker",
      [&](const chain_result& c) {
        return o.broker_pid ? fmt::format("{:.1f}", c.broker_cpu) : std::string{"?"};
      },
      "");
  row("(a) CPU s: meshflow node",
      [](const chain_result& c) { return fmt::format("{:.1f}", c.node_cpu_total); }, "");
  row("(a) wall s", [](const chain_result& c) { return fmt::format("{:.1f}", c.wall); }, "");
  if (raw.ran && mesh.ran && raw.max.rate > 0)
    std::printf("\nmeshflow / raw chain: %.0f %% of the raw chain's throughput (target >= 30 %%)\n",
                100 * mesh.max.rate / raw.max.rate);
  if (mesh.ran && !mesh.node_cpu.empty()) {
    std::vector<std::pair<double, std::string>> by;
    for (const auto& [k, v] : mesh.node_cpu)
      by.push_back({v, k});
    std::sort(by.rbegin(), by.rend());
    std::printf("\nmeshflow node, CPU per thread during (a) (%.1f s wall, %.1f s CPU):\n",
                mesh.wall, mesh.node_cpu_total);
    for (const auto& [v, k] : by)
      if (v >= 0.05)
        std::printf("  %-18s %6.2f s  %5.1f %% of a core\n", k.c_str(), v, 100 * v / mesh.wall);
  }
  for (const auto* c : {&raw, &mesh})
    for (const auto& note : c->notes)
      std::printf("\n%s: note: %s\n", c->name.c_str(), note.c_str());
  for (const auto* c : {&raw, &mesh})
    if (!c->skipped.empty())
      std::printf("\n%s: skipped: %s\n", c->name.c_str(), c->skipped.c_str());
}

} // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--brokers")
      o.brokers = value();
    else if (a == "--meshflow")
      o.meshflow = value();
    else if (a == "--examples")
      o.examples = value();
    else if (a == "--orders")
      o.orders = std::stoul(value());
    else if (a == "--warmup")
      o.warmup = std::stoul(value());
    else if (a == "--partitions")
      o.partitions = std::stoi(value());
    else if (a == "--broker-pid")
      o.broker_pid = std::stoi(value());
    else if (a == "--node-log-dir")
      o.node_log_dir = value();
    else if (a == "--commit-interval")
      o.commit_interval = value();
    else if (a == "--rate")
      o.rate = std::stod(value());
    else if (a == "--services-fetch-wait")
      services_fetch_wait = value();
    else if (a == "--no-raw")
      o.raw = false;
    else if (a == "--no-meshflow")
      o.mesh = false;
    else
      die("usage: store_order_bench --brokers HOST:PORT [--meshflow PATH] [--examples DIR] "
          "[--orders N] [--warmup N] [--partitions P] [--broker-pid PID] [--node-log-dir DIR] "
          "[--commit-interval D] [--rate R] [--services-fetch-wait MS] [--no-raw] "
          "[--no-meshflow]");
  }
  if (o.brokers.empty())
    die("--brokers HOST:PORT is needed (scripts/bench starts a broker)");
  ::signal(SIGTERM, on_stop_signal);
  ::signal(SIGINT, on_stop_signal);
  std::size_t per_chain = o.warmup + 2 * o.orders;
  clocks c(2 * per_chain + 1);
  the_clocks = &c;
  std::size_t next = 1;  // o-1, o-2, ... across both chains
  chain_result raw, mesh;
  raw.name = "raw";
  mesh.name = "meshflow";
  if (o.raw)
    raw = run_raw(o, next);
  if (o.mesh)
    mesh = run_meshflow(o, next);
  report(o, raw, mesh);
  return 0;
}
