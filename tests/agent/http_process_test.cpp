// The HTTP API as deployed, with real agents on loopback: HTTPS from a
// certificate of the operator's CA, plain HTTP refused on that port, mutual
// TLS, a certificate rotated by SIGHUP while clients keep being served, every
// client command of the CLI over HTTPS with a client certificate and a token
// file, /livez answered while a slow leave runs, a bad token file refused at
// start, and priority prefixes when stderr is the journal.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/agent_process.h"
#include "tests/support/cluster_status.h"
#include "tests/support/poll.h"
#include "tests/support/raw_http.h"
#include "tests/support/tls.h"

namespace ringwatch::agent {
namespace {

using namespace std::chrono_literals;
using testing::AgentProcess;
using testing::TlsClientOptions;

constexpr auto kDeadline = 30s;
const std::string kVoters = "  bootstrap_voters: [node-1, node-2, node-3]\n";

class HttpsProcess : public ::testing::Test {
 protected:
  // The http section of an agent that serves HTTPS (and wants client
  // certificates when `mutual`) and requires the token for POSTs.
  std::string HttpYaml(bool mutual) const {
    std::string yaml = "http:\n  token_file: " + token_file_ +
                       "\n  tls:\n    cert_file: " + server_.cert_file +
                       "\n    key_file: " + server_.key_file + "\n";
    if (mutual) yaml += "    client_ca_file: " + ca_.cert_file() + "\n";
    return yaml;
  }

  TlsClientOptions Client(bool with_certificate) const {
    TlsClientOptions o;
    o.ca_file = ca_.cert_file();
    if (with_certificate) {
      o.cert_file = client_.cert_file;
      o.key_file = client_.key_file;
    }
    return o;
  }

  // Runs `ringwatch ARGS... --http-addr https://127.0.0.1:PORT` with the CA,
  // the client certificate and the token file.
  testing::RunResult Cli(const AgentProcess& agent, std::vector<std::string> args,
                         bool credentials = true) {
    std::vector<std::string> argv = {RINGWATCH_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--http-addr=https://127.0.0.1:" + std::to_string(agent.http_port()));
    if (credentials) {
      for (std::string flag : {"--ca-file=" + ca_.cert_file(), "--cert-file=" + client_.cert_file,
                               "--key-file=" + client_.key_file, "--token-file=" + token_file_})
        argv.push_back(flag);
    }
    return testing::Run(argv, dir_.File("cli-" + std::to_string(++runs_)), kDeadline);
  }

  testing::TempDir dir_;
  testing::TestCa ca_{dir_.path(), "ops"};
  testing::PemPair server_ = ca_.Issue("agent-one", true);
  testing::PemPair client_ = ca_.Issue("operator", false);
  std::string token_file_ = dir_.Write("token", "s3cret-token\n");
  int runs_ = 0;
};

TEST_F(HttpsProcess, ServesHttpsRefusesPlainHttpAndRotatesItsCertificateOnSighup) {
  AgentProcess agent("node-1", HttpYaml(false));
  agent.set_https(Client(false));
  std::string error;
  ASSERT_TRUE(agent.Start(&error)) << error;
  auto tls = testing::TlsExchange(agent.http_port(),
                                  "GET /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                                  Client(false));
  ASSERT_TRUE(tls.response) << tls.error;
  EXPECT_EQ(tls.response->status, 200);
  EXPECT_EQ(tls.peer_subject, "agent-one");
  auto plain = testing::Get(agent.http_port(), "/livez");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 400);
  EXPECT_NE(plain->body.find("HTTPS"), std::string::npos) << plain->body;

  // Rotation as certbot or an operator does it: new files in place, SIGHUP.
  auto next = ca_.Issue("agent-two", true);
  std::filesystem::copy_file(next.cert_file, server_.cert_file,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(next.key_file, server_.key_file,
                             std::filesystem::copy_options::overwrite_existing);
  ASSERT_TRUE(agent.process().Signal(SIGHUP));
  EXPECT_TRUE(testing::PollUntil(
      [&] {
        auto r = testing::TlsExchange(agent.http_port(),
                                      "GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                                      Client(false));
        return r.response && r.response->status == 200 && r.peer_subject == "agent-two";
      },
      kDeadline))
      << agent.process().Stderr();
  EXPECT_TRUE(agent.process().Running());
  EXPECT_EQ(testing::MetricSample(agent, "ringwatch_http_tls_reloads_total{result=\"ok\"}"), 2);
  EXPECT_GE(testing::MetricSample(agent, "ringwatch_http_refused_total{reason=\"plain_http\"}"), 1);
}

TEST_F(HttpsProcess, MutualTlsRefusesAClientWithoutACertificateAndServesOneTheCaSigned) {
  AgentProcess agent("node-1", HttpYaml(true));
  agent.set_https(Client(true));
  std::string error;
  ASSERT_TRUE(agent.Start(&error)) << error;
  const std::string get = "GET /v1/members HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  auto anonymous = testing::TlsExchange(agent.http_port(), get, Client(false));
  EXPECT_FALSE(anonymous.response) << "served a client without a certificate";
  auto known = testing::TlsExchange(agent.http_port(), get, Client(true));
  ASSERT_TRUE(known.response) << known.error;
  EXPECT_EQ(known.response->status, 200);
  EXPECT_GE(testing::MetricSample(agent, "ringwatch_http_refused_total{reason=\"tls_handshake\"}"),
            1);
  // The CLI without its certificate cannot get in either.
  auto cli = Cli(agent, {"status", "--ca-file=" + ca_.cert_file()}, false);
  EXPECT_EQ(cli.exit_code, 1) << cli.out << cli.err;
}

// Three agents serving HTTPS with mutual TLS; every client command of the
// CLI, through the flags and through the environment.
TEST_F(HttpsProcess, EveryCliCommandWorksOverHttpsWithAClientCertificate) {
  std::vector<std::unique_ptr<AgentProcess>> agents;
  std::string error;
  ASSERT_TRUE(
      testing::StartSeededCluster(3, &agents, &error, kVoters + HttpYaml(true),
                                  [&](std::size_t, AgentProcess& a) { a.set_https(Client(true)); }))
      << error;
  std::vector<AgentProcess*> all = {agents[0].get(), agents[1].get(), agents[2].get()};
  ASSERT_TRUE(testing::AllSee(all, {"node-1", "node-2", "node-3"}, "alive"));
  AgentProcess& one = *agents[0];

  auto members = Cli(one, {"members"});
  EXPECT_EQ(members.exit_code, 0) << members.err;
  EXPECT_NE(members.out.find("node-3"), std::string::npos) << members.out;
  auto status = Cli(one, {"status", "--json"});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(nlohmann::json::parse(status.out)["node"], "node-1");
  auto ring = Cli(one, {"ring"});
  EXPECT_EQ(ring.exit_code, 0) << ring.err;
  EXPECT_NE(ring.out.find("node-2"), std::string::npos) << ring.out;
  auto lookup = Cli(one, {"lookup", "user:42"});
  EXPECT_EQ(lookup.exit_code, 0) << lookup.err;
  EXPECT_NE(lookup.out.find("node-"), std::string::npos) << lookup.out;
  auto events = Cli(one, {"events"});
  EXPECT_EQ(events.exit_code, 0) << events.err;
  EXPECT_NE(events.out.find("node-3"), std::string::npos) << events.out;

  // A member dies: its diagnosis over HTTPS.
  agents[2]->process().Signal(SIGKILL);
  ASSERT_TRUE(testing::AllSee({agents[0].get(), agents[1].get()}, {"node-3"}, "dead"));
  auto diagnose = Cli(one, {"diagnose", "node-3"});
  EXPECT_EQ(diagnose.exit_code, 0) << diagnose.err;
  EXPECT_NE(diagnose.out.find("process_down"), std::string::npos) << diagnose.out;

  // The environment works as the flags do (RINGWATCH_HTTP_ADDR etc.).
  auto env = testing::Run(
      {RINGWATCH_BINARY, "members", "--json"}, dir_.File("cli-env"), kDeadline,
      {"RINGWATCH_HTTP_ADDR=https://localhost:" + std::to_string(one.http_port()),
       "RINGWATCH_CA_FILE=" + ca_.cert_file(), "RINGWATCH_CERT_FILE=" + client_.cert_file,
       "RINGWATCH_KEY_FILE=" + client_.key_file});
  EXPECT_EQ(env.exit_code, 0) << env.err;

  // The agent's certificate is checked: without the CA the system's CAs do
  // not know it, and a name the certificate does not carry is refused.
  auto unknown_ca =
      Cli(one, {"members", "--cert-file=" + client_.cert_file, "--key-file=" + client_.key_file},
          false);
  EXPECT_EQ(unknown_ca.exit_code, 1) << unknown_ca.out;
  auto token_less = Cli(one,
                        {"leave", "--ca-file=" + ca_.cert_file(),
                         "--cert-file=" + client_.cert_file, "--key-file=" + client_.key_file},
                        false);
  EXPECT_EQ(token_less.exit_code, 1) << token_less.out;
  EXPECT_NE(token_less.err.find("401"), std::string::npos) << token_less.err;
  EXPECT_TRUE(agents[1]->process().Running());

  // Last, a leave with the token file: node-2 leaves and stops.
  auto leave = Cli(*agents[1], {"leave"});
  EXPECT_EQ(leave.exit_code, 0) << leave.err;
  EXPECT_TRUE(agents[1]->process().Wait(kDeadline).has_value());
  EXPECT_EQ(testing::MemberState(one, "node-2"), "left");
}

// The HTTP thread is not held by a leave: /livez answers while one runs.
// node-3's every Raft save takes 0.3 s (fault injection), so its leave
// takes that long at least.
TEST(HttpLeaveProcess, LivezAnswersWhileALeaveIsInProgress) {
  std::vector<std::unique_ptr<AgentProcess>> agents;
  std::string error;
  ASSERT_TRUE(testing::StartSeededCluster(3, &agents, &error, kVoters,
                                          [](std::size_t i, AgentProcess& a) {
                                            if (i == 2)
                                              a.set_extra_env(
                                                  {"RINGWATCH_FAULT_PERSIST_DELAY_MS=300"});
                                          }))
      << error;
  std::vector<AgentProcess*> all = {agents[0].get(), agents[1].get(), agents[2].get()};
  ASSERT_TRUE(testing::AllSee(all, {"node-1", "node-2", "node-3"}, "alive", 50ms, 60s));
  AgentProcess& slow = *agents[2];
  ASSERT_TRUE(testing::PollUntil(
      [&] {
        auto r = slow.Get("/readyz");
        return r && r->status == 200;
      },
      kDeadline));

  testing::RawConnection leave(slow.http_port());
  ASSERT_TRUE(
      leave.Send("POST /v1/leave HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"));
  // The core has taken the leave (so the HTTP side has routed it) ...
  ASSERT_TRUE(slow.process().WaitForStderrLine("POST /v1/leave", kDeadline));
  // ... and /livez is answered before the leave is.
  int answered_during_leave = 0;
  for (int i = 0; i < 5; ++i) {
    auto livez = testing::Get(slow.http_port(), "/livez");
    ASSERT_TRUE(livez);
    EXPECT_EQ(livez->status, 200);
    if (leave.Read(1, 0ms).empty()) ++answered_during_leave;
  }
  EXPECT_GE(answered_during_leave, 1) << "every /livez waited for the leave";
  auto left = leave.Read(1, kDeadline);
  ASSERT_EQ(left.size(), 1u);
  // 200, or 409 when a save this slow kept the leave from committing within
  // cluster.leave_timeout: either way the answer came, and the agent stops.
  EXPECT_TRUE(left[0].status == 200 || left[0].status == 409) << left[0].body;
  EXPECT_TRUE(slow.process().Wait(kDeadline).has_value());
}

TEST(HttpTokenProcess, AnEmptyOrUnreadableTokenFileStopsTheAgentAtStart) {
  testing::TempDir dir;
  const std::string empty = dir.Write("empty-token", "\n  \n");
  for (const std::string& file : {empty, dir.File("missing-token")}) {
    const std::string config =
        dir.Write("ringwatch.yaml",
                  "node:\n  id: n1\nlisten:\n  peer: 127.0.0.1:0\n  http: "
                  "127.0.0.1:0\ndata_dir: " +
                      dir.File("data") + "\nhttp:\n  token_file: " + file + "\n");
    auto r = testing::Run({RINGWATCH_BINARY, "agent", "-c", config}, dir.File("run"), kDeadline);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("http.token_file"), std::string::npos) << r.err;
  }
}

// Under systemd, stderr is a stream to the journal and JOURNAL_STREAM names
// it (device:inode): every line then starts with its priority, so that
// `journalctl -p warning` finds the warnings. Elsewhere lines are unchanged.
TEST(JournaldProcess, WithJournalStreamEveryLineStartsWithItsPriority) {
  for (bool journal : {true, false}) {
    AgentProcess agent("node-1");
    // The child's stderr is this file (opened with O_TRUNC: same inode).
    const std::string stderr_file = agent.dir().File("agent.stderr");
    std::ofstream(stderr_file).flush();
    struct stat st {};
    ASSERT_EQ(::stat(stderr_file.c_str(), &st), 0);
    const std::string stream =
        std::to_string(st.st_dev) + ":" + std::to_string(journal ? st.st_ino : st.st_ino + 1);
    // The fault injection logs a warning at start.
    agent.set_extra_env({"JOURNAL_STREAM=" + stream, "RINGWATCH_FAULT_PERSIST_DELAY_MS=1"});
    std::string error;
    ASSERT_TRUE(agent.Start(&error)) << error;
    ASSERT_TRUE(agent.process().WaitForStderrLine("fault injection", kDeadline));
    const std::string out = agent.process().Stderr();
    std::istringstream lines(out);
    std::string line;
    int warnings = 0;
    int infos = 0;
    while (std::getline(lines, line)) {
      if (line.empty()) continue;
      if (line.find("fault injection") != std::string::npos) {
        ++warnings;
        EXPECT_EQ(line.rfind(journal ? "<4>" : "20", 0), 0u) << line;
      } else if (line.find(" info ") != std::string::npos) {
        ++infos;
        EXPECT_EQ(line.rfind(journal ? "<6>" : "20", 0), 0u) << line;
      }
    }
    EXPECT_EQ(warnings, 1) << out;
    EXPECT_GT(infos, 0) << out;
  }
}

}  // namespace
}  // namespace ringwatch::agent
