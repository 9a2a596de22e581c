#include "meshflow/transport/kafka_client.hpp"

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>
#include <librdkafka/rdkafkacpp.h>

#include "meshflow/transport/errc.hpp"

namespace meshflow::transport {

namespace {

using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

tl::unexpected<error> kafka_failure(std::string message) {
  return fail(errc::kafka, std::move(message));
}

tl::unexpected<error> kafka_failure(std::string_view operation, RdKafka::ErrorCode code) {
  return kafka_failure(fmt::format("{}: {}", operation, RdKafka::err2str(code)));
}

int to_ms(milliseconds timeout) {
  return static_cast<int>(std::clamp<milliseconds::rep>(timeout.count(), 0, 1 << 30));
}

// Client-level events: log lines go to stderr as librdkafka would print
// them; the last error is kept so that a timeout can say what went wrong.
struct event_sink : RdKafka::EventCb {
  std::string last_error;

  void event_cb(RdKafka::Event& event) override {
    switch (event.type()) {
      case RdKafka::Event::EVENT_ERROR:
        last_error = fmt::format("{}{}: {}", event.fatal() ? "fatal: " : "",
                                 RdKafka::err2str(event.err()), event.str());
        break;
      case RdKafka::Event::EVENT_LOG:
        std::fprintf(stderr, "%%%d|%s| %s\n", static_cast<int>(event.severity()),
                     event.fac().c_str(), event.str().c_str());
        break;
      default:
        break;
    }
  }

  std::string hint() const {
    return last_error.empty() ? "" : fmt::format("; last client error: {}", last_error);
  }
};

expected<std::unique_ptr<RdKafka::Conf>> make_conf(const kafka_config& config,
                                                   event_sink& events) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string reason;
  for (const auto& [name, value] : config)
    if (conf->set(name, value, reason) != RdKafka::Conf::CONF_OK)
      return kafka_failure(fmt::format("configuration property \"{}\": {}", name, reason));
  if (conf->set("event_cb", &events, reason) != RdKafka::Conf::CONF_OK)
    return kafka_failure(fmt::format("configuration: {}", reason));
  return conf;
}

std::vector<kafka_header> headers_of(RdKafka::Message& message) {
  std::vector<kafka_header> out;
  RdKafka::Headers* headers = message.headers();
  if (!headers)
    return out;
  for (const auto& h : headers->get_all()) {
    kafka_header header{h.key(), std::nullopt};
    if (h.value())
      header.value.emplace(static_cast<const char*>(h.value()), h.value_size());
    out.push_back(std::move(header));
  }
  return out;
}

kafka_record record_of(RdKafka::Message& message) {
  kafka_record record;
  record.topic = message.topic_name();
  record.partition = message.partition();
  record.offset = message.offset();
  record.timestamp_ms = message.timestamp().timestamp;
  if (const std::string* key = message.key())
    record.message.key = *key;
  if (message.payload())
    record.message.value.emplace(static_cast<const char*>(message.payload()),
                                 message.len());
  record.message.headers = headers_of(message);
  return record;
}

// TopicPartition lists are raw pointers in rdkafka++; this owns them.
struct partition_list {
  std::vector<RdKafka::TopicPartition*> items;

  explicit partition_list(const std::vector<kafka_topic_partition>& partitions) {
    items.reserve(partitions.size());
    for (const auto& p : partitions)
      items.push_back(RdKafka::TopicPartition::create(p.topic, p.partition, p.offset));
  }
  partition_list() = default;
  partition_list(const partition_list&) = delete;
  partition_list& operator=(const partition_list&) = delete;
  ~partition_list() { RdKafka::TopicPartition::destroy(items); }

  std::vector<kafka_topic_partition> values() const {
    std::vector<kafka_topic_partition> out;
    for (const auto* p : items)
      out.push_back({p->topic(), p->partition(), p->offset()});
    return out;
  }

  // The first partition with an error, described.
  std::optional<std::string> first_error() const {
    for (const auto* p : items)
      if (p->err() != RdKafka::ERR_NO_ERROR)
        return fmt::format("{} [{}]: {}", p->topic(), p->partition(),
                           RdKafka::err2str(p->err()));
    return std::nullopt;
  }
};

// What `produce_sync` waits for; the delivery report fills it.
struct delivery_slot {
  bool done = false;
  expected<kafka_delivery> result;
};

} // namespace

// -- producer -----------------------------------------------------------------

struct kafka_producer::impl : RdKafka::DeliveryReportCb {
  event_sink events;
  std::size_t in_flight = 0; // produced, no delivery report yet
  std::size_t failures = 0;
  std::string first_failure;
  std::unique_ptr<RdKafka::Producer> producer; // last: destroyed first

  // Runs inside poll/flush. A record from `produce_sync` carries a heap
  // pointer to its slot as opaque; the report fills the slot and frees it.
  void dr_cb(RdKafka::Message& message) override {
    --in_flight;
    auto* slot = static_cast<std::shared_ptr<delivery_slot>*>(message.msg_opaque());
    std::string failure;
    if (message.err() != RdKafka::ERR_NO_ERROR)
      failure = fmt::format("topic \"{}\" partition {}: {}", message.topic_name(),
                            message.partition(), message.errstr());
    if (slot) {
      (*slot)->done = true;
      if (failure.empty())
        (*slot)->result = kafka_delivery{message.topic_name(), message.partition(),
                                         message.offset()};
      else
        (*slot)->result = kafka_failure(fmt::format("delivery failed: {}", failure));
      delete slot;
      return;
    }
    if (!failure.empty() && failures++ == 0)
      first_failure = std::move(failure);
  }

  expected<void> produce(const std::string& topic, const kafka_message& message,
                         std::optional<std::int32_t> partition, void* opaque) {
    RdKafka::Headers* headers = nullptr;
    if (!message.headers.empty()) {
      headers = RdKafka::Headers::create();
      for (const auto& h : message.headers)
        headers->add(h.key, h.value ? h.value->data() : nullptr,
                     h.value ? h.value->size() : 0);
    }
    const auto& value = message.value;
    const auto& key = message.key;
    auto code = producer->produce(
      topic, partition.value_or(RdKafka::Topic::PARTITION_UA),
      RdKafka::Producer::RK_MSG_COPY,
      value ? const_cast<char*>(value->data()) : nullptr, value ? value->size() : 0,
      key ? key->data() : nullptr, key ? key->size() : 0, 0, headers, opaque);
    if (code == RdKafka::ERR_NO_ERROR) {
      ++in_flight;
      return {};
    }
    delete headers; // only freed by librdkafka on success
    if (code == RdKafka::ERR__FATAL) {
      std::string reason;
      producer->fatal_error(reason);
      return kafka_failure(fmt::format("produce to \"{}\": fatal producer error: {}",
                                       topic, reason));
    }
    return kafka_failure(fmt::format("produce to \"{}\"", topic), code);
  }

  ~impl() override {
    if (!producer)
      return;
    producer->flush(5000);
    // Whatever is left is dropped; serving the purged records' reports frees
    // the slots of `produce_sync` calls that timed out.
    producer->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
    producer->flush(1000);
    producer->poll(0);
  }
};

kafka_producer::kafka_producer(std::unique_ptr<impl> self) : self_(std::move(self)) {}
kafka_producer::kafka_producer(kafka_producer&&) noexcept = default;
kafka_producer& kafka_producer::operator=(kafka_producer&&) noexcept = default;
kafka_producer::~kafka_producer() = default;

expected<kafka_producer> kafka_producer::create(const kafka_config& config) {
  auto self = std::make_unique<impl>();
  auto conf = make_conf(config, self->events);
  if (!conf)
    return tl::unexpected(conf.error());
  std::string reason;
  if ((*conf)->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(self.get()), reason)
      != RdKafka::Conf::CONF_OK)
    return kafka_failure(fmt::format("configuration: {}", reason));
  self->producer.reset(RdKafka::Producer::create(conf->get(), reason));
  if (!self->producer)
    return kafka_failure(fmt::format("cannot create a producer: {}", reason));
  return kafka_producer(std::move(self));
}

expected<void> kafka_producer::produce(const std::string& topic,
                                       const kafka_message& message,
                                       std::optional<std::int32_t> partition) {
  return self_->produce(topic, message, partition, nullptr);
}

expected<kafka_delivery> kafka_producer::produce_sync(const std::string& topic,
                                                      const kafka_message& message,
                                                      milliseconds timeout,
                                                      std::optional<std::int32_t> partition) {
  auto slot = std::make_shared<delivery_slot>();
  auto* opaque = new std::shared_ptr<delivery_slot>(slot);
  if (auto ok = self_->produce(topic, message, partition, opaque); !ok) {
    delete opaque;
    return tl::unexpected(ok.error());
  }
  auto deadline = clock_type::now() + timeout;
  while (!slot->done) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - clock_type::now());
    if (left.count() <= 0)
      return fail(errc::timeout,
                  fmt::format("produce to \"{}\": no delivery report within {} ms{}",
                              topic, timeout.count(), self_->events.hint()));
    self_->producer->poll(to_ms(std::min(left, milliseconds{100})));
  }
  return slot->result;
}

expected<void> kafka_producer::flush(milliseconds timeout) {
  auto code = self_->producer->flush(to_ms(timeout));
  if (code == RdKafka::ERR__TIMED_OUT)
    return fail(errc::timeout,
                fmt::format("flush: {} record{} not delivered after {} ms{}",
                            self_->in_flight, self_->in_flight == 1 ? "" : "s",
                            timeout.count(),
                            self_->events.hint()));
  if (code != RdKafka::ERR_NO_ERROR)
    return kafka_failure("flush", code);
  if (self_->failures > 0) {
    auto message = fmt::format("{} record{} failed delivery; the first: {}",
                               self_->failures, self_->failures == 1 ? "" : "s",
                               self_->first_failure);
    self_->failures = 0;
    self_->first_failure.clear();
    return kafka_failure(std::move(message));
  }
  return {};
}

void kafka_producer::poll(milliseconds timeout) {
  self_->producer->poll(to_ms(timeout));
}

std::size_t kafka_producer::pending() const {
  return self_->in_flight;
}

// -- consumer -----------------------------------------------------------------

struct kafka_consumer::impl {
  event_sink events;
  std::optional<error> deferred; // a consumer error seen after records
  bool closed = false;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer; // last: destroyed first

  ~impl() {
    if (consumer && !closed)
      consumer->close();
  }
};

kafka_consumer::kafka_consumer(std::unique_ptr<impl> self) : self_(std::move(self)) {}
kafka_consumer::kafka_consumer(kafka_consumer&&) noexcept = default;
kafka_consumer& kafka_consumer::operator=(kafka_consumer&&) noexcept = default;
kafka_consumer::~kafka_consumer() = default;

expected<kafka_consumer> kafka_consumer::create(const kafka_config& config) {
  auto self = std::make_unique<impl>();
  auto conf = make_conf(config, self->events);
  if (!conf)
    return tl::unexpected(conf.error());
  std::string reason;
  self->consumer.reset(RdKafka::KafkaConsumer::create(conf->get(), reason));
  if (!self->consumer)
    return kafka_failure(fmt::format("cannot create a consumer: {}", reason));
  return kafka_consumer(std::move(self));
}

expected<void> kafka_consumer::subscribe(const std::vector<std::string>& topics) {
  if (auto code = self_->consumer->subscribe(topics); code != RdKafka::ERR_NO_ERROR)
    return kafka_failure("subscribe", code);
  return {};
}

expected<void> kafka_consumer::assign(const std::vector<kafka_topic_partition>& partitions) {
  partition_list list(partitions);
  if (auto code = self_->consumer->assign(list.items); code != RdKafka::ERR_NO_ERROR)
    return kafka_failure("assign", code);
  return {};
}

expected<std::vector<kafka_topic_partition>> kafka_consumer::assignment() const {
  partition_list list;
  if (auto code = self_->consumer->assignment(list.items); code != RdKafka::ERR_NO_ERROR)
    return kafka_failure("assignment", code);
  if (auto code = self_->consumer->position(list.items); code != RdKafka::ERR_NO_ERROR)
    return kafka_failure("position", code);
  return list.values();
}

expected<std::vector<kafka_record>> kafka_consumer::poll(milliseconds timeout,
                                                         std::size_t max_records) {
  if (auto e = std::exchange(self_->deferred, std::nullopt))
    return tl::unexpected(std::move(*e));
  std::vector<kafka_record> records;
  auto deadline = clock_type::now() + timeout;
  while (records.size() < max_records) {
    int wait = 0;
    if (records.empty())
      wait = to_ms(std::chrono::duration_cast<milliseconds>(deadline - clock_type::now()));
    std::unique_ptr<RdKafka::Message> message(self_->consumer->consume(wait));
    switch (message->err()) {
      case RdKafka::ERR_NO_ERROR:
        records.push_back(record_of(*message));
        break;
      case RdKafka::ERR__PARTITION_EOF:
        if (!records.empty() || wait == 0)
          return records;
        break;
      case RdKafka::ERR__TIMED_OUT:
        return records;
      default: {
        error e{errc::kafka, fmt::format("consume: {}", message->errstr())};
        if (records.empty())
          return tl::unexpected(std::move(e));
        self_->deferred = std::move(e);
        return records;
      }
    }
  }
  return records;
}

expected<void> kafka_consumer::commit() {
  auto code = self_->consumer->commitSync();
  if (code != RdKafka::ERR_NO_ERROR && code != RdKafka::ERR__NO_OFFSET)
    return kafka_failure("commit", code);
  return {};
}

expected<void> kafka_consumer::commit(const std::vector<kafka_topic_partition>& offsets) {
  partition_list list(offsets);
  if (auto code = self_->consumer->commitSync(list.items); code != RdKafka::ERR_NO_ERROR)
    return kafka_failure(fmt::format("commit: {}", list.first_error().value_or(
                                                     RdKafka::err2str(code))));
  return {};
}

expected<void> kafka_consumer::close() {
  if (self_->closed)
    return {};
  self_->closed = true;
  if (auto code = self_->consumer->close(); code != RdKafka::ERR_NO_ERROR)
    return kafka_failure("close", code);
  return {};
}

} // namespace meshflow::transport
