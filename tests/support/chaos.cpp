#include "tests/support/chaos.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/agent_process.h"
#include "tests/support/cluster_status.h"
#include "tests/support/netns.h"
#include "tests/support/poll.h"
#include "tests/support/raw_http.h"
#include "tests/support/temp_dir.h"

namespace ringwatch::testing {

namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr uint16_t kPeerPort = 7420;
constexpr auto kDetect = 20s;    // a fault that kills must have killed within this
constexpr auto kConverge = 90s;  // after healing, one all-alive view within this
// The overload fault: busy processes per CPU, the load per CPU they must
// reach (membership::UnderPressure says 2) and how long that may take (the
// 1-minute load average: about 25 s from idle), and the load per CPU the
// next fault waits for (about 50 s).
constexpr int kHogsPerCpu = 6;
constexpr double kOverloadPerCpu = 2.3;
constexpr auto kLoadRise = 90s;
constexpr double kCalmPerCpu = 1.5;
constexpr auto kLoadFall = 120s;
constexpr auto kRestartGrace = "4s";  // a restart must be back within it; a stop is not

std::string Id(int node) {
  return "node-" + std::to_string(node);
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.flush();
  return static_cast<bool>(out);
}

// A CPU quota for one process: `quota_us` of CPU time per `period_us`
// (cgroup v2 cpu.max, or v1 cpu.cfs_quota_us), undone by the destructor.
class CpuQuota {
 public:
  static std::string Root() {
    if (std::filesystem::exists("/sys/fs/cgroup/cgroup.controllers")) return "/sys/fs/cgroup";
    if (std::filesystem::exists("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")) return "/sys/fs/cgroup/cpu";
    return "";
  }
  static std::string Unavailable() {
    const std::string root = Root();
    if (root.empty()) return "no cgroup cpu controller";
    const std::string probe = root + "/rwchaos-probe-" + std::to_string(::getpid());
    std::error_code ec;
    if (!std::filesystem::create_directory(probe, ec))
      return "cannot create a cgroup under " + root + ": " + ec.message();
    std::filesystem::remove(probe, ec);
    return "";
  }

  CpuQuota(int pid, int quota_us, int period_us)
      : root_(Root()), dir_(root_ + "/rwchaos-" + std::to_string(::getpid())), pid_(pid) {
    std::filesystem::create_directory(dir_);
    const bool v2 = root_ == "/sys/fs/cgroup";
    if (v2) {
      WriteFile(root_ + "/cgroup.subtree_control", "+cpu");
      ok_ =
          WriteFile(dir_ + "/cpu.max", std::to_string(quota_us) + " " + std::to_string(period_us));
    } else {
      ok_ = WriteFile(dir_ + "/cpu.cfs_period_us", std::to_string(period_us)) &&
            WriteFile(dir_ + "/cpu.cfs_quota_us", std::to_string(quota_us));
    }
    ok_ = ok_ && WriteFile(dir_ + "/cgroup.procs", std::to_string(pid_));
  }
  ~CpuQuota() {
    WriteFile(root_ + "/cgroup.procs", std::to_string(pid_));
    std::error_code ec;
    std::filesystem::remove(dir_, ec);
  }
  bool ok() const { return ok_; }

 private:
  std::string root_;
  std::string dir_;
  int pid_;
  bool ok_ = false;
};

class Cluster {
 public:
  explicit Cluster(int n) : n_(n) {
    const std::string why = NetnsCluster::Unavailable();
    if (!why.empty()) throw std::runtime_error("chaos needs network namespaces: " + why);
    net_ = std::make_unique<NetnsCluster>(n);
    std::string seeds = "[";
    for (int i = 1; i <= n; ++i)
      seeds += (i > 1 ? ", " : "") + NetnsCluster::Address(i) + ":" + std::to_string(kPeerPort);
    seeds += "]";
    // A short rejoin probation: the suite hits members again and again, and
    // each death soon after a return doubles it.
    // A short restart grace: the stop fault waits it out.
    const std::string yaml = "cluster:\n  seeds: " + seeds +
                             "\n  bootstrap_voters: [node-1, node-2, node-3]\n"
                             "  restart_grace: " +
                             std::string(kRestartGrace) +
                             "\ndetector:\n  rejoin_probation: 300ms\n";
    for (int i = 1; i <= n; ++i) {
      agents_.push_back(std::make_unique<AgentProcess>(
          Id(i), yaml, kPeerPort, AgentNetwork{net_->Netns(i), NetnsCluster::Address(i)}));
      std::string error;
      if (!agents_.back()->Start(&error)) throw std::runtime_error(error);
    }
  }
  ~Cluster() {
    agents_.clear();  // the agents stop before their namespaces go
    net_.reset();
  }

  int size() const { return n_; }
  AgentProcess& agent(int node) { return *agents_.at(node - 1); }
  NetnsCluster& net() { return *net_; }
  std::vector<AgentProcess*> All() {
    std::vector<AgentProcess*> out;
    for (auto& a : agents_)
      out.push_back(a.get());
    return out;
  }
  std::vector<AgentProcess*> Except(const std::vector<int>& nodes) {
    std::vector<AgentProcess*> out;
    for (int i = 1; i <= n_; ++i)
      if (std::find(nodes.begin(), nodes.end(), i) == nodes.end()) out.push_back(&agent(i));
    return out;
  }
  std::vector<std::string> Ids(const std::vector<int>& nodes) const {
    std::vector<std::string> out;
    for (int n : nodes)
      out.push_back(Id(n));
    return out;
  }

  // One committed view everywhere, everyone alive in it, one event history;
  // "" when so, else what differs.
  std::string Disagreement() {
    json first;
    std::string first_id;
    for (int i = 1; i <= n_; ++i) {
      auto members = GetJson(agent(i), "/v1/members");
      auto events = GetJson(agent(i), "/v1/events");
      if (members.is_null() || events.is_null()) return Id(i) + " does not answer";
      for (auto& m : members["members"]) {
        if (m["state"] != "alive")
          return Id(i) + " sees " + m["id"].dump() + " " + m["state"].dump();
        m.erase("local");
      }
      json both = {{"members", members}, {"events", events}};
      if (first.is_null()) {
        first = both;
        first_id = Id(i);
      } else if (both != first) {
        return Id(i) + " and " + first_id + " hold different views or histories";
      }
    }
    return "";
  }

  bool Converge(std::string* why) {
    const bool ok = PollUntil([&] { return (*why = Disagreement()).empty(); }, kConverge, 100ms);
    return ok;
  }

 private:
  int n_;
  std::unique_ptr<NetnsCluster> net_;
  std::vector<std::unique_ptr<AgentProcess>> agents_;
};

// The host's 1-minute load average per CPU (/proc/loadavg; -1 when unread).
double LoadPerCpu() {
  std::ifstream in("/proc/loadavg");
  double load1 = -1;
  if (!(in >> load1)) return -1;
  return load1 / std::max(1u, std::thread::hardware_concurrency());
}

// Busy processes at nice 19 that raise the host's load average: the
// scheduler counts them as runnable, yet they hardly take the CPU from
// anything else. Each ends by itself after `limit` (coreutils timeout, which
// passes on the SIGTERM of the destructor to its command).
class Hogs {
 public:
  Hogs(int count, std::chrono::seconds limit) {
    for (int i = 0; i < count; ++i)
      hogs_.push_back(std::make_unique<ChildProcess>(
          std::vector<std::string>{"nice", "-n", "19", "timeout", std::to_string(limit.count()),
                                   "sha256sum", "/dev/zero"},
          dir_.File("hog-" + std::to_string(i))));
  }
  ~Hogs() {
    for (auto& h : hogs_)
      h->Signal(SIGTERM);
    for (auto& h : hogs_)
      h->Wait(5s);
  }

 private:
  TempDir dir_;
  std::vector<std::unique_ptr<ChildProcess>> hogs_;
};

// The newest event's seq in `agent`'s history (0 when none or no answer).
uint64_t LastSeq(AgentProcess& agent) {
  auto events = GetJson(agent, "/v1/events");
  if (events.is_null() || events["events"].empty()) return 0;
  return events["events"].back()["seq"].get<uint64_t>();
}

// Whether `label` (verdict, revision) is a right answer for `kind`.
bool Right(const std::string& kind, const std::string& verdict, const std::string& revision,
           std::string* expected) {
  auto any = [](const std::string& x, std::initializer_list<const char*> set) {
    for (const char* s : set)
      if (x == s) return true;
    return false;
  };
  if (kind == "kill") {
    *expected = "verdict process_down or revision crashed";
    return verdict == "process_down" || revision == "crashed";
  }
  if (kind == "sigstop") {
    *expected = "verdict unresponsive/overloaded or revision paused";
    return any(verdict, {"unresponsive", "overloaded"}) || revision == "paused";
  }
  if (kind == "link_down") {
    *expected = "verdict host_down or revision isolated";
    return verdict == "host_down" || revision == "isolated";
  }
  if (kind == "partition_2_3") {
    *expected = "verdict or revision partition";
    return verdict == "partition" || revision == "partition";
  }
  if (kind == "partition_1_4") {
    *expected = "verdict partition or revision isolated/partition";
    return verdict == "partition" || any(revision, {"isolated", "partition"});
  }
  if (kind == "one_way") {
    // Nothing it sends arrives: from outside its host looks down or cut
    // off; once declared dead nobody sends to it either, so it may well
    // have heard nobody at the end (isolated).
    *expected = "not process_down: verdict host_down/partition or revision partition/isolated";
    return verdict != "process_down" &&
           (any(verdict, {"host_down", "partition"}) || any(revision, {"partition", "isolated"}));
  }
  if (kind == "loss") {
    *expected = "none (no false death)";
    return verdict == "none";
  }
  if (kind == "cpu_starve") {
    *expected = "none, verdict overloaded/unresponsive, or revision paused";
    return verdict == "none" || any(verdict, {"overloaded", "unresponsive"}) ||
           revision == "paused";
  }
  if (kind == "overload") {
    *expected = "verdict overloaded or revision paused";
    return verdict == "overloaded" || revision == "paused";
  }
  if (kind == "stop") {
    *expected = "verdict stopped";
    return verdict == "stopped";
  }
  if (kind == "restart") {
    *expected = "none (a planned restart is not a death)";
    return verdict == "none";
  }
  if (kind == "leave") {
    *expected = "verdict left";
    return verdict == "left";
  }
  *expected = "?";
  return false;
}

// How many members a fault hits.
int VictimCount(const std::string& kind) {
  return kind == "partition_2_3" ? 2 : 1;
}

void Post(AgentProcess& agent, const std::string& path) {
  NetnsScope in(agent.netns());
  try {
    Exchange(agent.http_port(),
             "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n", 15s);
  } catch (const std::exception&) {
    // the agent stops right after answering; the caller checks the outcome
  }
}

ChaosFault Inject(Cluster& c, const std::string& kind, const std::vector<int>& victims,
                  const ChaosOptions& o, std::ostream& log) {
  ChaosFault f;
  f.kind = kind;
  f.victims = c.Ids(victims);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<AgentProcess*> survivors = c.Except(victims);
  const uint64_t before = LastSeq(*survivors[0]);
  std::vector<int> others;
  for (int i = 1; i <= c.size(); ++i)
    if (std::find(victims.begin(), victims.end(), i) == victims.end()) others.push_back(i);
  auto await_dead = [&](const std::string& state) {
    if (!AllSee(survivors, f.victims, state, 50ms, kDetect)) {
      f.violations.push_back("the survivors did not see " + f.victims[0] + " " + state +
                             " within 20 s");
    } else if (f.detect_seconds == 0) {
      f.detect_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    // The outage goes on for a while after the verdict, as real ones do.
    std::this_thread::sleep_until(t0 + o.outage);
  };
  const int v = victims[0];
  AgentProcess& a = c.agent(v);
  std::string error;
  if (kind == "kill") {
    a.process().Signal(SIGKILL);
    a.process().Wait(10s);
    await_dead("dead");
    if (!a.Start(&error)) f.violations.push_back("restart failed: " + error);
  } else if (kind == "sigstop") {
    a.process().Signal(SIGSTOP);
    std::this_thread::sleep_for(o.pause);  // the fault itself: paused this long
    a.process().Signal(SIGCONT);
  } else if (kind == "link_down") {
    c.net().LinkDown(v);
    await_dead("dead");
    c.net().Heal();
  } else if (kind == "partition_2_3" || kind == "partition_1_4") {
    c.net().Cut(victims, others);
    await_dead("dead");
    c.net().Heal();
  } else if (kind == "one_way") {
    c.net().CutOneWay(v, others);
    await_dead("dead");
    c.net().Heal();
  } else if (kind == "loss") {
    c.net().Lossy(v, o.loss);
    std::this_thread::sleep_for(o.hold);
    c.net().Heal();
  } else if (kind == "cpu_starve") {
    {
      CpuQuota quota(a.process().pid(), 1000, 100000);  // 1 % of a CPU
      if (!quota.ok()) f.violations.push_back("could not apply the CPU quota");
      std::this_thread::sleep_for(o.hold);
    }
  } else if (kind == "overload") {
    // A host under heavy load whose agent is starved: the load average
    // climbs past 2 per CPU (its health says so), then the agent gets a
    // millisecond of CPU a second.
    Hogs hogs(kHogsPerCpu * static_cast<int>(std::max(1u, std::thread::hardware_concurrency())),
              std::chrono::duration_cast<std::chrono::seconds>(kLoadRise + o.hold + 30s));
    if (!PollUntil([] { return LoadPerCpu() >= kOverloadPerCpu; }, kLoadRise, 500ms)) {
      f.violations.push_back("setup: the load did not reach " + std::to_string(kOverloadPerCpu) +
                             " per CPU");
    } else {
      std::this_thread::sleep_for(2s);  // two health samples that say so
      CpuQuota quota(a.process().pid(), 1000, 1000000);
      if (!quota.ok()) f.violations.push_back("could not apply the CPU quota");
      std::this_thread::sleep_for(o.hold);
    }
  } else if (kind == "stop") {
    // Stopped for good (SIGTERM, not started again within restart_grace):
    // dead, class stopped; started again later, it rejoins.
    a.process().Signal(SIGTERM);
    a.process().Wait(15s);
    await_dead("dead");
    if (!a.Start(&error)) f.violations.push_back("start after the stop failed: " + error);
  } else if (kind == "restart") {
    a.process().Signal(SIGTERM);
    a.process().Wait(15s);
    if (!a.Start(&error)) f.violations.push_back("restart failed: " + error);
  } else if (kind == "leave") {
    Post(a, "/v1/leave");
    await_dead("left");
    a.process().Wait(15s);
    if (!a.Start(&error)) f.violations.push_back("start after leave failed: " + error);
  }
  std::string why;
  if (!c.Converge(&why)) f.violations.push_back("no single all-alive view after healing: " + why);
  f.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (kind == "overload") {
    // The next fault's verdict must not read this one's load.
    if (!PollUntil([] { return LoadPerCpu() < kCalmPerCpu; }, kLoadFall, 1s))
      log << "      (the load stayed above " << kCalmPerCpu << " per CPU)\n";
  }

  // What was committed meanwhile, from a survivor's history.
  auto events = GetJson(*survivors[0], "/v1/events?since=" + std::to_string(before));
  for (const auto& id : f.victims) {
    f.verdict[id] = "none";
    f.revision[id] = "";
  }
  if (!events.is_null()) {
    for (const auto& e : events["events"]) {
      const std::string member = e["member"].is_string() ? e["member"].get<std::string>() : "";
      const std::string kind_of = e["kind"];
      const std::string cls = e["diagnosis"].is_string() ? e["diagnosis"].get<std::string>() : "";
      const bool victim = std::find(f.victims.begin(), f.victims.end(), member) != f.victims.end();
      if (kind_of == "dead" || kind_of == "leave") {
        if (!victim) {
          f.violations.push_back(member + " declared " + kind_of + " (" + cls +
                                 ") though the fault did not hit it");
        } else if (f.verdict[member] == "none") {
          f.verdict[member] = cls;  // the first verdict of the fault
        }
      } else if (kind_of == "revised" && victim && f.revision[member].empty()) {
        f.revision[member] = cls;
      }
    }
  } else {
    f.violations.push_back("no event history from " + f.victims[0] + "'s survivors");
  }
  for (const auto& id : f.victims) {
    if (f.verdict[id] == "none") continue;
    const auto d = GetJson(*survivors[0], "/v1/diagnosis/" + id);
    if (d.is_object() && d["path"].is_string()) f.path[id] = d["path"].get<std::string>();
    if (f.revision[id].empty()) continue;
    if (d.is_object() && d["revision"].is_object() && d["revision"]["heard"].is_array())
      f.heard[id] = d["revision"]["heard"].get<std::vector<std::string>>();
  }
  f.correct = true;
  std::string labels;
  for (const auto& id : f.victims) {
    std::string expected;
    f.correct = Right(kind, f.verdict[id], f.revision[id], &expected) && f.correct;
    f.expected = expected;
    const std::string label = f.revision[id].empty() ? f.verdict[id] : f.revision[id];
    labels += (labels.empty() ? "" : ",") + label;
  }
  f.label = labels;
  log << (f.correct ? "ok    " : "WRONG ") << kind << " on " << c.Ids(victims)[0]
      << (victims.size() > 1 ? "+" + c.Ids(victims)[1] : "") << ": verdict";
  for (const auto& id : f.victims) {
    log << " " << f.verdict[id];
    if (const auto p = f.path.find(id); p != f.path.end() && p->second != "none")
      log << " by " << p->second;
    log << (f.revision[id].empty() ? "" : " -> " + f.revision[id]);
    if (const auto h = f.heard.find(id); h != f.heard.end() && !h->second.empty()) {
      log << " (heard";
      for (const auto& x : h->second)
        log << " " << x;
      log << ")";
    }
  }
  if (f.detect_seconds > 0) {
    char detect[32];
    std::snprintf(detect, sizeof detect, "%.2f", f.detect_seconds);
    log << " (dead everywhere in " << detect << " s)";
  }
  log << " (" << static_cast<int>(f.seconds) << " s)";
  for (const auto& x : f.violations)
    log << "\n      violation: " << x;
  log << std::endl;
  return f;
}

}  // namespace

std::vector<std::string> ChaosFaultKinds() {
  // overload last in a round: the load it leaves takes a while to fall.
  return {"kill", "sigstop",    "link_down", "partition_2_3", "partition_1_4", "one_way",
          "loss", "cpu_starve", "restart",   "stop",          "leave",         "overload"};
}

ChaosReport RunChaos(const ChaosOptions& options, std::ostream& log) {
  ChaosReport report;
  std::vector<std::string> kinds = options.faults.empty() ? ChaosFaultKinds() : options.faults;
  for (const char* needs_quota : {"cpu_starve", "overload"}) {
    if (std::find(kinds.begin(), kinds.end(), needs_quota) == kinds.end()) continue;
    const std::string why = CpuQuota::Unavailable();
    if (!why.empty()) {
      report.notes.push_back(std::string(needs_quota) + " left out: " + why);
      kinds.erase(std::find(kinds.begin(), kinds.end(), needs_quota));
    }
  }
  Cluster c(options.agents);
  std::string why;
  if (!c.Converge(&why)) throw std::runtime_error("the cluster did not form: " + why);
  log << "chaos: " << options.agents << " agents in their own network namespaces, "
      << options.rounds << " round(s) of " << kinds.size() << " faults" << std::endl;
  std::mt19937_64 random(options.seed);
  std::set<int> last;  // the previous fault's victims rest for one fault
  for (int round = 0; round < options.rounds; ++round) {
    for (const std::string& kind : kinds) {
      std::vector<int> pool;
      for (int i = 1; i <= c.size(); ++i)
        if (!last.count(i)) pool.push_back(i);
      std::shuffle(pool.begin(), pool.end(), random);
      std::vector<int> victims(pool.begin(), pool.begin() + VictimCount(kind));
      // Two victims: at most one voter (node-1..3), so the rest keeps a quorum.
      if (victims.size() == 2 && victims[0] <= 3 && victims[1] <= 3) {
        for (int p : pool)
          if (p > 3) {
            victims[1] = p;
            break;
          }
      }
      std::sort(victims.begin(), victims.end());
      ChaosFault f = Inject(c, kind, victims, options, log);
      last = {victims.begin(), victims.end()};
      report.correct += f.correct ? 1 : 0;
      report.violations += static_cast<int>(f.violations.size());
      for (const auto& id : f.victims) {
        const std::string label = f.revision.at(id).empty() ? f.verdict.at(id) : f.revision.at(id);
        ++report.matrix[kind][label];
        ++report.verdicts[kind][f.verdict.at(id)];
      }
      report.faults.push_back(std::move(f));
    }
  }
  return report;
}

json ChaosReport::ToJson() const {
  json faults_json = json::array();
  for (const ChaosFault& f : faults)
    faults_json.push_back({{"kind", f.kind},
                           {"victims", f.victims},
                           {"verdict", f.verdict},
                           {"revision", f.revision},
                           {"heard", f.heard},
                           {"path", f.path},
                           {"detect_seconds", f.detect_seconds},
                           {"expected", f.expected},
                           {"correct", f.correct},
                           {"violations", f.violations},
                           {"seconds", f.seconds}});
  return {{"faults", faults_json}, {"total", faults.size()},
          {"correct", correct},    {"violations", violations},
          {"matrix", matrix},      {"verdicts", verdicts},
          {"notes", notes}};
}

namespace {

// One matrix as a table: a row per fault kind, a column per class seen.
void PrintMatrix(std::ostream& out, const std::string& title,
                 const std::map<std::string, std::map<std::string, int>>& matrix) {
  std::set<std::string> labels;
  for (const auto& [kind, row] : matrix)
    for (const auto& [label, n] : row)
      labels.insert(label);
  out << "fault \\ " << title;
  for (const auto& l : labels)
    out << " | " << l;
  out << "\n";
  for (const std::string& kind : ChaosFaultKinds()) {
    auto it = matrix.find(kind);
    if (it == matrix.end()) continue;
    out << kind;
    for (const auto& l : labels) {
      auto n = it->second.find(l);
      out << " | " << (n == it->second.end() ? 0 : n->second);
    }
    out << "\n";
  }
}

}  // namespace

std::string ChaosReport::Table() const {
  std::ostringstream out;
  PrintMatrix(out, "verdict", verdicts);
  out << "\n";
  PrintMatrix(out, "final class", matrix);
  out << "correct " << correct << " of " << faults.size() << " faults ("
      << (faults.empty() ? 0 : 100.0 * correct / static_cast<double>(faults.size()))
      << " %), invariant violations " << violations << "\n";
  for (const auto& n : notes)
    out << "note: " << n << "\n";
  return out.str();
}

}  // namespace ringwatch::testing
