#include "meshflow/actors/fault_injection.hpp"

#include <cstdlib>
#include <mutex>
#include <vector>

namespace meshflow::actors::fault_injection {

namespace {

struct entry {
  std::string point;
  std::string argument;
  bool fired = false;
};

struct registry {
  std::mutex mutex;
  std::string text;
  std::vector<entry> entries;

  registry() {
    if (const char* env = std::getenv("MESHFLOW_TEST_FAULTS"))
      text = env;
    std::string_view rest = text;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      auto item = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      if (item.empty())
        continue;
      auto eq = item.find('=');
      entries.push_back({std::string{item.substr(0, eq)},
                         eq == std::string_view::npos ? std::string{}
                                                      : std::string{item.substr(eq + 1)}});
    }
  }
};

registry& faults() {
  static registry r;
  return r;
}

} // namespace

bool fires(std::string_view point, std::string_view argument) {
  auto& r = faults();
  if (r.entries.empty())
    return false;
  std::lock_guard lock{r.mutex};
  for (auto& e : r.entries)
    if (!e.fired && e.point == point && (e.argument.empty() || e.argument == argument)) {
      e.fired = true;
      return true;
    }
  return false;
}

std::string armed() { return faults().text; }

} // namespace meshflow::actors::fault_injection
