#pragma once
// Progress: what a leader knows about one follower's log (etcd's tracker).
// Three states decide how appends flow:
//   kProbe     — the match point is unknown: one append per heartbeat until a
//                response tells where the logs agree;
//   kReplicate — the match point is known: appends are pipelined, at most
//                `max_inflight` unacknowledged messages at a time;
//   kSnapshot  — the entries the follower needs were compacted: a snapshot is
//                on its way and appends wait for it.
// Invariant: match < next. Plain value owned by the leader's role state.

#include <algorithm>
#include <cstddef>
#include <deque>

#include "raft/types.h"

namespace ringwatch::raft {

enum class ProgressState { kProbe, kReplicate, kSnapshot };
const char* ToString(ProgressState state);

struct Progress {
  LogIndex match;
  LogIndex next;
  ProgressState state = ProgressState::kProbe;
  bool probe_sent = false;        // kProbe: an append is outstanding
  std::deque<LogIndex> inflight;  // kReplicate: last index of each unacked append
  LogIndex pending_snapshot;      // kSnapshot: index of the snapshot sent
  int snapshot_elapsed = 0;       // kSnapshot: ticks since it was sent
  LogIndex match_at_heartbeat;    // kReplicate: match at the previous heartbeat response
  bool recent_active = false;     // heard from it during this CheckQuorum period
  bool learner = false;

  bool IsPaused(std::size_t max_inflight) const {
    switch (state) {
      case ProgressState::kProbe:
        return probe_sent;
      case ProgressState::kReplicate:
        return inflight.size() >= max_inflight;
      case ProgressState::kSnapshot:
        return true;
    }
    return true;
  }

  void BecomeProbe() {
    // After a snapshot the follower has at least the snapshot's entries.
    LogIndex floor = state == ProgressState::kSnapshot ? std::max(match, pending_snapshot) : match;
    state = ProgressState::kProbe;
    next = floor + 1;
    probe_sent = false;
    inflight.clear();
    pending_snapshot = LogIndex{};
  }

  void BecomeReplicate() {
    state = ProgressState::kReplicate;
    next = match + 1;
    probe_sent = false;
    inflight.clear();
    match_at_heartbeat = match;
  }

  void BecomeSnapshot(LogIndex snapshot_index) {
    state = ProgressState::kSnapshot;
    pending_snapshot = snapshot_index;
    snapshot_elapsed = 0;
    inflight.clear();
  }

  // A successful append response up to `index`. Returns false when stale.
  bool MaybeUpdate(LogIndex index) {
    bool updated = false;
    if (match < index) {
      match = index;
      updated = true;
      probe_sent = false;
    }
    if (next < index + 1) next = index + 1;
    while (!inflight.empty() && inflight.front() <= index)
      inflight.pop_front();
    return updated;
  }

  // A rejection of the append after `rejected`; `hint` is where the
  // follower's log may match. Returns false when the rejection is stale.
  //
  // A follower whose log ends before `match` lost entries it had
  // acknowledged (a damaged disk: a torn wal tail is truncated on load).
  // Its rejection is not stale: match falls back to the hint, so the leader
  // repairs it from there (or sends a snapshot). Lowering match never
  // uncommits anything (the commit index only grows) and at worst resends
  // entries the follower holds; without it the leader would probe the same
  // index forever.
  bool MaybeDecreaseTo(LogIndex rejected, LogIndex hint) {
    const bool lost = hint < match;
    if (state == ProgressState::kReplicate) {
      if (rejected <= match && !lost) return false;
      if (lost) match = hint;
      next = match + 1;
      return true;
    }
    if (next - 1 != rejected) return false;
    if (lost) match = hint;
    LogIndex candidate = std::min(rejected, hint + 1);
    next = std::max(candidate, match + 1);
    probe_sent = false;
    return true;
  }
};

}  // namespace ringwatch::raft
