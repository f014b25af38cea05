#pragma once
// The client commands of the CLI (docs/contract.md "CLI"): `members`, `status`,
// `ring`, `lookup KEY`, `events [--follow]`, `diagnose ID`, `leave`, `locks`
// (`lock NAME -- COMMAND` is agent/cli/lock_command.h). Each talks to an agent's HTTP
// API at --http-addr (default 127.0.0.1:7421, or RINGWATCH_HTTP_ADDR) and
// prints a table, or the JSON answer with --json. An https:// address speaks
// TLS: the agent's certificate is checked against --ca-file (else the system's
// CAs) and the address's host; --cert-file/--key-file present a client
// certificate (mutual TLS). The bearer token comes from --token-file, never
// from the command line. Exit codes: 0 ok, 1 the agent could not be reached or
// answered an error, 2 usage (a bad address, an unreadable file).
// The formatters are pure and tested on recorded answers.

#include <chrono>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>

namespace ringwatch::agent {

struct ClientOptions {
  std::string http_addr = "127.0.0.1:7421";
  bool json = false;
  std::string ca_file;     // PEM CAs to check the agent's certificate (https)
  std::string cert_file;   // PEM client certificate chain (mutual TLS)
  std::string key_file;    // its private key
  std::string token_file;  // file holding the bearer token for POST
  bool follow = false;
  std::string id;     // diagnose
  std::string key;    // lookup
  int replicas = -1;  // lookup: owners to list; -1: the ring's replicas setting
  std::chrono::milliseconds timeout{10000};
};

int RunClient(const std::string& command, const ClientOptions& options, std::ostream& out,
              std::ostream& err);

// One request to the agent on a fresh connection: `method` GET, POST or
// DELETE, the bearer token (empty: none). Throws std::exception when the
// agent cannot be reached (or, for a bad address or unreadable TLS file, a
// std::invalid_argument: a usage error).
struct ClientAnswer {
  int status = 0;
  std::string body;
  std::string index;  // X-Ringwatch-Index, when the agent sent one
};
ClientAnswer SendRequest(const ClientOptions& options, const std::string& token,
                         const std::string& method, const std::string& target,
                         std::chrono::milliseconds timeout);
// The bearer token of --token-file ("" without one); false with `error`.
bool ReadClientToken(const ClientOptions& options, std::string* token, std::string* error);
// The "error" of an error answer (its body when it has none).
std::string ErrorOf(const ClientAnswer& answer);

std::string FormatMembers(const nlohmann::json& members);
std::string FormatStatus(const nlohmann::json& status);
std::string FormatEvents(const nlohmann::json& events);
std::string FormatDiagnosis(const nlohmann::json& diagnosis);
std::string FormatRing(const nlohmann::json& ring);
std::string FormatLookup(const nlohmann::json& lookup);
std::string FormatLocks(const nlohmann::json& locks);
// Where --http-addr points: "[http://|https://]HOST[:PORT][/]" (port 7421 by
// default; IPv6 hosts in brackets). False with `error` set when it cannot be
// read.
struct HttpAddress {
  bool tls = false;
  std::string host;  // without brackets
  std::string port;
  std::string authority;  // HOST:PORT as the Host header carries it
};
bool ParseHttpAddress(const std::string& text, HttpAddress* out, std::string* error);

// `text` with every byte but RFC 3986's unreserved ones percent-encoded.
std::string UrlEncode(const std::string& text);

}  // namespace ringwatch::agent
