#include "membership/ring_members.h"

namespace ringwatch::membership {

std::vector<ring::RingMember> RingMembers(const View& view) {
  std::vector<ring::RingMember> out;
  for (const auto& [id, m] : view.members()) {
    if (!InRing(m.state)) continue;
    out.push_back(ring::RingMember{id, m.info.service.empty() ? id : m.info.service, m.info.zone,
                                   m.info.weight});
  }
  return out;
}

}  // namespace ringwatch::membership
