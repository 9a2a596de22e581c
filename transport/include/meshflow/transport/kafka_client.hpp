#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "meshflow/error.hpp"
#include "meshflow/transport/kafka_message.hpp"

/// meshflow's one Kafka client: small RAII wrappers over librdkafka (its C++
/// API rdkafka++, and its C API where rdkafka++ lacks something), which this
/// header does not expose.
///
/// Configuration is librdkafka's own property map (`bootstrap.servers`,
/// `group.id`, `enable.idempotence`, ...; see librdkafka's CONFIGURATION.md),
/// passed through untouched; `engine_producer_config` and
/// `engine_consumer_config` give the settings the engine uses. Every failure
/// is a `meshflow::error` whose code is one of `errc.hpp`: `errc::kafka`
/// (librdkafka refused or reported something; its text is in the message),
/// `errc::timeout`, and for a transactional producer the four classes
/// `kafka_retriable`, `kafka_abortable`, `kafka_fenced`, `kafka_fatal`;
/// nothing throws.
///
/// A moved-from client may only be destroyed or assigned to.
///
/// Neither class is thread-safe: each belongs to one owner (an actor), which
/// also receives the callbacks' effects through `poll`/`flush`. librdkafka's
/// log lines go to stderr, as librdkafka prints them by default.
///
/// # How the engine's exactly-once loop uses these classes, step by step
///
/// Every input to an instance is a record on its partition of
/// `<cluster>.commands` (DESIGN.md, principles 1, 3, 4). A node runs one
/// group consumer on that topic and one transactional producer:
///
/// 1. **Topics.** `kafka_admin::ensure_topics(engine_topics::of(...).all())`
///    creates the cluster's topics or checks that they are as needed
///    (`kafka_topics.hpp`, `kafka_admin.cpp`). Commands, instances and
///    history have the same partition count and are keyed by instance id, and
///    the engine's producer uses the Java-compatible murmur2 partitioner, so
///    partition p of each holds the same instances (`partition_for_key`).
/// 2. **Ownership.** `kafka_consumer::subscribe({commands}, &listener)` with
///    `engine_consumer_config` joins the group with the cooperative-sticky
///    assignor: a rebalance moves only the partitions that change owner, and
///    the owner hears of each change through its `kafka_rebalance_listener`
///    inside `poll` (`kafka_client.cpp`, `consumer::impl::rebalance_cb`).
/// 3. **Recovery of an assigned partition** (`on_assigned`): each partition
///    comes with the offset its fetching starts at, the group's committed
///    offset, looked up as the partition is assigned (with
///    `read_committed` librdkafka asks for stable offsets, KIP-447: the
///    answer waits until a previous owner's open transaction that commits
///    offsets of it has ended, so what the snapshots say is final). The
///    owner `pause`s it, `read_to_end`s the same partition of
///    `<cluster>.instances` to restore the snapshots, then `resume`s it.
/// 4. **A batch.** `poll` returns records of owned partitions; the owner
///    applies them, then `begin_transaction`, `produce` the snapshots,
///    history entries, events and commands, `send_offsets_to_transaction`
///    with the next offsets to read and a fresh `group_metadata()` of the
///    consumer, and `commit_transaction`. The offsets and the outputs are
///    committed together or not at all; a `read_committed` reader never sees
///    an aborted output.
/// 5. **Failures, by class.** `kafka_retriable`: call `commit_transaction`
///    again. `kafka_abortable`: `abort_transaction`, `seek` the batch's
///    partitions back to the batch's first offsets, replay it.
///    `kafka_fenced` / `kafka_fatal`: destroy the producer; with fencing,
///    what it owned is someone else's now.
/// 6. **Zombies.** A consumer that lost its partitions but still runs has an
///    older generation in its group metadata: the coordinator refuses its
///    offsets (the transaction becomes abortable), so its outputs are never
///    committed (KIP-447). A producer replaced by one with the same
///    `transactional.id` is fenced.
/// 7. **Giving partitions up** (`on_revoked`, cooperative: only the moving
///    ones): called before they are given up, so the owner commits (or
///    aborts) the batch it has for them and drops their instances. Records
///    of those partitions that `poll` had fetched but not returned are
///    dropped; their next owner reads them from the committed offset.
///    `on_lost` (the session expired, others may own them already): abort,
///    drop, commit nothing.
/// 8. **Poison.** A record that cannot be applied goes to `<cluster>.dlq`
///    (`dead_letter.hpp`) in the same transaction as its offset.
///
/// The embedded default (`embedded_cluster.hpp`) runs the same code on
/// librdkafka's mock cluster, with the differences it lists there.
namespace meshflow::transport {

/// librdkafka configuration properties.
using kafka_config = std::map<std::string, std::string>;

/// The configuration of the engine's producers, for `bootstrap_servers`:
///
/// - `enable.idempotence=true`: no duplicates or reordering from retries
///   (implies `acks=all`, retries without limit within the message timeout).
/// - `linger.ms=5`: a record waits at most 5 ms for others to share its
///   batch: the latency bound of an event sent outside a transaction (a
///   transaction's records are flushed by `commit_transaction` anyway).
/// - `batch.size=1000000`, `batch.num.messages=10000`: a batch closes at 1 MB
///   or 10,000 records. At 2,000 instances/s (some 20,000 records/s over 24
///   partitions) a 5 ms window holds a few records per partition, so these
///   bounds only matter when a backlog builds up (a restart replaying
///   commands), where large batches carry it with fewer requests.
/// - `compression.codec=lz4`: snapshots and events are JSON or protobuf with
///   repeated names, which compress well; lz4 costs the least CPU of
///   librdkafka's codecs (zstd compresses more for several times the CPU).
/// - `partitioner=murmur2_random`: keys hash as the Java client's default
///   partitioner does (`partition_for_key`), so other clients agree on an
///   instance's partition; records without key are spread.
/// - `message.timeout.ms=30000` (non-transactional): librdkafka retries a
///   delivery for up to 30 s, then reports it failed (`flush`).
/// - With a `transactional_id`: `transactional.id`, and
///   `transaction.timeout.ms=10000` (Kafka Streams' value for exactly-once):
///   a crashed owner's open transaction blocks `read_committed` readers of its
///   partitions for at most 10 s. The message timeout follows it.
///
/// Any entry may be changed in the returned map before `create`.
kafka_config engine_producer_config(const std::string& bootstrap_servers,
                                    const std::string& transactional_id = "");

/// The configuration of the engine's group consumers, for `bootstrap_servers`
/// and `group_id`:
///
/// - `partition.assignment.strategy=cooperative-sticky`: incremental
///   rebalances, so a joining or leaving node moves only the partitions that
///   change owner and the others keep running.
/// - `enable.auto.commit=false`, `enable.auto.offset.store=false`: offsets
///   are committed only by the owner, in its transactions (or `commit`).
/// - `isolation.level=read_committed`: aborted transactions are never seen.
/// - `auto.offset.reset=earliest`: a partition without committed offset is
///   read from its first record (a new cluster's commands are all inputs).
/// - `session.timeout.ms=10000`, `heartbeat.interval.ms=1000`: a dead node's
///   partitions move after 10 s.
kafka_config engine_consumer_config(const std::string& bootstrap_servers,
                                    const std::string& group_id);

/// Sends records.
///
/// `produce` only queues a record; librdkafka sends it in the background and
/// reports its delivery later. A delivery failure (after librdkafka's own
/// retries) is collected and returned by the next `flush`, so that a caller
/// that produces and then flushes learns of every failure. `produce_sync`
/// waits for one record's delivery and reports it directly.
///
/// With `transactional.id` set, records are produced in transactions
/// (`init_transactions` once, then `begin_transaction`, `produce`...,
/// optionally `send_offsets_to_transaction`, then `commit_transaction` or
/// `abort_transaction`). A transaction's delivery failures are reported by
/// its commit (as `kafka_abortable`), not by `flush`. See the top of this
/// header for the whole loop.
class kafka_producer {
 public:
  /// A producer configured with `config`; fails on an unknown property or a
  /// bad value, naming it.
  static expected<kafka_producer> create(const kafka_config& config);

  kafka_producer(kafka_producer&&) noexcept;
  kafka_producer& operator=(kafka_producer&&) noexcept;
  /// Waits up to 5 s for queued records, then drops what is left. Call
  /// `flush` first to know whether everything was delivered. An open
  /// transaction is not committed: the broker aborts it.
  ~kafka_producer();

  /// Queues `message` for `topic` (to `partition`, or where the partitioner
  /// puts its key). Fails at once when librdkafka cannot queue it (queue
  /// full, message too large, unknown partition, a transactional producer
  /// outside a transaction: `errc::kafka`; the producer has a fatal error:
  /// `errc::kafka_fatal` or `errc::kafka_fenced`).
  expected<void> produce(const std::string& topic, const kafka_message& message,
                         std::optional<std::int32_t> partition = std::nullopt);

  /// Produces `message` and waits until the broker has it (or it failed, or
  /// `timeout` passed); returns where it was stored.
  expected<kafka_delivery> produce_sync(const std::string& topic,
                                        const kafka_message& message,
                                        std::chrono::milliseconds timeout,
                                        std::optional<std::int32_t> partition
                                        = std::nullopt);

  /// Waits until every queued record is delivered or failed. Fails with
  /// `errc::timeout` when records are still undelivered after `timeout`, else
  /// with `errc::kafka` when deliveries failed since the last `flush`
  /// (the message counts them and quotes the first).
  expected<void> flush(std::chrono::milliseconds timeout);

  /// Asks the brokers where the partitions of `topics` live, so that the
  /// first record to each is sent at once: otherwise librdkafka looks a
  /// topic up when its first record is queued, which delays that record (by
  /// up to a second on the mock cluster). For topics a producer will write
  /// from its start; fails when the brokers do not answer.
  expected<void> learn_topics(const std::vector<std::string>& topics,
                              std::chrono::milliseconds timeout);

  /// Serves delivery reports, waiting at most `timeout` for one. A caller
  /// that produces for a long time without flushing calls this regularly.
  void poll(std::chrono::milliseconds timeout = std::chrono::milliseconds{0});

  /// Records produced whose delivery (or failure) is not reported yet; 0
  /// after a successful `flush`.
  std::size_t pending() const;

  // -- transactions (needs `transactional.id`) --------------------------------
  //
  // Each fails with one of the four classes of `errc.hpp` (`kafka_retriable`,
  // `kafka_abortable`, `kafka_fenced`, `kafka_fatal`) or, for a call out of
  // order or on a producer without `transactional.id`, `errc::kafka`.

  /// Registers the `transactional.id` with its coordinator, fencing any
  /// older producer with the same id and ending (aborting) its open
  /// transaction. Once per producer, before the first transaction.
  expected<void> init_transactions(std::chrono::milliseconds timeout);

  /// Starts a transaction: the records produced until the commit or abort
  /// belong to it. Local, does not wait.
  expected<void> begin_transaction();

  /// Adds consumed offsets to the current transaction: they become `group`'s
  /// committed offsets when it commits, and never if it aborts. Each offset
  /// is the next one to read (the last processed plus one). `group` comes
  /// from the consumer that read the records (`group_metadata()`, fresh for
  /// this transaction): a consumer of an older generation is refused
  /// (`kafka_abortable`).
  expected<void> send_offsets_to_transaction(
    const std::vector<kafka_topic_partition>& offsets,
    const kafka_group_metadata& group, std::chrono::milliseconds timeout);

  /// Flushes the transaction's records and commits it with its offsets.
  /// `kafka_retriable`: call again (it may have committed meanwhile; a
  /// second call says so). `kafka_abortable`: call `abort_transaction`.
  expected<void> commit_transaction(std::chrono::milliseconds timeout);

  /// Aborts the current transaction: its records are dropped or marked
  /// aborted, its offsets are not committed. `kafka_retriable`: call again.
  expected<void> abort_transaction(std::chrono::milliseconds timeout);

 private:
  struct impl;
  explicit kafka_producer(std::unique_ptr<impl> self);
  std::unique_ptr<impl> self_;
};

/// What a group consumer's owner hears of rebalances, inside
/// `kafka_consumer::poll` (and `close`), on the owner's thread. With the
/// cooperative-sticky assignor the lists are increments: only the
/// partitions that come or go. The listener may call the consumer
/// (`pause`, `seek`, `committed`, `commit`) and its own producer from these
/// functions, and must not throw (a throw is caught and returned by the next
/// `poll` as an error).
class kafka_rebalance_listener {
 public:
  virtual ~kafka_rebalance_listener() = default;

  /// These partitions are now the consumer's, and no record of them has been
  /// returned yet. Each offset is where fetching starts: the group's
  /// committed offset (stable, with `read_committed`), else the first or
  /// the end offset as `auto.offset.reset` says; `kafka_offset_invalid`
  /// when the broker did not tell in time (librdkafka then finds it).
  /// Called after every assignment of a rebalance, with nothing new too
  /// (empty): the first call says that the group has settled.
  virtual void on_assigned(const std::vector<kafka_topic_partition>& partitions) = 0;

  /// These partitions are about to be given up: commit (or abort) what is
  /// in progress for them now. When this returns they are gone, and records
  /// of them fetched but not yet returned by `poll` are dropped.
  virtual void on_revoked(const std::vector<kafka_topic_partition>& partitions) = 0;

  /// These partitions were lost without a chance to give them up (the
  /// session expired, or the consumer was fenced): another member may own
  /// them already, so nothing may be committed for them. Abort and drop.
  virtual void on_lost(const std::vector<kafka_topic_partition>& partitions) = 0;
};

/// Reads records, as a member of a consumer group (`subscribe`, needs
/// `group.id`) or from partitions chosen by the caller (`assign`).
class kafka_consumer {
 public:
  /// A consumer configured with `config`; fails on an unknown property or
  /// a bad value, naming it.
  static expected<kafka_consumer> create(const kafka_config& config);

  kafka_consumer(kafka_consumer&&) noexcept;
  kafka_consumer& operator=(kafka_consumer&&) noexcept;
  /// Closes the consumer (leaving its group) if `close` was not called,
  /// without calling the rebalance listener (which may be gone already).
  ~kafka_consumer();

  /// Joins the consumer group for `topics`; partitions are assigned by the
  /// group and arrive with later `poll`s, which tell `listener` (when given;
  /// it must outlive the consumer or its `close`) of every change.
  expected<void> subscribe(const std::vector<std::string>& topics,
                           kafka_rebalance_listener* listener = nullptr);

  /// Reads exactly these partitions, each from its `offset`
  /// (`kafka_offset_beginning`, `kafka_offset_end`, `kafka_offset_stored`
  /// or an absolute offset), replacing any previous assignment.
  expected<void> assign(const std::vector<kafka_topic_partition>& partitions);

  /// As `kafka_producer::learn_topics`: without it, a partition assigned
  /// before librdkafka knows its leader starts fetching only after a
  /// retry (a second later on the mock cluster).
  expected<void> learn_topics(const std::vector<std::string>& topics,
                              std::chrono::milliseconds timeout);

  /// Also reads these partitions (not assigned yet), each from its
  /// `offset`, without touching the others: how a reader of chosen
  /// partitions takes more. (Assigning again what is already being read
  /// can trip an assertion of librdkafka 2.0 when the consumer closes.)
  expected<void> add_to_assignment(const std::vector<kafka_topic_partition>& partitions);

  /// The partitions currently assigned, with their positions (the next
  /// offset to read, or `kafka_offset_invalid` when none was read yet).
  expected<std::vector<kafka_topic_partition>> assignment() const;

  /// Waits up to `timeout` for a record, then takes whatever else is already
  /// fetched, up to `max_records` in all. An empty result means nothing
  /// arrived in time. Rebalances are served here (see
  /// `kafka_rebalance_listener`). A consumer error is returned when no
  /// record came before it (else with the next `poll`); most are transient
  /// and a caller may keep polling.
  expected<std::vector<kafka_record>> poll(std::chrono::milliseconds timeout,
                                           std::size_t max_records = 1);

  /// Commits the current positions of all assigned partitions (waits).
  expected<void> commit();

  /// Commits these offsets (each the next offset to read) (waits).
  expected<void> commit(const std::vector<kafka_topic_partition>& offsets);

  /// The group's committed offsets of these partitions (the next offset to
  /// read, `kafka_offset_invalid` when none). With `read_committed`, waits
  /// while a transaction that commits offsets of them is open, so that the
  /// answer is stable.
  expected<std::vector<kafka_topic_partition>> committed(
    const std::vector<kafka_topic_partition>& partitions,
    std::chrono::milliseconds timeout) const;

  /// Stops fetching these assigned partitions (a partition owner restoring
  /// its state pauses its commands until it is ready); `poll` returns
  /// nothing more of them, the group membership goes on.
  expected<void> pause(const std::vector<kafka_topic_partition>& partitions);

  /// Fetches these paused partitions again, from where they stopped.
  expected<void> resume(const std::vector<kafka_topic_partition>& partitions);

  /// Makes `partition.offset` the next offset `poll` returns of that
  /// assigned partition (an absolute offset, `kafka_offset_beginning` or
  /// `kafka_offset_end`): how a batch is replayed after an abort.
  expected<void> seek(const kafka_topic_partition& partition,
                      std::chrono::milliseconds timeout);

  /// Asks the broker for a partition's first and end offsets.
  expected<kafka_watermarks> watermarks(const std::string& topic, std::int32_t partition,
                                        std::chrono::milliseconds timeout) const;

  /// The group membership to send with offsets in a transaction
  /// (`kafka_producer::send_offsets_to_transaction`). Take it anew for each
  /// transaction.
  expected<kafka_group_metadata> group_metadata() const;

  /// Leaves the group (telling the listener `on_revoked` of what it owned)
  /// and stops fetching; the consumer is unusable after.
  expected<void> close();

 private:
  struct impl;
  explicit kafka_consumer(std::unique_ptr<impl> self);
  std::unique_ptr<impl> self_;

  friend expected<kafka_read_summary> read_to_end(
    const kafka_config&, const std::string&, std::int32_t,
    const std::function<void(const kafka_record&)>&, std::chrono::milliseconds);
};

/// Reads partition `partition` of `topic` from its first record to its end
/// as of now, passing each record to `on_record`, and returns when caught up:
/// how a new partition owner restores the snapshots of
/// `<cluster>.instances`. A consumer of its own is made from `config`
/// (`bootstrap.servers` and the isolation level matter; no group is joined
/// and nothing is committed). "Caught up" means past every offset written
/// before the read began (the high watermark of its first fetch). With
/// `read_committed`, that is also past every transaction that wrote there
/// before: an open one is waited for until it commits or aborts (a crashed
/// writer's is aborted by the broker after its `transaction.timeout.ms`),
/// and so are the markers of one just committed, so that a previous owner's
/// last snapshots are never missed. Fails with `errc::timeout` when not
/// caught up within `timeout` (the message gives the position and the end),
/// `errc::kafka` when the topic or partition does not exist.
expected<kafka_read_summary> read_to_end(
  const kafka_config& config, const std::string& topic, std::int32_t partition,
  const std::function<void(const kafka_record&)>& on_record,
  std::chrono::milliseconds timeout);

} // namespace meshflow::transport
