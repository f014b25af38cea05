#pragma once
// Runs an io_context until a condition holds, for in-process tests of the
// agent's asio services: event-driven (one handler at a time), never a sleep;
// false when `deadline` passes first.

#include <boost/asio/io_context.hpp>
#include <chrono>

namespace ringwatch::testing {

template <typename Done>
bool RunUntil(boost::asio::io_context& ioc, Done done,
              std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    ioc.run_one_for(std::chrono::milliseconds(50));
  }
  return true;
}

}  // namespace ringwatch::testing
