// The ringwatch binary's command line: subcommands, config selection and exit codes.

#include <gtest/gtest.h>

#include <filesystem>

#include "core/build_info.h"
#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

namespace ringwatch::agent {
namespace {

using testing::TempDir;

TEST(Cli, VersionPrintsVersionAndRevision) {
  TempDir dir;
  auto r = testing::Run({RINGWATCH_BINARY, "version"}, dir.File("out"));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out,
            std::string("ringwatch ") + core::kVersion + " (revision " + core::kRevision + ")\n");
}

TEST(Cli, CheckConfigAcceptsAValidFileWithASummary) {
  TempDir dir;
  auto key = testing::Run({RINGWATCH_BINARY, "keygen"}, dir.File("key"));
  ASSERT_EQ(key.exit_code, 0);
  dir.Write("keyring", key.out);
  const auto file = dir.Write("ok.yaml",
                              "node:\n  id: node-7\ncluster:\n  name: lab\n  seeds: "
                              "[\"127.0.0.1:7420\"]\n  secret_file: keyring\n");
  auto r = testing::Run({RINGWATCH_BINARY, "check-config", "-c", file}, dir.File("out"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(
      r.out,
      file +
          ": ok: node node-7 in cluster lab: peer 0.0.0.0:7420, http 0.0.0.0:7421, 1 seed(s), "
          "0 bootstrap voter(s), data_dir /var/lib/ringwatch, ring ketama\n");
  EXPECT_EQ(r.err, "");
}

// Secure by default: a peer port on the network without a keyring is a
// config error naming the way out; loopback, a keyring or allow_insecure
// are accepted. `ringwatch keygen` makes keys the keyring takes (32 random
// bytes, base64), a new one each time.
TEST(Cli, KeygenAndSecureByDefault) {
  TempDir dir;
  auto a = testing::Run({RINGWATCH_BINARY, "keygen"}, dir.File("a"));
  auto b = testing::Run({RINGWATCH_BINARY, "keygen"}, dir.File("b"));
  ASSERT_EQ(a.exit_code, 0);
  EXPECT_EQ(a.out.size(), 45u) << a.out;  // 44 base64 characters and a newline
  EXPECT_NE(a.out, b.out);
  const auto open = dir.Write("open.yaml", "node:\n  id: n1\nlisten:\n  peer: 0.0.0.0:7420\n");
  auto r = testing::Run({RINGWATCH_BINARY, "check-config", "-c", open}, dir.File("open"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(open + ":4:9: listen.peer: peer traffic on 0.0.0.0:7420 (not loopback) "
                              "would be unauthenticated"),
            std::string::npos)
      << r.err;
  for (const std::string extra :
       {"cluster:\n  allow_insecure: true\n", "cluster:\n  secret_file: keyring\n"}) {
    dir.Write("keyring", "# rotation in progress\n" + b.out + a.out);
    const auto ok = dir.Write("ok.yaml", "node:\n  id: n1\n" + extra);
    r = testing::Run({RINGWATCH_BINARY, "check-config", "-c", ok}, dir.File("ok"));
    EXPECT_EQ(r.exit_code, 0) << extra << r.err;
  }
  const auto local = dir.Write("local.yaml", "node:\n  id: n1\nlisten:\n  peer: 127.0.0.1:7420\n");
  EXPECT_EQ(testing::Run({RINGWATCH_BINARY, "check-config", "-c", local}, dir.File("l")).exit_code,
            0);
  // A keyring line that is not a key: refused with the line.
  dir.Write("bad-keyring", a.out + "not-a-key\n");
  const auto bad = dir.Write("bad.yaml", "node:\n  id: n1\ncluster:\n  secret_file: bad-keyring\n");
  r = testing::Run({RINGWATCH_BINARY, "check-config", "-c", bad}, dir.File("bad"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("line 2: not a base64 key"), std::string::npos) << r.err;
}

TEST(Cli, ConfigComesFromTheEnvironmentWhenNoFlagIsGiven) {
  TempDir dir;
  const auto good =
      dir.Write("good.yaml", "node:\n  id: from-env\ncluster:\n  allow_insecure: true\n");
  const auto bad = dir.Write("bad.yaml", "node:\n  id: from flag\n");
  auto r = testing::Run({RINGWATCH_BINARY, "check-config"}, dir.File("env"),
                        std::chrono::seconds(30), {"RINGWATCH_CONFIG=" + good});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("node from-env"), std::string::npos) << r.out;
  // -c wins over the environment.
  r = testing::Run({RINGWATCH_BINARY, "check-config", "-c", bad}, dir.File("flag"),
                   std::chrono::seconds(30), {"RINGWATCH_CONFIG=" + good});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(bad + ":2:7: node.id: invalid value"), std::string::npos) << r.err;
}

TEST(Cli, DefaultConfigPathIsEtcRingwatch) {
  if (std::filesystem::exists("/etc/ringwatch/ringwatch.yaml")) {
    GTEST_SKIP() << "/etc/ringwatch/ringwatch.yaml exists on this machine";
  }
  TempDir dir;
  auto r = testing::Run({RINGWATCH_BINARY, "check-config"}, dir.File("out"),
                        std::chrono::seconds(30), {"RINGWATCH_CONFIG="});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(
      r.err.find(
          "/etc/ringwatch/ringwatch.yaml: cannot read config file: No such file or directory"),
      std::string::npos)
      << r.err;
}

TEST(Cli, UsageErrorsExitWith2) {
  TempDir dir;
  for (const auto& args : std::vector<std::vector<std::string>>{
           {RINGWATCH_BINARY},
           {RINGWATCH_BINARY, "frobnicate"},
           {RINGWATCH_BINARY, "agent", "--no-such-flag"},
           {RINGWATCH_BINARY, "check-config", "-c"},
       }) {
    auto r = testing::Run(args, dir.File("out"));
    EXPECT_EQ(r.exit_code, 2) << args.back() << "\n" << r.err;
    EXPECT_FALSE(r.err.empty());
  }
}

TEST(Cli, HelpExitsWith0) {
  TempDir dir;
  auto r = testing::Run({RINGWATCH_BINARY, "--help"}, dir.File("out"));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("check-config"), std::string::npos);
}

}  // namespace
}  // namespace ringwatch::agent
