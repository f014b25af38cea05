#include "raft/log.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace ringwatch::raft {
namespace {

[[noreturn]] void Broken(const char* what) {
  std::fprintf(stderr, "raft log invariant broken: %s\n", what);
  std::abort();
}

}  // namespace

RaftLog::RaftLog(LogIndex snapshot_index, Term snapshot_term, std::vector<Entry> entries,
                 LogIndex committed)
    : snapshot_index_(snapshot_index), snapshot_term_(snapshot_term), entries_(std::move(entries)) {
  stable_ = last_index();
  committed_ = std::clamp(committed, snapshot_index_, last_index());
  applied_ = snapshot_index_;
  CheckInvariants();
}

std::optional<Term> RaftLog::TermAt(LogIndex index) const {
  if (index == snapshot_index_) return snapshot_term_;
  if (index < snapshot_index_ || index > last_index()) return std::nullopt;
  return entries_[index.value - snapshot_index_.value - 1].term;
}

bool RaftLog::Matches(LogIndex index, Term term) const {
  std::optional<Term> t = TermAt(index);
  return t && *t == term;
}

bool RaftLog::IsUpToDate(LogIndex index, Term term) const {
  return term > last_term() || (term == last_term() && index >= last_index());
}

const Entry& RaftLog::At(LogIndex index) const {
  if (index < first_index() || index > last_index()) Broken("At() outside the log");
  return entries_[index.value - snapshot_index_.value - 1];
}

std::vector<Entry> RaftLog::Slice(LogIndex lo, LogIndex hi, std::size_t max_bytes) const {
  std::vector<Entry> out;
  lo = std::max(lo, first_index());
  hi = std::min(hi, last_index());
  std::size_t bytes = 0;
  for (LogIndex i = lo; i <= hi; i = i + 1) {
    const Entry& e = At(i);
    if (!out.empty() && bytes + e.data.size() > max_bytes) break;
    bytes += e.data.size();
    out.push_back(e);
  }
  return out;
}

void RaftLog::Append(const std::vector<Entry>& entries) {
  for (const Entry& e : entries) {
    if (e.index != last_index() + 1 || e.term < last_term()) Broken("Append() not contiguous");
    entries_.push_back(e);
  }
}

LogIndex RaftLog::MaybeAppend(LogIndex prev_index, const std::vector<Entry>& entries) {
  LogIndex last_new = prev_index + entries.size();
  for (std::size_t k = 0; k < entries.size(); ++k) {
    const Entry& e = entries[k];
    if (e.index <= snapshot_index_) continue;  // already compacted, hence committed
    if (e.index <= last_index()) {
      if (At(e.index).term == e.term) continue;
      // §5.3: a conflicting entry and all that follow it are deleted.
      if (e.index <= committed_) Broken("conflict at a committed index");
      entries_.resize(e.index.value - snapshot_index_.value - 1);
      stable_ = std::min(stable_, last_index());
    }
    entries_.insert(entries_.end(), entries.begin() + static_cast<std::ptrdiff_t>(k),
                    entries.end());
    break;
  }
  return last_new;
}

LogIndex RaftLog::FindConflictByTerm(LogIndex index, Term term) const {
  index = std::min(index, last_index());
  while (index > snapshot_index_) {
    if (At(index).term <= term) return index;
    index = index - 1;
  }
  return index;
}

void RaftLog::CommitTo(LogIndex index) {
  index = std::min(index, last_index());
  if (index > committed_) committed_ = index;
}

void RaftLog::AppliedTo(LogIndex index) {
  if (index < applied_ || index > committed_) Broken("AppliedTo() outside (applied, committed]");
  applied_ = index;
}

void RaftLog::StableTo(LogIndex index, Term term) {
  if (index <= stable_) return;
  if (Matches(index, term)) stable_ = index;
}

std::vector<Entry> RaftLog::Unstable() const {
  std::vector<Entry> out;
  for (LogIndex i = stable_ + 1; i <= last_index(); i = i + 1)
    out.push_back(At(i));
  return out;
}

std::vector<Entry> RaftLog::NextCommitted(std::size_t max_bytes) const {
  return Slice(applied_ + 1, committed_, max_bytes);
}

void RaftLog::CompactTo(LogIndex index) {
  if (index <= snapshot_index_) return;
  if (index > applied_) Broken("CompactTo() beyond applied");
  snapshot_term_ = At(index).term;
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(
                                                          index.value - snapshot_index_.value));
  snapshot_index_ = index;
}

void RaftLog::Restore(LogIndex index, Term term) {
  entries_.clear();
  snapshot_index_ = index;
  snapshot_term_ = term;
  committed_ = applied_ = stable_ = index;
}

void RaftLog::CheckInvariants() const {
  Term prev = snapshot_term_;
  for (std::size_t k = 0; k < entries_.size(); ++k) {
    if (entries_[k].index != snapshot_index_ + 1 + k) Broken("entry indices not contiguous");
    if (entries_[k].term < prev) Broken("entry terms decrease");
    prev = entries_[k].term;
  }
  if (!(snapshot_index_ <= applied_ && applied_ <= committed_ && committed_ <= last_index()))
    Broken("snapshot <= applied <= committed <= last");
  if (!(snapshot_index_ <= stable_ && stable_ <= last_index()))
    Broken("snapshot <= stable <= last");
}

}  // namespace ringwatch::raft
