#pragma once
// TLS for tests: a throwaway certificate authority that signs server and
// client certificates (OpenSSL's API, EC P-256, valid for a day), written as
// PEM files; and a blocking HTTPS client with deadlines that reports how the
// handshake went, so tests can see a refused client as well as a served one.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "tests/support/raw_http.h"

namespace ringwatch::testing {

struct PemPair {
  std::string cert_file;
  std::string key_file;
};

class TestCa {
 public:
  // A self-signed CA named `name`; its files go under `dir`.
  TestCa(const std::string& dir, const std::string& name);
  ~TestCa();
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;

  const std::string& cert_file() const { return ca_.cert_file; }

  // A certificate for `common_name` signed by this CA: a server one names
  // 127.0.0.1, ::1 and localhost; a client one is for client authentication.
  PemPair Issue(const std::string& common_name, bool server);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string dir_;
  PemPair ca_;
};

struct TlsClientOptions {
  std::string ca_file;    // verify the server against it ("": do not verify)
  std::string cert_file;  // client certificate ("": none)
  std::string key_file;
  int max_version = 0;  // e.g. TLS1_1_VERSION to offer an old protocol only; 0: any
};

struct TlsResult {
  bool handshake = false;    // the TLS handshake succeeded
  std::string error;         // what failed, when something did
  std::string peer_subject;  // the server certificate's common name
  std::optional<RawResponse> response;
};

// Connects to 127.0.0.1:port over TLS and, when the handshake succeeds, sends
// `request` and reads one response. Never throws.
TlsResult TlsExchange(uint16_t port, const std::string& request, const TlsClientOptions& options,
                      std::chrono::milliseconds deadline = std::chrono::seconds(10));

}  // namespace ringwatch::testing
