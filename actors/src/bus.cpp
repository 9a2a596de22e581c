#include "meshflow/actors/bus.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <future>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "meshflow/actors/engine.hpp"
#include "meshflow/actors/fault_injection.hpp"
#include "meshflow/actors/protocol.hpp"
#include "meshflow/actors/router.hpp"
#include "meshflow/log.hpp"
#include "meshflow/transport/dead_letter.hpp"
#include "meshflow/transport/errc.hpp"
#include "meshflow/transport/json_format.hpp"
#include "meshflow/transport/kafka_admin.hpp"
#include "meshflow/transport/kafka_binding.hpp"

// The bus is three actors, each on a thread of its own: the writer (the
// bus's handle, bus.hpp), which owns the transactional producer and the
// member of the commands' group; the events reader, which reads the
// business topics for the router; the archive. The writer and the reader
// block in their consumer's poll between the messages they are sent.
// Nothing spins: an idle node waits in librdkafka.

namespace meshflow::actors {

namespace {

using namespace std::chrono_literals;
using transport::kafka_record;
using transport::kafka_topic_partition;
namespace errc = transport::errc;

using poll_atom = caf::atom_constant<caf::atom("poll")>;
using rewind_atom = caf::atom_constant<caf::atom("rewind")>;
using poison_atom = caf::atom_constant<caf::atom("poison")>;

/// Records a poll takes at most: enough to carry a backlog in few rounds.
constexpr std::size_t max_records_per_poll = 2000;
/// How long the events reader waits in its poll before it reads its
/// mailbox again (topics to read).
constexpr auto reader_wait = 20ms;
/// How long the writer waits in its poll with nothing else to do: the
/// longest a write waits in its mailbox before it is taken.
constexpr auto writer_wait = 5ms;
/// How long one try of a transactional call may take before it is tried
/// again (the broker may be away for longer).
constexpr auto transaction_call_timeout = 5s;
/// The longest wait between two tries.
constexpr auto max_backoff = 5s;

/// A record refused, for the writer to send to the dead-letter topic.
struct poison {
  kafka_record record;
  meshflow::error why;
};

} // namespace
} // namespace meshflow::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(meshflow::actors::poison)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<meshflow::transport::kafka_consumer>)

namespace meshflow::actors {

namespace {

/// The partition of `topic` that holds instance `id`'s records.
std::int32_t partition_in(const transport::kafka_topic_spec& topic, const std::string& id) {
  return static_cast<std::int32_t>(partition_of(id, static_cast<std::uint32_t>(topic.partitions)));
}

// -- the events reader ---------------------------------------------------------

struct reader_state {
  std::shared_ptr<const void> cluster;  // outlives the consumer
  std::shared_ptr<transport::kafka_consumer> consumer;
  bus_options o;
  caf::actor writer;
  /// What it reads.
  std::vector<kafka_topic_partition> assigned;
  /// The operations consuming from each channel, and whether a listen
  /// failed since the last `listening_atom`.
  channel_operations checks;
  bool listen_failed = false;
  /// The last error of the poll, while it lasts.
  std::string read_error;
  static inline const char* name = "meshflow.bus.reader";
};

using reader_ptr = caf::stateful_actor<reader_state>*;

/// Why no operation consuming from `topic` accepts `event`'s data ("" one
/// does, or none checks it).
std::string payload_violations(const channel_operations& checks, const std::string& topic,
                               const transport::cloud_event& event) {
  auto ops = checks.find(topic);
  if (ops == checks.end() || ops->second.empty())
    return {};
  // Data that is not JSON is checked as the string it is.
  auto data = nlohmann::json::parse(event.data.value_or(""), nullptr, false);
  if (data.is_discarded())
    data = event.data.value_or("");
  std::string why;
  for (const auto& op : ops->second) {
    auto wrong = op->violations(data);
    if (wrong.empty())
      return {};
    if (why.empty())
      why = fmt::format("the payload does not satisfy the message of operation '{}': {}",
                        op->id, fmt::join(wrong, "; "));
  }
  return why;
}

/// The business events read, to the router; poison to the writer.
void take_events(reader_ptr self, std::vector<kafka_record>& records) {
  auto& st = self->state;
  // Where the router's group reads on, once these are routed (poison
  // included: its dead letter is written before the commit too).
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> next;
  for (const auto& r : records)
    next[{r.topic, r.partition}] = r.offset + 1;
  for (auto& r : records) {
    if (const auto& value = r.message.value)
      if (auto within = check_json(*value, st.o.json, "the event"); !within) {
        self->send(st.writer, poison_atom::value, poison{std::move(r), within.error()});
        continue;
      }
    auto event = transport::kafka_binding::decode(r.message);
    if (!event) {
      self->send(st.writer, poison_atom::value,
                 poison{std::move(r), {"cloudevent", event.error().message}});
      continue;
    }
    if (auto wrong = payload_violations(st.checks, r.topic, *event); !wrong.empty()) {
      self->send(st.writer, poison_atom::value, poison{std::move(r), {"payload", wrong}});
      continue;
    }
    self->send(st.o.router, route_atom::value, consumed_event{std::move(*event), r.topic});
  }
  std::vector<kafka_topic_partition> offsets;
  for (const auto& [where, offset] : next)
    offsets.push_back({where.first, where.second, offset});
  self->send(st.o.router, routed_atom::value, std::move(offsets));
}

/// What a poll of `topic` returned; its error is logged once while it lasts
/// (a broker away repeats it every round), `last_error` remembering it.
std::vector<kafka_record> polled(expected<std::vector<kafka_record>> records,
                                 const std::string& topic, std::string& last_error) {
  if (records) {
    last_error.clear();
    return std::move(*records);
  }
  if (records.error().message != last_error)
    MESHFLOW_LOG(warn, "bus", "reading {}: {}", topic, records.error().message);
  last_error = records.error().message;
  return {};
}

/// One poll, then the mailbox, then the next poll — while assigned.
void read_round(reader_ptr self) {
  auto& st = self->state;
  if (st.assigned.empty())
    return;  // polled again once told what to read
  auto records = polled(st.consumer->poll(reader_wait, max_records_per_poll),
                        st.assigned.front().topic, st.read_error);
  if (!records.empty())
    take_events(self, records);
  self->send(self, poll_atom::value);
}

/// The partitions of `topics` (created with the cluster's partition count
/// when missing), each from the group's committed offset.
expected<std::vector<kafka_topic_partition>> partitions_of(const bus_options& o,
                                                           const std::set<std::string>& topics) {
  auto admin = transport::kafka_admin::create(o.kafka);
  if (!admin)
    return tl::unexpected(admin.error());
  std::vector<kafka_topic_partition> out;
  for (const auto& topic : topics) {
    auto count = admin->partition_count(topic, 10s);
    if (!count)
      return tl::unexpected(count.error());
    if (!*count) {
      transport::kafka_topic_spec spec{topic, o.topics.commands.partitions,
                                       o.topics.commands.replication_factor, {}};
      if (auto made = admin->ensure_topics({spec}, 30s); !made)
        return tl::unexpected(made.error());
      *count = spec.partitions;
      MESHFLOW_LOG(info, "bus", "created topic {} ({} partitions)", topic, spec.partitions);
    }
    for (std::int32_t p = 0; p < **count; ++p)
      out.push_back({topic, p, transport::kafka_offset_stored});
  }
  return out;
}

/// Where the router's group reads `partitions` from: its committed offset,
/// else (a channel this cluster had never read) the partition's end as it
/// is now, committed at once: a cluster reads a channel from where it
/// stood when the cluster first listened to it, not the events published
/// before it existed, and after a restart from where it stopped.
expected<std::vector<kafka_topic_partition>> start_positions(
  transport::kafka_consumer& consumer, std::vector<kafka_topic_partition> partitions) {
  auto committed = consumer.committed(partitions, 10s);
  if (!committed)
    return tl::unexpected(committed.error());
  std::vector<kafka_topic_partition> fresh;
  for (auto& p : *committed) {
    if (p.offset >= 0)
      continue;
    auto marks = consumer.watermarks(p.topic, p.partition, 10s);
    if (!marks)
      return tl::unexpected(marks.error());
    p.offset = marks->high;
    fresh.push_back(p);
  }
  if (!fresh.empty())
    if (auto done = consumer.commit(fresh); !done)
      return tl::unexpected(done.error());
  return committed;
}

/// Reads `assigned` and the topics it is told to read as well, and hands
/// each record to the router.
caf::behavior reader(reader_ptr self, std::shared_ptr<transport::kafka_consumer> consumer,
                     bus_options o, caf::actor writer,
                     std::vector<kafka_topic_partition> assigned) {
  auto& st = self->state;
  st.cluster = o.cluster;
  st.consumer = std::move(consumer);
  st.o = std::move(o);
  st.writer = std::move(writer);
  st.assigned = std::move(assigned);
  self->send(self, poll_atom::value);
  return {
    [self](poll_atom) { read_round(self); },
    [self](listening_atom) { return !std::exchange(self->state.listen_failed, false); },
    // The transaction that committed the router's offsets aborted: read
    // again from the committed ones.
    [self](rewind_atom) {
      auto& st = self->state;
      auto committed = st.consumer->committed(st.assigned, 30s);
      if (!committed) {
        MESHFLOW_LOG(err, "bus", "cannot rewind the business topics: {}",
                     committed.error().message);
        return;
      }
      for (const auto& p : *committed)
        if (p.offset >= 0)
          if (auto sought = st.consumer->seek(p, 10s); !sought)
            MESHFLOW_LOG(err, "bus", "cannot rewind {}/{}: {}", p.topic, p.partition,
                         sought.error().message);
    },
    [self](listen_atom, channel_operations& consumed, const std::vector<std::string>& produced) {
      auto& st = self->state;
      std::set<std::string> wanted;
      for (const auto& [topic, ops] : consumed)
        wanted.insert(topic);
      st.checks = std::move(consumed);
      for (const auto& p : st.assigned)
        wanted.erase(p.topic);
      std::set<std::string> written(produced.begin(), produced.end());
      for (const auto& t : wanted)
        written.erase(t);
      if (wanted.empty() && written.empty())
        return;  // topics are read until the node stops, even when undeployed
      auto made = partitions_of(st.o, written);
      if (!made)
        MESHFLOW_LOG(err, "bus", "cannot make the topics {}: {}", fmt::join(written, ", "),
                     made.error().message);
      if (wanted.empty())
        return;
      auto parts = partitions_of(st.o, wanted);
      expected<void> ok;
      if (!parts)
        ok = tl::unexpected(parts.error());
      else if (ok = st.consumer->learn_topics({wanted.begin(), wanted.end()}, 10s); ok) {
        parts = start_positions(*st.consumer, std::move(*parts));
        ok = parts ? st.consumer->add_to_assignment(*parts) : tl::unexpected(parts.error());
      }
      if (!ok) {
        MESHFLOW_LOG(err, "bus", "cannot read the business topics {}: {}",
                     fmt::join(wanted, ", "), ok.error().message);
        st.listen_failed = true;
        return;
      }
      bool was_idle = st.assigned.empty();
      st.assigned.insert(st.assigned.end(), parts->begin(), parts->end());
      if (was_idle)
        self->send(self, poll_atom::value);
    },
  };
}

// -- the archive --------------------------------------------------------------

/// The settings of every client that reads the engine's topics: only what
/// committed transactions wrote.
transport::kafka_config committed_reading(const bus_options& o) {
  auto c = o.kafka;
  c["isolation.level"] = "read_committed";
  return c;
}


/// Calls `take` with the value of each committed record of instance `id`
/// in its partition of `topic`, read to its end; false (said in the log)
/// when the partition cannot be read.
template <class Take>
bool each_value_of(const bus_options& o, const transport::kafka_topic_spec& topic,
                   const std::string& id, Take take) {
  auto read = transport::read_to_end(
    committed_reading(o), topic.name, partition_in(topic, id),
    [&](const kafka_record& r) {
      if (r.message.key == id)
        take(r.message.value.value_or(""));
    },
    30s);
  if (!read)
    MESHFLOW_LOG(warn, "bus", "reading instance {} in {}: {}", id, topic.name,
                 read.error().message);
  return static_cast<bool>(read);
}

/// Answers `archive_atom` and `history_atom` requests, one at a time, on a
/// thread of its own (each reads a partition of the instances or the
/// history topic to its end).
caf::behavior archive(caf::event_based_actor*, bus_options o) {
  return {
    [o](history_atom, const std::string& id) -> std::string {
      auto all = nlohmann::json::array();
      bool read = each_value_of(o, o.topics.history, id, [&](const std::string& value) {
        auto entries = nlohmann::json::parse(value, nullptr, false);
        if (entries.is_array())
          for (auto& e : entries)
            all.push_back(std::move(e));
      });
      return read ? all.dump() : std::string{};
    },
    [o](archive_atom, const std::string& id) -> std::string {
      std::string latest;
      bool read = each_value_of(o, o.topics.instances, id,
                                [&](const std::string& value) { latest = value; });
      return read ? latest : std::string{};
    },
  };
}

// -- the writer ---------------------------------------------------------------

struct writer_state;
using writer_ptr = caf::stateful_actor<writer_state>*;

/// Hears of the commands' partitions coming and going, inside the
/// consumer's poll, on the writer's thread.
struct ownership final : transport::kafka_rebalance_listener {
  writer_ptr self = nullptr;
  void on_assigned(const std::vector<kafka_topic_partition>& partitions) override;
  void on_revoked(const std::vector<kafka_topic_partition>& partitions) override;
  void on_lost(const std::vector<kafka_topic_partition>& partitions) override;
};

struct writer_state {
  std::shared_ptr<const void> cluster;  // outlives the clients
  std::optional<transport::kafka_producer> producer;
  /// The member of the commands' group (on the embedded default, the
  /// reader of every partition).
  std::shared_ptr<transport::kafka_consumer> commands;
  /// The events reader's consumer: only its group metadata is taken here.
  std::shared_ptr<transport::kafka_consumer> events_consumer;
  ownership listener;
  bool embedded = false;
  bool attached = false;
  /// Whether the group has assigned the node its partitions once, and
  /// whether the node stops (it takes no more).
  bool settled = false;
  bool stopping = false;
  bus_options o;
  caf::actor events;  // the events reader
  caf::actor archive;
  transport::dead_letter_queue dlq{""};
  /// The commands' partitions owned, each with its epoch of ownership.
  std::map<std::int32_t, std::uint64_t> owned;
  std::uint64_t epochs = 0;
  /// The open transaction: since when, whether it holds a business event
  /// (for the crash-before-commit fault), the offsets it commits, and the
  /// admin requests whose commands it holds (answered if it aborts).
  bool in_transaction = false;
  std::chrono::steady_clock::time_point began;
  bool holds_event = false;
  /// Writes taken since the last round.
  std::size_t writes = 0;
  /// Whether the open transaction holds a batch's outputs, and how many
  /// such transactions committed (for the crash-after-commit fault).
  bool holds_step = false;
  std::uint64_t steps = 0;
  /// The last error of the commands' poll, while it lasts.
  std::string read_error;
  /// A record of a batch's outputs could not even be queued: the
  /// transaction must not commit the batch's offset without it.
  bool doomed = false;
  std::map<std::int32_t, std::int64_t> applied;
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> routed;
  std::vector<std::pair<std::string, std::string>> requests;
  /// Whether the last transactional call succeeded; a retry loop says once
  /// that the node waits for the brokers, and once that it is back.
  bool healthy = true;
  static inline const char* name = "meshflow.bus";
};

/// The last committed snapshot of each instance of partition `p` of
/// `<cluster>.instances` (a deleted one is no instance).
expected<partition_snapshots> snapshots_of(const bus_options& o, std::int32_t p) {
  std::map<std::string, std::string> latest;
  auto read = transport::read_to_end(
    committed_reading(o), o.topics.instances.name, p,
    [&](const kafka_record& r) {
      auto key = r.message.key.value_or("");
      if (r.message.value && !r.message.value->empty())
        latest[key] = *r.message.value;
      else
        latest.erase(key);
    },
    5min);
  if (!read)
    return tl::unexpected(read.error());
  return partition_snapshots(std::make_move_iterator(latest.begin()),
                             std::make_move_iterator(latest.end()));
}

/// Tells `meshflow status` which partitions the node owns.
void publish_ownership(writer_ptr self) {
  auto& st = self->state;
  std::lock_guard guard{st.o.health->lock};
  st.o.health->owned.clear();
  for (auto [p, epoch] : st.owned)
    st.o.health->owned.insert(p);
}

/// The partitions are the node's from now on: each gets a new epoch and
/// its snapshots go to the engine, before any of its commands. The
/// partitions are read side by side (each read waits on the broker more
/// than it computes).
void take_ownership(writer_ptr self, const std::vector<std::int32_t>& partitions) {
  auto& st = self->state;
  // The first assignment settles every partition: those the node did not
  // get are not its own (their queries are answered from now on).
  if (!std::exchange(st.settled, true))
    for (std::int32_t p = 0; p < st.o.topics.commands.partitions; ++p)
      if (std::find(partitions.begin(), partitions.end(), p) == partitions.end())
        self->send(st.o.engine, revoke_atom::value, p);
  if (partitions.empty() || st.stopping)
    return;
  auto began = std::chrono::steady_clock::now();
  std::vector<std::future<expected<partition_snapshots>>> reads;
  for (auto p : partitions)
    reads.push_back(std::async(std::launch::async, [&o = st.o, p] { return snapshots_of(o, p); }));
  std::size_t restored = 0;
  for (std::size_t i = 0; i < partitions.size(); ++i) {
    auto p = partitions[i];
    auto snapshots = reads[i].get();
    if (!snapshots) {
      // Its commands cannot be applied without its instances: the node
      // leaves the partition unowned (its commands are not applied, its
      // offsets not committed) and says so.
      MESHFLOW_LOG(err, "bus", "partition {} of {} cannot be restored: {}", p,
                   st.o.topics.instances.name, snapshots.error().message);
      self->send(st.o.engine, revoke_atom::value, p);
      continue;
    }
    auto epoch = ++st.epochs;
    st.owned[p] = epoch;
    restored += snapshots->size();
    self->send(st.o.engine, restore_atom::value, p, epoch, std::move(*snapshots));
  }
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
    std::chrono::steady_clock::now() - began);
  MESHFLOW_LOG(info, "bus", "{} partitions of {} taken, {} instance snapshots read in {} ms",
               partitions.size(), st.o.topics.commands.name, restored, took.count());
  publish_ownership(self);
}

/// The partitions are no longer the node's: the engine drops them, and
/// outputs of theirs still on their way are dropped here.
void give_up(writer_ptr self, const std::vector<std::int32_t>& partitions) {
  auto& st = self->state;
  for (auto p : partitions) {
    st.owned.erase(p);
    st.applied.erase(p);
    self->send(st.o.engine, revoke_atom::value, p);
  }
  publish_ownership(self);
}

std::vector<std::int32_t> numbers_of(const std::vector<kafka_topic_partition>& partitions) {
  std::vector<std::int32_t> out;
  for (const auto& p : partitions)
    out.push_back(p.partition);
  return out;
}

/// Waits for the broker between two tries of a transactional call.
void back_off(writer_ptr self, std::chrono::milliseconds& backoff, const meshflow::error& why) {
  auto& st = self->state;
  if (st.healthy)
    MESHFLOW_LOG(warn, "bus", "meshflow node: unhealthy, waiting for the brokers: {}",
                 why.message);
  st.healthy = false;
  {
    std::lock_guard guard{st.o.health->lock};
    st.o.health->healthy = false;
    st.o.health->problem = why.message;
  }
  std::this_thread::sleep_for(backoff);
  backoff = std::min<std::chrono::milliseconds>(backoff * 2, max_backoff);
}

void recovered(writer_ptr self) {
  auto& st = self->state;
  if (std::exchange(st.healthy, true))
    return;
  MESHFLOW_LOG(warn, "bus", "meshflow node: healthy again, the brokers answer");
  std::lock_guard guard{st.o.health->lock};
  st.o.health->healthy = true;
  st.o.health->problem.clear();
}


/// Tries `call` until it succeeds or fails otherwise than retriably.
template <class Call>
expected<void> persist(writer_ptr self, Call call) {
  std::chrono::milliseconds backoff{100};
  for (;;) {
    auto done = call();
    if (done || done.error().code != errc::kafka_retriable) {
      if (done)
        recovered(self);
      return done;
    }
    back_off(self, backoff, done.error());
  }
}

/// A producer for this node's `transactional.id`, registered (which fences
/// a previous incarnation and aborts its open transaction).
expected<transport::kafka_producer> transactional_producer(const bus_options& o) {
  const auto& t = o.topics;
  auto cluster_name = t.commands.name.substr(0, t.commands.name.size() - 9);  // ".commands"
  auto config = transport::engine_producer_config(o.kafka.at("bootstrap.servers"),
                                                  fmt::format("{}.{}", cluster_name, o.name));
  // Every step of an instance that waits for a command pays the linger
  // once: 1 ms rather than the default 5. Records as large as the JSON
  // documents the node accepts (a start carries its input, a snapshot the
  // data and more): a broker refuses what is above its own
  // `message.max.bytes` (1 MB by default), which larger limits must raise.
  // A transaction that begins while the last one is still completing on
  // the coordinator (its markers being written) gets CONCURRENT_TRANSACTIONS
  // for its first partitions, and librdkafka tries again after
  // `retry.backoff.ms`: at the default 100 ms, a node under a steady
  // trickle of events spent most of each step there (a step at 100 events/s
  // took 450 ms at p50; 80-125 ms with 5 ms, bench/README.md).
  auto record_bytes = std::min<std::size_t>(
    1'000'000'000, std::max<std::size_t>(1'000'000, 4 * o.json.max_bytes + (1u << 20)));
  for (auto& [key, value] : transport::kafka_config{{"client.id", o.name},
                                                    {"linger.ms", "1"},
                                                    {"retry.backoff.ms", "5"},
                                                    {"message.max.bytes",
                                                     std::to_string(record_bytes)}})
    config[key] = value;
  auto producer = transport::kafka_producer::create(config);
  if (!producer)
    return tl::unexpected(producer.error());
  std::chrono::milliseconds backoff{100};
  for (int tries = 0;; ++tries) {
    auto ready = producer->init_transactions(30s);
    if (ready)
      break;
    if (ready.error().code != errc::kafka_retriable || tries == 5)
      return tl::unexpected(ready.error());
    std::this_thread::sleep_for(backoff);
    backoff *= 2;
  }
  if (auto known = producer->learn_topics({t.commands.name, t.instances.name, t.history.name,
                                           t.events.name, t.definitions.name, t.dlq.name},
                                          10s);
      !known)
    return tl::unexpected(known.error());
  return producer;
}

void rewind(writer_ptr self);

/// Opens the transaction that what is written next belongs to.
void begin(writer_ptr self) {
  auto& st = self->state;
  if (st.in_transaction)
    return;
  if (auto begun = st.producer->begin_transaction(); !begun) {
    MESHFLOW_LOG(err, "bus", "cannot begin a transaction: {}", begun.error().message);
    st.doomed = true;  // the commit replaces the producer and rewinds
  }
  st.in_transaction = true;
  st.began = std::chrono::steady_clock::now();
}

expected<void> produce(writer_ptr self, const std::string& topic,
                       const transport::kafka_message& m, std::optional<std::int32_t> partition,
                       std::string_view what) {
  auto queued = self->state.producer->produce(topic, m, partition);
  if (!queued)
    MESHFLOW_LOG(err, "bus", "cannot write {} to {}: {}", what, topic, queued.error().message);
  return queued;
}

/// Writes a record refused by a reader to the dead-letter topic, in the
/// transaction that commits the reader's offset past it.
void bury(writer_ptr self, const poison& p) {
  auto& st = self->state;
  begin(self);
  MESHFLOW_LOG(warn, "bus", "record {}/{}@{} to {}: {}", p.record.topic, p.record.partition,
               p.record.offset, st.dlq.topic(), p.why.message);
  if (auto sent = st.dlq.send(*st.producer, p.record, p.why); !sent) {
    MESHFLOW_LOG(err, "bus", "cannot write the dead letter of {}/{}@{}: {}", p.record.topic,
                 p.record.partition, p.record.offset, sent.error().message);
    st.doomed = true;
  }
}

/// A command as the record of `<cluster>.commands` it was (or would be).
transport::kafka_message command_record(const command& c) {
  return {c.instance_id, encode(c), {{std::string{command_kind_header}, std::string{kind_of(c)}}}};
}

/// Writes what the engine and the admin give into the open transaction.
void write(writer_ptr self, bus_writes& w) {
  auto& st = self->state;
  ++st.writes;
  if (w.partition >= 0) {
    auto it = st.owned.find(w.partition);
    if (it == st.owned.end() || it->second != w.epoch)
      return;  // the partition moved or rewound: its new owner applies them again
  }
  begin(self);
  st.holds_step = st.holds_step || w.partition >= 0;
  const auto& t = st.o.topics;
  // What a batch or the router's events became must all be written, or
  // their offsets must not commit.
  bool bound = w.partition >= 0 || !w.routed.empty();
  for (const auto& c : w.commands) {
    auto written = produce(self, t.commands.name, command_record(c),
                           partition_in(t.commands, c.instance_id),
                           fmt::format("a {} command", kind_of(c)));
    if (!written && bound)
      st.doomed = true;
    if (c.request_id.empty())
      continue;
    if (written)
      st.requests.emplace_back(c.instance_id, c.request_id);
    else
      self->send(st.o.engine, unwritten_atom::value, c.instance_id, c.request_id,
                 error_json({"publish", fmt::format("the {} command cannot be written to {}: {}",
                                                    kind_of(c), t.commands.name,
                                                    written.error().message)}));
  }
  auto must = [&](expected<void> written) {
    if (!written)
      st.doomed = true;
  };
  for (const auto& [id, snap] : w.snapshots)
    must(produce(self, t.instances.name, {id, snap, {}}, partition_in(t.instances, id),
                 "a snapshot"));
  for (const auto& [id, entries] : w.history)
    must(produce(self, t.history.name, {id, entries, {}}, partition_in(t.history, id),
                 "history entries"));
  for (const auto& e : w.events) {
    auto m = transport::kafka_binding::encode(e.event, transport::kafka_binding::content_mode::binary,
                                              e.instance_id);
    if (!m) {
      MESHFLOW_LOG(err, "bus", "instance {} produced an event that is not a CloudEvent: {}",
                   e.instance_id, m.error().message);
      continue;
    }
    must(produce(self, e.channel.empty() ? t.events.name : e.channel, *m, std::nullopt,
                 "an event"));
    st.holds_event = true;
  }
  for (auto& d : w.dead)
    bury(self, poison{{t.commands.name, w.partition, d.what.offset, -1, command_record(d.what)},
                      std::move(d.why)});
  for (const auto& [key, value] : w.definitions)
    produce(self, t.definitions.name, {key, value, {}}, 0, "a definition");
  if (w.applied >= 0) {
    auto& at = st.applied[w.partition];
    at = std::max(at, w.applied);
  }
  for (const auto& r : w.routed) {
    auto& at = st.routed[{r.topic, r.partition}];
    at = std::max(at, r.offset);
  }
}

/// Whether the JSON a command carries (a start's input, an event's data) is
/// within the node's limits: a record written by something else than a
/// node (whose admin checks them) may not be.
expected<void> payload_within(const command& c, const json_limits& limits) {
  if (const auto* s = std::get_if<start_command>(&c.what))
    return check_json(s->input, limits, "the start command's input");
  if (const auto* e = std::get_if<event_command>(&c.what); e && e->event.data) {
    // Any bytes, not always JSON: only their size counts.
    auto size_only = json_limits{limits.max_bytes, std::numeric_limits<std::size_t>::max()};
    return check_json(*e->event.data, size_only, "the event command's data");
  }
  return {};
}

/// The commands read, per partition, to the engine; records that are not
/// commands, or carry too much, to the dead-letter topic.
void take_commands(writer_ptr self, std::vector<kafka_record>& records) {
  auto& st = self->state;
  std::map<std::int32_t, std::pair<std::vector<command>, std::int64_t>> by_partition;
  for (auto& r : records) {
    if (!st.owned.contains(r.partition))
      continue;  // fetched before a rewind or a loss; read again from the committed offset
    auto& [batch, next] = by_partition[r.partition];
    next = r.offset + 1;
    auto c = decode_command(r.message.value.value_or(""));
    if (!c) {
      bury(self, poison{std::move(r), c.error()});
      continue;
    }
    if (auto within = payload_within(*c, st.o.json); !within) {
      bury(self, poison{std::move(r), within.error()});
      continue;
    }
    c->offset = r.offset;
    batch.push_back(std::move(*c));
  }
  for (auto& [p, batch] : by_partition)
    self->send(st.o.engine, consumed_atom::value, p, std::move(batch.first), batch.second);
}

/// Forgets the open transaction, after its commit or abort.
void close_transaction(writer_ptr self) {
  auto& st = self->state;
  st.in_transaction = false;
  st.holds_event = false;
  st.holds_step = false;
  st.doomed = false;
  st.applied.clear();
  st.routed.clear();
  st.requests.clear();
}

/// Commits the open transaction with its offsets; false if it aborted
/// (then the caller rewinds).
bool commit(writer_ptr self) {
  auto& st = self->state;
  if (!st.in_transaction)
    return true;
  if (st.holds_event && fault_injection::fires("crash-before-commit")) {
    (void) st.producer->flush(30s);  // the records are on the broker, uncommitted
    MESHFLOW_LOG(warn, "bus", "fault crash-before-commit: the node dies before the commit");
    std::_Exit(137);
  }
  expected<void> done;
  if (st.doomed)
    done = fail(errc::kafka_abortable, "a record of the transaction could not be written");
  auto send = [&](const std::vector<kafka_topic_partition>& offsets,
                  const transport::kafka_consumer& consumer) -> expected<void> {
    if (offsets.empty())
      return {};
    return persist(self, [&]() -> expected<void> {
      auto group = consumer.group_metadata();
      if (!group)
        return tl::unexpected(group.error());
      return st.producer->send_offsets_to_transaction(offsets, *group, transaction_call_timeout);
    });
  };
  std::vector<kafka_topic_partition> applied, routed;
  for (auto [p, offset] : st.applied)
    applied.push_back({st.o.topics.commands.name, p, offset});
  for (const auto& [where, offset] : st.routed)
    routed.push_back({where.first, where.second, offset});
  if (done)
    done = send(applied, *st.commands);
  if (done)
    done = send(routed, *st.events_consumer);
  if (done)
    done = persist(self, [&] { return st.producer->commit_transaction(transaction_call_timeout); });
  if (done) {
    // The mock cluster accepts a transaction's offsets without storing
    // them (transport/README.md): committed again, plainly, so that a
    // rewind on the embedded default finds them.
    if (st.embedded) {
      if (!applied.empty())
        (void) st.commands->commit(applied);
      if (!routed.empty())
        (void) st.events_consumer->commit(routed);
    }
    bool step = st.holds_step;
    close_transaction(self);
    if (step && fault_injection::fires("crash-after-commit", std::to_string(++st.steps))) {
      MESHFLOW_LOG(warn, "bus", "fault crash-after-commit: the node dies after the commit "
                   "of step {}", st.steps);
      std::_Exit(137);
    }
    return true;
  }
  MESHFLOW_LOG(warn, "bus", "the transaction aborts: {}", done.error().message);
  auto code = done.error().code;
  if (code == errc::kafka_abortable || code == errc::kafka_retriable || code == errc::kafka)
    done = persist(self, [&] { return st.producer->abort_transaction(transaction_call_timeout); });
  if (!done || code == errc::kafka_fenced || code == errc::kafka_fatal) {
    // The producer is of no more use: a new one, registered anew.
    MESHFLOW_LOG(err, "bus", "the producer is replaced: {}", done ? "fenced" : done.error().message);
    st.producer.reset();
    std::chrono::milliseconds backoff{100};
    for (;;) {
      auto fresh = transactional_producer(st.o);
      if (fresh) {
        st.producer = std::move(*fresh);
        recovered(self);
        break;
      }
      back_off(self, backoff, fresh.error());
    }
  }
  for (const auto& [id, request] : st.requests)
    self->send(st.o.engine, unwritten_atom::value, id, request,
               error_json({"publish", "the command was not written: its transaction aborted "
                                      "(the broker refused or was away); try again"}));
  close_transaction(self);
  return false;
}

/// After an abort: every owned partition is restored from its committed
/// snapshots and read again from its committed offset; the business topics
/// too.
void rewind(writer_ptr self) {
  auto& st = self->state;
  std::vector<std::int32_t> parts;
  std::vector<kafka_topic_partition> positions;
  for (auto [p, epoch] : st.owned) {
    parts.push_back(p);
    positions.push_back({st.o.topics.commands.name, p, transport::kafka_offset_stored});
  }
  std::chrono::milliseconds backoff{100};
  expected<std::vector<kafka_topic_partition>> committed;
  while (!(committed = st.commands->committed(positions, 30s)))
    back_off(self, backoff, committed.error());
  for (auto p : *committed)
    if (auto sought = st.commands->seek(
          {p.topic, p.partition, p.offset >= 0 ? p.offset : transport::kafka_offset_beginning},
          10s);
        !sought)
      MESHFLOW_LOG(err, "bus", "cannot rewind {}/{}: {}", p.topic, p.partition,
                   sought.error().message);
  take_ownership(self, parts);
  self->send(st.events, rewind_atom::value);
}

void ownership::on_assigned(const std::vector<kafka_topic_partition>& partitions) {
  take_ownership(self, numbers_of(partitions));
}

void ownership::on_revoked(const std::vector<kafka_topic_partition>& partitions) {
  bool committed = commit(self);
  give_up(self, numbers_of(partitions));
  if (!committed)
    rewind(self);
}

void ownership::on_lost(const std::vector<kafka_topic_partition>& partitions) {
  // Others may own them already: nothing more of theirs may commit.
  give_up(self, numbers_of(partitions));
  if (self->state.in_transaction) {
    self->state.doomed = true;
    commit(self);
    rewind(self);
  }
}

/// One poll of the commands, then the mailbox, then the next poll; the
/// transaction commits once a round went by without writes (the bus has
/// nothing else to do), or once it is `commit_interval` old.
void round(writer_ptr self) {
  auto& st = self->state;
  auto records = polled(
    st.commands->poll(st.in_transaction ? 0ms : writer_wait, max_records_per_poll),
    st.o.topics.commands.name, st.read_error);
  if (!records.empty())
    take_commands(self, records);
  bool quiet = std::exchange(st.writes, 0) == 0;
  if (st.in_transaction &&
      (quiet || std::chrono::steady_clock::now() - st.began >= st.o.commit_interval))
    if (!commit(self))
      rewind(self);
  self->send(self, poll_atom::value);
}

/// Joins the commands' group (on the embedded default: takes every
/// partition) and starts the rounds.
void attach(writer_ptr self) {
  auto& st = self->state;
  if (std::exchange(st.attached, true))
    return;
  const auto& t = st.o.topics.commands;
  expected<void> joined;
  if (st.embedded) {
    std::vector<kafka_topic_partition> all;
    std::vector<std::int32_t> numbers;
    for (std::int32_t p = 0; p < t.partitions; ++p) {
      all.push_back({t.name, p, transport::kafka_offset_stored});
      numbers.push_back(p);
    }
    take_ownership(self, numbers);
    joined = st.commands->assign(all);
  } else {
    joined = st.commands->subscribe({t.name}, &st.listener);
  }
  if (!joined)
    MESHFLOW_LOG(err, "bus", "cannot read {}: {}", t.name, joined.error().message);
  self->send(self, poll_atom::value);
}

/// librdkafka 2.0 aborts when a member of a cooperative-sticky group closes
/// before its first assignment (librdkafka#4312, fixed in 2.3): a node that
/// stops so early polls until the group has assigned it (it restores
/// nothing then), for at most a session; false if the group did not.
bool settle_before_close(writer_ptr self) {
  auto& st = self->state;
  auto until = std::chrono::steady_clock::now() + 10s;
  while (!st.settled && std::chrono::steady_clock::now() < until)
    static_cast<void>(st.commands->poll(100ms, max_records_per_poll));
  return st.settled;
}

caf::behavior writer(writer_ptr self, std::shared_ptr<writer_state> ready) {
  auto& st = self->state;
  st.cluster = ready->o.cluster;
  st.o = std::move(ready->o);
  st.producer = std::move(ready->producer);
  st.commands = std::move(ready->commands);
  st.events_consumer = std::move(ready->events_consumer);
  st.embedded = ready->embedded;
  st.listener.self = self;
  st.dlq = transport::dead_letter_queue{st.o.topics.dlq.name};
  ready.reset();
  self->set_exit_handler([self](caf::exit_msg& msg) {
    auto& st = self->state;
    commit(self);
    st.stopping = true;
    if (st.attached && !st.embedded && !settle_before_close(self)) {
      // Closed now, it would abort the process; the process is about to
      // exit, and the group forgets the member after its session.
      MESHFLOW_LOG(warn, "bus", "the node stops before the group assigned it partitions");
      static_cast<void>(new std::shared_ptr<transport::kafka_consumer>(std::move(st.commands)));
      self->send_exit(st.events, msg.reason);
      self->send_exit(st.archive, msg.reason);
      self->quit(msg.reason);
      return;
    }
    // Leaving the group hands the partitions on at once.
    if (auto closed = st.commands->close(); !closed)
      MESHFLOW_LOG(warn, "bus", "leaving {}'s group: {}", st.o.topics.commands.name,
                   closed.error().message);
    commit(self);
    self->send_exit(st.events, msg.reason);
    self->send_exit(st.archive, msg.reason);
    self->quit(msg.reason);
  });
  return {
    [self](caf::actor& events, caf::actor& archive) {
      self->state.events = std::move(events);
      self->state.archive = std::move(archive);
    },
    [self](attach_atom) { attach(self); },
    [self](poll_atom) { round(self); },
    [self](archive_atom a, const std::string& id) -> caf::result<std::string> {
      self->delegate(self->state.archive, a, id);
      return caf::delegated<std::string>{};
    },
    [self](history_atom a, const std::string& id) -> caf::result<std::string> {
      self->delegate(self->state.archive, a, id);
      return caf::delegated<std::string>{};
    },
    [self](write_atom, bus_writes& w) { write(self, w); },
    [self](listen_atom, channel_operations& consumed, std::vector<std::string>& produced) {
      self->send(self->state.events, listen_atom::value, std::move(consumed), std::move(produced));
    },
    [self](listening_atom a) -> caf::result<bool> {
      self->delegate(self->state.events, a);
      return caf::delegated<bool>{};
    },
    [self](poison_atom, poison& p) { bury(self, p); },
  };
}

} // namespace

expected<caf::actor> spawn_bus(caf::actor_system& sys, bus_options options) {
  // The clients are made and positioned here, before any actor is spawned,
  // so that a broker that refuses is an error of the node's start (and
  // leaves nothing running), not of a later round.
  const auto& t = options.topics;
  auto cluster_name = t.commands.name.substr(0, t.commands.name.size() - 9);  // ".commands"
  const auto& bootstrap = options.kafka.at("bootstrap.servers");
  auto producer = transactional_producer(options);
  if (!producer)
    return tl::unexpected(producer.error());
  auto consumer = [&](const std::string& group) -> expected<std::shared_ptr<transport::kafka_consumer>> {
    auto c = transport::engine_consumer_config(bootstrap, group);
    c["client.id"] = options.name;
    // A command waits at most this long on the broker for others to share
    // its fetch: the latency bound of a step that waits for a command.
    c["fetch.wait.max.ms"] = "10";
    auto made = transport::kafka_consumer::create(c);
    if (!made)
      return tl::unexpected(made.error());
    return std::make_shared<transport::kafka_consumer>(std::move(*made));
  };
  bool embedded = options.cluster != nullptr;
  auto commands = consumer(cluster_name + ".engine");
  if (!commands)
    return tl::unexpected(commands.error());
  if (auto known = (*commands)->learn_topics({t.commands.name}, 10s); !known)
    return tl::unexpected(known.error());
  auto events = consumer(cluster_name + ".router");
  if (!events)
    return tl::unexpected(events.error());

  // The events topic from the start (start_node made it); channels are
  // added as versions that consume from them are deployed.
  std::vector<kafka_topic_partition> events_topic;
  for (std::int32_t p = 0; p < t.events.partitions; ++p)
    events_topic.push_back({t.events.name, p, transport::kafka_offset_stored});
  if (auto known = (*events)->learn_topics({t.events.name}, 10s); !known)
    return tl::unexpected(known.error());
  auto positioned = start_positions(**events, std::move(events_topic));
  if (!positioned)
    return tl::unexpected(positioned.error());
  events_topic = std::move(*positioned);
  if (auto assigned = (*events)->assign(events_topic); !assigned)
    return tl::unexpected(assigned.error());
  auto ready = std::make_shared<writer_state>();
  ready->o = options;
  ready->producer = std::move(*producer);
  ready->commands = std::move(*commands);
  ready->events_consumer = *events;
  ready->embedded = embedded;
  auto bus = sys.spawn<caf::detached>(writer, std::move(ready));
  auto event_reader = sys.spawn<caf::detached>(reader, std::move(*events), options, bus,
                                               std::move(events_topic));
  auto archivist = sys.spawn<caf::detached>(archive, options);
  caf::anon_send(bus, std::move(event_reader), std::move(archivist));
  return bus;
}

} // namespace meshflow::actors
