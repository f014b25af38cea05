#include "agent/data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace ringwatch::agent {

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) ::close(fd_);
}

std::string DataDirLock::Acquire(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return "cannot create data_dir " + data_dir + ": " + ec.message();
  std::filesystem::permissions(data_dir, std::filesystem::perms::others_all,
                               std::filesystem::perm_options::remove, ec);
  const std::string path = data_dir + "/LOCK";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return "cannot open " + path + ": " + std::strerror(errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK)
      return "data_dir " + data_dir + " is in use by another ringwatch agent (" + path +
             " is locked)";
    return "cannot lock " + path + ": " + std::strerror(err);
  }
  // Record the owner's pid for operators; the flock is what matters.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] auto n = ::pwrite(fd, pid.data(), pid.size(), 0);
  }
  fd_ = fd;
  return "";
}

}  // namespace ringwatch::agent
