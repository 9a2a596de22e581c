#include "meshflow/actors/protocol.hpp"

#include <chrono>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "meshflow/actors/machine.hpp"

namespace meshflow::actors {

namespace {

std::string iso_time(epoch_ms ms) {
  auto t = std::chrono::system_clock::time_point{std::chrono::milliseconds{ms}};
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z",
                     fmt::gmtime(std::chrono::system_clock::to_time_t(t)), ms % 1000);
}

} // namespace

nlohmann::json describe(const instance& i, const dsl::plan& p) {
  const auto& w = *p.definition;
  nlohmann::json j{{"id", i.id},
                   {"workflowId", i.workflow_id},
                   {"version", i.version},
                   {"status", to_string(i.status)}};
  auto states = nlohmann::json::array();
  if (i.current && i.current->state < w.states.size())
    states.push_back(w.states[i.current->state].name);
  j["states"] = std::move(states);
  j["data"] = current_data(p, i).to_json();
  if (i.error)
    j["error"] = {{"code", i.error->code}, {"message", i.error->message}, {"state", i.error->state}};
  return j;
}

std::string error_json(const meshflow::error& e) {
  return nlohmann::json{{"error", {{"code", e.code}, {"message", e.message}}}}.dump();
}

nlohmann::json history_entry_json(const history_entry& h) {
  return {{"at", iso_time(h.at)}, {"kind", h.kind}, {"detail", h.detail}};
}

nlohmann::json history_json(const instance& i) {
  auto out = nlohmann::json::array();
  for (const auto& h : i.history)
    out.push_back(history_entry_json(h));
  return out;
}

} // namespace meshflow::actors
