#include "meshflow/catalog/payload_schema.hpp"

#include <cctype>
#include <string_view>

#include <fmt/format.h>
// g++ 12 at -O3 reports a false -Wrestrict inside valijson's string
// handling (the same libstdc++ false positive as in actors/input_schema.cpp);
// only here.
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

#include "refs.hpp"

namespace meshflow::catalog {

namespace {

/// valijson's message with the places of the compiled document
/// (`/definitions/3/properties/a`) told as the places of the original
/// (`/components/schemas/Order/properties/a`).
std::string in_original_terms(std::string message,
                              const std::vector<nlohmann::json::json_pointer>& origins) {
  constexpr std::string_view prefix = "/definitions/";
  std::string out;
  std::size_t i = 0;
  while (i < message.size()) {
    auto at = message.find(prefix, i);
    bool starts_path = at != std::string::npos
                       && (at == 0 || message[at - 1] == ' ' || message[at - 1] == '\''
                           || message[at - 1] == '#');
    if (at == std::string::npos) {
      out += message.substr(i);
      break;
    }
    auto digits = at + prefix.size();
    auto end = digits;
    while (end < message.size() && std::isdigit(static_cast<unsigned char>(message[end])))
      ++end;
    out += message.substr(i, at - i);
    std::size_t index = 0;
    bool number = end > digits && end - digits < 10;
    if (number)
      index = std::stoul(message.substr(digits, end - digits));
    if (starts_path && number && index < origins.size()) {
      out += origins[index].to_string();
      i = end;
    } else {
      out += prefix;
      i = digits;
    }
  }
  return out;
}

/// valijson reports a failed property or item, then the failure itself:
/// only the failures are violations, unless nothing else was said.
bool consequence(const std::string& description) {
  constexpr std::string_view consequences[] = {
    "Failed to validate against schema associated with property name '",
    "Failed to validate item #",
    "Failed to validate against schema associated with pattern '",
    "Failed to validate against additional properties schema",
    "Failed to validate against child schema #",
    "Failed to validate against dependent schema"};
  for (auto c : consequences)
    if (description.starts_with(c))
      return true;
  return false;
}

} // namespace

schema_compilation payload_schema::compile(const nlohmann::json& document,
                                           const nlohmann::json::json_pointer& at,
                                           std::size_t max_nodes) {
  schema_compilation out;
  const auto* value = detail::find(document, at);
  if (!value) {
    out.problems.push_back({at, dsl::severity::error, "there is no schema here"});
    return out;
  }
  if (!value->is_object() && !value->is_boolean()) {
    out.problems.push_back(
      {at, dsl::severity::error,
       fmt::format("a schema must be an object (or true/false), not {}",
                   detail::kind_of(*value))});
    return out;
  }
  auto closure = detail::close_schema(document, at, max_depth, max_nodes);
  out.nodes = closure.nodes;
  if (!closure.document) {
    out.problems = std::move(closure.problems);
    return out;
  }
  auto schema = std::make_shared<valijson::Schema>();
  try {
    valijson::SchemaParser parser;  // draft 7, which AsyncAPI 2.x extends
    valijson::adapters::NlohmannJsonAdapter adapter{*closure.document};
    parser.populateSchema(adapter, *schema);
  } catch (const std::exception& e) {
    out.problems.push_back(
      {at, dsl::severity::error,
       fmt::format("not a usable JSON Schema: {}",
                   in_original_terms(e.what(), closure.origins))});
    return out;
  }
  payload_schema compiled;
  compiled.schema_ = std::move(schema);
  compiled.source_ = std::make_shared<const nlohmann::json>(std::move(*closure.document));
  out.schema = std::move(compiled);
  return out;
}

std::vector<std::string> payload_schema::violations(const nlohmann::json& payload) const {
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter adapter{payload};
  std::vector<std::string> out;
  try {
    if (validator.validate(*schema_, adapter, &results))
      return out;
  } catch (const std::exception& e) {
    out.push_back(fmt::format("the schema cannot be applied: {}", e.what()));
    return out;
  }
  std::vector<std::string> consequences;
  valijson::ValidationResults::Error e;
  while (results.popError(e)) {
    std::string path;
    for (const auto& part : e.context)
      path += part;
    auto line = fmt::format("{}: {}", path, e.description);
    (consequence(e.description) ? consequences : out).push_back(std::move(line));
  }
  if (out.empty())
    out = std::move(consequences);
  if (out.empty())
    out.push_back("<root>: not valid against the payload schema (it accepts nothing here)");
  return out;
}

} // namespace meshflow::catalog
