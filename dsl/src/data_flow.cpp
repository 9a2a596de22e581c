#include "meshflow/dsl/data_flow.hpp"

#include <fmt/format.h>

#include "meshflow/dsl/data.hpp"
#include "meshflow/dsl/expression.hpp"

namespace meshflow::dsl {

namespace {

/// The expression at `path` applied to `input`, or `input` when the
/// definition has none there. Failures name the place.
expected<jq::value> apply(const plan& p, const std::string& path, const jq::value& input,
                          const jq::value& workflow) {
  auto id = p.expression(path);
  if (!id)
    return input;
  auto r = p.expressions->evaluate(*id, input, workflow);
  if (!r)
    return fail(r.error().code, fmt::format("{}: {}", path, r.error().message));
  return r;
}

/// Merges `value` into `data` at the path the `to_state_data` expression
/// selects, or into the whole data when the definition has none.
expected<jq::value> merge_into(const plan& p, const std::string& to_state_data,
                               const jq::value& data, const jq::value& value,
                               const jq::value& workflow) {
  jq::value path{jv_array()};
  if (p.expression(to_state_data)) {
    auto selected = apply(p, to_state_data, data, workflow);
    if (!selected)
      return selected;
    path = std::move(*selected);
  }
  auto merged = merge_at(data, path, value);
  if (!merged)
    return fail(merged.error().code,
                fmt::format("{}: {}", to_state_data, merged.error().message));
  return merged;
}

} // namespace

expected<jq::value> state_data_in(const plan& p, const std::string& state_path,
                                  const jq::value& input, const jq::value& workflow) {
  return apply(p, state_path + ".stateDataFilter.input", input, workflow);
}

expected<jq::value> state_data_out(const plan& p, const std::string& state_path,
                                   const jq::value& data, const jq::value& workflow) {
  return apply(p, state_path + ".stateDataFilter.output", data, workflow);
}

expected<jq::value> action_input(const plan& p, const std::string& action_path,
                                 const jq::value& state_data, const jq::value& workflow) {
  return apply(p, action_path + ".actionDataFilter.fromStateData", state_data, workflow);
}

expected<jq::value> action_results(const plan& p, const std::string& action_path,
                                   const jq::value& result, const jq::value& workflow) {
  return apply(p, action_path + ".actionDataFilter.results", result, workflow);
}

expected<jq::value> merge_selected_result(const plan& p, const action& a,
                                          const std::string& action_path,
                                          const jq::value& state_data,
                                          const jq::value& selected, const jq::value& workflow) {
  if (a.action_data_filter && !a.action_data_filter->use_results)
    return state_data;
  return merge_into(p, action_path + ".actionDataFilter.toStateData", state_data, selected,
                    workflow);
}

expected<jq::value> merge_action_result(const plan& p, const action& a,
                                        const std::string& action_path,
                                        const jq::value& state_data, const jq::value& result,
                                        const jq::value& workflow) {
  if (a.action_data_filter && !a.action_data_filter->use_results)
    return state_data;
  auto selected = action_results(p, action_path, result, workflow);
  if (!selected)
    return selected;
  return merge_selected_result(p, a, action_path, state_data, *selected, workflow);
}

expected<jq::value> merge_event_data(const plan& p,
                                     const std::optional<event_data_filter>& filter,
                                     const std::string& filter_path,
                                     const jq::value& state_data, const jq::value& payload,
                                     const jq::value& workflow) {
  if (filter && !filter->use_data)
    return state_data;
  auto selected = apply(p, filter_path + ".data", payload, workflow);
  if (!selected)
    return selected;
  return merge_into(p, filter_path + ".toStateData", state_data, *selected, workflow);
}

expected<jq::value> render_template(const plan& p, const std::string& path,
                                    const nlohmann::json& written, const jq::value& input,
                                    const jq::value& workflow) {
  if (written.is_string()) {
    if (!unwrap_expression(written.get_ref<const std::string&>()))
      return jq::value::from_json(written);
    if (!p.expression(path))
      return fail("expression", fmt::format("{}: no compiled expression here", path));
    return apply(p, path, input, workflow);
  }
  if (written.is_object()) {
    jv out = jv_object();
    for (const auto& [k, v] : written.items()) {
      auto rendered = render_template(p, fmt::format("{}.{}", path, k), v, input, workflow);
      if (!rendered) {
        jv_free(out);
        return rendered;
      }
      out = jv_object_set(out, jv_string_sized(k.data(), static_cast<int>(k.size())),
                          rendered->copy());
    }
    return jq::value{out};
  }
  if (written.is_array()) {
    jv out = jv_array();
    for (std::size_t i = 0; i < written.size(); ++i) {
      auto rendered = render_template(p, fmt::format("{}[{}]", path, i), written[i], input,
                                      workflow);
      if (!rendered) {
        jv_free(out);
        return rendered;
      }
      out = jv_array_append(out, rendered->copy());
    }
    return jq::value{out};
  }
  return jq::value::from_json(written);
}

} // namespace meshflow::dsl
