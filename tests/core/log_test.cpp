#include "core/log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace ringwatch::log {
namespace {

TEST(LogRender, TextHasComponentMessageAndFields) {
  EXPECT_EQ(Render(Format::kText, "http", "listening", {{"address", "127.0.0.1:7421"}}),
            "[http] listening address=127.0.0.1:7421");
}

TEST(LogRender, TextQuotesValuesThatWouldBreakTheLine) {
  EXPECT_EQ(Render(Format::kText, "agent", "cannot start",
                   {{"error", "data_dir is \"busy\""}, {"empty", ""}}),
            "[agent] cannot start error=\"data_dir is \\\"busy\\\"\" empty=\"\"");
}

TEST(LogRender, JsonIsAValidObjectOnceWrapped) {
  const std::string members =
      Render(Format::kJson, "raft", "became \"leader\"\n", {{"term", "5"}, {"peer", "node-2"}});
  // agent/logging.cpp wraps the members with time and level.
  const auto j = nlohmann::json::parse("{\"time\":\"t\",\"level\":\"info\"," + members + "}");
  EXPECT_EQ(j["component"], "raft");
  EXPECT_EQ(j["message"], "became \"leader\"\n");
  EXPECT_EQ(j["fields"]["term"], "5");
  EXPECT_EQ(j["fields"]["peer"], "node-2");
}

TEST(LogRender, JsonSurvivesInvalidUtf8) {
  const std::string members = Render(Format::kJson, "peer", "bad frame", {{"bytes", "\xff\xfe"}});
  nlohmann::json j;
  EXPECT_NO_THROW(j = nlohmann::json::parse("{" + members + "}"));
  EXPECT_EQ(j["fields"]["bytes"], "\xEF\xBF\xBD\xEF\xBF\xBD");  // U+FFFD twice
}

}  // namespace
}  // namespace ringwatch::log
