#pragma once
// The outcome of a request that carried a token (operator actions and lock
// requests): what the HTTP answer says, once the core knows.

#include <cstdint>
#include <optional>
#include <string>

#include "membership/locks.h"

namespace ringwatch::agent {

struct Completion {
  uint64_t token = 0;
  int status = 200;  // HTTP-style: 200, 400, 404, 409, 503, 504
  std::string message;
  // Lock requests: the lock as the table holds it (200), or its holder (409).
  std::optional<membership::Lock> lock = std::nullopt;
};

}  // namespace ringwatch::agent
