#include "agent/cli/client_command.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <thread>
#include <vector>

namespace ringwatch::agent {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using nlohmann::json;

namespace {

struct Answer {
  int status = 0;
  std::string body;
  std::string index;  // X-Ringwatch-Index, when the agent sent one
};

// One request on a fresh connection; throws on network errors.
Answer Request(const ClientOptions& o, http::verb verb, const std::string& target,
               std::chrono::milliseconds timeout) {
  const auto colon = o.http_addr.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("--http-addr must be HOST:PORT");
  std::string host = o.http_addr.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const std::string port = o.http_addr.substr(colon + 1);
  net::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  stream.expires_after(o.timeout);
  stream.connect(resolver.resolve(host, port));
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, o.http_addr);
  req.set(http::field::user_agent, "ringwatch-cli");
  if (!o.token.empty()) req.set(http::field::authorization, "Bearer " + o.token);
  req.prepare_payload();
  stream.expires_after(timeout);
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  Answer a{static_cast<int>(res.result_int()), res.body(), ""};
  if (auto it = res.find("X-Ringwatch-Index"); it != res.end()) a.index = std::string(it->value());
  return a;
}

std::string Str(const json& j) {
  if (j.is_null()) return "-";
  if (j.is_string()) return j.get<std::string>();
  return j.dump();
}

std::string Fixed(double v, int digits) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << v;
  return out.str();
}

// Columns padded to their widest cell.
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& row : rows)
    for (std::size_t c = 0; c < row.size(); ++c) {
      if (width.size() <= c) width.push_back(0);
      width[c] = std::max(width[c], row[c].size());
    }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(width[c] - row[c].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace

std::string FormatMembers(const json& j) {
  std::vector<std::vector<std::string>> rows = {
      {"ID", "STATE", "ADDRESS", "ZONE", "SERVICE", "INCARNATION", "SINCE", "LOCAL"}};
  for (const auto& m : j.value("members", json::array())) {
    std::string local = "-";
    if (m.contains("local") && m["local"].is_object()) {
      const auto& l = m["local"];
      local = (l.value("suspected", false) ? "SUSPECTED phi=" : "ok phi=") +
              Fixed(l.value("phi", 0.0), 1) +
              " silence=" + Fixed(l.value("silence_seconds", 0.0), 2) + "s";
    }
    rows.push_back({Str(m["id"]), Str(m["state"]), Str(m["address"]), Str(m["zone"]),
                    Str(m["service"]), Str(m["incarnation"]), Str(m["since"]), local});
  }
  return Table(rows) + "view version " + Str(j.value("version", json(nullptr))) + "\n";
}

std::string FormatStatus(const json& j) {
  std::string out = "node      " + Str(j["node"]) + "\ncluster   " + Str(j["cluster"]) +
                    "\nversion   " + Str(j["version"]) + "\n";
  if (j["raft"].is_object()) {
    const auto& r = j["raft"];
    auto list = [](const json& a) {
      std::string s;
      for (const auto& x : a)
        s += (s.empty() ? "" : ",") + Str(x);
      return s.empty() ? "-" : s;
    };
    out += "raft      " + Str(r["role"]) + ", term " + Str(r["term"]) + ", leader " +
           Str(r["leader"]) + ", commit " + Str(r["commit_index"]) + ", applied " +
           Str(r["applied_index"]) + "\nvoters    " + list(r["voters"]) + "\nlearners  " +
           list(r["learners"]) + "\n";
  }
  if (j["view"].is_object()) {
    const auto& v = j["view"];
    out += "view      version " + Str(v["version"]) + ": " + Str(v["alive"]) + " alive, " +
           Str(v["dead"]) + " dead, " + Str(v["left"]) + " left\n";
  }
  if (j.contains("ring") && j["ring"].is_object())
    out += "ring      version " + Str(j["ring"]["version"]) + ", " + Str(j["ring"]["points"]) +
           " points\n";
  return out;
}

std::string FormatEvents(const json& j) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : j.value("events", json::array()))
    rows.push_back({Str(e["seq"]), Str(e["time"]), Str(e["kind"]), Str(e["member"]),
                    e["diagnosis"].is_null() ? "" : Str(e["diagnosis"])});
  return Table(rows);
}

std::string FormatDiagnosis(const json& j) {
  std::string out = "member      " + Str(j["member"]) + "\nclass       " + Str(j["class"]) +
                    "\nprobe       " + Str(j["probe"]) + "\ndecided at  " + Str(j["decided_at"]) +
                    "\n";
  if (j["health"].is_object()) {
    const auto& h = j["health"];
    out += "health      load1/core " + Fixed(h.value("load1_per_core", 0.0), 2) +
           ", memory available " + Fixed(100 * h.value("memory_available_ratio", 0.0), 0) +
           "%, fullest fs " + Fixed(100 * h.value("fullest_filesystem_ratio", 0.0), 0) +
           "%, agent cpu " + Fixed(100 * h.value("agent_cpu_ratio", 0.0), 0) + "%\n";
  }
  std::vector<std::vector<std::string>> rows = {{"OBSERVER", "PHI", "SILENCE", "SUSPECTED"}};
  for (const auto& o : j.value("observers", json::array()))
    rows.push_back({Str(o["id"]), Fixed(o.value("phi", 0.0), 1),
                    Fixed(o.value("silence_seconds", 0.0), 3) + "s",
                    o.value("suspected", false) ? "yes" : "no"});
  return out + "observers\n" + Table(rows);
}

std::string FormatRing(const json& j) {
  std::vector<std::vector<std::string>> rows = {
      {"ID", "SERVICE", "ZONE", "WEIGHT", "POINTS", "OWNERSHIP"}};
  for (const auto& m : j.value("members", json::array()))
    rows.push_back({Str(m["id"]), Str(m["service"]),
                    m.value("zone", "").empty() ? "-" : Str(m["zone"]), Str(m["weight"]),
                    Str(m["points"]), Fixed(100 * m.value("ownership", 0.0), 2) + "%"});
  return Table(rows) + "ring version " + Str(j.value("version", json(nullptr))) + ", hash " +
         Str(j.value("hash", json(nullptr))) + ", " + Str(j.value("points", json(nullptr))) +
         " points, " + Str(j.value("replicas", json(nullptr))) + " replicas\n";
}

std::string FormatLookup(const json& j) {
  std::string out = "key       " + Str(j["key"]) + "\nowner     " + Str(j["owner"]["id"]) + " (" +
                    Str(j["owner"]["service"]) + ")\n";
  std::vector<std::vector<std::string>> rows = {{"REPLICA", "ID", "SERVICE"}};
  int n = 0;
  for (const auto& r : j.value("replicas", json::array()))
    rows.push_back({std::to_string(++n), Str(r["id"]), Str(r["service"])});
  return out + Table(rows) + "ring version " + Str(j["version"]) + "\n";
}

std::string UrlEncode(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

int RunClient(const std::string& command, const ClientOptions& o, std::ostream& out,
              std::ostream& err) {
  auto get = [&](const std::string& target, Answer* a,
                 std::chrono::milliseconds wait = std::chrono::milliseconds(0)) {
    try {
      *a = Request(o, command == "leave" ? http::verb::post : http::verb::get, target,
                   o.timeout + wait);
    } catch (const std::exception& e) {
      err << "ringwatch " << command << ": cannot reach the agent at " << o.http_addr << ": "
          << e.what() << "\n";
      return false;
    }
    if (a->status >= 400) {
      std::string message = a->body;
      try {
        message = json::parse(a->body).value("error", a->body);
      } catch (const std::exception&) {
      }
      err << "ringwatch " << command << ": " << a->status << ": " << message << "\n";
      return false;
    }
    return true;
  };
  Answer a;
  try {
    if (command == "members" || command == "status") {
      if (!get(command == "members" ? "/v1/members" : "/v1/status", &a)) return 1;
      if (o.json) {
        out << a.body;
      } else {
        out << (command == "members" ? FormatMembers(json::parse(a.body))
                                     : FormatStatus(json::parse(a.body)));
      }
      return 0;
    }
    if (command == "ring") {
      if (!get("/v1/ring", &a)) return 1;
      out << (o.json ? a.body : FormatRing(json::parse(a.body)));
      return 0;
    }
    if (command == "lookup") {
      std::string target = "/v1/ring/lookup?key=" + UrlEncode(o.key);
      if (o.replicas >= 0) target += "&replicas=" + std::to_string(o.replicas);
      if (!get(target, &a)) return 1;
      out << (o.json ? a.body : FormatLookup(json::parse(a.body)));
      return 0;
    }
    if (command == "diagnose") {
      if (!get("/v1/diagnosis/" + o.id, &a)) return 1;
      out << (o.json ? a.body : FormatDiagnosis(json::parse(a.body)));
      return 0;
    }
    if (command == "leave") {
      if (!get("/v1/leave", &a)) return 1;
      out << (o.json ? a.body : json::parse(a.body).value("result", a.body) + "\n");
      return 0;
    }
    if (command == "events") {
      uint64_t since = 0;
      std::string index;
      for (;;) {
        // Following, each request is a blocking query: it returns when the
        // view changes (or after 5 minutes), not on a polling period.
        std::string target = "/v1/events?since=" + std::to_string(since);
        std::chrono::milliseconds wait(0);
        if (o.follow && !index.empty()) {
          target += "&index=" + index + "&wait=5m";
          wait = std::chrono::minutes(5);
        }
        if (!get(target, &a, wait)) return 1;
        index = a.index;
        json j = json::parse(a.body);
        if (o.json) {
          for (const auto& e : j["events"])
            out << e.dump() << "\n";
        } else {
          out << FormatEvents(j);
        }
        out.flush();
        for (const auto& e : j["events"])
          since = std::max(since, e["seq"].get<uint64_t>());
        if (!o.follow) return 0;
        // An agent without blocking queries is polled once a second instead.
        if (index.empty()) std::this_thread::sleep_for(std::chrono::seconds(1));
      }
    }
  } catch (const std::exception& e) {
    err << "ringwatch " << command << ": unexpected answer from the agent: " << e.what() << "\n";
    return 1;
  }
  err << "ringwatch: unknown client command " << command << "\n";
  return 2;
}

}  // namespace ringwatch::agent
