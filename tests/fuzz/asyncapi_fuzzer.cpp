// libFuzzer target: any bytes, read as an AsyncAPI document, must give
// diagnostics and never a crash, a sanitizer report, a hang or an escaping
// exception (DESIGN.md, principle 7: a malformed AsyncAPI document is
// rejected with a message and changes nothing).
//
// The bytes are read as YAML and as JSON (`read_asyncapi`, small limits);
// a service that reads is registered in a catalog beside a second copy of
// itself (conflicts), each of its operations resolved in the forms workflows
// write, its payload checks run on a few payloads, and everything rendered as
// the CLI would (diagnostics, `catalog show`, `catalog ls`, bindings).
//
//   asyncapi_fuzzer CORPUS_DIR -dict=tests/fuzz/asyncapi.dict -max_len=4096

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "meshflow/catalog/asyncapi.hpp"
#include "meshflow/catalog/service_catalog.hpp"
#include "meshflow/dsl/diagnostic.hpp"

namespace {

namespace catalog = meshflow::catalog;
namespace dsl = meshflow::dsl;

std::size_t render(const std::vector<dsl::diagnostic>& ds) {
  std::size_t n = dsl::to_json(ds).size();
  for (const auto& d : ds)
    n += dsl::to_string(d).size();
  return n;
}

std::size_t dumped(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).size();
}

const nlohmann::json payloads[] = {
  nlohmann::json::object(),
  {{"orderId", "o-1"}, {"lines", {{{"sku", "a"}, {"quantity", 2}}}}},
  {{"a", {1, "b", nullptr}}, {"$ref", "#/x"}},
  "text",
  nullptr,
};

std::size_t exercise(std::string_view text, const std::string& name,
                     const dsl::load_options& options) {
  auto read = catalog::read_asyncapi(text, name, options);
  std::size_t n = render(read.diagnostics);
  if (!read.service)
    return n;
  n += dumped(catalog::to_json(*read.service));
  for (const auto& op : read.service->operations)
    for (const auto& p : payloads)
      n += op.violations(p).size();

  catalog::service_catalog c;
  auto first = c.add(*read.service);
  n += render(first.diagnostics);
  auto twin = *read.service;
  twin.id += " (twin)";
  twin.name = "twin/" + twin.name;
  n += render(c.add(std::move(twin)).diagnostics);
  n += dumped(catalog::to_json(c)) + c.conflicts().size();
  for (const auto& op : read.service->operations)
    for (const auto& ref : {"file://" + name + "#" + op.id, "#" + op.id, op.id,
                            "file://other.yaml#" + op.id + "x"}) {
      auto bound = c.resolve(ref);
      n += bound ? dumped(catalog::to_json(*bound)) : bound.error().message.size();
    }
  auto rebuilt = catalog::service_catalog::rebuild(c.sources(), options);
  n += rebuilt.catalog.size() + render(rebuilt.diagnostics);
  return n;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  dsl::load_options options;
  options.max_bytes = 1024 * 1024;
  options.max_nodes = 100'000;
  const std::string_view text{reinterpret_cast<const char*>(data), size};
  volatile std::size_t sink = exercise(text, "fuzz.yaml", options);
  sink = sink + exercise(text, "fuzz.json", options);
  (void)sink;
  return 0;
}
