#pragma once
// "host:port" of an asio endpoint (IPv6 in brackets), for logs, labels and
// the API: the form config addresses are written in; and back.

#include <boost/asio/ip/address.hpp>
#include <optional>
#include <string>

namespace ringwatch::agent {

template <typename Endpoint>
std::string EndpointText(const Endpoint& e) {
  const auto a = e.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(e.port());
}

// "ip:port" or "[ip6]:port" (IP literals only) as an endpoint of type `Endpoint`.
template <typename Endpoint>
std::optional<Endpoint> ParseEndpointText(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 >= text.size()) return std::nullopt;
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  if (ec) return std::nullopt;
  unsigned long port = 0;
  for (char c : text.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535) return std::nullopt;
    port = port * 10 + static_cast<unsigned long>(c - '0');
  }
  if (port == 0 || port > 65535) return std::nullopt;
  return Endpoint(address, static_cast<unsigned short>(port));
}

}  // namespace ringwatch::agent
