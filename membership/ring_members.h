#pragma once
// What the ring is built from: the committed view's alive members (by id),
// each with its service string (its id when none is set), zone and weight.
// Dead and left members own no keys. Pure.

#include <vector>

#include "membership/view.h"
#include "ring/ring.h"

namespace ringwatch::membership {

std::vector<ring::RingMember> RingMembers(const View& view);

}  // namespace ringwatch::membership
