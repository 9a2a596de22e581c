#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "commands.hpp"
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

} // namespace meshflow::cli
