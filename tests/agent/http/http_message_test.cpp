#include "agent/http/http_message.h"

#include <gtest/gtest.h>

namespace ringwatch::agent {
namespace {

TEST(HttpRequest, SplitsPathAndDecodesQuery) {
  HttpRequest r;
  r.target = "/v1/ring/lookup?key=user%3A42&replicas=2&flag&x=a+b&key=second&bad=%zz";
  EXPECT_EQ(r.Path(), "/v1/ring/lookup");
  const auto q = r.Query();
  EXPECT_EQ(q.at("key"), "user:42");  // the first value wins
  EXPECT_EQ(q.at("replicas"), "2");
  EXPECT_EQ(q.at("flag"), "");
  EXPECT_EQ(q.at("x"), "a b");
  EXPECT_EQ(q.at("bad"), "%zz");
}

TEST(HttpRequest, NoQuery) {
  HttpRequest r;
  r.target = "/livez";
  EXPECT_EQ(r.Path(), "/livez");
  EXPECT_TRUE(r.Query().empty());
  r.target = "/x?";
  EXPECT_EQ(r.Path(), "/x");
  EXPECT_TRUE(r.Query().empty());
}

TEST(JsonError, IsAnErrorObject) {
  const auto r = JsonError(404, "no such \"thing\"");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, "{\"error\":\"no such \\\"thing\\\"\"}\n");
}

}  // namespace
}  // namespace ringwatch::agent
