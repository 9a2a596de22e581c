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
//   (event_atom, cloudevent_json, id)        -> {"delivered": n}
//                 id "" = by `workflowinstanceid`, else by correlation (the
//                 router, router.hpp)

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
