#include "collectors/filesystem.h"

#include <set>
#include <sstream>

namespace ringwatch::collectors {
namespace {

const std::set<std::string, std::less<>>& IgnoredTypes() {
  static const std::set<std::string, std::less<>> types{
      "autofs",     "binfmt_misc", "bpf",       "cgroup",   "cgroup2",   "configfs",
      "debugfs",    "devpts",      "devtmpfs",  "fusectl",  "hugetlbfs", "iso9660",
      "mqueue",     "nsfs",        "overlay",   "proc",     "procfs",    "pstore",
      "rpc_pipefs", "securityfs",  "selinuxfs", "squashfs", "sysfs",     "tracefs"};
  return types;
}

bool IgnoredMountpoint(std::string_view m) {
  for (std::string_view prefix : {"/dev", "/proc", "/sys", "/run/credentials/"}) {
    if (m == prefix || (m.starts_with(prefix) && (prefix.back() == '/' || m[prefix.size()] == '/')))
      return true;
  }
  return false;
}

std::string Unescape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isdigit(static_cast<unsigned char>(s[i + 2])) &&
        std::isdigit(static_cast<unsigned char>(s[i + 3]))) {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

class FilesystemCollector : public Collector {
 public:
  explicit FilesystemCollector(Sources s) : sources_(std::move(s)) {}
  const char* name() const override { return "filesystem"; }
  bool Collect(std::vector<Family>* out) const override {
    const auto text = ReadFile(sources_.proc_root + "/mounts");
    if (!text || !sources_.statfs) return false;
    Family avail{"ringwatch_host_filesystem_avail_bytes",
                 "Filesystem space available to non-root users.",
                 MetricType::kGauge,
                 {}};
    Family size{"ringwatch_host_filesystem_size_bytes", "Filesystem size.", MetricType::kGauge, {}};
    for (const Mount& m : ParseMounts(*text)) {
      const auto st = sources_.statfs(m.mountpoint);
      if (!st) continue;  // e.g. a stale network mount: skip it, keep the others
      avail.samples.push_back({{{"mountpoint", m.mountpoint}}, st->avail_bytes});
      size.samples.push_back({{{"mountpoint", m.mountpoint}}, st->size_bytes});
    }
    out->push_back(std::move(avail));
    out->push_back(std::move(size));
    return true;
  }

 private:
  Sources sources_;
};

}  // namespace

std::vector<Mount> ParseMounts(std::string_view mounts) {
  std::vector<Mount> out;
  std::set<std::string> seen;
  std::istringstream in{std::string(mounts)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    Mount m;
    if (!(fields >> m.device >> m.mountpoint >> m.fstype)) continue;
    m.mountpoint = Unescape(m.mountpoint);
    if (IgnoredTypes().contains(m.fstype) || IgnoredMountpoint(m.mountpoint)) continue;
    if (!seen.insert(m.mountpoint).second) continue;
    out.push_back(std::move(m));
  }
  return out;
}

std::unique_ptr<Collector> MakeFilesystemCollector(const Sources& sources) {
  return std::make_unique<FilesystemCollector>(sources);
}

}  // namespace ringwatch::collectors
