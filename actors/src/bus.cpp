#include "meshflow/actors/bus.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "meshflow/actors/protocol.hpp"
#include "meshflow/actors/router.hpp"
#include "meshflow/log.hpp"
#include "meshflow/transport/dead_letter.hpp"
#include "meshflow/transport/json_format.hpp"
#include "meshflow/transport/kafka_admin.hpp"
#include "meshflow/transport/kafka_binding.hpp"

// The bus is three actors, each on a thread of its own: the writer (the
// bus's handle, bus.hpp), which owns the producer, and two readers, one per
// consumer (the commands; the business topics), which block in their
// consumer's poll between the messages they are sent. Nothing spins: an
// idle node waits in librdkafka.

namespace meshflow::actors {

namespace {

using namespace std::chrono_literals;
using transport::kafka_record;
using transport::kafka_topic_partition;

using poll_atom = caf::atom_constant<caf::atom("poll")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using commit_atom = caf::atom_constant<caf::atom("commit")>;
using poison_atom = caf::atom_constant<caf::atom("poison")>;

/// Records a poll takes at most: enough to carry a backlog in few rounds.
constexpr std::size_t max_records_per_poll = 2000;
/// How long a reader waits in its poll before it reads its mailbox again
/// (a commit to make, topics to read).
constexpr auto reader_wait = 20ms;
/// How often the writer serves delivery reports and commits the offsets
/// whose outputs are delivered (each commit waits for the broker).
constexpr auto commit_interval = 100ms;

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

// -- readers ------------------------------------------------------------------

struct reader_state {
  std::shared_ptr<const void> cluster;  // outlives the consumer
  std::shared_ptr<transport::kafka_consumer> consumer;
  bus_options o;
  caf::actor writer;
  /// What this reader reads.
  std::vector<kafka_topic_partition> assigned;
  /// The events reader: the operations consuming from each channel, and
  /// whether a listen failed since the last `listening_atom`.
  channel_operations checks;
  bool listen_failed = false;
  static inline const char* name = "meshflow.bus.reader";
};

using reader_ptr = caf::stateful_actor<reader_state>*;

/// The commands read, per partition, to the engine; poison to the writer.
void take_commands(reader_ptr self, std::vector<kafka_record>& records) {
  auto& st = self->state;
  std::map<std::int32_t, std::pair<std::vector<command>, std::int64_t>> by_partition;
  for (auto& r : records) {
    auto& [batch, next] = by_partition[r.partition];
    next = r.offset + 1;
    auto c = decode_command(r.message.value.value_or(""));
    if (!c) {
      self->send(st.writer, poison_atom::value, poison{std::move(r), c.error()});
      continue;
    }
    batch.push_back(std::move(*c));
  }
  for (auto& [p, batch] : by_partition)
    self->send(st.o.engine, consumed_atom::value, p, std::move(batch.first), batch.second);
}

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

using take_fn = void (*)(reader_ptr, std::vector<kafka_record>&);

/// One poll, then the mailbox, then the next poll — while assigned.
void read_round(reader_ptr self, take_fn take) {
  auto& st = self->state;
  if (st.assigned.empty())
    return;  // polled again once told what to read
  auto records = st.consumer->poll(reader_wait, max_records_per_poll);
  if (!records)
    MESHFLOW_LOG(warn, "bus", "reading {}: {}", st.assigned.front().topic,
                 records.error().message);
  else if (!records->empty())
    take(self, *records);
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

/// Reads `assigned` (and, for the events reader, the topics it is told to
/// read as well) and hands each record to `take`.
caf::behavior reader(reader_ptr self, std::shared_ptr<transport::kafka_consumer> consumer,
                     bus_options o, caf::actor writer,
                     std::vector<kafka_topic_partition> assigned, take_fn take) {
  auto& st = self->state;
  st.cluster = o.cluster;
  st.consumer = std::move(consumer);
  st.o = std::move(o);
  st.writer = std::move(writer);
  st.assigned = std::move(assigned);
  self->send(self, poll_atom::value);
  return {
    [self, take](poll_atom) { read_round(self, take); },
    [self](listening_atom) { return !std::exchange(self->state.listen_failed, false); },
    [self](commit_atom, const std::vector<kafka_topic_partition>& offsets) {
      if (auto done = self->state.consumer->commit(offsets); !done)
        MESHFLOW_LOG(warn, "bus", "committing offsets of {}: {}", offsets.front().topic,
                     done.error().message);
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

/// Answers `archive_atom` requests, one at a time, on a thread of its own
/// (each reads a partition of the instances topic to its end).
caf::behavior archive(caf::event_based_actor*, bus_options o) {
  return {
    [o](archive_atom, const std::string& id) -> std::string {
      const auto& topic = o.topics.instances;
      std::string latest;
      auto read = transport::read_to_end(
        o.kafka, topic.name, partition_in(topic, id),
        [&](const kafka_record& r) {
          if (r.message.key == id)
            latest = r.message.value.value_or("");
        },
        30s);
      if (!read) {
        MESHFLOW_LOG(warn, "bus", "looking instance {} up in {}: {}", id, topic.name,
                     read.error().message);
        return {};
      }
      return latest;
    },
  };
}

// -- the writer ---------------------------------------------------------------

struct writer_state {
  std::shared_ptr<const void> cluster;  // outlives the producer
  std::optional<transport::kafka_producer> producer;
  bus_options o;
  caf::actor commands;  // the commands reader, which commits
  caf::actor events;    // the events reader
  caf::actor archive;
  transport::dead_letter_queue dlq{""};
  /// Per partition of the commands: the offset applied up to, not yet
  /// committed.
  std::map<std::int32_t, std::int64_t> applied;
  /// Per business topic partition: the offset routed up to, not yet
  /// committed.
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> routed;
  /// `publish` requests waiting for their record's delivery.
  std::vector<std::pair<caf::response_promise, std::string>> publishing;
  static inline const char* name = "meshflow.bus";
};

using writer_ptr = caf::stateful_actor<writer_state>*;

transport::kafka_config with(transport::kafka_config c,
                             std::initializer_list<std::pair<const std::string, std::string>> more) {
  for (const auto& [k, v] : more)
    c[k] = v;
  return c;
}

expected<void> produce(writer_ptr self, const std::string& topic,
                       const transport::kafka_message& m, std::optional<std::int32_t> partition,
                       std::string_view what) {
  auto queued = self->state.producer->produce(topic, m, partition);
  if (!queued)
    MESHFLOW_LOG(err, "bus", "cannot write {} to {}: {}", what, topic, queued.error().message);
  return queued;
}

/// Writes what the engine and the admin give, as they give it (librdkafka
/// batches the records).
void write(writer_ptr self, bus_writes& w) {
  auto& st = self->state;
  const auto& t = st.o.topics;
  for (const auto& c : w.commands) {
    transport::kafka_message m{c.instance_id, encode(c),
                               {{std::string{command_kind_header}, std::string{kind_of(c)}}}};
    auto written = produce(self, t.commands.name, m, partition_in(t.commands, c.instance_id),
                           fmt::format("a {} command", kind_of(c)));
    if (!written && !c.request_id.empty())
      self->send(st.o.engine, unwritten_atom::value, c.instance_id, c.request_id,
                 error_json({"publish", fmt::format("the {} command cannot be written to {}: {}",
                                                    kind_of(c), t.commands.name,
                                                    written.error().message)}));
  }
  for (const auto& [id, snap] : w.snapshots)
    produce(self, t.instances.name, {id, snap, {}}, partition_in(t.instances, id), "a snapshot");
  for (const auto& [id, entries] : w.history)
    produce(self, t.history.name, {id, entries, {}}, partition_in(t.history, id),
            "history entries");
  for (const auto& e : w.events) {
    auto m = transport::kafka_binding::encode(e.event, transport::kafka_binding::content_mode::binary,
                                              e.instance_id);
    if (!m) {
      MESHFLOW_LOG(err, "bus", "instance {} produced an event that is not a CloudEvent: {}",
                   e.instance_id, m.error().message);
      continue;
    }
    produce(self, e.channel.empty() ? t.events.name : e.channel, *m, std::nullopt, "an event");
  }
  for (const auto& [key, value] : w.definitions)
    produce(self, t.definitions.name, {key, value, {}}, 0, "a definition");
  for (auto [partition, offset] : w.applied) {
    auto& at = st.applied[partition];
    at = std::max(at, offset);
  }
  for (const auto& r : w.routed) {
    auto& at = st.routed[{r.topic, r.partition}];
    at = std::max(at, r.offset);
  }
  st.producer->poll();
}

/// Once what was written is delivered: answers the publish requests, and
/// has the applied offsets committed (at least once: a crash before the
/// commit applies those commands again).
void settle(writer_ptr self) {
  auto& st = self->state;
  if (st.applied.empty() && st.routed.empty() && st.publishing.empty()) {
    st.producer->poll();
    return;
  }
  auto flushed = st.producer->flush(30s);
  std::string why = flushed ? "" : flushed.error().message;
  for (auto& [promise, topic] : std::exchange(st.publishing, {}))
    promise.deliver(why.empty() ? why : fmt::format("publishing to {}: {}", topic, why));
  if (!flushed) {
    MESHFLOW_LOG(err, "bus", "outputs not delivered, offsets not committed: {}", why);
    return;
  }
  if (!st.applied.empty()) {
    std::vector<kafka_topic_partition> offsets;
    for (auto [partition, offset] : std::exchange(st.applied, {}))
      offsets.push_back({st.o.topics.commands.name, partition, offset});
    self->send(st.commands, commit_atom::value, std::move(offsets));
  }
  if (!st.routed.empty()) {
    std::vector<kafka_topic_partition> offsets;
    for (const auto& [where, offset] : std::exchange(st.routed, {}))
      offsets.push_back({where.first, where.second, offset});
    self->send(st.events, commit_atom::value, std::move(offsets));
  }
}

caf::behavior writer(writer_ptr self, std::shared_ptr<writer_state> ready) {
  auto& st = self->state;
  st.cluster = ready->o.cluster;
  st.o = std::move(ready->o);
  st.producer = std::move(ready->producer);
  st.dlq = transport::dead_letter_queue{st.o.topics.dlq.name};
  ready.reset();
  self->set_exit_handler([self](caf::exit_msg& msg) {
    settle(self);
    self->send_exit(self->state.commands, msg.reason);
    self->send_exit(self->state.events, msg.reason);
    self->send_exit(self->state.archive, msg.reason);
    self->quit(msg.reason);
  });
  self->delayed_send(self, commit_interval, tick_atom::value);
  return {
    [self](caf::actor& commands, caf::actor& events, caf::actor& archive) {
      self->state.commands = std::move(commands);
      self->state.events = std::move(events);
      self->state.archive = std::move(archive);
    },
    [self](archive_atom a, const std::string& id) -> caf::result<std::string> {
      self->delegate(self->state.archive, a, id);
      return caf::delegated<std::string>{};
    },
    [self](tick_atom) {
      settle(self);
      self->delayed_send(self, commit_interval, tick_atom::value);
    },
    [self](write_atom, bus_writes& w) { write(self, w); },
    [self](listen_atom, channel_operations& consumed, std::vector<std::string>& produced) {
      self->send(self->state.events, listen_atom::value, std::move(consumed), std::move(produced));
    },
    [self](listening_atom a) -> caf::result<bool> {
      self->delegate(self->state.events, a);
      return caf::delegated<bool>{};
    },
    [self](poison_atom, poison& p) {
      auto& st = self->state;
      MESHFLOW_LOG(warn, "bus", "record {}/{}@{} to {}: {}", p.record.topic, p.record.partition,
                   p.record.offset, st.dlq.topic(), p.why.message);
      if (auto sent = st.dlq.send(*st.producer, p.record, p.why); !sent)
        MESHFLOW_LOG(err, "bus", "cannot write the dead letter of {}/{}@{}: {}", p.record.topic,
                     p.record.partition, p.record.offset, sent.error().message);
    },
    [self](publish_atom, const std::string& topic, const std::string& event_json,
           const std::string& key) -> caf::result<std::string> {
      auto& st = self->state;
      auto event = transport::json_format::parse(event_json);
      if (!event)
        return fmt::format("not a CloudEvent: {}", event.error().message);
      auto m = transport::kafka_binding::encode(*event, transport::kafka_binding::content_mode::binary,
                                                key);
      if (!m)
        return m.error().message;
      if (auto queued = st.producer->produce(topic, *m); !queued)
        return queued.error().message;
      auto promise = self->make_response_promise<std::string>();
      st.publishing.emplace_back(promise, topic);
      return promise;
    },
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
  const auto& client = options.kafka["client.id"];
  // Every step of an instance that waits for a command pays the linger
  // once: 1 ms rather than the default 5. Records as large as the JSON
  // documents the node accepts (a start carries its input, a snapshot the
  // data and more): a broker refuses what is above its own
  // `message.max.bytes` (1 MB by default), which larger limits must raise.
  auto record_bytes = std::min<std::size_t>(
    1'000'000'000, std::max<std::size_t>(1'000'000, 4 * options.json.max_bytes + (1u << 20)));
  auto producer = transport::kafka_producer::create(
    with(transport::engine_producer_config(bootstrap),
         {{"client.id", client},
          {"linger.ms", "1"},
          {"message.max.bytes", std::to_string(record_bytes)}}));
  if (!producer)
    return tl::unexpected(producer.error());
  if (auto known = producer->learn_topics({t.commands.name, t.instances.name, t.history.name,
                                           t.events.name,
                                           t.definitions.name, t.dlq.name},
                                          10s);
      !known)
    return tl::unexpected(known.error());
  auto consumer = [&](const std::string& group) -> expected<std::shared_ptr<transport::kafka_consumer>> {
    auto c = transport::engine_consumer_config(bootstrap, group);
    c["client.id"] = client;
    // A command waits at most this long on the broker for others to share
    // its fetch: the latency bound of a step that waits for a command.
    c["fetch.wait.max.ms"] = "10";
    auto made = transport::kafka_consumer::create(c);
    if (!made)
      return tl::unexpected(made.error());
    return std::make_shared<transport::kafka_consumer>(std::move(*made));
  };
  auto commands = consumer(cluster_name + ".engine");
  if (!commands)
    return tl::unexpected(commands.error());
  auto events = consumer(cluster_name + ".router");
  if (!events)
    return tl::unexpected(events.error());
  // This node owns every partition of the commands (one node; the cluster
  // issue makes it a consumer group's assignment), from the offsets its
  // group committed.
  std::vector<kafka_topic_partition> owned;
  for (std::int32_t p = 0; p < t.commands.partitions; ++p)
    owned.push_back({t.commands.name, p, transport::kafka_offset_stored});
  if (auto known = (*commands)->learn_topics({t.commands.name}, 10s); !known)
    return tl::unexpected(known.error());
  if (auto assigned = (*commands)->assign(owned); !assigned)
    return tl::unexpected(assigned.error());

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
  auto bus = sys.spawn<caf::detached>(writer, std::move(ready));
  auto command_reader = sys.spawn<caf::detached>(reader, std::move(*commands), options, bus,
                                                 std::move(owned), take_fn{take_commands});
  auto event_reader = sys.spawn<caf::detached>(reader, std::move(*events), options, bus,
                                               std::move(events_topic), take_fn{take_events});
  auto archivist = sys.spawn<caf::detached>(archive, options);
  caf::anon_send(bus, std::move(command_reader), std::move(event_reader), std::move(archivist));
  return bus;
}

} // namespace meshflow::actors
