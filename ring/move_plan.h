#pragma once
// The move plan between two rings: which share of the key space changed
// owner, aggregated per (from, to) member id. In ketama mode it is exact: one
// sweep over the merged point lists of both rings, O(points of both). In
// xxh3 mode (two-probe lookups, where ownership is not a union of arcs) it is
// measured on 65,536 evenly spread key hashes, identical on every agent.
// Both rings must use the same hash mode. Pure; thread-safe.

#include <string>
#include <vector>

#include "ring/ring.h"

namespace ringwatch::ring {

struct Move {
  std::string from;  // member id in the old ring ("" when the old ring was empty)
  std::string to;    // member id in the new ring ("" when the new ring is empty)
  double ratio = 0;  // share of the whole key space
};

struct MovePlan {
  double moved_ratio = 0;   // sum of the moves' ratios
  std::vector<Move> moves;  // sorted by (from, to)
};

MovePlan ComputeMovePlan(const Ring& from, const Ring& to);

}  // namespace ringwatch::ring
