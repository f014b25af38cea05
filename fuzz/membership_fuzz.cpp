// libFuzzer target: membership requests and committed commands
// (membership/peer_message.h, membership/command.h). A command that decodes
// is applied to a view with members in every state: applying never crashes,
// and the view still encodes to bytes that decode to the same view (every
// agent would hold the same one).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "membership/command.h"
#include "membership/peer_message.h"
#include "membership/view.h"

using namespace ringwatch::membership;

namespace {

View Sample() {
  View v;
  auto info = [](const char* id, uint64_t incarnation) {
    return MemberInfo{id,          std::string(id) + ":7420", "z1", id, 1,
                      incarnation, std::string(32, 'k')};
  };
  v.Apply({1, AddMember{info("a", 1)}});
  v.Apply({2, AddMember{info("b", 1)}});
  v.Apply({3, AddMember{info("c", 1)}});
  v.Apply({4, AddMember{info("d", 1)}});
  Diagnosis d;
  v.Apply({5, MarkDead{"b", 1, d}});
  v.Apply({6, Leave{"c"}});
  v.Apply({7, Restarting{"d", 1}});
  v.Apply({8, LockAcquire{"db", "holder", "a", 1, 5000, 1024}}, 8);
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static const View sample = Sample();
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::string why;
  if (auto m = DecodePeerMessage(bytes, &why)) {
    if (!DecodePeerMessage(EncodePeerMessage(*m))) std::abort();
    (void)SignedBytes(*m);
  }
  if (auto c = DecodeCommand(bytes)) {
    View v = sample;
    v.Apply(*c, 100);  // a lock it acquires gets token 100
    const std::string encoded = v.Encode();
    auto back = View::Decode(encoded);
    if (!back || back->Encode() != encoded) std::abort();
  }
  return 0;
}
