#include "meshflow/actors/node.hpp"

#include <map>
#include <random>
#include <unordered_map>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "instance_actor.hpp"
#include "meshflow/actors/correlation.hpp"
#include "meshflow/dsl/validate.hpp"
#include "meshflow/log.hpp"
#include "meshflow/transport/json_format.hpp"

namespace meshflow::actors {

/// A definition made ready to deploy by the deployer (prepare_deployment):
/// what is left to do is only to spawn its bindings.
struct prepared_deployment {
  std::shared_ptr<const dsl::plan> plan;
  std::optional<input_schema> input;
  std::optional<start_schedule> schedule;
  std::vector<prepared_function> functions;
  /// Why it cannot be deployed (then nothing else is set).
  std::optional<meshflow::error> failure;
};
using prepared_ptr = std::shared_ptr<prepared_deployment>;

} // namespace meshflow::actors

// From the deployer to the admin, in process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(meshflow::actors::prepared_ptr)

namespace meshflow::actors {

struct admin_state {
  struct instance_entry {
    std::string workflow;
    std::string version;
    instance_status status = instance_status::running;
    /// While animated; none while parked or once ended.
    caf::actor actor;
    /// Messages sent (or delegated) to `actor` (see "Parking" in node.hpp).
    std::uint64_t sent = 0;
    /// The latest the admin has: while parked, the instance; once ended, the
    /// final one; while animated, the last one offered (what a crash of its
    /// actor falls back to).
    std::string snapshot;
    std::vector<caf::response_promise> waiters;
    /// A sync subflow's parent instance, told of the outcome.
    std::string parent;
    std::uint64_t parent_token = 0;
    std::string start_key;  // see started_by
  };

  node_options options;
  /// Deployed versions by workflow id, and the version deployed last.
  std::map<std::string, std::map<std::string, std::shared_ptr<const deployment>>> workflows;
  std::map<std::string, std::string> latest;
  std::map<std::string, instance_entry> instances;
  /// The instance of each animated actor (its DOWN message names it).
  std::unordered_map<caf::actor_addr, std::string> animated;
  /// Live instances started by an event, by workflow and the event's
  /// correlation values (route_event).
  std::unordered_map<std::string, std::string> started_by;
  /// The events gathering for a start state with `exclusive: false`, by
  /// workflow and correlation values: the instance starts once all have
  /// arrived, unless the state's eventTimeout passes first.
  struct gathering {
    std::string version;
    std::vector<transport::cloud_event> events;
    std::vector<std::string> arrived;  // event references
    std::uint64_t generation = 0;
  };
  std::map<std::string, gathering> gatherings;
  /// Scheduled workflows (start.schedule) by workflow id: the version
  /// deployed last starts on its schedule. `generation` tells a timer of a
  /// replaced deployment from the current one.
  struct scheduled {
    std::string version;
    start_schedule when;
    int started = 0;
    std::uint64_t generation = 0;
  };
  std::map<std::string, scheduled> schedules;
  std::uint64_t generations = 0;
  std::mt19937_64 random{std::random_device{}()};
  static inline const char* name = "meshflow.admin";
};

namespace {

using self_ptr = caf::stateful_actor<admin_state>*;
using json = nlohmann::json;

/// How the functions of `plan` are bound on a node set up by `o`.
binding_context binding_context_of(const node_options& o, std::shared_ptr<const dsl::plan> plan) {
  auto dir = plan->definition->file.parent_path();
  binding_context ctx{std::move(plan), std::move(dir), o.natives, o.http_timeout,
                      o.document_timeout, o.http, o.max_concurrent_calls, o.json};
  return ctx;
}

std::string failure(std::string code, std::string message) {
  return error_json({std::move(code), std::move(message)});
}

/// A fresh instance id: a random (version 4) UUID.
std::string new_id(std::mt19937_64& random) {
  auto hi = random(), lo = random();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", hi >> 32, (hi >> 16) & 0xffff,
                     hi & 0xffff, lo >> 48, lo & 0xffffffffffffULL);
}

/// Checks strictly and compiles a definition, reads the documents it names
/// (JSON Schema, OpenAPI) and prepares its functions: everything of a deploy
/// that may block, done by the deployer, off the admin's thread. `path`
/// names the definition and its directory resolves relative references.
prepared_ptr prepare_deployment(const node_options& o, const std::string& path,
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
    auto loaded = input_schema::load(*schema, w.file.parent_path(), *o.http, o.document_timeout);
    if (!loaded)
      return refuse(fmt::format("{}: {}", path, loaded.error().message));
    out->input = std::move(*loaded);
  }
  if (const auto& s = w.start.schedule) {
    auto when = start_schedule::make(*s, now_ms());
    if (!when)
      return refuse(fmt::format("{}: {}", path, when.error().message));
    out->schedule = std::move(*when);
  }
  auto ctx = binding_context_of(o, out->plan);
  for (std::size_t k = 0; k < w.functions.size(); ++k) {
    auto f = prepare_function(ctx, k);
    if (!f)
      return refuse(fmt::format("{}: {}", path, f.error().message));
    out->functions.push_back(std::move(*f));
  }
  return out;
}

/// A deployer: prepares one deploy on a thread of its own, so that a
/// document server that never answers holds that deploy only, not the
/// admin nor the other deploys.
caf::behavior deployer(caf::event_based_actor* self, node_options options) {
  return {
    [self, options](deploy_atom, const std::string& path, const std::string& text) {
      self->quit();
      return prepare_deployment(options, path, text);
    },
  };
}

std::shared_ptr<const deployment> find_deployment(self_ptr self, const std::string& workflow,
                                                  const std::string& version) {
  auto& st = self->state;
  auto w = st.workflows.find(workflow);
  if (w == st.workflows.end())
    return nullptr;
  auto v = w->second.find(version.empty() ? st.latest[workflow] : version);
  return v == w->second.end() ? nullptr : v->second;
}

/// Animates instance `id` with an actor of its own (instance_actor.hpp),
/// monitored: an actor that dies without ending or parking its instance
/// leaves it FAULTED with code `crash` (instance_crashed).
void animate_with(self_ptr self, const std::string& id, admin_state::instance_entry& e,
                  std::shared_ptr<const deployment> dep, std::shared_ptr<instance_start> start) {
  start->limits = self->state.options.limits;
  e.actor = self->spawn<caf::monitored>(instance_actor, std::move(dep),
                                        caf::actor_cast<caf::actor>(self), std::move(start));
  e.sent = 0;
  self->state.animated[e.actor.address()] = id;
}

/// The actor of instance `id` is gone (parked, ended or dead): no DOWN
/// message is wanted from it any more.
void forget_actor(self_ptr self, admin_state::instance_entry& e) {
  if (e.actor) {
    self->demonitor(e.actor);
    self->state.animated.erase(e.actor.address());
  }
  e.actor = nullptr;
}

/// Starts an instance with id `id`; the error says why it cannot start.
/// `exec_timeout`: a continueAs's workflowExecTimeout, replacing the
/// definition's.
expected<void> start_instance(self_ptr self, const std::string& id, const std::string& workflow,
                              const std::string& version, const std::string& input,
                              std::optional<dsl::workflow_exec_timeout> exec_timeout = {}) {
  auto dep = find_deployment(self, workflow, version);
  if (!dep)
    return fail("not-found", version.empty()
                               ? fmt::format("no workflow '{}' is deployed", workflow)
                               : fmt::format("workflow '{}' version '{}' is not deployed",
                                             workflow, version));
  if (auto within = check_json(input, self->state.options.json, "the input"); !within)
    return tl::unexpected(within.error());
  auto parsed = json::parse(input.empty() ? "{}" : input, nullptr, false);
  if (parsed.is_discarded())
    return fail("input", "the input is not JSON");
  if (!parsed.is_object())
    return fail("input", fmt::format("the input must be a JSON object, not {}",
                                     parsed.type_name()));
  auto start = std::make_shared<instance_start>();
  if (dep->input)
    if (auto wrong = dep->input->violations(parsed); !wrong.empty()) {
      auto what = fmt::format("the input does not satisfy the dataInputSchema: {}",
                              fmt::join(wrong, "; "));
      if (dep->input->refuses_invalid())
        return fail("input", what);
      start->value.history.push_back({now_ms(), "input.invalid", std::move(what)});
    }
  start->value.id = id;
  start->value.workflow_id = workflow;
  start->value.exec_timeout = std::move(exec_timeout);
  start->value.version = dep->plan->definition->version.value_or("");
  start->input = parsed.dump();
  // What a crash of its actor before its first step falls back to.
  start->value.data = jq::value::from_json(parsed);
  auto& entry = self->state.instances[id];
  entry.workflow = workflow;
  entry.version = start->value.version;
  entry.snapshot = snapshot(start->value);
  animate_with(self, id, entry, std::move(dep), std::move(start));
  return {};
}

bool ended(const admin_state::instance_entry& e) { return is_final(e.status); }

/// The actor of a live instance, woken from its snapshot if it is parked;
/// none once it ended (or if its snapshot cannot be read).
const caf::actor& animate(self_ptr self, const std::string& id, admin_state::instance_entry& e) {
  if (e.actor || ended(e))
    return e.actor;
  auto value = restore(e.snapshot);
  auto dep = find_deployment(self, e.workflow, e.version);
  if (!value || !dep)
    return e.actor;
  auto start = std::make_shared<instance_start>();
  start->value = std::move(*value);
  start->parked = true;
  animate_with(self, id, e, std::move(dep), std::move(start));
  return e.actor;
}

/// Sends to a live instance, waking it if it is parked.
template <class... Ts>
void send_to(self_ptr self, const std::string& id, admin_state::instance_entry& e, Ts&&... xs) {
  if (const auto& a = animate(self, id, e)) {
    ++e.sent;
    self->send(a, std::forward<Ts>(xs)...);
  }
}

/// A parked or ended instance, read back from its snapshot.
expected<instance> snapshotted(const admin_state::instance_entry& e) {
  return restore(e.snapshot);
}

/// `get` or `history` of a parked or ended instance, from its snapshot.
std::string describe_snapshot(self_ptr self, const admin_state::instance_entry& e,
                              bool history) {
  auto i = snapshotted(e);
  if (!i)
    return failure("snapshot", i.error().message);
  if (history)
    return history_json(*i).dump();
  auto dep = find_deployment(self, e.workflow, e.version);
  return describe(*i, *dep->plan).dump();
}

/// Forwards a request to a live instance (waking it if it is parked and
/// the request changes it), or answers from its snapshot.
template <class Atom, class... Ts>
caf::result<std::string> to_instance(self_ptr self, const std::string& id, Atom atom, Ts... xs) {
  auto& st = self->state;
  auto it = st.instances.find(id);
  if (it == st.instances.end())
    return failure("not-found", fmt::format("no instance '{}' on this node", id));
  auto& e = it->second;
  constexpr bool reads = std::is_same_v<Atom, get_atom> || std::is_same_v<Atom, history_atom>;
  if (e.actor || (!reads && !ended(e))) {
    if (const auto& a = animate(self, id, e)) {
      ++e.sent;
      self->delegate(a, atom, std::move(xs)...);
      return caf::delegated<std::string>{};
    }
  }
  if constexpr (reads)
    return describe_snapshot(self, e, std::is_same_v<Atom, history_atom>);
  else
    return failure("state", fmt::format("instance '{}' has ended ({})", id,
                                        to_string(it->second.status)));
}

/// Arms the timer of the next scheduled start of `workflow`, if any.
void arm_schedule(self_ptr self, const std::string& workflow) {
  auto& s = self->state.schedules.at(workflow);
  auto now = now_ms();
  auto next = s.when.next_after(now, s.started);
  if (!next) {
    self->state.schedules.erase(workflow);
    return;
  }
  self->delayed_send(self, std::chrono::milliseconds{*next - now}, schedule_atom::value, workflow,
                     s.generation);
}

/// The event-state start of a workflow's version, if it starts with one.
const dsl::event_state* event_start(const deployment& dep) {
  const auto& w = *dep.plan->definition;
  return std::get_if<dsl::event_state>(&w.states[dep.plan->start_state].properties);
}

/// The eventTimeout of a workflow's start state (its own, else the
/// workflow's).
std::optional<std::chrono::milliseconds> start_event_timeout(const deployment& dep) {
  const auto& w = *dep.plan->definition;
  const auto& s = w.states[dep.plan->start_state];
  if (s.timeouts.event_timeout)
    return s.timeouts.event_timeout->value;
  if (w.timeouts.event_timeout)
    return w.timeouts.event_timeout->value;
  return std::nullopt;
}

/// Starts an instance of `workflow` that an event (or several) started, and
/// delivers them to it in order; the instance is known by its start key
/// until it ends, so that later events of the same correlation join it.
void start_by_events(self_ptr self, const std::string& workflow, const std::string& version,
                     const std::string& start_key, std::vector<transport::cloud_event> events) {
  auto& st = self->state;
  auto id = new_id(st.random);
  if (auto started = start_instance(self, id, workflow, version, "{}"); !started) {
    MESHFLOW_LOG(warn, "admin", "an event could not start '{}': {}", workflow,
                 started.error().message);
    return;
  }
  auto& entry = st.instances[id];
  if (!start_key.empty()) {
    st.started_by[start_key] = id;
    entry.start_key = start_key;
  }
  for (auto& e : events)
    send_to(self, id, entry, event_atom::value, std::move(e));
}

/// Routes an event with no instance named: to every live instance whose
/// workflow consumes its type (each instance checks its correlation), and
/// to the start state of every workflow that starts with an event state
/// waiting for it — unless a live instance of that workflow was started by
/// events of the same correlation (that one has it already). An `exclusive`
/// start state starts an instance at once; a non-exclusive one gathers its
/// events by correlation and starts the instance when all have arrived, or
/// drops them when its eventTimeout passes first (SEMANTICS.md, "Errors,
/// retries, timeouts"). Returns how many instances or gatherings took it.
int route_event(self_ptr self, const transport::cloud_event& e) {
  auto& st = self->state;
  int delivered = 0;
  auto consumes = [&](const dsl::workflow& w) {
    for (const auto& d : w.events)
      if (d.kind == dsl::event_kind::consumed && d.type == e.type)
        return true;
    return false;
  };
  for (auto& [id, entry] : st.instances) {
    if (ended(entry))
      continue;
    auto dep = find_deployment(self, entry.workflow, entry.version);
    if (dep && consumes(*dep->plan->definition)) {
      send_to(self, id, entry, event_atom::value, e);
      ++delivered;
    }
  }
  for (const auto& [workflow, version] : st.latest) {
    auto dep = find_deployment(self, workflow, version);
    const auto* ev = event_start(*dep);
    if (!ev)
      continue;
    const auto& w = *dep->plan->definition;
    std::optional<std::string> key;
    std::string ref;
    std::size_t wanted = 0;
    for (const auto& on : ev->on_events)
      for (const auto& r : on.event_refs) {
        ++wanted;
        if (!key && (key = correlate(w.events[dep->plan->event_index.at(r)], e)))
          ref = r;
      }
    if (!key)
      continue;
    auto start_key = fmt::format("{}\n{}", workflow, *key);
    if (!key->empty() && st.started_by.contains(start_key))
      continue;
    if (ev->exclusive) {
      start_by_events(self, workflow, version, key->empty() ? "" : start_key, {e});
      ++delivered;
      continue;
    }
    auto& g = st.gatherings[start_key];
    if (std::find(g.arrived.begin(), g.arrived.end(), ref) != g.arrived.end()) {
      MESHFLOW_LOG(info, "admin", "event {} ({}) for the start of '{}' dropped: {} has arrived "
                   "already for {}", e.id, e.type, workflow, ref, key->empty() ? "it" : *key);
      continue;
    }
    if (g.arrived.empty()) {
      g.version = version;
      g.generation = ++st.generations;
      if (auto t = start_event_timeout(*dep))
        self->delayed_send(self, *t, gather_atom::value, start_key, g.generation);
    }
    g.arrived.push_back(ref);
    g.events.push_back(e);
    ++delivered;
    if (g.arrived.size() < wanted)
      continue;
    auto events = std::move(g.events);
    st.gatherings.erase(start_key);
    start_by_events(self, workflow, version, key->empty() ? "" : start_key, std::move(events));
  }
  return delivered;
}

/// Instance `id` ended with final snapshot `snap`: its waiters and its
/// parent (a sync subflow's) are told, and it is kept as that snapshot.
void instance_ended(self_ptr self, const std::string& id, std::string snap) {
  auto& st = self->state;
  auto it = st.instances.find(id);
  if (it == st.instances.end())
    return;
  auto& e = it->second;
  forget_actor(self, e);
  e.snapshot = std::move(snap);
  if (!e.start_key.empty())
    st.started_by.erase(std::exchange(e.start_key, {}));
  auto i = snapshotted(e);
  if (!i)
    return;
  e.status = i->status;
  auto dep = find_deployment(self, e.workflow, e.version);
  auto text = describe(*i, *dep->plan).dump();
  for (auto& w : e.waiters)
    w.deliver(text);
  e.waiters.clear();
  if (!e.parent.empty()) {
    auto r = i->status == instance_status::completed
               ? invocation_result::success(i->data.dump())
               : invocation_result::failed(i->error ? i->error->code : "subflow",
                                           fmt::format("subflow {} {}: {}", id,
                                                       to_string(i->status),
                                                       i->error ? i->error->message : ""));
    auto parent = std::exchange(e.parent, {});
    if (auto p = st.instances.find(parent); p != st.instances.end())
      send_to(self, parent, p->second, child_done_atom::value, e.parent_token, std::move(r));
  }
}

/// The actor of instance `id` died without ending or parking it (an
/// exception, a bug): the instance is FAULTED with code `crash` from the
/// last snapshot the admin has, so that `retry` carries on from there.
void instance_crashed(self_ptr self, const std::string& id, const caf::error& reason) {
  auto& e = self->state.instances.at(id);
  auto why = self->system().render(reason);
  MESHFLOW_LOG(warn, "admin", "the actor of instance {} died: {}", id, why);
  auto i = snapshotted(e);
  if (!i) {
    forget_actor(self, e);
    e.status = instance_status::faulted;
    return;
  }
  auto dep = find_deployment(self, e.workflow, e.version);
  std::string state;
  if (i->current && dep && i->current->state < dep->plan->definition->states.size())
    state = dep->plan->definition->states[i->current->state].name;
  i->status = instance_status::faulted;
  i->error = instance_error{"crash",
                            fmt::format("the instance's actor died ({}); the instance is as its "
                                        "last snapshot left it, and `retry` carries on from there",
                                        why),
                            state};
  i->history.push_back({now_ms(), "status", fmt::format("FAULTED crash: {}", why)});
  instance_ended(self, id, snapshot(*i));
}

} // namespace

namespace {

/// Installs a prepared deployment: binds its functions (spawning only),
/// makes it the version deployed last of its workflow and arms its
/// schedule. The answer to the deploy.
std::string install(self_ptr self, prepared_deployment& p) {
  if (p.failure)
    return failure(p.failure->code, p.failure->message);
  auto& st = self->state;
  auto dep = std::make_shared<deployment>();
  dep->plan = p.plan;
  dep->input = std::move(p.input);
  dep->schedule = std::move(p.schedule);
  auto ctx = binding_context_of(st.options, p.plan);
  for (auto& f : p.functions)
    dep->bindings.push_back(bind_function(self->system(), ctx, std::move(f)));
  const auto& w = *dep->plan->definition;
  auto version = w.version.value_or("");
  auto& slot = st.workflows[w.identity()][version];
  if (slot)
    for (auto& b : slot->bindings)
      self->send_exit(b, caf::exit_reason::user_shutdown);
  slot = dep;
  st.latest[w.identity()] = version;
  st.schedules.erase(w.identity());
  if (dep->schedule) {
    st.schedules[w.identity()] = {version, *dep->schedule, 0, ++st.generations};
    arm_schedule(self, w.identity());
  }
  return json{{"workflows", {{{"id", w.identity()}, {"version", version}}}}}.dump();
}

caf::behavior admin(self_ptr self, node_options options) {
  self->state.options = std::move(options);

  // Told to stop: the live instances and the function bindings stop with
  // the admin. (Instances hold the admin and it holds them; without this
  // neither would end, and the node would hang on its way out.)
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& [id, e] : self->state.instances)
      if (e.actor)
        self->send_exit(e.actor, msg.reason);
    for (auto& [workflow, versions] : self->state.workflows)
      for (auto& [version, dep] : versions)
        for (const auto& b : dep->bindings)
          self->send_exit(b, msg.reason);
    self->quit(msg.reason);
  });
  // An instance actor that dies without ending or parking its instance.
  self->set_down_handler([self](caf::down_msg& down) {
    auto it = self->state.animated.find(down.source);
    if (it == self->state.animated.end())
      return;  // it parked or ended its instance, then quit
    auto id = std::move(it->second);
    self->state.animated.erase(it);
    auto e = self->state.instances.find(id);
    if (e != self->state.instances.end() && e->second.actor.address() == down.source)
      instance_crashed(self, id, down.reason);
  });
  return {
    // Each deploy is prepared by a deployer of its own; the admin serves on
    // meanwhile, and installs each when it is ready.
    [self](deploy_atom, std::string& path, std::string& text) -> caf::result<std::string> {
      auto answer = self->make_response_promise<std::string>();
      auto worker = self->spawn<caf::detached>(deployer, self->state.options);
      self->request(worker, caf::infinite, deploy_atom::value, std::move(path), std::move(text))
        .then([self, answer](prepared_ptr& p) mutable { answer.deliver(install(self, *p)); },
              [self, answer](caf::error& e) mutable {
                answer.deliver(failure("definition", fmt::format("the deploy failed: {}",
                                                                 self->system().render(e))));
              });
      return answer;
    },
    [self](start_atom, const std::string& workflow, const std::string& version,
           const std::string& input) -> std::string {
      auto id = new_id(self->state.random);
      if (auto started = start_instance(self, id, workflow, version, input); !started)
        return failure(started.error().code, started.error().message);
      return json{{"id", id}}.dump();
    },
    [self](get_atom, const std::string& id) { return to_instance(self, id, get_atom::value); },
    [self](history_atom, const std::string& id) {
      return to_instance(self, id, history_atom::value);
    },
    [self](pause_atom, const std::string& id) {
      return to_instance(self, id, pause_atom::value);
    },
    [self](resume_atom, const std::string& id) {
      return to_instance(self, id, resume_atom::value);
    },
    [self](cancel_atom, const std::string& id) {
      return to_instance(self, id, cancel_atom::value, std::string{"cancelled by an operator"});
    },
    [self](retry_atom, const std::string& id) -> caf::result<std::string> {
      auto& st = self->state;
      auto it = st.instances.find(id);
      if (it == st.instances.end())
        return failure("not-found", fmt::format("no instance '{}' on this node", id));
      auto& e = it->second;
      if (e.status != instance_status::faulted)
        return failure("state", fmt::format("only a FAULTED instance can be retried; '{}' is {}",
                                            id, to_string(e.status)));
      auto restored = snapshotted(e);
      auto dep = find_deployment(self, e.workflow, e.version);
      if (!restored || !dep)
        return failure("snapshot", fmt::format("instance '{}' cannot be restored", id));
      auto start = std::make_shared<instance_start>();
      start->value = std::move(*restored);
      animate_with(self, id, e, std::move(dep), std::move(start));
      e.sent = 1;
      self->delegate(e.actor, retry_atom::value);
      return caf::delegated<std::string>{};
    },
    [self](wait_atom, const std::string& id) -> caf::result<std::string> {
      auto& st = self->state;
      auto it = st.instances.find(id);
      if (it == st.instances.end())
        return failure("not-found", fmt::format("no instance '{}' on this node", id));
      if (ended(it->second))
        return describe_snapshot(self, it->second, false);
      auto promise = self->make_response_promise<std::string>();
      it->second.waiters.push_back(promise);
      return promise;
    },
    [self](list_atom, const std::string& workflow, const std::string& status) -> std::string {
      auto out = json::array();
      for (const auto& [id, e] : self->state.instances) {
        if (!workflow.empty() && e.workflow != workflow)
          continue;
        if (!status.empty() && to_string(e.status) != status)
          continue;
        out.push_back({{"id", id},
                       {"workflowId", e.workflow},
                       {"version", e.version},
                       {"status", to_string(e.status)}});
      }
      return out.dump();
    },
    [self](event_atom, const std::string& text, const std::string& id) -> std::string {
      if (auto within = check_json(text, self->state.options.json, "the event"); !within)
        return failure(within.error().code, within.error().message);
      auto e = transport::json_format::parse(text);
      if (!e)
        return failure("event", e.error().message);
      auto& st = self->state;
      std::string target = id;
      if (target.empty())
        if (auto a = e->attribute("workflowinstanceid"))
          target = std::string{*a};
      if (!target.empty()) {
        auto it = st.instances.find(target);
        if (it == st.instances.end() || ended(it->second))
          return failure("not-found", fmt::format("no live instance '{}' on this node", target));
        send_to(self, target, it->second, event_atom::value, std::move(*e));
        return json{{"delivered", 1}}.dump();
      }
      return json{{"delivered", route_event(self, *e)}}.dump();
    },
    // From the instances.
    [self](status_atom, const std::string& id, const std::string& status) {
      if (auto it = self->state.instances.find(id); it != self->state.instances.end())
        it->second.status = parse_status(status).value_or(it->second.status);
    },
    [self](ended_atom, const std::string& id, std::string& snap) {
      instance_ended(self, id, std::move(snap));
    },
    [self](child_atom, const std::string& id, const std::string& workflow,
           const std::string& version, const std::string& input, std::uint64_t token) {
      // A sync subflow's id is its parent's, a dot and the action's token.
      auto parent = id.substr(0, id.rfind('.'));
      auto started = start_instance(self, id, workflow, version, input);
      if (!started) {
        if (auto p = self->state.instances.find(parent); token && p != self->state.instances.end())
          send_to(self, parent, p->second, child_done_atom::value, token,
                  invocation_result::failed(started.error().code, started.error().message));
        return;
      }
      if (token) {
        self->state.instances[id].parent = parent;
        self->state.instances[id].parent_token = token;
      }
    },
    // `end.continueAs`: instance `from` goes on as a new instance `id`. If
    // `from` is a sync subflow, its parent waits for the last instance of
    // the chain (SEMANTICS.md): the link moves to `id`.
    [self](continue_atom, const std::string& from, const std::string& id,
           const std::string& workflow, const std::string& version, const std::string& input,
           const std::string& exec_timeout) {
      auto& st = self->state;
      std::optional<dsl::workflow_exec_timeout> timeout;
      if (!exec_timeout.empty())
        if (auto t = decode_exec_timeout(exec_timeout))
          timeout = std::move(*t);
      auto started = start_instance(self, id, workflow, version, input, std::move(timeout));
      auto source = st.instances.find(from);
      if (source == st.instances.end() || source->second.parent.empty())
        return;
      auto parent = std::exchange(source->second.parent, {});
      auto token = source->second.parent_token;
      if (started) {
        st.instances[id].parent = parent;
        st.instances[id].parent_token = token;
      } else if (auto p = st.instances.find(parent); p != st.instances.end()) {
        send_to(self, parent, p->second, child_done_atom::value, token,
                invocation_result::failed(started.error().code, started.error().message));
      }
    },
    // A non-exclusive start state's events did not all arrive within its
    // eventTimeout: no instance starts (route_event).
    [self](gather_atom, const std::string& key, std::uint64_t generation) {
      auto& st = self->state;
      auto it = st.gatherings.find(key);
      if (it == st.gatherings.end() || it->second.generation != generation)
        return;
      auto workflow = key.substr(0, key.find('\n'));
      MESHFLOW_LOG(info, "admin", "no instance of '{}' starts for {}: only {} of its start "
                   "events arrived within the start state's eventTimeout; they are dropped",
                   workflow, key.substr(key.find('\n') + 1), fmt::join(it->second.arrived, ", "));
      st.gatherings.erase(it);
    },
    // Parking: an instance with nothing in flight offers its snapshot; the
    // admin takes it if the instance has handled all it was sent.
    [self](idle_atom, const std::string& id, std::uint64_t received, std::string& snap) {
      auto it = self->state.instances.find(id);
      if (it == self->state.instances.end())
        return;
      auto& e = it->second;
      if (!e.actor || e.actor.address() != self->current_sender())
        return;
      e.snapshot = std::move(snap);  // a crash of the actor falls back to it
      if (e.sent != received)
        return;  // more is on its way to it; it offers again after that
      self->send(e.actor, park_atom::value);
      forget_actor(self, e);
    },
    [self](arm_atom, const std::string& id, std::uint64_t token, epoch_ms deadline) {
      auto delay = std::chrono::milliseconds{std::max<epoch_ms>(0, deadline - now_ms())};
      self->delayed_send(self, delay, timer_atom::value, id, token);
    },
    [self](timer_atom, const std::string& id, std::uint64_t token) {
      auto it = self->state.instances.find(id);
      if (it != self->state.instances.end() && !ended(it->second))
        send_to(self, id, it->second, timer_atom::value, token);
    },
    [self](schedule_atom, const std::string& workflow, std::uint64_t generation) {
      auto& st = self->state;
      auto it = st.schedules.find(workflow);
      if (it == st.schedules.end() || it->second.generation != generation)
        return;  // redeployed since
      ++it->second.started;
      start_instance(self, new_id(st.random), workflow, it->second.version, "{}");
      arm_schedule(self, workflow);
    },
    [self](produced_atom, const std::string& id, const std::string& event) {
      if (self->state.options.event_listener)
        self->send(self->state.options.event_listener, produced_atom::value, id, event);
    },
  };
}

} // namespace

caf::actor spawn_admin(caf::actor_system& sys, node_options options) {
  if (!options.http)
    options.http = std::make_shared<transport::http_client>();
  return sys.spawn(admin, std::move(options));
}

} // namespace meshflow::actors
