#pragma once
// Structured logging for every layer: a component name, a message and
// key/value fields. Where lines go and how they look (text or one JSON object
// per line) is decided once by agent/logging.h; cores only call these
// functions and never see a sink. Thread-safe (spdlog's logger is).

#include <initializer_list>
#include <string>
#include <string_view>

namespace ringwatch::log {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError };
enum class Format { kText, kJson };

struct Field {
  std::string_view key;
  std::string value;
};

using Fields = std::initializer_list<Field>;

// Renders the message part of one line in `format`. Text: `[component] message
// key=value ...` (values with spaces or quotes are quoted). JSON: the members
// `"component":...,"message":...,"fields":{...}` that agent/logging.h wraps with
// time and level. Pure; exposed for tests.
std::string Render(Format format, std::string_view component, std::string_view message,
                   Fields fields);

// Selects how Write renders; called by agent/logging.h when it installs sinks.
void SetFormat(Format format);

// Lines below `level` are dropped (agent/logging.h sets log.level; the
// simulations keep their output short with it).
void SetLevel(Level level);

void Write(Level level, std::string_view component, std::string_view message, Fields fields = {});

inline void Trace(std::string_view c, std::string_view m, Fields f = {}) {
  Write(Level::kTrace, c, m, f);
}
inline void Debug(std::string_view c, std::string_view m, Fields f = {}) {
  Write(Level::kDebug, c, m, f);
}
inline void Info(std::string_view c, std::string_view m, Fields f = {}) {
  Write(Level::kInfo, c, m, f);
}
inline void Warn(std::string_view c, std::string_view m, Fields f = {}) {
  Write(Level::kWarn, c, m, f);
}
inline void Error(std::string_view c, std::string_view m, Fields f = {}) {
  Write(Level::kError, c, m, f);
}

}  // namespace ringwatch::log
