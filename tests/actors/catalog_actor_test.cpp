// The catalog actor on the embedded cluster (librdkafka's mock): documents
// registered are records of `<cluster>.catalog` and survive a restart of
// the actor, broken ones are refused with their positions and change
// nothing, watchers get every snapshot; and the same protocol in memory.

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "meshflow/actors/catalog_actor.hpp"
#include "meshflow/dsl/document.hpp"
#include "meshflow/transport/embedded_cluster.hpp"
#include "meshflow/transport/kafka_client.hpp"

namespace meshflow::actors {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

const std::filesystem::path store_order =
  std::filesystem::path{MESHFLOW_SHARED_DIR} / "examples" / "store-order";

std::string seed(const std::string& file) {
  auto text = dsl::read_text(store_order / file);
  EXPECT_TRUE(text) << text.error().message;
  return text ? *text : std::string{};
}

class catalog_actor_test : public ::testing::Test {
protected:
  void SetUp() override {
    auto started = transport::embedded_cluster::start();
    ASSERT_TRUE(started) << started.error().message;
    cluster_.emplace(std::move(*started));
    settings_.kafka = {{"bootstrap.servers", cluster_->bootstrap_servers()}};
    settings_.topic = transport::engine_topics::of({.cluster = "test"})->catalog;
  }

  void TearDown() override {
    for (const auto& a : started_)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }

  /// A catalog actor on the test's cluster (or in memory, when the
  /// settings have no Kafka).
  caf::actor start() {
    auto a = start_catalog(sys_, settings_);
    EXPECT_TRUE(a) << a.error().message;
    if (!a)
      return {};
    started_.push_back(*a);
    return *a;
  }

  /// The JSON answer to a request.
  template <class... Ts>
  json ask(const caf::actor& catalog, Ts&&... xs) {
    caf::scoped_actor self{sys_};
    std::string answer;
    self->request(catalog, 30s, catalog_atom::value, std::forward<Ts>(xs)...)
      .receive([&](std::string& r) { answer = std::move(r); },
               [&](caf::error& e) { answer = sys_.render(e); });
    auto j = json::parse(answer, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << answer;
    return j;
  }

  json register_seed(const caf::actor& catalog, const std::string& file) {
    return ask(catalog, register_atom::value, file, seed(file));
  }

  /// The catalog topic's records, as `key -> value`.
  std::vector<std::pair<std::string, std::optional<std::string>>> records() {
    std::vector<std::pair<std::string, std::optional<std::string>>> out;
    auto read = transport::read_to_end(
      settings_.kafka, settings_.topic.name, 0,
      [&](const transport::kafka_record& r) {
        out.emplace_back(r.message.key.value_or(""), r.message.value);
      },
      30s);
    EXPECT_TRUE(read) << read.error().message;
    return out;
  }

  std::optional<transport::embedded_cluster> cluster_;
  catalog_settings settings_;
  caf::actor_system_config cfg_;
  caf::actor_system sys_{cfg_};
  std::vector<caf::actor> started_;
};

TEST_F(catalog_actor_test, a_registered_document_is_a_record_keyed_by_its_service_id) {
  auto catalog = start();
  auto r = register_seed(catalog, "orderService.yaml");
  ASSERT_TRUE(r.contains("services")) << r.dump();
  EXPECT_EQ(r["services"], json::parse(R"([{"id": "Order Service", "document":
    "orderService.yaml", "title": "Order Service", "version": "0.1.0", "operations": 2,
    "replaced": false}])"));
  // The seed's `$ref`s point nowhere: warnings, FILE:LINE:COL each.
  ASSERT_FALSE(r["warnings"].empty());
  EXPECT_EQ(r["warnings"][0].get<std::string>().rfind("orderService.yaml:", 0), 0u)
    << r["warnings"].dump();
  auto written = records();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0].first, "Order Service");
  ASSERT_TRUE(written[0].second);
  EXPECT_EQ(json::parse(*written[0].second),
            (json{{"path", "orderService.yaml"}, {"text", seed("orderService.yaml")}}));
}

TEST_F(catalog_actor_test, ls_and_show_say_what_is_registered) {
  auto catalog = start();
  EXPECT_EQ(ask(catalog, list_atom::value), json::array());
  register_seed(catalog, "paymentService.yaml");
  register_seed(catalog, "orderService.yaml");
  auto ls = ask(catalog, list_atom::value);
  ASSERT_EQ(ls.size(), 2u) << ls.dump();
  EXPECT_EQ(ls[0]["id"], "Order Service");
  EXPECT_EQ(ls[1]["id"], "Payment Service");
  auto shown = ask(catalog, show_atom::value, std::string{"Payment Service"});
  ASSERT_TRUE(shown.contains("operations")) << shown.dump();
  auto ops = shown["operations"];
  ASSERT_EQ(ops.size(), 2u) << shown.dump();
  EXPECT_EQ(ops[0]["operationId"], "sendPayment");
  EXPECT_EQ(ops[0]["direction"], "produce");
  EXPECT_EQ(ops[0]["topic"], "payment.inbound");
  EXPECT_EQ(ops[1]["operationId"], "paymentReceipt");
  EXPECT_EQ(ops[1]["direction"], "consume");
  EXPECT_EQ(ops[1]["topic"], "payment.outbound");
  // By its document's file name too.
  EXPECT_EQ(ask(catalog, show_atom::value, std::string{"orderService.yaml"})["id"],
            "Order Service");
  auto unknown = ask(catalog, show_atom::value, std::string{"Payment Servce"});
  EXPECT_EQ(unknown["error"]["code"], "not-found");
  EXPECT_NE(unknown["error"]["message"].get<std::string>().find("did you mean 'Payment "
                                                                "Service'?"),
            std::string::npos);
}

TEST_F(catalog_actor_test, a_broken_document_is_refused_with_its_positions_and_changes_nothing) {
  auto catalog = start();
  auto r = ask(catalog, register_atom::value, std::string{"broken.yaml"},
               std::string{"asyncapi: 2.6.0\ninfo:\n  title: Broken\n  version: '1'\n"
                           "channels:\n  a/b:\n    publish:\n      summary: no id\n"});
  ASSERT_TRUE(r.contains("error")) << r.dump();
  EXPECT_EQ(r["error"]["code"], "document");
  auto message = r["error"]["message"].get<std::string>();
  EXPECT_NE(message.find("broken.yaml: not registered, the document has errors:\nbroken.yaml:8:7:"),
            std::string::npos)
    << message;
  EXPECT_NE(message.find("operationId"), std::string::npos) << message;
  // Names that are not text are refused, not a crash of the catalog.
  auto bytes =
    ask(catalog, register_atom::value, std::string{"\xff.yaml"}, seed("orderService.yaml"));
  EXPECT_EQ(bytes["error"]["code"], "document") << bytes.dump();
  EXPECT_EQ(ask(catalog, show_atom::value, std::string{"\xc3("})["error"]["code"], "not-found");
  EXPECT_EQ(ask(catalog, list_atom::value), json::array());
  EXPECT_TRUE(records().empty());
}

TEST_F(catalog_actor_test, the_catalog_survives_a_restart) {
  {
    auto first = start();
    register_seed(first, "orderService.yaml");
    register_seed(first, "shipmentService.yaml");
    // A document of the same service replaces the first.
    auto again = register_seed(first, "orderService.yaml");
    EXPECT_EQ(again["services"][0]["replaced"], true);
    caf::anon_send_exit(first, caf::exit_reason::user_shutdown);
  }
  // What a restarted catalog skips: a record that is no document, and a
  // service removed by a tombstone.
  auto producer = transport::kafka_producer::create(
    transport::engine_producer_config(cluster_->bootstrap_servers()));
  ASSERT_TRUE(producer) << producer.error().message;
  ASSERT_TRUE(producer->produce_sync(settings_.topic.name, {.key = "junk", .value = "{not json"},
                                     10s));
  ASSERT_TRUE(producer->produce_sync(settings_.topic.name,
                                     {.key = "Shipment Service", .value = std::nullopt}, 10s));
  auto second = start();
  auto ls = ask(second, list_atom::value);
  ASSERT_EQ(ls.size(), 1u) << ls.dump();
  EXPECT_EQ(ls[0]["id"], "Order Service");
  caf::scoped_actor self{sys_};
  catalog_snapshot now;
  self->request(second, 30s, catalog_atom::value, get_atom::value)
    .receive([&](catalog_snapshot& s) { now = std::move(s); }, [](caf::error&) {});
  ASSERT_TRUE(now);
  auto bound = now->resolve("file://orderService.yaml#sendOrder");
  ASSERT_TRUE(bound) << bound.error().message;
  EXPECT_EQ(bound->operation.topic, "order.inbound");
}

TEST_F(catalog_actor_test, watchers_get_each_new_snapshot) {
  auto catalog = start();
  caf::scoped_actor self{sys_};
  catalog_snapshot seen;
  auto next = [&] {
    self->receive([&](catalog_atom, catalog_snapshot& s) { seen = std::move(s); },
                  caf::after(30s) >> [&] { seen = nullptr; });
  };
  self->send(catalog, catalog_atom::value, watch_atom::value);
  next();
  ASSERT_TRUE(seen);
  EXPECT_TRUE(seen->empty());
  register_seed(catalog, "onlineStoreApp.yaml");
  next();
  ASSERT_TRUE(seen);
  EXPECT_TRUE(seen->find_service("Online Store application"));
}

TEST_F(catalog_actor_test, without_kafka_the_documents_live_in_the_actor) {
  settings_.kafka.clear();
  auto catalog = start();
  EXPECT_EQ(register_seed(catalog, "orderService.yaml")["services"][0]["id"], "Order Service");
  EXPECT_EQ(ask(catalog, list_atom::value).size(), 1u);
}

TEST(catalog_actor_start, an_unreachable_topic_is_an_error) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  catalog_settings settings;
  settings.kafka = {{"bootstrap.servers", "127.0.0.1:1"}};
  settings.timeout = 2s;
  auto a = start_catalog(sys, settings);
  ASSERT_FALSE(a);
  EXPECT_FALSE(a.error().message.empty());
}

} // namespace
} // namespace meshflow::actors
