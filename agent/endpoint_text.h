#pragma once
// "host:port" of an asio endpoint (IPv6 in brackets), for logs, labels and
// the API: the form config addresses are written in.

#include <string>

namespace ringwatch::agent {

template <typename Endpoint>
std::string EndpointText(const Endpoint& e) {
  const auto a = e.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(e.port());
}

}  // namespace ringwatch::agent
