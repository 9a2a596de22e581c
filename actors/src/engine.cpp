#include "meshflow/actors/engine.hpp"

#include "meshflow/actors/bus.hpp"
#include "meshflow/actors/router.hpp"
#include "meshflow/transport/json_format.hpp"

namespace meshflow::actors {

namespace {

struct engine_state {
  caf::actor event_listener;
  caf::actor bus;
  std::vector<caf::actor> partitions;
  /// Per partition: commands read and waiting for its next batch, the
  /// offset they were read up to, whether it has output waiting, and the
  /// offset of the batch under way (-1: none).
  std::vector<std::vector<command>> queued;
  std::vector<std::int64_t> read_up_to;
  std::vector<bool> dirty;
  std::vector<std::int64_t> in_batch;
  /// Per partition: the epoch of its ownership (bus.hpp), 0 while the
  /// node does not own it, and the epoch of the batch under way.
  std::vector<std::uint64_t> owned;
  std::vector<std::uint64_t> batch_epoch;
  static inline const char* name = "meshflow.engine";
};

using self_ptr = caf::stateful_actor<engine_state>*;

constexpr std::int64_t no_batch = -1;

void pump(self_ptr self);

void take(self_ptr self, std::size_t p, partition_output& out) {
  auto& st = self->state;
  auto offset = std::exchange(st.in_batch[p], no_batch);
  if (st.batch_epoch[p] != st.owned[p]) {
    pump(self);  // the partition moved or rewound meanwhile: its output is void
    return;
  }
  if (st.event_listener)
    for (const auto& e : out.events)
      if (auto text = transport::json_format::serialize(e.event))
        self->send(st.event_listener, produced_atom::value, e.instance_id, *text);
  bus_writes w;
  w.partition = static_cast<std::int32_t>(p);
  w.epoch = st.batch_epoch[p];
  w.commands = std::move(out.commands);
  w.events = std::move(out.events);
  w.snapshots = std::move(out.snapshots);
  w.history = std::move(out.history);
  w.dead = std::move(out.dead);
  if (offset > 0)
    w.applied = offset;
  self->send(st.bus, write_atom::value, std::move(w));
  pump(self);
}

/// Starts a batch on every idle partition that has something to do.
void pump(self_ptr self) {
  auto& st = self->state;
  for (std::size_t p = 0; p < st.partitions.size(); ++p) {
    if (!st.owned[p] || st.in_batch[p] != no_batch || (st.queued[p].empty() && !st.dirty[p]))
      continue;
    st.in_batch[p] = st.read_up_to[p];
    st.batch_epoch[p] = st.owned[p];
    st.dirty[p] = false;
    auto batch = std::exchange(st.queued[p], {});
    self->request(st.partitions[p], caf::infinite, apply_atom::value, std::move(batch))
      .then([self, p](partition_output& out) { take(self, p, out); },
            [self, p](caf::error&) {
              self->state.in_batch[p] = no_batch;
              pump(self);
            });
  }
}

caf::behavior engine(self_ptr self, caf::actor event_listener) {
  self->state.event_listener = std::move(event_listener);
  return {
    [self](attach_atom, std::vector<caf::actor>& partitions, caf::actor& bus) {
      auto& st = self->state;
      st.partitions = std::move(partitions);
      st.bus = std::move(bus);
      auto n = st.partitions.size();
      st.queued.assign(n, {});
      st.read_up_to.assign(n, 0);
      st.dirty.assign(n, false);
      st.in_batch.assign(n, no_batch);
      st.owned.assign(n, 0);
      st.batch_epoch.assign(n, 0);
    },
    // The bus's ownership of the partitions (bus.hpp): a partition
    // restored is applied from its snapshots on; one revoked is dropped.
    [self](restore_atom a, std::int32_t p, std::uint64_t epoch, partition_snapshots& snaps) {
      auto& st = self->state;
      auto i = static_cast<std::size_t>(p);
      if (i >= st.partitions.size())
        return;
      st.owned[i] = epoch;
      st.queued[i].clear();
      st.read_up_to[i] = 0;
      st.dirty[i] = false;
      self->send(st.partitions[i], a, std::move(snaps));
    },
    [self](revoke_atom a, std::int32_t p) {
      auto& st = self->state;
      auto i = static_cast<std::size_t>(p);
      if (i >= st.partitions.size())
        return;
      st.owned[i] = 0;
      st.queued[i].clear();
      st.dirty[i] = false;
      self->send(st.partitions[i], a);
    },
    // Commands to write: they come back from the bus once on Kafka.
    [self](dispatch_atom, std::vector<command>& commands) {
      bus_writes w;
      w.commands = std::move(commands);
      self->send(self->state.bus, write_atom::value, std::move(w));
    },
    [self](consumed_atom, std::int32_t p, std::vector<command>& commands, std::int64_t next) {
      auto& st = self->state;
      auto i = static_cast<std::size_t>(p);
      if (i >= st.partitions.size() || !st.owned[i])
        return;
      auto& q = st.queued[i];
      q.insert(q.end(), std::make_move_iterator(commands.begin()),
               std::make_move_iterator(commands.end()));
      st.read_up_to[i] = next;
      st.dirty[i] = true;  // an empty batch still commits its offset
      pump(self);
    },
    // Business events routed: the commands they became, written in one
    // transaction with their offsets.
    [self](routed_atom, std::vector<command>& commands,
           std::vector<transport::kafka_topic_partition>& offsets) {
      bus_writes w;
      w.commands = std::move(commands);
      w.routed = std::move(offsets);
      self->send(self->state.bus, write_atom::value, std::move(w));
    },
    // A command the bus could not write: its request learns why.
    [self](unwritten_atom, const std::string& id, const std::string& request,
           const std::string& why) {
      auto& parts = self->state.partitions;
      if (!parts.empty())
        self->send(parts[partition_of(id, static_cast<std::uint32_t>(parts.size()))],
                   unwritten_atom::value, request, why);
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
