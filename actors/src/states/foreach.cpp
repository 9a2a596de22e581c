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

#include "meshflow/dsl/data.hpp"
#include "meshflow/dsl/expression.hpp"

namespace meshflow::actors {

template <>
struct state_rules<dsl::state_type::foreach> {
  static const dsl::foreach_state& def(const dsl::state& s) {
    return std::get<dsl::foreach_state>(s.properties);
  }

  /// Evaluates `inputCollection` and starts the first iterations.
  static void start(machine& m) {
    auto& cur = *m.i_.current;
    const auto& f = def(m.state_def());
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
    start_iterations(m);
  }

  /// Starts iterations until the `mode`'s or `batchSize`'s limit, or the
  /// end of the input collection.
  static void start_iterations(machine& m) {
    auto& cur = *m.i_.current;
    const auto& f = def(m.state_def());
    std::size_t limit = f.mode == dsl::action_mode::sequential ? 1
                        : f.batch_size && *f.batch_size > 0
                          ? static_cast<std::size_t>(*f.batch_size)
                          : cur.results.size();
    auto param = iteration_param(f);
    while (cur.lists.size() < limit && cur.next_item < cur.results.size()) {
      auto n = cur.next_item++;
      // What the iteration has of its own (list_data puts the state data
      // under it).
      jq::value own{jv_object_set(jv_object(), jv_string(param.c_str()),
                                  jv_array_get(cur.items.copy(), static_cast<int>(n)))};
      m.start_list(n, std::move(own));
    }
  }

  /// `iterationParam`: a name, or (as example 28 writes it) `${ .name }`.
  static std::string iteration_param(const dsl::foreach_state& f) {
    if (!f.iteration_param)
      return "item";
    std::string name = *f.iteration_param;
    if (auto inner = dsl::unwrap_expression(name))
      name = std::string{*inner};
    auto first = name.find_first_not_of(" \t.");
    auto last = name.find_last_not_of(" \t");
    return first == std::string::npos ? "item" : name.substr(first, last - first + 1);
  }

  /// Iteration `l.slot` is done: its result is its last action's.
  static void list_done(machine& m, action_list_run l) {
    auto& cur = *m.i_.current;
    cur.results[l.slot] = std::move(l.last_result);
    ++cur.completed;
    if (cur.completed >= cur.results.size()) {
      m.complete_state();
      return;
    }
    start_iterations(m);
  }

  /// `outputCollection` receives the iteration results, in the order of
  /// the input collection.
  static expected<void> completing(machine& m) {
    auto& cur = *m.i_.current;
    const auto& f = def(m.state_def());
    if (!f.output_collection)
      return {};
    jv results = jv_array();
    for (auto& r : cur.results)
      results = jv_array_append(results, r ? r->copy() : jv_null());
    jq::value collected{results};
    auto path = state_path(cur.state) + ".outputCollection";
    auto id = m.plan_.expression(path);
    auto at = id ? m.plan_.expressions->evaluate(*id, cur.data, m.workflow_)
                 : expected<jq::value>{jq::value{jv_array()}};
    auto merged = at ? dsl::merge_at(cur.data, *at, collected) : at;
    if (!merged)
      return fail(merged.error().code, fmt::format("{}: {}", path, merged.error().message));
    cur.data = std::move(*merged);
    return {};
  }

  /// List `slot` is the iteration over element `slot`.
  static std::span<const dsl::action> actions(const dsl::state& s, std::uint32_t) {
    return def(s).actions;
  }
  /// Any element's (the input collection is the snapshot's, not the
  /// definition's).
  static bool has_list(const dsl::state&, std::uint32_t) { return true; }
  static std::string action_path(const std::string& state, std::uint32_t, std::uint32_t action) {
    return fmt::format("{}.actions[{}]", state, action);
  }

  /// The state data with what the iteration changed on top.
  static jq::value list_data(const state_run& cur, const action_list_run& l) {
    jv data = cur.data.is_object() ? cur.data.copy() : jv_object();
    jv_object_foreach(l.data.get(), key, value) data = jv_object_set(data, key, value);
    return jq::value{data};
  }

  /// Only what differs from the state data: the iteration's parameter and
  /// what its actions merged (unchanged members are the same jq values).
  static jq::value kept_list_data(const state_run& cur, jq::value data) {
    if (!data.is_object())
      return data;
    jv changed = jv_object();
    jv_object_foreach(data.get(), key, value) {
      jv was =
        cur.data.is_object() ? jv_object_get(cur.data.copy(), jv_copy(key)) : jv_invalid();
      bool same = jv_is_valid(was) ? jv_identical(was, jv_copy(value)) : (jv_free(was), false);
      if (same) {
        jv_free(key);
        jv_free(value);
      } else {
        changed = jv_object_set(changed, key, value);
      }
    }
    return jq::value{changed};
  }
};

namespace {
using rules = state_rules<dsl::state_type::foreach>;
}

constinit const state_hooks foreach_hooks{
  .start = rules::start,
  .list_done = rules::list_done,
  .completing = rules::completing,
  .actions = rules::actions,
  .has_list = rules::has_list,
  .action_path = rules::action_path,
  .list_data = rules::list_data,
  .kept_list_data = rules::kept_list_data,
  .last_result_merged = false,
  .data = state_data,
};

} // namespace meshflow::actors
