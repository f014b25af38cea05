#include "ring/ring.h"

#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <map>
#include <numeric>

#include "ring/md5.h"

namespace ringwatch::ring {
namespace {

uint32_t Le32(const std::array<uint8_t, 16>& d, int offset) {
  return static_cast<uint32_t>(d[offset]) | static_cast<uint32_t>(d[offset + 1]) << 8 |
         static_cast<uint32_t>(d[offset + 2]) << 16 | static_cast<uint32_t>(d[offset + 3]) << 24;
}

struct Point {
  uint64_t hash;
  uint32_t owner;
};

}  // namespace

Ring Ring::Build(std::vector<RingMember> members, const config::RingConfig& config) {
  Ring r;
  r.hash_ = config.hash;
  std::sort(members.begin(), members.end(),
            [](const RingMember& a, const RingMember& b) { return a.id < b.id; });
  r.members_ = std::move(members);
  const std::size_t n = r.members_.size();
  if (n == 0) return r;

  std::vector<Point> points;
  std::string text;
  if (config.hash == config::RingHash::kKetama) {
    // hashring 3.2.0: length = Math.floor(percentage * vnodes * servers.length),
    // evaluated left to right in doubles, so the counts agree for every N.
    const double total =
        std::accumulate(r.members_.begin(), r.members_.end(), 0.0,
                        [](double t, const RingMember& m) { return t + m.weight; });
    const double vnodes = static_cast<double>(config.points / 4);
    for (uint32_t m = 0; m < n; ++m) {
      const double percentage = static_cast<double>(r.members_[m].weight) / total;
      const auto length =
          static_cast<uint64_t>(std::floor(percentage * vnodes * static_cast<double>(n)));
      for (uint64_t i = 0; i < length; ++i) {
        text = r.members_[m].service;
        text += '-';
        text += std::to_string(i);
        const auto digest = Md5(text);
        for (int j = 0; j < 4; ++j)
          points.push_back({Le32(digest, j * 4), m});
      }
    }
  } else {
    for (uint32_t m = 0; m < n; ++m) {
      const uint64_t length = static_cast<uint64_t>(config.points) * r.members_[m].weight;
      for (uint64_t i = 0; i < length; ++i) {
        text = r.members_[m].service;
        text += '-';
        text += std::to_string(i);
        points.push_back({XXH3_64bits(text.data(), text.size()), m});
      }
    }
  }
  // Stable: equal points keep member order, as hashring's (stable) sort does.
  std::stable_sort(points.begin(), points.end(),
                   [](const Point& a, const Point& b) { return a.hash < b.hash; });
  r.hashes_.reserve(points.size());
  r.owners_.reserve(points.size());
  for (const Point& p : points) {
    r.hashes_.push_back(p.hash);
    r.owners_.push_back(p.owner);
  }

  std::map<std::string, uint32_t> zones;
  for (const auto& m : r.members_) {
    r.zone_of_.push_back(zones.emplace(m.zone, static_cast<uint32_t>(zones.size())).first->second);
  }
  r.zones_ = zones.size();
  r.BuildIndex();
  return r;
}

void Ring::BuildIndex() {
  if (hashes_.empty()) return;
  // About one to two points per bucket, at most 2^20 buckets (4 MiB).
  const int bits = std::clamp(static_cast<int>(std::bit_width(hashes_.size())), 1, 20);
  const int space_bits = hash_ == config::RingHash::kKetama ? 32 : 64;
  index_shift_ = space_bits - bits;
  const std::size_t buckets = std::size_t{1} << bits;
  index_.assign(buckets + 1, static_cast<uint32_t>(hashes_.size()));
  std::size_t p = 0;
  for (std::size_t t = 0; t < buckets; ++t) {
    while (p < hashes_.size() && (hashes_[p] >> index_shift_) < t)
      ++p;
    index_[t] = static_cast<uint32_t>(p);
  }
}

uint64_t Ring::KeyHash(std::string_view key) const {
  if (hash_ == config::RingHash::kKetama) return Le32(Md5(key), 0);
  return XXH3_64bits(key.data(), key.size());
}

std::size_t Ring::PointFor(uint64_t hash) const {
  const uint64_t t = hash >> index_shift_;
  const auto begin = hashes_.begin() + index_[t];
  const auto end = hashes_.begin() + index_[t + 1];
  // Points in [begin, end) share the top bits of `hash`; the ones from `end`
  // on are larger, so the answer is in [begin, end].
  const auto it = std::lower_bound(begin, end, hash);
  const std::size_t i = static_cast<std::size_t>(it - hashes_.begin());
  return i == hashes_.size() ? 0 : i;
}

std::size_t Ring::PointForBinarySearch(uint64_t hash) const {
  const auto it = std::lower_bound(hashes_.begin(), hashes_.end(), hash);
  return it == hashes_.end() ? 0 : static_cast<std::size_t>(it - hashes_.begin());
}

std::vector<uint32_t> Ring::Replicas(std::string_view key, std::size_t n) const {
  if (empty()) return {};
  return ReplicasForHash(KeyHash(key), n);
}

std::vector<uint32_t> Ring::ReplicasForHash(uint64_t hash, std::size_t n) const {
  std::vector<uint32_t> out;
  if (empty()) return out;
  n = std::min(n, members_.size());
  const std::size_t start = PointFor(hash);
  std::vector<bool> member_taken(members_.size(), false);
  std::vector<bool> zone_taken(zones_, false);
  std::size_t zones_taken = 0;
  // Pass 1: one member per zone, nearest first, until every zone is used.
  for (std::size_t k = 0; k < hashes_.size() && out.size() < n && zones_taken < zones_; ++k) {
    const uint32_t m = owners_[(start + k) % hashes_.size()];
    if (member_taken[m] || zone_taken[zone_of_[m]]) continue;
    member_taken[m] = true;
    zone_taken[zone_of_[m]] = true;
    ++zones_taken;
    out.push_back(m);
  }
  // Pass 2: the nearest remaining members, whatever their zone.
  for (std::size_t k = 0; k < hashes_.size() && out.size() < n; ++k) {
    const uint32_t m = owners_[(start + k) % hashes_.size()];
    if (member_taken[m]) continue;
    member_taken[m] = true;
    out.push_back(m);
  }
  return out;
}

double Ring::Space() const {
  return hash_ == config::RingHash::kKetama ? 4294967296.0 : 18446744073709551616.0;
}

std::vector<double> Ring::Ownership() const {
  std::vector<double> share(members_.size(), 0.0);
  if (empty()) return share;
  // Point k owns (hash[k-1], hash[k]]; point 0 also owns the wrap-around arc.
  const long double space = Space();
  for (std::size_t k = 0; k < hashes_.size(); ++k) {
    long double arc;
    if (k == 0) {
      arc = space - static_cast<long double>(hashes_.back()) +
            static_cast<long double>(hashes_.front());
    } else {
      arc = static_cast<long double>(hashes_[k] - hashes_[k - 1]);
    }
    share[owners_[k]] += static_cast<double>(arc / space);
  }
  return share;
}

}  // namespace ringwatch::ring
