#include "meshflow/actors/instance.hpp"

#include <array>
#include <chrono>

#include <fmt/format.h>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "meshflow/proto/instance.pb.h"
#include "meshflow/transport/proto_format.hpp"

namespace meshflow::actors {

std::string correlation_text(const instance& i) {
  std::string out;
  for (const auto& [name, value] : i.correlation)
    out += fmt::format("{}={};", name, value);
  return out;
}

bool is_final(instance_status s) {
  return s == instance_status::completed || s == instance_status::faulted ||
         s == instance_status::terminated;
}

epoch_ms now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

namespace {

void to_proto(const dsl::workflow_exec_timeout& t, meshflow::instance::ExecTimeout& e) {
  e.set_duration_ms(t.duration.value.count());
  e.set_duration(t.duration.text);
  e.set_interrupt(t.interrupt);
  e.set_run_before(t.run_before.value_or(""));
}

dsl::workflow_exec_timeout from_proto(const meshflow::instance::ExecTimeout& e) {
  dsl::workflow_exec_timeout t;
  t.duration = {std::chrono::milliseconds{e.duration_ms()}, e.duration()};
  t.interrupt = e.interrupt();
  if (!e.run_before().empty())
    t.run_before = e.run_before();
  return t;
}


constexpr std::array<std::string_view, 5> status_names{"RUNNING", "PAUSED", "COMPLETED",
                                                       "FAULTED", "TERMINATED"};

std::string json_text(const jq::value& v) { return v.dump(); }

/// Reads JSON text written by `snapshot`.
expected<jq::value> json_value(const std::string& text, std::string_view what) {
  if (text.empty())
    return jq::value{};
  auto v = jq::value::parse(text);
  if (!v)
    return fail("snapshot", fmt::format("{}: {}", what, v.error().message));
  return v;
}

} // namespace

std::string_view to_string(instance_status s) { return status_names[static_cast<int>(s)]; }

std::optional<instance_status> parse_status(std::string_view text) {
  for (std::size_t k = 0; k < status_names.size(); ++k)
    if (status_names[k] == text)
      return static_cast<instance_status>(k);
  return std::nullopt;
}

std::string snapshot(const instance& i) {
  meshflow::instance::Instance m;
  m.set_id(i.id);
  m.set_workflow_id(i.workflow_id);
  m.set_version(i.version);
  m.set_status(static_cast<meshflow::instance::Status>(i.status));
  m.set_data(json_text(i.data));
  if (i.current) {
    const auto& c = *i.current;
    auto* s = m.mutable_current();
    s->set_state(c.state);
    s->set_token(c.token);
    s->set_phase(static_cast<std::uint32_t>(c.phase));
    s->set_input(json_text(c.input));
    s->set_data(json_text(c.data));
    s->set_timer_token(c.timer_token);
    s->set_deadline(c.deadline);
    s->set_exec_timer_token(c.exec_timer_token);
    s->set_exec_deadline(c.exec_deadline);
    s->set_single_timer_token(c.single_timer_token);
    s->set_single_deadline(c.single_deadline);
    for (const auto& l : c.lists) {
      auto* lm = s->add_lists();
      lm->set_slot(l.slot);
      lm->set_data(json_text(l.data));
      lm->set_next(l.next);
      lm->set_last_result(json_text(l.last_result));
      lm->set_timer_token(l.timer_token);
      lm->set_deadline(l.deadline);
      for (const auto& a : l.running) {
        auto* am = lm->add_running();
        am->set_action(a.action);
        am->set_wait(static_cast<std::uint32_t>(a.wait));
        am->set_token(a.token);
        am->set_deadline(a.deadline);
        am->set_result(json_text(a.result));
        am->set_attempts(a.attempts);
        am->set_retry_at(a.retry_at);
      }
    }
    for (const auto& r : c.arrived)
      s->add_arrived(r);
    s->set_items(json_text(c.items));
    s->set_next_item(c.next_item);
    for (const auto& r : c.results) {
      auto* rm = s->add_results();
      rm->set_present(r.has_value());
      if (r)
        rm->set_json(json_text(*r));
    }
    s->set_completed(c.completed);
  }
  if (i.compensation) {
    auto* cm = m.mutable_compensation();
    for (auto p : i.compensation->pending)
      cm->add_pending(p);
    cm->mutable_origin()->set_state(i.compensation->origin.state);
    cm->mutable_origin()->set_site(static_cast<std::uint32_t>(i.compensation->origin.site));
    cm->mutable_origin()->set_index(i.compensation->origin.index);
  }
  for (auto c : i.compensable)
    m.add_compensable(c);
  if (i.error) {
    m.mutable_error()->set_code(i.error->code);
    m.mutable_error()->set_message(i.error->message);
    m.mutable_error()->set_state(i.error->state);
  }
  m.set_exec_timer_token(i.exec_timer_token);
  m.set_exec_deadline(i.exec_deadline);
  m.set_timed_out(i.timed_out);
  m.set_running_before(i.running_before);
  m.set_transitions(i.transitions);
  m.set_parent_id(i.parent_id);
  m.set_parent_token(i.parent_token);
  m.set_start_key(i.start_key);
  if (i.exec_timeout)
    to_proto(*i.exec_timeout, *m.mutable_exec_timeout());
  for (const auto& [name, value] : i.correlation) {
    auto* c = m.add_correlation();
    c->set_name(name);
    c->set_value(value);
  }
  for (const auto& k : i.kept_events)
    if (auto encoded = transport::proto_format::encode(k.event)) {
      *m.add_kept_events() = std::move(*encoded);
      m.add_kept_channels(k.channel);
    }
  for (const auto& c : i.children) {
    auto* cm = m.add_children();
    cm->set_id(c.id);
    cm->set_terminate_with_parent(c.terminate_with_parent);
  }
  m.set_next_token(i.next_token);
  m.set_events_produced(i.events_produced);
  m.set_history_dropped(i.history_dropped);
  for (const auto& h : i.history) {
    auto* hm = m.add_history();
    hm->set_at(h.at);
    hm->set_kind(h.kind);
    hm->set_detail(h.detail);
  }
  // Deterministic (map entries in key order): the same instance always
  // gives the same bytes.
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out{&bytes};
    google::protobuf::io::CodedOutputStream coded{&out};
    coded.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&coded);
  }
  return bytes;
}

namespace {

/// Reads a snapshot's fields, remembering the first that is wrong.
struct field_reader {
  std::optional<meshflow::error> wrong;

  jq::value json(const std::string& text, std::string_view what) {
    auto v = json_value(text, what);
    if (v)
      return std::move(*v);
    if (!wrong)
      wrong = v.error();
    return jq::value{};
  }

  /// An enumerator stored as a number; `last` is the enum's last value.
  template <class Enum>
  Enum enumerated(std::uint32_t n, Enum last, std::string_view what) {
    if (n > static_cast<std::uint32_t>(last) && !wrong)
      wrong = meshflow::error{"snapshot", fmt::format("unknown {} {}", what, n)};
    return n > static_cast<std::uint32_t>(last) ? Enum{} : static_cast<Enum>(n);
  }
};

} // namespace

expected<instance> restore(std::string_view bytes) {
  meshflow::instance::Instance m;
  if (!m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return fail("snapshot", "not a meshflow.instance.Instance message");
  field_reader read;
  instance i;
  i.id = m.id();
  i.workflow_id = m.workflow_id();
  i.version = m.version();
  i.status = read.enumerated(static_cast<std::uint32_t>(m.status()),
                             instance_status::terminated, "status");
  i.data = read.json(m.data(), "data");
  if (m.has_current()) {
    const auto& s = m.current();
    auto& c = i.current.emplace();
    c.state = s.state();
    c.token = s.token();
    c.phase = read.enumerated(s.phase(), state_phase::entering, "state phase");
    c.input = read.json(s.input(), "current.input");
    c.data = read.json(s.data(), "current.data");
    c.timer_token = s.timer_token();
    c.deadline = s.deadline();
    c.exec_timer_token = s.exec_timer_token();
    c.exec_deadline = s.exec_deadline();
    c.single_timer_token = s.single_timer_token();
    c.single_deadline = s.single_deadline();
    for (const auto& lm : s.lists()) {
      auto& l = c.lists.emplace_back();
      l.slot = lm.slot();
      l.data = read.json(lm.data(), "list data");
      l.next = lm.next();
      l.last_result = read.json(lm.last_result(), "list result");
      l.timer_token = lm.timer_token();
      l.deadline = lm.deadline();
      for (const auto& am : lm.running()) {
        auto& a = l.running.emplace_back();
        a.action = am.action();
        a.wait = read.enumerated(am.wait(), action_wait::sleep_after, "action wait");
        a.token = am.token();
        a.deadline = am.deadline();
        a.result = read.json(am.result(), "action result");
        a.attempts = am.attempts();
        a.retry_at = am.retry_at();
      }
    }
    c.arrived.assign(s.arrived().begin(), s.arrived().end());
    c.items = read.json(s.items(), "items");
    c.next_item = s.next_item();
    for (const auto& r : s.results())
      c.results.push_back(r.present() ? std::optional{read.json(r.json(), "result")}
                                      : std::nullopt);
    c.completed = s.completed();
  }
  if (m.has_compensation()) {
    const auto& cm = m.compensation();
    auto& comp = i.compensation.emplace();
    comp.pending.assign(cm.pending().begin(), cm.pending().end());
    comp.origin = {cm.origin().state(),
                   read.enumerated(cm.origin().site(), flow_site::default_condition, "flow site"),
                   cm.origin().index()};
  }
  if (read.wrong)
    return tl::unexpected(*read.wrong);
  i.compensable.assign(m.compensable().begin(), m.compensable().end());
  if (m.has_error())
    i.error = instance_error{m.error().code(), m.error().message(), m.error().state()};
  i.exec_timer_token = m.exec_timer_token();
  i.exec_deadline = m.exec_deadline();
  i.timed_out = m.timed_out();
  i.running_before = m.running_before();
  i.transitions = m.transitions();
  i.parent_id = m.parent_id();
  i.parent_token = m.parent_token();
  i.start_key = m.start_key();
  if (m.has_exec_timeout())
    i.exec_timeout = from_proto(m.exec_timeout());
  for (const auto& c : m.correlation())
    i.correlation.emplace_back(c.name(), c.value());
  for (int k = 0; k < m.kept_events_size(); ++k) {
    auto decoded = transport::proto_format::decode(m.kept_events(k));
    if (!decoded)
      return fail("snapshot", fmt::format("kept event: {}", decoded.error().message));
    i.kept_events.push_back(
      {std::move(*decoded), k < m.kept_channels_size() ? m.kept_channels(k) : std::string{}});
  }
  for (const auto& c : m.children())
    i.children.push_back({c.id(), c.terminate_with_parent()});
  i.next_token = m.next_token();
  i.events_produced = m.events_produced();
  i.history_dropped = m.history_dropped();
  for (const auto& h : m.history())
    i.history.push_back({h.at(), h.kind(), h.detail()});
  return i;
}

std::string encode(const dsl::workflow_exec_timeout& t) {
  meshflow::instance::ExecTimeout e;
  to_proto(t, e);
  return e.SerializeAsString();
}

expected<dsl::workflow_exec_timeout> decode_exec_timeout(std::string_view bytes) {
  meshflow::instance::ExecTimeout e;
  if (!e.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return fail("snapshot", "not a workflowExecTimeout");
  return from_proto(e);
}

} // namespace meshflow::actors
