#include "meshflow/actors/engine.hpp"

#include "meshflow/actors/router.hpp"
#include "meshflow/transport/json_format.hpp"

namespace meshflow::actors {

namespace {

struct engine_state {
  caf::actor event_listener;
  caf::actor router;
  std::vector<caf::actor> partitions;
  /// Per partition: commands waiting for its next batch, whether it has
  /// output waiting, whether a batch is under way.
  std::vector<std::vector<command>> queued;
  std::vector<bool> dirty;
  std::vector<bool> busy;
  static inline const char* name = "meshflow.engine";
};

using self_ptr = caf::stateful_actor<engine_state>*;

void pump(self_ptr self);

void enqueue(self_ptr self, std::vector<command>& commands) {
  auto& st = self->state;
  auto n = static_cast<std::uint32_t>(st.partitions.size());
  for (auto& c : commands)
    st.queued[partition_of(c.instance_id, n)].push_back(std::move(c));
}

void take(self_ptr self, std::size_t p, partition_output& out) {
  auto& st = self->state;
  st.busy[p] = false;
  enqueue(self, out.commands);
  for (auto& e : out.events) {
    if (st.event_listener)
      if (auto text = transport::json_format::serialize(e.event))
        self->send(st.event_listener, produced_atom::value, e.instance_id, *text);
    if (st.router)
      self->send(st.router, route_atom::value, consumed_event{std::move(e.event), {}});
  }
  pump(self);
}

/// Starts a batch on every idle partition that has something to do.
void pump(self_ptr self) {
  auto& st = self->state;
  for (std::size_t p = 0; p < st.partitions.size(); ++p) {
    if (st.busy[p] || (st.queued[p].empty() && !st.dirty[p]))
      continue;
    st.busy[p] = true;
    st.dirty[p] = false;
    auto batch = std::exchange(st.queued[p], {});
    self->request(st.partitions[p], caf::infinite, apply_atom::value, std::move(batch))
      .then([self, p](partition_output& out) { take(self, p, out); },
            [self, p](caf::error&) {
              self->state.busy[p] = false;
              pump(self);
            });
  }
}

caf::behavior engine(self_ptr self, caf::actor event_listener) {
  self->state.event_listener = std::move(event_listener);
  return {
    [self](attach_atom, std::vector<caf::actor>& partitions, caf::actor& router) {
      auto& st = self->state;
      st.partitions = std::move(partitions);
      st.router = std::move(router);
      st.queued.assign(st.partitions.size(), {});
      st.dirty.assign(st.partitions.size(), false);
      st.busy.assign(st.partitions.size(), false);
    },
    [self](dispatch_atom, std::vector<command>& commands) {
      enqueue(self, commands);
      pump(self);
    },
    [self](dirty_atom, std::uint32_t p) {
      if (p < self->state.dirty.size())
        self->state.dirty[p] = true;
      pump(self);
    },
  };
}

} // namespace

caf::actor spawn_engine(caf::actor_system& sys, caf::actor event_listener) {
  return sys.spawn(engine, std::move(event_listener));
}

} // namespace meshflow::actors
