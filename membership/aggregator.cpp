#include "membership/aggregator.h"

#include <algorithm>

namespace ringwatch::membership {

bool UnderPressure(const Health& h) {
  return h.load1_per_core >= 2.0f || h.memory_available_ratio <= 0.05f || h.agent_cpu_ratio >= 0.9f;
}

DiagnosisClass Classify(const std::vector<Report>& reports) {
  bool someone_hears = false, refused = false;
  std::optional<Health> health;
  for (const Report& r : reports) {
    if (!r.suspected) someone_hears = true;
    if (r.probe == ProbeResult::kRefused) refused = true;
    if (r.health) health = r.health;
  }
  // The host answers but the agent does not: the process is gone, whatever
  // else is seen.
  if (refused) return DiagnosisClass::kProcessDown;
  // Some observers still hear it: the network is split, not the member.
  if (someone_hears) return DiagnosisClass::kPartition;
  // Silent to all, and its last word was that it was under pressure.
  if (health && UnderPressure(*health)) return DiagnosisClass::kOverloaded;
  return DiagnosisClass::kHostDown;
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
  std::vector<Decision> out;
  for (const auto& [id, member] : view.members()) {
    if (member.state != MemberState::kAlive || proposed_.count(id)) continue;
    std::vector<std::string> live;
    for (const std::string& o : observers.Of(id)) {
      const Member* om = view.Find(o);
      if (om && om->state == MemberState::kAlive) live.push_back(o);
    }
    if (live.empty()) continue;
    const std::size_t needed = options_.confirmations > 0
                                   ? std::min<std::size_t>(options_.confirmations, live.size())
                                   : live.size() / 2 + 1;
    std::vector<Report> fresh;
    std::size_t suspecting = 0;
    bool probed = false;
    core::Instant first_suspicion = now;
    for (const std::string& o : live) {
      auto it = reports_.find({id, o});
      if (it == reports_.end()) continue;
      const Report& r = it->second.report;
      // A report about an older incarnation says nothing about this one.
      if (r.incarnation != member.info.incarnation) continue;
      fresh.push_back(r);
      if (r.suspected) {
        ++suspecting;
        first_suspicion = std::min(first_suspicion, it->second.since);
        probed = probed || r.probe != ProbeResult::kNone;
      }
    }
    if (suspecting < needed) continue;
    // Give the observers' probes a moment: "refused" or "timed out" is the
    // difference between process_down and host_down.
    if (!probed && now - first_suspicion < options_.probe_grace) continue;
    Decision d;
    d.subject = id;
    d.incarnation = member.info.incarnation;
    d.diagnosis.cls = Classify(fresh);
    d.diagnosis.decided_at_ms = wall_ms;
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
    for (const Report& r : fresh) {
      d.diagnosis.observers.push_back({r.observer, r.phi, r.silence_seconds, r.suspected});
      if (rank(r.probe) > rank(d.diagnosis.probe)) d.diagnosis.probe = r.probe;
      if (r.health) d.diagnosis.health = r.health;
    }
    proposed_[id] = now;
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace ringwatch::membership
