// Reading AsyncAPI documents: the seed's four, a document with components,
// refs and Kafka bindings, JSON, and broken documents with their exact
// diagnostics.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "catalog_helpers.hpp"
#include "meshflow/catalog/asyncapi.hpp"

using namespace meshflow;
using namespace meshflow::catalog;
using namespace meshflow::catalog::testing;

namespace {

/// "operationId direction topic" of each operation.
std::vector<std::string> bindings_of(const service& s) {
  std::vector<std::string> out;
  for (const auto& op : s.operations)
    out.push_back(op.id + " " + std::string{to_string(op.direction)} + " " + op.topic);
  return out;
}

read_result read(const std::string& text, const std::string& name = "test.yaml") {
  return read_asyncapi(text, name);
}

/// The diagnostics of a document that must be refused.
std::vector<std::string> refused(const std::string& text, const std::string& name = "test.yaml") {
  auto r = read(text, name);
  EXPECT_FALSE(r.service) << "the document was accepted";
  return lines_of(r.diagnostics);
}

using lines = std::vector<std::string>;

} // namespace

// --- the seed example --------------------------------------------------------

TEST(asyncapi_seed, online_store_app_consumes_new_orders) {
  auto r = read_seed("onlineStoreApp.yaml");
  ASSERT_TRUE(r.service) << all_text(r.diagnostics);
  EXPECT_EQ(bindings_of(*r.service), (lines{"newStoreOrder consume store.order"}));
  EXPECT_EQ(r.service->id, "Online Store application");  // no `id`: the title
  EXPECT_EQ(r.service->asyncapi, "2.2.0");
  EXPECT_EQ(r.service->version, "0.1.0");
  EXPECT_EQ(r.service->name, "onlineStoreApp.yaml");
  // The missing component is a warning naming the ref and where it is.
  EXPECT_EQ(lines_of(r.diagnostics),
            (lines{"onlineStoreApp.yaml:10:16: warning: channels.store/order.subscribe.message.$ref: "
                   "cannot resolve $ref '#/components/NewOrder': the document has no "
                   "'components'; the message has no payload schema, so its payloads are "
                   "not checked"}));
  const auto& op = r.service->operations.front();
  ASSERT_EQ(op.messages.size(), 1u);
  EXPECT_EQ(op.messages[0].name, "NewOrder");
  EXPECT_FALSE(op.messages[0].schema);
  EXPECT_TRUE(op.violations({{"anything", 1}}).empty());  // nothing to check against
  EXPECT_EQ(op.path, "channels.store/order.subscribe.operationId");
  EXPECT_EQ(op.position.line, 8);
  EXPECT_EQ(op.position.column, 20);
}

TEST(asyncapi_seed, order_service_is_sent_orders_and_answers_processed_ones) {
  auto r = read_seed("orderService.yaml");
  ASSERT_TRUE(r.service) << all_text(r.diagnostics);
  EXPECT_EQ(bindings_of(*r.service),
            (lines{"sendOrder produce order.inbound", "processedOrder consume order.outbound"}));
  EXPECT_EQ(r.service->id, "Order Service");
  EXPECT_EQ(lines_of(r.diagnostics),
            (lines{"orderService.yaml:10:16: warning: channels.order/inbound.publish.message.$ref: "
                   "cannot resolve $ref '#/components/Order': the document has no "
                   "'components'; the message has no payload schema, so its payloads are "
                   "not checked",
                   "orderService.yaml:15:16: warning: channels.order/outbound.subscribe.message.$ref: "
                   "cannot resolve $ref '#/components/Order': the document has no "
                   "'components'; the message has no payload schema, so its payloads are "
                   "not checked"}));
}

TEST(asyncapi_seed, payment_service_is_sent_payments_and_answers_receipts) {
  auto r = read_seed("paymentService.yaml");
  ASSERT_TRUE(r.service) << all_text(r.diagnostics);
  EXPECT_EQ(bindings_of(*r.service), (lines{"sendPayment produce payment.inbound",
                                            "paymentReceipt consume payment.outbound"}));
  EXPECT_EQ(r.service->id, "Payment Service");
  EXPECT_EQ(r.diagnostics.size(), 2u) << all_text(r.diagnostics);
  EXPECT_FALSE(dsl::has_errors(r.diagnostics));
}

TEST(asyncapi_seed, shipment_service_is_sent_shipments) {
  auto r = read_seed("shipmentService.yaml");
  ASSERT_TRUE(r.service) << all_text(r.diagnostics);
  EXPECT_EQ(bindings_of(*r.service), (lines{"sendShipment produce shipment.inbound"}));
  EXPECT_EQ(r.service->id, "Shipment Service");
  EXPECT_EQ(lines_of(r.diagnostics),
            (lines{"shipmentService.yaml:10:16: warning: channels.shipment/inbound.publish.message.$ref: "
                   "cannot resolve $ref '#/components/OrderShipment': the document has no "
                   "'components'; the message has no payload schema, so its payloads are "
                   "not checked"}));
}

TEST(asyncapi_seed, channels_list_their_topics_and_operations) {
  auto r = read_seed("orderService.yaml");
  ASSERT_TRUE(r.service);
  ASSERT_EQ(r.service->channels.size(), 2u);
  EXPECT_EQ(r.service->channels[0].name, "order/inbound");
  EXPECT_EQ(r.service->channels[0].topic, "order.inbound");
  EXPECT_EQ(r.service->channels[0].operations, (lines{"sendOrder"}));
  EXPECT_EQ(r.service->channels[1].name, "order/outbound");
  EXPECT_EQ(r.service->channels[1].operations, (lines{"processedOrder"}));
  EXPECT_TRUE(r.service->channels[0].kafka_binding.is_null());
}

TEST(asyncapi_seed, show_renders_the_service_as_json) {
  auto r = read_seed("orderService.yaml");
  ASSERT_TRUE(r.service);
  auto j = to_json(*r.service);
  EXPECT_EQ(j["id"], "Order Service");
  EXPECT_EQ(j["document"], "orderService.yaml");
  EXPECT_EQ(j["title"], "Order Service");
  EXPECT_EQ(j["version"], "0.1.0");
  EXPECT_EQ(j["asyncapi"], "2.2.0");
  EXPECT_EQ(j["channels"][1], (nlohmann::json{{"name", "order/outbound"},
                                             {"topic", "order.outbound"},
                                             {"operations", {"processedOrder"}}}));
  const auto& op = j["operations"][0];
  EXPECT_EQ(op["operationId"], "sendOrder");
  EXPECT_EQ(op["direction"], "produce");
  EXPECT_EQ(op["channel"], "order/inbound");
  EXPECT_EQ(op["topic"], "order.inbound");
  EXPECT_EQ(op["messages"][0]["name"], "Order");
  EXPECT_EQ(op["messages"][0]["checked"], false);
  EXPECT_TRUE(op["messages"][0]["payload"].is_null());
}

// --- components, refs, Kafka bindings -----------------------------------------

TEST(asyncapi_components, refs_resolve_to_messages_schemas_and_bindings) {
  auto r = read_asyncapi_file(documents_dir() / "inventory.yaml");
  ASSERT_TRUE(r.service) << all_text(r.diagnostics);
  EXPECT_TRUE(r.diagnostics.empty()) << all_text(r.diagnostics);
  const auto& s = *r.service;
  EXPECT_EQ(s.id, "urn:example:inventory");  // `id` wins over the title
  EXPECT_EQ(s.document_id, "urn:example:inventory");
  EXPECT_EQ(s.title, "Inventory Service");
  EXPECT_EQ(bindings_of(s), (lines{"reserveStock produce inventory-reservations",
                                   "stockReserved consume inventory.reserved"}));
  ASSERT_EQ(s.servers.size(), 1u);
  EXPECT_EQ(s.servers[0].name, "production");
  EXPECT_EQ(s.servers[0].url, "kafka.example.com:9092");
  EXPECT_EQ(s.servers[0].protocol, "kafka");
  EXPECT_EQ(s.servers[0].protocol_version, "3.4");

  EXPECT_EQ(s.channels[0].kafka_binding["partitions"], 6);
  const auto* reserve = s.find_operation("reserveStock");
  ASSERT_NE(reserve, nullptr);
  EXPECT_EQ(reserve->summary, "Ask the inventory to hold stock for an order.");
  EXPECT_EQ(reserve->kafka_binding["groupId"]["enum"][0], "inventory");
  ASSERT_EQ(reserve->messages.size(), 1u);
  const auto& m = reserve->messages[0];
  EXPECT_EQ(m.name, "reservation");
  EXPECT_EQ(m.content_type, "application/cloudevents+json");
  ASSERT_TRUE(m.schema);
  ASSERT_TRUE(m.payload);
  EXPECT_EQ((*m.payload)["required"], (nlohmann::json{"orderId", "lines"}));
  ASSERT_TRUE(m.kafka_key);
  EXPECT_EQ(*m.kafka_key, (nlohmann::json{{"type", "string"}, {"pattern", "^o-[0-9]+$"}}));

  const auto* reserved = s.find_operation("stockReserved");
  ASSERT_NE(reserved, nullptr);
  ASSERT_EQ(reserved->messages.size(), 2u);
  EXPECT_EQ(reserved->messages[0].name, "Reserved");
  EXPECT_EQ(reserved->messages[1].name, "OutOfStock");
  EXPECT_EQ(reserved->messages[1].content_type, "application/json");  // defaultContentType

  EXPECT_EQ(s.components.messages.size(), 3u);
  EXPECT_EQ(s.components.schemas.size(), 3u);
  EXPECT_EQ(s.components.operation_bindings.count("inventoryGroup"), 1u);
  EXPECT_TRUE(s.components.messages.at("Reservation").schema);
}

TEST(asyncapi_components, payloads_are_checked_against_the_resolved_schema) {
  auto r = read_asyncapi_file(documents_dir() / "inventory.yaml");
  ASSERT_TRUE(r.service) << all_text(r.diagnostics);
  const auto& reserve = *r.service->find_operation("reserveStock");
  EXPECT_EQ(reserve.violations({{"orderId", "o-17"}, {"lines", {{{"sku", "a"}, {"quantity", 2}}}}}),
            lines{});
  EXPECT_EQ(reserve.violations({{"orderId", "17"}, {"lines", {{{"sku", "a"}, {"quantity", 0}}}}}),
            (lines{"<root>[lines][0][quantity]: Expected number greater than or equal to "
                   "1.000000",
                   "<root>[orderId]: Failed to match regex specified by 'pattern' constraint."}));
  EXPECT_EQ(reserve.violations({{"lines", nlohmann::json::array()}}),
            (lines{"<root>[lines]: Array should contain no fewer than 1 elements.",
                   "<root>: Missing required property 'orderId'."}));
}

TEST(asyncapi_components, a_one_of_operation_accepts_any_of_its_messages) {
  auto r = read_asyncapi_file(documents_dir() / "inventory.yaml");
  ASSERT_TRUE(r.service) << all_text(r.diagnostics);
  const auto& reserved = *r.service->find_operation("stockReserved");
  EXPECT_EQ(reserved.violations({{"orderId", "o-1"}, {"lines", nlohmann::json::array()}}), lines{});
  EXPECT_EQ(reserved.violations({{"orderId", "o-1"}, {"missing", {"sku-9"}}}), lines{});
  EXPECT_EQ(reserved.violations({{"orderId", "o-1"}}),
            (lines{"<root>: Missing required property 'lines'. (as message 'Reserved')",
                   "<root>: Missing required property 'missing'. (as message 'OutOfStock')"}));
}

TEST(asyncapi_components, json_documents_read_the_same_way) {
  auto r = read_asyncapi_file(documents_dir() / "billing.json");
  ASSERT_TRUE(r.service) << all_text(r.diagnostics);
  EXPECT_TRUE(r.diagnostics.empty()) << all_text(r.diagnostics);
  EXPECT_EQ(r.service->id, "Billing Service");
  EXPECT_EQ(bindings_of(*r.service),
            (lines{"sendInvoice produce billing.invoice", "invoicePaid consume billing.paid"}));
  const auto& invoice = *r.service->find_operation("sendInvoice");
  EXPECT_EQ(invoice.position.line, 7);
  EXPECT_EQ(invoice.violations({{"orderId", "o-1"}, {"amount", 12.5}}), lines{});
  EXPECT_EQ(invoice.violations({{"orderId", "o-1"}, {"amount", 0}}),
            (lines{"<root>[amount]: Expected number greater than 0.000000"}));
  EXPECT_EQ(r.service->find_operation("invoicePaid")->violations(nlohmann::json::object()),
            (lines{"<root>: Missing required property 'orderId'."}));
}

TEST(asyncapi_components, json_syntax_errors_are_named_as_json) {
  EXPECT_EQ(refused("{\"asyncapi\": \"2.6.0\",\n \"info\": {]\n}", "bad.json"),
            (lines{"bad.json:2:11: error: not valid JSON: while parsing object key - "
                   "unexpected ']'; expected string literal"}));
}

TEST(asyncapi_components, a_schema_format_other_than_json_schema_is_not_checked) {
  auto r = read(document_with("channels:\n"
                              "  a:\n"
                              "    publish:\n"
                              "      operationId: a\n"
                              "      message:\n"
                              "        schemaFormat: application/vnd.apache.avro;version=1.9.0\n"
                              "        payload: {type: record, name: A, fields: []}\n"));
  ASSERT_TRUE(r.service) << all_text(r.diagnostics);
  EXPECT_EQ(lines_of(r.diagnostics),
            (lines{"test.yaml:10:23: warning: channels.a.publish.message.schemaFormat: the payload "
                   "schema is in the format 'application/vnd.apache.avro;version=1.9.0', not JSON "
                   "Schema; meshflow does not check this message's payloads"}));
  EXPECT_FALSE(r.service->operations[0].messages[0].schema);
}

TEST(asyncapi_components, a_channel_without_a_topic_binding_that_kafka_refuses_is_a_warning) {
  auto r = read(document_with("channels:\n"
                              "  user/{userId}/signup:\n"
                              "    subscribe:\n"
                              "      operationId: signedUp\n"));
  ASSERT_TRUE(r.service) << all_text(r.diagnostics);
  EXPECT_EQ(lines_of(r.diagnostics),
            (lines{"test.yaml:7:5: warning: channels.user/{userId}/signup: channel "
                   "'user/{userId}/signup' maps to the topic 'user.{userId}.signup', which Kafka "
                   "refuses: 'user.{userId}.signup' holds '{'; topic names hold only ASCII "
                   "letters, digits, '.', '_' and '-'; workflows cannot bind to its operations "
                   "until the channel has a bindings.kafka.topic"}));
}

TEST(asyncapi_components, refs_to_other_documents_are_warnings_and_not_fetched) {
  auto r = read(document_with("channels:\n"
                              "  a:\n"
                              "    publish:\n"
                              "      operationId: a\n"
                              "      message:\n"
                              "        $ref: 'messages.yaml#/Order'\n"));
  ASSERT_TRUE(r.service) << all_text(r.diagnostics);
  EXPECT_EQ(lines_of(r.diagnostics),
            (lines{"test.yaml:10:15: warning: channels.a.publish.message.$ref: cannot resolve $ref "
                   "'messages.yaml#/Order' names another document, which meshflow does not "
                   "fetch; the message has no payload schema, so its payloads are not checked"}));
}

TEST(asyncapi_components, typos_in_channels_and_operations_are_warnings_with_a_suggestion) {
  auto r = read(document_with("channels:\n"
                              "  a:\n"
                              "    pubish:\n"
                              "      operationId: a\n"
                              "    subscribe:\n"
                              "      operationId: b\n"
                              "      mesage: {}\n"
                              "      x-owner: team-a\n"));
  ASSERT_TRUE(r.service) << all_text(r.diagnostics);
  EXPECT_EQ(lines_of(r.diagnostics),
            (lines{"test.yaml:8:7: warning: channels.a.pubish: unknown property 'pubish' in a "
                   "channel (ignored); did you mean 'publish'?",
                   "test.yaml:11:15: warning: channels.a.subscribe.mesage: unknown property "
                   "'mesage' in an operation (ignored); did you mean 'message'?"}));
  EXPECT_EQ(bindings_of(*r.service), (lines{"b consume a"}));
}

// --- broken documents ---------------------------------------------------------

TEST(asyncapi_broken, a_document_without_asyncapi) {
  EXPECT_EQ(refused("info:\n  title: T\n  version: '1'\nchannels: {}\n"),
            (lines{"test.yaml:1:1: error: missing required property 'asyncapi' (the AsyncAPI "
                   "version, such as 'asyncapi: 2.6.0'); is this an AsyncAPI document?"}));
}

TEST(asyncapi_broken, a_document_without_channels) {
  EXPECT_EQ(refused(document_with("")),
            (lines{"test.yaml:1:1: error: missing required property 'channels' (what the "
                   "service publishes and subscribes to: workflows bind to the operations of "
                   "its channels)"}));
}

TEST(asyncapi_broken, an_unsupported_version) {
  EXPECT_EQ(refused("asyncapi: 3.0.0\ninfo:\n  title: T\n  version: '1'\n"),
            (lines{"test.yaml:1:11: error: asyncapi: AsyncAPI 3.0.0 is not supported; meshflow "
                   "reads AsyncAPI 2.0.0 to 2.6.0 (AsyncAPI 3 moved operations out of "
                   "channels; describe the service in 2.6.0)"}));
  EXPECT_EQ(refused("asyncapi: 1.2.0\ninfo: {title: T, version: '1'}\nchannels: {}\n"),
            (lines{"test.yaml:1:11: error: asyncapi: AsyncAPI 1.2.0 is not supported; meshflow "
                   "reads AsyncAPI 2.0.0 to 2.6.0"}));
  EXPECT_EQ(refused("asyncapi: 2.0\ninfo: {title: T, version: '1'}\nchannels: {}\n"),
            (lines{"test.yaml:1:11: error: asyncapi: 'asyncapi' must be a version string such "
                   "as '2.6.0', not a number"}));
}

TEST(asyncapi_broken, every_version_from_2_0_to_2_6_is_read) {
  for (auto v : {"2.0.0", "2.1.0", "2.2.0", "2.3.0", "2.4.0", "2.5.0", "2.6.0"}) {
    auto r = read(std::string{"asyncapi: "} + v + "\ninfo: {title: T, version: '1'}\nchannels: {}\n");
    EXPECT_TRUE(r.service) << v << "\n" << all_text(r.diagnostics);
  }
}

TEST(asyncapi_broken, an_operation_without_operation_id) {
  EXPECT_EQ(refused(document_with("channels:\n"
                                  "  store/order:\n"
                                  "    subscribe:\n"
                                  "      summary: new orders\n"),
                    "orderService.yaml"),
            (lines{"orderService.yaml:8:7: error: channels.store/order.subscribe: the operation "
                   "has no 'operationId'; meshflow binds workflows to operations by their "
                   "operationId (file://orderService.yaml#OPERATION_ID), so every operation "
                   "needs one"}));
}

TEST(asyncapi_broken, duplicate_operation_ids) {
  EXPECT_EQ(refused(document_with("channels:\n"
                                  "  a:\n"
                                  "    publish:\n"
                                  "      operationId: sendOrder\n"
                                  "  b:\n"
                                  "    subscribe:\n"
                                  "      operationId: sendOrder\n")),
            (lines{"test.yaml:11:20: error: channels.b.subscribe.operationId: duplicate "
                   "operationId 'sendOrder': channels.a.publish (line 8) has it too; "
                   "operationIds are unique in a document, since workflows bind by them"}));
}

TEST(asyncapi_broken, a_ref_cycle) {
  EXPECT_EQ(refused(document_with("channels:\n"
                                  "  a:\n"
                                  "    publish:\n"
                                  "      operationId: a\n"
                                  "      message: {$ref: '#/components/messages/A'}\n"
                                  "components:\n"
                                  "  messages:\n"
                                  "    A: {$ref: '#/components/messages/B'}\n"
                                  "    B: {$ref: '#/components/messages/A'}\n")),
            // Once, however many places lead into it.
            (lines{"test.yaml:12:15: error: components.messages.A.$ref: $ref cycle: "
                   "'#/components/messages/A' -> '#/components/messages/B' -> "
                   "'#/components/messages/A'; the refs lead back to where they started and "
                   "name no value"}));
}

TEST(asyncapi_broken, bad_yaml) {
  EXPECT_EQ(refused("asyncapi: 2.6.0\ninfo:\n  title: [T\n"),
            (lines{"test.yaml:4:1: error: not valid YAML: end of sequence flow not found"}));
  EXPECT_EQ(refused(""), (lines{"test.yaml:1:1: error: the document is empty"}));
  EXPECT_EQ(refused("- asyncapi: 2.6.0\n"),
            (lines{"test.yaml:1:1: error: an AsyncAPI document is an object, not an array"}));
}

TEST(asyncapi_broken, a_payload_schema_that_is_not_a_schema) {
  EXPECT_EQ(refused(document_with("channels:\n"
                                  "  a:\n"
                                  "    publish:\n"
                                  "      operationId: a\n"
                                  "      message:\n"
                                  "        payload:\n"
                                  "          type: object\n"
                                  "          properties:\n"
                                  "            id: {type: identifier}\n")),
            (lines{"test.yaml:11:11: error: channels.a.publish.message.payload: not a usable JSON "
                   "Schema: Unrecognised JSON type name 'identifier'"}));
  EXPECT_EQ(refused(document_with("channels:\n"
                                  "  a:\n"
                                  "    publish:\n"
                                  "      operationId: a\n"
                                  "      message:\n"
                                  "        payload: 42\n")),
            (lines{"test.yaml:10:18: error: channels.a.publish.message.payload: a schema must be "
                   "an object (or true/false), not a number"}));
}

TEST(asyncapi_broken, malformed_structure) {
  EXPECT_EQ(refused(document_with("channels:\n  store/order: subscribe\n")),
            (lines{"test.yaml:6:16: error: channels.store/order: channel 'store/order' must be an "
                   "object, not a string"}));
  EXPECT_EQ(refused(document_with("channels: []\n")),
            (lines{"test.yaml:5:11: error: channels: 'channels' must be an object, not an array"}));
  EXPECT_EQ(refused(document_with("channels:\n  a:\n    publish: [x]\n")),
            (lines{"test.yaml:7:14: error: channels.a.publish: 'publish' (an operation) must be "
                   "an object, not an array"}));
  EXPECT_EQ(refused(document_with("channels:\n  a:\n    publish: {operationId: 7}\n")),
            (lines{"test.yaml:7:28: error: channels.a.publish.operationId: 'operationId' must "
                   "be a non-empty string, not a number"}));
  EXPECT_EQ(refused("asyncapi: 2.6.0\ninfo: {version: '1'}\nchannels: {}\n"),
            (lines{"test.yaml:2:7: error: info: missing required property 'title' (the "
                   "service's name)"}));
  EXPECT_EQ(refused(document_with("servers:\n  prod: {protocol: kafka}\nchannels: {}\n")),
            (lines{"test.yaml:6:9: error: servers.prod: missing required property 'url' (where "
                   "the server is)"}));
  EXPECT_EQ(refused(document_with("channels:\n"
                                  "  a:\n"
                                  "    bindings: {kafka: {topic: 12}}\n"
                                  "    publish: {operationId: a}\n")),
            (lines{"test.yaml:7:31: error: channels.a.bindings.kafka.topic: 'topic' must be a "
                   "string, not a number"}));
}

TEST(asyncapi_broken, size_nul_and_utf8_are_checked_as_for_workflows) {
  EXPECT_EQ(refused(std::string{"asyncapi: 2.6.0\0", 16}),
            (lines{"test.yaml:1:16: error: not a text document (it contains a NUL byte)"}));
  EXPECT_EQ(refused("asyncapi: \xff\n"),
            (lines{"test.yaml:1:11: error: invalid UTF-8 (byte 0xFF at offset 10); save the "
                   "file as UTF-8"}));
  dsl::load_options small;
  small.max_bytes = 10;
  auto r = read_asyncapi(document_with("channels: {}\n"), "big.yaml", small);
  EXPECT_FALSE(r.service);
  EXPECT_EQ(lines_of(r.diagnostics),
            (lines{"big.yaml:1:1: error: big.yaml is 76 bytes; documents are limited to 10 bytes"}));
}

TEST(asyncapi_broken, refs_cannot_multiply_the_work_of_reading) {
  // Each message copies the big schema to compile its payload: within the
  // node budget the document is read, beyond it reading stops, once.
  std::string body = "channels:\n";
  for (int i = 0; i < 10; ++i)
    body += fmt::format("  c{0}:\n    publish:\n      operationId: o{0}\n      message:\n"
                        "        payload: {{properties: {{a: {{$ref: '#/components/schemas/Big'}}}}}}\n",
                        i);
  body += "components:\n  schemas:\n    Big:\n      properties:\n";
  for (int i = 0; i < 60; ++i)
    body += fmt::format("        p{}: {{type: string}}\n", i);
  auto text = document_with(body);
  EXPECT_TRUE(read(text).service);
  dsl::load_options tight;
  tight.max_nodes = 300;
  auto r = read_asyncapi(text, "test.yaml", tight);
  EXPECT_FALSE(r.service);
  auto errors = lines_of(r.diagnostics);
  ASSERT_EQ(errors.size(), 1u) << all_text(r.diagnostics);
  EXPECT_NE(errors[0].find("error: channels.c"), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find(".publish.message.payload: the document's $refs lead to more than 300 "
                           "values; reading stopped here"),
            std::string::npos)
    << errors[0];
}

TEST(asyncapi_broken, a_missing_file) {
  auto r = read_asyncapi_file(documents_dir() / "missing.yaml");
  EXPECT_FALSE(r.service);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_NE(r.diagnostics[0].message.find("missing.yaml"), std::string::npos);
}
