#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "meshflow/error.hpp"
#include "meshflow/json_limits.hpp"
#include "meshflow/transport/http_client.hpp"

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

/// The HTTP request that calls `op` once. Arguments whose names match the
/// operation's parameters fill them (path, query, header); the others form
/// the JSON request body. The response body may be `limits.max_bytes` long.
/// Error `"arguments"` when the arguments are not an object or lack a
/// required path parameter.
expected<http_request> request_for(const rest_operation& op, const nlohmann::json& arguments,
                                   std::chrono::milliseconds timeout, const json_limits& limits);

/// The result of a call from what `target` (`METHOD URL`) answered: the
/// response body, JSON, a string when it is not JSON, null when empty.
/// Failures carry the codes of SEMANTICS.md: the HTTP status (`"503"`) at
/// 400 and above; the transfer's own (`"timeout"`, `"connection"`,
/// `"limit"`, see http_client.hpp) as they came; `"limit"` for a body
/// nested deeper than `limits` allow, checked before it is parsed.
expected<nlohmann::json> result_of(const std::string& target, http_outcome outcome,
                                   const json_limits& limits);

/// Calls `op` once and waits: `request_for`, `http_client::perform`,
/// `result_of`. For callers that may block (tools, tests); the REST binding
/// submits the request and reads its outcome when it comes.
expected<nlohmann::json> call(http_client& http, const rest_operation& op,
                              const nlohmann::json& arguments, std::chrono::milliseconds timeout,
                              const json_limits& limits = {});

/// The body of `GET url` (an OpenAPI document published by its service), at
/// most `max_bytes`; errors as for `call`.
expected<std::string> fetch(http_client& http, const std::string& url,
                            std::chrono::milliseconds timeout, std::size_t max_bytes);

} // namespace meshflow::transport
