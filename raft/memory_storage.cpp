#include <algorithm>

#include "raft/storage.h"

namespace ringwatch::raft {

void ApplySnapshot(std::vector<Entry>& entries, const Snapshot& snapshot) {
  auto at = std::find_if(entries.begin(), entries.end(),
                         [&](const Entry& e) { return e.index == snapshot.index; });
  if (at == entries.end()) {
    // Entries after the snapshot point (written after it) stay.
    std::erase_if(entries, [&](const Entry& e) { return e.index <= snapshot.index; });
  } else if (at->term == snapshot.term) {
    entries.erase(entries.begin(), at + 1);
  } else {
    entries.clear();  // the log disagrees with the leader's snapshot: all of it goes
  }
}

void ApplyEntries(std::vector<Entry>& entries, const std::vector<Entry>& appended) {
  if (appended.empty()) return;
  LogIndex first = appended.front().index;
  std::erase_if(entries, [&](const Entry& e) { return e.index >= first; });
  entries.insert(entries.end(), appended.begin(), appended.end());
}

core::Result<Restored, StorageError> MemoryStorage::Load() {
  return state_;
}

core::Result<Saved, StorageError> MemoryStorage::Save(const Ready& ready) {
  if (ready.snapshot) {
    ApplySnapshot(state_.entries, *ready.snapshot);
    state_.snapshot = ready.snapshot;
  }
  ApplyEntries(state_.entries, ready.entries);
  if (ready.hard_state) state_.hard_state = *ready.hard_state;
  if (ready.quarantined) state_.quarantined = *ready.quarantined;
  return Saved{};
}

}  // namespace ringwatch::raft
