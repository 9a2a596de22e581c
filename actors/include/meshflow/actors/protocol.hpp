#pragma once

// The admin's protocol: what a client (the CLI over CAF's middleman, or
// `meshflow run` in process) asks a node, and how the answers look. Every
// argument and answer is a std::string, so that the wire carries only CAF's
// built-in types; an answer is JSON text, `{"error": {"code", "message"}}`
// on failure.
//
//   (deploy_atom, path, text)                -> {"workflows": [{id, version}]}
//                 the client reads the file: `path` names the definition and
//                 its directory resolves relative references (on the node)
//   (start_atom, workflow, version, input)   -> {"id": ...}   version "" = latest;
//                 an input against the dataInputSchema is refused (`input`)
//   (get_atom, id) / (history_atom, id)      -> the instance / its history
//   (list_atom, workflow, status)            -> [instances]   "" = any
//   (pause_atom | resume_atom | cancel_atom | retry_atom, id) -> the instance
//                 after the command
//   (wait_atom, id)                          -> the instance, once it ended
//   (status_atom)                            -> {"name", "cluster", "healthy",
//                 "problem", "partitions": [the commands' partitions owned]}
//                 healthy: the node's last call to its brokers succeeded;
//                 problem: why not ("" when healthy)
//   (event_atom, cloudevent_json, id)        -> {"delivered": n}
//                 id "" = by `workflowinstanceid`, else by correlation (the
//                 router, router.hpp)
//
// The AsyncAPI catalog (the admin hands these to the catalog actor,
// catalog_actor.hpp):
//   (catalog_atom, register_atom, path, text) -> {"services": [{id, document,
//                 title, version, operations, replaced}], "warnings": [...]}
//                 the client reads the file; `path` is the name the document
//                 is registered under (references match its base name). A
//                 broken document is refused (`document`), its diagnostics
//                 in the message, one `FILE:LINE:COL: error: PATH: MESSAGE`
//                 a line; warnings are in that format too
//   (catalog_atom, list_atom)                -> [{id, document, title, version,
//                 operations}]
//   (catalog_atom, show_atom, service)       -> the service (catalog::to_json):
//                 channels with their topics, operations with direction,
//                 channel, topic, messages; `service` is its id or its
//                 document's file name (`not-found` otherwise)

#include <string>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "meshflow/actors/instance.hpp"
#include "meshflow/actors/supervisor.hpp"
#include "meshflow/dsl/plan.hpp"
#include "meshflow/error.hpp"

namespace meshflow::actors {

using deploy_atom = caf::atom_constant<caf::atom("deploy")>;
using start_atom = caf::atom_constant<caf::atom("start")>;
using get_atom = caf::atom_constant<caf::atom("get")>;
using list_atom = caf::atom_constant<caf::atom("list")>;
using pause_atom = caf::atom_constant<caf::atom("pause")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using history_atom = caf::atom_constant<caf::atom("history")>;
using wait_atom = caf::atom_constant<caf::atom("wait")>;
using event_atom = caf::atom_constant<caf::atom("event")>;
using catalog_atom = caf::atom_constant<caf::atom("catalog")>;
using register_atom = caf::atom_constant<caf::atom("register")>;
using show_atom = caf::atom_constant<caf::atom("show")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
// retry_atom: supervisor.hpp

/// To a node's event listener (node_options::event_listener): (produced_atom,
/// instance_id, cloudevent_json) for every event an instance produces.
using produced_atom = caf::atom_constant<caf::atom("produced")>;

/// The instance as `get` shows it: id, workflowId, version, status, current
/// states, data (as it stands: current_data), error.
nlohmann::json describe(const instance& i, const dsl::plan& p);

/// One history entry as {at, kind, detail}.
nlohmann::json history_entry_json(const history_entry& h);

/// The instance's history as a JSON array of {at, kind, detail}.
nlohmann::json history_json(const instance& i);

/// A failure as the protocol answers it: `{"error": {code, message}}`.
std::string error_json(const meshflow::error& e);

} // namespace meshflow::actors
