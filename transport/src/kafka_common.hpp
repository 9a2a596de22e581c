#pragma once

// What the Kafka sources of this module share (kafka_client.cpp,
// kafka_admin.cpp, embedded_cluster.cpp, dead_letter.cpp): librdkafka's
// headers, configuration, client events, errors, partition lists. Private:
// librdkafka's headers stay inside transport/src.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include "meshflow/error.hpp"
#include "meshflow/transport/errc.hpp"
#include "meshflow/transport/kafka_client.hpp"
#include "meshflow/transport/kafka_message.hpp"

namespace meshflow::transport::detail {

using clock_type = std::chrono::steady_clock;

inline tl::unexpected<error> kafka_failure(std::string message) {
  return fail(errc::kafka, std::move(message));
}

inline tl::unexpected<error> kafka_failure(std::string_view operation,
                                           RdKafka::ErrorCode code) {
  return kafka_failure(fmt::format("{}: {}", operation, RdKafka::err2str(code)));
}

/// A timeout as librdkafka's int milliseconds, clamped to [0, 2^30].
inline int to_ms(std::chrono::milliseconds timeout) {
  return static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(timeout.count(), 0,
                                                                     1 << 30));
}

/// Milliseconds left until `deadline`, at least 0.
inline std::chrono::milliseconds left_until(clock_type::time_point deadline) {
  return std::max(std::chrono::milliseconds{0},
                  std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - clock_type::now()));
}

/// Client-level events: log lines go to stderr as librdkafka would print
/// them; the last error is kept so that a timeout can say what went wrong.
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

/// librdkafka's configuration from `config`, with `events` as event
/// callback; names the property librdkafka refuses.
inline expected<std::unique_ptr<RdKafka::Conf>> make_conf(const kafka_config& config,
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

/// TopicPartition lists are raw pointers in rdkafka++; this owns them.
struct partition_list {
  std::vector<RdKafka::TopicPartition*> items;

  explicit partition_list(const std::vector<kafka_topic_partition>& partitions) {
    items.reserve(partitions.size());
    for (const auto& p : partitions)
      items.push_back(RdKafka::TopicPartition::create(p.topic, p.partition, p.offset));
  }
  partition_list() = default;
  partition_list(partition_list&& other) noexcept : items(std::move(other.items)) {
    other.items.clear();
  }
  partition_list(const partition_list&) = delete;
  partition_list& operator=(const partition_list&) = delete;
  ~partition_list() { RdKafka::TopicPartition::destroy(items); }

  std::vector<kafka_topic_partition> values() const { return values_of(items); }

  static std::vector<kafka_topic_partition>
  values_of(const std::vector<RdKafka::TopicPartition*>& items) {
    std::vector<kafka_topic_partition> out;
    out.reserve(items.size());
    for (const auto* p : items)
      out.push_back({p->topic(), p->partition(), p->offset()});
    return out;
  }

  /// The first partition with an error, described.
  std::optional<std::string> first_error() const {
    for (const auto* p : items)
      if (p->err() != RdKafka::ERR_NO_ERROR)
        return fmt::format("{} [{}]: {}", p->topic(), p->partition(),
                           RdKafka::err2str(p->err()));
    return std::nullopt;
  }
};

/// The same list in librdkafka's C form, for the C API calls.
struct c_partition_list {
  rd_kafka_topic_partition_list_t* list;

  explicit c_partition_list(const std::vector<kafka_topic_partition>& partitions)
    : list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size()))) {
    for (const auto& p : partitions)
      rd_kafka_topic_partition_list_add(list, p.topic.c_str(), p.partition)->offset
        = p.offset;
  }
  c_partition_list(const c_partition_list&) = delete;
  c_partition_list& operator=(const c_partition_list&) = delete;
  ~c_partition_list() { rd_kafka_topic_partition_list_destroy(list); }
};

/// `kafka_fenced` or `kafka_fatal`, after a fatal error of producer `rk`,
/// with its cause.
inline error fatal_producer_error(rd_kafka_t* rk, std::string_view operation) {
  char reason[512] = "";
  rd_kafka_resp_err_t cause = rd_kafka_fatal_error(rk, reason, sizeof reason);
  bool fenced = cause == RD_KAFKA_RESP_ERR__FENCED
                || cause == RD_KAFKA_RESP_ERR_PRODUCER_FENCED
                || cause == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH;
  if (fenced)
    return {errc::kafka_fenced,
            fmt::format("{}: fenced: another producer with the same transactional.id "
                        "has taken over ({}); this producer can do nothing more, "
                        "destroy it",
                        operation, reason)};
  return {errc::kafka_fatal,
          fmt::format("{}: fatal producer error: {} ({}); destroy this producer and "
                      "create a new one",
                      operation, reason, rd_kafka_err2name(cause))};
}

/// The error for a failed transactional call, classified as librdkafka does
/// (fatal, abortable, retriable); frees `e`.
inline tl::unexpected<error> transaction_failure(rd_kafka_t* rk, std::string_view operation,
                                                 rd_kafka_error_t* e) {
  std::unique_ptr<rd_kafka_error_t, decltype(&rd_kafka_error_destroy)> owned(
    e, &rd_kafka_error_destroy);
  if (rd_kafka_error_is_fatal(e))
    return tl::unexpected(fatal_producer_error(rk, operation));
  std::string what = fmt::format("{}: {} ({})", operation, rd_kafka_error_string(e),
                                 rd_kafka_error_name(e));
  if (rd_kafka_error_txn_requires_abort(e))
    return fail(errc::kafka_abortable,
                fmt::format("{}; abort the transaction, then replay its batch", what));
  if (rd_kafka_error_is_retriable(e))
    return fail(errc::kafka_retriable, fmt::format("{}; the call may be repeated", what));
  return kafka_failure(std::move(what));
}

/// Whether `code` says the group coordinator is moving or loading (a broker
/// just started, a coordinator failing over): worth asking again.
inline bool coordinator_unsettled(RdKafka::ErrorCode code) {
  return code == RdKafka::ERR_NOT_COORDINATOR || code == RdKafka::ERR_COORDINATOR_LOAD_IN_PROGRESS
         || code == RdKafka::ERR_COORDINATOR_NOT_AVAILABLE;
}

/// Asks the brokers of `rk` for the metadata of `topics`, which librdkafka
/// keeps: its partitions are then fetched and written at once (see
/// `kafka_producer::learn_topics`).
inline expected<void> learn_topic_metadata(rd_kafka_t* rk, const std::vector<std::string>& topics,
                                           std::chrono::milliseconds timeout) {
  for (const auto& name : topics) {
    auto* topic = rd_kafka_topic_new(rk, name.c_str(), nullptr);
    if (!topic)
      return kafka_failure(fmt::format("topic \"{}\": {}", name,
                                       rd_kafka_err2str(rd_kafka_last_error())));
    const struct rd_kafka_metadata* md = nullptr;
    auto code = rd_kafka_metadata(rk, 0, topic, &md, to_ms(timeout));
    rd_kafka_topic_destroy(topic);
    if (md)
      rd_kafka_metadata_destroy(md);
    if (code == RD_KAFKA_RESP_ERR__TIMED_OUT)
      return fail(errc::timeout, fmt::format("metadata of topic \"{}\": no answer within {} ms",
                                             name, timeout.count()));
    if (code != RD_KAFKA_RESP_ERR_NO_ERROR)
      return kafka_failure(fmt::format("metadata of topic \"{}\": {}", name,
                                       rd_kafka_err2str(code)));
  }
  return {};
}


/// A record of the C++ API as a value.
inline kafka_record record_of(RdKafka::Message& message) {
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
  if (RdKafka::Headers* headers = message.headers())
    for (const auto& h : headers->get_all()) {
      kafka_header header{h.key(), std::nullopt};
      if (h.value())
        header.value.emplace(static_cast<const char*>(h.value()), h.value_size());
      record.message.headers.push_back(std::move(header));
    }
  return record;
}

} // namespace meshflow::transport::detail
