#include "agent/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "core/log.h"

namespace ringwatch::agent {

void SetupLogging(const config::LogConfig& config) {
  auto logger = std::make_shared<spdlog::logger>("ringwatch",
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
  const bool json = config.format == config::LogFormat::kJson;
  // %v is the part rendered by core/log.cpp for the chosen format.
  logger->set_pattern(
      json ? R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})" : "%Y-%m-%dT%H:%M:%S.%eZ %l %v",
      spdlog::pattern_time_type::utc);
  switch (config.level) {
    case config::LogLevel::kTrace:
      logger->set_level(spdlog::level::trace);
      break;
    case config::LogLevel::kDebug:
      logger->set_level(spdlog::level::debug);
      break;
    case config::LogLevel::kInfo:
      logger->set_level(spdlog::level::info);
      break;
    case config::LogLevel::kWarn:
      logger->set_level(spdlog::level::warn);
      break;
    case config::LogLevel::kError:
      logger->set_level(spdlog::level::err);
      break;
  }
  // Every line reaches the journal at once, so nothing is lost on a crash.
  logger->flush_on(spdlog::level::trace);
  log::SetFormat(json ? log::Format::kJson : log::Format::kText);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace ringwatch::agent
