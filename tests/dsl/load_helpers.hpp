#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "meshflow/dsl/load.hpp"

namespace meshflow::dsl::testing {

inline load_result load(std::string_view text, load_options limits = {}) {
  return load_workflow_text(text, "test.yaml", ".", limits);
}

inline std::vector<diagnostic> errors_of(const std::vector<diagnostic>& ds) {
  std::vector<diagnostic> out;
  std::copy_if(ds.begin(), ds.end(), std::back_inserter(out),
               [](const diagnostic& d) { return d.severity == severity::error; });
  return out;
}

inline std::string all_text(const std::vector<diagnostic>& ds) {
  std::string out;
  for (const auto& d : ds)
    out += to_string(d) + "\n";
  return out;
}

/// A minimal valid definition whose states are `states_yaml` (indented 2).
inline std::string workflow_with(const std::string& states_yaml, const std::string& extra = "") {
  return "id: test\nversion: '1.0'\nspecVersion: '0.8'\n" + extra + "states:\n" + states_yaml;
}

} // namespace meshflow::dsl::testing
