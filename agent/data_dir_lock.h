#pragma once
// Exclusive ownership of data_dir for the lifetime of one agent: creates the
// directory (mode 0750) if missing and holds an flock on `data_dir/LOCK`, so
// that two agents never write the same Raft log. The lock is released by the
// kernel when the process exits, even after a crash.

#include <string>

namespace ringwatch::agent {

class DataDirLock {
 public:
  DataDirLock() = default;
  ~DataDirLock();
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

  // Returns an error message, or "" once the lock is held.
  std::string Acquire(const std::string& data_dir);

 private:
  int fd_ = -1;
};

}  // namespace ringwatch::agent
