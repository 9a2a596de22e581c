#include "meshflow/actors/partition.hpp"

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "instance_actor.hpp"
#include "meshflow/actors/bus.hpp"
#include "meshflow/actors/protocol.hpp"
#include "meshflow/log.hpp"

namespace meshflow::actors {

namespace {

using json = nlohmann::json;

struct partition_state {
  struct entry {
    std::string workflow;
    std::string version;
    instance_status status = instance_status::running;
    /// While animated; none while parked or once ended.
    caf::actor actor;
    /// Commands sent to `actor` and not answered yet.
    std::uint32_t in_flight = 0;
    /// The latest snapshot: while animated, the last report's (what a crash
    /// of its actor falls back to); while parked, the instance; once ended,
    /// the final one.
    std::string snapshot;
    /// The correlation values the router indexes it by, once it does.
    std::string correlation;
    bool tracked = false;
    std::vector<caf::response_promise> waiters;
  };

  partition_options o;
  std::map<std::string, entry> instances;
  /// The ended instances held, oldest first.
  std::deque<std::string> ended;
  /// The instance of each animated actor (its DOWN message names it).
  std::unordered_map<caf::actor_addr, std::string> animated;
  /// Admin requests waiting for a command's outcome, by request id.
  std::unordered_map<std::string, caf::response_promise> awaiting;
  /// Armed deadlines: (deadline) -> (instance, token); `alarm` is the one a
  /// tick is on its way for (0: none).
  std::multimap<epoch_ms, std::pair<std::string, std::uint64_t>> wheel;
  epoch_ms alarm = 0;
  /// What waits to be written, and the snapshots that changed since.
  partition_output out;
  std::map<std::string, std::string> changed;
  bool told_dirty = false;
  /// The batch being applied: commands not answered yet, and its answer.
  std::uint32_t batch_left = 0;
  caf::response_promise batch;
  bool in_batch = false;
  /// Counts the partition's ownerships (restore_atom): an answer of an
  /// instance actor of an earlier one is ignored.
  std::uint64_t generation = 0;
  /// Whether the node knows if the partition is its own (its first restore
  /// or revoke); until then queries wait in `held`, since an answer from
  /// nothing would be wrong.
  bool settled = false;
  std::vector<std::function<void()>> held;
  static inline const char* name = "meshflow.partition";
};

using self_ptr = caf::stateful_actor<partition_state>*;

std::string failure(std::string code, std::string message) {
  return error_json({std::move(code), std::move(message)});
}

bool ended(const partition_state::entry& e) { return is_final(e.status); }

/// The partition owes the engine something outside a batch: say so once.
void dirty(self_ptr self) {
  auto& st = self->state;
  if (st.in_batch || st.told_dirty || !st.o.engine)
    return;
  st.told_dirty = true;
  self->send(st.o.engine, dirty_atom::value, st.o.index);
}

/// Hands what waits to the engine (the batch's answer).
partition_output take_output(self_ptr self) {
  auto& st = self->state;
  for (auto& [id, snap] : st.changed)
    st.out.snapshots.emplace_back(id, std::move(snap));
  st.changed.clear();
  st.told_dirty = false;
  return std::exchange(st.out, {});
}

void finish_batch(self_ptr self) {
  auto& st = self->state;
  if (!st.in_batch || st.batch_left > 0)
    return;
  st.in_batch = false;
  st.batch.deliver(take_output(self));
}

/// The actor of instance `id` is gone (parked, ended or dead): no DOWN
/// message is wanted from it any more.
void forget_actor(self_ptr self, partition_state::entry& e) {
  if (e.actor) {
    self->demonitor(e.actor);
    self->state.animated.erase(e.actor.address());
  }
  e.actor = nullptr;
  e.in_flight = 0;
}

/// Tells the router where instance `id` stands, when that changed.
void track(self_ptr self, const std::string& id, partition_state::entry& e,
           const std::string& correlation) {
  bool live = !ended(e);
  if (!self->state.o.router || (live ? e.tracked && correlation == e.correlation : !e.tracked))
    return;
  e.correlation = correlation;
  e.tracked = live;
  self->send(self->state.o.router, track_atom::value,
             instance_track{id, e.workflow, e.version, correlation, live});
}

/// Drops the oldest ended instances beyond the partition's share.
void evict_ended(self_ptr self) {
  auto& st = self->state;
  while (st.ended.size() > st.o.keep_ended) {
    auto it = st.instances.find(st.ended.front());
    if (it != st.instances.end() && ended(it->second) && !it->second.actor)
      st.instances.erase(it);
    st.ended.pop_front();
  }
}

/// Instance `id` ended: its waiters are answered; it stays as its final
/// snapshot, among the most recent.
void ended_now(self_ptr self, const std::string& id, partition_state::entry& e) {
  forget_actor(self, e);
  track(self, id, e, e.correlation);
  self->state.ended.push_back(id);
  auto dep = self->state.o.deployed->find(e.workflow, e.version);
  auto i = restore(e.snapshot);
  if (!i || !dep)
    return;
  auto text = describe(*i, *dep->plan).dump();
  for (auto& w : e.waiters)
    w.deliver(text);
  e.waiters.clear();
  evict_ended(self);
}

/// Takes a report of instance `id`'s actor: its snapshot, its status; an
/// idle instance with nothing on its way is parked.
void take_report(self_ptr self, instance_report& r) {
  auto& st = self->state;
  auto it = st.instances.find(r.id);
  if (it == st.instances.end())
    return;
  auto& e = it->second;
  e.snapshot = r.snapshot;
  e.status = r.status;
  st.changed[r.id] = std::move(r.snapshot);
  if (!r.history.empty())
    st.out.history.emplace_back(r.id, std::move(r.history));
  if (ended(e)) {
    ended_now(self, r.id, e);
    return;
  }
  track(self, r.id, e, r.correlation);
  if (r.idle && e.in_flight == 0 && e.actor) {
    self->send(e.actor, park_atom::value);
    forget_actor(self, e);
  }
}

/// The actor of instance `id` died without ending or parking it (an
/// exception, a bug): the instance is FAULTED with code `crash` from the
/// last snapshot the partition has, so that `retry` carries on from there.
void crashed(self_ptr self, const std::string& id, const std::string& why) {
  auto& st = self->state;
  auto& e = st.instances.at(id);
  MESHFLOW_LOG(warn, "partition", "the actor of instance {} died: {}", id, why);
  auto dep = st.o.deployed->find(e.workflow, e.version);
  auto i = restore(e.snapshot);
  forget_actor(self, e);
  if (!i || !dep) {
    e.status = instance_status::faulted;
    return;
  }
  std::string state;
  if (i->current && i->current->state < dep->plan->definition->states.size())
    state = dep->plan->definition->states[i->current->state].name;
  i->status = instance_status::faulted;
  i->error = instance_error{"crash",
                            fmt::format("the instance's actor died ({}); the instance is as its "
                                        "last snapshot left it, and `retry` carries on from there",
                                        why),
                            state};
  i->history.push_back({now_ms(), "status", fmt::format("FAULTED crash: {}", why)});
  if (!i->parent_id.empty())
    st.out.commands.push_back(command{
      i->parent_id, {},
      child_done_command{i->parent_token,
                         invocation_result::failed("crash", i->error->message)}});
  e.status = i->status;
  e.snapshot = snapshot(*i);
  st.changed[id] = e.snapshot;
  ended_now(self, id, e);
  dirty(self);
}

/// Animates instance `id` from `value` with an actor of its own, monitored.
void animate(self_ptr self, const std::string& id, partition_state::entry& e,
             std::shared_ptr<const deployment> dep, instance value, bool rearm = false) {
  auto start = std::make_shared<instance_start>();
  start->value = std::move(value);
  start->rearm = rearm;
  start->limits = self->state.o.limits;
  e.actor = self->spawn<caf::monitored>(instance_actor, std::move(dep),
                                        caf::actor_cast<caf::actor>(self), std::move(start));
  self->state.animated[e.actor.address()] = id;
}

/// Answers the admin request a command carries, if any.
void answer(self_ptr self, const command& c, std::string text) {
  if (c.request_id.empty())
    return;
  auto it = self->state.awaiting.find(c.request_id);
  if (it == self->state.awaiting.end())
    return;
  it->second.deliver(std::move(text));
  self->state.awaiting.erase(it);
}

/// One command of a batch: to its instance's actor, woken or made if need
/// be. A command refused is answered (and logged) at once. One the
/// instance refuses as it stands (`state`: a pause of an ended instance) is
/// only answered; one that cannot be applied at all (`not-found`: no such
/// instance or version; `snapshot`: its instance cannot be restored) also
/// goes to the dead-letter topic with the reason, in the batch's
/// transaction.
void apply(self_ptr self, command c) {
  auto& st = self->state;
  auto refuse = [&](std::string code, std::string message) {
    MESHFLOW_LOG(info, "partition", "{} command for instance {} not applied: {}", kind_of(c),
                 c.instance_id, message);
    if (code != "state" && c.offset >= 0)
      st.out.dead.push_back({c, meshflow::error{code, message}});
    answer(self, c, failure(std::move(code), std::move(message)));
  };
  auto it = st.instances.find(c.instance_id);
  if (auto* s = std::get_if<start_command>(&c.what)) {
    if (it != st.instances.end())
      return refuse("state", fmt::format("instance '{}' exists already", c.instance_id));
    auto dep = st.o.deployed->find(s->workflow_id, s->version);
    if (!dep)
      return refuse("not-found", fmt::format("workflow '{}' version '{}' is not deployed",
                                             s->workflow_id, s->version));
    instance value;
    value.id = c.instance_id;
    value.workflow_id = s->workflow_id;
    value.version = dep->plan->definition->version.value_or("");
    auto& e = st.instances[c.instance_id];
    e.workflow = value.workflow_id;
    e.version = value.version;
    e.snapshot = snapshot(value);
    animate(self, c.instance_id, e, std::move(dep), std::move(value));
    it = st.instances.find(c.instance_id);
  }
  if (it == st.instances.end())
    return refuse("not-found", fmt::format("no instance '{}'", c.instance_id));
  auto& e = it->second;
  bool retrying = std::holds_alternative<retry_command>(c.what);
  if (ended(e) && !(retrying && e.status == instance_status::faulted)) {
    if (std::holds_alternative<timer_command>(c.what) ||
        std::holds_alternative<event_command>(c.what) ||
        std::holds_alternative<child_done_command>(c.what))
      return;  // late for an instance that ended: nothing to do
    return refuse("state", retrying ? fmt::format("only a FAULTED instance can be retried; "
                                                  "'{}' is {}",
                                                  c.instance_id, to_string(e.status))
                                    : fmt::format("instance '{}' has ended ({})", c.instance_id,
                                                  to_string(e.status)));
  }
  if (!e.actor) {
    auto dep = st.o.deployed->find(e.workflow, e.version);
    auto value = restore(e.snapshot);
    if (!dep || !value)
      return refuse("snapshot", fmt::format("instance '{}' cannot be restored: {}", c.instance_id,
                                            value ? "its version is not deployed"
                                                  : value.error().message));
    if (retrying)
      e.status = instance_status::running;
    animate(self, c.instance_id, e, std::move(dep), std::move(*value));
  }
  ++e.in_flight;
  ++st.batch_left;
  auto id = c.instance_id;
  auto request = c.request_id;
  auto generation = st.generation;
  self->request(e.actor, caf::infinite, std::move(c))
    .then(
      [self, request, generation](instance_report& r) {
        auto& st = self->state;
        if (generation != st.generation)
          return;
        if (auto it = st.instances.find(r.id); it != st.instances.end() && it->second.in_flight)
          --it->second.in_flight;
        if (!request.empty())
          if (auto w = st.awaiting.find(request); w != st.awaiting.end()) {
            w->second.deliver(r.answer);
            st.awaiting.erase(w);
          }
        take_report(self, r);
        --st.batch_left;
        finish_batch(self);
      },
      [self, id, request, generation](caf::error& err) {
        auto& st = self->state;
        if (generation != st.generation)
          return;
        // The actor died with the command: the DOWN handler makes the
        // instance FAULTED; the requester learns it from the instance.
        if (!request.empty())
          if (auto w = st.awaiting.find(request); w != st.awaiting.end()) {
            w->second.deliver(failure("crash", fmt::format("instance '{}': {}", id,
                                                           self->system().render(err))));
            st.awaiting.erase(w);
          }
        --st.batch_left;
        finish_batch(self);
      });
}

/// Sets the alarm for the earliest armed deadline, if it is earlier than
/// the one set.
void set_alarm(self_ptr self) {
  auto& st = self->state;
  if (st.wheel.empty())
    return;
  auto next = st.wheel.begin()->first;
  if (st.alarm != 0 && st.alarm <= next)
    return;
  st.alarm = next;
  self->delayed_send(self, std::chrono::milliseconds{std::max<epoch_ms>(0, next - now_ms())},
                     tick_atom::value);
}

/// Drops every instance (their actors stop) and what waits for them: the
/// partition is no longer the node's (`moved`: the requests waiting for a
/// command are answered, its new owner applies it), or is restored anew
/// (they wait on: the commands are read again after the snapshots).
void drop_all(self_ptr self, bool moved) {
  auto& st = self->state;
  ++st.generation;
  for (auto& [id, e] : st.instances) {
    if (e.actor) {
      self->demonitor(e.actor);
      self->send_exit(e.actor, caf::exit_reason::user_shutdown);
    }
    for (auto& w : e.waiters)
      w.deliver(failure("moved", fmt::format("instance '{}' is no longer on this node", id)));
    if (e.tracked && st.o.router)  // the router's index forgets it
      self->send(st.o.router, track_atom::value,
                 instance_track{id, e.workflow, e.version, e.correlation, false});
  }
  if (moved) {
    for (auto& [request, promise] : st.awaiting)
      promise.deliver(failure("moved", "the instance's partition moved to another node while "
                                       "the command waited to be applied"));
    st.awaiting.clear();
  }
  st.instances.clear();
  st.ended.clear();
  st.animated.clear();
  st.wheel.clear();
  st.alarm = 0;
  st.out = {};
  st.changed.clear();
  st.told_dirty = false;
  if (st.in_batch) {
    st.in_batch = false;
    st.batch.deliver(partition_output{});  // void: the engine knows the epoch changed
  }
  st.batch_left = 0;
}

/// The effects of re-arming a restored instance without an actor: its
/// timers go to the wheel; anything else it asks for (a call that was in
/// flight) means it needs an actor after all.
class rearm_effects final : public effects {
public:
  std::vector<std::pair<std::uint64_t, epoch_ms>> armed;
  bool needs_actor = false;

  epoch_ms now() override { return now_ms(); }
  void invoke(invocation) override { needs_actor = true; }
  void cancel(std::uint64_t) override { needs_actor = true; }
  void arm(std::uint64_t token, epoch_ms deadline) override { armed.emplace_back(token, deadline); }
  void produce(std::uint32_t, transport::cloud_event) override { needs_actor = true; }
  expected<std::string> start_child(child_start) override {
    needs_actor = true;
    return fail("restore", "not while restoring");
  }
  void end_child(const std::string&) override { needs_actor = true; }
  expected<std::string> continue_as(continuation) override {
    needs_actor = true;
    return fail("restore", "not while restoring");
  }
};

/// Re-arms a restored, running instance in place when all it needs is its
/// timers (a parked instance stays parked: no actor, no new snapshot);
/// false when it needs an actor (a call in flight, a machine that had
/// yielded, a snapshot that does not fit its version).
bool rearm_parked(self_ptr self, const std::string& id, partition_state::entry& e,
                  const deployment& dep, instance& value) {
  rearm_effects fx;
  machine m{*dep.plan, value, fx, self->state.o.limits, dep.event_channels};
  if (!m.rearm() || fx.needs_actor || m.busy())
    return false;
  for (auto [token, deadline] : fx.armed)
    self->state.wheel.emplace(deadline, std::pair{id, token});
  track(self, id, e, correlation_text(value));
  return true;
}

/// The partition's instances, from their last committed snapshots: ended
/// ones are kept as such (the most recent), the others re-armed: their
/// timers go to the wheel again (a deadline that passed fires at once);
/// one with a call in flight gets an actor, which calls it again, then
/// parks.
void restore_all(self_ptr self, partition_snapshots& snapshots) {
  auto& st = self->state;
  auto began = std::chrono::steady_clock::now();
  std::size_t animated = 0;
  std::vector<std::pair<epoch_ms, std::string>> ended_ones;
  for (auto& [id, snap] : snapshots) {
    auto value = restore(snap);
    if (!value) {
      MESHFLOW_LOG(err, "partition", "the snapshot of instance {} cannot be read: {}", id,
                   value.error().message);
      continue;
    }
    auto& e = st.instances[id];
    e.workflow = value->workflow_id;
    e.version = value->version;
    e.status = value->status;
    e.snapshot = std::move(snap);
    if (ended(e)) {
      ended_ones.emplace_back(value->history.empty() ? 0 : value->history.back().at, id);
      continue;
    }
    auto dep = st.o.deployed->find(e.workflow, e.version);
    if (!dep) {
      MESHFLOW_LOG(err, "partition", "instance {} is of {} version '{}', which is not deployed: "
                   "it waits, parked, until it is",
                   id, e.workflow, e.version);
      continue;
    }
    if (rearm_parked(self, id, e, *dep, *value))
      continue;
    if (auto fresh = restore(e.snapshot)) {  // as it was before the dry run
      animate(self, id, e, std::move(dep), std::move(*fresh), true);
      ++animated;
    }
  }
  std::sort(ended_ones.begin(), ended_ones.end());
  for (auto& [at, id] : ended_ones)
    st.ended.push_back(std::move(id));
  evict_ended(self);
  set_alarm(self);
  if (!snapshots.empty())
    MESHFLOW_LOG(info, "partition",
                 "partition {}: {} instances restored in {} ms ({} ended, {} with a call in "
                 "flight, the others parked with their timers)",
                 st.o.index, snapshots.size(),
                 std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - began)
                   .count(),
                 ended_ones.size(), animated);
}

enum class query_kind { get, history };

/// What `get` and `wait` answer from an instance's snapshot.
std::string described(self_ptr self, const std::string& snapshot_bytes) {
  auto i = restore(snapshot_bytes);
  if (!i)
    return failure("snapshot", i.error().message);
  auto dep = self->state.o.deployed->find(i->workflow_id, i->version);
  if (!dep)
    return failure("snapshot", fmt::format("version '{}' of '{}' is not deployed", i->version,
                                           i->workflow_id));
  return describe(*i, *dep->plan).dump();
}

/// Answers `promise` with the whole history of instance `i`: what
/// `<cluster>.history` holds of it (every entry up to the last commit),
/// then the entries of its snapshot's tail that came after. An instance
/// that dropped nothing of its history yet is answered from the tail.
void deliver_history(self_ptr self, instance i, caf::typed_response_promise<std::string> promise) {
  if (i.history_dropped == 0 || !self->state.o.bus) {
    promise.deliver(history_json(i).dump());
    return;
  }
  self->request(self->state.o.bus, caf::infinite, history_atom::value, i.id)
    .then(
      [promise, i](std::string& text) mutable {
        auto all = json::parse(text, nullptr, false);
        if (!all.is_array())
          all = json::array();
        // The tail holds entries history_dropped.. on; the topic those
        // before, and maybe the first of the tail's.
        std::size_t from = all.size() > i.history_dropped ? all.size() - i.history_dropped : 0;
        for (auto k = from; k < i.history.size(); ++k)
          all.push_back(history_entry_json(i.history[k]));
        promise.deliver(all.dump());
      },
      [promise, i](caf::error&) mutable { promise.deliver(history_json(i).dump()); });
}

/// A query about instance `id`: from its snapshot in memory, else from its
/// last snapshot in `<cluster>.instances`, within the retention.
caf::result<std::string> query(self_ptr self, const std::string& id, query_kind kind) {
  auto& st = self->state;
  auto not_found = [&] {
    return failure("not-found", fmt::format("no instance '{}' on this node", id));
  };
  if (auto it = st.instances.find(id); it != st.instances.end()) {
    if (kind != query_kind::history)
      return described(self, it->second.snapshot);
    auto i = restore(it->second.snapshot);
    if (!i)
      return failure("snapshot", i.error().message);
    auto promise = self->make_response_promise<std::string>();
    deliver_history(self, std::move(*i), promise);
    return promise;
  }
  if (!st.o.bus)
    return not_found();
  auto promise = self->make_response_promise<std::string>();
  self->request(st.o.bus, caf::infinite, archive_atom::value, id)
    .then(
      [self, promise, id, kind](std::string& snap) mutable {
        auto i = snap.empty() ? expected<instance>{fail("not-found", "")} : restore(snap);
        if (!i || !is_final(i->status)) {
          // Not in the topic, or live there but not here: not this node's.
          promise.deliver(failure("not-found", fmt::format("no instance '{}' on this node", id)));
          return;
        }
        auto ended_at = i->history.empty() ? epoch_ms{0} : i->history.back().at;
        auto retention = self->state.o.retention.count();
        if (now_ms() - ended_at > retention) {
          promise.deliver(failure(
            "not-found", fmt::format("instance '{}' ended more than the retention ({} s) ago",
                                     id, retention / 1000)));
          return;
        }
        if (kind == query_kind::history)
          deliver_history(self, std::move(*i), promise);
        else
          promise.deliver(described(self, snap));
      },
      [promise, id](caf::error&) mutable {
        promise.deliver(failure("not-found", fmt::format("no instance '{}' on this node", id)));
      });
  return promise;
}

/// A query that comes before the partition is settled: served again once
/// it is.
template <class... Ts>
caf::result<std::string> once_settled(self_ptr self, Ts... xs) {
  auto promise = self->make_response_promise<std::string>();
  auto me = caf::actor_cast<caf::actor>(self);
  self->state.held.push_back([me, promise, xs...]() mutable { promise.delegate(me, xs...); });
  return promise;
}

/// The node knows now whether the partition is its own: held queries are
/// served.
void settle(self_ptr self) {
  auto& st = self->state;
  st.settled = true;
  for (auto& serve : std::exchange(st.held, {}))
    serve();
}

caf::behavior partition(self_ptr self, partition_options options) {
  self->state.o = std::move(options);
  self->set_down_handler([self](caf::down_msg& down) {
    auto& st = self->state;
    auto it = st.animated.find(down.source);
    if (it == st.animated.end())
      return;  // it parked or ended its instance, then quit
    auto id = std::move(it->second);
    st.animated.erase(it);
    auto e = st.instances.find(id);
    if (e != st.instances.end() && e->second.actor.address() == down.source)
      crashed(self, id, self->system().render(down.reason));
  });
  // Told to stop: the live instances stop with it.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& [id, e] : self->state.instances)
      if (e.actor)
        self->send_exit(e.actor, msg.reason);
    self->quit(msg.reason);
  });
  return {
    [self](apply_atom, std::vector<command>& batch) -> caf::result<partition_output> {
      auto& st = self->state;
      st.batch = self->make_response_promise<partition_output>();
      st.in_batch = true;
      st.batch_left = 0;
      for (auto& c : batch)
        apply(self, std::move(c));
      auto promise = st.batch;
      finish_batch(self);
      return promise;
    },
    [self](await_atom, const std::string& request) -> caf::result<std::string> {
      auto promise = self->make_response_promise<std::string>();
      self->state.awaiting.emplace(request, promise);
      return promise;
    },
    [self](deployed_atom, deployments& d) { self->state.o.deployed = std::move(d); },
    // Ownership (bus.hpp): the partition's instances as they were last
    // committed, or none.
    [self](restore_atom, partition_snapshots& snapshots) {
      drop_all(self, false);
      restore_all(self, snapshots);
      settle(self);
    },
    [self](revoke_atom) {
      drop_all(self, true);
      settle(self);
    },
    [self](unwritten_atom, const std::string& request, const std::string& why) {
      auto& awaiting = self->state.awaiting;
      if (auto it = awaiting.find(request); it != awaiting.end()) {
        it->second.deliver(why);
        awaiting.erase(it);
      }
    },
    // From the instance actors.
    [self](update_atom, instance_report& r) {
      take_report(self, r);
      dirty(self);
    },
    [self](emit_atom, command& c) {
      self->state.out.commands.push_back(std::move(c));
      dirty(self);
    },
    [self](produced_atom, produced_event& e) {
      self->state.out.events.push_back(std::move(e));
      dirty(self);
    },
    [self](arm_atom, const std::string& id, std::uint64_t token, epoch_ms deadline) {
      self->state.wheel.emplace(deadline, std::pair{id, token});
      set_alarm(self);
    },
    [self](tick_atom) {
      auto& st = self->state;
      st.alarm = 0;
      auto now = now_ms();
      bool fired = false;
      while (!st.wheel.empty() && st.wheel.begin()->first <= now) {
        auto [id, token] = std::move(st.wheel.begin()->second);
        st.wheel.erase(st.wheel.begin());
        auto it = st.instances.find(id);
        if (it == st.instances.end() || ended(it->second))
          continue;
        st.out.commands.push_back(command{std::move(id), {}, timer_command{token}});
        fired = true;
      }
      set_alarm(self);
      if (fired)
        dirty(self);
    },
    // Queries, answered from snapshots: of the instances held, else of
    // the archive.
    [self](get_atom a, const std::string& id) -> caf::result<std::string> {
      if (!self->state.settled)
        return once_settled(self, a, id);
      return query(self, id, query_kind::get);
    },
    [self](history_atom a, const std::string& id) -> caf::result<std::string> {
      if (!self->state.settled)
        return once_settled(self, a, id);
      return query(self, id, query_kind::history);
    },
    [self](wait_atom a, const std::string& id) -> caf::result<std::string> {
      if (!self->state.settled)
        return once_settled(self, a, id);
      auto it = self->state.instances.find(id);
      if (it == self->state.instances.end() || ended(it->second))
        return query(self, id, query_kind::get);
      auto promise = self->make_response_promise<std::string>();
      it->second.waiters.push_back(promise);
      return promise;
    },
    [self](list_atom a, const std::string& workflow,
           const std::string& status) -> caf::result<std::string> {
      if (!self->state.settled)
        return once_settled(self, a, workflow, status);
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
  };
}

} // namespace

caf::actor spawn_partition(caf::actor_system& sys, partition_options options) {
  return sys.spawn(partition, std::move(options));
}

} // namespace meshflow::actors
