// A Sleep state (spec, "Sleep State"): it waits for its `duration`, then
// follows its flow. It runs no actions; its one timer is its duration.

#include "state_hooks.hpp"

namespace meshflow::actors {

template <>
struct state_rules<dsl::state_type::sleep> {
  static const dsl::sleep_state& def(const dsl::state& s) {
    return std::get<dsl::sleep_state>(s.properties);
  }

  /// Arms the duration.
  static void start(machine& m) {
    auto& cur = *m.i_.current;
    cur.phase = state_phase::sleeping;
    cur.timer_token = m.arm_in(def(m.state_def()).duration.value, cur.deadline);
  }

  /// The duration passed: the state completes.
  static void timer(machine& m) { m.complete_state(); }
};

namespace {
using rules = state_rules<dsl::state_type::sleep>;
}

constinit const state_hooks sleep_hooks{
  .start = rules::start,
  .timer = rules::timer,
  .data = state_data,
};

} // namespace meshflow::actors
