#include "meshflow/actors/router.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "meshflow/actors/bus.hpp"
#include "meshflow/actors/command.hpp"
#include "meshflow/actors/correlation.hpp"
#include "meshflow/actors/engine.hpp"
#include "meshflow/actors/partition.hpp"
#include "meshflow/actors/protocol.hpp"
#include "meshflow/log.hpp"
#include "meshflow/transport/json_format.hpp"

namespace meshflow::actors {

namespace {

/// The live instances of one deployed version, indexed for routing.
struct tracked_version {
  std::unordered_set<std::string> live;
  /// Instance id -> its recorded correlation values (`name=value;` each).
  std::unordered_map<std::string, std::string> correlation;
  /// `name=value` -> the instances that recorded that value.
  std::unordered_map<std::string, std::unordered_set<std::string>> by_value;

  void remove(const std::string& id) {
    live.erase(id);
    auto it = correlation.find(id);
    if (it == correlation.end())
      return;
    for_each_value(it->second, [&](const std::string& pair) {
      if (auto b = by_value.find(pair); b != by_value.end()) {
        b->second.erase(id);
        if (b->second.empty())
          by_value.erase(b);
      }
    });
    correlation.erase(it);
  }

  void add(const std::string& id, const std::string& values) {
    live.insert(id);
    if (values.empty())
      return;
    correlation[id] = values;
    for_each_value(values, [&](const std::string& pair) { by_value[pair].insert(id); });
  }

  /// Whether instance `id` recorded a value for attribute `name`.
  bool recorded(const std::string& id, const std::string& name) const {
    auto it = correlation.find(id);
    return it != correlation.end() &&
           (it->second.starts_with(name + "=") || it->second.find(";" + name + "=") !=
                                                     std::string::npos);
  }

  template <class F>
  static void for_each_value(const std::string& values, F f) {
    std::size_t at = 0;
    while (at < values.size()) {
      auto end = values.find(';', at);
      if (end == std::string::npos)
        end = values.size();
      f(values.substr(at, end - at));
      at = end + 1;
    }
  }
};

struct router_state {
  router_options o;
  std::vector<caf::actor> partitions;
  /// Told which business topics to read.
  caf::actor bus;
  /// By `workflow@version`.
  std::map<std::string, tracked_version> tracked;
  /// Live instances started by events, by start key, and the other way.
  std::unordered_map<std::string, std::string> started_by;
  std::unordered_map<std::string, std::string> start_key_of;
  /// The events gathering for a start state with `exclusive: false`.
  struct gathering {
    std::string version;
    std::vector<consumed_event> events;
    std::vector<std::string> arrived;  // event references
    std::uint64_t generation = 0;
  };
  std::map<std::string, gathering> gatherings;
  std::uint64_t generations = 0;
  /// The commands the events read since the last `routed_atom` became:
  /// written with those events' offsets, in one transaction.
  std::vector<command> routed;
  static inline const char* name = "meshflow.router";
};

using self_ptr = caf::stateful_actor<router_state>*;

std::string version_key(const std::string& workflow, const std::string& version) {
  return fmt::format("{}@{}", workflow, version);
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

/// A start command for the events that start an instance of `workflow`.
command start_by_events(self_ptr self, const std::string& workflow, const std::string& version,
                        const std::string& start_key,
                        std::vector<consumed_event> events) {
  auto id = new_instance_id();
  if (!start_key.empty()) {
    self->state.started_by[start_key] = id;
    self->state.start_key_of[id] = start_key;
  }
  start_command s;
  s.workflow_id = workflow;
  s.version = version;
  s.input = "{}";
  s.start_key = start_key;
  s.events = std::move(events);
  return command{std::move(id), {}, std::move(s)};
}

/// Step 2: the live instances `c` may be for.
void to_live_instances(self_ptr self, const consumed_event& c, std::vector<command>& out) {
  const auto& e = c.event;
  auto& st = self->state;
  std::unordered_set<std::string> targets;
  for (auto& [key, t] : st.tracked) {
    auto at = key.rfind('@');
    auto dep = st.o.deployed->find(key.substr(0, at), key.substr(at + 1));
    if (!dep)
      continue;
    const auto& defs = dep->plan->definition->events;
    for (std::size_t k = 0; k < defs.size(); ++k) {
      const auto& d = defs[k];
      if (d.kind != dsl::event_kind::consumed || k >= dep->consumed_while_running.size() ||
          !dep->consumed_while_running[k] ||
          !correlate(d, e, {}, dep->channel_of(k), c.channel))
        continue;
      auto attribute = std::find_if(d.correlation.begin(), d.correlation.end(),
                                    [](const auto& c) { return !c.context_attribute_value; });
      if (attribute == d.correlation.end()) {
        targets.insert(t.live.begin(), t.live.end());
        continue;
      }
      const auto& name = attribute->context_attribute_name;
      auto value = e.attribute(name);
      if (auto b = t.by_value.find(fmt::format("{}={}", name, *value)); b != t.by_value.end())
        targets.insert(b->second.begin(), b->second.end());
      for (const auto& id : t.live)
        if (!t.recorded(id, name))
          targets.insert(id);
    }
  }
  for (const auto& id : targets)
    out.push_back(command{id, {}, event_command{e, c.channel}});
}

/// Step 3: the instances `c` starts, or the gatherings it joins.
void to_starts(self_ptr self, const consumed_event& c, std::vector<command>& out,
               int& delivered) {
  const auto& e = c.event;
  auto& st = self->state;
  for (const auto& [workflow, version] : st.o.deployed->latest()) {
    auto dep = st.o.deployed->find(workflow, version);
    const auto& w = *dep->plan->definition;
    const auto* ev = std::get_if<dsl::event_state>(&w.states[dep->plan->start_state].properties);
    if (!ev)
      continue;
    std::optional<std::string> key;
    std::string ref;
    std::size_t wanted = 0;
    for (const auto& on : ev->on_events)
      for (const auto& r : on.event_refs) {
        ++wanted;
        auto d = dep->plan->event_index.at(r);
        if (!key && (key = correlate(w.events[d], e, {}, dep->channel_of(d), c.channel)))
          ref = r;
      }
    if (!key)
      continue;
    auto start_key = fmt::format("{}\n{}", workflow, *key);
    if (!key->empty() && st.started_by.contains(start_key))
      continue;
    if (ev->exclusive) {
      out.push_back(start_by_events(self, workflow, version, key->empty() ? "" : start_key, {c}));
      ++delivered;
      continue;
    }
    auto& g = st.gatherings[start_key];
    if (std::find(g.arrived.begin(), g.arrived.end(), ref) != g.arrived.end()) {
      MESHFLOW_LOG(info, "router", "event {} ({}) for the start of '{}' dropped: {} has arrived "
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
    g.events.push_back(c);
    ++delivered;
    if (g.arrived.size() < wanted)
      continue;
    auto events = std::move(g.events);
    st.gatherings.erase(start_key);
    out.push_back(
      start_by_events(self, workflow, version, key->empty() ? "" : start_key, std::move(events)));
  }
}

/// Routes `c` (`target` names its instance, or is empty) into `out`; the
/// number of instances and gatherings it went to.
int route(self_ptr self, const consumed_event& c, std::string target, std::vector<command>& out) {
  const auto& e = c.event;
  int delivered = 0;
  if (target.empty())
    if (auto a = e.attribute("workflowinstanceid"))
      target = std::string{*a};
  if (!target.empty()) {
    out.push_back(command{std::move(target), {}, event_command{e, c.channel}});
    delivered = 1;
  } else {
    to_live_instances(self, c, out);
    delivered = static_cast<int>(out.size());
    to_starts(self, c, out, delivered);
  }
  return delivered;
}

/// Routes an event the admin was given: its commands are written at once.
int route_now(self_ptr self, const consumed_event& c, std::string target) {
  std::vector<command> out;
  auto delivered = route(self, c, std::move(target), out);
  if (!out.empty())
    self->send(self->state.o.engine, dispatch_atom::value, std::move(out));
  return delivered;
}

/// Tells the bus the channels the deployed versions consume from, to read
/// them, and those they produce to, to make sure they exist.
void listen(self_ptr self) {
  auto& st = self->state;
  if (!st.bus)
    return;
  channel_operations consumed;
  std::set<std::string> produced;
  for (const auto& dep : st.o.deployed->all()) {
    const auto& events = dep->plan->definition->events;
    for (std::size_t d = 0; d < events.size(); ++d) {
      auto channel = std::string{dep->channel_of(d)};
      if (channel.empty())
        continue;
      if (events[d].kind == dsl::event_kind::produced) {
        produced.insert(channel);
        continue;
      }
      auto& ops = consumed[channel];
      if (d < dep->event_operations.size() && dep->event_operations[d])
        ops.push_back(dep->event_operations[d]);
    }
  }
  self->send(st.bus, listen_atom::value, std::move(consumed),
             std::vector<std::string>(produced.begin(), produced.end()));
}

caf::behavior router(self_ptr self, router_options options) {
  self->state.o = std::move(options);
  return {
    [self](attach_atom, std::vector<caf::actor>& partitions, caf::actor& bus) {
      self->state.partitions = std::move(partitions);
      self->state.bus = std::move(bus);
      listen(self);
    },
    [self](event_atom, const std::string& text,
           const std::string& id) -> caf::result<std::string> {
      if (auto within = check_json(text, self->state.o.json, "the event"); !within)
        return error_json(within.error());
      auto e = transport::json_format::parse(text);
      if (!e)
        return error_json({"event", e.error().message});
      auto target = id;
      if (target.empty())
        if (auto a = e->attribute("workflowinstanceid"))
          target = std::string{*a};
      if (target.empty() || self->state.partitions.empty())
        return nlohmann::json{{"delivered", route_now(self, {std::move(*e), {}}, target)}}.dump();
      // A request names its instance: refused unless it lives.
      auto answer = self->make_response_promise<std::string>();
      auto& parts = self->state.partitions;
      self->request(parts[partition_of(target, static_cast<std::uint32_t>(parts.size()))],
                    caf::infinite, get_atom::value, target)
        .then([self, answer, target, e = std::move(*e)](std::string& got) mutable {
          auto j = nlohmann::json::parse(got, nullptr, false);
          auto status = j.is_object() ? j.value("status", "") : std::string{};
          if (status.empty() || is_final(parse_status(status).value_or(
                                  instance_status::completed))) {
            answer.deliver(error_json(
              {"not-found", fmt::format("no live instance '{}' on this node", target)}));
            return;
          }
          answer.deliver(
            nlohmann::json{{"delivered", route_now(self, {std::move(e), {}}, target)}}.dump());
        });
      return answer;
    },
    // After the deployed versions it was told of: once the bus reads
    // their channels.
    [self](listening_atom a) -> caf::result<bool> {
      if (!self->state.bus)
        return true;
      self->delegate(self->state.bus, a);
      return caf::delegated<bool>{};
    },
    [self](route_atom, consumed_event& c) { route(self, c, {}, self->state.routed); },
    [self](routed_atom a, std::vector<transport::kafka_topic_partition>& offsets) {
      self->send(self->state.o.engine, a, std::exchange(self->state.routed, {}),
                 std::move(offsets));
    },
    [self](track_atom, const instance_track& t) {
      auto& st = self->state;
      auto& versions = st.tracked[version_key(t.workflow_id, t.version)];
      versions.remove(t.id);
      if (t.live) {
        versions.add(t.id, t.correlation);
        return;
      }
      if (auto k = st.start_key_of.find(t.id); k != st.start_key_of.end()) {
        st.started_by.erase(k->second);
        st.start_key_of.erase(k);
      }
    },
    [self](deployed_atom, deployments& d) {
      self->state.o.deployed = std::move(d);
      listen(self);
    },
    [self](gather_atom, const std::string& key, std::uint64_t generation) {
      auto& st = self->state;
      auto it = st.gatherings.find(key);
      if (it == st.gatherings.end() || it->second.generation != generation)
        return;
      MESHFLOW_LOG(info, "router", "no instance of '{}' starts for {}: only {} of its start "
                   "events arrived within the start state's eventTimeout; they are dropped",
                   key.substr(0, key.find('\n')), key.substr(key.find('\n') + 1),
                   fmt::join(it->second.arrived, ", "));
      st.gatherings.erase(it);
    },
  };
}

} // namespace

caf::actor spawn_router(caf::actor_system& sys, router_options options) {
  return sys.spawn(router, std::move(options));
}

} // namespace meshflow::actors
