// libFuzzer target: the HTTP request path after parsing (agent/http/
// http_router.h): method, target (path and query), headers and body from
// the input, routed against a status snapshot with a view and a ring. Every
// request gets a response with a valid status.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "agent/http/http_router.h"
#include "membership/view.h"

using namespace ringwatch;
using namespace ringwatch::agent;

namespace {

std::shared_ptr<const StatusSnapshot> Snapshot() {
  auto s = std::make_shared<StatusSnapshot>();
  s->node_id = "a";
  s->cluster = "default";
  auto v = std::make_shared<membership::View>();
  v->Apply({1, membership::AddMember{{"a", "a:7420", "", "a:11211", 1, 1, ""}}});
  v->Apply({2, membership::AddMember{{"b", "b:7420", "z", "b:11211", 2, 1, ""}}});
  s->view = v;
  return s;
}

// Splits the input at NUL bytes: method, target, then header lines
// "name: value", then the body.
HttpRequest RequestOf(std::string_view bytes) {
  HttpRequest r;
  auto next = [&]() {
    const auto at = bytes.find('\0');
    std::string_view part = bytes.substr(0, at);
    bytes = at == std::string_view::npos ? std::string_view() : bytes.substr(at + 1);
    return std::string(part);
  };
  r.method = next();
  r.target = next();
  for (int i = 0; i < 8 && !bytes.empty(); ++i) {
    std::string line = next();
    const auto colon = line.find(':');
    if (colon == std::string::npos) break;
    r.headers[line.substr(0, colon)] = line.substr(colon + 1);
  }
  r.body = std::string(bytes);
  r.from_loopback = !r.body.empty() && r.body[0] == 'L';
  r.tls = !r.body.empty() && r.body[0] == 'T';
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static const auto snapshot = Snapshot();
  static const HttpRouter router([] {
    RouterSources s;
    s.snapshot = [] { return snapshot; };
    s.metrics = [] { return std::string("ringwatch_up 1\n"); };
    s.arrivals = [](const std::string&, RouterSources::ArrivalsDone done) { done(std::nullopt); };
    s.leave = [](RouterSources::ActionDone done) { done({409, "not in a fuzz run"}); };
    s.remove = [](const std::string&, RouterSources::ActionDone done) {
      done({404, "no such member"});
    };
    // Lock requests are parsed in full before they reach these.
    s.acquire_lock = [](const LockRequest& r, RouterSources::LockDone done) {
      if (!membership::IsValidLockName(r.name) || !membership::IsValidHolder(r.holder))
        std::abort();
      done(Completion{0, 409, "held", membership::Lock{r.name, "other", "node-2", 1, 7, r.ttl_ms}});
    };
    s.renew_lock = [](const std::string& name, uint64_t token, RouterSources::LockDone done) {
      if (!membership::IsValidLockName(name) || token == 0) std::abort();
      done(Completion{0, 409, "not held"});
    };
    s.release_lock = s.renew_lock;
    s.token = [] { return std::string("fuzz-token"); };
    s.own_hosts = {"node-1.example"};
    return s;
  }());
  const HttpRequest request =
      RequestOf(std::string_view(reinterpret_cast<const char*>(data), size));
  (void)request.Path();
  (void)request.Query();
  HttpResponse response = router.RouteOnce(request);
  if (response.status < 100 || response.status > 599) std::abort();
  if (response.deferred) {  // a POST action: its answer comes through the reply
    std::optional<HttpResponse> answer;
    response.deferred([&answer](HttpResponse a) { answer = std::move(a); });
    if (!answer || answer->status < 100 || answer->status > 599) std::abort();
  }
  return 0;
}
