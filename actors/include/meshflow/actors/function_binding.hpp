#pragma once

// Function bindings (DESIGN.md, "Actors"): one actor per function
// definition of a deployed workflow, answering the supervisor's
// `(invoke_atom, arguments)` with an `invocation_result`.
//
//   expression  jq over the action input (the arguments sent), compiled in
//               the plan (`functions[i].operation`)
//   custom      a native C++ function registered by name (`operation`)
//   rest        an OpenAPI 3 operation called over HTTP; the binding runs
//               detached, on a thread of its own, since a call blocks
//   rpc, graphql, odata   refused: "function type X is not supported yet"
//   asyncapi    comes with the Kafka runtime; refused until then

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "meshflow/actors/supervisor.hpp"
#include "meshflow/dsl/plan.hpp"
#include "meshflow/error.hpp"

namespace meshflow::actors {

/// A native function for `custom` functions; the workflow's `operation`
/// names it.
using native_function = std::function<expected<nlohmann::json>(const nlohmann::json& arguments)>;

/// Native functions by name, registered by embedders (and tests).
class native_registry {
public:
  void add(std::string name, native_function f) { functions_[std::move(name)] = std::move(f); }

  const native_function* find(const std::string& name) const {
    auto it = functions_.find(name);
    return it == functions_.end() ? nullptr : &it->second;
  }

private:
  std::unordered_map<std::string, native_function> functions_;
};

/// What binding a workflow's functions needs.
struct binding_context {
  std::shared_ptr<const dsl::plan> plan;
  /// Where relative OpenAPI paths are found: the definition's folder.
  std::filesystem::path base_dir;
  std::shared_ptr<const native_registry> natives;
  /// The HTTP timeout of a REST call (and of fetching its OpenAPI
  /// document); actionExecTimeout, applied by the supervisor, is usually
  /// shorter.
  std::chrono::milliseconds http_timeout{std::chrono::seconds{30}};
};

/// The JSON or YAML document a definition refers to (an OpenAPI document,
/// an input schema): `http(s)://` fetched within `timeout`, `file://` or a
/// path, relative to `base_dir`.
expected<nlohmann::json> document_at(const std::filesystem::path& base_dir,
                                     const std::string& uri, std::chrono::milliseconds timeout);

/// Spawns the binding of function `index` of the plan's definition, or
/// says why that function cannot be bound (an unsupported type, an OpenAPI
/// document that cannot be read, an unknown operationId, an unregistered
/// native function). Bindings are made at deploy, so these are deploy
/// errors.
expected<caf::actor> bind_function(caf::actor_system& sys, const binding_context& ctx,
                                   std::size_t index);

} // namespace meshflow::actors
