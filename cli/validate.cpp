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
    bool schema_only = false;
  };
  auto a = std::make_shared<args>();
  auto* cmd = app.add_subcommand(
    "validate", "Check workflow definitions as a deploy does; print diagnostics");
  auto* schema_only = cmd->add_flag(
    "--schema-only", a->schema_only,
    "Only what the 0.8 schema (and the specification's text) rules out is an error; "
    "what would only make a deploy fail (a reference that does not resolve, say) is a "
    "warning");
  // Before deploy-level checking was the default, it took `--strict`.
  cmd->add_flag("--strict")
    ->description("The default, kept for existing scripts: findings that would make a deploy "
                  "fail are errors")
    ->excludes(schema_only);
  cmd->add_option("files", a->files, "Workflow definition files (YAML or JSON)")->required();
  cmd->add_option("--format", a->format, "Diagnostics as text lines or a JSON array")
    ->check(CLI::IsMember({"text", "json"}));
  cmd->callback([a, &opts] {
    opts.run = [a] {
      std::vector<dsl::diagnostic> all;
      bool invalid = false;
      for (const auto& file : a->files) {
        dsl::load_options options;
        options.strict = !a->schema_only;
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
