// A ForEach state (spec, "ForEach State"; SEMANTICS.md, "Data"): one
// action list, an iteration, per element of `inputCollection` (which must
// select an array), each on a copy of the state data with the
// `iterationParam` key set to the element; all at once, in batches of
// `batchSize`, or one after another (`mode`). An iteration's result is its
// last action's result after that action's `results` filter, whatever
// JSON it is (it is not merged into the copy). When every iteration is
// done, `outputCollection` receives their results in `inputCollection`
// order; the copies are dropped, so that only `outputCollection` changes
// the state data, which is what the state's data is while it runs.
//
// An iteration's list keeps only what differs from the state data (its
// parameter and what its actions merged), so that 100,000 iterations cost
// their own size, not 100,000 copies of the state data.

#include "state_hooks.hpp"

namespace meshflow::actors {

template <>
struct state_rules<dsl::state_type::foreach> {
  static const dsl::foreach_state& def(const machine& m) {
    return std::get<dsl::foreach_state>(m.state_def().properties);
  }

  /// Evaluates `inputCollection` and starts the first iterations.
  static void start(machine& m) {
    auto& cur = *m.i_.current;
    const auto& f = def(m);
    auto path = state_path(cur.state);
    auto id = m.plan_.expression(path + ".inputCollection");
    auto items = id ? m.plan_.expressions->evaluate(*id, cur.data, m.workflow_)
                    : expected<jq::value>{jq::value{}};
    if (!items) {
      m.state_failed({items.error().code,
                      fmt::format("{}.inputCollection: {}", path, items.error().message)});
      return;
    }
    if (items->kind() != JV_KIND_ARRAY) {
      m.state_failed({"foreach", fmt::format("{}.inputCollection '{}' selects {}, not an array",
                                             path, f.input_collection,
                                             items->dump().substr(0, 80))});
      return;
    }
    cur.items = std::move(*items);
    cur.results.assign(static_cast<std::size_t>(jv_array_length(cur.items.copy())),
                       std::nullopt);
    if (cur.results.empty()) {
      m.complete_state();
      return;
    }
    m.start_iterations();
  }
};

namespace {
using rules = state_rules<dsl::state_type::foreach>;
}

constinit const state_hooks foreach_hooks{
  .start = rules::start,
  .data = state_data,
};

} // namespace meshflow::actors
