// A Parallel state (spec, "Parallel State"; SEMANTICS.md, "Data"): every
// branch is an action list of its own, all started at once, each on its
// own copy of the state data and with its branchExecTimeout (the branch's,
// else the state's, else the workflow's), which fails the state when it
// passes. A branch's result is its data after its last action. Once
// `completionType` is met (every branch, or `numCompleted` of them), the
// branches still running are cancelled and contribute nothing, and the
// results are merged into the state data in the order of `branches`, not
// of completion. While it runs, its data is the state data with the
// branches completed so far merged in, in that order.

#include "state_hooks.hpp"

#include "meshflow/dsl/data.hpp"

namespace meshflow::actors {

template <>
struct state_rules<dsl::state_type::parallel> {
  static const dsl::parallel_state& def(const dsl::state& s) {
    return std::get<dsl::parallel_state>(s.properties);
  }

  /// Every branch starts at once on a copy of the state data, with its
  /// branchExecTimeout.
  static void start(machine& m) {
    auto& cur = *m.i_.current;
    const auto& s = m.state_def();
    const auto& p = def(s);
    cur.results.assign(p.branches.size(), std::nullopt);
    for (std::uint32_t b = 0; b < p.branches.size(); ++b) {
      const auto& branch = p.branches[b];
      auto t = branch.timeouts.branch_exec_timeout ? branch.timeouts.branch_exec_timeout
               : s.timeouts.branch_exec_timeout    ? s.timeouts.branch_exec_timeout
                                                   : m.w_.timeouts.branch_exec_timeout;
      m.start_list(b, cur.data, t ? std::optional{t->value} : std::nullopt);
    }
    if (p.branches.empty())
      m.complete_state();
  }

  /// Branch `l.slot` is done; with it, the state may be.
  static void list_done(machine& m, action_list_run l) {
    auto& cur = *m.i_.current;
    const auto& p = def(m.state_def());
    cur.results[l.slot] = std::move(l.data);
    ++cur.completed;
    bool done = p.completion_type == dsl::completion_type::all_of
                  ? cur.completed >= p.branches.size()
                  : cur.completed >= static_cast<std::uint32_t>(p.num_completed.value_or(1));
    if (!done)
      return;
    m.cancel_lists();  // the branches still running
    cur.data = data(cur);
    cur.results.clear();  // merged now
    m.complete_state();
  }

  /// A branch's branchExecTimeout passed: the state fails with `timeout`.
  static void list_timer(machine& m) {
    const auto& name = m.state_def().name;
    m.note("timer.fired", fmt::format("{} branchExecTimeout", name));
    m.state_failed({"timeout", fmt::format("a branch of state '{}' did not finish within "
                                           "branchExecTimeout",
                                           name)});
  }

  /// List `slot` is branch `slot`; its actions run one after another.
  static std::span<const dsl::action> actions(const dsl::state& s, std::uint32_t slot) {
    return def(s).branches[slot].actions;
  }
  static bool has_list(const dsl::state& s, std::uint32_t slot) {
    return slot < def(s).branches.size();
  }
  static std::string action_path(const std::string& state, std::uint32_t slot,
                                 std::uint32_t action) {
    return fmt::format("{}.branches[{}].actions[{}]", state, slot, action);
  }

  /// The state data with the results so far merged in, in branch order.
  static jq::value data(const state_run& cur) {
    auto data = cur.data;
    for (const auto& r : cur.results)
      if (r)
        data = dsl::merge(data, *r);
    return data;
  }
};

namespace {
using rules = state_rules<dsl::state_type::parallel>;
}

constinit const state_hooks parallel_hooks{
  .start = rules::start,
  .list_done = rules::list_done,
  .list_timer = rules::list_timer,
  .actions = rules::actions,
  .has_list = rules::has_list,
  .action_path = rules::action_path,
  .data = rules::data,
};

} // namespace meshflow::actors
