#include "core/log.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <nlohmann/json.hpp>

namespace ringwatch::log {
namespace {

std::atomic<Format> g_format{Format::kText};

spdlog::level::level_enum ToSpdlog(Level level) {
  switch (level) {
    case Level::kTrace:
      return spdlog::level::trace;
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

bool NeedsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\n' || c == '\t') return true;
  }
  return false;
}

}  // namespace

std::string Render(Format format, std::string_view component, std::string_view message,
                   Fields fields) {
  if (format == Format::kJson) {
    nlohmann::json f = nlohmann::json::object();
    for (const Field& field : fields)
      f[std::string(field.key)] = field.value;
    // Invalid UTF-8 (e.g. bytes from a peer) is replaced, never thrown on.
    const auto dump = [](const nlohmann::json& j) {
      return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    };
    return "\"component\":" + dump(std::string(component)) +
           ",\"message\":" + dump(std::string(message)) + ",\"fields\":" + dump(f);
  }
  std::string out;
  out.reserve(component.size() + message.size() + 16 * fields.size() + 4);
  out.append("[").append(component).append("] ").append(message);
  for (const Field& field : fields) {
    out.append(" ").append(field.key).append("=");
    if (NeedsQuotes(field.value)) {
      out.append(nlohmann::json(field.value)
                     .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    } else {
      out.append(field.value);
    }
  }
  return out;
}

void SetFormat(Format format) {
  g_format.store(format, std::memory_order_relaxed);
}

void SetLevel(Level level) {
  spdlog::set_level(ToSpdlog(level));
}

void Write(Level level, std::string_view component, std::string_view message, Fields fields) {
  const auto spd_level = ToSpdlog(level);
  auto* logger = spdlog::default_logger_raw();
  if (!logger->should_log(spd_level)) return;
  logger->log(spd_level, "{}",
              Render(g_format.load(std::memory_order_relaxed), component, message, fields));
}

}  // namespace ringwatch::log
