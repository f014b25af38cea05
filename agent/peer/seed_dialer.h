#pragma once
// SeedDialer: carries a membership request to a seed *address* (the core's
// MembershipSend::seed). The host is resolved again at every attempt (a
// seed's name may move), the request goes over the peer transport under the
// key "@host:port", and a failure — the name does not resolve, the
// connection fails, the address is this agent's own peer port — is reported
// back so the core can rotate, say why in its warning, and skip itself.
//
// Threading: lives on the core io_context; call every method from it.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/peer/raft_transport.h"

namespace ringwatch::agent {

class SeedDialer {
 public:
  // `is_self`: the seed resolved to this agent's own peer endpoint.
  using Failed = std::function<void(const std::string& seed, const std::string& why, bool is_self)>;

  SeedDialer(boost::asio::io_context& ioc, RaftTransport& transport, Failed failed);
  ~SeedDialer();

  // This agent's peer port, to recognise a seed that is this agent (any
  // local address with this port).
  void SetSelfPort(uint16_t port);
  void Send(const std::string& seed, std::string payload);
  // Transport keys of seeds start with this.
  static bool IsSeedKey(const std::string& key) { return !key.empty() && key[0] == '@'; }
  void OnUnreachable(const std::string& key, const std::string& why);
  void Stop();

 private:
  bool IsSelf(const boost::asio::ip::tcp::endpoint& endpoint) const;

  boost::asio::io_context& ioc_;
  RaftTransport& transport_;
  Failed failed_;
  uint16_t self_port_ = 0;
  std::vector<boost::asio::ip::address> local_addresses_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ringwatch::agent
