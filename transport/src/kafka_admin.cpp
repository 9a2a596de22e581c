#include "meshflow/transport/kafka_admin.hpp"

#include <map>
#include <thread>

#include "embedded_registry.hpp"
#include "kafka_common.hpp"

namespace meshflow::transport {

using std::chrono::milliseconds;
using namespace detail;

namespace {

// Owners of librdkafka's C admin objects.
struct admin_queue {
  rd_kafka_queue_t* queue;
  explicit admin_queue(rd_kafka_t* rk) : queue(rd_kafka_queue_new(rk)) {}
  admin_queue(const admin_queue&) = delete;
  admin_queue& operator=(const admin_queue&) = delete;
  ~admin_queue() { rd_kafka_queue_destroy(queue); }
};

struct admin_options {
  rd_kafka_AdminOptions_t* options;
  admin_options(rd_kafka_t* rk, rd_kafka_admin_op_t op, milliseconds timeout)
    : options(rd_kafka_AdminOptions_new(rk, op)) {
    char reason[256];
    rd_kafka_AdminOptions_set_request_timeout(options, to_ms(timeout), reason,
                                              sizeof reason);
    if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS)
      rd_kafka_AdminOptions_set_operation_timeout(options, to_ms(timeout), reason,
                                                  sizeof reason);
  }
  admin_options(const admin_options&) = delete;
  admin_options& operator=(const admin_options&) = delete;
  ~admin_options() { rd_kafka_AdminOptions_destroy(options); }
};

struct admin_event {
  rd_kafka_event_t* event = nullptr;
  admin_event() = default;
  admin_event(const admin_event&) = delete;
  admin_event& operator=(const admin_event&) = delete;
  ~admin_event() {
    if (event)
      rd_kafka_event_destroy(event);
  }
};

// Waits for the result of an admin request on `queue`.
expected<void> await_result(admin_queue& queue, admin_event& out, std::string_view what,
                            milliseconds timeout) {
  // The request carries the timeout; the extra second lets its own timeout
  // error arrive before ours.
  out.event = rd_kafka_queue_poll(queue.queue, to_ms(timeout + milliseconds{1000}));
  if (!out.event)
    return fail(errc::timeout, fmt::format("{}: no answer within {} ms", what,
                                           timeout.count()));
  if (auto code = rd_kafka_event_error(out.event); code != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::string message = fmt::format("{}: {}", what, rd_kafka_event_error_string(out.event));
    if (code == RD_KAFKA_RESP_ERR__TIMED_OUT)
      return fail(errc::timeout, std::move(message));
    return kafka_failure(std::move(message));
  }
  return {};
}

} // namespace

struct kafka_admin::impl {
  event_sink events;
  bool embedded = false;
  std::string bootstrap;
  std::unique_ptr<RdKafka::Producer> handle; // last: destroyed first

  rd_kafka_t* rk() const { return handle->c_ptr(); }

  // One metadata request listing every topic, to look for `topic`: a
  // request naming the topic would create it where topics are created on
  // first use (as the mock does even when asked not to). Nothing when the
  // broker does not know it, a timeout-coded error to retry when it knows
  // it without its partitions yet.
  expected<std::optional<std::int32_t>> partitions_once(const std::string& topic,
                                                        milliseconds timeout) {
    const rd_kafka_metadata_t* metadata = nullptr;
    auto code = rd_kafka_metadata(rk(), 1, nullptr, &metadata, to_ms(timeout));
    if (code == RD_KAFKA_RESP_ERR__TIMED_OUT)
      return fail(errc::timeout, fmt::format("topic \"{}\": no metadata within {} ms{}",
                                             topic, timeout.count(), events.hint()));
    if (code != RD_KAFKA_RESP_ERR_NO_ERROR)
      return kafka_failure(fmt::format("metadata of topic \"{}\": {}", topic,
                                       rd_kafka_err2str(code)));
    std::unique_ptr<const rd_kafka_metadata_t, decltype(&rd_kafka_metadata_destroy)> owned(
      metadata, &rd_kafka_metadata_destroy);
    for (int i = 0; i < metadata->topic_cnt; ++i) {
      const auto& t = metadata->topics[i];
      if (topic != t.topic)
        continue;
      if (t.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
        return std::optional<std::int32_t>{};
      if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR && t.partition_cnt == 0)
        return fail(errc::timeout, fmt::format("topic \"{}\": {}", topic,
                                               rd_kafka_err2str(t.err)));
      return std::optional<std::int32_t>{t.partition_cnt};
    }
    return std::optional<std::int32_t>{};
  }

  // What became of one topic of a CreateTopics request.
  struct creation {
    bool existed = false;
    std::optional<std::string> refusal{}; // the broker's reason
  };

  // Creates the topics on a real cluster; the result per topic: created,
  // existed, or the broker's refusal.
  expected<std::map<std::string, creation>>
  create_on_broker(const std::vector<kafka_topic_spec>& topics, milliseconds timeout) {
    std::vector<rd_kafka_NewTopic_t*> requests;
    struct destroy_all {
      std::vector<rd_kafka_NewTopic_t*>& items;
      ~destroy_all() {
        for (auto* t : items)
          rd_kafka_NewTopic_destroy(t);
      }
    } guard{requests};
    char reason[512];
    for (const auto& spec : topics) {
      auto* request = rd_kafka_NewTopic_new(spec.name.c_str(), spec.partitions,
                                            spec.replication_factor, reason, sizeof reason);
      if (!request)
        return fail(errc::arguments, fmt::format("topic \"{}\": {}", spec.name, reason));
      requests.push_back(request);
      for (const auto& [name, value] : spec.configs)
        if (auto code = rd_kafka_NewTopic_set_config(request, name.c_str(), value.c_str()))
          return fail(errc::arguments, fmt::format("topic \"{}\": config {}={}: {}",
                                                   spec.name, name, value,
                                                   rd_kafka_err2str(code)));
    }
    admin_queue queue(rk());
    admin_options options(rk(), RD_KAFKA_ADMIN_OP_CREATETOPICS, timeout);
    rd_kafka_CreateTopics(rk(), requests.data(), requests.size(), options.options,
                          queue.queue);
    admin_event result;
    if (auto ok = await_result(queue, result, "create topics", timeout); !ok)
      return tl::unexpected(ok.error());
    std::size_t count = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(
      rd_kafka_event_CreateTopics_result(result.event), &count);
    std::map<std::string, creation> out;
    for (std::size_t i = 0; i < count; ++i) {
      auto code = rd_kafka_topic_result_error(results[i]);
      creation outcome;
      if (code == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        outcome.existed = true;
      } else if (code != RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* text = rd_kafka_topic_result_error_string(results[i]);
        outcome.refusal = fmt::format("{} ({})",
                                      text && *text ? text : rd_kafka_err2str(code),
                                      rd_kafka_err2name(code));
      }
      out.emplace(rd_kafka_topic_result_name(results[i]), std::move(outcome));
    }
    return out;
  }

  // The cleanup.policy of each of `topics`, as the broker has it.
  expected<std::map<std::string, std::string>>
  cleanup_policies(const std::vector<std::string>& topics, milliseconds timeout) {
    std::vector<rd_kafka_ConfigResource_t*> resources;
    struct destroy_all {
      std::vector<rd_kafka_ConfigResource_t*>& items;
      ~destroy_all() { rd_kafka_ConfigResource_destroy_array(items.data(), items.size()); }
    } guard{resources};
    for (const auto& topic : topics)
      resources.push_back(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str()));
    admin_queue queue(rk());
    admin_options options(rk(), RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout);
    rd_kafka_DescribeConfigs(rk(), resources.data(), resources.size(), options.options,
                             queue.queue);
    admin_event result;
    if (auto ok = await_result(queue, result, "describe topic configs", timeout); !ok)
      return tl::unexpected(ok.error());
    std::size_t count = 0;
    const rd_kafka_ConfigResource_t** described = rd_kafka_DescribeConfigs_result_resources(
      rd_kafka_event_DescribeConfigs_result(result.event), &count);
    std::map<std::string, std::string> out;
    for (std::size_t i = 0; i < count; ++i) {
      std::string name = rd_kafka_ConfigResource_name(described[i]);
      if (auto code = rd_kafka_ConfigResource_error(described[i]))
        return kafka_failure(fmt::format("topic \"{}\": cannot read its configs: {}", name,
                                         rd_kafka_err2str(code)));
      std::size_t entries = 0;
      const rd_kafka_ConfigEntry_t** configs
        = rd_kafka_ConfigResource_configs(described[i], &entries);
      for (std::size_t j = 0; j < entries; ++j)
        if (std::string_view(rd_kafka_ConfigEntry_name(configs[j])) == "cleanup.policy") {
          const char* value = rd_kafka_ConfigEntry_value(configs[j]);
          out[name] = value ? value : "";
        }
    }
    return out;
  }
};

kafka_admin::kafka_admin(std::unique_ptr<impl> self) : self_(std::move(self)) {}
kafka_admin::kafka_admin(kafka_admin&&) noexcept = default;
kafka_admin& kafka_admin::operator=(kafka_admin&&) noexcept = default;
kafka_admin::~kafka_admin() = default;

expected<kafka_admin> kafka_admin::create(const kafka_config& config) {
  auto self = std::make_unique<impl>();
  auto conf = make_conf(config, self->events);
  if (!conf)
    return tl::unexpected(conf.error());
  std::string reason;
  self->handle.reset(RdKafka::Producer::create(conf->get(), reason));
  if (!self->handle)
    return kafka_failure(fmt::format("cannot create an admin client: {}", reason));
  if (auto b = config.find("bootstrap.servers"); b != config.end())
    self->bootstrap = b->second;
  self->embedded = is_embedded(self->bootstrap);
  return kafka_admin(std::move(self));
}

bool kafka_admin::embedded() const {
  return self_->embedded;
}

expected<std::optional<std::int32_t>> kafka_admin::partition_count(const std::string& topic,
                                                                   milliseconds timeout) {
  // A topic created a moment ago may be known before its partitions are:
  // ask again until the deadline.
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    auto count = self_->partitions_once(topic, std::max(left_until(deadline),
                                                        milliseconds{1}));
    if (count || count.error().code != errc::timeout || left_until(deadline).count() <= 0)
      return count;
    std::this_thread::sleep_for(milliseconds{50}); // a broker's answer, not a test's wait
  }
}

expected<void> kafka_admin::ensure_topics(const std::vector<kafka_topic_spec>& topics,
                                          milliseconds timeout) {
  if (topics.empty())
    return {};
  for (const auto& spec : topics)
    if (spec.name.empty() || spec.partitions < 1 || spec.replication_factor < 1)
      return fail(errc::arguments,
                  fmt::format("topic \"{}\": a topic needs a name, at least 1 partition "
                              "and a replication factor of at least 1 (got {} and {})",
                              spec.name, spec.partitions, spec.replication_factor));
  auto deadline = clock_type::now() + timeout;

  // 1. Create what is missing; collect refusals, the topics created and
  //    those that existed.
  std::vector<std::string> problems;
  std::vector<const kafka_topic_spec*> created;
  std::vector<const kafka_topic_spec*> existing;
  if (self_->embedded) {
    for (const auto& spec : topics) {
      auto made = create_embedded_topic(self_->bootstrap, spec);
      if (!made)
        problems.push_back(made.error().message);
      else
        (*made ? created : existing).push_back(&spec);
    }
  } else {
    auto results = self_->create_on_broker(topics, timeout);
    if (!results)
      return tl::unexpected(results.error());
    for (const auto& spec : topics) {
      auto r = results->find(spec.name);
      if (r == results->end())
        problems.push_back(fmt::format("topic \"{}\": the broker did not answer for it",
                                       spec.name));
      else if (r->second.refusal)
        problems.push_back(fmt::format("topic \"{}\": the broker refused to create it: {}",
                                       spec.name, *r->second.refusal));
      else
        (r->second.existed ? existing : created).push_back(&spec);
    }
  }

  // 2. A created topic reaches the brokers' metadata a moment after the
  //    controller has it: wait for that, so that whoever uses the topics
  //    next finds them with their partitions. So may one that "existed":
  //    created meanwhile by someone else (a client's metadata request, on
  //    a broker that creates topics on first use).
  for (const auto* spec : created)
    for (;;) {
      auto count = partition_count(spec->name, left_until(deadline));
      if (!count)
        return tl::unexpected(count.error());
      if (*count)
        break;
      if (left_until(deadline).count() <= 0)
        return fail(errc::timeout, fmt::format("topic \"{}\" was created but is not in the "
                                               "metadata after {} ms",
                                               spec->name, timeout.count()));
      std::this_thread::sleep_for(milliseconds{20}); // the broker's pace, not a test's
    }

  // 3. Check the topics that existed: partitions, and the cleanup policy
  //    (real clusters only: the mock keeps no configs).
  std::vector<std::string> named_policies;
  for (const auto* spec : existing) {
    auto count = partition_count(spec->name, left_until(deadline));
    while (count && !*count && left_until(deadline).count() > 0) {
      std::this_thread::sleep_for(milliseconds{20}); // the broker's pace, not a test's
      count = partition_count(spec->name, left_until(deadline));
    }
    if (!count)
      return tl::unexpected(count.error());
    if (!*count)
      problems.push_back(fmt::format("topic \"{}\": the broker says it exists but has no "
                                     "metadata for it",
                                     spec->name));
    else if (**count != spec->partitions)
      problems.push_back(fmt::format("topic \"{}\" exists with {} partition{}, {} needed: "
                                     "a topic's partition count decides which partition "
                                     "a key is in, so it cannot be used as it is (delete "
                                     "it, or configure {} partitions)",
                                     spec->name, **count, **count == 1 ? "" : "s",
                                     spec->partitions, **count));
    if (!self_->embedded && spec->configs.contains("cleanup.policy"))
      named_policies.push_back(spec->name);
  }
  if (!named_policies.empty()) {
    auto policies = self_->cleanup_policies(named_policies, left_until(deadline));
    if (!policies)
      return tl::unexpected(policies.error());
    for (const auto* spec : existing) {
      auto wanted = spec->configs.find("cleanup.policy");
      if (wanted == spec->configs.end())
        continue;
      auto found = policies->find(spec->name);
      if (found != policies->end() && found->second != wanted->second)
        problems.push_back(fmt::format("topic \"{}\" exists with cleanup.policy={}, {} "
                                       "needed",
                                       spec->name, found->second, wanted->second));
    }
  }

  if (problems.empty())
    return {};
  std::string message = problems.front();
  for (std::size_t i = 1; i < problems.size(); ++i)
    message += "; " + problems[i];
  return kafka_failure(std::move(message));
}

} // namespace meshflow::transport
