#pragma once
// Aggregator: the leader's side of a death decision (docs/architecture.md "How a failure
// becomes a new ring"). Observers send a report about each member they watch
// while they suspect it (and once when they stop), with their evidence. The
// leader declares a member dead when enough of its live observers suspect it
// at once: `confirmations`, or by default a majority of its live observers —
// so one bad link never kills a node. Reports expire after `report_ttl`:
// observers repeat them every heartbeat interval, which is also how they
// survive a leader change (the new leader hears them again within one
// interval). Pure: time is passed in; one instance per leader term.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/duration.h"
#include "membership/observers.h"
#include "membership/types.h"
#include "membership/view.h"

namespace ringwatch::membership {

struct Report {
  std::string observer;
  std::string subject;
  uint64_t incarnation = 0;  // the subject's, as the observer knows it
  bool suspected = false;
  double phi = 0;
  double silence_seconds = 0;
  ProbeResult probe = ProbeResult::kNone;
  std::optional<Health> health;               // the subject's latest summary seen by the observer
  DetectionPath path = DetectionPath::kNone;  // what made the observer suspect
};

struct Decision {
  std::string subject;
  uint64_t incarnation = 0;
  Diagnosis diagnosis;
};

// The classification of docs/architecture.md, from the fresh reports about one member
// (some suspecting, maybe some not), in order: a refused probe is
// process_down; an observer that still hears it, a group that went silent
// with it (`in_group`), or probes that connect for some observers and time
// out for others are a partition; pressure in its last health is
// overloaded; probes that all connect are unresponsive (the host's kernel
// accepts, the agent says nothing: hung, paused, starved); else host_down.
// Pure; exposed for tests.
DiagnosisClass Classify(const std::vector<Report>& reports, bool in_group = false);
// The revision of `verdict` that a returning member's `account` makes: it
// came back as a new process: crashed; its own event loop stalled for at
// least half the silence its observers measured (and 200 ms): paused; it
// kept hearing some of the members it watches: partition; it heard nobody:
// isolated. Pure.
DiagnosisClass ReviseClass(const Diagnosis& verdict, const Account& account);
// Load, memory or agent CPU pressure in a health summary.
bool UnderPressure(const Health& h);

class Aggregator {
 public:
  struct Options {
    uint32_t confirmations = 0;  // 0: a majority of the member's live observers
    core::Duration report_ttl = std::chrono::seconds(1);
    // A decision not yet committed is not proposed again before this.
    core::Duration repropose_after = std::chrono::seconds(2);
    // How long a decision may wait for an observer's TCP probe result (which
    // tells process_down from host_down) once enough observers agree.
    core::Duration probe_grace = std::chrono::milliseconds(0);
    // Members whose suspicions began within this of each other went silent
    // together: a partition (or a shared failure), not each alone.
    core::Duration group_window = std::chrono::seconds(1);
  };

  explicit Aggregator(Options options) : options_(options) {}

  // A report from an observer; the newest per (observer, subject) counts.
  void Receive(const Report& report, core::Instant now);

  // The members to declare dead now, given the committed view and its
  // observer assignment. `wall_ms` stamps the diagnosis.
  std::vector<Decision> Decide(const View& view, const Observers& observers, core::Instant now,
                               int64_t wall_ms);

  // How many suspicions of `subject` are fresh (for status and tests).
  std::size_t Suspicions(const std::string& subject, core::Instant now) const;
  void Clear();

 private:
  struct Held {
    Report report;
    core::Instant at;     // last received
    core::Instant since;  // when this observer's current suspicion began
  };
  Options options_;
  std::map<std::pair<std::string, std::string>, Held> reports_;  // (subject, observer)
  std::map<std::string, core::Instant> proposed_;                // subject → when
  // Members recently declared dead (not process_down), with the start of
  // their silence: a member going silent within group_window of theirs
  // belongs to their group.
  std::map<std::string, core::Instant> silent_since_;
};

}  // namespace ringwatch::membership
