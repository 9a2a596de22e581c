#pragma once

// Local HTTP services for the tests of REST calls, on free loopback ports:
// an httplib::Server that serves on threads of its own, and a service that
// reads requests and never answers (what an abandoned call is tested
// against). Both stop when they go out of scope.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

namespace meshflow::testing {

/// Waits, at most `bound`, until `condition` holds (something another
/// thread does: a server seeing a connection close); whether it did.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds bound = std::chrono::seconds{10}) {
  auto until = std::chrono::steady_clock::now() + bound;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= until)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  }
  return true;
}

/// An httplib::Server on 127.0.0.1: add routes to `server`, then `start`.
class http_service {
public:
  /// `threads`: requests served at once (each takes a thread while it
  /// lasts, and a kept-alive connection keeps one too).
  explicit http_service(std::size_t threads = 16) {
    server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    // Headers and body leave at once, not 40 ms apart (Nagle against the
    // client's delayed ACK).
    server.set_tcp_nodelay(true);
    server.set_socket_options([this](int fd) {
      int yes = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
      listener_ = fd;
    });
  }

  ~http_service() {
    server.stop();
    if (thread_.joinable())
      thread_.join();
  }

  http_service(const http_service&) = delete;
  http_service& operator=(const http_service&) = delete;

  /// Listens on a free port and serves; false if it could not.
  bool start() {
    port_ = server.bind_to_any_port("127.0.0.1");
    if (port_ <= 0)
      return false;
    // Debian's httplib (a shared library) listens with a backlog of 5: a
    // hundred connections opened at once would wait for SYN retransmits
    // (1 s, 3 s, ...). Listening again sets a deeper one.
    ::listen(listener_, 1024);
    thread_ = std::thread{[this] { server.listen_after_bind(); }};
    return eventually([this] { return server.is_running(); });
  }

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  httplib::Server server;

private:
  std::thread thread_;
  int port_ = 0;
  int listener_ = -1;
};

/// Accepts connections on 127.0.0.1, reads what comes and never answers;
/// counts the connections it accepted and those the client closed.
class silent_service {
public:
  silent_service() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listener_, 512);
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread{[this] { serve(); }};
  }

  ~silent_service() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }

  silent_service(const silent_service&) = delete;
  silent_service& operator=(const silent_service&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::size_t accepted() const { return accepted_; }
  std::size_t closed() const { return closed_; }
  /// Connections that sent something (a request that waits for its answer).
  std::size_t requests() const { return requests_; }

private:
  void serve() {
    std::vector<pollfd> fds{{listener_, POLLIN, 0}};
    std::vector<bool> sent;
    while (!stop_) {
      if (::poll(fds.data(), fds.size(), 20) <= 0)
        continue;
      if (fds[0].revents & POLLIN) {
        int c = ::accept(listener_, nullptr, nullptr);
        if (c >= 0) {
          fds.push_back({c, POLLIN, 0});
          ++accepted_;
        }
      }
      for (std::size_t k = 1; k < fds.size(); ++k) {
        if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
          continue;
        char buffer[4096];
        auto n = ::recv(fds[k].fd, buffer, sizeof buffer, 0);
        if (n > 0) {
          if (sent.size() <= k)
            sent.resize(k + 1, false);
          if (!sent[k])
            ++requests_;
          sent[k] = true;
          continue;
        }
        ::close(fds[k].fd);
        fds[k].fd = -1;  // poll ignores negative descriptors
        ++closed_;
      }
    }
    for (std::size_t k = 1; k < fds.size(); ++k)
      if (fds[k].fd >= 0)
        ::close(fds[k].fd);
  }

  int listener_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> accepted_{0};
  std::atomic<std::size_t> closed_{0};
  std::atomic<std::size_t> requests_{0};
};

} // namespace meshflow::testing
