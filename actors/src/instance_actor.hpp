#pragma once

// The instance actor (see node.hpp): one per live instance.

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "meshflow/actors/machine.hpp"
#include "meshflow/actors/node.hpp"

namespace meshflow::actors {

/// From an instance actor to itself: its machine yielded; run on.
using proceed_atom = caf::atom_constant<caf::atom("proceed")>;

struct instance_actor_state {
  std::shared_ptr<const deployment> job;
  caf::actor admin;
  instance value;
  std::unique_ptr<effects> fx;
  std::unique_ptr<machine> run;
  /// Supervisors (and sync sub-instances) in flight, by the token the
  /// machine gave the invocation.
  std::unordered_map<caf::actor_addr, std::uint64_t> tokens;
  std::unordered_map<std::uint64_t, caf::actor> supervisors;
  instance_status reported = instance_status::running;
  /// Messages from (or through) the admin handled so far (parking).
  std::uint64_t received = 0;
  static inline const char* name = "meshflow.instance";
};

/// How an instance actor begins: with a fresh instance and its input, or
/// from a snapshot (`input` absent: its timers are re-armed).
struct instance_start {
  instance value;
  std::optional<std::string> input;  // JSON object text
  /// Woken from parking: the admin holds its timers; nothing to re-arm.
  bool parked = false;
  machine_limits limits;
};

caf::behavior instance_actor(caf::stateful_actor<instance_actor_state>* self,
                             std::shared_ptr<const deployment> job, caf::actor admin,
                             std::shared_ptr<instance_start> start);

/// The instance as `get` shows it: id, workflowId, version, status, current
/// states, data (as it stands: current_data), error.
nlohmann::json describe(const instance& i, const dsl::plan& p);

/// The instance's history as a JSON array of {at, kind, detail}.
nlohmann::json history_json(const instance& i);

/// How the admin protocol answers a failure: `{"error": {code, message}}`.
std::string error_json(const meshflow::error& e);

} // namespace meshflow::actors
