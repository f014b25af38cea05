#include "agent/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/log.h"

namespace ringwatch::agent {

namespace {

// %P: the line's priority for journald.
class JournalPriority : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const char* prefix = JournalPrefix(static_cast<int>(msg.level));
    dest.append(prefix, prefix + std::strlen(prefix));
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JournalPriority>();
  }
};

}  // namespace

bool StreamIsJournal(const char* journal_stream, int fd) {
  if (journal_stream == nullptr || *journal_stream == '\0') return false;
  unsigned long long dev = 0;
  unsigned long long ino = 0;
  char tail = 0;
  if (std::sscanf(journal_stream, "%llu:%llu%c", &dev, &ino, &tail) != 2) return false;
  struct stat st {};
  if (fstat(fd, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev &&
         static_cast<unsigned long long>(st.st_ino) == ino;
}

const char* JournalPrefix(int level) {
  switch (static_cast<spdlog::level::level_enum>(level)) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return "<7>";
    case spdlog::level::info:
      return "<6>";
    case spdlog::level::warn:
      return "<4>";
    case spdlog::level::err:
      return "<3>";
    case spdlog::level::critical:
      return "<2>";
    default:
      return "<6>";
  }
}

void SetupLogging(const config::LogConfig& config) {
  auto logger = std::make_shared<spdlog::logger>("ringwatch",
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
  const bool json = config.format == config::LogFormat::kJson;
  const bool journal = StreamIsJournal(std::getenv("JOURNAL_STREAM"), STDERR_FILENO);
  // %v is the part rendered by core/log.cpp for the chosen format; %P the
  // journal priority, only when stderr is the journal.
  std::string pattern =
      json ? R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})" : "%Y-%m-%dT%H:%M:%S.%eZ %l %v";
  if (journal) pattern = "%P" + pattern;
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<JournalPriority>('P').set_pattern(pattern);
  logger->set_formatter(std::move(formatter));
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
