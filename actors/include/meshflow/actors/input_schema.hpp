#pragma once

// A workflow's `dataInputSchema`: the JSON Schema its input must satisfy,
// checked when an instance starts (valijson; drafts 3, 4 and 7).

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "meshflow/dsl/model.hpp"
#include "meshflow/error.hpp"
#include "meshflow/transport/http_client.hpp"

namespace valijson {
class Schema;
}

namespace meshflow::actors {

class input_schema {
public:
  /// Reads and compiles the schema `def` names (see `document_at`; an
  /// `http(s)://` schema is fetched through `http`); the error (code
  /// `definition`) says why it cannot be used.
  static expected<input_schema> load(const dsl::data_input_schema& def,
                                     const std::filesystem::path& base_dir,
                                     transport::http_client& http,
                                     std::chrono::milliseconds http_timeout);

  /// What is wrong with `input`, one message per violation (`PATH: WHY`),
  /// empty when it is valid.
  std::vector<std::string> violations(const nlohmann::json& input) const;

  /// failOnValidationErrors: an invalid input is refused (else the
  /// instance starts and its history records the violations).
  bool refuses_invalid() const { return refuses_invalid_; }

private:
  std::shared_ptr<const valijson::Schema> schema_;
  bool refuses_invalid_ = true;
};

} // namespace meshflow::actors
