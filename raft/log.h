#pragma once
// RaftLog: one server's log in memory — the entries after the latest snapshot,
// with the three cursors Raft needs. Storage holds the durable copy; the Node
// tells the embedding (through Ready) which entries became durable-pending and
// learns through StableTo when they are on disk.
//
// Invariants (checked by CheckInvariants, aborting when broken):
//   entries_[k].index == snapshot_index_ + 1 + k, terms never decrease;
//   snapshot_index_ <= applied_ <= committed_ <= last_index();
//   snapshot_index_ <= stable_ <= last_index().
// Not thread-safe; owned by one Node.

#include <cstddef>
#include <optional>
#include <vector>

#include "raft/types.h"

namespace ringwatch::raft {

class RaftLog {
 public:
  RaftLog() = default;
  // Restores what Storage loaded: a snapshot point, the entries after it (all
  // durable), and the durable commit index (clamped to what the log holds).
  RaftLog(LogIndex snapshot_index, Term snapshot_term, std::vector<Entry> entries,
          LogIndex committed);

  LogIndex snapshot_index() const { return snapshot_index_; }
  Term snapshot_term() const { return snapshot_term_; }
  LogIndex first_index() const { return snapshot_index_ + 1; }
  LogIndex last_index() const { return snapshot_index_ + entries_.size(); }
  Term last_term() const { return entries_.empty() ? snapshot_term_ : entries_.back().term; }
  LogIndex committed() const { return committed_; }
  LogIndex applied() const { return applied_; }
  LogIndex stable() const { return stable_; }

  // The term of the entry at `index`: the snapshot's term at the snapshot
  // point, Term{0} at index 0, nullopt when compacted away or not yet written.
  std::optional<Term> TermAt(LogIndex index) const;
  bool Matches(LogIndex index, Term term) const;
  // §5.4.1: a candidate's log is at least as up-to-date as ours.
  bool IsUpToDate(LogIndex last_index, Term last_term) const;

  // Precondition: index in [first_index(), last_index()].
  const Entry& At(LogIndex index) const;
  // Entries [lo, hi] (inclusive, clamped to the log), stopping once max_bytes of
  // data is reached but always returning at least one entry when any exists.
  std::vector<Entry> Slice(LogIndex lo, LogIndex hi, std::size_t max_bytes) const;

  // Leader: appends entries at the end. Precondition: contiguous, terms >= last.
  void Append(const std::vector<Entry>& entries);
  // Follower (§5.3): the leader's entries follow (prev_index, prev_term), which
  // Matches. Entries already present with the same term are kept; the first
  // conflicting one and everything after it are replaced. Returns the index of
  // the last entry the leader sent. Never truncates at or below committed().
  LogIndex MaybeAppend(LogIndex prev_index, const std::vector<Entry>& entries);

  // The largest index <= `index` whose term is <= `term` (conflict-term fast
  // backup: one round trip skips a whole term of mismatching entries).
  LogIndex FindConflictByTerm(LogIndex index, Term term) const;

  void CommitTo(LogIndex index);  // never decreases; clamped to last_index()
  void AppliedTo(LogIndex index);
  // Entries up to `index` (with term `term`) are durable. Ignored when the
  // entry was replaced meanwhile.
  void StableTo(LogIndex index, Term term);
  // Entries not yet handed to storage: (stable, last].
  std::vector<Entry> Unstable() const;
  // Entries committed but not applied, at most max_bytes (at least one).
  std::vector<Entry> NextCommitted(std::size_t max_bytes) const;

  // Drops entries <= index (which must be applied) after a local snapshot.
  void CompactTo(LogIndex index);
  // Replaces the whole log by a snapshot point received from the leader.
  void Restore(LogIndex index, Term term);

  void CheckInvariants() const;

 private:
  LogIndex snapshot_index_;
  Term snapshot_term_;
  std::vector<Entry> entries_;
  LogIndex committed_;
  LogIndex applied_;
  LogIndex stable_;
};

}  // namespace ringwatch::raft
