#include "core/file.h"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace ringwatch::core {
namespace {

TEST(ReadFile, ReadsBytesOrSaysWhy) {
  testing::TempDir dir;
  const std::string path = dir.Write("f", std::string("a\0b\n", 4));
  EXPECT_EQ(ReadFile(path), std::string("a\0b\n", 4));
  std::string why;
  EXPECT_FALSE(ReadFile(dir.File("missing"), &why));
  EXPECT_EQ(why, "No such file or directory");
}

TEST(Trim, RemovesBlanksAtBothEnds) {
  EXPECT_EQ(Trim("  s3cret \r\n"), "s3cret");
  EXPECT_EQ(Trim("a b"), "a b");
  EXPECT_EQ(Trim(" \t\r\n"), "");
  EXPECT_EQ(Trim(""), "");
}

}  // namespace
}  // namespace ringwatch::core
