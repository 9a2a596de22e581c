#pragma once

// Function bindings (DESIGN.md, "Actors"): one actor per function
// definition of a deployed workflow, answering the supervisor's
// `(invoke_atom, arguments, instance_id, call_key)` with an
// `invocation_result`, and
// forgetting the call of a supervisor that sends `(abandon_atom)`
// (supervisor.hpp).
//
//   expression  jq over the action input (the arguments sent), compiled in
//               the plan (`functions[i].operation`)
//   custom      a native C++ function registered by name (`operation`)
//   rest        an OpenAPI 3 operation called over HTTP, many calls at once
//               (below)
//   asyncapi    an AsyncAPI `publish` operation (`operation: DOC#operationId`,
//               found in the node's catalog, else beside the workflow:
//               operation_lookup.hpp): each call publishes its arguments as
//               a CloudEvent to the operation's topic, with the step of its instance
//               (below); fire-and-forget, result `{}`
//   rpc, graphql, odata   refused: "function type X is not supported yet"
//
// Binding is two steps, so that a deploy need not block its caller on the
// network: `prepare_function` reads what the function needs (for `rest`
// the OpenAPI document, perhaps fetched over HTTP: it may block) and
// returns a `prepared_function`, a plain value that may move to another
// thread; `bind_function(sys, ctx, prepared)` only spawns the actor.
// `bind_function(sys, ctx, index)` does both.
//
// How a REST binding calls (src/function_binding.cpp, `rest_binding`):
//  1. A call `(invoke_atom, arguments, instance_id, call_key)` is queued
//     with its response promise and its requester (the supervisor), which
//     the binding monitors while it has calls in the queue. The request
//     carries the call key as header `Idempotency-Key`.
//  2. Up to `max_concurrent_calls` calls of the function are in flight at
//     once; the next queued call starts when one ends, in arrival order. To
//     start, the arguments become an HTTP request (transport/rest.hpp,
//     `request_for`) submitted to the node's shared `http_client`
//     (transport/http_client.hpp: libcurl's multi interface on one thread,
//     connections kept and reused per origin). The binding's thread never
//     waits for the network.
//  3. The client's thread hands the outcome back as a message to the
//     binding, `(rest_done_atom, call, outcome)` (it holds only a weak
//     handle: it touches no actor state). The binding reads it on its own
//     thread (`result_of`: the status to an error code, the body bounded by
//     `limits`, checked, then parsed) and answers the promise.
//  4. A call is abandoned for real: when its supervisor gives up on it
//     (actionExecTimeout: it sends `(abandon_atom)`) or dies (cancelled,
//     ended instance: the monitor's down message), the binding cancels the
//     transfer, which closes its connection at once, and drops the call.
//     So a slow service costs at most `max_concurrent_calls` connections
//     per function, for no longer than the actions wait, and never a
//     thread. A binding that stops cancels what it still has in flight.
//  REST calls are at-least-once: a call that timed out or was abandoned may
//  have been performed by the service.
//
// How an asyncapi binding publishes (src/function_binding.cpp,
// `asyncapi_binding`), for `(invoke_atom, arguments, instance_id, call_key)`:
//  1. The arguments are checked against the payload schema of the
//     operation's message (catalog::operation::violations; nothing is
//     checked when the message has no schema). A violation is the action's
//     error `payload`, and nothing is published.
//  2. They become the data of a CloudEvent: `type` the operationId,
//     `source` `/meshflow/<workflow id>`, a fresh `id`, `datacontenttype`
//     `application/json`, and the extension `workflowinstanceid` when the
//     call names its instance (so that a service's reply finds it, as for
//     an `eventRef` trigger).
//  3. The binding answers `{}` with the event and its topic
//     (`invocation_result::publish_topic`, `publish_event`); the instance
//     hands them to its partition with the step that records the action
//     done, so that the event is written in the same Kafka transaction as
//     that step and its command's offset: published exactly once, however
//     the node crashes (bus.hpp). Abandoning a call changes nothing.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <variant>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "meshflow/actors/supervisor.hpp"
#include "meshflow/catalog/service_catalog.hpp"
#include "meshflow/dsl/plan.hpp"
#include "meshflow/error.hpp"
#include "meshflow/json_limits.hpp"
#include "meshflow/transport/http_client.hpp"
#include "meshflow/transport/rest.hpp"

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
  /// A function's REST calls in flight at once, unless the node says
  /// otherwise: enough for a service that answers in 10 ms to serve
  /// ~6,000 calls/s, few enough that one workflow cannot open hundreds of
  /// connections to one service.
  static constexpr std::size_t default_max_concurrent_calls = 64;

  std::shared_ptr<const dsl::plan> plan;
  /// Where relative OpenAPI paths are found: the definition's folder.
  std::filesystem::path base_dir;
  std::shared_ptr<const native_registry> natives;
  /// The HTTP timeout of a REST call; actionExecTimeout, applied by the
  /// supervisor, is usually shorter, and abandons the call when it passes.
  std::chrono::milliseconds http_timeout{std::chrono::seconds{30}};
  /// How long fetching a document a function names (its OpenAPI
  /// description) may take.
  std::chrono::milliseconds document_timeout{std::chrono::seconds{10}};
  /// The node's HTTP client, shared by all its REST bindings and document
  /// fetches; needed for `rest` functions and `http(s)://` documents.
  std::shared_ptr<transport::http_client> http;
  /// A REST function's calls in flight at once; further calls wait their
  /// turn in the binding, in arrival order.
  std::size_t max_concurrent_calls = default_max_concurrent_calls;
  /// Bounds on a REST response body: its size (checked while it arrives)
  /// and its depth (checked before it is parsed).
  json_limits limits;
  /// The node's AsyncAPI catalog as it stood when the deploy began, where
  /// `asyncapi` functions find their operations (null: an empty one).
  std::shared_ptr<const catalog::service_catalog> catalog;
};

/// The header a REST call carries its `call_key` in (`<instance id>.<action
/// token>`): a call made again (a retry, or after the instance was
/// restored on another node or after a crash: REST calls are at least once)
/// carries the same key, so that a service can deduplicate.
inline constexpr std::string_view idempotency_header = "Idempotency-Key";

class operation_lookup;

/// A fetched document (OpenAPI, JSON Schema) is refused beyond this size:
/// far above what such documents weigh, far below what would hurt a node.
inline constexpr std::size_t max_document_bytes = std::size_t{16} << 20;

/// The JSON or YAML document a definition refers to (an OpenAPI document,
/// an input schema): `http(s)://` fetched through `http` within `timeout`
/// (at most `max_document_bytes`), `file://` or a path, relative to
/// `base_dir`. May block.
expected<nlohmann::json> document_at(transport::http_client& http,
                                     const std::filesystem::path& base_dir,
                                     const std::string& uri, std::chrono::milliseconds timeout);

/// Function `index` of a definition, ready to be bound: what preparing it
/// found. A plain value (no actor, nothing left to read), safe to move to
/// another thread.
struct prepared_function {
  struct expression {
    jq::expression_id id = 0;
  };
  struct native {
    native_function call;
  };
  using rest = transport::rest_operation;
  /// An `asyncapi` function: what it publishes to.
  struct publish {
    /// The operation: its topic, its messages and their payload schemas.
    catalog::bound_operation operation;
  };

  std::size_t index = 0;
  std::variant<expression, native, rest, publish> how;
};

/// Prepares function `index` of the plan's definition, or says why that
/// function cannot be bound (an unsupported type, an OpenAPI document that
/// cannot be read, an unknown operationId, an unregistered native
/// function): deploy errors. May block: it reads, perhaps fetches, the
/// OpenAPI document of a `rest` function, and reads the AsyncAPI document
/// of an `asyncapi` function that `ctx.catalog` lacks.
expected<prepared_function> prepare_function(const binding_context& ctx, std::size_t index);

/// The same, with the lookup of a whole deploy (deployment.hpp), so that
/// the AsyncAPI documents it reads from beside the workflow are read once
/// and registered after.
expected<prepared_function> prepare_function(const binding_context& ctx, std::size_t index,
                                             operation_lookup& lookup);

/// Spawns the binding of a prepared function. No I/O; it cannot fail.
caf::actor bind_function(caf::actor_system& sys, const binding_context& ctx,
                         prepared_function prepared);

/// `prepare_function`, then `bind_function`: for callers that may block.
expected<caf::actor> bind_function(caf::actor_system& sys, const binding_context& ctx,
                                   std::size_t index);

} // namespace meshflow::actors
