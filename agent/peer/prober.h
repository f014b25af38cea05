#pragma once
// Prober: the TCP connect the core asks for when a watched member grows
// silent (CoreEffects::probes). Refused means the host is up but its agent
// is not; a timeout means the host or the network; connected means the
// kernel still accepts on the peer port (a hung or paused agent). One probe
// per member at a time; the result goes to the callback.
//
// Threading: lives on the core io_context; call every method from it.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "membership/types.h"

namespace ringwatch::agent {

class Prober {
 public:
  using Done = std::function<void(const std::string& id, membership::ProbeResult)>;

  Prober(boost::asio::io_context& ioc, std::chrono::milliseconds timeout, Done done);
  ~Prober();

  // Ignored when a probe of `id` is already running.
  void Probe(const std::string& id, const boost::asio::ip::tcp::endpoint& endpoint);
  void Stop();

 private:
  boost::asio::io_context& ioc_;
  std::chrono::milliseconds timeout_;
  Done done_;
  std::map<std::string, std::shared_ptr<boost::asio::ip::tcp::socket>> probing_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ringwatch::agent
