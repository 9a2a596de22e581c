#pragma once

// The one place that knows libjq: values, compilation, evaluation, errors.
//
// libjq 1.6 spends ~30 ms in every jq_compile, almost all of it re-reading
// jq's own builtins, whatever the size of the program. A workflow version
// has tens of expressions; compiled one by one they would cost a second.
// So a `program` holds ALL the expressions of a workflow version in one jq
// program, compiled once:
//
//     def __mf_fn_0: (<expression function 0>);      # `fn:NAME` calls
//     {} as $ENV | .[0] as $WORKFLOW | .[1] as $__mf_i | .[2] |
//     if $__mf_i < 2 then (if $__mf_i < 1 then (<expr 0>) else (<expr 1>) end)
//     else ... end
//
// and evaluation runs it on `[$WORKFLOW, id, input]`, the id choosing the
// expression through a balanced tree of comparisons. `$CONST` and `$SECRETS`
// are compile-time variables (they are fixed for a version). Each expression
// starts on its own line, so a compile error's line names the expression;
// `prepare_expression` has already checked that no expression can close the
// parentheses around it. A jq_state runs one evaluation at a time: a program
// keeps a pool of compiled states, growing to the number of threads that
// evaluate at once.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "meshflow/error.hpp"

extern "C" {
#include <jv.h>
}

namespace meshflow::jq {

/// Owns one reference to a jq value.
class value {
public:
  value() : v_(jv_null()) {}
  /// Takes ownership of `v`.
  explicit value(jv v) : v_(v) {}
  value(const value& other) : v_(jv_copy(other.v_)) {}
  value(value&& other) noexcept : v_(other.v_) { other.v_ = jv_null(); }
  value& operator=(value other) noexcept {
    std::swap(v_, other.v_);
    return *this;
  }
  ~value() { jv_free(v_); }

  /// A new reference, for a libjq call that consumes it.
  jv copy() const { return jv_copy(v_); }
  /// Borrowed: valid while this value lives.
  jv get() const { return v_; }

  jv_kind kind() const { return jv_get_kind(v_); }
  bool is_object() const { return kind() == JV_KIND_OBJECT; }
  bool truthy() const { return kind() != JV_KIND_NULL && kind() != JV_KIND_FALSE; }

  static value from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
  /// Parses JSON text; the error names the position.
  static expected<value> parse(std::string_view text);
  std::string dump() const;

  friend bool operator==(const value& a, const value& b) {
    return jv_equal(a.copy(), b.copy());
  }

private:
  jv v_;
};

/// An expression's place in its program.
using expression_id = std::uint32_t;

/// A compile error, against the item that caused it.
struct compile_error {
  enum class item_kind { function, expression } kind;
  std::uint32_t index;  // function index or expression id
  std::string message;
};

class program;

/// Collects the expressions of one workflow version, then compiles them.
class program_builder {
public:
  /// An expression function, callable as `__mf_fn_K` (K in order of calls).
  void add_function(std::string jq_source);

  /// Adds one expression (plain jq). `as_path` compiles `path(EXPR)`, for
  /// `toStateData` and `outputCollection`. `user_errors` says the expression
  /// calls `error`, so that an error message it raises is its code.
  expression_id add(std::string jq_source, bool as_path = false, bool user_errors = false);

  std::size_t size() const { return expressions_.size(); }

  /// Compiles everything at once. On failure, every expression or function
  /// that does not compile is named, with jq's message.
  tl::expected<std::shared_ptr<const program>, std::vector<compile_error>>
  build(const nlohmann::json& constants, const nlohmann::json& secrets) &&;

private:
  struct item {
    std::string source;
    bool as_path = false;
    bool user_errors = false;
  };
  std::vector<std::string> functions_;
  std::vector<item> expressions_;
  friend class program;
};

/// The compiled expressions of one workflow version; shared, thread-safe.
class program {
public:
  ~program();
  program(const program&) = delete;
  program& operator=(const program&) = delete;

  /// The first output of expression `id` on `input`, with `$WORKFLOW` bound
  /// to `workflow`; null when it has no output. A failure has code `X` for
  /// `error("X")`, else `expression`.
  expected<value> evaluate(expression_id id, const value& input,
                           const value& workflow = value{}) const;

  std::size_t size() const { return user_errors_.size(); }

  /// The jq text compiled (for diagnostics and tests).
  const std::string& source() const { return source_; }

private:
  friend class program_builder;
  struct pool;
  program(std::string source, std::string args, std::vector<bool> user_errors,
          void* first_state);

  std::string source_;
  std::string args_;  // `$CONST` and `$SECRETS`, as JSON text (see evaluate)
  std::vector<bool> user_errors_;
  std::unique_ptr<pool> pool_;
};

} // namespace meshflow::jq
