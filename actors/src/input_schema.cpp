#include "meshflow/actors/input_schema.hpp"

#include <fmt/format.h>
// g++ 12 at -O3 reports a false -Wrestrict inside valijson's string
// handling (the same libstdc++ false positive as elsewhere); only here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
// Without this valijson aborts the process on a schema it cannot use.
#define VALIJSON_USE_EXCEPTIONS 1
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "meshflow/actors/function_binding.hpp"

namespace meshflow::actors {

expected<input_schema> input_schema::load(const dsl::data_input_schema& def,
                                          const std::filesystem::path& base_dir,
                                          transport::http_client& http,
                                          std::chrono::milliseconds http_timeout) {
  auto document = document_at(http, base_dir, def.schema, http_timeout);
  if (!document)
    return fail("definition", fmt::format("dataInputSchema '{}': {}", def.schema,
                                          document.error().message));
  auto schema = std::make_shared<valijson::Schema>();
  try {
    valijson::SchemaParser parser;
    valijson::adapters::NlohmannJsonAdapter adapter{*document};
    parser.populateSchema(adapter, *schema);
  } catch (const std::exception& e) {
    return fail("definition",
                fmt::format("dataInputSchema '{}' is not a usable JSON Schema: {}", def.schema,
                            e.what()));
  }
  input_schema s;
  s.schema_ = std::move(schema);
  s.refuses_invalid_ = def.fail_on_validation_errors;
  return s;
}

std::vector<std::string> input_schema::violations(const nlohmann::json& input) const {
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter adapter{input};
  std::vector<std::string> out;
  try {
    if (validator.validate(*schema_, adapter, &results))
      return out;
  } catch (const std::exception& e) {
    out.push_back(fmt::format("the schema cannot be applied: {}", e.what()));
    return out;
  }
  valijson::ValidationResults::Error e;
  while (results.popError(e)) {
    std::string path;
    for (const auto& part : e.context)
      path += part;
    out.push_back(fmt::format("{}: {}", path, e.description));
  }
  return out;
}

} // namespace meshflow::actors
