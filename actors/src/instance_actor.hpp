#pragma once

// The instance actor (see partition.hpp): one per live instance, animating
// its `instance` value with a `machine`. It applies the commands its
// partition sends, runs its actions' supervisors, and tells its partition
// after every message where the instance stands (`instance_report`).

#include <memory>
#include <unordered_map>

#include <caf/all.hpp>

#include "meshflow/actors/command.hpp"
#include "meshflow/actors/deployment.hpp"
#include "meshflow/actors/machine.hpp"
#include "meshflow/actors/partition.hpp"

namespace meshflow::actors {

/// From an instance actor to itself: its machine yielded; run on.
using proceed_atom = caf::atom_constant<caf::atom("proceed")>;

struct instance_actor_state {
  std::shared_ptr<const deployment> job;
  caf::actor partition;
  instance value;
  std::unique_ptr<effects> fx;
  std::unique_ptr<machine> run;
  /// Supervisors in flight, by the token the machine gave the invocation.
  std::unordered_map<caf::actor_addr, std::uint64_t> tokens;
  std::unordered_map<std::uint64_t, caf::actor> supervisors;
  /// History entries reported to the partition so far (they go to
  /// `<cluster>.history`).
  std::size_t history_reported = 0;
  static inline const char* name = "meshflow.instance";
};

/// How an instance actor begins.
struct instance_start {
  /// A new instance (a start command follows), or one woken from its
  /// snapshot.
  instance value;
  /// Restored after its actor was lost with work in flight: its timers are
  /// re-armed and its invocations re-issued (REST calls are at-least-once).
  bool rearm = false;
  machine_limits limits;
};

caf::behavior instance_actor(caf::stateful_actor<instance_actor_state>* self,
                             std::shared_ptr<const deployment> job, caf::actor partition,
                             std::shared_ptr<instance_start> start);

} // namespace meshflow::actors
