#pragma once
// Polling with a deadline, for multi-process tests: checks `done` every
// `every` until it holds or `deadline` passes (bounded in time and count).
// Not for unit tests, which never wait on time.

#include <chrono>
#include <thread>

namespace ringwatch::testing {

template <typename Done>
bool PollUntil(Done done, std::chrono::milliseconds deadline,
               std::chrono::milliseconds every = std::chrono::milliseconds(20)) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  for (long attempt = 0; attempt < 1'000'000; ++attempt) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(every);  // between polls of another process
  }
  return false;
}

}  // namespace ringwatch::testing
