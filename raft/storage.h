#pragma once
// Storage: where a Node's durable state lives between restarts. Save() makes a
// Ready's snapshot, entries and hard state durable — in that order — before it
// returns, so the embedding may then send the Ready's messages (Figure 2:
// respond to RPCs only after updating stable storage). Load() returns what a
// restarted Node needs. Two implementations with identical semantics:
// MemoryStorage (tests, simulation) and FileStorage (the agent, under
// data_dir). Not thread-safe; one owner.

#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "raft/node.h"
#include "raft/types.h"

namespace ringwatch::raft {

struct StorageError {
  std::string message;  // names the file and offset when a file is at fault
};

struct Saved {};

class Storage {
 public:
  virtual ~Storage() = default;
  virtual core::Result<Restored, StorageError> Load() = 0;
  virtual core::Result<Saved, StorageError> Save(const Ready& ready) = 0;
};

// Keeps everything in memory; survives a simulated crash because the
// simulation keeps the object and builds a new Node from Load().
class MemoryStorage : public Storage {
 public:
  core::Result<Restored, StorageError> Load() override;
  core::Result<Saved, StorageError> Save(const Ready& ready) override;

  const HardState& hard_state() const { return state_.hard_state; }
  const std::vector<Entry>& entries() const { return state_.entries; }
  const std::optional<Snapshot>& snapshot() const { return state_.snapshot; }

 private:
  Restored state_;
};

// The rules both storages follow, shared so they cannot drift apart:
// a snapshot drops the entries it covers, and every entry when the log holds
// a different entry at the snapshot's index; entries replace every stored entry from
// their first index on; the hard state replaces the previous one.
void ApplySnapshot(std::vector<Entry>& entries, const Snapshot& snapshot);
void ApplyEntries(std::vector<Entry>& entries, const std::vector<Entry>& appended);

}  // namespace ringwatch::raft
