#pragma once

// The router (DESIGN.md, "Kafka topics"): consumed business events become
// commands for the instances they are for.
//
// How an event is routed:
//  1. An event that names its instance (the admin's `--instance`, else its
//     `workflowinstanceid` attribute, as a service's reply to a trigger
//     carries it) becomes one event command for that instance.
//  2. Otherwise it goes to the live instances it may correlate with, found
//     through the router's index rather than by asking every instance: for
//     each deployed version with a consumed event definition that matches
//     the event's type and source, the instances that recorded the event's
//     value of the definition's (first) correlation attribute, and those
//     that recorded none yet; for a definition without correlation, every
//     live instance of the version. Each instance's machine then decides
//     (correlation.hpp): consume it, keep it until it waits for it, or
//     ignore it. The partitions keep the index up to date
//     (`instance_track`: an instance's correlation values, and its end).
//  3. And it starts instances: for every workflow whose start state is an
//     event state waiting for it (the version deployed last), one instance
//     per distinct set of correlation values — unless a live instance was
//     started by events with the same values (that one got it in step 2).
//     An `exclusive` start state starts at once; a non-exclusive one
//     gathers its events by correlation and starts the instance with all of
//     them, or drops them when its eventTimeout passes first.
// The commands go to the engine, which writes them.

#include <string>

#include <caf/all.hpp>

#include "meshflow/actors/command.hpp"
#include "meshflow/actors/deployment.hpp"
#include "meshflow/json_limits.hpp"

namespace meshflow::actors {

using route_atom = caf::atom_constant<caf::atom("route")>;
using gather_atom = caf::atom_constant<caf::atom("gather")>;
using dispatch_atom = caf::atom_constant<caf::atom("dispatch")>;

struct router_options {
  deployments deployed;
  /// Told `(dispatch_atom, std::vector<command>)`.
  caf::actor engine;
  json_limits json;
};

/// Spawns the router. Protocol:
///   (attach_atom, std::vector<caf::actor> partitions, bus)   before
///       anything; the router tells the bus which business topics to read
///       (the channels the deployed versions consume from)
///   (event_atom, cloudevent_json, instance_id) -> {"delivered": n}   the
///       admin's `event` request; instance_id "" routes by the event; an
///       instance named (or named by `workflowinstanceid`) must be live
///   (route_atom, consumed_event)           an event consumed from a channel
///   (listening_atom) -> bool               once the bus reads the channels
///                                          of the versions deployed before
///   (routed_atom, offsets)                 passed on to the engine, after
///                                          the commands of the events before
///   (track_atom, instance_track)           from the partitions
///   (deployed_atom, deployments)
caf::actor spawn_router(caf::actor_system& sys, router_options options);

} // namespace meshflow::actors

