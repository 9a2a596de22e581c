#pragma once

// The project's one HTTP client: libcurl's multi interface on one thread of
// its own, for every outgoing HTTP request of a process (REST calls and the
// OpenAPI and JSON Schema documents a definition names).
//
// How it works:
//  1. `submit` (any thread) turns a request into a transfer (a curl easy
//     handle, its headers and body kept beside it), puts it on the queue of
//     new transfers and wakes the client's thread (`curl_multi_wakeup`). It
//     returns the transfer's id at once.
//  2. The client's thread loops: it adds the queued transfers to the multi
//     handle, removes the cancelled ones, lets libcurl move every transfer
//     on (`curl_multi_perform`), finishes the completed ones, and sleeps in
//     `curl_multi_poll` until a socket is ready, a curl timer is due or
//     someone wakes it. All transfers share the multi handle's connection
//     cache: a connection that answered is kept and reused by the next
//     request to the same origin.
//  3. While a response arrives, the body is appended to the transfer; once
//     it would exceed the request's `max_body_bytes` the write callback
//     refuses the rest, libcurl stops reading and closes the connection, and
//     the transfer ends with error `limit`.
//  4. A completed transfer calls its `done` callback, on the client's
//     thread, with the response (any status: what a status means belongs to
//     the caller, e.g. rest.hpp) or the error: `timeout` when the request's
//     `timeout` (connecting included) passed, `connection` when the origin
//     could not be reached or the exchange broke (DNS, refused, reset, TLS),
//     `limit` as in step 3. Messages name the method, the URL and what
//     happened. `done` must be quick and must not block: it hands the
//     outcome on (an actor turns it into a message to itself) and returns.
//  5. `cancel(id)` (any thread) queues the id; the client's thread removes
//     the transfer, which closes its connection, and drops its `done`
//     without calling it. A transfer that had completed already is not
//     affected. Destroying the client cancels every transfer the same way
//     and joins its thread.
//
// Implemented in transport/src/http_client.cpp; the REST calls over it in
// rest.cpp; tests in tests/transport/http_client_test.cpp.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "meshflow/error.hpp"

namespace meshflow::transport {

/// One HTTP request, complete: nothing else is added but `Host`,
/// `Content-Length` and what libcurl needs to frame it.
struct http_request {
  std::string method = "GET";  // upper case
  std::string url;             // absolute: http:// or https://
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // sent when not empty, or when the method is POST, PUT or PATCH
  /// The whole exchange, connecting included.
  std::chrono::milliseconds timeout{std::chrono::seconds{30}};
  /// The response body is refused beyond this many bytes (error `limit`).
  std::size_t max_body_bytes = std::size_t{1} << 20;

  /// `METHOD URL`, as messages name the request.
  std::string target() const { return method + ' ' + url; }
};

/// What the origin answered, whatever the status.
struct http_response {
  long status = 0;
  std::string body;
};

using http_outcome = expected<http_response>;

class http_client {
public:
  using transfer_id = std::uint64_t;
  /// Called once, on the client's thread, when a transfer completes.
  using completion = std::function<void(http_outcome)>;

  /// Starts the client's thread (libcurl is initialised once per process).
  http_client();
  /// Cancels every transfer (no `done` is called) and joins the thread.
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Starts `request`; `done` gets its outcome. Thread-safe.
  transfer_id submit(http_request request, completion done);

  /// Abandons a transfer: its connection is closed and its `done` is not
  /// called, unless it had completed already. Thread-safe; unknown ids
  /// are ignored.
  void cancel(transfer_id id);

  /// Submits and waits for the outcome: for callers that may block (deploy,
  /// tools, tests). Never from a `done` callback.
  http_outcome perform(http_request request);

  /// Transfers submitted and not yet completed or cancelled (a gauge for
  /// tests and diagnostics).
  std::size_t transfers() const;

private:
  struct engine;
  /// Shared with the thread, so that the client may be dropped from a
  /// `done` callback (the thread then finishes on its own).
  std::shared_ptr<engine> engine_;
};

} // namespace meshflow::transport
