#include "meshflow/dsl/data.hpp"

#include <fmt/format.h>

namespace meshflow::dsl {

namespace {

jq::value merge_objects(const jq::value& current, const jq::value& incoming) {
  jv out = current.copy();
  jv in = incoming.get();
  for (int it = jv_object_iter(in); jv_object_iter_valid(in, it); it = jv_object_iter_next(in, it)) {
    jq::value key{jv_object_iter_key(in, it)};
    jq::value value{jv_object_iter_value(in, it)};
    if (jv_object_has(jv_copy(out), key.copy())) {
      jq::value old{jv_object_get(jv_copy(out), key.copy())};
      out = jv_object_set(out, key.copy(), merge(old, value).copy());
    } else {
      out = jv_object_set(out, key.copy(), value.copy());
    }
  }
  return jq::value{out};
}

jq::value merge_arrays(const jq::value& current, const jq::value& incoming) {
  jv out = current.copy();
  int n = jv_array_length(incoming.copy());
  for (int i = 0; i < n; ++i) {
    jv item = jv_array_get(incoming.copy(), i);
    bool present = false;
    int m = jv_array_length(jv_copy(out));
    for (int k = 0; k < m && !present; ++k)
      present = jv_equal(jv_array_get(jv_copy(out), k), jv_copy(item));
    if (present)
      jv_free(item);
    else
      out = jv_array_append(out, item);
  }
  return jq::value{out};
}

} // namespace

jq::value merge(const jq::value& current, const jq::value& incoming) {
  if (current.kind() == JV_KIND_OBJECT && incoming.kind() == JV_KIND_OBJECT)
    return merge_objects(current, incoming);
  if (current.kind() == JV_KIND_ARRAY && incoming.kind() == JV_KIND_ARRAY)
    return merge_arrays(current, incoming);
  return incoming;
}

expected<jq::value> merge_at(const jq::value& data, const jq::value& path,
                             const jq::value& incoming) {
  if (path.kind() != JV_KIND_ARRAY)
    return fail("merge", fmt::format("'{}' is not a path", path.dump()));
  if (jv_array_length(path.copy()) == 0) {
    if (!incoming.is_object())
      return fail("merge", fmt::format("a result that is not an object ({}) cannot be merged "
                                       "into the state data; give a toStateData path",
                                       jv_kind_name(incoming.kind())));
    if (!data.is_object())
      return incoming;
    return merge(data, incoming);
  }
  // Missing objects on the path are created; what is there is merged into.
  jq::value base = data.kind() == JV_KIND_NULL ? jq::value{jv_object()} : data;
  jv existing = jv_getpath(base.copy(), path.copy());
  if (!jv_is_valid(existing)) {
    jq::value msg{jv_invalid_get_msg(existing)};
    return fail("merge", fmt::format("cannot merge at {}: {}", path.dump(),
                                     msg.kind() == JV_KIND_STRING ? jv_string_value(msg.get())
                                                                  : "invalid path"));
  }
  jq::value merged = merge(jq::value{existing}, incoming);
  jv out = jv_setpath(base.copy(), path.copy(), merged.copy());
  if (!jv_is_valid(out)) {
    jq::value msg{jv_invalid_get_msg(out)};
    return fail("merge", fmt::format("cannot merge at {}: {}", path.dump(),
                                     msg.kind() == JV_KIND_STRING ? jv_string_value(msg.get())
                                                                  : "invalid path"));
  }
  return jq::value{out};
}

} // namespace meshflow::dsl
