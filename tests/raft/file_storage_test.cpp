#include "raft/file_storage.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/file.h"
#include "tests/raft/cluster.h"
#include "tests/support/temp_dir.h"

namespace ringwatch::raft {
namespace {

using testing::Cluster;
using testing::Id;

std::string Slurp(const std::string& path) {
  return core::ReadFile(path).value_or("");
}

void Spit(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

Restored MustLoad(FileStorage& fs) {
  auto r = fs.Load();
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? std::move(r).value() : Restored{};
}

void ExpectSame(const Restored& a, const Restored& b, const std::string& what) {
  EXPECT_EQ(a.hard_state, b.hard_state) << what;
  EXPECT_EQ(a.snapshot, b.snapshot) << what;
  EXPECT_EQ(a.entries, b.entries) << what;
}

Entry E(uint64_t index, uint64_t term, std::string data) {
  return Entry{Term{term}, LogIndex{index}, EntryType::kNormal, std::move(data)};
}

TEST(FileStorage, NewDirectoryIsFreshAndEmpty) {
  ringwatch::testing::TempDir dir;
  FileStorage fs(dir.File("raft"));
  Restored r = MustLoad(fs);
  EXPECT_TRUE(fs.fresh());
  EXPECT_TRUE(r.entries.empty());
  EXPECT_FALSE(r.snapshot);
  FileStorage again(dir.File("raft"));
  MustLoad(again);
  EXPECT_FALSE(again.fresh());
}

// The quarantine flag (a node that started without its Raft state) is
// durable: set, it survives a restart; lifted, it is gone after one.
TEST(FileStorage, TheQuarantineFlagIsDurable) {
  ringwatch::testing::TempDir dir;
  {
    FileStorage fs(dir.File("raft"));
    EXPECT_FALSE(MustLoad(fs).quarantined);
    Ready rd;
    rd.quarantined = true;
    ASSERT_TRUE(fs.Save(rd).ok());
  }
  {
    FileStorage fs(dir.File("raft"));
    EXPECT_TRUE(MustLoad(fs).quarantined);
    Ready rd;
    rd.quarantined = false;
    rd.entries = {E(1, 1, "a")};
    ASSERT_TRUE(fs.Save(rd).ok());
  }
  FileStorage fs(dir.File("raft"));
  Restored r = MustLoad(fs);
  EXPECT_FALSE(r.quarantined);
  EXPECT_EQ(r.entries.size(), 1u);
}

// The same Readies — taken from a real cluster run with log repair,
// snapshots from the leader and local compaction — give FileStorage and
// MemoryStorage the same state after every reload.
TEST(FileStorage, SameSemanticsAsMemoryStorage) {
  ringwatch::testing::TempDir dir;
  Cluster c({"a", "b", "c"});
  std::map<std::string, std::unique_ptr<FileStorage>> files;
  for (const char* id : {"a", "b", "c"}) {
    files[id] = std::make_unique<FileStorage>(dir.File(id));
    MustLoad(*files[id]);
    Ready seed;
    Restored boot = c.BootstrapRestored();
    seed.hard_state = boot.hard_state;
    seed.entries = boot.entries;
    ASSERT_TRUE(files[id]->Save(seed).ok());
  }
  c.OnSave([&](const std::string& id, const Ready& rd) {
    auto saved = files.at(id)->Save(rd);
    ASSERT_TRUE(saved.ok()) << saved.error().message;
  });
  auto compare = [&](const std::string& when) {
    for (const char* id : {"a", "b", "c"}) {
      files[id] = std::make_unique<FileStorage>(dir.File(id));
      Restored from_file = MustLoad(*files[id]);
      Restored from_memory = c.storage(id).Load().value();
      ExpectSame(from_file, from_memory, when + " / " + id);
    }
  };
  c.Elect("a");
  for (int i = 0; i < 5; ++i)
    c.Propose("a", "x" + std::to_string(i));
  compare("after replication");
  // c falls behind and collects entries of a leader that loses them.
  c.Isolate("a");
  for (int i = 0; i < 3; ++i)
    (void)c.node("a").Propose("lost" + std::to_string(i));
  c.Stabilize();
  // b and c stop hearing a and elect one of themselves.
  for (int i = 0; i < 40; ++i) {
    c.Tick("b");
    c.Tick("c");
    auto leaders = c.Leaders();
    if (std::find(leaders.begin(), leaders.end(), "a") == leaders.end() && !leaders.empty()) break;
    if (leaders.size() == 2) break;
  }
  c.Heal();
  c.TickAll(3);
  ASSERT_NE(c.Leaders().at(0), "a");
  bool lost_gone = true;
  for (const Entry& e : c.storage("a").entries())
    lost_gone = lost_gone && e.data.rfind("lost", 0) != 0;
  ASSERT_TRUE(lost_gone) << "a's uncommitted entries were replaced (log repair happened)";
  compare("after log repair");
  std::string leader = c.Leaders().at(0);
  std::string lagger = leader == "b" ? "c" : "b";
  c.Isolate(lagger);
  for (int i = 0; i < 10; ++i)
    (void)c.node(leader).Propose("y" + std::to_string(i));
  c.Stabilize();
  for (const char* id : {"a", "b", "c"}) {
    if (id == lagger) continue;
    c.node(id).Compact(c.node(id).log().applied(), c.sm(id).Snapshot());
    c.Flush(id);
  }
  compare("after compaction");
  c.Heal();
  c.TickAll(3);
  compare("after snapshot install");
  ASSERT_TRUE(c.storage(lagger).snapshot().has_value());
  EXPECT_EQ(c.sm(lagger).data, c.sm(leader).data);
}

// Writes a few records and returns the wal size before the last Save.
struct Written {
  Restored before_last;
  uint64_t last_start;
  uint64_t size;
};

Written WriteHistory(const std::string& dir) {
  FileStorage fs(dir);
  MustLoad(fs);
  Ready r1;
  r1.hard_state = HardState{Term{2}, Id("a"), LogIndex{0}};
  r1.entries = {E(1, 1, "one"), E(2, 2, "two")};
  EXPECT_TRUE(fs.Save(r1).ok());
  Ready r2;
  r2.entries = {E(3, 2, "three")};
  r2.hard_state = HardState{Term{2}, Id("a"), LogIndex{2}};
  EXPECT_TRUE(fs.Save(r2).ok());
  Written w;
  w.last_start = std::filesystem::file_size(fs.wal_path());
  FileStorage probe(dir);
  w.before_last = MustLoad(probe);
  Ready r3;
  r3.entries = {E(4, 2, std::string(40, 'x'))};  // one record
  EXPECT_TRUE(fs.Save(r3).ok());
  w.size = std::filesystem::file_size(fs.wal_path());
  return w;
}

// A crash in the middle of the last write leaves any prefix of it: the
// previous state comes back, the tail is cut off, and writing continues.
TEST(FileStorage, TornLastRecordAtEveryByteOffsetRecoversThePreviousState) {
  ringwatch::testing::TempDir dir;
  Written w = WriteHistory(dir.File("raft"));
  std::string full = Slurp(dir.File("raft/wal"));
  ASSERT_EQ(full.size(), w.size);
  ASSERT_GT(w.size, w.last_start + 12);
  for (uint64_t cut = w.last_start; cut < w.size; ++cut) {
    Spit(dir.File("raft/wal"), full.substr(0, cut));
    FileStorage fs(dir.File("raft"));
    Restored r = MustLoad(fs);
    ExpectSame(r, w.before_last, "cut at " + std::to_string(cut));
    EXPECT_EQ(fs.truncated_bytes(), cut - w.last_start);
    EXPECT_EQ(std::filesystem::file_size(dir.File("raft/wal")), w.last_start);
    // The log goes on from there.
    Ready next;
    next.entries = {E(4, 3, "again")};
    ASSERT_TRUE(fs.Save(next).ok());
    FileStorage reread(dir.File("raft"));
    Restored after = MustLoad(reread);
    ASSERT_EQ(after.entries.size(), 4u);
    EXPECT_EQ(after.entries.back().data, "again");
  }
  // A zero-filled tail (the file grew but the data never landed) is torn too.
  Spit(dir.File("raft/wal"), full.substr(0, w.last_start) + std::string(64, '\0'));
  FileStorage zeros(dir.File("raft"));
  ExpectSame(MustLoad(zeros), w.before_last, "zero tail");
}

// Damage before the last record is refused with the file and the offset of
// the damaged record, for a flipped bit anywhere in it.
TEST(FileStorage, FlippedBitInAnEarlierRecordIsRefusedWithFileAndOffset) {
  ringwatch::testing::TempDir dir;
  WriteHistory(dir.File("raft"));
  std::string full = Slurp(dir.File("raft/wal"));
  // The second record starts after the magic and the first record.
  uint32_t first_len = static_cast<uint8_t>(full[8]) | static_cast<uint8_t>(full[9]) << 8;
  uint64_t second = 8 + 12 + first_len;
  uint32_t second_len = static_cast<uint8_t>(full[second]) | static_cast<uint8_t>(full[second + 1])
                                                                 << 8;
  for (uint64_t byte = second; byte < second + 12 + second_len; ++byte) {
    for (int bit = 0; bit < 8; bit += 3) {
      std::string damaged = full;
      damaged[byte] = static_cast<char>(damaged[byte] ^ (1 << bit));
      Spit(dir.File("raft/wal"), damaged);
      FileStorage fs(dir.File("raft"));
      auto r = fs.Load();
      ASSERT_FALSE(r.ok()) << "byte " << byte << " bit " << bit << " went unnoticed";
      EXPECT_NE(r.error().message.find(dir.File("raft/wal")), std::string::npos);
      EXPECT_NE(r.error().message.find("offset " + std::to_string(second)), std::string::npos)
          << r.error().message;
      EXPECT_EQ(Slurp(dir.File("raft/wal")), damaged) << "a refused wal is left untouched";
    }
  }
  std::string bad_magic = full;
  bad_magic[0] = 'X';
  Spit(dir.File("raft/wal"), bad_magic);
  FileStorage fs(dir.File("raft"));
  auto r = fs.Load();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("offset 0"), std::string::npos);
}

TEST(FileStorage, SnapshotIsAtomicAndChecked) {
  ringwatch::testing::TempDir dir;
  {
    FileStorage fs(dir.File("raft"));
    MustLoad(fs);
    Ready r;
    r.hard_state = HardState{Term{3}, Id("b"), LogIndex{3}};
    r.entries = {E(1, 1, "a"), E(2, 2, "b"), E(3, 3, "c"), E(4, 3, "d")};
    ASSERT_TRUE(fs.Save(r).ok());
    Ready s;
    s.snapshot = Snapshot{LogIndex{3}, Term{3}, ConfState{{Id("a"), Id("b")}, {}}, "image"};
    ASSERT_TRUE(fs.Save(s).ok());
  }
  // A leftover temp file from a crash mid-snapshot is ignored.
  Spit(dir.File("raft/snapshot.tmp"), "half a snapshot");
  FileStorage fs(dir.File("raft"));
  Restored r = MustLoad(fs);
  ASSERT_TRUE(r.snapshot);
  EXPECT_EQ(r.snapshot->data, "image");
  EXPECT_EQ(r.snapshot->conf.voters.size(), 2u);
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_EQ(r.entries[0].index, LogIndex{4});
  EXPECT_EQ(r.hard_state.commit, LogIndex{3});
  EXPECT_FALSE(std::filesystem::exists(dir.File("raft/snapshot.tmp")));

  std::string snap = Slurp(dir.File("raft/snapshot"));
  snap[snap.size() - 2] ^= 1;
  Spit(dir.File("raft/snapshot"), snap);
  FileStorage damaged(dir.File("raft"));
  auto d = damaged.Load();
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find(dir.File("raft/snapshot")), std::string::npos);
}

// A node restarted from its files continues in the cluster as if it had
// never stopped: same term, vote, log and commit index.
TEST(FileStorage, NodeRestartsFromItsFiles) {
  ringwatch::testing::TempDir dir;
  Cluster c({"a", "b", "c"});
  auto fa = std::make_unique<FileStorage>(dir.File("a"));
  MustLoad(*fa);
  Ready seed;
  seed.hard_state = c.BootstrapRestored().hard_state;
  seed.entries = c.BootstrapRestored().entries;
  ASSERT_TRUE(fa->Save(seed).ok());
  c.OnSave([&](const std::string& id, const Ready& rd) {
    if (id == "a") {
      ASSERT_TRUE(fa->Save(rd).ok());
    }
  });
  c.Elect("a");
  for (int i = 0; i < 4; ++i)
    c.Propose("a", "v" + std::to_string(i));
  Status before = c.node("a").GetStatus();
  fa = std::make_unique<FileStorage>(dir.File("a"));
  Options o = c.OptionsFor("a");
  Node restarted(o, MustLoad(*fa));
  EXPECT_EQ(restarted.term(), before.term);
  EXPECT_EQ(restarted.GetStatus().vote, Id("a"));
  EXPECT_EQ(restarted.log().last_index(), before.last_index);
  EXPECT_EQ(restarted.log().committed(), before.commit);
  EXPECT_EQ(restarted.conf(), before.conf);
}

}  // namespace
}  // namespace ringwatch::raft
