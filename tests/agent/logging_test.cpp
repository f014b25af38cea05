#include "agent/logging.h"

#include <gtest/gtest.h>
#include <spdlog/common.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace ringwatch::agent {
namespace {

TEST(Logging, JournalStreamMustNameTheFileOnTheDescriptor) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  const int fd = fileno(f);
  struct stat st {};
  ASSERT_EQ(fstat(fd, &st), 0);
  const std::string dev = std::to_string(st.st_dev);
  const std::string ino = std::to_string(st.st_ino);
  EXPECT_TRUE(StreamIsJournal((dev + ":" + ino).c_str(), fd));
  EXPECT_FALSE(StreamIsJournal((dev + ":" + std::to_string(st.st_ino + 1)).c_str(), fd));
  EXPECT_FALSE(StreamIsJournal((dev + ":" + ino + "x").c_str(), fd));
  EXPECT_FALSE(StreamIsJournal(ino.c_str(), fd));
  EXPECT_FALSE(StreamIsJournal("", fd));
  EXPECT_FALSE(StreamIsJournal(nullptr, fd));
  std::fclose(f);
}

TEST(Logging, LevelsMapOntoSyslogPriorities) {
  EXPECT_STREQ(JournalPrefix(spdlog::level::trace), "<7>");
  EXPECT_STREQ(JournalPrefix(spdlog::level::debug), "<7>");
  EXPECT_STREQ(JournalPrefix(spdlog::level::info), "<6>");
  EXPECT_STREQ(JournalPrefix(spdlog::level::warn), "<4>");
  EXPECT_STREQ(JournalPrefix(spdlog::level::err), "<3>");
  EXPECT_STREQ(JournalPrefix(spdlog::level::critical), "<2>");
}

}  // namespace
}  // namespace ringwatch::agent
