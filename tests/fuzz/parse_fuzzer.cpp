// libFuzzer target: any bytes, read as a workflow definition, must give
// diagnostics and never a crash, a sanitizer report, a hang or an escaping
// exception (SEMANTICS.md, "Command-line contract": diagnostics never end in a
// crash).
//
// The bytes go through what `meshflow validate` does with a file: read
// (`load_workflow_text`, with small limits so that each input stays cheap);
// when that gives a definition with no error, the reference checks and the
// diagram; and the rendering of every diagnostic, as text and as the JSON of
// `--format json`. Setting MESHFLOW_FUZZ_COMPILE=1 also compiles the
// definition's expressions (`compile`, as validate does last); it is off by
// default because compiling jq costs milliseconds per input.
//
//   parse_fuzzer CORPUS_DIR -dict=tests/fuzz/workflow.dict -max_len=4096

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "meshflow/dsl/diagnostic.hpp"
#include "meshflow/dsl/diagram.hpp"
#include "meshflow/dsl/load.hpp"
#include "meshflow/dsl/plan.hpp"
#include "meshflow/dsl/validate.hpp"

namespace {

namespace dsl = meshflow::dsl;

bool compile_expressions() {
  static const bool on = [] {
    const char* v = std::getenv("MESHFLOW_FUZZ_COMPILE");
    return v != nullptr && std::string_view{v} == "1";
  }();
  return on;
}

// Renders the diagnostics as the CLI does (text lines and the JSON array), so
// that whatever a document puts in a message or a path is rendered too.
std::size_t render(const std::vector<dsl::diagnostic>& ds) {
  std::size_t n = dsl::to_json(ds).size();
  for (const auto& d : ds)
    n += dsl::to_string(d).size();
  return n;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  dsl::load_options options;
  options.max_bytes = 1024 * 1024;
  options.max_nodes = 100'000;
  options.strict = false;  // the schema-level reading, as check_references below: it goes deepest

  const std::string_view text{reinterpret_cast<const char*>(data), size};
  auto loaded = dsl::load_workflow_text(text, "fuzz.yaml", "/nonexistent-dir", options);
  volatile std::size_t sink = render(loaded.diagnostics);

  if (loaded.workflow && !dsl::has_errors(loaded.diagnostics)) {
    auto findings = dsl::check_references(*loaded.workflow, dsl::severity::warning);
    sink = sink + render(findings);
    sink = sink + dsl::render_diagram(*loaded.workflow, dsl::diagram_format::dot).size();
    sink = sink + dsl::render_diagram(*loaded.workflow, dsl::diagram_format::mermaid).size();

    if (compile_expressions() && !dsl::has_errors(findings)) {
      dsl::compile_options no_secrets;
      no_secrets.secret = [](const std::string&) -> std::optional<std::string> {
        return std::nullopt;
      };
      auto compiled = dsl::compile(
        std::make_shared<const dsl::workflow>(std::move(*loaded.workflow)), no_secrets);
      sink = sink + render(compiled.diagnostics);
    }
  }
  (void)sink;
  return 0;
}
