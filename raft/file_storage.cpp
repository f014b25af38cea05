#include "raft/file_storage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/byte_codec.h"
#include "core/crc32c.h"
#include "core/file.h"
#include "core/log.h"
#include "raft/codec.h"

namespace ringwatch::raft {
namespace {

constexpr std::string_view kWalMagic{"RWWAL\0\0\1", 8};
constexpr std::string_view kSnapshotMagic{"RWSNAP\0\1", 8};
constexpr std::size_t kHeaderBytes = 12;
// Larger than any entry or snapshot ringwatch writes; a header that claims
// more is damage, not data.
constexpr uint32_t kMaxRecordBytes = 256u << 20;

enum class RecordType : uint8_t { kEntry = 1, kHardState = 2 };

core::Error<StorageError> Fail(std::string message) {
  return core::MakeError(StorageError{std::move(message)});
}

std::string Errno() {
  return std::strerror(errno);
}

std::string Record(RecordType type, std::string_view body) {
  std::string payload;
  payload.reserve(body.size() + 1);
  payload.push_back(static_cast<char>(type));
  payload.append(body);
  core::ByteWriter header;
  header.U32(static_cast<uint32_t>(payload.size()));
  header.U32(core::Crc32c(payload));
  std::string out = header.Take();
  core::ByteWriter check;
  check.U32(core::Crc32c(out));
  out += check.data();
  out += payload;
  return out;
}

// Writes `data` to `path` through `path.tmp`: fsync, rename, fsync the directory.
core::Result<Saved, StorageError> SaveAtomically(const std::string& path, std::string_view data) {
  std::string error;
  if (!core::WriteFileAtomically(path, data, 0600, &error)) return Fail(error);
  return Saved{};
}

bool AllZero(std::string_view bytes) {
  for (char c : bytes)
    if (c != 0) return false;
  return true;
}

}  // namespace

FileStorage::FileStorage(std::string dir)
    : dir_(std::move(dir)),
      wal_path_(dir_ + "/wal"),
      snapshot_path_(dir_ + "/snapshot"),
      quarantine_path_(dir_ + "/quarantine") {}

core::Result<Saved, StorageError> FileStorage::SaveQuarantine(bool quarantined) {
  if (quarantined)
    return SaveAtomically(quarantine_path_,
                          "This member started without its Raft state: it does not vote until\n"
                          "the cluster has replaced its old identity (docs/raft.md).\n");
  if (::unlink(quarantine_path_.c_str()) != 0 && errno != ENOENT)
    return Fail(quarantine_path_ + ": cannot remove: " + Errno());
  const int dir = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return Fail(dir_ + ": cannot open: " + Errno());
  const bool synced = ::fsync(dir) == 0;
  ::close(dir);
  if (!synced) return Fail(dir_ + ": cannot fsync: " + Errno());
  return Saved{};
}

FileStorage::~FileStorage() {
  if (wal_fd_ >= 0) ::close(wal_fd_);
}

core::Result<Restored, StorageError> FileStorage::Load() {
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST)
    return Fail(dir_ + ": cannot create: " + Errno());
  state_ = Restored{};
  state_.quarantined = ::access(quarantine_path_.c_str(), F_OK) == 0;
  truncated_bytes_ = 0;
  ::unlink((wal_path_ + ".tmp").c_str());  // an unfinished rewrite; the old file stands
  ::unlink((snapshot_path_ + ".tmp").c_str());

  std::string error;
  bool have_snapshot = false;
  if (auto bytes = core::ReadFile(snapshot_path_, &error)) {
    have_snapshot = true;
    std::string_view in = *bytes;
    core::ByteReader r(in.size() >= kSnapshotMagic.size() ? in.substr(kSnapshotMagic.size()) : "");
    uint32_t length = 0, crc = 0;
    std::string_view body;
    if (!in.starts_with(kSnapshotMagic))
      return Fail(snapshot_path_ + ": offset 0: not a ringwatch snapshot (bad magic)");
    if (!r.U32(&length) || !r.U32(&crc) || !r.Bytes(length, &body) || r.remaining() != 0 ||
        core::Crc32c(body) != crc)
      return Fail(snapshot_path_ + ": offset 8: snapshot is damaged (length or checksum)");
    auto snapshot = DecodeSnapshot(body);
    if (!snapshot) return Fail(snapshot_path_ + ": offset 16: snapshot does not decode");
    state_.snapshot = std::move(snapshot);
  } else if (errno != ENOENT) {
    return Fail(snapshot_path_ + ": cannot read: " + error);
  }

  auto wal = core::ReadFile(wal_path_, &error);
  if (!wal) {
    if (errno != ENOENT) return Fail(wal_path_ + ": cannot read: " + error);
    if (have_snapshot)
      return Fail(wal_path_ + ": missing while " + snapshot_path_ +
                  " exists; refusing to start without the term and vote it held");
    fresh_ = true;
    auto created = RewriteWal();
    if (!created.ok()) return core::MakeError(std::move(created).error());
    return state_;
  }
  fresh_ = false;
  std::string_view in = *wal;
  if (!in.starts_with(kWalMagic))
    return Fail(wal_path_ + ": offset 0: not a ringwatch wal (bad magic)");
  std::size_t off = kWalMagic.size();
  std::size_t good_end = off;
  while (off < in.size()) {
    std::string_view rest = in.substr(off);
    auto torn = [&](const char* why) {
      log::Warn("raft", "wal ends in a torn record; truncating it (it was never acknowledged)",
                {{"file", wal_path_},
                 {"offset", std::to_string(off)},
                 {"bytes", std::to_string(rest.size())},
                 {"reason", why}});
      truncated_bytes_ = rest.size();
    };
    if (rest.size() < kHeaderBytes) {
      torn("short header");
      break;
    }
    core::ByteReader h(rest);
    uint32_t length = 0, crc = 0, header_crc = 0;
    h.U32(&length);
    h.U32(&crc);
    h.U32(&header_crc);
    if (core::Crc32c(rest.substr(0, 8)) != header_crc || length > kMaxRecordBytes) {
      if (AllZero(rest)) {
        torn("zero-filled tail");
        break;
      }
      return Fail(wal_path_ + ": offset " + std::to_string(off) +
                  ": corrupt record header; refusing to start (committed entries could be lost)");
    }
    if (rest.size() - kHeaderBytes < length) {
      torn("short record");
      break;
    }
    std::string_view payload = rest.substr(kHeaderBytes, length);
    bool last = rest.size() - kHeaderBytes == length;
    if (core::Crc32c(payload) != crc) {
      if (last) {
        torn("checksum of the last record");
        break;
      }
      return Fail(
          wal_path_ + ": offset " + std::to_string(off) +
          ": record checksum mismatch; refusing to start (committed entries could be lost)");
    }
    bool decoded = false;
    if (!payload.empty()) {
      auto type = static_cast<RecordType>(payload[0]);
      std::string_view body = payload.substr(1);
      if (type == RecordType::kEntry) {
        if (auto e = DecodeEntry(body)) {
          ApplyEntries(state_.entries, {*e});
          decoded = true;
        }
      } else if (type == RecordType::kHardState) {
        if (auto hs = DecodeHardState(body)) {
          state_.hard_state = *hs;
          decoded = true;
        }
      }
    }
    if (!decoded)
      return Fail(wal_path_ + ": offset " + std::to_string(off) +
                  ": record does not decode (written by a newer version?)");
    off += kHeaderBytes + length;
    good_end = off;
  }
  if (state_.snapshot) ApplySnapshot(state_.entries, *state_.snapshot);
  // Entries must follow the snapshot (or index 1) without a gap.
  LogIndex expect = state_.snapshot ? state_.snapshot->index + 1 : LogIndex{1};
  for (const Entry& e : state_.entries) {
    if (e.index != expect)
      return Fail(wal_path_ + ": entries are not contiguous at index " +
                  std::to_string(e.index.value) + " (expected " + std::to_string(expect.value) +
                  ")");
    expect = e.index + 1;
  }

  if (wal_fd_ >= 0) ::close(wal_fd_);
  wal_fd_ = ::open(wal_path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (wal_fd_ < 0) return Fail(wal_path_ + ": cannot open for writing: " + Errno());
  if (good_end != in.size()) {
    if (::ftruncate(wal_fd_, static_cast<off_t>(good_end)) != 0 || ::fsync(wal_fd_) != 0)
      return Fail(wal_path_ + ": cannot truncate the torn tail: " + Errno());
  }
  return state_;
}

core::Result<Saved, StorageError> FileStorage::WriteSnapshot(const Snapshot& snapshot) {
  std::string body = EncodeSnapshot(snapshot);
  core::ByteWriter w;
  w.Bytes(kSnapshotMagic);
  w.U32(static_cast<uint32_t>(body.size()));
  w.U32(core::Crc32c(body));
  w.Bytes(body);
  return SaveAtomically(snapshot_path_, w.data());
}

core::Result<Saved, StorageError> FileStorage::RewriteWal() {
  std::string data(kWalMagic);
  data += Record(RecordType::kHardState, EncodeHardState(state_.hard_state));
  for (const Entry& e : state_.entries)
    data += Record(RecordType::kEntry, EncodeEntry(e));
  auto written = SaveAtomically(wal_path_, data);
  if (!written.ok()) return written;
  if (wal_fd_ >= 0) ::close(wal_fd_);
  wal_fd_ = ::open(wal_path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (wal_fd_ < 0) return Fail(wal_path_ + ": cannot open for writing: " + Errno());
  return Saved{};
}

core::Result<Saved, StorageError> FileStorage::Save(const Ready& ready) {
  if (wal_fd_ < 0) return Fail(wal_path_ + ": Save() before a successful Load()");
  if (ready.quarantined) {
    auto saved = SaveQuarantine(*ready.quarantined);
    if (!saved.ok()) return saved;
    state_.quarantined = *ready.quarantined;
  }
  if (ready.snapshot) {
    // Snapshot first: once it is durable the wal may forget what it covers.
    auto written = WriteSnapshot(*ready.snapshot);
    if (!written.ok()) return written;
    state_.snapshot = ready.snapshot;
    ApplySnapshot(state_.entries, *ready.snapshot);
    if (ready.hard_state) state_.hard_state = *ready.hard_state;
    ApplyEntries(state_.entries, ready.entries);
    return RewriteWal();
  }
  std::string data;
  for (const Entry& e : ready.entries)
    data += Record(RecordType::kEntry, EncodeEntry(e));
  if (ready.hard_state) data += Record(RecordType::kHardState, EncodeHardState(*ready.hard_state));
  if (data.empty()) return Saved{};
  if (!core::WriteAll(wal_fd_, data) || ::fdatasync(wal_fd_) != 0)
    return Fail(wal_path_ + ": cannot append: " + Errno());
  ApplyEntries(state_.entries, ready.entries);
  if (ready.hard_state) state_.hard_state = *ready.hard_state;
  return Saved{};
}

}  // namespace ringwatch::raft
