#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "meshflow/dsl/diagram.hpp"
#include "meshflow/dsl/load.hpp"

namespace meshflow::cli {

void add_diagram(CLI::App& app, options& opts) {
  struct args {
    std::string file;
    std::string format = "dot";
  };
  auto a = std::make_shared<args>();
  auto* cmd = app.add_subcommand("diagram", "Draw a workflow's states and transitions");
  cmd->add_option("file", a->file, "Workflow definition file")->required();
  cmd->add_option("--format", a->format, "Graphviz dot or Mermaid")
    ->check(CLI::IsMember({"dot", "mermaid"}));
  cmd->callback([a, &opts] {
    opts.run = [a] {
      // A drawing needs the structure only: the schema-level reading.
      dsl::load_options schema_level;
      schema_level.strict = false;
      auto loaded = dsl::load_workflow_file(a->file, schema_level);
      if (!loaded.workflow || dsl::has_errors(loaded.diagnostics)) {
        for (const auto& d : loaded.diagnostics)
          if (d.severity == dsl::severity::error)
            std::cerr << dsl::to_string(d) << '\n';
        return exit_failed;
      }
      std::cout << dsl::render_diagram(*loaded.workflow, a->format == "dot"
                                                           ? dsl::diagram_format::dot
                                                           : dsl::diagram_format::mermaid);
      return exit_ok;
    };
  });
}

} // namespace meshflow::cli
