#include "meshflow/actors/command.hpp"

#include "meshflow/transport/kafka_topics.hpp"

#include <random>

#include <fmt/format.h>

#include "meshflow/actors/instance.hpp"
#include "meshflow/proto/command.pb.h"
#include "meshflow/transport/proto_format.hpp"

namespace meshflow::actors {

namespace {

namespace pb = meshflow::command;



template <class... Ts>
struct overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
overloaded(Ts...) -> overloaded<Ts...>;

} // namespace

std::string new_instance_id() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  auto hi = random(), lo = random();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", hi >> 32, (hi >> 16) & 0xffff,
                     hi & 0xffff, lo >> 48, lo & 0xffffffffffffULL);
}

std::uint32_t partition_of(std::string_view instance_id, std::uint32_t partitions) {
  if (partitions == 0)
    return 0;
  return static_cast<std::uint32_t>(
    transport::partition_for_key(instance_id, static_cast<std::int32_t>(partitions)));
}

std::string encode(const consumed_event& e) {
  pb::Event m;
  if (auto encoded = transport::proto_format::encode(e.event))
    *m.mutable_event() = std::move(*encoded);
  m.set_channel(e.channel);
  return m.SerializeAsString();
}

expected<consumed_event> decode_consumed_event(std::string_view bytes) {
  pb::Event m;
  if (!m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return fail("command", "not a meshflow.command.Event message");
  auto decoded = transport::proto_format::decode(m.event());
  if (!decoded)
    return fail("command", fmt::format("its event: {}", decoded.error().message));
  return consumed_event{std::move(*decoded), m.channel()};
}

std::string_view kind_of(const command& c) {
  static constexpr std::string_view names[] = {"start",  "event", "timer", "pause",
                                               "resume", "cancel", "retry", "child-done"};
  return names[c.what.index()];
}

std::string encode(const command& c) {
  pb::Command m;
  m.set_instance_id(c.instance_id);
  m.set_request_id(c.request_id);
  std::visit(overloaded{
               [&](const start_command& s) {
                 auto* p = m.mutable_start();
                 p->set_workflow_id(s.workflow_id);
                 p->set_version(s.version);
                 p->set_input(s.input);
                 if (s.exec_timeout)
                   p->mutable_exec_timeout()->ParseFromString(actors::encode(*s.exec_timeout));
                 p->set_parent_id(s.parent_id);
                 p->set_parent_token(s.parent_token);
                 p->set_start_key(s.start_key);
                 for (const auto& e : s.events)
                   if (auto encoded = transport::proto_format::encode(e.event)) {
                     *p->add_events() = std::move(*encoded);
                     p->add_channels(e.channel);
                   }
                 p->set_input_invalid(s.input_invalid);
               },
               [&](const event_command& e) {
                 auto* p = m.mutable_event();
                 if (auto encoded = transport::proto_format::encode(e.event))
                   *p->mutable_event() = std::move(*encoded);
                 p->set_channel(e.channel);
               },
               [&](const timer_command& t) { m.mutable_timer()->set_token(t.token); },
               [&](const pause_command&) { m.mutable_pause(); },
               [&](const resume_command&) { m.mutable_resume(); },
               [&](const cancel_command& x) { m.mutable_cancel()->set_reason(x.reason); },
               [&](const retry_command&) { m.mutable_retry(); },
               [&](const child_done_command& d) {
                 auto* p = m.mutable_child_done();
                 p->set_token(d.token);
                 p->set_ok(d.result.ok);
                 p->set_result(d.result.result);
                 p->set_code(d.result.failure.code);
                 p->set_message(d.result.failure.message);
               },
             },
             c.what);
  return m.SerializeAsString();
}

expected<command> decode_command(std::string_view bytes) {
  pb::Command m;
  if (!m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return fail("command", "not a meshflow.command.Command message");
  if (m.instance_id().empty())
    return fail("command", "the command names no instance");
  command c;
  c.instance_id = m.instance_id();
  c.request_id = m.request_id();
  auto event = [](const io::cloudevents::v1::CloudEvent& e) -> expected<transport::cloud_event> {
    auto decoded = transport::proto_format::decode(e);
    if (!decoded)
      return fail("command", fmt::format("its event: {}", decoded.error().message));
    return decoded;
  };
  switch (m.kind_case()) {
    case pb::Command::kStart: {
      const auto& p = m.start();
      start_command s;
      s.workflow_id = p.workflow_id();
      s.version = p.version();
      s.input = p.input();
      if (p.has_exec_timeout()) {
        auto t = decode_exec_timeout(p.exec_timeout().SerializeAsString());
        if (!t)
          return tl::unexpected(t.error());
        s.exec_timeout = std::move(*t);
      }
      s.parent_id = p.parent_id();
      s.parent_token = p.parent_token();
      s.start_key = p.start_key();
      for (int k = 0; k < p.events_size(); ++k) {
        auto decoded = event(p.events(k));
        if (!decoded)
          return tl::unexpected(decoded.error());
        s.events.push_back(
          {std::move(*decoded), k < p.channels_size() ? p.channels(k) : std::string{}});
      }
      s.input_invalid = p.input_invalid();
      c.what = std::move(s);
      break;
    }
    case pb::Command::kEvent: {
      auto decoded = event(m.event().event());
      if (!decoded)
        return tl::unexpected(decoded.error());
      c.what = event_command{std::move(*decoded), m.event().channel()};
      break;
    }
    case pb::Command::kTimer:
      c.what = timer_command{m.timer().token()};
      break;
    case pb::Command::kPause:
      c.what = pause_command{};
      break;
    case pb::Command::kResume:
      c.what = resume_command{};
      break;
    case pb::Command::kCancel:
      c.what = cancel_command{m.cancel().reason()};
      break;
    case pb::Command::kRetry:
      c.what = retry_command{};
      break;
    case pb::Command::kChildDone: {
      const auto& p = m.child_done();
      c.what = child_done_command{
        p.token(), p.ok() ? invocation_result::success(p.result())
                          : invocation_result::failed(p.code(), p.message())};
      break;
    }
    default:
      return fail("command", "the command has no kind");
  }
  return c;
}

} // namespace meshflow::actors
