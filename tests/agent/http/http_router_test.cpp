#include "agent/http/http_router.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "agent/ring_service.h"
#include "ring/move_plan.h"

namespace ringwatch::agent {
namespace {

// A deferred answer, collected: the test sources below answer at once.
HttpResponse Settle(HttpResponse r) {
  if (!r.deferred) return r;
  std::optional<HttpResponse> answer;
  r.deferred([&answer](HttpResponse a) { answer = std::move(a); });
  if (!answer) {
    ADD_FAILURE() << "the deferred answer never came";
    return JsonError(599, "no answer");
  }
  answer->route = r.route;
  return *answer;
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() : router_(Sources()) {
    auto s = std::make_shared<StatusSnapshot>();
    s->node_id = "node-<1>";
    s->cluster = "test";
    s->version = "0.1.0";
    s->not_ready_reason = "no committed membership view yet";
    snapshot_ = s;
  }

  HttpResponse Call(const std::string& method, const std::string& target) {
    HttpRequest r;
    r.method = method;
    r.target = target;
    return Settle(router_.Route(r));
  }

  RouterSources Sources() {
    RouterSources s;
    s.snapshot = [this] { return snapshot_; };
    s.metrics = [this] {
      ++metrics_calls_;
      return std::string("# metrics\n");
    };
    s.arrivals = [](const std::string& id, RouterSources::ArrivalsDone done) {
      if (id != "node-2") return done(std::nullopt);
      done(std::string("1.0\n1.1\n"));
    };
    return s;
  }

  std::shared_ptr<const StatusSnapshot> snapshot_;
  int metrics_calls_ = 0;
  HttpRouter router_;
};

TEST_F(RouterTest, Livez) {
  const auto r = Call("GET", "/livez");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
  EXPECT_EQ(r.route, "livez");
}

TEST_F(RouterTest, ReadyzExplainsWhyNotReady) {
  const auto r = Call("GET", "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.content_type, "application/json");
  const auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["ready"], false);
  EXPECT_EQ(j["reason"], "no committed membership view yet");
}

TEST_F(RouterTest, ReadyzFollowsTheLatestSnapshot) {
  auto s = std::make_shared<StatusSnapshot>(*snapshot_);
  s->ready = true;
  s->not_ready_reason.clear();
  snapshot_ = s;
  const auto r = Call("GET", "/readyz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(nlohmann::json::parse(r.body)["ready"], true);
}

TEST_F(RouterTest, MetricsUsesTheRendererAndTextFormat) {
  const auto r = Call("GET", "/metrics?debug=1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "# metrics\n");
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(metrics_calls_, 1);
}

TEST_F(RouterTest, IndexLinksEndpointsAndEscapesHtml) {
  const auto r = Call("GET", "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  for (const char* link : {"href=\"/metrics\"", "href=\"/livez\"", "href=\"/readyz\""}) {
    EXPECT_NE(r.body.find(link), std::string::npos) << link;
  }
  EXPECT_NE(r.body.find("node-&lt;1&gt;"), std::string::npos);
  EXPECT_EQ(r.body.find("node-<1>"), std::string::npos);
}

TEST_F(RouterTest, UnknownPathIs404Json) {
  const auto r = Call("GET", "/nope?x=1");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"], "no such endpoint: /nope");
  EXPECT_EQ(r.route, "not_found");
}

TEST_F(RouterTest, WrongMethodIs405WithAllow) {
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    const auto r = Call(method, "/metrics");
    EXPECT_EQ(r.status, 405) << method;
    EXPECT_EQ(nlohmann::json::parse(r.body)["error"],
              std::string("method ") + method + " not allowed on /metrics (allowed: GET, HEAD)");
    ASSERT_EQ(r.headers.size(), 1u);
    EXPECT_EQ(r.headers[0], (std::pair<std::string, std::string>{"Allow", "GET, HEAD"}));
    EXPECT_EQ(metrics_calls_, 0);
  }
}

TEST_F(RouterTest, HeadIsAnsweredLikeGet) {
  const auto r = Call("HEAD", "/livez");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");  // the server drops the body, keeping Content-Length
}

TEST_F(RouterTest, MembersListsThisAgentAndItsObservations) {
  auto s = std::make_shared<StatusSnapshot>(*snapshot_);
  s->address = "10.0.0.1";
  s->service = "10.0.0.1:11211";
  s->incarnation = 7;
  PeerView heard;
  heard.id = "node-2";
  heard.address = "10.0.0.2:7420";
  heard.incarnation = 9;
  heard.heard = true;
  heard.phi = 12.5;
  heard.silence_seconds = 0.75;
  heard.rtt_seconds = 0.0004;
  heard.suspected = true;
  heard.suspected_by = "phi";
  PeerView seed;
  seed.address = "10.0.0.3:7420";
  s->peers = {heard, seed};
  snapshot_ = s;
  const auto r = Call("GET", "/v1/members");
  ASSERT_EQ(r.status, 200);
  const auto j = nlohmann::json::parse(r.body);
  ASSERT_EQ(j["members"].size(), 3u);
  const auto& self = j["members"][0];
  EXPECT_EQ(self["id"], "node-<1>");
  EXPECT_EQ(self["service"], "10.0.0.1:11211");
  EXPECT_EQ(self["incarnation"], 7);
  EXPECT_TRUE(self["local"].is_null());
  const auto& peer = j["members"][1];
  EXPECT_EQ(peer["id"], "node-2");
  EXPECT_EQ(peer["address"], "10.0.0.2:7420");
  EXPECT_EQ(peer["incarnation"], 9);
  EXPECT_DOUBLE_EQ(peer["local"]["phi"].get<double>(), 12.5);
  EXPECT_DOUBLE_EQ(peer["local"]["silence_seconds"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(peer["local"]["rtt_seconds"].get<double>(), 0.0004);
  EXPECT_EQ(peer["local"]["suspected"], true);
  EXPECT_EQ(peer["local"]["suspected_by"], "phi");
  const auto& unheard = j["members"][2];
  EXPECT_TRUE(unheard["id"].is_null());
  EXPECT_TRUE(unheard["local"]["rtt_seconds"].is_null());
  EXPECT_TRUE(unheard["local"]["suspected_by"].is_null());
  EXPECT_EQ(unheard["local"]["heard"], false);
}

TEST_F(RouterTest, ArrivalsOfAWatchedPeerAsATrace) {
  auto r = Call("GET", "/v1/peers/node-2/arrivals");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(r.body, "1.0\n1.1\n");
  EXPECT_EQ(r.route, "arrivals");
  r = Call("GET", "/v1/peers/node-9/arrivals");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"], "peer node-9 is not watched by this agent");
  EXPECT_EQ(Call("GET", "/v1/peers//arrivals").status, 404);
  EXPECT_EQ(Call("GET", "/v1/peers/node-2/arrivals/x").status, 404);
  EXPECT_EQ(Call("POST", "/v1/peers/node-2/arrivals").status, 405);
}

}  // namespace
}  // namespace ringwatch::agent

namespace ringwatch::agent {
namespace {

TEST_F(RouterTest, StatusShowsRaftAndNullViewUntilMembership) {
  auto before = nlohmann::json::parse(Call("GET", "/v1/status").body);
  EXPECT_EQ(before["node"], "node-<1>");
  EXPECT_TRUE(before["raft"].is_null()) << "raft not started yet";
  auto s = std::make_shared<StatusSnapshot>(*snapshot_);
  RaftView v;
  v.role = "leader";
  v.term = 4;
  v.leader = "node-<1>";
  v.commit_index = 17;
  v.applied_index = 16;
  v.voters = {"a", "b", "node-<1>"};
  v.learners = {"l"};
  s->raft = v;
  snapshot_ = s;
  const auto r = Call("GET", "/v1/status");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.route, "status");
  const auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["cluster"], "test");
  EXPECT_EQ(j["raft"]["role"], "leader");
  EXPECT_EQ(j["raft"]["term"], 4);
  EXPECT_EQ(j["raft"]["leader"], "node-<1>");
  EXPECT_EQ(j["raft"]["commit_index"], 17);
  EXPECT_EQ(j["raft"]["applied_index"], 16);
  EXPECT_EQ(j["raft"]["voters"].size(), 3u);
  EXPECT_EQ(j["raft"]["learners"][0], "l");
  EXPECT_TRUE(j.contains("view") && j["view"].is_null());
  EXPECT_TRUE(j.contains("ring") && j["ring"].is_null());
  s->raft->leader.clear();
  EXPECT_TRUE(nlohmann::json::parse(Call("GET", "/v1/status").body)["raft"]["leader"].is_null());
}

}  // namespace
}  // namespace ringwatch::agent

namespace ringwatch::agent {
namespace {

std::shared_ptr<const membership::View> SampleView() {
  membership::View v;
  using membership::Command;
  v.Apply(Command{1'700'000'000'000,
                  membership::AddMember{{"a", "10.0.0.1:7420", "z1", "10.0.0.1:80", 2, 5}}});
  v.Apply(
      Command{1'700'000'000'100, membership::AddMember{{"b", "10.0.0.2:7420", "z2", "", 1, 6}}});
  membership::Diagnosis d;
  d.cls = membership::DiagnosisClass::kProcessDown;
  d.observers = {{"a", 21.5, 0.5, true}};
  d.probe = membership::ProbeResult::kRefused;
  d.decided_at_ms = 1'700'000'000'500;
  v.Apply(Command{1'700'000'000'500, membership::MarkDead{"b", 6, d}});
  return std::make_shared<const membership::View>(v);
}

TEST_F(RouterTest, MembersComeFromTheCommittedViewWithLocalObservations) {
  auto s = std::make_shared<StatusSnapshot>(*snapshot_);
  s->view = SampleView();
  PeerView b;
  b.id = "b";
  b.suspected = true;
  b.suspected_by = "phi";
  b.phi = 21.5;
  s->peers = {b};
  snapshot_ = s;
  const auto j = nlohmann::json::parse(Call("GET", "/v1/members").body);
  EXPECT_EQ(j["version"], 3);
  ASSERT_EQ(j["members"].size(), 2u);
  EXPECT_EQ(j["members"][0]["id"], "a");
  EXPECT_EQ(j["members"][0]["state"], "alive");
  EXPECT_EQ(j["members"][0]["zone"], "z1");
  EXPECT_EQ(j["members"][0]["weight"], 2);
  EXPECT_EQ(j["members"][0]["since"], "2023-11-14T22:13:20.000Z");
  EXPECT_TRUE(j["members"][0]["local"].is_null()) << "a is not watched by this agent";
  EXPECT_EQ(j["members"][1]["state"], "dead");
  EXPECT_EQ(j["members"][1]["local"]["suspected_by"], "phi");
  const auto st = nlohmann::json::parse(Call("GET", "/v1/status").body);
  EXPECT_EQ(st["view"]["alive"], 1);
  EXPECT_EQ(st["view"]["dead"], 1);
  EXPECT_EQ(st["view"]["version"], 3);
}

TEST_F(RouterTest, EventsSinceASequenceNumber) {
  auto s = std::make_shared<StatusSnapshot>(*snapshot_);
  s->view = SampleView();
  snapshot_ = s;
  auto all = nlohmann::json::parse(Call("GET", "/v1/events").body)["events"];
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2]["kind"], "dead");
  EXPECT_EQ(all[2]["diagnosis"], "process_down");
  EXPECT_EQ(all[2]["member"], "b");
  auto later = nlohmann::json::parse(Call("GET", "/v1/events?since=2").body)["events"];
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0]["seq"], 3);
  for (const char* bad : {"/v1/events?since=x", "/v1/events?since=-1", "/v1/events?since=2x"}) {
    auto r = Call("GET", bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_NE(r.body.find("since must be"), std::string::npos);
  }
}

TEST_F(RouterTest, DiagnosisOfADeadMemberAnd404Otherwise) {
  auto s = std::make_shared<StatusSnapshot>(*snapshot_);
  s->view = SampleView();
  snapshot_ = s;
  auto r = Call("GET", "/v1/diagnosis/b");
  ASSERT_EQ(r.status, 200);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["class"], "process_down");
  EXPECT_EQ(j["probe"], "refused");
  EXPECT_EQ(j["observers"][0]["id"], "a");
  EXPECT_DOUBLE_EQ(j["observers"][0]["phi"].get<double>(), 21.5);
  EXPECT_EQ(j["decided_at"], "2023-11-14T22:13:20.500Z");
  EXPECT_EQ(Call("GET", "/v1/diagnosis/a").status, 404) << "alive since it joined";
  EXPECT_EQ(Call("GET", "/v1/diagnosis/zz").status, 404);
}

}  // namespace
}  // namespace ringwatch::agent

namespace ringwatch::agent {
namespace {

class PostRouterTest : public ::testing::Test {
 protected:
  HttpRouter Make(const std::string& token) {
    RouterSources s;
    auto snap = std::make_shared<StatusSnapshot>();
    s.snapshot = [snap] { return snap; };
    s.metrics = [] { return std::string(); };
    s.leave = [this](RouterSources::ActionDone done) {
      ++leaves_;
      done({200, "left the cluster; the agent is stopping"});
    };
    s.remove = [this](const std::string& id, RouterSources::ActionDone done) {
      removed_.push_back(id);
      done(id == "alive-one" ? ActionResult{409, "member alive-one is alive"}
                             : ActionResult{200, "removed " + id});
    };
    s.token = [token] { return token; };
    s.own_hosts = {"node-1.example"};
    return HttpRouter(std::move(s));
  }
  static HttpRequest Post(const std::string& target, bool loopback,
                          const std::string& authorization = "") {
    HttpRequest r;
    r.method = "POST";
    r.target = target;
    r.from_loopback = loopback;
    if (!authorization.empty()) r.headers["authorization"] = authorization;
    return r;
  }
  // The router's answer, with a deferred one collected.
  static HttpResponse Route(const HttpRouter& router, const HttpRequest& request) {
    return Settle(router.Route(request));
  }
  int leaves_ = 0;
  std::vector<std::string> removed_;
};

TEST_F(PostRouterTest, WithoutATokenOnlyLoopbackClientsMayPost) {
  HttpRouter router = Make("");
  auto remote = Route(router, Post("/v1/leave", false));
  EXPECT_EQ(remote.status, 403);
  EXPECT_NE(remote.body.find("http.token_file"), std::string::npos);
  EXPECT_EQ(leaves_, 0);
  auto local = Route(router, Post("/v1/leave", true));
  EXPECT_EQ(local.status, 200);
  EXPECT_EQ(leaves_, 1);
  EXPECT_EQ(Route(router, Post("/v1/members/n9/remove", true)).status, 200);
  EXPECT_EQ(Route(router, Post("/v1/members/alive-one/remove", true)).status, 409);
  EXPECT_EQ(removed_, (std::vector<std::string>{"n9", "alive-one"}));
  HttpRequest get;
  get.method = "GET";
  get.target = "/v1/leave";
  EXPECT_EQ(router.Route(get).status, 405);
}

TEST_F(PostRouterTest, WithATokenEveryClientNeedsTheBearerHeader) {
  HttpRouter router = Make("s3cret");
  for (const std::string& bad : std::vector<std::string>{"", "Bearer nope", "Bearer s3cre",
                                                         "Basic s3cret", "Bearer s3cret "}) {
    auto r = Route(router, Post("/v1/leave", true, bad));
    EXPECT_EQ(r.status, 401) << bad;
    bool challenge = false;
    for (const auto& [k, v] : r.headers)
      challenge = challenge || k == "WWW-Authenticate";
    EXPECT_TRUE(challenge);
  }
  EXPECT_EQ(leaves_, 0);
  EXPECT_EQ(Route(router, Post("/v1/leave", false, "Bearer s3cret")).status, 200);
  EXPECT_EQ(leaves_, 1);
}

TEST_F(PostRouterTest, RefusalsSayWhyForTheMetric) {
  HttpRouter open = Make("");
  EXPECT_EQ(Route(open, Post("/v1/leave", false)).refusal, "not_loopback");
  EXPECT_EQ(Route(open, Post("/v1/leave", true)).refusal, "");
  HttpRouter locked = Make("s3cret");
  EXPECT_EQ(Route(locked, Post("/v1/leave", true)).refusal, "missing_token");
  EXPECT_EQ(Route(locked, Post("/v1/leave", true, "Bearer x")).refusal, "bad_token");
  EXPECT_EQ(leaves_, 1);
}

TEST_F(PostRouterTest, ATokenReadAnewTakesEffectAtOnce) {
  std::string token = "old";
  RouterSources s;
  auto snap = std::make_shared<StatusSnapshot>();
  s.snapshot = [snap] { return snap; };
  s.leave = [](RouterSources::ActionDone done) { done({200, "left"}); };
  s.token = [&token] { return token; };
  HttpRouter router(std::move(s));
  EXPECT_EQ(Route(router, Post("/v1/leave", false, "Bearer old")).status, 200);
  token = "new";
  EXPECT_EQ(Route(router, Post("/v1/leave", false, "Bearer old")).status, 401);
  EXPECT_EQ(Route(router, Post("/v1/leave", false, "Bearer new")).status, 200);
}

TEST_F(PostRouterTest, ActionsAreDeferredAndRunOnlyWhenTheServerStartsThem) {
  HttpRouter router = Make("");
  HttpResponse r = router.Route(Post("/v1/leave", true));
  ASSERT_TRUE(r.deferred);
  EXPECT_EQ(r.route, "leave");
  EXPECT_EQ(leaves_, 0);  // routing alone does not leave
  std::optional<HttpResponse> answer;
  r.deferred([&answer](HttpResponse a) { answer = std::move(a); });
  EXPECT_EQ(leaves_, 1);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(nlohmann::json::parse(answer->body)["result"],
            "left the cluster; the agent is stopping");
}

// A browser on the operator's desktop may be made to POST to the agent by a
// page from anywhere: CSRF (the page's Origin) and DNS rebinding (a foreign
// host name resolving to the agent) are refused, the agent's own pages and
// command-line clients (no Origin) are not.
TEST_F(PostRouterTest, BrowserRequestsFromAnotherOriginAreRefused) {
  HttpRouter router = Make("");
  auto post = [&](const std::map<std::string, std::string>& headers, bool tls = false) {
    HttpRequest r = Post("/v1/leave", true);
    r.tls = tls;
    for (const auto& [k, v] : headers)
      r.headers[k] = v;
    return Route(router, r);
  };
  // Refused: another site's page, a rebound host name, a sandboxed page, a
  // scheme that is not the one served, a cross-site fetch without Origin.
  for (const auto& headers : std::vector<std::map<std::string, std::string>>{
           {{"host", "127.0.0.1:7421"}, {"origin", "http://evil.example"}},
           {{"host", "evil.example:7421"}, {"origin", "http://evil.example:7421"}},
           {{"host", "127.0.0.1:7421"}, {"origin", "null"}},
           {{"host", "127.0.0.1:7421"}, {"origin", "https://127.0.0.1:7421"}},
           {{"origin", "http://127.0.0.1:7421"}},
           {{"host", "127.0.0.1:7421"}, {"sec-fetch-site", "cross-site"}},
           {{"host", "127.0.0.1:7421"}, {"sec-fetch-site", "same-site"}},
       }) {
    const HttpResponse r = post(headers);
    EXPECT_EQ(r.status, 403) << nlohmann::json(headers).dump();
    EXPECT_EQ(r.refusal, "foreign_origin") << nlohmann::json(headers).dump();
  }
  EXPECT_EQ(leaves_, 0);
  // Served: no Origin (curl, the CLI), the agent's own origin by IP, by
  // localhost, by a name of its own, over TLS, and a same-origin fetch.
  for (const auto& headers : std::vector<std::map<std::string, std::string>>{
           {},
           {{"host", "127.0.0.1:7421"}, {"origin", "http://127.0.0.1:7421"}},
           {{"host", "LOCALHOST:7421"}, {"origin", "http://localhost:7421"}},
           {{"host", "[::1]:7421"}, {"origin", "http://[::1]:7421"}},
           {{"host", "node-1.example:7421"}, {"origin", "http://node-1.example:7421"}},
           {{"host", "127.0.0.1:7421"}, {"sec-fetch-site", "same-origin"}},
       }) {
    EXPECT_EQ(post(headers).status, 200) << nlohmann::json(headers).dump();
  }
  EXPECT_EQ(post({{"host", "127.0.0.1:7421"}, {"origin", "https://127.0.0.1:7421"}}, true).status,
            200);
  EXPECT_EQ(leaves_, 7);
}

}  // namespace
}  // namespace ringwatch::agent

namespace ringwatch::agent {
namespace {

TEST_F(RouterTest, BlockingQueriesWaitForAHigherIndex) {
  auto s = std::make_shared<StatusSnapshot>(*snapshot_);
  s->view = SampleView();  // version 3
  snapshot_ = s;
  auto header = [](const HttpResponse& r) {
    for (const auto& [k, v] : r.headers)
      if (k == "X-Ringwatch-Index") return v;
    return std::string();
  };
  auto plain = Call("GET", "/v1/members");
  EXPECT_EQ(header(plain), "3");
  EXPECT_FALSE(plain.block);
  auto behind = Call("GET", "/v1/members?index=2&wait=30s");
  EXPECT_FALSE(behind.block) << "the client is behind: answer at once";
  auto current = Call("GET", "/v1/events?index=3&wait=1500ms");
  ASSERT_TRUE(current.block);
  EXPECT_EQ(current.block->index, 3u);
  EXPECT_EQ(current.block->wait, std::chrono::milliseconds(1500));
  auto capped = Call("GET", "/v1/status?index=3&wait=2h");
  ASSERT_TRUE(capped.block);
  EXPECT_EQ(capped.block->wait, std::chrono::minutes(10));
  auto defaulted = Call("GET", "/v1/status?index=3");
  ASSERT_TRUE(defaulted.block);
  EXPECT_EQ(defaulted.block->wait, std::chrono::minutes(5));
  EXPECT_EQ(Call("GET", "/v1/members?index=x").status, 400);
  EXPECT_EQ(Call("GET", "/v1/members?index=3&wait=soon").status, 400);
  EXPECT_FALSE(Call("GET", "/livez?index=3").block) << "only the view endpoints block";
}

}  // namespace
}  // namespace ringwatch::agent

namespace ringwatch::agent {
namespace {

// A ring of three members in three zones at version 7, moved from version 4
// where "c" was absent.
std::shared_ptr<const RingState> SampleRing() {
  ring::Options config;
  config.hash = ring::HashKind::kXxh3;  // a member's points depend on nobody else's
  std::vector<ring::RingMember> members = {{"a", "10.0.0.1:11211", "z1", 1},
                                           {"b", "10.0.0.2:11211", "z2", 1},
                                           {"c", "10.0.0.3:11211", "z3", 2}};
  auto before = ring::Ring::Build({members[0], members[1]}, config);
  auto state = std::make_shared<RingState>();
  state->version = core::ViewVersion{7};
  state->replicas = 2;
  state->ring = ring::Ring::Build(members, config);
  state->ownership = state->ring.Ownership();
  state->points = {0, 0, 0};
  for (uint32_t o : state->ring.point_owners())
    ++state->points[o];
  state->from_version = core::ViewVersion{4};
  state->moves = ring::ComputeMovePlan(before, state->ring);
  state->json = RingJson(*state);
  return state;
}

TEST_F(RouterTest, RingEndpointsAnswer503UntilARingExists) {
  EXPECT_EQ(Call("GET", "/v1/ring").status, 503);
  EXPECT_EQ(Call("GET", "/v1/ring/moves").status, 503);
  EXPECT_EQ(Call("GET", "/v1/ring/lookup?key=k").status, 503);
  EXPECT_TRUE(nlohmann::json::parse(Call("GET", "/v1/status").body)["ring"].is_null());
}

TEST_F(RouterTest, RingLookupAndMovesComeFromThePublishedRing) {
  auto s = std::make_shared<StatusSnapshot>(*snapshot_);
  s->view = SampleView();
  s->ring = SampleRing();
  snapshot_ = s;
  const auto ring = nlohmann::json::parse(Call("GET", "/v1/ring").body);
  EXPECT_EQ(ring["version"], 7);
  EXPECT_EQ(ring["hash"], "xxh3");
  EXPECT_EQ(ring["replicas"], 2);
  EXPECT_EQ(ring["points"], 640);
  ASSERT_EQ(ring["members"].size(), 3u);
  EXPECT_EQ(ring["members"][2]["id"], "c");
  EXPECT_EQ(ring["members"][2]["weight"], 2);
  EXPECT_EQ(ring["members"][2]["points"], 320);
  EXPECT_EQ(ring["members"][2]["zone"], "z3");

  const auto& r = *s->ring;
  for (const std::string key : {"user:1", "user:2", "a key with spaces"}) {
    std::string encoded;
    for (char ch : key)
      encoded += ch == ' ' ? std::string("%20") : std::string(1, ch);
    const auto j = nlohmann::json::parse(Call("GET", "/v1/ring/lookup?key=" + encoded).body);
    EXPECT_EQ(j["key"], key);
    EXPECT_EQ(j["version"], 7);
    EXPECT_EQ(j["owner"]["id"], r.ring.members()[r.ring.Owner(key)].id);
    ASSERT_EQ(j["replicas"].size(), 2u);
    EXPECT_EQ(j["replicas"][0], j["owner"]) << "the first replica is the owner";
    EXPECT_NE(j["replicas"][0]["id"], j["replicas"][1]["id"]);
    EXPECT_EQ(j["replicas"][1]["service"], r.ring.members()[r.ring.Replicas(key, 2)[1]].service);
  }
  EXPECT_EQ(nlohmann::json::parse(Call("GET", "/v1/ring/lookup?key=k&replicas=3").body)["replicas"]
                .size(),
            3u);
  EXPECT_EQ(nlohmann::json::parse(Call("GET", "/v1/ring/lookup?key=k&replicas=9").body)["replicas"]
                .size(),
            3u)
      << "no more owners than members";
  EXPECT_EQ(Call("GET", "/v1/ring/lookup").status, 400);
  EXPECT_EQ(Call("GET", "/v1/ring/lookup?key=k&replicas=-1").status, 400);
  EXPECT_EQ(Call("GET", "/v1/ring/lookup?key=k&replicas=65").status, 400);

  const auto moves = nlohmann::json::parse(Call("GET", "/v1/ring/moves").body);
  EXPECT_EQ(moves["from_version"], 4);
  EXPECT_EQ(moves["to_version"], 7);
  EXPECT_GT(moves["moved_ratio"].get<double>(), 0.3);
  for (const auto& m : moves["moves"])
    EXPECT_EQ(m["to"], "c") << "only c gained keys";

  const auto status = nlohmann::json::parse(Call("GET", "/v1/status").body);
  EXPECT_EQ(status["ring"]["version"], 7);
  EXPECT_EQ(status["ring"]["points"], 640);
}

TEST_F(RouterTest, RingQueriesBlockOnTheRingVersion) {
  auto s = std::make_shared<StatusSnapshot>(*snapshot_);
  s->view = SampleView();  // view version 3
  s->ring = SampleRing();  // ring version 7
  snapshot_ = s;
  auto header = [](const HttpResponse& r) {
    for (const auto& [k, v] : r.headers)
      if (k == "X-Ringwatch-Index") return v;
    return std::string();
  };
  EXPECT_EQ(header(Call("GET", "/v1/ring")), "7");
  EXPECT_EQ(header(Call("GET", "/v1/members")), "3");
  EXPECT_FALSE(Call("GET", "/v1/ring?index=6").block);
  auto waiting = Call("GET", "/v1/ring/moves?index=7&wait=2s");
  ASSERT_TRUE(waiting.block);
  EXPECT_EQ(waiting.block->of, BlockUntil::Index::kRing);
  EXPECT_EQ(router_.CurrentIndex(*waiting.block), 7u);
  auto lookup = Call("GET", "/v1/ring/lookup?key=k&index=7&wait=2s");
  ASSERT_TRUE(lookup.block);
  EXPECT_EQ(lookup.block->of, BlockUntil::Index::kRing);
  auto view = Call("GET", "/v1/members?index=3&wait=2s");
  ASSERT_TRUE(view.block);
  EXPECT_EQ(view.block->of, BlockUntil::Index::kView);
  EXPECT_EQ(router_.CurrentIndex(*view.block), 3u);
}

}  // namespace
}  // namespace ringwatch::agent

namespace ringwatch::agent {
namespace {

// The lock endpoints: reads from the snapshot's lock table (blocking on its
// version), writes handed to the core's sources with what the query says.
class LockRouterTest : public ::testing::Test {
 protected:
  LockRouterTest() {
    auto snap = std::make_shared<StatusSnapshot>();
    membership::View v;
    uint64_t index = 0;
    v.Apply({100, membership::AddMember{membership::MemberInfo{"a", "a:7420", "", "", 1, 1}}},
            ++index);
    v.Apply({1'700'000'000'000, membership::LockAcquire{"db", "alice", "a", 1, 5000, 1024}},
            ++index);
    snap->view = std::make_shared<const membership::View>(v);
    snapshot_ = snap;
    RouterSources s;
    s.snapshot = [this] { return snapshot_; };
    s.metrics = [] { return std::string(); };
    s.lock_default_ttl = std::chrono::seconds(30);
    s.acquire_lock = [this](const LockRequest& r, RouterSources::LockDone done) {
      acquired_.push_back(r);
      const membership::Lock* held = snapshot_->view->locks().Find(r.name);
      if (held) return done(Completion{0, 409, "not acquired: held", *held});
      done(Completion{0, 200, "", membership::Lock{r.name, r.holder, "a", 1, 9, r.ttl_ms}});
    };
    s.renew_lock = [this](const std::string& name, uint64_t token, RouterSources::LockDone done) {
      renewed_.emplace_back(name, token);
      done(Completion{0, 409, "token does not hold it"});
    };
    s.release_lock = [this](const std::string& name, uint64_t token, RouterSources::LockDone done) {
      released_.emplace_back(name, token);
      done(Completion{0, 200, "released " + name});
    };
    router_ = std::make_unique<HttpRouter>(std::move(s));
  }
  HttpResponse Call(const std::string& method, const std::string& target) {
    HttpRequest r;
    r.method = method;
    r.target = target;
    r.from_loopback = true;
    return Settle(router_->Route(r));
  }
  static std::string Header(const HttpResponse& r, const std::string& name) {
    for (const auto& [k, v] : r.headers)
      if (k == name) return v;
    return "";
  }

  std::shared_ptr<const StatusSnapshot> snapshot_;
  std::unique_ptr<HttpRouter> router_;
  std::vector<LockRequest> acquired_;
  std::vector<std::pair<std::string, uint64_t>> renewed_, released_;
};

TEST_F(LockRouterTest, TheTableAndOneLockWithTheirVersion) {
  auto all = Call("GET", "/v1/locks");
  ASSERT_EQ(all.status, 200);
  auto j = nlohmann::json::parse(all.body);
  EXPECT_EQ(j["version"], 1);
  ASSERT_EQ(j["locks"].size(), 1u);
  EXPECT_EQ(j["locks"][0]["name"], "db");
  EXPECT_EQ(j["locks"][0]["holder"], "alice");
  EXPECT_EQ(j["locks"][0]["member"], "a");
  EXPECT_EQ(j["locks"][0]["token"], 2);
  EXPECT_EQ(j["locks"][0]["ttl"], "5s");
  EXPECT_EQ(j["locks"][0]["acquired_at"], "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(Header(all, "X-Ringwatch-Index"), "1");
  auto one = Call("GET", "/v1/locks/db");
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(nlohmann::json::parse(one.body)["token"], 2);
  EXPECT_EQ(Call("GET", "/v1/locks/nope").status, 404);
}

TEST_F(LockRouterTest, ReadsBlockOnTheLockTableVersion) {
  HttpRequest r;
  r.method = "GET";
  r.target = "/v1/locks?index=1&wait=2s";
  auto waiting = router_->Route(r);
  ASSERT_TRUE(waiting.block);
  EXPECT_EQ(waiting.block->of, BlockUntil::Index::kLocks);
  EXPECT_EQ(router_->CurrentIndex(*waiting.block), 1u);
  r.target = "/v1/locks/db?index=0&wait=2s";
  EXPECT_FALSE(router_->Route(r).block) << "the table is past version 0";
  // A lock not held blocks as well, until the table moves (it may be taken).
  r.target = "/v1/locks/free?index=1&wait=2s";
  auto missing = router_->Route(r);
  EXPECT_EQ(missing.status, 404);
  ASSERT_TRUE(missing.block);
  EXPECT_EQ(missing.block->of, BlockUntil::Index::kLocks);
  r.target = "/v1/locks/free";
  EXPECT_EQ(Header(router_->Route(r), "X-Ringwatch-Index"), "1");
  r.target = "/v1/locks?index=x";
  EXPECT_EQ(router_->Route(r).status, 400);
}

TEST_F(LockRouterTest, AnAcquisitionCarriesItsQueryToTheCore) {
  auto r = Call("POST", "/v1/locks/jobs.nightly?holder=worker%401&ttl=10s&wait=1m");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(acquired_.size(), 1u);
  EXPECT_EQ(acquired_[0].name, "jobs.nightly");
  EXPECT_EQ(acquired_[0].holder, "worker@1");
  EXPECT_EQ(acquired_[0].ttl_ms, 10'000);
  EXPECT_EQ(acquired_[0].wait, std::chrono::minutes(1));
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["token"], 9);
  EXPECT_EQ(j["holder"], "worker@1");
  // No ttl: the configured default.
  Call("POST", "/v1/locks/x?holder=h");
  EXPECT_EQ(acquired_.back().ttl_ms, 30'000);
  EXPECT_EQ(acquired_.back().wait, core::Duration::zero());
  Call("POST", "/v1/locks/x?holder=h&ttl=0s");
  EXPECT_EQ(acquired_.back().ttl_ms, 0);
}

TEST_F(LockRouterTest, AHeldLockIs409WithItsHolder) {
  auto r = Call("POST", "/v1/locks/db?holder=bob");
  EXPECT_EQ(r.status, 409);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_FALSE(j["error"].get<std::string>().empty());
  EXPECT_EQ(j["held_by"]["holder"], "alice");
  EXPECT_EQ(j["held_by"]["token"], 2);
}

TEST_F(LockRouterTest, BadRequestsNeverReachTheCore) {
  for (const char* bad : {"/v1/locks/db", "/v1/locks/db?holder=", "/v1/locks/db?holder=a%20b",
                          "/v1/locks/a%2Fb?holder=h", "/v1/locks/db?holder=h&ttl=500ms",
                          "/v1/locks/db?holder=h&ttl=25h", "/v1/locks/db?holder=h&ttl=x",
                          "/v1/locks/db?holder=h&wait=11m", "/v1/locks/db?holder=h&wait=-1s"}) {
    EXPECT_EQ(Call("POST", bad).status, 400) << bad;
  }
  std::string long_name(membership::kMaxLockNameLength + 1, 'n');
  EXPECT_EQ(Call("POST", "/v1/locks/" + long_name + "?holder=h").status, 400);
  for (const char* bad : {"/v1/locks/db/renew", "/v1/locks/db/renew?token=0",
                          "/v1/locks/db/renew?token=-3", "/v1/locks/db/renew?token=7x"})
    EXPECT_EQ(Call("POST", bad).status, 400) << bad;
  EXPECT_EQ(Call("DELETE", "/v1/locks/db").status, 400);
  EXPECT_TRUE(acquired_.empty());
  EXPECT_TRUE(renewed_.empty());
  EXPECT_TRUE(released_.empty());
  EXPECT_EQ(Call("PUT", "/v1/locks/db").status, 405);
  EXPECT_EQ(Call("GET", "/v1/locks/db/renew").status, 405);
}

TEST_F(LockRouterTest, RenewAndReleaseTakeTheToken) {
  auto renew = Call("POST", "/v1/locks/db/renew?token=77");
  EXPECT_EQ(renew.status, 409);
  EXPECT_EQ(renewed_, (std::vector<std::pair<std::string, uint64_t>>{{"db", 77}}));
  auto release = Call("DELETE", "/v1/locks/db?token=2");
  EXPECT_EQ(release.status, 200);
  EXPECT_EQ(released_, (std::vector<std::pair<std::string, uint64_t>>{{"db", 2}}));
}

TEST_F(LockRouterTest, WritesNeedTheBearerTokenLikeEveryPost) {
  RouterSources s;
  s.snapshot = [this] { return snapshot_; };
  s.token = [] { return std::string("s3cret"); };
  bool called = false;
  s.acquire_lock = [&](const LockRequest&, RouterSources::LockDone done) {
    called = true;
    done(Completion{0, 200, ""});
  };
  s.release_lock = [&](const std::string&, uint64_t, RouterSources::LockDone done) {
    called = true;
    done(Completion{0, 200, ""});
  };
  HttpRouter locked(std::move(s));
  HttpRequest r;
  r.from_loopback = true;
  r.method = "POST";
  r.target = "/v1/locks/db?holder=h";
  EXPECT_EQ(locked.Route(r).status, 401);
  r.method = "DELETE";
  r.target = "/v1/locks/db?token=2";
  EXPECT_EQ(locked.Route(r).status, 401);
  EXPECT_FALSE(called);
  r.method = "GET";
  r.target = "/v1/locks";
  EXPECT_EQ(locked.Route(r).status, 200) << "reads need no token";
  r.method = "DELETE";
  r.target = "/v1/locks/db?token=2";
  r.headers["authorization"] = "Bearer s3cret";
  EXPECT_EQ(Settle(locked.Route(r)).status, 200);
  EXPECT_TRUE(called);
}

}  // namespace
}  // namespace ringwatch::agent
