// The registry: registering, replacing, conflicts, lookups, resolving the
// seed workflow's references, the document beside a workflow, rebuilding.

#include <gtest/gtest.h>

#include "catalog_helpers.hpp"
#include "meshflow/catalog/errc.hpp"
#include "meshflow/catalog/service_catalog.hpp"
#include "meshflow/dsl/load.hpp"

using namespace meshflow;
using namespace meshflow::catalog;
using namespace meshflow::catalog::testing;
using lines = std::vector<std::string>;

namespace {

const char* seed_documents[] = {"onlineStoreApp.yaml", "orderService.yaml",
                                "paymentService.yaml", "shipmentService.yaml"};

service_catalog seed_catalog() {
  service_catalog c;
  for (auto file : seed_documents) {
    auto r = c.add(file, text_of(store_order_dir() / file));
    EXPECT_TRUE(r.registered) << all_text(r.diagnostics);
  }
  return c;
}

std::string order_service_v2(const std::string& extra_channels = "") {
  return "asyncapi: 2.6.0\ninfo:\n  title: Order Service v2\n  version: '2.0.0'\n"
         "channels:\n"
         "  orders/v2/inbound:\n"
         "    publish:\n"
         "      operationId: sendOrder\n" +
         extra_channels;
}

} // namespace

TEST(service_catalog, registers_the_seed_documents_with_warnings_only) {
  service_catalog c;
  for (auto file : seed_documents) {
    auto r = c.add(file, text_of(store_order_dir() / file));
    EXPECT_TRUE(r.registered) << file << "\n" << all_text(r.diagnostics);
    EXPECT_FALSE(r.replaced);
    EXPECT_FALSE(r.diagnostics.empty()) << file;  // the missing $refs
    EXPECT_FALSE(dsl::has_errors(r.diagnostics)) << all_text(r.diagnostics);
  }
  std::vector<std::string> ids;
  for (const auto& s : c.services())
    ids.push_back(s->id);
  EXPECT_EQ(ids, (lines{"Online Store application", "Order Service", "Payment Service",
                        "Shipment Service"}));
  EXPECT_EQ(c.size(), 4u);
  EXPECT_TRUE(c.conflicts().empty());
  ASSERT_NE(c.find_service("Payment Service"), nullptr);
  EXPECT_EQ(c.find_service("Payment Service")->name, "paymentService.yaml");
  EXPECT_EQ(c.find_service("Billing"), nullptr);
}

TEST(service_catalog, every_reference_of_the_store_order_workflow_resolves) {
  auto c = seed_catalog();
  auto loaded = dsl::load_workflow_file(store_order_dir() / "storeorderworkflow.sw.yaml");
  ASSERT_TRUE(loaded.workflow);
  std::vector<std::string> bound;
  for (const auto& e : loaded.workflow->events) {
    ASSERT_EQ(e.type, "asyncapi");
    ASSERT_TRUE(e.source);
    auto b = c.resolve(*e.source);
    ASSERT_TRUE(b) << b.error().message;
    EXPECT_EQ(b->reference, *e.source);
    // A consumed event comes from a topic the workflow consumes.
    EXPECT_EQ(b->operation.direction, e.kind == dsl::event_kind::consumed ? direction::consume
                                                                         : direction::produce)
      << e.name;
    bound.push_back(e.name + " " + b->service_id + " " + b->operation.id + " " +
                    std::string{to_string(b->operation.direction)} + " " + b->operation.topic);
  }
  EXPECT_EQ(bound, (lines{
    "NewOrderEvent Online Store application newStoreOrder consume store.order",
    "OrderServiceSendEvent Order Service sendOrder produce order.inbound",
    "OrderServiceResultEvent Order Service processedOrder consume order.outbound",
    "PaymentServiceSendEvent Payment Service sendPayment produce payment.inbound",
    "PaymentServiceResultEvent Payment Service paymentReceipt consume payment.outbound",
    "ShipmentServiceSendEvent Shipment Service sendShipment produce shipment.inbound"}));
  for (const auto& f : loaded.workflow->functions)
    if (f.type == dsl::function_type::asyncapi)
      EXPECT_TRUE(c.resolve(f.operation)) << f.operation;
}

TEST(service_catalog, function_operations_resolve_in_every_form) {
  auto c = seed_catalog();
  for (auto ref : {"orderService.yaml#sendOrder", "file://orderService.yaml#sendOrder",
                   "specs/orderService.yaml#sendOrder",
                   "https://example.com/specs/orderService.yaml#sendOrder", "#sendOrder"}) {
    auto b = c.resolve(ref);
    ASSERT_TRUE(b) << ref << ": " << b.error().message;
    EXPECT_EQ(b->service_id, "Order Service");
    EXPECT_EQ(b->document, "orderService.yaml");
    EXPECT_EQ(b->operation.topic, "order.inbound");
  }
  auto b = c.resolve("orderService.yaml#sendOrder");
  ASSERT_TRUE(b);
  auto j = to_json(*b);
  EXPECT_EQ(j["reference"], "orderService.yaml#sendOrder");
  EXPECT_EQ(j["service"], "Order Service");
  EXPECT_EQ(j["document"], "orderService.yaml");
  EXPECT_EQ(j["operationId"], "sendOrder");
  EXPECT_EQ(j["direction"], "produce");
  EXPECT_EQ(j["topic"], "order.inbound");
}

TEST(service_catalog, a_typo_names_the_reference_and_suggests_the_operation) {
  auto c = seed_catalog();
  auto b = c.resolve("file://orderService.yaml#sendOrdr");
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, errc::no_operation);
  EXPECT_EQ(b.error().message, "'file://orderService.yaml#sendOrdr': no operation 'sendOrdr' in "
                               "orderService.yaml (service 'Order Service'); did you mean "
                               "'sendOrder'?");
  b = c.resolve("#sendOrdr");
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, errc::not_found);
  EXPECT_EQ(b.error().message,
            "'#sendOrdr': no operation 'sendOrdr' in the catalog; did you mean 'sendOrder'?");
  b = c.resolve("file://inventory.yaml#reserveStock");
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, errc::not_found);
  EXPECT_EQ(b.error().message, "'file://inventory.yaml#reserveStock': no operation "
                               "'reserveStock' in the catalog (and no document named "
                               "'inventory.yaml' is registered)");
  b = c.resolve("sendOrder");
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, errc::reference);
  EXPECT_EQ(service_catalog{}.resolve("#a").error().message,
            "'#a': no operation 'a' in the catalog (it holds no documents)");
}

TEST(service_catalog, an_unknown_document_name_falls_back_on_the_operation_id) {
  auto c = seed_catalog();
  auto b = c.resolve("file://orders.yaml#sendOrder");
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->service_id, "Order Service");
}

TEST(service_catalog, registering_a_service_again_replaces_it) {
  auto c = seed_catalog();
  auto r = c.add("orderService.yaml",
                 "asyncapi: 2.6.0\ninfo: {title: Order Service, version: '0.2.0'}\n"
                 "channels:\n  orders/new:\n    publish: {operationId: placeOrder}\n");
  EXPECT_TRUE(r.registered) << all_text(r.diagnostics);
  EXPECT_TRUE(r.replaced);
  EXPECT_EQ(r.service_id, "Order Service");
  EXPECT_EQ(c.size(), 4u);
  EXPECT_EQ(c.find_service("Order Service")->version, "0.2.0");
  EXPECT_TRUE(c.resolve("file://orderService.yaml#placeOrder"));
  EXPECT_EQ(c.resolve("file://orderService.yaml#sendOrder").error().code, errc::no_operation);
}

TEST(service_catalog, a_document_with_errors_is_refused_and_changes_nothing) {
  auto c = seed_catalog();
  auto r = c.add("orderService.yaml",
                 "asyncapi: 2.6.0\ninfo: {title: Order Service, version: '9'}\n"
                 "channels:\n  a:\n    publish: {summary: no id}\n");
  EXPECT_FALSE(r.registered);
  EXPECT_EQ(r.service_id, std::nullopt);
  EXPECT_TRUE(dsl::has_errors(r.diagnostics));
  EXPECT_EQ(c.find_service("Order Service")->version, "0.1.0");
  EXPECT_TRUE(c.resolve("file://orderService.yaml#sendOrder"));
}

TEST(service_catalog, two_services_defining_an_operation_id_are_a_reported_conflict) {
  auto c = seed_catalog();
  auto r = c.add("orders-v2.yaml", order_service_v2());
  EXPECT_TRUE(r.registered);
  EXPECT_EQ(lines_of(r.diagnostics),
            (lines{"orders-v2.yaml:8:20: warning: channels.orders/v2/inbound.publish.operationId: "
                   "operationId 'sendOrder' is also defined by service 'Order Service' "
                   "(orderService.yaml); a reference to it must name its document, as in "
                   "file://orders-v2.yaml#sendOrder"}));
  ASSERT_EQ(c.conflicts().size(), 1u);
  EXPECT_EQ(c.conflicts()[0].operation_id, "sendOrder");
  EXPECT_EQ(c.conflicts()[0].service_ids, (lines{"Order Service", "Order Service v2"}));

  // A reference that names the document is answered; one that does not is
  // refused, naming both: nothing is shadowed.
  auto first = c.resolve("file://orderService.yaml#sendOrder");
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->service_id, "Order Service");
  auto second = c.resolve("file://orders-v2.yaml#sendOrder");
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->service_id, "Order Service v2");
  EXPECT_EQ(second->operation.topic, "orders.v2.inbound");
  auto either = c.resolve("#sendOrder");
  ASSERT_FALSE(either);
  EXPECT_EQ(either.error().code, errc::conflict);
  EXPECT_EQ(either.error().message,
            "'#sendOrder': operationId 'sendOrder' is defined by 2 services: 'Order Service' "
            "(orderService.yaml), 'Order Service v2' (orders-v2.yaml); name the document, as in "
            "file://orderService.yaml#sendOrder");
  EXPECT_EQ(c.resolve("file://unknown.yaml#sendOrder").error().code, errc::conflict);
  EXPECT_EQ(c.find_operation("sendOrder").error().code, errc::conflict);

  EXPECT_TRUE(c.remove("Order Service v2"));
  EXPECT_FALSE(c.remove("Order Service v2"));
  EXPECT_TRUE(c.conflicts().empty());
  EXPECT_TRUE(c.resolve("#sendOrder"));
}

TEST(service_catalog, two_documents_of_the_same_file_name_are_told_apart_or_refused) {
  service_catalog c;
  EXPECT_TRUE(c.add("v1/orderService.yaml", text_of(store_order_dir() / "orderService.yaml"))
                .registered);
  auto r = c.add("v2/orderService.yaml", order_service_v2());
  EXPECT_TRUE(r.registered);
  ASSERT_EQ(r.diagnostics.size(), 2u) << all_text(r.diagnostics);
  EXPECT_EQ(dsl::to_string(r.diagnostics[1]),
            "v2/orderService.yaml:1:1: warning: service 'Order Service' is registered from a "
            "document named 'v1/orderService.yaml' too; a reference to 'orderService.yaml' "
            "that both could answer fails as a conflict");
  auto both = c.resolve("file://orderService.yaml#sendOrder");
  ASSERT_FALSE(both);
  EXPECT_EQ(both.error().code, errc::conflict);
  EXPECT_EQ(both.error().message,
            "'file://orderService.yaml#sendOrder': 2 registered documents named "
            "'orderService.yaml' define operation 'sendOrder': 'Order Service' "
            "(v1/orderService.yaml), 'Order Service v2' (v2/orderService.yaml); remove one of "
            "them, or register one under another file name");
  // Only one of them has processedOrder: that one answers.
  auto one = c.resolve("file://orderService.yaml#processedOrder");
  ASSERT_TRUE(one) << one.error().message;
  EXPECT_EQ(one->service_id, "Order Service");
}

TEST(service_catalog, an_operation_on_a_channel_kafka_refuses_does_not_bind) {
  service_catalog c;
  EXPECT_TRUE(c.add("users.yaml",
                    "asyncapi: 2.6.0\ninfo: {title: Users, version: '1'}\n"
                    "channels:\n  user/{id}/signup:\n    subscribe: {operationId: signedUp}\n")
                .registered);
  auto b = c.resolve("file://users.yaml#signedUp");
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, errc::topic);
  EXPECT_EQ(b.error().message,
            "'file://users.yaml#signedUp': the channel 'user/{id}/signup' of operation "
            "'signedUp' maps to the topic 'user.{id}.signup', which Kafka refuses: "
            "'user.{id}.signup' holds '{'; topic names hold only ASCII letters, digits, '.', '_' "
            "and '-'; give the channel a bindings.kafka.topic");
}

TEST(service_catalog, the_document_beside_the_workflow_when_the_catalog_lacks_it) {
  service_catalog c;
  auto b = c.resolve("file://orderService.yaml#sendOrder");
  ASSERT_FALSE(b);
  ASSERT_EQ(b.error().code, errc::not_found);
  auto ref = parse_reference("file://orderService.yaml#sendOrder");
  ASSERT_TRUE(ref);
  auto read = read_referenced_document(store_order_dir(), *ref);
  ASSERT_TRUE(read.service) << all_text(read.diagnostics);
  EXPECT_EQ(read.service->name, (store_order_dir() / "orderService.yaml").string());
  EXPECT_EQ(read.diagnostics.size(), 2u);  // the missing $refs, named in that file
  EXPECT_EQ(read.diagnostics[0].file, (store_order_dir() / "orderService.yaml").string());
  EXPECT_TRUE(c.add(std::move(*read.service)).registered);
  b = c.resolve("file://orderService.yaml#sendOrder");
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->operation.topic, "order.inbound");

  auto missing = read_referenced_document(store_order_dir(), {"nowhere.yaml", "x"});
  EXPECT_FALSE(missing.service);
  ASSERT_EQ(missing.diagnostics.size(), 1u);
  EXPECT_NE(missing.diagnostics[0].message.find("nowhere.yaml"), std::string::npos);
  auto remote = read_referenced_document(store_order_dir(), {"https://example.com/o.yaml", "x"});
  EXPECT_FALSE(remote.service);
  EXPECT_EQ(lines_of(remote.diagnostics),
            (lines{"https://example.com/o.yaml:0:0: error: 'https://example.com/o.yaml' is not "
                   "a file beside the workflow; register the document in the catalog"}));
}

TEST(service_catalog, a_catalog_is_rebuilt_from_its_name_and_text_pairs) {
  auto c = seed_catalog();
  c.add("inventory.yaml", text_of(documents_dir() / "inventory.yaml"));
  auto sources = c.sources();
  ASSERT_EQ(sources.size(), 5u);
  EXPECT_EQ(sources[0].name, "onlineStoreApp.yaml");
  auto rebuilt = service_catalog::rebuild(sources);
  EXPECT_FALSE(dsl::has_errors(rebuilt.diagnostics));
  EXPECT_EQ(rebuilt.catalog.size(), 5u);
  EXPECT_EQ(to_json(rebuilt.catalog), to_json(c));
  auto b = rebuilt.catalog.resolve("file://inventory.yaml#reserveStock");
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->operation.topic, "inventory-reservations");
  EXPECT_FALSE(b->operation.violations({{"orderId", "o-1"}}).empty());

  // Read in order: a later document of a service replaces an earlier one;
  // a broken one is reported and left out.
  auto replayed = service_catalog::rebuild(
    {{"a.yaml", "asyncapi: 2.6.0\ninfo: {title: A, version: '1'}\nchannels: {}\n"},
     {"a.yaml", "asyncapi: 2.6.0\ninfo: {title: A, version: '2'}\nchannels: {}\n"},
     {"b.yaml", "asyncapi: 2.6.0\n"}});
  EXPECT_EQ(replayed.catalog.size(), 1u);
  EXPECT_EQ(replayed.catalog.find_service("A")->version, "2");
  EXPECT_TRUE(dsl::has_errors(replayed.diagnostics));
}

TEST(service_catalog, the_list_as_json) {
  auto c = seed_catalog();
  auto j = to_json(c);
  ASSERT_EQ(j.size(), 4u);
  EXPECT_EQ(j[1], (nlohmann::json{{"id", "Order Service"},
                                 {"document", "orderService.yaml"},
                                 {"title", "Order Service"},
                                 {"version", "0.1.0"},
                                 {"operations", 2}}));
}

TEST(service_catalog, bindings_outlive_the_catalog) {
  bound_operation kept;
  {
    service_catalog c;
    c.add("inventory.yaml", text_of(documents_dir() / "inventory.yaml"));
    auto b = c.resolve("#reserveStock");
    ASSERT_TRUE(b) << b.error().message;
    kept = *b;
  }
  EXPECT_EQ(kept.operation.messages.at(0).name, "reservation");
  EXPECT_FALSE(kept.operation.violations({{"orderId", 1}}).empty());
}
