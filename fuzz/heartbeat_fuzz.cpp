// libFuzzer target: heartbeat and ack payloads (agent/core/heartbeat_codec.h).
// A payload that decodes re-encodes to one that decodes to the same value.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/core/heartbeat_codec.h"

using namespace ringwatch::agent;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto h = DecodeHeartbeat(bytes)) {
    auto again = DecodeHeartbeat(EncodeHeartbeat(*h));
    if (!again || again->sender != h->sender || again->sequence != h->sequence ||
        again->rtt_us.size() != std::min(h->rtt_us.size(), kMaxHeartbeatRtts))
      std::abort();
  }
  if (auto a = DecodeAck(bytes)) {
    auto again = DecodeAck(EncodeAck(*a));
    if (!again || again->sender != a->sender || again->sequence != a->sequence) std::abort();
  }
  return 0;
}
