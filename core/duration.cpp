#include "core/duration.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>

namespace ringwatch::core {
namespace {

struct Unit {
  std::string_view name;
  int64_t nanos;
};

// Longest names first so that "ms" is not read as "m" followed by "s".
constexpr std::array<Unit, 8> kUnits{{
    {"ns", 1},
    {"us", 1'000},
    {"\xC2\xB5s", 1'000},  // µs (U+00B5)
    {"\xCE\xBCs", 1'000},  // μs (U+03BC)
    {"ms", 1'000'000},
    {"s", 1'000'000'000},
    {"m", 60'000'000'000},
    {"h", 3'600'000'000'000},
}};

bool Fail(DurationParseError* error, std::string message) {
  if (error != nullptr) error->message = std::move(message);
  return false;
}

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

std::optional<Duration> ParseDuration(std::string_view text, DurationParseError* error) {
  std::string quoted;  // built by append: GCC 12 warns falsely (-Wrestrict) on `"\"" + s`
  quoted.append(1, '"').append(text).append(1, '"');
  if (text.empty()) {
    Fail(error, "empty duration (use e.g. 100ms or 2s)");
    return std::nullopt;
  }
  if (text == "0") return Duration::zero();
  if (text.front() == '-') {
    Fail(error, "negative duration " + quoted + " is not allowed");
    return std::nullopt;
  }
  if (text.front() == '+') text.remove_prefix(1);

  long double total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    // Number: digits with an optional fraction.
    const std::size_t start = i;
    long double value = 0;
    bool digits = false;
    while (i < text.size() && IsDigit(text[i])) {
      value = value * 10 + (text[i] - '0');
      digits = true;
      ++i;
    }
    if (i < text.size() && text[i] == '.') {
      ++i;
      long double scale = 0.1L;
      while (i < text.size() && IsDigit(text[i])) {
        value += (text[i] - '0') * scale;
        scale /= 10;
        digits = true;
        ++i;
      }
    }
    if (!digits) {
      Fail(error, "invalid duration " + quoted + ": expected a number at \"" +
                      std::string(text.substr(start)) + "\"");
      return std::nullopt;
    }
    // Unit: the longest known unit name at this position.
    const std::size_t unit_start = i;
    while (i < text.size() && !IsDigit(text[i]) && text[i] != '.')
      ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) {
      Fail(error, "missing unit in duration " + quoted + " (use e.g. 100ms or 2s)");
      return std::nullopt;
    }
    const Unit* found = nullptr;
    for (const Unit& u : kUnits) {
      if (u.name == unit) found = &u;
    }
    if (found == nullptr) {
      Fail(error, "unknown unit \"" + std::string(unit) + "\" in duration " + quoted +
                      " (valid units: ns, us, ms, s, m, h)");
      return std::nullopt;
    }
    total += value * static_cast<long double>(found->nanos);
    if (total > static_cast<long double>(std::numeric_limits<int64_t>::max())) {
      Fail(error, "duration " + quoted + " is too large");
      return std::nullopt;
    }
  }
  return Duration(static_cast<int64_t>(std::llround(total)));
}

std::string FormatDuration(Duration d) {
  int64_t ns = d.count();
  if (ns == 0) return "0s";
  std::string out;
  if (ns < 0) {
    out = "-";
    ns = -ns;
  }
  // Sub-second durations use one unit: the largest that divides them exactly.
  if (ns < 1'000'000'000) {
    if (ns % 1'000'000 == 0) return out + std::to_string(ns / 1'000'000) + "ms";
    if (ns % 1'000 == 0) return out + std::to_string(ns / 1'000) + "us";
    return out + std::to_string(ns) + "ns";
  }
  const int64_t hours = ns / 3'600'000'000'000;
  ns %= 3'600'000'000'000;
  const int64_t minutes = ns / 60'000'000'000;
  ns %= 60'000'000'000;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (minutes > 0) out += std::to_string(minutes) + "m";
  if (ns > 0) {
    if (ns % 1'000'000'000 == 0) {
      out += std::to_string(ns / 1'000'000'000) + "s";
    } else if (ns % 1'000'000 == 0) {
      // e.g. 1.5s: seconds with a millisecond fraction, trailing zeros dropped.
      std::string frac = std::to_string(ns % 1'000'000'000 / 1'000'000);
      frac.insert(0, 3 - frac.size(), '0');
      while (frac.back() == '0')
        frac.pop_back();
      out += std::to_string(ns / 1'000'000'000) + "." + frac + "s";
    } else {
      out +=
          std::to_string(ns / 1'000'000'000) + "s" + FormatDuration(Duration(ns % 1'000'000'000));
    }
  }
  return out;
}

}  // namespace ringwatch::core
