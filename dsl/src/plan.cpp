#include "meshflow/dsl/plan.hpp"

#include <cstdlib>

#include <fmt/format.h>

#include "meshflow/dsl/expression.hpp"
#include "walk.hpp"

namespace meshflow::dsl {

flow_target plan::target(const flow& f) const {
  if (const auto* t = std::get_if<transition_def>(&f))
    if (auto it = state_index.find(t->next_state); it != state_index.end())
      return {it->second};
  return {};
}

namespace {

/// Finds every expression of a definition and adds it to one program.
class expression_collector {
public:
  expression_collector(const workflow& w, std::vector<diagnostic>& out) : w_(w), out_(out) {
    for (const auto& f : w.functions)
      if (f.type == function_type::expression)
        function_names_.push_back(f.name);
  }

  void collect() {
    for (std::size_t i = 0; i < w_.functions.size(); ++i) {
      const auto& f = w_.functions[i];
      if (f.type != function_type::expression)
        continue;
      auto path = fmt::format("functions[{}].operation", i);
      auto p = prepare_expression(f.operation, function_names_);
      report(path, p);
      builder_.add_function(p.error ? "null" : p.source);
      function_paths_.push_back(path);
      function_calls_error_.push_back(p.calls_error);
    }
    // An expression function called by a functionRef runs on its own:
    // `functions[i].operation` names an expression that calls it.
    std::size_t k = 0;
    for (std::size_t i = 0; i < w_.functions.size(); ++i)
      if (w_.functions[i].type == function_type::expression) {
        builder_.add(fmt::format("__mf_fn_{}", k), false, function_calls_error_[k]);
        ++k;
        site_paths_.push_back(fmt::format("functions[{}].operation", i));
      }
    for (std::size_t i = 0; i < w_.states.size(); ++i)
      state_at(w_.states[i], fmt::format("states[{}]", i));
  }

  compile_result build(std::shared_ptr<const workflow> definition, const nlohmann::json& secrets) {
    compile_result result;
    auto built = std::move(builder_).build(w_.constants, secrets);
    if (!built) {
      for (const auto& e : built.error()) {
        auto path = e.kind == jq::compile_error::item_kind::function ? function_paths_[e.index]
                                                                      : site_paths_[e.index];
        error(path, fmt::format("the expression does not compile: {}", e.message));
      }
    }
    if (has_errors(out_))
      return result;
    auto p = std::make_shared<plan>();
    p->expressions = std::move(*built);
    for (std::size_t i = 0; i < site_paths_.size(); ++i)
      p->expression_at.emplace(site_paths_[i], static_cast<jq::expression_id>(i));
    p->definition = std::move(definition);
    result.plan = std::move(p);
    return result;
  }

private:
  void error(const std::string& path, std::string message) {
    out_.push_back({w_.file.string(), w_.source_map.find(path), severity::error, path,
                    std::move(message)});
  }

  void report(const std::string& path, const prepared_expression& p) {
    for (const auto& w : p.warnings)
      out_.push_back({w_.file.string(), w_.source_map.find(path), severity::warning, path, w});
    if (p.error)
      error(path, fmt::format("not a valid jq expression: {}", *p.error));
  }

  /// A place that always holds an expression (filters, conditions).
  void expression(const std::optional<std::string>& text, const std::string& path,
                  bool as_path = false) {
    if (!text)
      return;
    auto p = prepare_expression(*text, function_names_);
    report(path, p);
    if (p.error)
      return;
    builder_.add(std::move(p.source), as_path, p.calls_error);
    site_paths_.push_back(path);
  }

  /// A JSON value whose strings of the form `${ ... }` are expressions.
  void template_value(const nlohmann::json& value, const std::string& path) {
    if (value.is_string()) {
      const auto& s = value.get_ref<const std::string&>();
      if (unwrap_expression(s))
        expression(s, path);
    } else if (value.is_object()) {
      for (const auto& [k, v] : value.items())
        template_value(v, fmt::format("{}.{}", path, k));
    } else if (value.is_array()) {
      for (std::size_t i = 0; i < value.size(); ++i)
        template_value(value[i], fmt::format("{}[{}]", path, i));
    }
  }

  void attributes(const std::map<std::string, std::string>& attrs, const std::string& path) {
    for (const auto& [k, v] : attrs)
      template_value(v, fmt::format("{}.{}", path, k));
  }

  void event_filter(const std::optional<event_data_filter>& f, const std::string& path) {
    if (!f)
      return;
    expression(f->data, path + ".data");
    expression(f->to_state_data, path + ".toStateData", true);
  }

  void produce_events(const std::vector<produce_event_def>& events, const std::string& path) {
    for (std::size_t i = 0; i < events.size(); ++i) {
      auto at = fmt::format("{}.produceEvents[{}]", path, i);
      if (events[i].data)
        template_value(*events[i].data, at + ".data");
      attributes(events[i].context_attributes, at + ".contextAttributes");
    }
  }

  void action_at(const action& a, const std::string& path) {
    expression(a.condition, path + ".condition");
    if (a.action_data_filter) {
      const auto& f = *a.action_data_filter;
      expression(f.from_state_data, path + ".actionDataFilter.fromStateData");
      expression(f.results, path + ".actionDataFilter.results");
      expression(f.to_state_data, path + ".actionDataFilter.toStateData", true);
    }
    if (const auto* f = std::get_if<function_ref>(&a.target)) {
      template_value(f->arguments, path + ".functionRef.arguments");
    } else if (const auto* e = std::get_if<event_ref>(&a.target)) {
      if (e->data)
        template_value(*e->data, path + ".eventRef.data");
      attributes(e->context_attributes, path + ".eventRef.contextAttributes");
    }
  }

  void state_at(const state& s, const std::string& path) {
    if (s.state_data_filter) {
      expression(s.state_data_filter->input, path + ".stateDataFilter.input");
      expression(s.state_data_filter->output, path + ".stateDataFilter.output");
    }
    detail::for_each_action(s, path,
                            [&](const action& a, const std::string& at) { action_at(a, at); });
    detail::for_each_flow(s, path, [&](const flow& f, const std::string& at) {
      if (const auto* t = std::get_if<transition_def>(&f)) {
        produce_events(t->produce_events, at);
      } else {
        const auto& e = std::get<end_def>(f);
        produce_events(e.produce_events, at);
        if (e.continue_as && e.continue_as->data)
          template_value(*e.continue_as->data, at + ".continueAs.data");
      }
    });
    if (const auto* e = std::get_if<event_state>(&s.properties)) {
      for (std::size_t i = 0; i < e->on_events.size(); ++i)
        event_filter(e->on_events[i].event_data_filter,
                     fmt::format("{}.onEvents[{}].eventDataFilter", path, i));
    } else if (const auto* sw = std::get_if<switch_state>(&s.properties)) {
      for (std::size_t i = 0; i < sw->data_conditions.size(); ++i)
        expression(sw->data_conditions[i].condition,
                   fmt::format("{}.dataConditions[{}].condition", path, i));
      for (std::size_t i = 0; i < sw->event_conditions.size(); ++i)
        event_filter(sw->event_conditions[i].event_data_filter,
                     fmt::format("{}.eventConditions[{}].eventDataFilter", path, i));
    } else if (const auto* f = std::get_if<foreach_state>(&s.properties)) {
      expression(f->input_collection, path + ".inputCollection");
      expression(f->output_collection, path + ".outputCollection", true);
    } else if (const auto* c = std::get_if<callback_state>(&s.properties)) {
      event_filter(c->event_data_filter, path + ".eventDataFilter");
    }
  }

  const workflow& w_;
  std::vector<diagnostic>& out_;
  std::vector<std::string> function_names_;
  std::vector<std::string> function_paths_;
  std::vector<bool> function_calls_error_;
  std::vector<std::string> site_paths_;
  jq::program_builder builder_;
};

} // namespace

compile_result compile(std::shared_ptr<const workflow> definition,
                       const compile_options& options) {
  const auto& w = *definition;
  std::vector<diagnostic> diagnostics;
  expression_collector collector{w, diagnostics};
  collector.collect();

  auto secrets = nlohmann::json::object();
  for (const auto& name : w.secrets) {
    auto value = options.secret ? options.secret(name) : [&]() -> std::optional<std::string> {
      if (const char* v = std::getenv(name.c_str()))
        return std::string{v};
      return std::nullopt;
    }();
    secrets[name] = value ? nlohmann::json(*value) : nlohmann::json(nullptr);
  }
  auto result = collector.build(definition, secrets);
  result.diagnostics.insert(result.diagnostics.begin(), diagnostics.begin(), diagnostics.end());
  if (!result.plan)
    return result;

  auto p = std::const_pointer_cast<plan>(result.plan);
  for (std::size_t i = 0; i < w.states.size(); ++i)
    p->state_index.emplace(w.states[i].name, i);
  for (std::size_t i = 0; i < w.functions.size(); ++i)
    p->function_index.emplace(w.functions[i].name, i);
  for (std::size_t i = 0; i < w.events.size(); ++i)
    p->event_index.emplace(w.events[i].name, i);
  for (std::size_t i = 0; i < w.errors.size(); ++i)
    p->error_index.emplace(w.errors[i].name, i);
  for (std::size_t i = 0; i < w.retries.size(); ++i)
    p->retry_index.emplace(w.retries[i].name, i);
  if (auto it = p->state_index.find(w.start.state_name); it != p->state_index.end())
    p->start_state = it->second;
  return result;
}

} // namespace meshflow::dsl
