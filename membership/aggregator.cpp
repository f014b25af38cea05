#include "membership/aggregator.h"

#include <algorithm>

namespace ringwatch::membership {

bool UnderPressure(const Health& h) {
  return h.load1_per_core >= 2.0f || h.memory_available_ratio <= 0.05f || h.agent_cpu_ratio >= 0.9f;
}

DiagnosisClass Classify(const std::vector<Report>& reports, bool in_group) {
  bool someone_hears = false, refused = false, connected = false, timed_out = false;
  std::optional<Health> health;
  for (const Report& r : reports) {
    if (!r.suspected) someone_hears = true;
    if (r.probe == ProbeResult::kRefused) refused = true;
    if (r.probe == ProbeResult::kConnected) connected = true;
    if (r.probe == ProbeResult::kTimeout) timed_out = true;
    if (r.health) health = r.health;
  }
  // The host answers but the agent does not listen: the process is gone,
  // whatever else is seen.
  if (refused) return DiagnosisClass::kProcessDown;
  // Some observers still hear it, it went silent with others at once, or
  // some observers reach its host and others do not: the network is split,
  // not the member.
  if (someone_hears || in_group || (connected && timed_out)) return DiagnosisClass::kPartition;
  // Silent to all, and its last word was that it was under pressure.
  if (health && UnderPressure(*health)) return DiagnosisClass::kOverloaded;
  // Its host's kernel accepts connections, the agent says nothing.
  if (connected) return DiagnosisClass::kUnresponsive;
  return DiagnosisClass::kHostDown;
}

DiagnosisClass ReviseClass(const Diagnosis& verdict, const Account& account) {
  if (account.restarted) return DiagnosisClass::kCrashed;
  double silence = 0;
  for (const ObserverEvidence& o : verdict.observers)
    if (o.suspected) silence = std::max(silence, o.silence_seconds);
  const double pause = account.longest_pause_ms / 1000.0;
  if (pause >= 0.2 && pause >= silence / 2) return DiagnosisClass::kPaused;
  if (!account.heard.empty()) return DiagnosisClass::kPartition;
  return DiagnosisClass::kIsolated;
}

void Aggregator::Receive(const Report& report, core::Instant now) {
  auto key = std::make_pair(report.subject, report.observer);
  auto it = reports_.find(key);
  core::Instant since = now;
  if (it != reports_.end() && it->second.report.suspected && report.suspected)
    since = it->second.since;
  reports_[key] = Held{report, now, since};
}

void Aggregator::Clear() {
  reports_.clear();
  proposed_.clear();
  silent_since_.clear();
}

std::size_t Aggregator::Suspicions(const std::string& subject, core::Instant now) const {
  std::size_t n = 0;
  for (auto it = reports_.lower_bound({subject, ""});
       it != reports_.end() && it->first.first == subject; ++it)
    n += it->second.report.suspected && now - it->second.at <= options_.report_ttl ? 1 : 0;
  return n;
}

std::vector<Decision> Aggregator::Decide(const View& view, const Observers& observers,
                                         core::Instant now, int64_t wall_ms) {
  // Expired reports go: an observer that stopped repeating no longer suspects.
  std::erase_if(reports_, [&](const auto& kv) { return now - kv.second.at > options_.report_ttl; });
  std::erase_if(proposed_, [&](const auto& kv) {
    const Member* m = view.Find(kv.first);
    return !m || m->state != MemberState::kAlive || now - kv.second > options_.repropose_after;
  });
  std::erase_if(silent_since_,
                [&](const auto& kv) { return now - kv.second > 4 * options_.group_window; });

  // What the fresh reports say about each alive member.
  struct Seen {
    std::string id;
    uint64_t incarnation = 0;
    std::vector<Report> fresh;
    std::size_t suspecting = 0;
    std::size_t needed = 0;
    bool probed = false;
    bool refused = false;
    core::Instant first_suspicion;
  };
  std::vector<Seen> seen;
  for (const auto& [id, member] : view.members()) {
    if (member.state != MemberState::kAlive) continue;
    std::vector<std::string> live;
    for (const std::string& o : observers.Of(id)) {
      const Member* om = view.Find(o);
      if (om && om->state == MemberState::kAlive) live.push_back(o);
    }
    if (live.empty()) continue;
    Seen s;
    s.id = id;
    s.incarnation = member.info.incarnation;
    s.first_suspicion = now;
    s.needed = options_.confirmations > 0
                   ? std::min<std::size_t>(options_.confirmations, live.size())
                   : live.size() / 2 + 1;
    for (const std::string& o : live) {
      auto it = reports_.find({id, o});
      if (it == reports_.end()) continue;
      const Report& r = it->second.report;
      // A report about an older incarnation says nothing about this one.
      if (r.incarnation != member.info.incarnation) continue;
      s.fresh.push_back(r);
      if (r.suspected) {
        ++s.suspecting;
        s.first_suspicion = std::min(s.first_suspicion, it->second.since);
        s.probed = s.probed || r.probe != ProbeResult::kNone;
        s.refused = s.refused || r.probe == ProbeResult::kRefused;
      }
    }
    if (s.suspecting > 0) seen.push_back(std::move(s));
  }

  std::vector<Decision> out;
  for (const Seen& s : seen) {
    if (proposed_.count(s.id) || s.suspecting < s.needed) continue;
    // Give the observers' probes a moment: "refused" or "timed out" is the
    // difference between process_down and host_down.
    if (!s.probed && now - s.first_suspicion < options_.probe_grace) continue;
    // The others that went silent within the same window: suspected now, or
    // declared dead a moment ago (a crashed process is its own story).
    std::vector<std::string> group;
    if (!s.refused) {
      auto near = [&](core::Instant t) {
        const auto d = t > s.first_suspicion ? t - s.first_suspicion : s.first_suspicion - t;
        return d <= options_.group_window;
      };
      for (const Seen& other : seen) {
        // Two suspicions at least (or all it needs): one observer's bad
        // link does not make a group.
        const std::size_t enough =
            std::min(other.needed, std::max<std::size_t>(2, (other.needed + 1) / 2));
        if (other.id != s.id && !other.refused && other.suspecting >= enough &&
            near(other.first_suspicion))
          group.push_back(other.id);
      }
      for (const auto& [id, since] : silent_since_) {
        if (id != s.id && near(since) && std::find(group.begin(), group.end(), id) == group.end())
          group.push_back(id);
      }
      std::sort(group.begin(), group.end());
    }
    Decision d;
    d.subject = s.id;
    d.incarnation = s.incarnation;
    d.diagnosis.cls = Classify(s.fresh, !group.empty());
    d.diagnosis.decided_at_ms = wall_ms;
    if (d.diagnosis.cls == DiagnosisClass::kPartition) d.diagnosis.group = std::move(group);
    // The most telling probe wins: refused > timeout > connected > none.
    auto rank = [](ProbeResult p) {
      switch (p) {
        case ProbeResult::kRefused:
          return 3;
        case ProbeResult::kTimeout:
          return 2;
        case ProbeResult::kConnected:
          return 1;
        case ProbeResult::kNone:
          return 0;
      }
      return 0;
    };
    std::size_t by_path[kMaxDetectionPath + 1] = {};
    for (const Report& r : s.fresh) {
      d.diagnosis.observers.push_back(
          {r.observer, r.phi, r.silence_seconds, r.suspected, r.probe, r.path});
      if (rank(r.probe) > rank(d.diagnosis.probe)) d.diagnosis.probe = r.probe;
      if (r.health) d.diagnosis.health = r.health;
      if (r.suspected) ++by_path[static_cast<uint8_t>(r.path)];
    }
    // The path most suspecting observers took; the fast one on a tie.
    for (DetectionPath p : {DetectionPath::kFast, DetectionPath::kPhi, DetectionPath::kTimeout})
      if (by_path[static_cast<uint8_t>(p)] > by_path[static_cast<uint8_t>(d.diagnosis.path)])
        d.diagnosis.path = p;
    proposed_[s.id] = now;
    if (!s.refused) silent_since_[s.id] = s.first_suspicion;
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace ringwatch::membership
