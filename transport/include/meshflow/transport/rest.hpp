#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "meshflow/error.hpp"

namespace meshflow::transport {

/// One operation of an OpenAPI 3 document, resolved for calling: a `rest`
/// function's `operation` is `URI#operationId` (SEMANTICS.md, "Functions").
struct rest_operation {
  enum class location { path, query, header };
  struct parameter {
    std::string name;
    location in = location::query;
    bool required = false;
  };

  std::string operation_id;
  std::string method;  // upper case: GET, POST, ...
  std::string server;  // scheme://host[:port], from servers[0].url
  std::string base_path;  // the path part of servers[0].url, no trailing '/'
  std::string path;    // as the document writes it: /pets/{petId}
  std::vector<parameter> parameters;
};

/// `URI#operationId` split in two; the error says what is missing.
expected<std::pair<std::string, std::string>> split_operation(std::string_view operation);

/// Finds `operation_id` in the OpenAPI 3 document `doc` read from
/// `doc_uri`; a relative `servers[0].url` (or none, which is `/`) is
/// resolved against an `http(s)://` document URI.
expected<rest_operation> find_operation(const nlohmann::json& doc, std::string_view doc_uri,
                                        std::string_view operation_id);

/// Calls `op` once. Arguments whose names match the operation's parameters
/// fill them (path, query, header); the others form the JSON request body.
/// The result is the response body: JSON, a string when it is not JSON,
/// null when empty. Failures carry the codes of SEMANTICS.md: the HTTP
/// status (`"503"`) at 400 and above, `"timeout"` when `timeout` passed,
/// `"connection"` when the service could not be reached; `"arguments"` when
/// the arguments are not an object or lack a required path parameter.
expected<nlohmann::json> call(const rest_operation& op, const nlohmann::json& arguments,
                              std::chrono::milliseconds timeout);

/// The body of `GET url` (an OpenAPI document published by its service);
/// errors as for `call`.
expected<std::string> fetch(const std::string& url, std::chrono::milliseconds timeout);

} // namespace meshflow::transport
