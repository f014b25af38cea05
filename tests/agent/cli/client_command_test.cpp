#include "agent/cli/client_command.h"
#include "agent/cli/lock_command.h"

#include <gtest/gtest.h>

#include <sstream>

namespace ringwatch::agent {
namespace {

TEST(ClientFormat, MembersTableShowsStateAndTheLocalObservation) {
  auto j = nlohmann::json::parse(R"({"version":7,"members":[
    {"id":"node-1","address":"10.0.0.1:7420","zone":"a","service":"10.0.0.1:80","weight":1,
     "state":"alive","incarnation":5,"since":"2026-11-26T10:00:00.000Z","local":null},
    {"id":"node-2","address":"10.0.0.2:7420","zone":"b","service":"","weight":1,
     "state":"dead","incarnation":6,"since":"2026-11-26T10:01:00.000Z",
     "local":{"phi":21.25,"silence_seconds":3.5,"suspected":true}}]})");
  const std::string t = FormatMembers(j);
  EXPECT_NE(t.find("ID      STATE  ADDRESS"), std::string::npos) << t;
  EXPECT_NE(t.find("node-2  dead"), std::string::npos) << t;
  EXPECT_NE(t.find("SUSPECTED phi=21.2 silence=3.50s"), std::string::npos) << t;
  EXPECT_NE(t.find("view version 7"), std::string::npos);
}

TEST(ClientFormat, StatusEventsAndDiagnosis) {
  auto status = nlohmann::json::parse(R"({"node":"n1","cluster":"c","version":"0.1.0",
    "raft":{"role":"leader","term":4,"leader":"n1","commit_index":9,"applied_index":9,
            "voters":["n1","n2","n3"],"learners":[]},
    "view":{"version":3,"alive":2,"dead":1,"left":0},"ring":null})");
  const std::string s = FormatStatus(status);
  EXPECT_NE(s.find("raft      leader, term 4, leader n1, commit 9, applied 9"), std::string::npos)
      << s;
  EXPECT_NE(s.find("voters    n1,n2,n3"), std::string::npos);
  EXPECT_NE(s.find("learners  -"), std::string::npos);
  EXPECT_NE(s.find("2 alive, 1 dead, 0 left"), std::string::npos);

  auto events = nlohmann::json::parse(R"({"events":[
    {"seq":3,"time":"2026-11-26T10:00:00.000Z","kind":"dead","member":"n2","diagnosis":"process_down"}]})");
  EXPECT_EQ(FormatEvents(events), "3  2026-11-26T10:00:00.000Z  dead  n2  process_down\n");

  auto d = nlohmann::json::parse(R"({"member":"n2","class":"partition","probe":"timeout",
    "health":{"load1_per_core":0.5,"memory_available_ratio":0.25,"fullest_filesystem_ratio":0.5,
              "agent_cpu_ratio":0.01},
    "decided_at":"2026-11-26T10:00:00.000Z",
    "observers":[{"id":"n1","phi":12.5,"silence_seconds":0.75,"suspected":true},
                 {"id":"n3","phi":0.1,"silence_seconds":0.05,"suspected":false}]})");
  const std::string t = FormatDiagnosis(d);
  EXPECT_NE(t.find("class       partition"), std::string::npos) << t;
  EXPECT_NE(t.find("memory available 25%"), std::string::npos) << t;
  EXPECT_NE(t.find("n3        0.1   0.050s   no"), std::string::npos) << t;
  EXPECT_EQ(t.find("revised"), std::string::npos) << t;
  // With the group it went silent with, per-observer probes and a revision.
  auto r = nlohmann::json::parse(R"({"member":"n4","class":"partition","probe":"timeout",
    "decided_at":"2026-11-26T11:00:00.000Z","health":null,"group":["n5"],
    "observers":[{"id":"n1","phi":12.5,"silence_seconds":0.75,"suspected":true,"probe":"timeout"}],
    "revision":{"class":"partition","restarted":false,"isolation_episode":true,"heard":["n5"],
                "longest_pause_seconds":0.01,"revised_at":"2026-11-26T11:00:09.000Z"}})");
  const std::string u = FormatDiagnosis(r);
  EXPECT_NE(u.find("silent with n5\n"), std::string::npos) << u;
  EXPECT_NE(u.find("revised     partition at 2026-11-26T11:00:09.000Z (its account: same process, "
                   "longest pause 0.010s, heard n5 while cut off from most)"),
            std::string::npos)
      << u;
  EXPECT_NE(u.find("n1        12.5  0.750s   yes        timeout"), std::string::npos) << u;
  EXPECT_EQ(u.find("detected by"), std::string::npos) << "no path given: " << u;
  // The fast path: the decision's and each observer's detection path.
  auto f = nlohmann::json::parse(R"({"member":"n2","class":"process_down","probe":"refused",
    "path":"fast","decided_at":"2026-11-26T12:00:00.000Z","health":null,"group":[],
    "observers":[{"id":"n1","phi":0.1,"silence_seconds":0.02,"suspected":true,"probe":"refused",
                  "path":"fast"}],"revision":null})");
  const std::string v = FormatDiagnosis(f);
  EXPECT_NE(v.find("detected by fast (its connections closed, its port refused)\n"),
            std::string::npos)
      << v;
  EXPECT_NE(v.find("PROBE    PATH"), std::string::npos) << v;
  EXPECT_NE(v.find("refused  fast"), std::string::npos) << v;
}

TEST(ClientFormat, RingAndLookup) {
  auto ring = nlohmann::json::parse(R"({"version":12,"hash":"ketama","points":320,"replicas":2,
    "members":[{"id":"n1","service":"10.0.0.1:11211","zone":"","weight":1,"points":160,"ownership":0.5125},
               {"id":"n2","service":"10.0.0.2:11211","zone":"b","weight":1,"points":160,"ownership":0.4875}]})");
  const std::string r = FormatRing(ring);
  EXPECT_NE(r.find("ID  SERVICE         ZONE  WEIGHT  POINTS  OWNERSHIP"), std::string::npos) << r;
  EXPECT_NE(r.find("n1  10.0.0.1:11211  -     1       160     51.25%"), std::string::npos) << r;
  EXPECT_NE(r.find("ring version 12, hash ketama, 320 points, 2 replicas"), std::string::npos) << r;

  auto lookup = nlohmann::json::parse(R"({"key":"user:1","version":12,
    "owner":{"id":"n2","service":"10.0.0.2:11211"},
    "replicas":[{"id":"n2","service":"10.0.0.2:11211"},{"id":"n1","service":"10.0.0.1:11211"}]})");
  const std::string l = FormatLookup(lookup);
  EXPECT_NE(l.find("owner     n2 (10.0.0.2:11211)"), std::string::npos) << l;
  EXPECT_NE(l.find("2        n1  10.0.0.1:11211"), std::string::npos) << l;

  auto status = nlohmann::json::parse(R"({"node":"n1","cluster":"c","version":"0.1.0",
    "raft":null,"view":null,"ring":{"version":12,"points":320}})");
  EXPECT_NE(FormatStatus(status).find("ring      version 12, 320 points"), std::string::npos);

  EXPECT_EQ(UrlEncode("user:1 a/b&c=d~_.-"), "user%3A1%20a%2Fb%26c%3Dd~_.-");
}

TEST(ClientFormat, LocksTable) {
  auto locks = nlohmann::json::parse(R"({"version":7,"locks":[
    {"name":"db","holder":"alice@h1:42","member":"n2","token":118,"ttl":null,
     "acquired_at":"2026-12-02T10:00:00.000Z","renewed_at":"2026-12-02T10:00:00.000Z","renewals":0},
    {"name":"nightly","holder":"cron","member":"n4","token":131,"ttl":"30s",
     "acquired_at":"2026-12-02T10:01:00.000Z","renewed_at":"2026-12-02T10:01:20.000Z","renewals":2}]})");
  const std::string t = FormatLocks(locks);
  EXPECT_NE(t.find("NAME     HOLDER       MEMBER  TOKEN  TTL  ACQUIRED"), std::string::npos) << t;
  EXPECT_NE(t.find("db       alice@h1:42  n2      118    -    2026-12-02T10:00:00.000Z"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("nightly  cron         n4      131    30s"), std::string::npos) << t;
  EXPECT_NE(t.find("2 lock(s) held, lock table version 7"), std::string::npos) << t;
}

// `ringwatch lock` refuses what it cannot do before it takes anything.
TEST(LockCommand, UsageProblemsAndAnUnreachableAgent) {
  std::ostringstream out, err;
  ClientOptions o;
  o.http_addr = "127.0.0.1:9";
  o.timeout = std::chrono::milliseconds(2000);
  LockCommandOptions l;
  l.name = "db";
  EXPECT_EQ(RunLock(o, l, out, err), 2) << "no command";
  EXPECT_NE(err.str().find("no COMMAND"), std::string::npos) << err.str();
  l.command = {"true"};
  o.token_file = "/nonexistent/token";
  EXPECT_EQ(RunLock(o, l, out, err), 2);
  o.token_file = "";
  err.str("");
  EXPECT_EQ(RunLock(o, l, out, err), 1);
  EXPECT_NE(err.str().find("cannot reach the agent at 127.0.0.1:9"), std::string::npos)
      << err.str();
}

TEST(ClientCommand, UnreachableAgentIsExit1WithTheAddress) {
  ClientOptions o;
  o.http_addr = "127.0.0.1:9";  // discard port: nothing listens
  o.timeout = std::chrono::milliseconds(2000);
  std::ostringstream out, err;
  EXPECT_EQ(RunClient("members", o, out, err), 1);
  EXPECT_NE(err.str().find("cannot reach the agent at 127.0.0.1:9"), std::string::npos)
      << err.str();
}

TEST(ClientCommand, HttpAddressesWithAndWithoutScheme) {
  HttpAddress a;
  std::string error;
  ASSERT_TRUE(ParseHttpAddress("127.0.0.1:7421", &a, &error)) << error;
  EXPECT_FALSE(a.tls);
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, "7421");
  ASSERT_TRUE(ParseHttpAddress("https://node-1.example:8443/", &a, &error)) << error;
  EXPECT_TRUE(a.tls);
  EXPECT_EQ(a.host, "node-1.example");
  EXPECT_EQ(a.port, "8443");
  EXPECT_EQ(a.authority, "node-1.example:8443");
  ASSERT_TRUE(ParseHttpAddress("https://[::1]:7421", &a, &error)) << error;
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.authority, "[::1]:7421");
  ASSERT_TRUE(ParseHttpAddress("http://localhost", &a, &error)) << error;
  EXPECT_EQ(a.port, "7421");  // the default port
  for (const std::string bad : {"", "ftp://h:1", "https://", "h:0", "h:65536", "h:x", "::1:7421",
                                "https://h:1/v1", "[::1"}) {
    EXPECT_FALSE(ParseHttpAddress(bad, &a, &error)) << bad;
    EXPECT_NE(error.find("--http-addr"), std::string::npos) << bad << ": " << error;
  }
}

TEST(ClientCommand, UsageProblemsAreExit2BeforeAnythingIsSent) {
  std::ostringstream out, err;
  ClientOptions o;
  o.http_addr = "ftp://127.0.0.1:9";
  EXPECT_EQ(RunClient("members", o, out, err), 2);
  o.http_addr = "127.0.0.1:9";
  o.token_file = "/nonexistent/token";
  EXPECT_EQ(RunClient("leave", o, out, err), 2);
  EXPECT_NE(err.str().find("--token-file /nonexistent/token"), std::string::npos) << err.str();
  o.token_file = "";
  o.ca_file = "/etc/hostname";
  EXPECT_EQ(RunClient("members", o, out, err), 2) << "a CA for a plain-HTTP address";
  o.http_addr = "https://127.0.0.1:9";
  o.ca_file = "/nonexistent/ca.pem";
  err.str("");
  EXPECT_EQ(RunClient("members", o, out, err), 2);
  EXPECT_NE(err.str().find("--ca-file"), std::string::npos) << err.str();
}

}  // namespace
}  // namespace ringwatch::agent
