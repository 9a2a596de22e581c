#pragma once

// What the client commands and `meshflow run` share: reading JSON arguments
// and talking to an admin actor (actors/node.hpp), in process or over CAF's
// middleman.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "meshflow/actors/node.hpp"
#include "meshflow/error.hpp"

namespace CLI {
class App;
}

namespace meshflow::cli {

/// The settings of the engine that runs instances, on a node or in
/// `meshflow run` (docs/node.md, "Settings"): bounds on each instance and
/// on every JSON document a request brings.
struct engine_settings {
  std::uint64_t max_transitions = actors::machine_limits{}.max_transitions;
  std::size_t json_max_bytes = json_limits{}.max_bytes;
  std::size_t json_max_depth = json_limits{}.max_depth;
  std::string document_timeout = "PT10S";
  std::size_t keep_ended = actors::node_options{}.keep_ended;
  std::string retention = "P7D";
  std::string commit_interval = "PT0.05S";

  /// Adds `--max-transitions`, `--json-max-bytes`, `--json-max-depth`,
  /// `--document-timeout`, `--keep-ended`, `--retention` and
  /// `--commit-interval`.
  void add_to(CLI::App& cmd);
  /// Into the node's options; the error names a setting that is wrong.
  expected<void> apply(actors::node_options& options) const;
  /// The JSON limits, for what the command reads itself.
  json_limits json() const { return {json_max_bytes, json_max_depth}; }
};

/// Keeps `resource` until the process ends, without ever destroying it:
/// for the embedded cluster, whose teardown would only delay the exit.
/// `main` ends the process with `std::_Exit` after flushing its output.
void keep_until_exit(std::shared_ptr<const void> resource);

/// CAF's settings for a process that runs instances or talks to a node: no
/// CAF log; an actor hands its worker thread on after a batch of messages,
/// so that an instance that is always busy cannot starve the others; the
/// middleman keeps each connection's messages in order (see the .cpp).
void configure_actor_system(caf::actor_system_config& cfg);

/// `JSON` as written, or the content of the file `@PATH`.
expected<std::string> inline_or_file(const std::string& arg);

/// Workflow inputs from `--input`: one JSON object, or with `@PATH` a file
/// holding one JSON object or JSON Lines of them (one instance each). An
/// empty argument is one empty object. Each is checked against `limits`
/// before it is parsed. Errors name the line.
expected<std::vector<std::string>> read_inputs(const std::string& arg,
                                               const json_limits& limits);

/// Prints each event an instance produces on stderr, as
/// `meshflow: produced {CloudEvent JSON}` (none when `quiet`).
caf::behavior event_printer(caf::event_based_actor* self, bool quiet);

/// Requests to an admin actor. Every answer is JSON; a failure, the node's
/// or the transport's, is `{"error": {"code", "message"}}`.
class admin_session {
public:
  admin_session(caf::actor_system& sys, caf::actor admin);

  /// `timeout`: a std::chrono duration or `caf::infinite`.
  template <class Duration, class... Ts>
  nlohmann::json ask(const Duration& timeout, Ts&&... xs) {
    std::string answer;
    self_->request(admin_, timeout, std::forward<Ts>(xs)...)
      .receive([&](std::string& r) { answer = std::move(r); },
               [&](caf::error& e) { answer = transport_failure(e); });
    return parse(answer);
  }

  /// Asks every request, up to `window` of them in flight (bulk start);
  /// `take` gets each answer, in order. A request not answered within
  /// `timeout` of the one before it is answered with a failure.
  void ask_each(const std::vector<caf::message>& requests, std::chrono::milliseconds timeout,
                const std::function<void(nlohmann::json)>& take, std::size_t window = 256);

  /// Reads FILE here and deploys it: (deploy_atom, absolute path, text).
  /// A remote node that goes away answers nothing (CAF 0.17 fails no
  /// request when a connection drops): over the wire, pass a timeout.
  nlohmann::json deploy(const std::string& file,
                        caf::duration timeout = caf::duration{caf::infinite});

  const caf::actor& admin() const { return admin_; }

private:
  std::string transport_failure(const caf::error& e) const;
  static nlohmann::json parse(const std::string& answer);

  caf::scoped_actor self_;
  caf::actor admin_;
};

/// The `error` object of an answer, if it is a failure.
const nlohmann::json* failure_of(const nlohmann::json& answer);

} // namespace meshflow::cli
