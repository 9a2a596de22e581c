// Deploy-time binding of `type: asyncapi` events (SEMANTICS.md, "Events"):
// the seed's store-order workflow binds its six events to the topics of
// their operations, from the documents beside it or from the catalog; a
// produced event needs a publish operation and a consumed one a subscribe
// operation; an operation found nowhere fails the deploy, naming it.

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "meshflow/actors/deployment.hpp"
#include "meshflow/dsl/document.hpp"

namespace meshflow::actors {
namespace {

namespace fs = std::filesystem;

const fs::path store_order = fs::path{MESHFLOW_SHARED_DIR} / "examples" / "store-order";

/// The seed's four documents, by file name.
const std::vector<std::string> seed_documents{"onlineStoreApp.yaml", "orderService.yaml",
                                              "paymentService.yaml", "shipmentService.yaml"};

/// The topics of the store-order workflow's events, in definition order.
const std::vector<std::string> store_order_topics{"store.order",     "order.inbound",
                                                  "order.outbound",  "payment.inbound",
                                                  "payment.outbound", "shipment.inbound"};

std::string text_of(const fs::path& file) {
  auto text = dsl::read_text(file);
  EXPECT_TRUE(text) << text.error().message;
  return text ? *text : std::string{};
}

/// A workflow with one `type: asyncapi` event `E` of `kind` and `source`,
/// used the way its kind allows.
std::string workflow_with_event(const std::string& kind, const std::string& source) {
  auto use = kind == "produced"
               ? "    type: operation\n    actions:\n      - eventRef: {triggerEventRef: E}\n"
               : "    type: event\n    onEvents:\n      - eventRefs: [E]\n";
  return "id: w\nversion: '1'\nspecVersion: '0.8'\nevents:\n  - name: E\n    type: asyncapi\n"
         "    kind: " + kind + "\n" + (source.empty() ? "" : "    source: '" + source + "'\n")
         + "states:\n  - name: A\n" + use + "    end: true\n";
}

class deployment_test : public ::testing::Test {
protected:
  deployment_test() {
    dir_ = fs::temp_directory_path() / ("meshflow-deployment-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  ~deployment_test() override { fs::remove_all(dir_); }

  /// A catalog holding the seed's documents, registered from elsewhere.
  static std::shared_ptr<const catalog::service_catalog> seed_catalog() {
    auto c = std::make_shared<catalog::service_catalog>();
    for (const auto& name : seed_documents)
      EXPECT_TRUE(c->add("/registered/" + name, text_of(store_order / name)).registered);
    return c;
  }

  /// Prepares `text` as the definition `w.sw.yaml` of the test's folder.
  std::shared_ptr<prepared_deployment> prepare_here(const std::string& text) {
    auto path = dir_ / "w.sw.yaml";
    std::ofstream{path} << text;
    return prepare_deployment(settings_, path.string(), text);
  }

  /// The failure of preparing `text` here, "" when it is deployed.
  std::string refusal(const std::string& text) {
    auto p = prepare_here(text);
    return p->failure ? p->failure->message : std::string{};
  }

  caf::actor_system_config cfg_;
  caf::actor_system sys_{cfg_};
  deploy_settings settings_;
  fs::path dir_;
};

TEST_F(deployment_test, store_order_events_bind_to_their_topics_from_the_documents_beside_it) {
  auto file = store_order / "storeorderworkflow.sw.yaml";
  auto p = prepare_deployment(settings_, file.string(), text_of(file));
  ASSERT_FALSE(p->failure) << p->failure->message;
  EXPECT_EQ(p->event_channels, store_order_topics);
  // The catalog had none of them: all four are to be registered.
  std::vector<std::string> found;
  for (const auto& d : p->found_documents)
    found.push_back(fs::path{d.name}.filename().string());
  EXPECT_EQ(found, seed_documents);
  auto dep = install(sys_, settings_, *p);
  EXPECT_EQ(dep->event_channels, store_order_topics);
  EXPECT_EQ(dep->channel_of(3), "payment.inbound");
}

TEST_F(deployment_test, the_catalog_answers_first_and_nothing_is_read_beside_the_workflow) {
  settings_.catalog = seed_catalog();
  // A copy of the workflow, alone in its folder.
  auto p = prepare_here(text_of(store_order / "storeorderworkflow.sw.yaml"));
  ASSERT_FALSE(p->failure) << p->failure->message;
  EXPECT_EQ(p->event_channels, store_order_topics);
  EXPECT_TRUE(p->found_documents.empty());
}

TEST_F(deployment_test, events_of_other_types_are_bound_to_no_channel) {
  auto p = prepare_here("id: w\nspecVersion: '0.8'\nevents:\n"
                        "  - {name: E, type: com.example.order, source: /shop}\n"
                        "states:\n  - name: A\n    type: event\n    onEvents:\n"
                        "      - eventRefs: [E]\n    end: true\n");
  ASSERT_FALSE(p->failure) << p->failure->message;
  EXPECT_EQ(p->event_channels, std::vector<std::string>{""});
}

TEST_F(deployment_test, a_produced_event_needs_a_publish_operation_and_a_consumed_one_subscribe) {
  settings_.catalog = seed_catalog();
  auto produced =
    refusal(workflow_with_event("produced", "file://orderService.yaml#processedOrder"));
  EXPECT_NE(produced.find("w.sw.yaml:"), std::string::npos) << produced;
  EXPECT_NE(produced.find("events[0].source: event 'E': operation 'processedOrder' of "
                          "'orderService.yaml' is a subscribe operation, from which a workflow "
                          "consumes (channel 'order/outbound'), but the workflow produces this; "
                          "bind it to a publish operation"),
            std::string::npos)
    << produced;
  auto consumed = refusal(workflow_with_event("consumed", "file://orderService.yaml#sendOrder"));
  EXPECT_NE(consumed.find("operation 'sendOrder' of 'orderService.yaml' is a publish operation, "
                          "to which a workflow produces (channel 'order/inbound'), but the "
                          "workflow consumes this; bind it to a subscribe operation"),
            std::string::npos)
    << consumed;
  EXPECT_EQ(refusal(workflow_with_event("consumed", "file://orderService.yaml#processedOrder")),
            "");
}

TEST_F(deployment_test, an_operation_found_nowhere_fails_the_deploy_naming_it) {
  auto nowhere = refusal(workflow_with_event("produced", "file://orderService.yaml#sendOrder"));
  EXPECT_NE(nowhere.find("event 'E': operation 'sendOrder' of 'orderService.yaml' is neither in "
                         "the catalog nor in a file beside the workflow"),
            std::string::npos)
    << nowhere;
  // The document is beside the workflow, the operation is not in it.
  std::ofstream{dir_ / "orderService.yaml"} << text_of(store_order / "orderService.yaml");
  auto missing = refusal(workflow_with_event("produced", "file://orderService.yaml#sendOrdr"));
  EXPECT_NE(missing.find("operation 'sendOrdr' of 'orderService.yaml' is neither in the catalog "
                         "nor in a file beside the workflow"),
            std::string::npos)
    << missing;
  EXPECT_NE(missing.find("did you mean 'sendOrder'?"), std::string::npos) << missing;
  // Registered, the document answers for itself.
  settings_.catalog = seed_catalog();
  auto registered = refusal(workflow_with_event("produced", "file://orderService.yaml#sendOrdr"));
  EXPECT_NE(registered.find("no operation 'sendOrdr' in orderService.yaml"), std::string::npos)
    << registered;
}

TEST_F(deployment_test, a_broken_document_beside_the_workflow_is_reported_with_its_position) {
  std::ofstream{dir_ / "broken.yaml"} << "asyncapi: 2.6.0\ninfo:\n  title: Broken\n"
                                         "  version: '1'\nchannels: [a]\n";
  auto broken = refusal(workflow_with_event("produced", "file://broken.yaml#send"));
  EXPECT_NE(broken.find("'broken.yaml' beside the workflow is not a valid AsyncAPI document"),
            std::string::npos)
    << broken;
  EXPECT_NE(broken.find("broken.yaml:5:"), std::string::npos) << broken;
}

TEST_F(deployment_test, an_asyncapi_event_must_name_its_operation) {
  auto none = refusal(workflow_with_event("produced", ""));
  EXPECT_NE(none.find("event 'E' of type asyncapi names no operation"), std::string::npos) << none;
  auto malformed = refusal(workflow_with_event("consumed", "file://orderService.yaml"));
  EXPECT_NE(malformed.find("names no operation; an AsyncAPI reference is DOC#operationId"),
            std::string::npos)
    << malformed;
}

} // namespace
} // namespace meshflow::actors
