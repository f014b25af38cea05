#include "agent/cli/client_command.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <thread>
#include <vector>

#include "core/file.h"

namespace ringwatch::agent {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using nlohmann::json;

namespace {

using Answer = ClientAnswer;

// A usage problem (bad address, unreadable file): exit code 2.
struct UsageError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

std::shared_ptr<ssl::context> ClientTls(const ClientOptions& o) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  beast::error_code ec;
  if (o.ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
  } else {
    ctx->load_verify_file(o.ca_file, ec);
    if (ec) throw UsageError("cannot load --ca-file " + o.ca_file + ": " + ec.message());
  }
  ctx->set_verify_mode(ssl::verify_peer);
  if (o.cert_file.empty() != o.key_file.empty())
    throw UsageError("--cert-file and --key-file go together");
  if (!o.cert_file.empty()) {
    ctx->use_certificate_chain_file(o.cert_file, ec);
    if (ec) throw UsageError("cannot load --cert-file " + o.cert_file + ": " + ec.message());
    ctx->use_private_key_file(o.key_file, ssl::context::pem, ec);
    if (ec) throw UsageError("cannot load --key-file " + o.key_file + ": " + ec.message());
  }
  return ctx;
}

template <class Stream>
Answer Exchange(Stream& stream, const HttpAddress& address, const std::string& token,
                http::verb verb, const std::string& target) {
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, address.authority);
  req.set(http::field::user_agent, "ringwatch-cli");
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  Answer a{static_cast<int>(res.result_int()), res.body(), ""};
  if (auto it = res.find("X-Ringwatch-Index"); it != res.end()) a.index = std::string(it->value());
  return a;
}

// One request on a fresh connection; throws on network errors.
Answer Request(const ClientOptions& o, const std::string& token, http::verb verb,
               const std::string& target, std::chrono::milliseconds timeout) {
  HttpAddress address;
  std::string error;
  if (!ParseHttpAddress(o.http_addr, &address, &error)) throw UsageError(error);
  net::io_context ioc;
  tcp::resolver resolver(ioc);
  if (!address.tls) {
    beast::tcp_stream stream(ioc);
    stream.expires_after(o.timeout);
    stream.connect(resolver.resolve(address.host, address.port));
    stream.expires_after(timeout);
    Answer a = Exchange(stream, address, token, verb, target);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return a;
  }
  auto ctx = ClientTls(o);
  beast::ssl_stream<beast::tcp_stream> stream(ioc, *ctx);
  boost::system::error_code not_ip;
  net::ip::make_address(address.host, not_ip);
  // SNI for names; the certificate must name the host (or the IP) we dialled.
  if (not_ip) SSL_set_tlsext_host_name(stream.native_handle(), address.host.c_str());
  stream.set_verify_callback(ssl::host_name_verification(address.host));
  auto& tcp_layer = beast::get_lowest_layer(stream);
  tcp_layer.expires_after(o.timeout);
  tcp_layer.connect(resolver.resolve(address.host, address.port));
  stream.handshake(ssl::stream_base::client);
  tcp_layer.expires_after(timeout);
  Answer a = Exchange(stream, address, token, verb, target);
  beast::error_code ignored;
  tcp_layer.expires_after(std::chrono::seconds(2));
  stream.shutdown(ignored);  // close_notify; the agent may already have closed
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
  if (j.contains("path") && j["path"].is_string() && j["path"] != "none")
    out += "detected by " + Str(j["path"]) +
           (j["path"] == "fast" ? " (its connections closed, its port refused)" : "") + "\n";
  if (j.contains("group") && j["group"].is_array() && !j["group"].empty()) {
    std::string group;
    for (const auto& g : j["group"])
      group += (group.empty() ? "" : ", ") + Str(g);
    out += "silent with " + group + "\n";
  }
  if (j.contains("revision") && j["revision"].is_object()) {
    const auto& r = j["revision"];
    std::string heard;
    for (const auto& h : r.value("heard", json::array()))
      heard += (heard.empty() ? "" : ", ") + Str(h);
    out += "revised     " + Str(r["class"]) + " at " + Str(r["revised_at"]) +
           " (its account: " + (r.value("restarted", false) ? "restarted" : "same process") +
           ", longest pause " + Fixed(r.value("longest_pause_seconds", 0.0), 3) + "s, heard " +
           (heard.empty() ? "nobody" : heard) +
           (r.value("isolation_episode", false) ? " while cut off from most" : "") + ")\n";
  }
  if (j["health"].is_object()) {
    const auto& h = j["health"];
    out += "health      load1/core " + Fixed(h.value("load1_per_core", 0.0), 2) +
           ", memory available " + Fixed(100 * h.value("memory_available_ratio", 0.0), 0) +
           "%, fullest fs " + Fixed(100 * h.value("fullest_filesystem_ratio", 0.0), 0) +
           "%, agent cpu " + Fixed(100 * h.value("agent_cpu_ratio", 0.0), 0) + "%\n";
  }
  std::vector<std::vector<std::string>> rows = {
      {"OBSERVER", "PHI", "SILENCE", "SUSPECTED", "PROBE", "PATH"}};
  for (const auto& o : j.value("observers", json::array()))
    rows.push_back({Str(o["id"]), Fixed(o.value("phi", 0.0), 1),
                    Fixed(o.value("silence_seconds", 0.0), 3) + "s",
                    o.value("suspected", false) ? "yes" : "no",
                    o.contains("probe") ? Str(o["probe"]) : "-",
                    o.contains("path") ? Str(o["path"]) : "-"});
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

bool ParseHttpAddress(const std::string& text, HttpAddress* out, std::string* error) {
  std::string rest = text;
  HttpAddress a;
  if (rest.rfind("https://", 0) == 0) {
    a.tls = true;
    rest = rest.substr(8);
  } else if (rest.rfind("http://", 0) == 0) {
    rest = rest.substr(7);
  } else if (rest.find("://") != std::string::npos) {
    *error = "--http-addr " + text + ": the scheme must be http:// or https://";
    return false;
  }
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty() || rest.find('/') != std::string::npos) {
    *error = "--http-addr " + text + " must be [http://|https://]HOST[:PORT]";
    return false;
  }
  std::string port_text;
  if (rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string::npos) {
      *error = "--http-addr " + text + ": unclosed '[' in an IPv6 address";
      return false;
    }
    a.host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') {
        *error = "--http-addr " + text + ": expected ':' after ']'";
        return false;
      }
      port_text = rest.substr(close + 2);
    }
  } else {
    const auto colon = rest.rfind(':');
    if (colon != std::string::npos && rest.find(':') != colon) {
      *error = "--http-addr " + text + ": put an IPv6 address in brackets, [::1]:7421";
      return false;
    }
    a.host = rest.substr(0, colon);
    if (colon != std::string::npos) port_text = rest.substr(colon + 1);
  }
  if (port_text.empty()) port_text = "7421";
  const bool digits =
      std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (a.host.empty() || !digits || port_text.size() > 5 || std::stoi(port_text) == 0 ||
      std::stoi(port_text) > 65535) {
    *error = "--http-addr " + text + " must be [http://|https://]HOST[:PORT]";
    return false;
  }
  a.port = port_text;
  a.authority =
      (a.host.find(':') != std::string::npos ? "[" + a.host + "]" : a.host) + ":" + a.port;
  *out = std::move(a);
  return true;
}

ClientAnswer SendRequest(const ClientOptions& o, const std::string& token,
                         const std::string& method, const std::string& target,
                         std::chrono::milliseconds timeout) {
  const http::verb verb = method == "POST"     ? http::verb::post
                          : method == "DELETE" ? http::verb::delete_
                                               : http::verb::get;
  return Request(o, token, verb, target, timeout);
}

bool ReadClientToken(const ClientOptions& o, std::string* token, std::string* error) {
  token->clear();
  if (o.token_file.empty()) return true;
  std::string why;
  const auto text = core::ReadFile(o.token_file, &why);
  if (!text || core::Trim(*text).empty()) {
    *error = "--token-file " + o.token_file + ": " + (text ? "the file is empty" : why);
    return false;
  }
  *token = std::string(core::Trim(*text));
  return true;
}

std::string ErrorOf(const ClientAnswer& a) {
  try {
    return json::parse(a.body).value("error", a.body);
  } catch (const std::exception&) {
    return a.body;
  }
}

std::string FormatLocks(const json& j) {
  std::vector<std::vector<std::string>> rows{
      {"NAME", "HOLDER", "MEMBER", "TOKEN", "TTL", "ACQUIRED", "RENEWED"}};
  for (const auto& l : j["locks"])
    rows.push_back({Str(l["name"]), Str(l["holder"]), Str(l["member"]), Str(l["token"]),
                    Str(l["ttl"]), Str(l["acquired_at"]), Str(l["renewed_at"])});
  return Table(rows) + std::to_string(j["locks"].size()) + " lock(s) held, lock table version " +
         Str(j["version"]) + "\n";
}

int RunClient(const std::string& command, const ClientOptions& o, std::ostream& out,
              std::ostream& err) {
  std::string token;
  {
    std::string why;
    if (!ReadClientToken(o, &token, &why)) {
      err << "ringwatch " << command << ": " << why << "\n";
      return 2;
    }
  }
  {
    HttpAddress address;
    std::string error;
    if (!ParseHttpAddress(o.http_addr, &address, &error)) {
      err << "ringwatch " << command << ": " << error << "\n";
      return 2;
    }
    if (!address.tls && (!o.ca_file.empty() || !o.cert_file.empty())) {
      err << "ringwatch " << command << ": --ca-file and --cert-file need an https:// address\n";
      return 2;
    }
  }
  bool usage = false;
  auto get = [&](const std::string& target, Answer* a,
                 std::chrono::milliseconds wait = std::chrono::milliseconds(0)) {
    try {
      *a = Request(o, token, command == "leave" ? http::verb::post : http::verb::get, target,
                   o.timeout + wait);
    } catch (const UsageError& e) {
      err << "ringwatch " << command << ": " << e.what() << "\n";
      usage = true;
      return false;
    } catch (const std::exception& e) {
      err << "ringwatch " << command << ": cannot reach the agent at " << o.http_addr << ": "
          << e.what() << "\n";
      return false;
    }
    if (a->status >= 400) {
      err << "ringwatch " << command << ": " << a->status << ": " << ErrorOf(*a) << "\n";
      return false;
    }
    return true;
  };
  Answer a;
  try {
    if (command == "members" || command == "status") {
      if (!get(command == "members" ? "/v1/members" : "/v1/status", &a)) return usage ? 2 : 1;
      if (o.json) {
        out << a.body;
      } else {
        out << (command == "members" ? FormatMembers(json::parse(a.body))
                                     : FormatStatus(json::parse(a.body)));
      }
      return 0;
    }
    if (command == "locks") {
      if (!get("/v1/locks", &a)) return usage ? 2 : 1;
      out << (o.json ? a.body : FormatLocks(json::parse(a.body)));
      return 0;
    }
    if (command == "ring") {
      if (!get("/v1/ring", &a)) return usage ? 2 : 1;
      out << (o.json ? a.body : FormatRing(json::parse(a.body)));
      return 0;
    }
    if (command == "lookup") {
      std::string target = "/v1/ring/lookup?key=" + UrlEncode(o.key);
      if (o.replicas >= 0) target += "&replicas=" + std::to_string(o.replicas);
      if (!get(target, &a)) return usage ? 2 : 1;
      out << (o.json ? a.body : FormatLookup(json::parse(a.body)));
      return 0;
    }
    if (command == "diagnose") {
      if (!get("/v1/diagnosis/" + o.id, &a)) return usage ? 2 : 1;
      out << (o.json ? a.body : FormatDiagnosis(json::parse(a.body)));
      return 0;
    }
    if (command == "leave") {
      if (!get("/v1/leave", &a)) return usage ? 2 : 1;
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
        if (!get(target, &a, wait)) return usage ? 2 : 1;
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
