// libFuzzer target: the Raft message codec (raft/codec.h). A message that
// decodes re-encodes to bytes that decode to the same message.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "raft/codec.h"

using namespace ringwatch::raft;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto m = DecodeMessage(bytes)) {
    auto again = DecodeMessage(EncodeMessage(*m));
    if (!again || !(*again == *m)) std::abort();
  }
  return 0;
}
