#include "agent/peer/seed_dialer.h"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>

#include "config/loader.h"
#include "core/log.h"

namespace ringwatch::agent {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

std::vector<net::ip::address> InterfaceAddresses() {
  std::vector<net::ip::address> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      out.push_back(net::ip::address_v4(ntohl(in->sin_addr.s_addr)));
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      net::ip::address_v6::bytes_type bytes;
      std::copy(std::begin(in6->sin6_addr.s6_addr), std::end(in6->sin6_addr.s6_addr),
                bytes.begin());
      out.push_back(net::ip::address_v6(bytes, in6->sin6_scope_id));
    }
  }
  freeifaddrs(list);
  return out;
}

}  // namespace

SeedDialer::SeedDialer(net::io_context& ioc, RaftTransport& transport, Failed failed)
    : ioc_(ioc), transport_(transport), failed_(std::move(failed)) {}

SeedDialer::~SeedDialer() {
  Stop();
}

void SeedDialer::Stop() {
  alive_.reset();
}

void SeedDialer::SetSelfPort(uint16_t port) {
  self_port_ = port;
  local_addresses_ = InterfaceAddresses();
}

bool SeedDialer::IsSelf(const tcp::endpoint& endpoint) const {
  if (endpoint.port() != self_port_) return false;
  const auto a = endpoint.address();
  return a.is_loopback() || a.is_unspecified() ||
         std::find(local_addresses_.begin(), local_addresses_.end(), a) != local_addresses_.end();
}

void SeedDialer::Send(const std::string& seed, std::string payload) {
  if (!alive_) return;
  config::HostPort hp;
  std::string why;
  if (!config::ParseHostPort(seed, false, &hp, &why)) {
    failed_(seed, "not host:port: " + why, false);
    return;
  }
  std::string host = hp.host;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  auto resolver = std::make_shared<tcp::resolver>(ioc_);
  resolver->async_resolve(
      host, std::to_string(hp.port),
      [this, seed, resolver, payload = std::move(payload), alive = std::weak_ptr<bool>(alive_)](
          const boost::system::error_code& ec, tcp::resolver::results_type results) mutable {
        if (alive.expired()) return;
        if (ec || results.empty()) {
          failed_(seed, "does not resolve: " + (ec ? ec.message() : "no address"), false);
          return;
        }
        const tcp::endpoint endpoint = results.begin()->endpoint();
        if (IsSelf(endpoint)) {
          failed_(seed, "this agent", true);
          return;
        }
        const std::string key = "@" + seed;
        transport_.SetAddress(key, endpoint);
        transport_.SendMembership(key, std::move(payload));
      });
}

void SeedDialer::OnUnreachable(const std::string& key, const std::string& why) {
  if (alive_ && IsSeedKey(key)) failed_(key.substr(1), why, false);
}

}  // namespace ringwatch::agent
