#include "config/loader.h"

#include "core/ids.h"

#include "config/keyring.h"
#include "core/file.h"

#include <boost/asio/ip/address.hpp>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace ringwatch::config {
namespace {

namespace fs = std::filesystem;

// Where a value was written: 1-based line and column.
struct Position {
  int line = 1;
  int column = 1;
};

Position PositionOf(const YAML::Mark& mark) {
  if (mark.is_null()) return {};
  return {mark.line + 1, mark.column + 1};
}

// One key of a mapping with its value. A null value (`key:` with nothing after
// it) has no useful mark of its own, so errors point at the key instead.
struct Entry {
  YAML::Node key;
  YAML::Node value;
  std::string path;
  Position where() const { return PositionOf(value.IsNull() ? key.Mark() : value.Mark()); }
};

std::size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "nothing (null)";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      return (node.Tag() == "!" ? "the quoted string \"" : "\"") + node.Scalar() + "\"";
    default:
      return "an undefined value";
  }
}

bool IsPlainScalar(const YAML::Node& node) {
  return node.IsScalar() && node.Tag() != "!";
}

std::string Quote(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

std::string JoinPath(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

// Every key the loader accepts, by section path ("" is the top level). The
// single source of the schema: Mapping() checks against it and AllKeyPaths()
// lists it (tests check that docs and the example config cover every key).
const std::map<std::string, std::set<std::string>>& Schema() {
  static const std::map<std::string, std::set<std::string>> schema{
      {"",
       {"node", "cluster", "listen", "data_dir", "detector", "raft", "ring", "http", "locks", "log",
        "collectors"}},
      {"node", {"id", "address", "zone", "service", "weight"}},
      {"cluster",
       {"name", "seeds", "bootstrap_voters", "voters", "secret_file", "restart_grace",
        "leave_on_terminate", "allow_insecure"}},
      {"listen", {"peer", "http"}},
      {"detector",
       {"heartbeat_interval", "phi_threshold", "window", "min_std_dev", "acceptable_pause",
        "timeout", "observers", "confirmations", "rejoin_probation"}},
      {"raft",
       {"heartbeat_interval", "election_timeout", "snapshot_entries", "failover_from_detector"}},
      {"ring", {"hash", "points", "replicas", "file", "on_change"}},
      {"http",
       {"token_file", "tls", "read_timeout", "idle_timeout", "max_connections",
        "max_request_bytes"}},
      {"http.tls", {"cert_file", "key_file", "client_ca_file"}},
      {"locks", {"max", "default_ttl"}},
      {"log", {"level", "format"}},
  };
  return schema;
}

class Parser {
 public:
  Parser(std::string file, fs::path base_dir)
      : file_(std::move(file)), base_dir_(std::move(base_dir)) {}

  std::vector<ConfigError> TakeErrors() {
    std::stable_sort(errors_.begin(), errors_.end(),
                     [](const ConfigError& a, const ConfigError& b) {
                       return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                     });
    return std::move(errors_);
  }

  void Fail(Position at, std::string path, std::string message) {
    errors_.push_back(ConfigError{file_, at.line, at.column, std::move(path), std::move(message)});
  }

  Config Parse(const YAML::Node& root) {
    Config c;
    if (!root.IsNull() && !root.IsMap()) {
      Fail(PositionOf(root.Mark()), "",
           "the top level must be a mapping of sections, got " + Describe(root));
      return c;
    }
    auto top = Mapping(root, "");
    ParseNode(top, c.node);
    if (auto* e = Find(top, "cluster")) ParseCluster(*e, c.cluster);
    if (auto* e = Find(top, "listen")) ParseListen(*e, c.listen);
    if (auto* e = Find(top, "data_dir")) {
      if (String(*e, &c.data_dir) && c.data_dir.empty())
        Fail(e->where(), e->path, "must not be empty");
    }
    if (auto* e = Find(top, "detector")) ParseDetector(*e, c.detector);
    if (auto* e = Find(top, "raft")) ParseRaft(*e, c.raft);
    if (auto* e = Find(top, "ring")) ParseRing(*e, c.ring);
    if (auto* e = Find(top, "http")) ParseHttp(*e, c.http);
    if (auto* e = Find(top, "locks")) ParseLocks(*e, c.locks);
    if (auto* e = Find(top, "log")) ParseLog(*e, c.log);
    if (auto* e = Find(top, "collectors")) ParseCollectors(*e, c.collectors);
    CrossChecks(c);
    // Last, and only once the rest of the file is valid: one typo elsewhere
    // should not be drowned by it (and a file that names no keyring because
    // it is incomplete is told what is wrong first).
    if (errors_.empty()) CheckSecure(c);
    ResolvePaths(c);
    return c;
  }

  void CheckSecure(const Config& c) {
    if (!c.cluster.secret_file.empty() || c.cluster.allow_insecure ||
        IsLoopbackHost(c.listen.peer.host))
      return;
    const Entry* e = SetEntry("listen.peer");
    Fail(e != nullptr ? e->where() : Position{}, "listen.peer",
         "peer traffic on " + c.listen.peer.ToString() +
             " (not loopback) would be unauthenticated: set cluster.secret_file to a keyring "
             "(`ringwatch keygen > /etc/ringwatch/keyring`), or cluster.allow_insecure: true "
             "on a network you trust");
  }

 private:
  using Map = std::map<std::string, Entry>;

  static const Entry* Find(const Map& m, const std::string& key) {
    auto it = m.find(key);
    return it == m.end() ? nullptr : &it->second;
  }

  // Reads a mapping, reporting unknown and duplicate keys. A null node (an
  // absent or empty section) is an empty mapping.
  Map Mapping(const YAML::Node& node, const std::string& path) {
    const std::set<std::string>& allowed = Schema().at(path);
    Map out;
    if (node.IsNull()) return out;
    for (auto it = node.begin(); it != node.end(); ++it) {
      // Copies: it-> yields a proxy whose members die with the expression.
      const YAML::Node k = it->first;
      const YAML::Node v = it->second;
      const Position kpos = PositionOf(k.Mark());
      if (!k.IsScalar()) {
        Fail(kpos, path, "keys must be plain names, got " + Describe(k));
        continue;
      }
      const std::string key = k.Scalar();
      const std::string kpath = JoinPath(path, key);
      if (!allowed.contains(key)) {
        std::string msg = "unknown key " + Quote(key);
        std::string best;
        std::size_t best_d = 3;  // suggest only close matches
        for (const auto& a : allowed) {
          const std::size_t d = EditDistance(key, a);
          if (d < best_d) best_d = d, best = a;
        }
        if (!best.empty()) {
          msg += " (did you mean " + Quote(best) + "?)";
        } else {
          std::string list;
          for (const auto& a : allowed)
            list += (list.empty() ? "" : ", ") + a;
          msg += " (valid keys: " + list + ")";
        }
        Fail(kpos, kpath, msg);
        continue;
      }
      if (auto prev = out.find(key); prev != out.end()) {
        Fail(kpos, kpath,
             "duplicate key " + Quote(key) + " (first set at line " +
                 std::to_string(PositionOf(prev->second.key.Mark()).line) + ")");
        continue;
      }
      out.emplace(key, Entry{k, v, kpath});
      set_[kpath] = Entry{k, v, kpath};
    }
    return out;
  }

  Map Section(const Entry& e) {
    if (!e.value.IsNull() && !e.value.IsMap()) {
      Fail(e.where(), e.path, "expected a mapping, got " + Describe(e.value));
      return {};
    }
    return Mapping(e.value, e.path);
  }

  bool String(const Entry& e, std::string* out) {
    if (!e.value.IsScalar()) {
      Fail(e.where(), e.path, "expected a string, got " + Describe(e.value));
      return false;
    }
    *out = e.value.Scalar();
    return true;
  }

  template <typename T>
  bool Integer(const Entry& e, int64_t min, int64_t max, T* out) {
    if (!IsPlainScalar(e.value)) {
      Fail(e.where(), e.path, "expected an integer, got " + Describe(e.value));
      return false;
    }
    const std::string& s = e.value.Scalar();
    int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc::result_out_of_range) {
      Fail(e.where(), e.path,
           "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + s);
      return false;
    }
    if (ec != std::errc() || end != s.data() + s.size()) {
      Fail(e.where(), e.path, "expected an integer, got " + Describe(e.value));
      return false;
    }
    if (v < min || v > max) {
      Fail(e.where(), e.path,
           "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + s);
      return false;
    }
    *out = static_cast<T>(v);
    return true;
  }

  bool Number(const Entry& e, double min, double max, double* out) {
    if (!IsPlainScalar(e.value)) {
      Fail(e.where(), e.path, "expected a number, got " + Describe(e.value));
      return false;
    }
    const std::string& s = e.value.Scalar();
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || errno != 0 || !std::isfinite(v)) {
      Fail(e.where(), e.path, "expected a number, got " + Describe(e.value));
      return false;
    }
    if (v < min || v > max) {
      std::ostringstream msg;
      msg << "must be between " << min << " and " << max << ", got " << s;
      Fail(e.where(), e.path, msg.str());
      return false;
    }
    *out = v;
    return true;
  }

  bool Bool(const Entry& e, bool* out) {
    if (IsPlainScalar(e.value) && (e.value.Scalar() == "true" || e.value.Scalar() == "false")) {
      *out = e.value.Scalar() == "true";
      return true;
    }
    Fail(e.where(), e.path, "expected true or false, got " + Describe(e.value));
    return false;
  }

  bool DurationIn(const Entry& e, Duration min, Duration max, Duration* out) {
    if (!e.value.IsScalar()) {
      Fail(e.where(), e.path, "expected a duration such as 100ms or 2s, got " + Describe(e.value));
      return false;
    }
    core::DurationParseError err;
    auto d = core::ParseDuration(e.value.Scalar(), &err);
    if (!d) {
      Fail(e.where(), e.path, err.message);
      return false;
    }
    if (*d < min || *d > max) {
      Fail(e.where(), e.path,
           "must be between " + core::FormatDuration(min) + " and " + core::FormatDuration(max) +
               ", got " + e.value.Scalar());
      return false;
    }
    *out = *d;
    return true;
  }

  template <typename E>
  bool Enum(const Entry& e, const std::vector<std::pair<std::string, E>>& choices, E* out) {
    std::string s;
    if (!String(e, &s)) return false;
    std::string list;
    for (const auto& [name, value] : choices) {
      if (name == s) {
        *out = value;
        return true;
      }
      list += (list.empty() ? "" : ", ") + name;
    }
    Fail(e.where(), e.path, "must be one of " + list + "; got " + Quote(s));
    return false;
  }

  // A list of strings; `check` validates one element and returns an error message or "".
  template <typename Check>
  bool StringList(const Entry& e, std::vector<std::string>* out, Check check) {
    if (!e.value.IsSequence()) {
      Fail(e.where(), e.path, "expected a list, got " + Describe(e.value));
      return false;
    }
    std::vector<std::string> items;
    std::map<std::string, std::size_t> seen;
    bool ok = true;
    for (std::size_t i = 0; i < e.value.size(); ++i) {
      const YAML::Node item = e.value[i];
      const std::string ipath = e.path + "[" + std::to_string(i) + "]";
      const Position at = PositionOf(item.IsNull() ? e.value.Mark() : item.Mark());
      if (!item.IsScalar()) {
        Fail(at, ipath, "expected a string, got " + Describe(item));
        ok = false;
        continue;
      }
      const std::string& s = item.Scalar();
      if (std::string why = check(s); !why.empty()) {
        Fail(at, ipath, why);
        ok = false;
        continue;
      }
      if (auto [it, inserted] = seen.emplace(s, i); !inserted) {
        Fail(at, ipath,
             "duplicate entry " + Quote(s) + " (also at " + e.path + "[" +
                 std::to_string(it->second) + "])");
        ok = false;
        continue;
      }
      items.push_back(s);
    }
    if (ok) *out = std::move(items);
    return ok;
  }

  void RequireId(const Entry& e, std::string* out, bool allow_empty) {
    std::string s;
    if (!String(e, &s)) return;
    if (s.empty() && allow_empty) {
      *out = s;
      return;
    }
    if (!IsValidId(s)) {
      Fail(e.where(), e.path, "invalid value " + Quote(s) + ": use 1 to 64 of A-Z a-z 0-9 . _ -");
      return;
    }
    *out = s;
  }

  void ParseNode(const Map& top, NodeConfig& n) {
    const Entry* section = Find(top, "node");
    if (section == nullptr) {
      Fail({1, 1}, "node.id", "required key is missing (the member id of this agent, e.g. node-1)");
      return;
    }
    auto m = Section(*section);
    if (auto* e = Find(m, "id")) {
      RequireId(*e, &n.id, false);
    } else if (section->value.IsMap() || section->value.IsNull()) {
      Fail(section->where(), "node.id",
           "required key is missing (the member id of this agent, e.g. node-1)");
    }
    if (auto* e = Find(m, "address")) {
      std::string s;
      if (String(*e, &s)) {
        HostPort hp;
        std::string why;
        const std::string probe = s.find(':') != std::string::npos ? "[" + s + "]:1" : s + ":1";
        if (!s.empty() && !ParseHostPort(probe, false, &hp, &why)) {
          Fail(e->where(), e->path, "invalid address " + Quote(s) + ": " + why);
        } else {
          n.address = hp.host;
        }
      }
    }
    if (auto* e = Find(m, "zone")) RequireId(*e, &n.zone, true);
    if (auto* e = Find(m, "service")) {
      std::string s;
      if (String(*e, &s)) {
        if (s.size() > 255) {
          Fail(e->where(), e->path, "must be at most 255 characters");
        } else {
          n.service = s;
        }
      }
    }
    if (auto* e = Find(m, "weight")) Integer(*e, 1, 1000, &n.weight);
    if (n.service.empty()) n.service = n.id;
  }

  void ParseCluster(const Entry& section, ClusterConfig& c) {
    auto m = Section(section);
    if (auto* e = Find(m, "name")) RequireId(*e, &c.name, false);
    if (auto* e = Find(m, "seeds")) {
      std::vector<std::string> seeds;
      if (StringList(*e, &seeds, [](const std::string& s) {
            HostPort hp;
            std::string why;
            return ParseHostPort(s, false, &hp, &why) ? std::string()
                                                      : "invalid seed " + Quote(s) + ": " + why;
          })) {
        c.seeds.clear();
        for (const auto& s : seeds) {
          HostPort hp;
          std::string why;
          ParseHostPort(s, false, &hp, &why);
          c.seeds.push_back(hp);
        }
      }
    }
    if (auto* e = Find(m, "bootstrap_voters")) {
      if (StringList(*e, &c.bootstrap_voters, [](const std::string& s) {
            return IsValidId(s)
                       ? std::string()
                       : "invalid member id " + Quote(s) + ": use 1 to 64 of A-Z a-z 0-9 . _ -";
          })) {
        if (c.bootstrap_voters.size() > 7) {
          Fail(e->where(), e->path,
               "at most 7 bootstrap voters, got " + std::to_string(c.bootstrap_voters.size()));
        }
      }
    }
    if (auto* e = Find(m, "voters")) {
      uint32_t v = 0;
      if (Integer(*e, 1, 7, &v)) {
        if (v % 2 == 0) {
          Fail(e->where(), e->path,
               "must be 1, 3, 5 or 7 (an odd voter count), got " + std::to_string(v));
        } else {
          c.voters = v;
        }
      }
    }
    if (auto* e = Find(m, "secret_file")) String(*e, &c.secret_file);
    if (auto* e = Find(m, "restart_grace")) DurationIn(*e, 0s, 24h, &c.restart_grace);
    if (auto* e = Find(m, "leave_on_terminate")) Bool(*e, &c.leave_on_terminate);
    if (auto* e = Find(m, "allow_insecure")) Bool(*e, &c.allow_insecure);
  }

  void ListenAddress(const Entry& e, HostPort* out) {
    std::string s;
    if (!String(e, &s)) return;
    std::string why;
    HostPort hp;
    if (!ParseHostPort(s, true, &hp, &why)) {
      Fail(e.where(), e.path, "invalid listen address " + Quote(s) + ": " + why);
      return;
    }
    *out = hp;
  }

  void ParseListen(const Entry& section, ListenConfig& l) {
    auto m = Section(section);
    if (auto* e = Find(m, "peer")) ListenAddress(*e, &l.peer);
    if (auto* e = Find(m, "http")) ListenAddress(*e, &l.http);
  }

  void ParseDetector(const Entry& section, DetectorConfig& d) {
    auto m = Section(section);
    if (auto* e = Find(m, "heartbeat_interval")) DurationIn(*e, 1ms, 10s, &d.heartbeat_interval);
    if (auto* e = Find(m, "phi_threshold")) Number(*e, 0.5, 100.0, &d.phi_threshold);
    if (auto* e = Find(m, "window")) Integer(*e, 2, 100000, &d.window);
    if (auto* e = Find(m, "min_std_dev")) DurationIn(*e, 1ms, 60s, &d.min_std_dev);
    if (auto* e = Find(m, "acceptable_pause")) DurationIn(*e, 0s, 10min, &d.acceptable_pause);
    if (auto* e = Find(m, "timeout")) DurationIn(*e, 1ms, 1h, &d.timeout);
    if (auto* e = Find(m, "observers")) Integer(*e, 1, 64, &d.observers);
    if (auto* e = Find(m, "confirmations")) Integer(*e, 0, 64, &d.confirmations);
    if (auto* e = Find(m, "rejoin_probation")) DurationIn(*e, 0s, 1h, &d.rejoin_probation);
  }

  void ParseRaft(const Entry& section, RaftConfig& r) {
    auto m = Section(section);
    if (auto* e = Find(m, "heartbeat_interval")) DurationIn(*e, 1ms, 10s, &r.heartbeat_interval);
    if (auto* e = Find(m, "election_timeout")) DurationIn(*e, 10ms, 1min, &r.election_timeout);
    if (auto* e = Find(m, "snapshot_entries")) Integer(*e, 10, 100'000'000, &r.snapshot_entries);
    if (auto* e = Find(m, "failover_from_detector")) Bool(*e, &r.failover_from_detector);
  }

  void ParseRing(const Entry& section, RingConfig& r) {
    auto m = Section(section);
    if (auto* e = Find(m, "hash")) {
      Enum<RingHash>(*e, {{"ketama", RingHash::kKetama}, {"xxh3", RingHash::kXxh3}}, &r.hash);
    }
    if (auto* e = Find(m, "points")) Integer(*e, 1, 10000, &r.points);
    if (auto* e = Find(m, "replicas")) Integer(*e, 1, 16, &r.replicas);
    if (auto* e = Find(m, "file")) String(*e, &r.file);
    if (auto* e = Find(m, "on_change")) String(*e, &r.on_change);
  }

  void ParseHttp(const Entry& section, HttpConfig& h) {
    auto m = Section(section);
    if (auto* e = Find(m, "token_file")) String(*e, &h.token_file);
    if (auto* e = Find(m, "tls")) {
      auto t = Section(*e);
      if (auto* f = Find(t, "cert_file")) String(*f, &h.tls.cert_file);
      if (auto* f = Find(t, "key_file")) String(*f, &h.tls.key_file);
      if (auto* f = Find(t, "client_ca_file")) String(*f, &h.tls.client_ca_file);
    }
    if (auto* e = Find(m, "read_timeout")) DurationIn(*e, 10ms, 10min, &h.read_timeout);
    if (auto* e = Find(m, "idle_timeout")) DurationIn(*e, 10ms, 1h, &h.idle_timeout);
    if (auto* e = Find(m, "max_connections")) Integer(*e, 1, 100000, &h.max_connections);
    if (auto* e = Find(m, "max_request_bytes"))
      Integer(*e, 1024, 64 * 1024 * 1024, &h.max_request_bytes);
  }

  void ParseLocks(const Entry& section, LocksConfig& l) {
    auto m = Section(section);
    if (auto* e = Find(m, "max")) Integer(*e, 1, 65536, &l.max);
    if (auto* e = Find(m, "default_ttl")) {
      if (DurationIn(*e, 0s, 24h, &l.default_ttl) && l.default_ttl > 0s && l.default_ttl < 1s)
        Fail(e->where(), e->path,
             "must be 0s (a lock lives as long as its member) or at least 1s, got " +
                 core::FormatDuration(
                     std::chrono::duration_cast<std::chrono::milliseconds>(l.default_ttl)));
    }
  }

  void ParseLog(const Entry& section, LogConfig& l) {
    auto m = Section(section);
    if (auto* e = Find(m, "level")) {
      Enum<LogLevel>(*e,
                     {{"trace", LogLevel::kTrace},
                      {"debug", LogLevel::kDebug},
                      {"info", LogLevel::kInfo},
                      {"warn", LogLevel::kWarn},
                      {"error", LogLevel::kError}},
                     &l.level);
    }
    if (auto* e = Find(m, "format")) {
      Enum<LogFormat>(*e, {{"text", LogFormat::kText}, {"json", LogFormat::kJson}}, &l.format);
    }
  }

  void ParseCollectors(const Entry& e, std::vector<std::string>& out) {
    StringList(e, &out, [](const std::string& s) {
      const auto& known = KnownCollectors();
      if (std::find(known.begin(), known.end(), s) != known.end()) return std::string();
      std::string list;
      for (const auto& k : known)
        list += (list.empty() ? "" : ", ") + k;
      return "unknown collector " + Quote(s) + " (known: " + list + ")";
    });
  }

  // Position of an explicitly set key, if it was set.
  const Entry* SetEntry(const std::string& path) const {
    auto it = set_.find(path);
    return it == set_.end() ? nullptr : &it->second;
  }

  // Reports a rule between two keys at whichever of them the file set (the
  // later one when both), so the message points at something the operator wrote.
  void FailRule(const std::string& a, const std::string& b, const std::string& message) {
    const Entry* ea = SetEntry(a);
    const Entry* eb = SetEntry(b);
    if (ea == nullptr && eb == nullptr) return;  // defaults always satisfy the rules
    const Entry* at = eb != nullptr ? eb : ea;
    Fail(at->where(), at->path, message);
  }

  // `must_hold_text`: the file is a secret or token, useless when blank.
  void CheckReadable(const std::string& path_key, const std::string& file,
                     bool must_hold_text = false) {
    if (file.empty()) return;
    const Entry* e = SetEntry(path_key);
    if (e == nullptr) return;
    const fs::path p = Resolve(file);
    std::string why;
    const auto content = core::ReadFile(p.string(), &why);
    if (!content) {
      Fail(e->where(), e->path, "cannot read " + Quote(p.string()) + ": " + why);
    } else if (must_hold_text && core::Trim(*content).empty()) {
      Fail(e->where(), e->path, Quote(p.string()) + " is empty");
    }
  }

  void CrossChecks(const Config& c) {
    const auto& d = c.detector;
    if (d.timeout <= d.heartbeat_interval) {
      FailRule("detector.heartbeat_interval", "detector.timeout",
               "detector.timeout (" + core::FormatDuration(d.timeout) +
                   ") must be longer than detector.heartbeat_interval (" +
                   core::FormatDuration(d.heartbeat_interval) + ")");
    }
    if (d.confirmations > d.observers) {
      FailRule("detector.observers", "detector.confirmations",
               "detector.confirmations (" + std::to_string(d.confirmations) +
                   ") cannot exceed detector.observers (" + std::to_string(d.observers) + ")");
    }
    const auto& r = c.raft;
    if (r.election_timeout < 3 * r.heartbeat_interval) {
      FailRule("raft.heartbeat_interval", "raft.election_timeout",
               "raft.election_timeout (" + core::FormatDuration(r.election_timeout) +
                   ") must be at least 3 x raft.heartbeat_interval (" +
                   core::FormatDuration(r.heartbeat_interval) + ")");
    }
    if (c.ring.hash == RingHash::kKetama && c.ring.points % 4 != 0) {
      FailRule("ring.hash", "ring.points",
               "ring.points must be a multiple of 4 with ring.hash ketama (4 points per MD5 "
               "digest), got " +
                   std::to_string(c.ring.points));
    }
    const auto& tls = c.http.tls;
    if (tls.cert_file.empty() != tls.key_file.empty()) {
      FailRule("http.tls.cert_file", "http.tls.key_file",
               "http.tls.cert_file and http.tls.key_file must be set together");
    }
    if (!tls.client_ca_file.empty() && tls.cert_file.empty()) {
      FailRule("http.tls.client_ca_file", "http.tls.client_ca_file",
               "http.tls.client_ca_file needs http.tls.cert_file and http.tls.key_file");
    }
    if (c.listen.peer.port != 0 && c.listen.peer == c.listen.http) {
      FailRule("listen.peer", "listen.http",
               "listen.http must differ from listen.peer (" + c.listen.peer.ToString() + ")");
    }
    CheckKeyring(c.cluster.secret_file);
    CheckReadable("http.token_file", c.http.token_file, true);
    CheckReadable("http.tls.cert_file", tls.cert_file);
    CheckReadable("http.tls.key_file", tls.key_file);
    CheckReadable("http.tls.client_ca_file", tls.client_ca_file);
  }

  void CheckKeyring(const std::string& file) {
    if (file.empty()) return;
    const Entry* e = SetEntry("cluster.secret_file");
    if (e == nullptr) return;
    const fs::path p = Resolve(file);
    std::string why;
    const auto content = core::ReadFile(p.string(), &why);
    if (!content) return Fail(e->where(), e->path, "cannot read " + Quote(p.string()) + ": " + why);
    if (core::Trim(*content).empty())
      return Fail(e->where(), e->path, Quote(p.string()) + " is empty");
    auto keys = ParseKeyring(*content);
    if (!keys.ok()) Fail(e->where(), e->path, Quote(p.string()) + ", " + keys.error());
  }

  fs::path Resolve(const std::string& p) const {
    if (p.empty()) return {};
    fs::path path(p);
    return path.is_absolute() ? path : (base_dir_ / path).lexically_normal();
  }

  void ResolvePaths(Config& c) const {
    for (std::string* p :
         {&c.data_dir, &c.cluster.secret_file, &c.http.token_file, &c.http.tls.cert_file,
          &c.http.tls.key_file, &c.http.tls.client_ca_file, &c.ring.file}) {
      if (!p->empty()) *p = Resolve(*p).string();
    }
  }

  std::string file_;
  fs::path base_dir_;
  std::vector<ConfigError> errors_;
  std::map<std::string, Entry> set_;  // every key the file set, by path
};

}  // namespace

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  boost::system::error_code ec;
  const auto a = boost::asio::ip::make_address(host, ec);
  return !ec && a.is_loopback();
}

std::string HostPort::ToString() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::string ConfigError::ToString() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  out += ": ";
  if (!path.empty()) out += path + ": ";
  return out + message;
}

std::string_view ToString(RingHash h) {
  return h == RingHash::kKetama ? "ketama" : "xxh3";
}

std::string_view ToString(LogLevel l) {
  switch (l) {
    case LogLevel::kTrace:
      return "trace";
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

std::string_view ToString(LogFormat f) {
  return f == LogFormat::kText ? "text" : "json";
}

std::vector<std::string> AllKeyPaths() {
  std::vector<std::string> out;
  for (const auto& [section, keys] : Schema()) {
    for (const auto& key : keys) {
      const std::string path = JoinPath(section, key);
      if (!Schema().contains(path)) out.push_back(path);  // leaves only
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool IsValidId(std::string_view id) {
  return core::IsValidId(id);
}

bool ParseHostPort(std::string_view text, bool allow_port_zero, HostPort* out, std::string* why) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      *why = "expected [ipv6]:port";
      return false;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    if (host.empty() || !std::all_of(host.begin(), host.end(), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
        })) {
      *why = "invalid IPv6 address";
      return false;
    }
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      *why = "expected host:port";
      return false;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      *why = "write IPv6 addresses in brackets, e.g. [::1]:7420";
      return false;
    }
    if (host.empty() || host.size() > 253 || !std::all_of(host.begin(), host.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
        })) {
      *why = "invalid host " + Quote(host);
      return false;
    }
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535 ||
      (value == 0 && !allow_port_zero)) {
    *why = "invalid port " + Quote(port) + (allow_port_zero ? " (0-65535)" : " (1-65535)");
    return false;
  }
  out->host = std::string(host);
  out->port = static_cast<uint16_t>(value);
  return true;
}

namespace {

// yaml-cpp 0.7 (Debian 12's) never returns from a document whose root node
// is followed by a ',' in block context ("!a,b", ",", "\"a\",", "[a],": found
// by the config fuzz target). A config's root is a mapping of sections whose
// first line is a plain key ("node:"): a document whose first line is not,
// and holds a ',', or that starts with a tag ('!') or an anchor ('&'), is
// refused here, before yaml-cpp sees it; so is any line that starts with a
// ',' (in a config, only a flow list written with leading commas would). The
// position of the offending node, or nullopt.
struct Refused {
  Position at;
  std::string message;
};

std::optional<Refused> BeforeYamlCpp(std::string_view yaml) {
  bool document_start = true;  // the next significant token is a document's root
  int line = 0;
  while (!yaml.empty()) {
    ++line;
    const std::size_t end = yaml.find('\n');
    std::string_view text = yaml.substr(0, end);
    yaml = end == std::string_view::npos ? std::string_view() : yaml.substr(end + 1);
    std::size_t column = text.find_first_not_of(" \t\r");
    if (column == std::string_view::npos || text[column] == '#' || text[column] == '%') continue;
    if (text.substr(column, 3) == "---" || text.substr(column, 3) == "...") {
      document_start = true;
      column = text.find_first_not_of(" \t\r", column + 3);
      if (column == std::string_view::npos || text[column] == '#') continue;
    }
    const Position at{line, static_cast<int>(column) + 1};
    if (text[column] == ',')
      return Refused{at, "a line may not start with ',' (write flow lists on one line)"};
    if (document_start) {
      const std::string_view rest = text.substr(column);
      std::size_t key = 0;
      while (key < rest.size() && (std::isalnum(static_cast<unsigned char>(rest[key])) ||
                                   rest[key] == '_' || rest[key] == '-' || rest[key] == '.'))
        ++key;
      const bool plain_key = key > 0 && key < rest.size() && rest[key] == ':';
      if (rest[0] == '!' || rest[0] == '&' ||
          (!plain_key && rest.find(',') != std::string_view::npos))
        return Refused{at,
                       "the top level must be a mapping of sections, starting with a plain key "
                       "(as `node:`)"};
    }
    document_start = false;
  }
  return std::nullopt;
}

}  // namespace

LoadResult LoadConfigString(std::string_view yaml, std::string_view file_name,
                            std::string_view base_dir) {
  const std::string file(file_name);
  if (const auto refused = BeforeYamlCpp(yaml)) {
    return core::MakeError(std::vector<ConfigError>{
        ConfigError{file, refused->at.line, refused->at.column, "", refused->message}});
  }
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(yaml));
  } catch (const YAML::Exception& ex) {
    const Position at = PositionOf(ex.mark);
    return core::MakeError(std::vector<ConfigError>{
        ConfigError{file, at.line, at.column, "", "YAML syntax error: " + ex.msg}});
  }
  if (docs.size() > 1) {
    const Position at = PositionOf(docs[1].Mark());
    return core::MakeError(std::vector<ConfigError>{
        ConfigError{file, at.line, at.column, "",
                    "expected one YAML document, found " + std::to_string(docs.size())}});
  }
  Parser parser(file, base_dir.empty() ? fs::current_path() : fs::path(base_dir));
  Config config;
  try {
    config = parser.Parse(docs.empty() ? YAML::Node() : docs.front());
  } catch (const YAML::Exception& ex) {
    // yaml-cpp rejects some constructs (e.g. aliases to bad nodes) while iterating.
    const Position at = PositionOf(ex.mark);
    parser.Fail(at, "", "YAML error: " + ex.msg);
  }
  auto errors = parser.TakeErrors();
  if (!errors.empty()) return core::MakeError(std::move(errors));
  return config;
}

LoadResult LoadConfigFile(const std::string& path) {
  std::string why;
  const auto text = core::ReadFile(path, &why);
  if (!text) {
    return core::MakeError(
        std::vector<ConfigError>{ConfigError{path, 0, 0, "", "cannot read config file: " + why}});
  }
  fs::path base = fs::absolute(fs::path(path)).parent_path();
  return LoadConfigString(*text, path, base.string());
}

std::string Summary(const Config& c) {
  std::string out = "node " + c.node.id + " in cluster " + c.cluster.name + ": peer " +
                    c.listen.peer.ToString() + ", http " + c.listen.http.ToString() + ", " +
                    std::to_string(c.cluster.seeds.size()) + " seed(s), " +
                    std::to_string(c.cluster.bootstrap_voters.size()) +
                    " bootstrap voter(s), data_dir " + c.data_dir + ", ring " +
                    std::string(ToString(c.ring.hash));
  return out;
}

}  // namespace ringwatch::config
