#include "meshflow/transport/http_client.hpp"

#include <atomic>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <pthread.h>

#include <curl/curl.h>
#include <fmt/format.h>

#include "meshflow/transport/errc.hpp"

namespace meshflow::transport {

namespace {

/// libcurl's process-wide setup, once, before the first handle (7.84 and
/// later make it thread-safe; never undone: the process may hold clients
/// until it exits).
void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

/// One request on its way: the easy handle and what it points to, which
/// must outlive it (headers, body, error text).
struct transfer {
  http_client::transfer_id id = 0;
  http_request request;
  http_client::completion done;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  http_response response;
  bool over_limit = false;
  char error[CURL_ERROR_SIZE] = {};

  transfer() = default;
  transfer(const transfer&) = delete;
  transfer& operator=(const transfer&) = delete;
  ~transfer() {
    if (easy)
      curl_easy_cleanup(easy);
    if (headers)
      curl_slist_free_all(headers);
  }
};

/// libcurl's write callback: appends the body, refuses it past the limit
/// (returning less than given stops the transfer: CURLE_WRITE_ERROR).
std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<transfer*>(user);
  auto bytes = size * count;
  if (t->response.body.size() + bytes > t->request.max_body_bytes) {
    t->over_limit = true;
    return 0;
  }
  t->response.body.append(data, bytes);
  return bytes;
}

/// Prepares the easy handle of `t` (on the submitting thread: the work is
/// spread, the client's thread only moves bytes). `t.easy` stays null if
/// libcurl has no handle to give.
void set_up(transfer& t) {
  t.easy = curl_easy_init();
  if (!t.easy)
    return;
  auto* e = t.easy;
  const auto& r = t.request;
  auto ms = std::max<long>(1, static_cast<long>(r.timeout.count()));
  curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ms);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.error);
  curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
  for (const auto& [name, value] : r.headers)
    t.headers = curl_slist_append(t.headers, fmt::format("{}: {}", name, value).c_str());
  // No `Expect: 100-continue` round trip before a larger body.
  t.headers = curl_slist_append(t.headers, "Expect:");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
  bool with_body =
    !r.body.empty() || r.method == "POST" || r.method == "PUT" || r.method == "PATCH";
  if (with_body) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r.body.c_str());
    if (r.method != "POST")
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  } else if (r.method == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (r.method != "GET") {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  }
}

/// What a finished transfer gives its caller; the error codes of
/// http_client.hpp, step 4.
http_outcome outcome_of(transfer& t, CURLcode result) {
  const auto& r = t.request;
  if (result == CURLE_OK) {
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &t.response.status);
    return std::move(t.response);
  }
  if (t.over_limit)
    return fail(errc::limit,
                fmt::format("{}: the response body is larger than the limit of {} bytes",
                            r.target(), r.max_body_bytes));
  if (result == CURLE_OPERATION_TIMEDOUT)
    return fail(errc::timeout,
                fmt::format("{}: no answer within {} ms", r.target(), r.timeout.count()));
  return fail(errc::connection, fmt::format("{}: {}", r.target(),
                                            t.error[0] ? t.error : curl_easy_strerror(result)));
}

} // namespace

struct http_client::engine {
  CURLM* multi = nullptr;
  std::thread thread;
  std::atomic<transfer_id> next_id{1};
  std::atomic<std::size_t> count{0};

  // Handed to the thread, under `mutex`.
  std::mutex mutex;
  std::vector<std::unique_ptr<transfer>> submitted;
  std::vector<transfer_id> cancelled;
  bool stopping = false;

  // The thread's own.
  std::unordered_map<transfer_id, std::unique_ptr<transfer>> running;

  engine() { multi = curl_multi_init(); }

  ~engine() {
    // The thread has ended (joined, or it dropped the last reference).
    running.clear();
    submitted.clear();
    if (multi)
      curl_multi_cleanup(multi);
  }

  void wake() { curl_multi_wakeup(multi); }

  /// Takes `t` out of the multi handle and forgets it (its `done` with it).
  void drop(std::unique_ptr<transfer>& t) {
    if (t->easy)
      curl_multi_remove_handle(multi, t->easy);
    t.reset();
    --count;
  }

  /// The client's thread (http_client.hpp, step 2).
  void run() {
    std::vector<std::unique_ptr<transfer>> added;
    std::vector<transfer_id> cancels;
    for (;;) {
      {
        std::lock_guard lock{mutex};
        if (stopping)
          break;
        added.swap(submitted);
        cancels.swap(cancelled);
      }
      for (auto& t : added) {
        auto id = t->id;
        if (!t->easy) {
          auto done = std::move(t->done);
          auto target = t->request.target();
          drop(t);
          done(fail(errc::connection, fmt::format("{}: libcurl has no handle to give", target)));
          continue;
        }
        curl_multi_add_handle(multi, t->easy);
        running.emplace(id, std::move(t));
      }
      added.clear();
      for (auto id : cancels)
        if (auto it = running.find(id); it != running.end()) {
          drop(it->second);
          running.erase(it);
        }
      cancels.clear();

      int active = 0;
      curl_multi_perform(multi, &active);
      int left = 0;
      while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
        if (m->msg != CURLMSG_DONE)
          continue;
        auto result = m->data.result;
        transfer* raw = nullptr;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &raw);
        auto it = running.find(raw->id);
        auto outcome = outcome_of(*raw, result);
        auto done = std::move(raw->done);
        drop(it->second);
        running.erase(it);
        // May submit, cancel, or even drop the client: nothing of the
        // loop's state is held across it.
        done(std::move(outcome));
      }
      curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    }
    // Stopped: every transfer is abandoned, no `done` runs.
    for (auto& [id, t] : running)
      drop(t);
    running.clear();
    std::lock_guard lock{mutex};
    for (auto& t : submitted)
      drop(t);
    submitted.clear();
  }
};

http_client::http_client() {
  init_curl_once();
  engine_ = std::make_shared<engine>();
  engine_->thread = std::thread{[e = engine_] {
    // As `top -H` and /proc/PID/task show it.
    pthread_setname_np(pthread_self(), "meshflow-http");
    e->run();
  }};
}

http_client::~http_client() {
  {
    std::lock_guard lock{engine_->mutex};
    engine_->stopping = true;
  }
  engine_->wake();
  // Dropped from a `done` callback: the thread is this one; it leaves its
  // loop when the callback returns and frees the engine itself.
  if (engine_->thread.get_id() == std::this_thread::get_id())
    engine_->thread.detach();
  else
    engine_->thread.join();
}

http_client::transfer_id http_client::submit(http_request request, completion done) {
  auto t = std::make_unique<transfer>();
  t->id = engine_->next_id++;
  t->request = std::move(request);
  t->done = std::move(done);
  set_up(*t);
  auto id = t->id;
  ++engine_->count;
  {
    std::lock_guard lock{engine_->mutex};
    engine_->submitted.push_back(std::move(t));
  }
  engine_->wake();
  return id;
}

void http_client::cancel(transfer_id id) {
  {
    std::lock_guard lock{engine_->mutex};
    engine_->cancelled.push_back(id);
  }
  engine_->wake();
}

http_outcome http_client::perform(http_request request) {
  auto target = request.target();
  // Owned by the completion: if the client stops first, the promise breaks
  // instead of leaving the wait without end.
  auto promise = std::make_shared<std::promise<http_outcome>>();
  auto result = promise->get_future();
  submit(std::move(request),
         [promise](http_outcome outcome) { promise->set_value(std::move(outcome)); });
  try {
    return result.get();
  } catch (const std::future_error&) {
    return fail(errc::connection, fmt::format("{}: the HTTP client stopped", target));
  }
}

std::size_t http_client::transfers() const { return engine_->count; }

} // namespace meshflow::transport
