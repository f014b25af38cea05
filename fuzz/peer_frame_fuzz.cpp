// libFuzzer target: the peer frame decoder (agent/peer/peer_frame.h) with a
// keyring and pair keys, and the replay window behind it. Whatever the
// bytes, decoding returns a frame or a drop reason — never a crash, never a
// read out of bounds (ASan) — and a frame that decodes was authenticated.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/peer/peer_frame.h"
#include "agent/peer/replay_guard.h"

using namespace ringwatch;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static const core::SigningKey self = core::SigningKey::Generate();
  static agent::PairKeys pairs;
  static agent::ReplayGuard guard;
  static const std::vector<std::string> keyring{"fuzz-key-0123456789", "older-key-0123456789"};
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (const auto* keys : {&keyring, static_cast<const std::vector<std::string>*>(nullptr)}) {
    static const std::vector<std::string> none;
    auto f = agent::DecodeFrame(bytes, "default", keys ? *keys : none, agent::kMaxStreamFrame,
                                &self, &pairs);
    if (f.ok()) guard.Accept(f.value().origin, 1'700'000'000'000);
  }
  return 0;
}
