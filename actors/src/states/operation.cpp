// An Operation state (spec, "Operation State"): one action list on the
// state data, its actions one after another or all at once
// (`actionMode`); when the last one is done, the state completes. While
// it runs, its data is the list's (the results merged so far).

#include "state_hooks.hpp"

namespace meshflow::actors {

template <>
struct state_rules<dsl::state_type::operation> {
  static const dsl::operation_state& def(const dsl::state& s) {
    return std::get<dsl::operation_state>(s.properties);
  }

  /// Its one list runs on the state data.
  static void start(machine& m) { m.start_list(0, m.i_.current->data); }

  /// Its actions are done: the list's data is the state data.
  static void list_done(machine& m, action_list_run l) {
    m.i_.current->data = std::move(l.data);
    m.complete_state();
  }

  static std::span<const dsl::action> actions(const dsl::state& s, std::uint32_t) {
    return def(s).actions;
  }
  static bool has_list(const dsl::state&, std::uint32_t slot) { return slot == 0; }
  static bool all_at_once(const dsl::state& s, std::uint32_t) {
    return def(s).action_mode == dsl::action_mode::parallel;
  }
  static std::string action_path(const std::string& state, std::uint32_t, std::uint32_t action) {
    return fmt::format("{}.actions[{}]", state, action);
  }
};

namespace {
using rules = state_rules<dsl::state_type::operation>;
}

constinit const state_hooks operation_hooks{
  .start = rules::start,
  .list_done = rules::list_done,
  .actions = rules::actions,
  .has_list = rules::has_list,
  .all_at_once = rules::all_at_once,
  .action_path = rules::action_path,
  .data = running_list_data,
};

} // namespace meshflow::actors
