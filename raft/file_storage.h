#pragma once
// FileStorage: the durable Raft state under `<data_dir>/raft/`.
//
//   wal       "RWWAL\0\0\1", then records: [u32 length][u32 crc32c(payload)]
//             [u32 crc32c(first 8 bytes)] payload. A payload is one entry or
//             one hard state. Append-only: an entry replaces every entry at or
//             after its index (log repair), the last hard state wins.
//   snapshot  "RWSNAP\0\1", [u32 length][u32 crc32c] EncodeSnapshot.
//             Written to snapshot.tmp, fsynced, renamed, directory fsynced.
//   quarantine  present while the node is quarantined (Node::SetQuarantined:
//             it started without its Raft state); written atomically,
//             removed with a directory fsync.
//
// Save() writes all of a Ready's records with one write() and one
// fdatasync(): when it returns they are durable, so term, vote and entries
// are on disk before any message that depends on them is sent. A snapshot
// rewrites the wal (to wal.tmp, fsync, rename) holding only what follows it,
// which keeps the file bounded by raft.snapshot_entries.
//
// Load() replays the wal. A torn tail — the last record cut short, or a last
// record whose checksum fails, as a crash in the middle of a write leaves it
// — is truncated with a warning: it was never acknowledged. Any other damage
// (a bad header or checksum before the last record, a bad magic, an
// undecodable payload) fails with the file and the byte offset: committed
// data is never silently dropped.
//
// Not thread-safe; one owner (the agent's core loop).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "raft/storage.h"

namespace ringwatch::raft {

class FileStorage : public Storage {
 public:
  // `dir` is created on Load() if missing.
  explicit FileStorage(std::string dir);
  ~FileStorage() override;
  FileStorage(const FileStorage&) = delete;
  FileStorage& operator=(const FileStorage&) = delete;

  core::Result<Restored, StorageError> Load() override;
  // Precondition: Load() succeeded.
  core::Result<Saved, StorageError> Save(const Ready& ready) override;

  // After Load(): bytes of torn tail removed from the wal (0 when clean).
  uint64_t truncated_bytes() const { return truncated_bytes_; }
  // After Load(): true when nothing had ever been stored (a new member).
  bool fresh() const { return fresh_; }
  const std::string& wal_path() const { return wal_path_; }
  const std::string& snapshot_path() const { return snapshot_path_; }

 private:
  core::Result<Saved, StorageError> WriteSnapshot(const Snapshot& snapshot);
  core::Result<Saved, StorageError> RewriteWal();
  core::Result<Saved, StorageError> OpenWalForAppend();
  core::Result<Saved, StorageError> SaveQuarantine(bool quarantined);

  std::string dir_;
  std::string wal_path_;
  std::string snapshot_path_;
  std::string quarantine_path_;
  int wal_fd_ = -1;
  uint64_t truncated_bytes_ = 0;
  bool fresh_ = false;
  // A mirror of what is stored, to rewrite the wal after a snapshot.
  Restored state_;
};

}  // namespace ringwatch::raft
