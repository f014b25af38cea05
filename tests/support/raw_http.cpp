#include "tests/support/raw_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace ringwatch::testing {

RawConnection::RawConnection(uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const std::string err = std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + ": " + err);
  }
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

RawConnection::RawConnection(RawConnection&& other) noexcept
    : fd_(other.fd_), buffer_(std::move(other.buffer_)), closed_(other.closed_) {
  other.fd_ = -1;
}

bool RawConnection::Send(const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

bool RawConnection::Fill(std::chrono::steady_clock::time_point until) {
  if (closed_) return false;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      until - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd_, POLLIN, 0};
  const int r = ::poll(&p, 1, static_cast<int>(left.count()));
  if (r <= 0) return false;
  char chunk[16384];
  const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
  if (n <= 0) {
    closed_ = true;
    return false;
  }
  buffer_.append(chunk, static_cast<std::size_t>(n));
  return true;
}

std::optional<RawResponse> RawConnection::TakeResponse() {
  const auto end = buffer_.find("\r\n\r\n");
  if (end == std::string::npos) return std::nullopt;
  RawResponse r;
  const std::string head = buffer_.substr(0, end);
  const auto first = head.find("\r\n");
  const std::string status_line = head.substr(0, first);
  if (status_line.size() < 12 || status_line.compare(0, 5, "HTTP/") != 0) {
    throw std::runtime_error("bad status line: " + status_line);
  }
  r.status = std::stoi(status_line.substr(9, 3));
  std::size_t pos = first == std::string::npos ? head.size() : first + 2;
  while (pos < head.size()) {
    auto eol = head.find("\r\n", pos);
    if (eol == std::string::npos) eol = head.size();
    const std::string line = head.substr(pos, eol - pos);
    const auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (char& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      r.headers[name] = value;
    }
    pos = eol + 2;
  }
  if (auto te = r.headers.find("transfer-encoding");
      te != r.headers.end() && te->second == "chunked") {
    // size (hex) CRLF data CRLF ... 0 CRLF CRLF
    std::size_t pos = end + 4;
    std::string body;
    while (true) {
      const auto line_end = buffer_.find("\r\n", pos);
      if (line_end == std::string::npos) return std::nullopt;
      const std::size_t size = std::stoul(buffer_.substr(pos, line_end - pos), nullptr, 16);
      if (buffer_.size() < line_end + 2 + size + 2) return std::nullopt;
      if (size == 0) {
        pos = line_end + 4;
        break;
      }
      body.append(buffer_, line_end + 2, size);
      pos = line_end + 2 + size + 2;
    }
    r.body = std::move(body);
    buffer_.erase(0, pos);
    return r;
  }
  std::size_t length = 0;
  if (auto it = r.headers.find("content-length"); it != r.headers.end())
    length = std::stoul(it->second);
  if (buffer_.size() < end + 4 + length) return std::nullopt;
  r.body = buffer_.substr(end + 4, length);
  buffer_.erase(0, end + 4 + length);
  return r;
}

std::vector<RawResponse> RawConnection::Read(std::size_t count,
                                             std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  std::vector<RawResponse> out;
  while (out.size() < count) {
    if (auto r = TakeResponse()) {
      out.push_back(std::move(*r));
      continue;
    }
    if (!Fill(until)) break;
  }
  return out;
}

std::string RawConnection::ReadUntilClosed(std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (Fill(until)) {
  }
  return std::exchange(buffer_, {});
}

bool RawConnection::WaitClosed(std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!closed_) {
    if (!Fill(until) && !closed_) return false;
  }
  return true;
}

std::optional<RawResponse> Exchange(uint16_t port, const std::string& request,
                                    std::chrono::milliseconds deadline) {
  RawConnection c(port);
  if (!c.Send(request)) return std::nullopt;
  auto r = c.Read(1, deadline);
  if (r.empty()) return std::nullopt;
  return r.front();
}

std::optional<RawResponse> Get(uint16_t port, const std::string& path) {
  return Exchange(port,
                  "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
}

}  // namespace ringwatch::testing
