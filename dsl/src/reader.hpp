#pragma once

// Reading YAML nodes into typed values, the way the 0.8 JSON schema sees a
// document: YAML plain scalars are typed by the YAML 1.2 core schema, every
// finding is a diagnostic with a file position and a definition path, and a
// budget bounds the work that aliases can multiply.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "meshflow/dsl/diagnostic.hpp"
#include "meshflow/dsl/duration.hpp"
#include "meshflow/dsl/model.hpp"
#include "meshflow/dsl/suggest.hpp"

namespace meshflow::dsl::detail {

/// The JSON type a YAML node stands for.
enum class json_kind { null, boolean, number, string, array, object };

std::string_view to_string(json_kind k);

class read_context {
public:
  read_context(std::string file, std::vector<diagnostic>& out,
               dsl::source_map& positions, std::size_t max_nodes)
    : file_(std::move(file)), out_(out), positions_(positions),
      budget_(max_nodes) {
  }

  void error(const std::string& path, const YAML::Node& at, std::string message);
  void warning(const std::string& path, const YAML::Node& at, std::string message);
  void report(severity s, const std::string& path, source_position pos,
              std::string message);

  /// Records where `path` was written.
  void locate(const std::string& path, const YAML::Node& at);

  /// Counts one visited node; false (after one diagnostic) once the budget
  /// is spent, and from then on.
  bool visit(const std::string& path, const YAML::Node& at);

  bool exhausted() const { return exhausted_; }
  int errors() const { return errors_; }

private:
  std::string file_;
  std::vector<diagnostic>& out_;
  dsl::source_map& positions_;
  std::size_t budget_;
  bool exhausted_ = false;
  int errors_ = 0;
};

source_position position_of(const YAML::Node& n);

json_kind kind_of(const YAML::Node& n);

/// The node as JSON, aliases expanded within the context's budget.
std::optional<nlohmann::json> to_json(read_context& ctx, const YAML::Node& n,
                                      const std::string& path);

/// `"a.b"`, `"a[3]"`: definition paths.
std::string member_path(const std::string& parent, std::string_view key);
std::string item_path(const std::string& parent, std::size_t index);

/// Reads one mapping. Each member read is marked known; `finish` reports the
/// others as unknown properties, with a suggestion where one fits.
class object_reader {
public:
  object_reader(read_context& ctx, YAML::Node node, std::string path);

  read_context& context() { return ctx_; }
  const std::string& path() const { return path_; }
  const YAML::Node& node() const { return node_; }

  /// The member `key` (marked known), or an undefined node.
  YAML::Node get(std::string_view key);
  bool has(std::string_view key) const;
  std::string path_of(std::string_view key) const { return member_path(path_, key); }

  /// Reports a missing required member.
  void missing(std::string_view key, std::string_view why = {});

  /// Reports members never asked for. `strict` false makes them warnings
  /// (where the schema allows additional properties).
  void finish(bool strict = true);

private:
  read_context& ctx_;
  YAML::Node node_;
  std::string path_;
  std::vector<std::string_view> known_;
};

// Typed members. Each reports its own type errors and returns nullopt for
// an absent or wrong member.
std::optional<std::string> read_string(object_reader& r, std::string_view key,
                                       bool non_empty = false);
/// As `read_string`, and reports the member missing when it is absent.
std::optional<std::string> require_string(object_reader& r, std::string_view key,
                                          bool non_empty = false);
std::optional<bool> read_bool(object_reader& r, std::string_view key);
std::optional<double> read_number(object_reader& r, std::string_view key);
/// A non-negative integer given as a number or a numeric string
/// (`numCompleted`, `batchSize`, `maxAttempts`).
std::optional<int> read_count(object_reader& r, std::string_view key, int minimum);
std::optional<iso_duration> read_duration(object_reader& r, std::string_view key);
std::optional<std::vector<std::string>>
read_string_list(object_reader& r, std::string_view key, bool non_empty);
dsl::metadata read_metadata(object_reader& r);
/// Object whose values are strings (`contextAttributes`).
std::map<std::string, std::string> read_string_map(object_reader& r,
                                                   std::string_view key);
/// An object member, as JSON.
std::optional<nlohmann::json> read_object(object_reader& r, std::string_view key);
/// A string (expression) or an object (`data` of events and continueAs).
std::optional<nlohmann::json> read_string_or_object(object_reader& r,
                                                    std::string_view key);

/// One of `names` (the spelling in the specification); index into it.
std::optional<std::size_t> read_enum(object_reader& r, std::string_view key,
                                     const std::vector<std::string_view>& names);

/// Checks that `n` is a mapping, reporting it where it is not.
bool expect_object(read_context& ctx, const YAML::Node& n, const std::string& path,
                   std::string_view what);

} // namespace meshflow::dsl::detail
