#include "session.hpp"

#include <filesystem>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "meshflow/actors/node.hpp"
#include "meshflow/dsl/document.hpp"
#include "meshflow/dsl/duration.hpp"

namespace meshflow::cli {

using json = nlohmann::json;

void engine_settings::add_to(CLI::App& cmd) {
  cmd.add_option("--max-transitions", max_transitions,
                 fmt::format("States an instance may enter before it faults with code `limit` "
                             "(default {})",
                             max_transitions))
    ->check(CLI::PositiveNumber);
  cmd.add_option("--json-max-bytes", json_max_bytes,
                 fmt::format("Largest JSON document a request may bring: an input, an event "
                             "(default {})",
                             json_max_bytes))
    ->check(CLI::PositiveNumber);
  cmd.add_option("--json-max-depth", json_max_depth,
                 fmt::format("Deepest nesting of such a document (default and most: {}, "
                             "libjq's own limit)",
                             json_limits::deepest))
    ->check(CLI::Range(std::size_t{1}, json_limits::deepest));
  cmd.add_option("--document-timeout", document_timeout,
                 "How long fetching a document a definition names (OpenAPI, JSON Schema) may "
                 "take, as an ISO 8601 duration (default PT10S)");
  cmd.add_option("--keep-ended", keep_ended,
                 fmt::format("Ended instances kept in memory, the most recent (default {}); "
                             "older ones are read from the instances topic when asked for",
                             keep_ended))
    ->check(CLI::PositiveNumber);
  cmd.add_option("--retention", retention,
                 "How long after its end an instance can still be asked for, as an ISO 8601 "
                 "duration (default P7D)");
  cmd.add_option("--commit-interval", commit_interval,
                 "The longest a Kafka transaction stays open while the node is busy, as an "
                 "ISO 8601 duration (default PT0.05S); an idle node commits at once");
}

expected<void> engine_settings::apply(actors::node_options& options) const {
  auto fetch = dsl::parse_duration(document_timeout);
  if (!fetch)
    return fail("usage", fmt::format("--document-timeout '{}': {}", document_timeout,
                                     fetch.error().message));
  auto kept = dsl::parse_duration(retention);
  if (!kept)
    return fail("usage", fmt::format("--retention '{}': {}", retention, kept.error().message));
  auto interval = dsl::parse_duration(commit_interval);
  if (!interval)
    return fail("usage", fmt::format("--commit-interval '{}': {}", commit_interval,
                                     interval.error().message));
  options.keep_ended = keep_ended;
  options.retention = kept->value;
  options.commit_interval = interval->value;
  options.limits.max_transitions = max_transitions;
  options.json = json();
  options.document_timeout = fetch->value;
  return {};
}

void keep_until_exit(std::shared_ptr<const void> resource) {
  // Deliberately never freed (see the header).
  static auto* kept = new std::vector<std::shared_ptr<const void>>;
  kept->push_back(std::move(resource));
}

void configure_actor_system(caf::actor_system_config& cfg) {
  cfg.set("logger.console", caf::atom("none"));
  cfg.set("scheduler.max-throughput", 64);
  // CAF 0.17's middleman deserializes on worker threads by default, and so
  // may deliver a new connection's first request before that connection's
  // handshake has set up the route back: the answer is then dropped (about
  // one request in 2,000 from fresh client processes, reproduced with a
  // bare CAF server). Deserializing on the middleman's own thread keeps
  // each connection's messages in order.
  cfg.set("middleman.workers", 0);
}

expected<std::string> inline_or_file(const std::string& arg) {
  if (!arg.starts_with('@'))
    return arg;
  return dsl::read_text(arg.substr(1));
}

namespace {

expected<std::string> input_object(const std::string& text, const std::string& where,
                                   const json_limits& limits) {
  if (auto within = check_json(text, limits, where + "the input"); !within)
    return tl::unexpected(within.error());
  auto parsed = json::parse(text, nullptr, false);
  if (parsed.is_discarded())
    return fail("input", fmt::format("{}not JSON", where));
  if (!parsed.is_object())
    return fail("input", fmt::format("{}the workflow input must be a JSON object, not {}", where,
                                     parsed.type_name()));
  return parsed.dump();
}

} // namespace

expected<std::vector<std::string>> read_inputs(const std::string& arg,
                                               const json_limits& limits) {
  if (arg.empty())
    return std::vector<std::string>{"{}"};
  // A bulk file may hold millions of inputs: a limit far above a
  // definition's.
  constexpr std::size_t max_bulk_bytes = std::size_t{1} << 30;
  auto text = arg.starts_with('@') ? dsl::read_text(arg.substr(1), max_bulk_bytes)
                                   : expected<std::string>{arg};
  if (!text)
    return tl::unexpected(text.error());
  if (auto one = input_object(*text, "", limits); one || !arg.starts_with('@'))
    return one ? expected<std::vector<std::string>>{std::vector{*one}}
               : tl::unexpected(one.error());
  // Not one document: JSON Lines, one instance a line.
  std::vector<std::string> inputs;
  std::istringstream lines{*text};
  std::string line;
  for (int n = 1; std::getline(lines, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos)
      continue;
    auto object = input_object(line, fmt::format("{}:{}: ", arg.substr(1), n), limits);
    if (!object)
      return tl::unexpected(object.error());
    inputs.push_back(std::move(*object));
  }
  if (inputs.empty())
    return fail("input", fmt::format("{}: no input in the file", arg.substr(1)));
  return inputs;
}

caf::behavior event_printer(caf::event_based_actor*, bool quiet) {
  return {
    [quiet](actors::produced_atom, const std::string&, const std::string& event) {
      if (!quiet)
        std::cerr << "meshflow: produced " << event << '\n';
    },
  };
}

admin_session::admin_session(caf::actor_system& sys, caf::actor admin)
  : self_{sys}, admin_{std::move(admin)} {}

void admin_session::ask_each(const std::vector<caf::message>& requests,
                             std::chrono::milliseconds timeout,
                             const std::function<void(json)>& take, std::size_t window) {
  std::size_t sent = 0, answered = 0;
  while (answered < requests.size()) {
    // An answer to a plain (not request) message comes back as a message.
    for (; sent < requests.size() && sent - answered < window; ++sent)
      self_->send(admin_, requests[sent]);
    self_->receive([&](std::string& r) { take(parse(r)); },
                   [&](caf::error& e) { take(parse(transport_failure(e))); },
                   caf::after(timeout) >> [&] {
                     take(parse(transport_failure(caf::sec::request_timeout)));
                   });
    ++answered;
  }
}

json admin_session::deploy(const std::string& file, caf::duration timeout) {
  auto text = dsl::read_text(file);
  if (!text)
    return {{"error", {{"code", "definition"}, {"message", text.error().message}}}};
  std::error_code ec;
  auto path = std::filesystem::absolute(file, ec);
  return ask(timeout, actors::deploy_atom::value, (ec ? file : path.string()), *text);
}

std::string admin_session::transport_failure(const caf::error& e) const {
  return json{{"error", {{"code", "node"}, {"message", self_->system().render(e)}}}}.dump();
}

json admin_session::parse(const std::string& answer) {
  auto j = json::parse(answer, nullptr, false);
  if (j.is_discarded())
    return {{"error", {{"code", "node"}, {"message", "the node's answer is not JSON"}}}};
  return j;
}

const json* failure_of(const json& answer) {
  if (!answer.is_object())
    return nullptr;
  auto it = answer.find("error");
  return it != answer.end() && it->is_object() && answer.size() == 1 ? &*it : nullptr;
}

} // namespace meshflow::cli
