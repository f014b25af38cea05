// libFuzzer target: the view snapshot decoder (membership/view.h), which
// reads Raft snapshots from peers and from disk. A view that decodes
// encodes to bytes that decode to the same view.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "membership/view.h"

using namespace ringwatch::membership;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto v = View::Decode(bytes)) {
    const std::string encoded = v->Encode();
    auto back = View::Decode(encoded);
    if (!back || back->Encode() != encoded) std::abort();
  }
  return 0;
}
