#include "agent/cli/tune_command.h"

#include <gtest/gtest.h>

#include <sstream>

#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

namespace ringwatch::agent {
namespace {

using namespace std::chrono_literals;

// 600 arrivals every 100 ms from t = 1000 s, optionally with one extra gap.
std::string Trace(double extra_gap_seconds = 0) {
  std::ostringstream out;
  out << "# synthetic\n";
  double t = 1000;
  for (int i = 0; i < 600; ++i) {
    if (i == 300) t += extra_gap_seconds;
    out << std::fixed << t << "\n";
    t += 0.1;
  }
  return out.str();
}

struct Output {
  int code;
  std::string out;
  std::string err;
};

Output Tune(TuneOptions o) {
  std::ostringstream out, err;
  const int code = RunTune(o, out, err);
  return {code, out.str(), err.str()};
}

TEST(Tune, RegularTraceRecommendsTheFastestThreshold) {
  testing::TempDir dir;
  TuneOptions o;
  o.trace_file = dir.Write("t.txt", Trace());
  o.thresholds = {4, 8, 12};
  const Output r = Tune(o);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(
      r.out.find(
          "600 arrivals over 59.9s: mean interval 100.0ms, std dev 0.0ms, longest gap 100.0ms"),
      std::string::npos)
      << r.out;
  // No mistakes anywhere, so the lowest threshold (the fastest) wins.
  EXPECT_NE(r.out.find("recommended (fastest with at most 1.00 mistakes/hour): phi_threshold: "
                       "4.00, window: 1000, "
                       "min_std_dev: 50ms"),
            std::string::npos)
      << r.out;
}

TEST(Tune, AGapLongerThanEverySettingIsReportedAsUnmet) {
  testing::TempDir dir;
  TuneOptions o;
  o.trace_file = dir.Write("t.txt", Trace(0.5));  // one 600 ms interval in a minute
  o.thresholds = {4, 8, 12};
  const Output r = Tune(o);
  ASSERT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("no setting meets 1.00 mistakes/hour; fewest mistakes: phi_threshold: 4.00"),
            std::string::npos)
      << r.out;
  // A looser target accepts one mistake a minute.
  o.max_mistakes_per_hour = 100;
  EXPECT_NE(Tune(o).out.find(
                "recommended (fastest with at most 100.00 mistakes/hour): phi_threshold: 4.00"),
            std::string::npos);
}

TEST(Tune, AWiderStdDevFloorAbsorbsTheGap) {
  testing::TempDir dir;
  TuneOptions o;
  o.trace_file = dir.Write("t.txt", Trace(0.5));
  o.thresholds = {8};
  o.min_std_devs = {50ms, 200ms};  // 200 ms: phi 8 only after ~1.1 s of silence
  const Output r = Tune(o);
  EXPECT_NE(r.out.find("recommended (fastest with at most 1.00 mistakes/hour): phi_threshold: "
                       "8.00, window: 1000, "
                       "min_std_dev: 200ms"),
            std::string::npos)
      << r.out;
}

TEST(Tune, BadTracesExitWith2) {
  testing::TempDir dir;
  TuneOptions o;
  o.trace_file = dir.File("missing.txt");
  Output r = Tune(o);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, o.trace_file + ": cannot read trace\n");
  o.trace_file = dir.Write("bad.txt", "1.0\n1.1\nnot-a-time\n");
  r = Tune(o);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, o.trace_file + ":3: expected a timestamp in seconds, got \"not-a-time\"\n");
  o.trace_file = dir.Write("short.txt", "1.0\n1.1\n");
  EXPECT_EQ(Tune(o).code, 2);
}

TEST(Tune, ListParsing) {
  std::vector<double> v;
  std::string why;
  ASSERT_TRUE(ParseNumberList("1:3:0.5", &v, &why));
  EXPECT_EQ(v, (std::vector<double>{1, 1.5, 2, 2.5, 3}));
  ASSERT_TRUE(ParseNumberList("4,8", &v, &why));
  EXPECT_EQ(v, (std::vector<double>{4, 8}));
  EXPECT_FALSE(ParseNumberList("1:3:0", &v, &why));
  EXPECT_FALSE(ParseNumberList("1:3", &v, &why));
  EXPECT_FALSE(ParseNumberList("4,x", &v, &why));
  std::vector<core::Duration> d;
  ASSERT_TRUE(ParseDurationList("20ms,1s", &d, &why));
  EXPECT_EQ(d, (std::vector<core::Duration>{20ms, 1s}));
  EXPECT_FALSE(ParseDurationList("20", &d, &why));
}

TEST(Tune, CommandLineExitCodes) {
  testing::TempDir dir;
  const std::string trace = dir.Write("t.txt", Trace());
  auto r = testing::Run({RINGWATCH_BINARY, "tune", "--trace", trace, "--thresholds", "2,8"},
                        dir.File("ok"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("recommended"), std::string::npos);
  r = testing::Run({RINGWATCH_BINARY, "tune", "--trace", trace, "--thresholds", "0:8:1"},
                   dir.File("range"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "--thresholds: each threshold is from 0.5 to 100\n");
  r = testing::Run({RINGWATCH_BINARY, "tune"}, dir.File("missing"));
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
}  // namespace ringwatch::agent
