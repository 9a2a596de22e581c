#include "meshflow/transport/embedded_cluster.hpp"

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "embedded_registry.hpp"
#include "meshflow/transport/errc.hpp"

namespace meshflow::transport {

namespace {

// The live embedded clusters of this process, by bootstrap servers. A
// cluster registers when it starts and leaves before it stops, under the
// lock, so that the admin's calls never reach a destroyed mock.
struct registry {
  struct entry {
    rd_kafka_mock_cluster_t* cluster = nullptr;
    int brokers = 0;
  };
  std::mutex mutex;
  std::map<std::string, entry> clusters;

  static registry& instance() {
    static registry r;
    return r;
  }
};

} // namespace

namespace detail {

bool is_embedded(const std::string& bootstrap_servers) {
  auto& r = registry::instance();
  std::lock_guard lock(r.mutex);
  return r.clusters.contains(bootstrap_servers);
}

expected<bool> create_embedded_topic(const std::string& bootstrap_servers,
                                     const kafka_topic_spec& spec) {
  auto& r = registry::instance();
  std::lock_guard lock(r.mutex);
  auto found = r.clusters.find(bootstrap_servers);
  if (found == r.clusters.end())
    return fail(errc::kafka, fmt::format("topic \"{}\": the embedded cluster at {} is "
                                         "not running any more",
                                         spec.name, bootstrap_servers));
  if (spec.replication_factor > found->second.brokers)
    return fail(errc::kafka,
                fmt::format("topic \"{}\": the broker refused to create it: replication "
                            "factor {} is larger than the {} broker{} of the embedded "
                            "cluster (INVALID_REPLICATION_FACTOR)",
                            spec.name, spec.replication_factor, found->second.brokers,
                            found->second.brokers == 1 ? "" : "s"));
  auto code = rd_kafka_mock_topic_create(found->second.cluster, spec.name.c_str(),
                                         spec.partitions, spec.replication_factor);
  if (code == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
    return false;
  if (code != RD_KAFKA_RESP_ERR_NO_ERROR)
    return fail(errc::kafka, fmt::format("topic \"{}\": the embedded cluster refused to "
                                         "create it: {}",
                                         spec.name, rd_kafka_err2str(code)));
  return true;
}

} // namespace detail

namespace {

/// A socket connecting to the first broker of `bootstrap` (`host:port,...`,
/// loopback), or -1.
int wake_listener(const std::string& bootstrap) {
  auto first = bootstrap.substr(0, bootstrap.find(','));
  auto colon = first.rfind(':');
  if (colon == std::string::npos)
    return -1;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(std::atoi(first.c_str() + colon + 1)));
  if (inet_pton(AF_INET, first.substr(0, colon).c_str(), &to.sin_addr) != 1)
    return -1;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd >= 0)
    (void)::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  return fd;
}

} // namespace

struct embedded_cluster::impl {
  rd_kafka_t* host = nullptr; // the handle the mock needs for its bookkeeping
  rd_kafka_mock_cluster_t* cluster = nullptr;
  int brokers = 0;
  std::string bootstrap;

  ~impl() {
    if (cluster) {
      {
        auto& r = registry::instance();
        std::lock_guard lock(r.mutex);
        r.clusters.erase(bootstrap);
      }
      // librdkafka 2.0's mock thread may serve the request to terminate
      // only when its poll returns, up to a second later (its timer
      // interval) if nothing else happens: connections to a broker's
      // listener, every few milliseconds until it has stopped, wake it.
      std::atomic<bool> stopped = false;
      std::thread waker([&] {
        while (!stopped) {
          int fd = wake_listener(bootstrap);
          std::this_thread::sleep_for(std::chrono::milliseconds{5});
          if (fd >= 0)
            ::close(fd);
        }
      });
      rd_kafka_mock_cluster_destroy(cluster);
      stopped = true;
      waker.join();
    }
    if (host)
      rd_kafka_destroy(host);
  }
};

embedded_cluster::embedded_cluster(std::unique_ptr<impl> self) : self_(std::move(self)) {}
embedded_cluster::embedded_cluster(embedded_cluster&&) noexcept = default;
embedded_cluster& embedded_cluster::operator=(embedded_cluster&&) noexcept = default;
embedded_cluster::~embedded_cluster() = default;

expected<embedded_cluster> embedded_cluster::start(int brokers) {
  if (brokers < 1 || brokers > 16)
    return fail(errc::arguments,
                fmt::format("embedded cluster of {} brokers: 1 to 16 are possible", brokers));
  auto self = std::make_unique<impl>();
  char reason[512] = "";
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The host handle connects nowhere; its only notice would be that it has
  // no bootstrap.servers. Warnings and errors still show.
  if (rd_kafka_conf_set(conf, "log_level", "4", reason, sizeof reason)
      != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    return fail(errc::kafka, fmt::format("embedded cluster: {}", reason));
  }
  self->host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason, sizeof reason);
  if (!self->host) {
    rd_kafka_conf_destroy(conf);
    return fail(errc::kafka, fmt::format("embedded cluster: {}", reason));
  }
  self->cluster = rd_kafka_mock_cluster_new(self->host, brokers);
  if (!self->cluster)
    return fail(errc::kafka, "embedded cluster: librdkafka could not start its mock "
                             "cluster (no free loopback port?)");
  self->brokers = brokers;
  self->bootstrap = rd_kafka_mock_cluster_bootstraps(self->cluster);
  {
    auto& r = registry::instance();
    std::lock_guard lock(r.mutex);
    r.clusters[self->bootstrap] = {self->cluster, brokers};
  }
  return embedded_cluster(std::move(self));
}

const std::string& embedded_cluster::bootstrap_servers() const {
  return self_->bootstrap;
}

int embedded_cluster::brokers() const {
  return self_->brokers;
}

} // namespace meshflow::transport
