#pragma once
// A deliberately dumb HTTP/1.1 client over a blocking TCP socket, for tests
// that must send what a real client never would: garbage, oversized or
// partial requests, pipelined batches. Every wait is bounded by a deadline
// (poll(2)); nothing sleeps.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ringwatch::testing {

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

class RawConnection {
 public:
  // Connects to 127.0.0.1:port; throws on failure.
  explicit RawConnection(uint16_t port);
  ~RawConnection();
  RawConnection(RawConnection&& other) noexcept;
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // False when the peer has closed or reset the connection.
  bool Send(const std::string& bytes);

  // Reads until `count` whole responses (Content-Length framed) have arrived,
  // the connection closes, or the deadline passes. Returns those complete.
  std::vector<RawResponse> Read(std::size_t count, std::chrono::milliseconds deadline);

  // Every byte until the server closes the connection (or the deadline).
  std::string ReadUntilClosed(std::chrono::milliseconds deadline);

  // Waits until the server closes the connection; false at the deadline.
  bool WaitClosed(std::chrono::milliseconds deadline);

 private:
  // Appends available bytes to buffer_; false on close/error or deadline.
  bool Fill(std::chrono::steady_clock::time_point until);
  std::optional<RawResponse> TakeResponse();

  int fd_ = -1;
  std::string buffer_;
  bool closed_ = false;
};

// One request on a fresh connection: sends `request`, reads one response.
std::optional<RawResponse> Exchange(uint16_t port, const std::string& request,
                                    std::chrono::milliseconds deadline = std::chrono::seconds(10));

// "GET path HTTP/1.1" with Host and Connection: close.
std::optional<RawResponse> Get(uint16_t port, const std::string& path);

}  // namespace ringwatch::testing
