// A Callback state (spec, "Callback State"): its one action runs on the
// state data; then the state waits for its event (`eventRef`), merges it
// (`eventDataFilter`) and completes. eventTimeout is not an error
// (SEMANTICS.md): the state follows its flow, the action's results kept.

#include "state_hooks.hpp"

namespace meshflow::actors {

template <>
struct state_rules<dsl::state_type::callback> {
  static void start(machine& m) { m.start_list(0, m.i_.current->data); }
};

namespace {
using rules = state_rules<dsl::state_type::callback>;
}

constinit const state_hooks callback_hooks{
  .start = rules::start,
  .data = running_list_data,
};

} // namespace meshflow::actors
