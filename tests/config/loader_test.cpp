#include "config/loader.h"

#include "config/keyring.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

namespace ringwatch::config {
namespace {

using namespace std::chrono_literals;
using ringwatch::testing::TempDir;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Config LoadOk(const std::string& yaml) {
  auto r = LoadConfigString(yaml, "test.yaml", "/etc/ringwatch");
  if (!r.ok()) {
    std::string all;
    for (const auto& e : r.error())
      all += e.ToString() + "\n";
    ADD_FAILURE() << all;
    return {};
  }
  return std::move(r).value();
}

TEST(Loader, MinimalFileGetsContractDefaults) {
  const Config c = LoadOk("node:\n  id: node-1\ncluster:\n  allow_insecure: true\n");
  EXPECT_EQ(c.node.id, "node-1");
  EXPECT_EQ(c.node.service, "node-1");  // defaults to the id
  EXPECT_EQ(c.node.weight, 1u);
  EXPECT_EQ(c.cluster.name, "default");
  EXPECT_EQ(c.cluster.voters, 3u);
  EXPECT_FALSE(c.cluster.leave_on_terminate);  // SIGTERM is a planned restart
  EXPECT_EQ(c.cluster.restart_grace, std::chrono::seconds(30));
  EXPECT_EQ(c.listen.peer.ToString(), "0.0.0.0:7420");
  EXPECT_EQ(c.listen.http.ToString(), "0.0.0.0:7421");
  EXPECT_EQ(c.data_dir, "/var/lib/ringwatch");
  EXPECT_EQ(c.detector.heartbeat_interval, 100ms);
  EXPECT_DOUBLE_EQ(c.detector.phi_threshold, 8.0);
  EXPECT_EQ(c.detector.window, 1000u);
  EXPECT_EQ(c.detector.min_std_dev, 50ms);
  EXPECT_EQ(c.detector.acceptable_pause, 0s);
  EXPECT_EQ(c.detector.timeout, 3s);
  EXPECT_EQ(c.detector.observers, 5u);
  EXPECT_EQ(c.detector.confirmations, 0u);
  EXPECT_EQ(c.detector.rejoin_probation, 2s);
  EXPECT_EQ(c.raft.heartbeat_interval, 100ms);
  EXPECT_EQ(c.raft.election_timeout, 1s);
  EXPECT_EQ(c.raft.snapshot_entries, 1000u);
  EXPECT_TRUE(c.raft.failover_from_detector);
  EXPECT_EQ(c.ring.hash, RingHash::kKetama);
  EXPECT_EQ(c.ring.points, 160u);
  EXPECT_EQ(c.ring.replicas, 3u);
  EXPECT_EQ(c.log.level, LogLevel::kInfo);
  EXPECT_EQ(c.log.format, LogFormat::kText);
  EXPECT_EQ(c.collectors, KnownCollectors());
}

TEST(Loader, ReadsEverySection) {
  TempDir dir;
  dir.Write("secret", "c2VjcmV0LWtleS1vZi0yNC1ieXRlcw==\n");
  dir.Write("token", "t0ken");
  const Config c = LoadOk(R"(
node:
  id: web-01.rack_a
  address: 10.0.0.1
  zone: rack-a
  service: 10.0.0.1:11211
  weight: 3
cluster:
  name: prod
  seeds: ["10.0.0.1:7420", "[fd00::2]:7420", "node-3.example:7420"]
  bootstrap_voters: [node-1, node-2, node-3]
  voters: 5
  secret_file: )" + dir.File("secret") +
                          R"(
  restart_grace: 2m
  leave_on_terminate: true
listen:
  peer: 127.0.0.1:17420
  http: "[::1]:0"
data_dir: data
detector:
  heartbeat_interval: 50ms
  phi_threshold: 9.5
  window: 200
  min_std_dev: 20ms
  acceptable_pause: 1.5s
  timeout: 1s
  observers: 3
  confirmations: 2
  rejoin_probation: 5s
raft:
  heartbeat_interval: 50ms
  election_timeout: 500ms
  snapshot_entries: 5000
  failover_from_detector: false
ring:
  hash: xxh3
  points: 100
  replicas: 2
  file: ring.json
  on_change: /usr/local/bin/reload-proxy
http:
  token_file: )" + dir.File("token") +
                          R"(
  read_timeout: 2s
  idle_timeout: 30s
  max_connections: 10
  max_request_bytes: 4096
log:
  level: debug
  format: json
collectors: [cpu, process]
)");
  EXPECT_EQ(c.node.id, "web-01.rack_a");
  EXPECT_EQ(c.node.address, "10.0.0.1");
  EXPECT_EQ(c.node.zone, "rack-a");
  EXPECT_EQ(c.node.service, "10.0.0.1:11211");
  EXPECT_EQ(c.node.weight, 3u);
  EXPECT_EQ(c.cluster.name, "prod");
  ASSERT_EQ(c.cluster.seeds.size(), 3u);
  EXPECT_EQ(c.cluster.seeds[0], (HostPort{"10.0.0.1", 7420}));
  EXPECT_EQ(c.cluster.seeds[1], (HostPort{"fd00::2", 7420}));
  EXPECT_EQ(c.cluster.seeds[1].ToString(), "[fd00::2]:7420");
  EXPECT_EQ(c.cluster.seeds[2], (HostPort{"node-3.example", 7420}));
  EXPECT_EQ(c.cluster.bootstrap_voters, (std::vector<std::string>{"node-1", "node-2", "node-3"}));
  EXPECT_EQ(c.cluster.voters, 5u);
  EXPECT_EQ(c.cluster.secret_file, dir.File("secret"));
  EXPECT_TRUE(c.cluster.leave_on_terminate);
  EXPECT_EQ(c.cluster.restart_grace, std::chrono::minutes(2));
  EXPECT_EQ(c.listen.peer, (HostPort{"127.0.0.1", 17420}));
  EXPECT_EQ(c.listen.http, (HostPort{"::1", 0}));
  EXPECT_EQ(c.data_dir, "/etc/ringwatch/data");  // relative to the config file's directory
  EXPECT_EQ(c.detector.heartbeat_interval, 50ms);
  EXPECT_DOUBLE_EQ(c.detector.phi_threshold, 9.5);
  EXPECT_EQ(c.detector.window, 200u);
  EXPECT_EQ(c.detector.min_std_dev, 20ms);
  EXPECT_EQ(c.detector.acceptable_pause, 1500ms);
  EXPECT_EQ(c.detector.timeout, 1s);
  EXPECT_EQ(c.detector.observers, 3u);
  EXPECT_EQ(c.detector.confirmations, 2u);
  EXPECT_EQ(c.detector.rejoin_probation, 5s);
  EXPECT_EQ(c.raft.heartbeat_interval, 50ms);
  EXPECT_EQ(c.raft.election_timeout, 500ms);
  EXPECT_EQ(c.raft.snapshot_entries, 5000u);
  EXPECT_FALSE(c.raft.failover_from_detector);
  EXPECT_EQ(c.ring.hash, RingHash::kXxh3);
  EXPECT_EQ(c.ring.points, 100u);
  EXPECT_EQ(c.ring.replicas, 2u);
  EXPECT_EQ(c.ring.file, "/etc/ringwatch/ring.json");
  EXPECT_EQ(c.ring.on_change, "/usr/local/bin/reload-proxy");
  EXPECT_EQ(c.http.token_file, dir.File("token"));
  EXPECT_EQ(c.http.read_timeout, 2s);
  EXPECT_EQ(c.http.idle_timeout, 30s);
  EXPECT_EQ(c.http.max_connections, 10u);
  EXPECT_EQ(c.http.max_request_bytes, 4096u);
  EXPECT_EQ(c.log.level, LogLevel::kDebug);
  EXPECT_EQ(c.log.format, LogFormat::kJson);
  EXPECT_EQ(c.collectors, (std::vector<std::string>{"cpu", "process"}));
}

TEST(Loader, EmptySectionsAndEmptyListsAreAllowed) {
  const Config c = LoadOk(
      "node:\n  id: a\ncluster:\ndetector: {}\ncollectors: []\nlisten:\n  peer: 127.0.0.1:7420\n");
  EXPECT_EQ(c.cluster.name, "default");
  EXPECT_TRUE(c.collectors.empty());
}

// The shipped example config documents every key with its default value: it
// must load, and apart from node.id it must equal the built-in defaults.
TEST(Loader, ShippedExampleIsValidAndShowsTheDefaults) {
  // Where the package puts it: next to the keyring postinst makes.
  TempDir dir;
  dir.Write("keyring", config::GenerateKey() + "\n");
  const std::string file =
      dir.Write("ringwatch.yaml", ReadFile(RINGWATCH_SOURCE_DIR "/config/ringwatch.yaml"));
  auto r = LoadConfigFile(file);
  ASSERT_TRUE(r.ok()) << r.error().front().ToString();
  const Config& example = r.value();
  EXPECT_EQ(example.cluster.secret_file, dir.File("keyring"));
  EXPECT_FALSE(example.cluster.allow_insecure);
  const Config defaults = LoadOk("node:\n  id: node-1\ncluster:\n  allow_insecure: true\n");
  EXPECT_EQ(example.node.id, "node-1");
  EXPECT_EQ(example.node.service, defaults.node.service);
  EXPECT_EQ(example.node.weight, defaults.node.weight);
  EXPECT_EQ(example.cluster.name, defaults.cluster.name);
  EXPECT_EQ(example.cluster.voters, defaults.cluster.voters);
  EXPECT_EQ(example.listen.peer, defaults.listen.peer);
  EXPECT_EQ(example.listen.http, defaults.listen.http);
  EXPECT_EQ(example.data_dir, defaults.data_dir);
  EXPECT_EQ(example.detector.heartbeat_interval, defaults.detector.heartbeat_interval);
  EXPECT_EQ(example.detector.phi_threshold, defaults.detector.phi_threshold);
  EXPECT_EQ(example.detector.window, defaults.detector.window);
  EXPECT_EQ(example.detector.min_std_dev, defaults.detector.min_std_dev);
  EXPECT_EQ(example.detector.acceptable_pause, defaults.detector.acceptable_pause);
  EXPECT_EQ(example.detector.timeout, defaults.detector.timeout);
  EXPECT_EQ(example.detector.observers, defaults.detector.observers);
  EXPECT_EQ(example.detector.confirmations, defaults.detector.confirmations);
  EXPECT_EQ(example.detector.rejoin_probation, defaults.detector.rejoin_probation);
  EXPECT_EQ(example.raft.heartbeat_interval, defaults.raft.heartbeat_interval);
  EXPECT_EQ(example.raft.election_timeout, defaults.raft.election_timeout);
  EXPECT_EQ(example.raft.snapshot_entries, defaults.raft.snapshot_entries);
  EXPECT_EQ(example.raft.failover_from_detector, defaults.raft.failover_from_detector);
  EXPECT_EQ(example.ring.hash, defaults.ring.hash);
  EXPECT_EQ(example.ring.points, defaults.ring.points);
  EXPECT_EQ(example.ring.replicas, defaults.ring.replicas);
  EXPECT_EQ(example.http.read_timeout, defaults.http.read_timeout);
  EXPECT_EQ(example.http.idle_timeout, defaults.http.idle_timeout);
  EXPECT_EQ(example.http.max_connections, defaults.http.max_connections);
  EXPECT_EQ(example.http.max_request_bytes, defaults.http.max_request_bytes);
  EXPECT_EQ(example.log.level, defaults.log.level);
  EXPECT_EQ(example.log.format, defaults.log.format);
  EXPECT_EQ(example.collectors, defaults.collectors);
}

// Every key the loader accepts is set in the example config and documented
// in docs/configuration.md, so neither can fall behind the code.
TEST(Loader, EveryKeyIsInTheExampleAndTheDocs) {
  const std::string example = ReadFile(RINGWATCH_SOURCE_DIR "/config/ringwatch.yaml");
  const std::string docs = ReadFile(RINGWATCH_SOURCE_DIR "/docs/configuration.md");
  ASSERT_FALSE(docs.empty());
  const auto paths = AllKeyPaths();
  EXPECT_GE(paths.size(), 40u);
  for (const auto& path : paths) {
    const std::string leaf = path.substr(path.rfind('.') + 1);
    EXPECT_NE(example.find(leaf + ":"), std::string::npos)
        << path << " missing from config/ringwatch.yaml";
    EXPECT_NE(docs.find("`" + path + "`"), std::string::npos)
        << path << " missing from docs/configuration.md";
  }
}

TEST(Loader, ReportsEveryErrorInDocumentOrder) {
  auto r = LoadConfigString(
      "node:\n  id: a\n  weight: 0\ndetector:\n  window: x\nlog:\n  level: loud\n", "f.yaml");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.error().size(), 3u);
  EXPECT_EQ(r.error()[0].ToString(), "f.yaml:3:11: node.weight: must be between 1 and 1000, got 0");
  EXPECT_EQ(r.error()[1].ToString(),
            "f.yaml:5:11: detector.window: expected an integer, got \"x\"");
  EXPECT_EQ(r.error()[2].ToString(),
            "f.yaml:7:10: log.level: must be one of trace, debug, info, warn, error; got \"loud\"");
}

TEST(Loader, MissingFileIsAnError) {
  auto r = LoadConfigFile("/nonexistent/ringwatch.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().front().ToString(),
            "/nonexistent/ringwatch.yaml: cannot read config file: No such file or directory");
}

TEST(Loader, IdsAndHostPorts) {
  EXPECT_TRUE(IsValidId("a"));
  EXPECT_TRUE(IsValidId(std::string(64, 'x')));
  EXPECT_FALSE(IsValidId(std::string(65, 'x')));
  EXPECT_FALSE(IsValidId(""));
  EXPECT_FALSE(IsValidId("a b"));
  EXPECT_FALSE(IsValidId("a/b"));
  HostPort hp;
  std::string why;
  EXPECT_TRUE(ParseHostPort("[::1]:7420", false, &hp, &why));
  EXPECT_EQ(hp, (HostPort{"::1", 7420}));
  EXPECT_FALSE(ParseHostPort("::1:7420", false, &hp, &why));
  EXPECT_EQ(why, "write IPv6 addresses in brackets, e.g. [::1]:7420");
  EXPECT_FALSE(ParseHostPort("host:0", false, &hp, &why));
  EXPECT_TRUE(ParseHostPort("host:0", true, &hp, &why));
  EXPECT_FALSE(ParseHostPort("host:-1", true, &hp, &why));
  EXPECT_FALSE(ParseHostPort(":80", true, &hp, &why));
}

// --- Malformed configurations: exact position, key path and message. -------

struct BadCase {
  const char* name;
  std::string yaml;
  int line;
  int column;
  std::string path;
  std::string message;
};

std::ostream& operator<<(std::ostream& os, const BadCase& c) {
  return os << c.name;
}

const std::vector<BadCase>& BadCases() {
  static const std::vector<BadCase> cases = {
      {"unknown_top_level_key", "node:\n  id: a\nbogus: 1\n", 3, 1, "bogus",
       "unknown key \"bogus\" (valid keys: cluster, collectors, data_dir, detector, http, listen, "
       "locks, log, node, raft, ring)"},
      {"unknown_key_with_suggestion", "node:\n  id: a\ndetector:\n  heartbeat_intrval: 1s\n", 4, 3,
       "detector.heartbeat_intrval",
       "unknown key \"heartbeat_intrval\" (did you mean \"heartbeat_interval\"?)"},
      {"duration_without_unit", "node:\n  id: a\ndetector:\n  timeout: 100\n", 4, 12,
       "detector.timeout", "missing unit in duration \"100\" (use e.g. 100ms or 2s)"},
      {"duration_unknown_unit", "node:\n  id: a\ndetector:\n  rejoin_probation: 5 parsecs\n", 4, 21,
       "detector.rejoin_probation",
       "unknown unit \" parsecs\" in duration \"5 parsecs\" (valid units: ns, us, ms, s, m, h)"},
      {"duration_negative", "node:\n  id: a\nraft:\n  heartbeat_interval: -1s\n", 4, 23,
       "raft.heartbeat_interval", "negative duration \"-1s\" is not allowed"},
      {"duration_out_of_range", "node:\n  id: a\ndetector:\n  heartbeat_interval: 20s\n", 4, 23,
       "detector.heartbeat_interval", "must be between 1ms and 10s, got 20s"},
      {"duration_as_mapping", "node:\n  id: a\ndetector:\n  timeout: {s: 3}\n", 4, 12,
       "detector.timeout", "expected a duration such as 100ms or 2s, got a mapping"},
      {"integer_given_quoted", "node:\n  id: a\n  weight: \"3\"\n", 3, 11, "node.weight",
       "expected an integer, got the quoted string \"3\""},
      {"integer_given_fraction", "node:\n  id: a\ndetector:\n  window: 1.5\n", 4, 11,
       "detector.window", "expected an integer, got \"1.5\""},
      {"integer_out_of_range", "node:\n  id: a\n  weight: 0\n", 3, 11, "node.weight",
       "must be between 1 and 1000, got 0"},
      {"integer_overflow", "node:\n  id: a\nraft:\n  snapshot_entries: 99999999999999999999999\n",
       4, 21, "raft.snapshot_entries",
       "must be between 10 and 100000000, got 99999999999999999999999"},
      {"number_not_numeric", "node:\n  id: a\ndetector:\n  phi_threshold: high\n", 4, 18,
       "detector.phi_threshold", "expected a number, got \"high\""},
      {"number_out_of_range", "node:\n  id: a\ndetector:\n  phi_threshold: 0\n", 4, 18,
       "detector.phi_threshold", "must be between 0.5 and 100, got 0"},
      {"bool_as_yes", "node:\n  id: a\ncluster:\n  leave_on_terminate: yes\n", 4, 23,
       "cluster.leave_on_terminate", "expected true or false, got \"yes\""},
      {"string_given_mapping", "node:\n  id: {a: 1}\n", 2, 7, "node.id",
       "expected a string, got a mapping"},
      {"string_given_null", "node:\n  id:\n", 2, 3, "node.id",
       "expected a string, got nothing (null)"},
      {"bad_id_space", "node:\n  id: node 1\n", 2, 7, "node.id",
       "invalid value \"node 1\": use 1 to 64 of A-Z a-z 0-9 . _ -"},
      {"bad_id_too_long", "node:\n  id: " + std::string(65, 'n') + "\n", 2, 7, "node.id",
       "invalid value \"" + std::string(65, 'n') + "\": use 1 to 64 of A-Z a-z 0-9 . _ -"},
      {"bad_cluster_name", "node:\n  id: a\ncluster:\n  name: \"prod/eu\"\n", 4, 9, "cluster.name",
       "invalid value \"prod/eu\": use 1 to 64 of A-Z a-z 0-9 . _ -"},
      {"missing_node_id", "node:\n  zone: a\n", 2, 3, "node.id",
       "required key is missing (the member id of this agent, e.g. node-1)"},
      {"missing_node_section", "cluster:\n  name: x\n", 1, 1, "node.id",
       "required key is missing (the member id of this agent, e.g. node-1)"},
      {"duplicate_key", "node:\n  id: a\n  id: b\n", 3, 3, "node.id",
       "duplicate key \"id\" (first set at line 2)"},
      {"duplicate_section", "node:\n  id: a\nlog:\n  level: info\nlog:\n  level: debug\n", 5, 1,
       "log", "duplicate key \"log\" (first set at line 3)"},
      {"voters_even", "node:\n  id: a\ncluster:\n  voters: 4\n", 4, 11, "cluster.voters",
       "must be 1, 3, 5 or 7 (an odd voter count), got 4"},
      {"voters_too_many", "node:\n  id: a\ncluster:\n  voters: 9\n", 4, 11, "cluster.voters",
       "must be between 1 and 7, got 9"},
      {"seeds_not_a_list", "node:\n  id: a\ncluster:\n  seeds: 10.0.0.1:7420\n", 4, 10,
       "cluster.seeds", "expected a list, got \"10.0.0.1:7420\""},
      {"seed_bad_port", "node:\n  id: a\ncluster:\n  seeds: [\"10.0.0.1:99999\"]\n", 4, 11,
       "cluster.seeds[0]", "invalid seed \"10.0.0.1:99999\": invalid port \"99999\" (1-65535)"},
      {"seed_missing_port",
       "node:\n  id: a\ncluster:\n  seeds:\n    - 10.0.0.1:7420\n    - 10.0.0.2\n", 6, 7,
       "cluster.seeds[1]", "invalid seed \"10.0.0.2\": expected host:port"},
      {"bootstrap_voter_duplicate", "node:\n  id: a\ncluster:\n  bootstrap_voters: [n1, n2, n1]\n",
       4, 30, "cluster.bootstrap_voters[2]",
       "duplicate entry \"n1\" (also at cluster.bootstrap_voters[0])"},
      {"listen_without_port", "node:\n  id: a\nlisten:\n  http: localhost\n", 4, 9, "listen.http",
       "invalid listen address \"localhost\": expected host:port"},
      {"listen_same_as_peer",
       "node:\n  id: a\nlisten:\n  peer: 127.0.0.1:7000\n  http: 127.0.0.1:7000\n", 5, 9,
       "listen.http", "listen.http must differ from listen.peer (127.0.0.1:7000)"},
      {"timeout_not_above_heartbeat",
       "node:\n  id: a\ndetector:\n  heartbeat_interval: 1s\n  timeout: 500ms\n", 5, 12,
       "detector.timeout",
       "detector.timeout (500ms) must be longer than detector.heartbeat_interval (1s)"},
      {"heartbeat_above_default_timeout", "node:\n  id: a\ndetector:\n  heartbeat_interval: 5s\n",
       4, 23, "detector.heartbeat_interval",
       "detector.timeout (3s) must be longer than detector.heartbeat_interval (5s)"},
      {"confirmations_above_observers",
       "node:\n  id: a\ndetector:\n  observers: 3\n  confirmations: 4\n", 5, 18,
       "detector.confirmations", "detector.confirmations (4) cannot exceed detector.observers (3)"},
      {"election_timeout_too_short", "node:\n  id: a\nraft:\n  election_timeout: 200ms\n", 4, 21,
       "raft.election_timeout",
       "raft.election_timeout (200ms) must be at least 3 x raft.heartbeat_interval (100ms)"},
      {"ring_hash_unknown", "node:\n  id: a\nring:\n  hash: md5\n", 4, 9, "ring.hash",
       "must be one of ketama, xxh3; got \"md5\""},
      {"ketama_points_not_multiple_of_4", "node:\n  id: a\nring:\n  points: 150\n", 4, 11,
       "ring.points",
       "ring.points must be a multiple of 4 with ring.hash ketama (4 points per MD5 digest), got "
       "150"},
      {"log_level_unknown", "node:\n  id: a\nlog:\n  level: verbose\n", 4, 10, "log.level",
       "must be one of trace, debug, info, warn, error; got \"verbose\""},
      {"log_format_unknown", "node:\n  id: a\nlog:\n  format: xml\n", 4, 11, "log.format",
       "must be one of text, json; got \"xml\""},
      {"collector_unknown", "node:\n  id: a\ncollectors: [cpu, gpu]\n", 3, 19, "collectors[1]",
       "unknown collector \"gpu\" (known: cpu, memory, load, filesystem, network, process)"},
      {"collector_duplicate", "node:\n  id: a\ncollectors: [cpu, load, cpu]\n", 3, 25,
       "collectors[2]", "duplicate entry \"cpu\" (also at collectors[0])"},
      {"tls_cert_without_key", "node:\n  id: a\nhttp:\n  tls:\n    cert_file: /dev/null\n", 5, 16,
       "http.tls.cert_file", "http.tls.cert_file and http.tls.key_file must be set together"},
      {"secret_file_unreadable", "node:\n  id: a\ncluster:\n  secret_file: /nonexistent/secret\n",
       4, 16, "cluster.secret_file",
       "cannot read \"/nonexistent/secret\": No such file or directory"},
      {"secret_file_empty", "node:\n  id: a\ncluster:\n  secret_file: /dev/null\n", 4, 16,
       "cluster.secret_file", "\"/dev/null\" is empty"},
      {"secret_file_not_a_keyring", "node:\n  id: a\ncluster:\n  secret_file: /proc/self/cmdline\n",
       4, 16, "cluster.secret_file",
       "\"/proc/self/cmdline\", line 1: not a base64 key (make one with `ringwatch keygen`)"},
      {"section_not_a_mapping", "node:\n  id: a\ndetector: 5\n", 3, 11, "detector",
       "expected a mapping, got \"5\""},
      {"data_dir_empty", "node:\n  id: a\ndata_dir: \"\"\n", 3, 11, "data_dir",
       "must not be empty"},
      {"top_level_list", "- node\n- id\n", 1, 1, "",
       "the top level must be a mapping of sections, got a list"},
      // Found by the config fuzz target: yaml-cpp 0.7 never returns from these.
      {"top_level_tag_with_comma", "# c\n !a,b :d\n", 2, 2, "",
       "the top level must be a mapping of sections, starting with a plain key (as `node:`)"},
      {"top_level_comma", ",\n", 1, 1, "",
       "a line may not start with ',' (write flow lists on one line)"},
      {"top_level_quoted_then_comma", "\"a\" , b\n", 1, 1, "",
       "the top level must be a mapping of sections, starting with a plain key (as `node:`)"},
      {"line_starting_with_comma", "  node:\n    id: a\n,\n", 3, 1, "",
       "a line may not start with ',' (write flow lists on one line)"},
      {"second_document_tagged", "node:\n  id: a\n--- !x,y\n", 3, 5, "",
       "the top level must be a mapping of sections, starting with a plain key (as `node:`)"},
      {"yaml_syntax_error", "node:\n  id: [a, b\nlog: {}\n", 3, 4, "",
       "YAML syntax error: end of sequence flow not found"},
      {"two_documents", "node:\n  id: a\n---\nnode:\n  id: b\n", 4, 1, "",
       "expected one YAML document, found 2"},
  };
  return cases;
}

class BadConfig : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadConfig, NamesLineColumnAndKeyPath) {
  const BadCase& c = GetParam();
  auto r = LoadConfigString(c.yaml, "bad.yaml");
  ASSERT_FALSE(r.ok()) << "accepted:\n" << c.yaml;
  ASSERT_EQ(r.error().size(), 1u) << r.error()[0].ToString() << "\n" << r.error()[1].ToString();
  const ConfigError& e = r.error().front();
  EXPECT_EQ(e.file, "bad.yaml");
  EXPECT_EQ(e.line, c.line);
  EXPECT_EQ(e.column, c.column);
  EXPECT_EQ(e.path, c.path);
  EXPECT_EQ(e.message, c.message);
}

// The same files through the binary: the message on stderr and exit code 2,
// for both check-config and agent.
TEST_P(BadConfig, CheckConfigAndAgentExitWithCode2) {
  const BadCase& c = GetParam();
  TempDir dir;
  const std::string file = dir.Write("bad.yaml", c.yaml);
  const std::string expected = file + ":" + std::to_string(c.line) + ":" +
                               std::to_string(c.column) + ": " +
                               (c.path.empty() ? "" : c.path + ": ") + c.message + "\n";
  for (const char* cmd : {"check-config", "agent"}) {
    auto r = ringwatch::testing::Run({RINGWATCH_BINARY, cmd, "-c", file}, dir.File(cmd));
    EXPECT_EQ(r.exit_code, 2) << cmd << "\n" << r.err;
    EXPECT_EQ(r.err, expected + file + ": 1 error(s)\n") << cmd;
  }
}

INSTANTIATE_TEST_SUITE_P(Malformed, BadConfig, ::testing::ValuesIn(BadCases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(BadConfigCases, AtLeast25) {
  EXPECT_GE(BadCases().size(), 25u);
}

}  // namespace
}  // namespace ringwatch::config
