#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "meshflow/catalog/asyncapi.hpp"
#include "meshflow/dsl/document.hpp"

namespace meshflow::catalog::testing {

/// The seed example: the four AsyncAPI documents and the workflow.
inline std::filesystem::path store_order_dir() {
  return std::filesystem::path{MESHFLOW_SHARED_DIR} / "examples" / "store-order";
}

/// This folder's documents (components, refs, bindings; JSON).
inline std::filesystem::path documents_dir() {
  return std::filesystem::path{MESHFLOW_CATALOG_DOCUMENTS};
}

inline std::string text_of(const std::filesystem::path& file) {
  auto text = dsl::read_text(file);
  EXPECT_TRUE(text) << text.error().message;
  return text ? *text : std::string{};
}

/// A seed document read under its file name, as the catalog registers it.
inline read_result read_seed(const std::string& file) {
  return read_asyncapi(text_of(store_order_dir() / file), file);
}

/// Every diagnostic in the `FILE:LINE:COL: severity: PATH: MESSAGE` form.
inline std::vector<std::string> lines_of(const std::vector<dsl::diagnostic>& ds) {
  std::vector<std::string> out;
  for (const auto& d : ds)
    out.push_back(dsl::to_string(d));
  return out;
}

inline std::string all_text(const std::vector<dsl::diagnostic>& ds) {
  std::string out;
  for (const auto& line : lines_of(ds))
    out += line + "\n";
  return out;
}

/// An AsyncAPI 2.6.0 document with `body` after `asyncapi` and `info`.
inline std::string document_with(const std::string& body) {
  return "asyncapi: 2.6.0\ninfo:\n  title: Test Service\n  version: '1.0.0'\n" + body;
}

} // namespace meshflow::catalog::testing
