// An Event state (spec, "Event State"): it waits for the events of its
// `onEvents`; with `exclusive: true` (default) the first matching event
// of any of them runs that `onEvents`' actions, with `exclusive: false`
// all its events must arrive, in any order, and then the actions of every
// `onEvents` run, one list after another (SEMANTICS.md, "Events"). Each
// event's data is merged into the state data (`eventDataFilter`) as it
// arrives. eventTimeout is not an error: the state follows its flow
// without running its actions.

#include "state_hooks.hpp"

namespace meshflow::actors {

template <>
struct state_rules<dsl::state_type::event> {
  static void start(machine& m) { m.wait_for_events(state_phase::waiting_events); }
};

namespace {
using rules = state_rules<dsl::state_type::event>;
}

constinit const state_hooks event_hooks{
  .start = rules::start,
  .data = running_list_data,
};

} // namespace meshflow::actors
