#pragma once

// Deployed workflow versions (DESIGN.md, principle 6: definitions are
// compiled once).
//
// A deploy has two halves:
//  1. `prepare_deployment` does everything that may block — check strictly,
//     compile, read the documents the definition names (JSON Schema,
//     OpenAPI), bind its `asyncapi` events to their Kafka topics and prepare
//     its functions — on a thread of its own (the admin's deployers), so
//     that a slow document server holds only that deploy;
//  2. `install` binds the prepared functions (it only spawns actors) and
//     makes a `deployment`: immutable, shared by all the version's
//     instances.
//
// AsyncAPI references (`type: asyncapi` events, `source: file://DOC#op`;
// `asyncapi` functions, `operation: DOC#op`) are looked up in the node's
// catalog as it stood when the deploy began (`deploy_settings::catalog`),
// else in the document beside the workflow (operation_lookup.hpp). The
// documents found beside it come back in `prepared_deployment::
// found_documents`, for the admin to register in the catalog.
// The node's versions form a `deployment_set`, itself immutable: a deploy
// makes a new set, which the admin hands to every actor that needs it.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "meshflow/actors/function_binding.hpp"
#include "meshflow/actors/input_schema.hpp"
#include "meshflow/actors/schedule.hpp"
#include "meshflow/catalog/asyncapi.hpp"
#include "meshflow/catalog/service_catalog.hpp"
#include "meshflow/dsl/plan.hpp"
#include "meshflow/error.hpp"
#include "meshflow/json_limits.hpp"

namespace meshflow::actors {

/// A deployed workflow version: its plan, its function bindings, the
/// schema its input must satisfy and when it starts by itself.
struct deployment {
  std::shared_ptr<const dsl::plan> plan;
  /// By function index.
  std::vector<caf::actor> bindings;
  std::optional<input_schema> input;
  std::optional<start_schedule> schedule;
  /// The channel (Kafka topic) each event definition is bound to, by index;
  /// "" when it is bound to none.
  std::vector<std::string> event_channels;
  /// The AsyncAPI operation each event definition is bound to, by index
  /// (null: none): its messages' payload schemas check what is consumed.
  std::vector<std::shared_ptr<const catalog::operation>> event_operations;

  /// By event definition: whether a running instance can consume it (a
  /// state after the start waits for it, or an action's result); the router
  /// delivers the others to no running instance (they start instances).
  std::vector<bool> consumed_while_running;

  /// The channel of event definition `d` ("" none).
  std::string_view channel_of(std::size_t d) const {
    return d < event_channels.size() ? std::string_view{event_channels[d]} : std::string_view{};
  }
};

/// What deploying needs of the node's settings (node_options).
struct deploy_settings {
  std::shared_ptr<const native_registry> natives;
  std::shared_ptr<transport::http_client> http;
  std::chrono::milliseconds http_timeout{std::chrono::seconds{30}};
  std::chrono::milliseconds document_timeout{std::chrono::seconds{10}};
  std::size_t max_concurrent_calls = binding_context::default_max_concurrent_calls;
  json_limits json;
  /// The node's catalog when the deploy began (null: an empty one): what
  /// the definition's AsyncAPI references resolve against first.
  std::shared_ptr<const catalog::service_catalog> catalog;
};

/// How the functions of `plan` are bound with `s`.
binding_context binding_context_of(const deploy_settings& s,
                                   std::shared_ptr<const dsl::plan> plan);

/// A definition made ready to install (step 1 above).
struct prepared_deployment {
  std::shared_ptr<const dsl::plan> plan;
  std::optional<input_schema> input;
  std::optional<start_schedule> schedule;
  std::vector<prepared_function> functions;
  /// The Kafka topic each event definition is bound to, by index ("" none):
  /// the topic of the AsyncAPI operation of a `type: asyncapi` event.
  /// `install` makes it the deployment's `event_channels`.
  std::vector<std::string> event_channels;
  /// `install` makes it the deployment's `event_operations`.
  std::vector<std::shared_ptr<const catalog::operation>> event_operations;
  /// The AsyncAPI documents read from beside the workflow because the
  /// catalog lacked them, for the admin to register once the deploy is
  /// installed.
  std::vector<catalog::document_source> found_documents;
  /// Why it cannot be deployed (then nothing else is set).
  std::optional<meshflow::error> failure;
};

/// Step 1: may block. `path` names the definition, and its directory
/// resolves the definition's relative references.
std::shared_ptr<prepared_deployment> prepare_deployment(const deploy_settings& s,
                                                        const std::string& path,
                                                        const std::string& text);

/// Step 2: spawns the bindings of `p` (which must not have failed).
std::shared_ptr<const deployment> install(caf::actor_system& sys, const deploy_settings& s,
                                          prepared_deployment& p);

/// The versions deployed on a node. Immutable; `with` makes the next set.
class deployment_set {
public:
  /// Version `version` of `workflow` ("" the version deployed last), or
  /// null when it is not deployed.
  std::shared_ptr<const deployment> find(const std::string& workflow,
                                         const std::string& version = {}) const;

  /// The version deployed last of each workflow, by workflow id.
  const std::map<std::string, std::string>& latest() const { return latest_; }

  /// This set with `d` deployed (the version deployed last of its
  /// workflow), and the deployment it replaces (same id and version), whose
  /// bindings the caller stops.
  std::pair<std::shared_ptr<const deployment_set>, std::shared_ptr<const deployment>>
  with(std::shared_ptr<const deployment> d) const;

  /// Every deployment, for stopping their bindings.
  std::vector<std::shared_ptr<const deployment>> all() const;

private:
  std::map<std::string, std::map<std::string, std::shared_ptr<const deployment>>> versions_;
  std::map<std::string, std::string> latest_;
};

using deployments = std::shared_ptr<const deployment_set>;

} // namespace meshflow::actors

// In process, between the admin and the actors that run instances.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(meshflow::actors::deployments)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<meshflow::actors::prepared_deployment>)
