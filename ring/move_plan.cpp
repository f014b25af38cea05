#include "ring/move_plan.h"

#include <map>
#include <utility>

namespace ringwatch::ring {

MovePlan ComputeMovePlan(const Ring& from, const Ring& to) {
  MovePlan plan;
  const long double space = from.empty() ? to.Space() : from.Space();
  if (from.empty() && to.empty()) return plan;
  if (from.empty() || to.empty()) {
    // Everything moves to (or from) nobody: one entry per owning member.
    const Ring& r = from.empty() ? to : from;
    const auto share = r.Ownership();
    for (std::size_t m = 0; m < share.size(); ++m) {
      if (share[m] <= 0) continue;
      plan.moves.push_back(from.empty() ? Move{"", r.members()[m].id, share[m]}
                                        : Move{r.members()[m].id, "", share[m]});
      plan.moved_ratio += share[m];
    }
    return plan;
  }

  // Member of `to` -> member of `from` with the same id, or -1.
  std::map<std::string, int64_t> from_index;
  for (std::size_t m = 0; m < from.members().size(); ++m)
    from_index[from.members()[m].id] = static_cast<int64_t>(m);
  std::vector<int64_t> same(to.members().size(), -1);
  for (std::size_t m = 0; m < to.members().size(); ++m) {
    if (auto it = from_index.find(to.members()[m].id); it != from_index.end()) same[m] = it->second;
  }

  if (from.hash() == HashKind::kXxh3) {
    // Two-probe ownership is not a union of arcs: the plan is measured on
    // kSamples key hashes spread evenly over the circle (one per stratum,
    // jittered), the same for every agent. Keys that keep their owner are
    // never counted as moved, so a removal still moves only the removed
    // member's keys; ratios are within about 1/sqrt(kSamples * ratio).
    constexpr uint64_t kSamples = 1u << 16;
    std::map<std::pair<uint32_t, uint32_t>, uint64_t> counted;
    for (uint64_t i = 0; i < kSamples; ++i) {
      const uint64_t h = (i << 48) | (Ring::SecondProbe(i) >> 16);
      const uint32_t fo = from.OwnerOfHash(h);
      const uint32_t to_owner = to.OwnerOfHash(h);
      if (same[to_owner] != static_cast<int64_t>(fo)) ++counted[{fo, to_owner}];
    }
    for (const auto& [pair, n] : counted) {
      Move mv{from.members()[pair.first].id, to.members()[pair.second].id,
              static_cast<double>(n) / static_cast<double>(kSamples)};
      plan.moved_ratio += mv.ratio;
      plan.moves.push_back(std::move(mv));
    }
    return plan;
  }

  // Sweep the circle through every boundary of both rings. Between two
  // consecutive boundaries b_prev < x <= b both rings have one owner each:
  // the owner of their first point >= b.
  const auto& fh = from.point_hashes();
  const auto& th = to.point_hashes();
  std::map<std::pair<uint32_t, uint32_t>, long double> moved;
  std::size_t i = 0, j = 0;
  long double previous = 0;  // the arc (previous, b]
  const auto account = [&](long double b, std::size_t fi, std::size_t tj) {
    const uint32_t fo = from.point_owners()[fi % fh.size()];
    const uint32_t to_owner = to.point_owners()[tj % th.size()];
    if (same[to_owner] != static_cast<int64_t>(fo) && b > previous)
      moved[{fo, to_owner}] += b - previous;
    previous = b;
  };
  // Arc [0, first boundary] counted with the first points; then each boundary.
  while (i < fh.size() || j < th.size()) {
    const uint64_t next = (j >= th.size() || (i < fh.size() && fh[i] <= th[j])) ? fh[i] : th[j];
    account(static_cast<long double>(next), i, j);
    while (i < fh.size() && fh[i] == next)
      ++i;
    while (j < th.size() && th[j] == next)
      ++j;
  }
  // The wrap-around arc (last boundary, space) belongs to both first points.
  account(space, 0, 0);
  // The very first arc [0, first boundary] was credited with b - 0 above,
  // which counts the point 0 itself; measure-zero, so nothing to correct.

  for (const auto& [pair, arc] : moved) {
    Move mv{from.members()[pair.first].id, to.members()[pair.second].id,
            static_cast<double>(arc / space)};
    plan.moved_ratio += mv.ratio;
    plan.moves.push_back(std::move(mv));
  }
  return plan;
}

}  // namespace ringwatch::ring
