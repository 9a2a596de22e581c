// A Callback state (spec, "Callback State"): its one action runs on the
// state data; then the state waits for its event (`eventRef`), merges it
// (`eventDataFilter`) and completes. eventTimeout is not an error
// (SEMANTICS.md): the state follows its flow, the action's results kept.
// While the action runs, its data is the list's.

#include "state_hooks.hpp"

namespace meshflow::actors {

template <>
struct state_rules<dsl::state_type::callback> {
  static const dsl::callback_state& def(const dsl::state& s) {
    return std::get<dsl::callback_state>(s.properties);
  }

  /// Its action runs, a list of one, on the state data.
  static void start(machine& m) { m.start_list(0, m.i_.current->data); }

  /// The action is done: its results are the state data; the event next.
  static void list_done(machine& m, action_list_run l) {
    m.i_.current->data = std::move(l.data);
    m.wait_for_events(state_phase::callback_event);
  }

  /// Once the action is done: its event is merged, and the state completes.
  static bool offer(machine& m, const consumed_event& incoming) {
    auto& cur = *m.i_.current;
    if (cur.phase != state_phase::callback_event)
      return false;
    const auto& cb = def(m.state_def());
    auto d = m.plan_.event_index.at(cb.event_ref);
    if (!m.matches(d, incoming))
      return false;
    if (m.merge_event(cb.event_data_filter, state_path(cur.state) + ".eventDataFilter", d,
                      incoming))
      m.complete_state();
    return true;
  }

  /// eventTimeout: the state follows its flow, the action's results kept.
  static void timer(machine& m) { m.complete_state(); }

  static std::span<const dsl::action> actions(const dsl::state& s, std::uint32_t) {
    return {&def(s).action, 1};
  }
  static bool has_list(const dsl::state&, std::uint32_t slot) { return slot == 0; }
  static std::string action_path(const std::string& state, std::uint32_t, std::uint32_t) {
    return state + ".action";
  }
};

namespace {
using rules = state_rules<dsl::state_type::callback>;
}

constinit const state_hooks callback_hooks{
  .start = rules::start,
  .list_done = rules::list_done,
  .offer = rules::offer,
  .timer = rules::timer,
  .actions = rules::actions,
  .has_list = rules::has_list,
  .action_path = rules::action_path,
  .data = running_list_data,
};

} // namespace meshflow::actors
