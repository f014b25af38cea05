#include "agent/peer/prober.h"

#include <boost/asio/steady_timer.hpp>

namespace ringwatch::agent {

namespace net = boost::asio;
using tcp = net::ip::tcp;

Prober::Prober(net::io_context& ioc, std::chrono::milliseconds timeout, Done done)
    : ioc_(ioc), timeout_(timeout), done_(std::move(done)) {}

Prober::~Prober() {
  Stop();
}

void Prober::Stop() {
  for (auto& [id, socket] : probing_) {
    boost::system::error_code ignored;
    socket->close(ignored);
  }
  probing_.clear();
  alive_.reset();
}

void Prober::Probe(const std::string& id, const tcp::endpoint& endpoint) {
  if (!alive_ || probing_.count(id)) return;
  auto socket = std::make_shared<tcp::socket>(ioc_);
  auto timer = std::make_shared<net::steady_timer>(ioc_);
  probing_[id] = socket;
  auto finished = std::make_shared<bool>(false);
  auto finish = [this, id, finished, socket, timer,
                 alive = std::weak_ptr<bool>(alive_)](membership::ProbeResult result) {
    if (*finished || alive.expired()) return;
    *finished = true;
    timer->cancel();
    boost::system::error_code ignored;
    socket->close(ignored);
    probing_.erase(id);
    done_(id, result);
  };
  timer->expires_after(timeout_);
  timer->async_wait([finish](boost::system::error_code ec) {
    if (!ec) finish(membership::ProbeResult::kTimeout);
  });
  socket->async_connect(endpoint, [finish](boost::system::error_code ec) {
    if (ec == net::error::operation_aborted) return;
    if (!ec) return finish(membership::ProbeResult::kConnected);
    finish(ec == net::error::connection_refused ? membership::ProbeResult::kRefused
                                                : membership::ProbeResult::kTimeout);
  });
}

}  // namespace ringwatch::agent
