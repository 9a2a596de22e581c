#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "meshflow/dsl/diagram.hpp"
#include "meshflow/dsl/validate.hpp"

namespace meshflow::cli {

void add_validate(CLI::App& app, options& opts) {
  struct args {
    std::vector<std::string> files;
    std::string format = "text";
    bool strict = false;
  };
  auto a = std::make_shared<args>();
  auto* cmd = app.add_subcommand("validate", "Check workflow definitions; print diagnostics");
  cmd->add_flag("--strict", a->strict,
                "Unresolved references are errors, as at deploy (default: warnings)");
  cmd->add_option("files", a->files, "Workflow definition files (YAML or JSON)")->required();
  cmd->add_option("--format", a->format, "Diagnostics as text lines or a JSON array")
    ->check(CLI::IsMember({"text", "json"}));
  cmd->callback([a, &opts] {
    opts.run = [a] {
      std::vector<dsl::diagnostic> all;
      bool invalid = false;
      for (const auto& file : a->files) {
        dsl::load_options options;
        options.strict = a->strict;
        auto v = dsl::validate_file(file, options);
        invalid = invalid || dsl::has_errors(v.diagnostics);
        all.insert(all.end(), v.diagnostics.begin(), v.diagnostics.end());
      }
      if (a->format == "json") {
        std::cout << dsl::to_json(all) << '\n';
      } else {
        for (const auto& d : all)
          std::cout << dsl::to_string(d) << '\n';
      }
      return invalid ? exit_failed : exit_ok;
    };
  });
}

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
      auto loaded = dsl::load_workflow_file(a->file);
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
