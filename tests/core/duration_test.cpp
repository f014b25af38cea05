#include "core/duration.h"

#include <gtest/gtest.h>

#include <vector>

namespace ringwatch::core {
namespace {

using namespace std::chrono_literals;

TEST(ParseDuration, ReadsEveryUnit) {
  EXPECT_EQ(ParseDuration("150ns"), Duration(150));
  EXPECT_EQ(ParseDuration("7us"), 7us);
  EXPECT_EQ(ParseDuration("7\xC2\xB5s"), 7us);
  EXPECT_EQ(ParseDuration("150ms"), 150ms);
  EXPECT_EQ(ParseDuration("2s"), 2s);
  EXPECT_EQ(ParseDuration("1m"), 1min);
  EXPECT_EQ(ParseDuration("3h"), 3h);
}

TEST(ParseDuration, ReadsFractionsAndCompounds) {
  EXPECT_EQ(ParseDuration("1.5s"), 1500ms);
  EXPECT_EQ(ParseDuration(".5s"), 500ms);
  EXPECT_EQ(ParseDuration("1h30m"), 90min);
  EXPECT_EQ(ParseDuration("1m30s250ms"), 90250ms);
  EXPECT_EQ(ParseDuration("0"), Duration::zero());
  EXPECT_EQ(ParseDuration("0s"), Duration::zero());
  EXPECT_EQ(ParseDuration("+2s"), 2s);
}

TEST(ParseDuration, RejectsBareNumbersWithAHint) {
  DurationParseError err;
  EXPECT_FALSE(ParseDuration("100", &err));
  EXPECT_EQ(err.message, "missing unit in duration \"100\" (use e.g. 100ms or 2s)");
}

TEST(ParseDuration, RejectsUnknownUnits) {
  DurationParseError err;
  EXPECT_FALSE(ParseDuration("5 parsecs", &err));
  EXPECT_EQ(
      err.message,
      "unknown unit \" parsecs\" in duration \"5 parsecs\" (valid units: ns, us, ms, s, m, h)");
  EXPECT_FALSE(ParseDuration("5d", &err));
  EXPECT_FALSE(ParseDuration("5S", &err));
}

TEST(ParseDuration, RejectsMalformedText) {
  DurationParseError err;
  EXPECT_FALSE(ParseDuration("", &err));
  EXPECT_EQ(err.message, "empty duration (use e.g. 100ms or 2s)");
  EXPECT_FALSE(ParseDuration("-1s", &err));
  EXPECT_EQ(err.message, "negative duration \"-1s\" is not allowed");
  EXPECT_FALSE(ParseDuration("ms", &err));
  EXPECT_FALSE(ParseDuration("1s.", &err));
  EXPECT_FALSE(ParseDuration(".s", &err));
  EXPECT_FALSE(ParseDuration("99999999999h", &err));
  EXPECT_EQ(err.message, "duration \"99999999999h\" is too large");
}

TEST(FormatDuration, IsShortAndReadsBack) {
  EXPECT_EQ(FormatDuration(0s), "0s");
  EXPECT_EQ(FormatDuration(150ms), "150ms");
  EXPECT_EQ(FormatDuration(7us), "7us");
  EXPECT_EQ(FormatDuration(Duration(13)), "13ns");
  EXPECT_EQ(FormatDuration(2s), "2s");
  EXPECT_EQ(FormatDuration(1500ms), "1.5s");
  EXPECT_EQ(FormatDuration(90s), "1m30s");
  EXPECT_EQ(FormatDuration(3h + 1s), "3h1s");
  for (Duration d : std::vector<Duration>{Duration(1), Duration(999), 1ms, 1001ms, 61s, 3723s,
                                          1s + 5us, 2h + 3ms}) {
    EXPECT_EQ(ParseDuration(FormatDuration(d)), d) << FormatDuration(d);
  }
}

}  // namespace
}  // namespace ringwatch::core
