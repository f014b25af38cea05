#pragma once
// The client commands of the CLI (CONTRACT.md "CLI"): `members`, `status`,
// `ring`, `lookup KEY`, `events [--follow]`, `diagnose ID`, `leave`. Each talks to an agent's HTTP
// API at --http-addr (default 127.0.0.1:7421, or RINGWATCH_HTTP_ADDR) and
// prints a table, or the JSON answer with --json. Exit codes: 0 ok, 1 the
// agent could not be reached or answered an error, 2 usage.
// The formatters are pure and tested on recorded answers.

#include <chrono>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>

namespace ringwatch::agent {

struct ClientOptions {
  std::string http_addr = "127.0.0.1:7421";
  bool json = false;
  std::string token;  // bearer token for POST (also RINGWATCH_TOKEN)
  bool follow = false;
  std::string id;     // diagnose
  std::string key;    // lookup
  int replicas = -1;  // lookup: owners to list; -1: the ring's replicas setting
  std::chrono::milliseconds timeout{10000};
};

int RunClient(const std::string& command, const ClientOptions& options, std::ostream& out,
              std::ostream& err);

std::string FormatMembers(const nlohmann::json& members);
std::string FormatStatus(const nlohmann::json& status);
std::string FormatEvents(const nlohmann::json& events);
std::string FormatDiagnosis(const nlohmann::json& diagnosis);
std::string FormatRing(const nlohmann::json& ring);
std::string FormatLookup(const nlohmann::json& lookup);
// `text` with every byte but RFC 3986's unreserved ones percent-encoded.
std::string UrlEncode(const std::string& text);

}  // namespace ringwatch::agent
