#include "agent/http/http_router.h"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <ctime>
#include <nlohmann/json.hpp>

#include "agent/ring_service.h"
#include "core/crypto.h"
#include "core/duration.h"
#include "exporters/metrics_registry.h"

namespace ringwatch::agent {
namespace {

std::string Join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const auto& i : items)
    out += (out.empty() ? "" : sep) + i;
  return out;
}

std::string EscapeHtml(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// RFC 3339 UTC with milliseconds, from milliseconds since the Unix epoch.
nlohmann::json Rfc3339(int64_t ms) {
  if (ms <= 0) return nullptr;  // before any leader stamped a time (bootstrap voters)
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return std::string(buf);
}

nlohmann::json LocalJson(const PeerView& p) {
  using nlohmann::json;
  return {
      {"phi", p.phi},
      {"silence_seconds", p.silence_seconds},
      {"rtt_seconds", p.rtt_seconds ? json(*p.rtt_seconds) : json(nullptr)},
      {"suspected", p.suspected},
      {"suspected_by", p.suspected ? json(p.suspected_by) : json(nullptr)},
      {"heard", p.heard},
      {"health", p.health ? json{{"load1_per_core", p.health->load1_per_core},
                                 {"memory_available_ratio", p.health->memory_available_ratio},
                                 {"fullest_filesystem_ratio", p.health->fullest_filesystem_ratio},
                                 {"agent_cpu_ratio", p.health->agent_cpu_ratio}}
                          : json(nullptr)}};
}

nlohmann::json HealthJson(const std::optional<membership::Health>& h) {
  if (!h) return nullptr;
  return {{"load1_per_core", h->load1_per_core},
          {"memory_available_ratio", h->memory_available_ratio},
          {"fullest_filesystem_ratio", h->fullest_filesystem_ratio},
          {"agent_cpu_ratio", h->agent_cpu_ratio}};
}

// A query parameter that must be a plain decimal number (no sign, no junk).
bool ParseUnsigned(const std::string& text, uint64_t* out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

nlohmann::json LockJson(const membership::Lock& l) {
  using nlohmann::json;
  return {{"name", l.name},
          {"holder", l.holder},
          {"member", l.member},
          {"token", l.token},
          {"acquired_at", Rfc3339(l.acquired_at_ms)},
          {"ttl", l.ttl_ms ? json(core::FormatDuration(std::chrono::milliseconds(l.ttl_ms)))
                           : json(nullptr)},
          {"renewed_at", Rfc3339(l.renewed_at_ms)},
          {"renewals", l.renewals}};
}

// A lock request's answer: the lock (200), or the error with its holder.
HttpResponse LockAnswer(const Completion& c) {
  HttpResponse r;
  r.status = c.status;
  if (c.status == 200 && c.lock) {
    r.body = Dump(LockJson(*c.lock));
    return r;
  }
  if (c.status == 200) {
    r.body = Dump(nlohmann::json{{"result", c.message}});
    return r;
  }
  nlohmann::json body{{"error", c.message}};
  if (c.lock) body["held_by"] = LockJson(*c.lock);
  r.body = Dump(body);
  return r;
}

}  // namespace

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> out;
  std::size_t start = 1;  // paths begin with '/'
  while (start <= path.size()) {
    const auto end = path.find('/', start);
    out.push_back(path.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

HttpRouter::HttpRouter(RouterSources sources) : sources_(std::move(sources)) {
  routes_ = {
      {Split("/"), "index", {"GET"}, [this](const HttpRequest&, const Params&) { return Index(); }},
      {Split("/livez"),
       "livez",
       {"GET"},
       [this](const HttpRequest&, const Params&) { return Livez(); }},
      {Split("/readyz"),
       "readyz",
       {"GET"},
       [this](const HttpRequest&, const Params&) { return Readyz(); }},
      {Split("/metrics"),
       "metrics",
       {"GET"},
       [this](const HttpRequest&, const Params&) { return Metrics(); }},
      {Split("/v1/status"),
       "status",
       {"GET"},
       [this](const HttpRequest&, const Params&) { return Status(); }},
      {Split("/v1/members"),
       "members",
       {"GET"},
       [this](const HttpRequest&, const Params&) { return Members(); }},
      {Split("/v1/events"),
       "events",
       {"GET"},
       [this](const HttpRequest& r, const Params&) { return Events(r); }},
      {Split("/v1/diagnosis/{id}"),
       "diagnosis",
       {"GET"},
       [this](const HttpRequest&, const Params& p) { return DiagnosisOf(p.at("id")); }},
      {Split("/v1/ring"),
       "ring",
       {"GET"},
       [this](const HttpRequest&, const Params&) { return RingOf(); }},
      {Split("/v1/ring/lookup"),
       "ring_lookup",
       {"GET"},
       [this](const HttpRequest& r, const Params&) { return Lookup(r); }},
      {Split("/v1/ring/moves"),
       "ring_moves",
       {"GET"},
       [this](const HttpRequest&, const Params&) { return Moves(); }},
      {Split("/v1/leave"),
       "leave",
       {"POST"},
       [this](const HttpRequest& r, const Params&) {
         if (auto denied = Authorize(r)) return *denied;
         return Leave();
       }},
      {Split("/v1/members/{id}/remove"),
       "remove",
       {"POST"},
       [this](const HttpRequest& r, const Params& p) {
         if (auto denied = Authorize(r)) return *denied;
         return Remove(p.at("id"));
       }},
      {Split("/v1/locks"),
       "locks",
       {"GET"},
       [this](const HttpRequest&, const Params&) { return Locks(); }},
      {Split("/v1/locks/{name}"),
       "lock",
       {"GET", "POST", "DELETE"},
       [this](const HttpRequest& r, const Params& p) {
         if (r.method == "GET" || r.method == "HEAD") return LockOf(p.at("name"));
         if (auto denied = Authorize(r)) return *denied;
         if (r.method == "POST") return AcquireLock(r, p.at("name"));
         return UpdateLock(r, p.at("name"), true);
       }},
      {Split("/v1/locks/{name}/renew"),
       "lock_renew",
       {"POST"},
       [this](const HttpRequest& r, const Params& p) {
         if (auto denied = Authorize(r)) return *denied;
         return UpdateLock(r, p.at("name"), false);
       }},
      {Split("/v1/peers/{id}/arrivals"),
       "arrivals",
       {"GET"},
       [this](const HttpRequest&, const Params& p) { return Arrivals(p.at("id")); }},
  };
}

bool HttpRouter::Match(const RouteEntry& route, const std::vector<std::string>& segments,
                       Params* params) {
  if (route.segments.size() != segments.size()) return false;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const std::string& want = route.segments[i];
    if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
      if (segments[i].empty()) return false;
      (*params)[want.substr(1, want.size() - 2)] = segments[i];
    } else if (want != segments[i]) {
      return false;
    }
  }
  return true;
}

uint64_t HttpRouter::ViewIndex() const {
  const auto s = sources_.snapshot();
  return s && s->view ? s->view->version().value : 0;
}

uint64_t HttpRouter::RingIndex() const {
  const auto s = sources_.snapshot();
  return s && s->ring ? s->ring->version.value : 0;
}

uint64_t HttpRouter::LocksIndex() const {
  const auto s = sources_.snapshot();
  return s && s->view ? s->view->locks().version() : 0;
}

uint64_t HttpRouter::CurrentIndex(const BlockUntil& block) const {
  switch (block.of) {
    case BlockUntil::Index::kRing:
      return RingIndex();
    case BlockUntil::Index::kLocks:
      return LocksIndex();
    case BlockUntil::Index::kView:
      break;
  }
  return ViewIndex();
}

namespace {

// Ring routes block on the ring version, which moves only when owners change.
bool RingRoute(const std::string& route) {
  return route == "ring" || route == "ring_lookup" || route == "ring_moves";
}

bool LockRoute(const std::string& route) {
  return route == "locks" || route == "lock";
}

// Routes that answer Consul-style blocking queries (?index=V&wait=D).
bool Blocking(const std::string& route) {
  return route == "status" || route == "members" || route == "events" || RingRoute(route) ||
         LockRoute(route);
}

constexpr std::chrono::minutes kMaxWait{10};
constexpr std::chrono::minutes kDefaultWait{5};

}  // namespace

HttpResponse HttpRouter::Route(const HttpRequest& request) const {
  HttpResponse response = RouteOnce(request);
  // A lock not held (404) blocks too: a watcher waits for it to be taken.
  const bool answered =
      response.status == 200 || (response.route == "lock" && response.status == 404);
  if (!Blocking(response.route) || !answered ||
      (request.method != "GET" && request.method != "HEAD"))
    return response;
  const bool ring = RingRoute(response.route);
  const BlockUntil::Index of = ring                        ? BlockUntil::Index::kRing
                               : LockRoute(response.route) ? BlockUntil::Index::kLocks
                                                           : BlockUntil::Index::kView;
  const uint64_t current = CurrentIndex(BlockUntil{0, {}, of});
  response.headers.emplace_back("X-Ringwatch-Index", std::to_string(current));
  const auto query = request.Query();
  auto it = query.find("index");
  if (it == query.end()) return response;
  uint64_t index = 0;
  if (!ParseUnsigned(it->second, &index)) {
    const char* what = ring ? "ring" : of == BlockUntil::Index::kLocks ? "lock table" : "view";
    HttpResponse bad = JsonError(
        400, std::string("index must be a ") + what + " version, got \"" + it->second + "\"");
    bad.route = response.route;
    return bad;
  }
  std::chrono::milliseconds wait = kDefaultWait;
  if (auto w = query.find("wait"); w != query.end()) {
    core::DurationParseError error;
    auto d = core::ParseDuration(w->second, &error);
    if (!d || *d < core::Duration::zero()) {
      HttpResponse bad =
          JsonError(400, "wait must be a duration such as 30s, got \"" + w->second + "\"");
      bad.route = response.route;
      return bad;
    }
    wait = std::min<std::chrono::milliseconds>(
        std::chrono::duration_cast<std::chrono::milliseconds>(*d), kMaxWait);
  }
  if (current <= index && wait.count() > 0) response.block = BlockUntil{index, wait, of};
  return response;
}

HttpResponse HttpRouter::RouteOnce(const HttpRequest& request) const {
  const std::string path = request.Path();
  const std::vector<std::string> segments = Split(path);
  for (const auto& r : routes_) {
    Params params;
    if (!Match(r, segments, &params)) continue;
    const std::string method = request.method == "HEAD" ? "GET" : request.method;
    HttpResponse response;
    if (std::find(r.methods.begin(), r.methods.end(), method) == r.methods.end()) {
      std::vector<std::string> allowed = r.methods;
      if (std::find(allowed.begin(), allowed.end(), "GET") != allowed.end())
        allowed.push_back("HEAD");
      response = JsonError(405, "method " + request.method + " not allowed on " + path +
                                    " (allowed: " + Join(allowed, ", ") + ")");
      response.headers.emplace_back("Allow", Join(allowed, ", "));
    } else {
      response = r.handler(request, params);
    }
    response.route = r.name;
    return response;
  }
  HttpResponse response = JsonError(404, "no such endpoint: " + path);
  response.route = "not_found";
  return response;
}

HttpResponse HttpRouter::Index() const {
  const auto s = sources_.snapshot();
  HttpResponse r;
  r.content_type = "text/html; charset=utf-8";
  r.body =
      "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>ringwatch " +
      EscapeHtml(s->node_id) + "</title></head>\n<body>\n<h1>ringwatch</h1>\n<p>node <b>" +
      EscapeHtml(s->node_id) + "</b> in cluster <b>" + EscapeHtml(s->cluster) + "</b>, version " +
      EscapeHtml(s->version) +
      "</p>\n<ul>\n"
      "<li><a href=\"/metrics\">/metrics</a> Prometheus metrics</li>\n"
      "<li><a href=\"/livez\">/livez</a> liveness</li>\n"
      "<li><a href=\"/readyz\">/readyz</a> readiness</li>\n"
      "<li><a href=\"/v1/status\">/v1/status</a> Raft role, term, leader and indices</li>\n"
      "<li><a href=\"/v1/members\">/v1/members</a> members and this agent's view of them</li>\n"
      "<li><a href=\"/v1/events\">/v1/events</a> membership events</li>\n"
      "<li><a href=\"/v1/ring\">/v1/ring</a> the consistent-hash ring and its owners</li>\n"
      "<li><a href=\"/v1/ring/moves\">/v1/ring/moves</a> what the latest ring change "
      "moved</li>\n"
      "<li><a href=\"/v1/locks\">/v1/locks</a> locks held, with their fencing tokens</li>\n"
      "</ul>\n</body></html>\n";
  return r;
}

HttpResponse HttpRouter::Livez() const {
  HttpResponse r;
  r.content_type = "text/plain; charset=utf-8";
  r.body = "ok\n";
  return r;
}

HttpResponse HttpRouter::Readyz() const {
  const auto s = sources_.snapshot();
  HttpResponse r;
  if (s->ready) {
    r.body = nlohmann::json{{"ready", true}}.dump() + "\n";
  } else {
    r.status = 503;
    r.body = nlohmann::json{{"ready", false}, {"reason", s->not_ready_reason}}.dump(
                 -1, ' ', false, nlohmann::json::error_handler_t::replace) +
             "\n";
  }
  return r;
}

HttpResponse HttpRouter::Metrics() const {
  HttpResponse r;
  r.content_type = exporters::kTextContentType;
  r.body = sources_.metrics();
  return r;
}

HttpResponse HttpRouter::Status() const {
  using nlohmann::json;
  const auto s = sources_.snapshot();
  json raft = nullptr;
  if (s->raft) {
    const RaftView& v = *s->raft;
    raft = {{"role", v.role},
            {"term", v.term},
            {"leader", v.leader.empty() ? json(nullptr) : json(v.leader)},
            {"commit_index", v.commit_index},
            {"applied_index", v.applied_index},
            {"last_index", v.last_index},
            {"snapshot_index", v.snapshot_index},
            {"voters", v.voters},
            {"learners", v.learners},
            {"quarantined", v.quarantined}};
  }
  json view = nullptr;
  if (s->view) {
    view = {{"version", s->view->version().value},
            {"alive", s->view->Count(membership::MemberState::kAlive)},
            {"restarting", s->view->Count(membership::MemberState::kRestarting)},
            {"dead", s->view->Count(membership::MemberState::kDead)},
            {"left", s->view->Count(membership::MemberState::kLeft)}};
  }
  json ring = nullptr;
  if (s->ring) ring = {{"version", s->ring->version.value}, {"points", s->ring->ring.size()}};
  json security = {{"keyring_keys", s->keyring_keys},
                   {"authenticated", s->keyring_keys > 0},
                   {"identity", s->identity}};
  if (s->keyring_keys == 0)
    security["warning"] =
        "peer traffic is not authenticated: set cluster.secret_file to a keyring (ringwatch "
        "keygen)";
  json body = {{"node", s->node_id},
               {"cluster", s->cluster},
               {"version", s->version},
               {"raft", std::move(raft)},
               {"view", std::move(view)},
               {"ring", std::move(ring)},
               {"security", std::move(security)}};
  HttpResponse r;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  return r;
}

HttpResponse HttpRouter::Members() const {
  using nlohmann::json;
  const auto s = sources_.snapshot();
  if (s->view && !s->view->members().empty()) {
    // The committed view, with this agent's own observation of each member
    // it watches.
    std::map<std::string, const PeerView*> local;
    for (const PeerView& p : s->peers)
      if (!p.id.empty()) local[p.id] = &p;
    json members = json::array();
    for (const auto& [id, m] : s->view->members()) {
      auto it = local.find(id);
      members.push_back({{"id", id},
                         {"address", m.info.address},
                         {"zone", m.info.zone},
                         {"service", m.info.service},
                         {"weight", m.info.weight},
                         {"state", membership::ToString(m.state)},
                         {"incarnation", m.info.incarnation},
                         {"since", Rfc3339(m.since_ms)},
                         {"local", it == local.end() ? json(nullptr) : LocalJson(*it->second)}});
    }
    HttpResponse r;
    r.body = Dump(json{{"version", s->view->version().value}, {"members", std::move(members)}});
    return r;
  }
  json members = json::array();
  // Until membership exists there is no committed view: fields the view will
  // provide (state, since, and a peer's zone/service/weight) are null.
  members.push_back({{"id", s->node_id},
                     {"address", s->address},
                     {"zone", s->zone},
                     {"service", s->service},
                     {"weight", s->weight},
                     {"state", nullptr},
                     {"incarnation", s->incarnation},
                     {"since", nullptr},
                     {"local", nullptr}});
  for (const auto& p : s->peers) {
    json local = LocalJson(p);
    members.push_back({{"id", p.id.empty() ? json(nullptr) : json(p.id)},
                       {"address", p.address},
                       {"zone", nullptr},
                       {"service", nullptr},
                       {"weight", nullptr},
                       {"state", nullptr},
                       {"incarnation", p.incarnation},
                       {"since", nullptr},
                       {"local", std::move(local)}});
  }
  HttpResponse r;
  r.body = json{{"version", 0}, {"members", std::move(members)}}.dump(
               -1, ' ', false, json::error_handler_t::replace) +
           "\n";
  return r;
}

std::optional<HttpResponse> HttpRouter::Authorize(const HttpRequest& request) const {
  if (auto refused = CheckOrigin(request)) return refused;
  const std::string token = sources_.token ? sources_.token() : std::string();
  if (token.empty()) {
    if (request.from_loopback) return std::nullopt;
    HttpResponse r = JsonError(403,
                               "write endpoints (POST, DELETE) accept only loopback clients while "
                               "http.token_file is not set");
    r.refusal = "not_loopback";
    return r;
  }
  auto it = request.headers.find("authorization");
  // Compared in constant time: the token is a secret.
  if (it != request.headers.end() && core::ConstantTimeEqual(it->second, "Bearer " + token))
    return std::nullopt;
  HttpResponse r = JsonError(401, "a valid \"Authorization: Bearer <token>\" header is required");
  r.headers.emplace_back("WWW-Authenticate", "Bearer");
  r.refusal = it == request.headers.end() ? "missing_token" : "bad_token";
  return r;
}

namespace {

std::string Lower(std::string text) {
  for (char& c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// The host of a Host header value ("name:port", "[v6]:port", "name").
std::string HostOf(const std::string& authority) {
  if (!authority.empty() && authority.front() == '[') {
    const auto end = authority.find(']');
    return end == std::string::npos ? authority : authority.substr(1, end - 1);
  }
  const auto colon = authority.find(':');
  return colon == std::string::npos ? authority : authority.substr(0, colon);
}

}  // namespace

// Browsers send Origin with every cross-site POST and Sec-Fetch-Site with
// every request; command-line clients send neither. A POST from a page on
// another site (CSRF) names that site; one through DNS rebinding names this
// agent's port under a foreign host name, so the host must be one of ours.
std::optional<HttpResponse> HttpRouter::CheckOrigin(const HttpRequest& request) const {
  auto refuse = [](const std::string& why) {
    HttpResponse r = JsonError(403, why);
    r.refusal = "foreign_origin";
    return r;
  };
  if (auto it = request.headers.find("sec-fetch-site"); it != request.headers.end()) {
    const std::string site = Lower(it->second);
    if (site != "same-origin" && site != "none")
      return refuse("cross-site requests may not change this agent (Sec-Fetch-Site: " + site + ")");
  }
  auto origin = request.headers.find("origin");
  if (origin == request.headers.end()) return std::nullopt;
  const auto host = request.headers.find("host");
  const std::string authority = host == request.headers.end() ? "" : Lower(host->second);
  const std::string own = std::string(request.tls ? "https" : "http") + "://" + authority;
  if (authority.empty() || Lower(origin->second) != own)
    return refuse("requests from another origin (" + origin->second +
                  ") may not change this agent");
  const std::string name = HostOf(authority);
  boost::system::error_code ec;
  boost::asio::ip::make_address(name, ec);
  const bool ours = !ec || name == "localhost" ||
                    std::find(sources_.own_hosts.begin(), sources_.own_hosts.end(), name) !=
                        sources_.own_hosts.end();
  if (!ours) return refuse("host " + name + " does not name this agent");
  return std::nullopt;
}

HttpResponse HttpRouter::Action(const ActionResult& result) {
  if (result.status >= 400) return JsonError(result.status, result.message);
  HttpResponse r;
  r.status = result.status;
  r.body = Dump(nlohmann::json{{"result", result.message}});
  return r;
}

HttpResponse HttpRouter::Leave() const {
  if (!sources_.leave) return JsonError(503, "leave is not available");
  HttpResponse r;
  r.deferred = [leave = sources_.leave](HttpResponse::Reply reply) {
    leave([reply = std::move(reply)](ActionResult result) { reply(Action(result)); });
  };
  return r;
}

HttpResponse HttpRouter::Remove(const std::string& id) const {
  if (!sources_.remove) return JsonError(503, "remove is not available");
  HttpResponse r;
  r.deferred = [remove = sources_.remove, id](HttpResponse::Reply reply) {
    remove(id, [reply = std::move(reply)](ActionResult result) { reply(Action(result)); });
  };
  return r;
}

HttpResponse HttpRouter::Locks() const {
  const auto s = sources_.snapshot();
  nlohmann::json locks = nlohmann::json::array();
  uint64_t version = 0;
  if (s->view) {
    version = s->view->locks().version();
    for (const auto& [name, l] : s->view->locks().locks())
      locks.push_back(LockJson(l));
  }
  HttpResponse r;
  r.body = Dump(nlohmann::json{{"version", version}, {"locks", std::move(locks)}});
  return r;
}

HttpResponse HttpRouter::LockOf(const std::string& name) const {
  const auto s = sources_.snapshot();
  const membership::Lock* l = s->view ? s->view->locks().Find(name) : nullptr;
  if (!l) return JsonError(404, "lock " + name + " is not held");
  HttpResponse r;
  r.body = Dump(LockJson(*l));
  return r;
}

namespace {

// A duration query parameter ("30s"); `error` set when it is not one.
std::optional<std::chrono::milliseconds> DurationParam(const std::map<std::string, std::string>& q,
                                                       const std::string& name,
                                                       std::string* error) {
  auto it = q.find(name);
  if (it == q.end()) return std::nullopt;
  core::DurationParseError e;
  auto d = core::ParseDuration(it->second, &e);
  if (!d || *d < core::Duration::zero()) {
    *error = name + " must be a duration such as 30s, got \"" + it->second + "\"";
    return std::nullopt;
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

}  // namespace

HttpResponse HttpRouter::AcquireLock(const HttpRequest& request, const std::string& name) const {
  if (!sources_.acquire_lock) return JsonError(503, "locks are not available");
  const auto q = request.Query();
  LockRequest lr;
  lr.name = name;
  if (!membership::IsValidLockName(name))
    return JsonError(400, "lock names are 1-" + std::to_string(membership::kMaxLockNameLength) +
                              " characters of [A-Za-z0-9._-]");
  auto holder = q.find("holder");
  if (holder == q.end() || !membership::IsValidHolder(holder->second))
    return JsonError(400, "holder is required: 1-" + std::to_string(membership::kMaxHolderLength) +
                              " printable characters, no spaces (who takes the lock)");
  lr.holder = holder->second;
  std::string error;
  auto ttl = DurationParam(q, "ttl", &error);
  auto wait = DurationParam(q, "wait", &error);
  if (!error.empty()) return JsonError(400, error);
  const std::chrono::milliseconds t = ttl ? *ttl : sources_.lock_default_ttl;
  if (t.count() != 0 &&
      (t.count() < membership::kMinLockTtlMs || t.count() > membership::kMaxLockTtlMs))
    return JsonError(400, "ttl must be 0 (none) or between 1s and 24h");
  lr.ttl_ms = t.count();
  constexpr std::chrono::minutes kMaxLockWait{10};
  if (wait && *wait > kMaxLockWait) return JsonError(400, "wait must be at most 10m");
  if (wait) lr.wait = *wait;
  HttpResponse r;
  r.deferred_for = wait ? *wait : std::chrono::milliseconds(0);
  r.deferred = [acquire = sources_.acquire_lock, lr](HttpResponse::Reply reply) {
    acquire(lr, [reply = std::move(reply)](Completion c) { reply(LockAnswer(c)); });
  };
  return r;
}

HttpResponse HttpRouter::UpdateLock(const HttpRequest& request, const std::string& name,
                                    bool release) const {
  const auto& source = release ? sources_.release_lock : sources_.renew_lock;
  if (!source) return JsonError(503, "locks are not available");
  if (!membership::IsValidLockName(name))
    return JsonError(400, "lock names are 1-" + std::to_string(membership::kMaxLockNameLength) +
                              " characters of [A-Za-z0-9._-]");
  const auto q = request.Query();
  uint64_t token = 0;
  auto it = q.find("token");
  if (it == q.end() || !ParseUnsigned(it->second, &token) || token == 0)
    return JsonError(400,
                     "token is required: the lock's fencing token, as its acquisition "
                     "answered");
  HttpResponse r;
  r.deferred = [source, name, token](HttpResponse::Reply reply) {
    source(name, token, [reply = std::move(reply)](Completion c) { reply(LockAnswer(c)); });
  };
  return r;
}

HttpResponse HttpRouter::Events(const HttpRequest& request) const {
  using nlohmann::json;
  const auto s = sources_.snapshot();
  uint64_t since = 0;
  const auto query = request.Query();
  if (auto it = query.find("since"); it != query.end()) {
    if (!ParseUnsigned(it->second, &since))
      return JsonError(400, "since must be an event sequence number, got \"" + it->second + "\"");
  }
  json events = json::array();
  if (s->view) {
    for (const membership::Event& e : s->view->events()) {
      if (e.seq <= since) continue;
      events.push_back(
          {{"seq", e.seq},
           {"time", Rfc3339(e.time_ms)},
           {"kind", membership::ToString(e.kind)},
           {"member", e.member},
           {"diagnosis", e.diagnosis ? json(membership::ToString(*e.diagnosis)) : json(nullptr)}});
    }
  }
  HttpResponse r;
  r.body = Dump(json{{"events", std::move(events)}});
  return r;
}

HttpResponse HttpRouter::DiagnosisOf(const std::string& id) const {
  using nlohmann::json;
  const auto s = sources_.snapshot();
  const membership::Member* m = s->view ? s->view->Find(id) : nullptr;
  if (!m) return JsonError(404, "no member " + id + " in the committed view");
  if (!m->diagnosis)
    return JsonError(404, "member " + id + " has no diagnosis: alive since it joined");
  const membership::Diagnosis& d = *m->diagnosis;
  json observers = json::array();
  for (const auto& o : d.observers)
    observers.push_back({{"id", o.observer},
                         {"phi", o.phi},
                         {"silence_seconds", o.silence_seconds},
                         {"suspected", o.suspected},
                         {"probe", membership::ToString(o.probe)},
                         {"path", membership::ToString(o.path)}});
  json revision = nullptr;
  if (d.revision) {
    const membership::Account& a = d.revision->account;
    revision = {{"class", membership::ToString(d.revision->cls)},
                {"restarted", a.restarted},
                {"isolation_episode", a.episode},
                {"heard", a.heard},
                {"longest_pause_seconds", a.longest_pause_ms / 1000.0},
                {"revised_at", Rfc3339(d.revision->revised_at_ms)}};
  }
  HttpResponse r;
  r.body = Dump(json{{"member", id},
                     {"class", membership::ToString(d.cls)},
                     {"observers", std::move(observers)},
                     {"probe", membership::ToString(d.probe)},
                     {"path", membership::ToString(d.path)},
                     {"group", d.group},
                     {"health", HealthJson(d.health)},
                     {"decided_at", Rfc3339(d.decided_at_ms)},
                     {"revision", std::move(revision)}});
  return r;
}

namespace {

constexpr const char* kNoRing =
    "no ring yet: this agent has not applied a committed view (it is starting or joining)";

nlohmann::json Owner(const ring::RingMember& m) {
  return {{"id", m.id}, {"service", m.service}};
}

}  // namespace

HttpResponse HttpRouter::RingOf() const {
  const auto s = sources_.snapshot();
  if (!s->ring) return JsonError(503, kNoRing);
  HttpResponse r;
  r.body = s->ring->json + "\n";
  return r;
}

HttpResponse HttpRouter::Lookup(const HttpRequest& request) const {
  using nlohmann::json;
  const auto s = sources_.snapshot();
  const auto query = request.Query();
  auto key = query.find("key");
  if (key == query.end()) return JsonError(400, "missing query parameter key (?key=K)");
  if (!s->ring) return JsonError(503, kNoRing);
  const RingState& state = *s->ring;
  uint64_t replicas = state.replicas;
  if (auto it = query.find("replicas"); it != query.end()) {
    if (!ParseUnsigned(it->second, &replicas) || replicas > kMaxReplicas)
      return JsonError(400, "replicas must be a number from 0 to " + std::to_string(kMaxReplicas) +
                                ", got \"" + it->second + "\"");
  }
  if (state.ring.empty())
    return JsonError(503, "the ring is empty: no member is alive in the committed view");
  const auto& members = state.ring.members();
  json chosen = json::array();
  for (uint32_t i : state.ring.Replicas(key->second, replicas))
    chosen.push_back(Owner(members[i]));
  HttpResponse r;
  r.body = Dump(json{{"key", key->second},
                     {"version", state.version.value},
                     {"owner", Owner(members[state.ring.Owner(key->second)])},
                     {"replicas", std::move(chosen)}});
  return r;
}

HttpResponse HttpRouter::Moves() const {
  using nlohmann::json;
  const auto s = sources_.snapshot();
  if (!s->ring) return JsonError(503, kNoRing);
  const RingState& state = *s->ring;
  json moves = json::array();
  for (const ring::Move& m : state.moves.moves)
    moves.push_back({{"from", m.from.empty() ? json(nullptr) : json(m.from)},
                     {"to", m.to.empty() ? json(nullptr) : json(m.to)},
                     {"ratio", m.ratio}});
  HttpResponse r;
  r.body = Dump(json{{"from_version", state.from_version.value},
                     {"to_version", state.version.value},
                     {"moved_ratio", state.moves.moved_ratio},
                     {"moves", std::move(moves)}});
  return r;
}

HttpResponse HttpRouter::Arrivals(const std::string& id) const {
  if (!sources_.arrivals) return JsonError(404, "peer " + id + " is not watched by this agent");
  HttpResponse r;
  r.deferred = [arrivals = sources_.arrivals, id](HttpResponse::Reply reply) {
    arrivals(id, [reply = std::move(reply), id](std::optional<std::string> text) {
      if (!text) return reply(JsonError(404, "peer " + id + " is not watched by this agent"));
      HttpResponse r;
      r.content_type = "text/plain; charset=utf-8";
      r.body = std::move(*text);
      reply(std::move(r));
    });
  };
  return r;
}

}  // namespace ringwatch::agent
