#include "meshflow/actors/deployment.hpp"

#include <set>

#include <fmt/format.h>

#include "meshflow/actors/operation_lookup.hpp"
#include "meshflow/dsl/validate.hpp"

namespace meshflow::actors {

binding_context binding_context_of(const deploy_settings& s,
                                   std::shared_ptr<const dsl::plan> plan) {
  auto dir = plan->definition->file.parent_path();
  return binding_context{std::move(plan),    std::move(dir),        s.natives,
                         s.http_timeout,     s.document_timeout,    s.http,
                         s.max_concurrent_calls, s.json,            s.catalog};
}

namespace {

/// The operation of each event definition of `w` (null none): those of `type:
/// asyncapi` are bound to their operation's channel (SEMANTICS.md,
/// "Events"), a produced event to a `publish` operation, a consumed one to
/// a `subscribe` operation. The error is a diagnostic, FILE:LINE:COL at the
/// event's `source`.
expected<std::vector<std::shared_ptr<const catalog::operation>>> event_operations_of(
  const dsl::workflow& w, const std::string& path, operation_lookup& lookup) {
  std::vector<std::shared_ptr<const catalog::operation>> out(w.events.size());
  for (std::size_t k = 0; k < w.events.size(); ++k) {
    const auto& e = w.events[k];
    if (e.type != "asyncapi")
      continue;
    auto at = fmt::format("events[{}].source", k);
    auto refuse = [&](std::string message) {
      return fail("definition", dsl::to_string({path, w.source_map.find(at),
                                                dsl::severity::error, at, std::move(message)}));
    };
    auto what = fmt::format("event '{}'", e.name);
    if (!e.source)
      return refuse(fmt::format("{} of type asyncapi names no operation: give it source: "
                                "file://DOC#operationId",
                                what));
    auto bound = lookup.bind(what, *e.source,
                             e.kind == dsl::event_kind::produced ? catalog::direction::produce
                                                                 : catalog::direction::consume);
    if (!bound)
      return refuse(std::move(bound.error().message));
    out[k] = std::make_shared<const catalog::operation>(std::move(bound->operation));
  }
  return out;
}

/// Which event definitions of `w` a running instance can consume: those a
/// state other than the start state waits for, or an action waits for as
/// its result. A definition only the start state waits for starts
/// instances; it is never delivered to running ones.
std::vector<bool> consumed_while_running(const dsl::workflow& w, std::size_t start) {
  std::set<std::string> names;
  auto results = [&](const std::vector<dsl::action>& actions) {
    for (const auto& a : actions)
      if (const auto* e = std::get_if<dsl::event_ref>(&a.target); e && e->result_event_ref)
        names.insert(*e->result_event_ref);
  };
  for (std::size_t k = 0; k < w.states.size(); ++k) {
    const auto& p = w.states[k].properties;
    if (const auto* e = std::get_if<dsl::event_state>(&p)) {
      for (const auto& on : e->on_events) {
        if (k != start)
          names.insert(on.event_refs.begin(), on.event_refs.end());
        results(on.actions);
      }
    } else if (const auto* c = std::get_if<dsl::callback_state>(&p)) {
      names.insert(c->event_ref);
      results({c->action});
    } else if (const auto* o = std::get_if<dsl::operation_state>(&p)) {
      results(o->actions);
    } else if (const auto* f = std::get_if<dsl::foreach_state>(&p)) {
      results(f->actions);
    } else if (const auto* b = std::get_if<dsl::parallel_state>(&p)) {
      for (const auto& branch : b->branches)
        results(branch.actions);
    }
  }
  std::vector<bool> out;
  for (const auto& e : w.events)
    out.push_back(e.kind == dsl::event_kind::consumed && names.contains(e.name));
  return out;
}

} // namespace

std::shared_ptr<prepared_deployment> prepare_deployment(const deploy_settings& s,
                                                        const std::string& path,
                                                        const std::string& text) {
  auto out = std::make_shared<prepared_deployment>();
  auto refuse = [&](std::string message) {
    out->failure = meshflow::error{"definition", std::move(message)};
    return out;
  };
  dsl::load_options strict;
  strict.strict = true;
  auto checked = dsl::validate_text(text, path, std::filesystem::path{path}.parent_path(), strict,
                                    dsl::secret_values::from_environment);
  if (!checked.plan) {
    std::string errors;
    for (const auto& d : checked.diagnostics)
      if (d.severity == dsl::severity::error) {
        if (!errors.empty())
          errors += '\n';
        errors += dsl::to_string(d);
      }
    return refuse(errors.empty() ? path + ": cannot be deployed" : errors);
  }
  out->plan = std::move(checked.plan);
  const auto& w = *out->plan->definition;
  if (const auto& schema = w.data_input_schema) {
    auto loaded = input_schema::load(*schema, w.file.parent_path(), *s.http, s.document_timeout);
    if (!loaded)
      return refuse(fmt::format("{}: {}", path, loaded.error().message));
    out->input = std::move(*loaded);
  }
  if (const auto& when = w.start.schedule) {
    auto schedule = start_schedule::make(*when, now_ms());
    if (!schedule)
      return refuse(fmt::format("{}: {}", path, schedule.error().message));
    out->schedule = std::move(*schedule);
  }
  auto ctx = binding_context_of(s, out->plan);
  operation_lookup lookup{s.catalog, ctx.base_dir};
  auto operations = event_operations_of(w, path, lookup);
  if (!operations)
    return refuse(std::move(operations.error().message));
  for (const auto& op : *operations)
    out->event_channels.push_back(op ? op->topic : std::string{});
  out->event_operations = std::move(*operations);
  for (std::size_t k = 0; k < w.functions.size(); ++k) {
    auto f = prepare_function(ctx, k, lookup);
    if (!f)
      return refuse(fmt::format("{}: {}", path, f.error().message));
    out->functions.push_back(std::move(*f));
  }
  out->found_documents = lookup.found();
  return out;
}

std::shared_ptr<const deployment> install(caf::actor_system& sys, const deploy_settings& s,
                                          prepared_deployment& p) {
  auto dep = std::make_shared<deployment>();
  dep->plan = p.plan;
  dep->input = std::move(p.input);
  dep->schedule = std::move(p.schedule);
  dep->event_channels = std::move(p.event_channels);
  dep->event_operations = std::move(p.event_operations);
  dep->consumed_while_running =
    consumed_while_running(*p.plan->definition, p.plan->start_state);
  auto ctx = binding_context_of(s, p.plan);
  for (auto& f : p.functions)
    dep->bindings.push_back(bind_function(sys, ctx, std::move(f)));
  return dep;
}

std::shared_ptr<const deployment> deployment_set::find(const std::string& workflow,
                                                       const std::string& version) const {
  auto w = versions_.find(workflow);
  if (w == versions_.end())
    return nullptr;
  auto v = w->second.find(version.empty() ? latest_.at(workflow) : version);
  return v == w->second.end() ? nullptr : v->second;
}

std::pair<std::shared_ptr<const deployment_set>, std::shared_ptr<const deployment>>
deployment_set::with(std::shared_ptr<const deployment> d) const {
  auto next = std::make_shared<deployment_set>(*this);
  const auto& w = *d->plan->definition;
  auto version = w.version.value_or("");
  auto& slot = next->versions_[w.identity()][version];
  auto replaced = std::exchange(slot, std::move(d));
  next->latest_[w.identity()] = version;
  return {std::move(next), std::move(replaced)};
}

std::vector<std::shared_ptr<const deployment>> deployment_set::all() const {
  std::vector<std::shared_ptr<const deployment>> out;
  for (const auto& [workflow, versions] : versions_)
    for (const auto& [version, dep] : versions)
      out.push_back(dep);
  return out;
}

} // namespace meshflow::actors
