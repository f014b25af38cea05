#pragma once
// The consistent-hash ring: a pure function of the live members (id, service
// string, zone, weight) and ring::Options. Every agent builds the same
// ring from the same committed view.
//
// ketama mode is byte-compatible with npm hashring@3.2.0 (and libketama for
// equal weights): a member gets floor((weight/total) * (points/4) * N) MD5
// digests of "service-i", each giving 4 little-endian 32-bit points; a key
// hashes to the first 4 bytes of its MD5, little-endian; its owner is the
// first point >= the hash, wrapping to the first point; equal points keep
// member order (a stable sort), members being ordered by id.
// xxh3 mode gives a member points * weight points XXH3_64("service-i") on a
// 64-bit circle and hashes keys with XXH3_64: faster to hash, and a member's
// points never depend on the others (ketama's do, through total and N: with
// unequal weights a change can move a few keys between surviving members).
// Its lookups are multi-probe (Appleton & O'Reilly 2015) with two probes:
// the key hash and a second hash derived from it (SecondProbe) each find
// their first point >= the probe, and the point nearer to its probe owns
// the key (the first probe on a tie). Two probes narrow the spread of the
// members' shares from about 1/sqrt(points) by roughly a third, and keep the
// minimal-movement property: removing points only lengthens the losing
// distances, so only the removed member's keys move.
//
// Lookups go through an index keyed by the top bits of the hash, which
// narrows the search to the few points that share them.
// Immutable after Build; thread-safe for concurrent reads.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ringwatch::ring {

enum class HashKind { kKetama, kXxh3 };
const char* ToString(HashKind hash);  // "ketama", "xxh3"

// What a ring is built with (config `ring.hash` and `ring.points`; agent/
// maps the config onto it, so the ring does not depend on config/).
struct Options {
  HashKind hash = HashKind::kKetama;
  uint32_t points = 160;  // per unit of weight
};

struct RingMember {
  std::string id;
  std::string service;  // the string hashed into points (ketama clients use "host:port")
  std::string zone;     // empty: no zone
  uint32_t weight = 1;
};

// Point hashes per service string, kept across builds by the ring's owner: a
// view change keeps almost every member, so a rebuild then hashes only what
// is new (ketama's MD5s are most of a from-scratch build). Entries of
// services absent from a build are dropped at its end, so the cache holds
// about one view. Not thread-safe; used by one builder at a time.
class PointCache {
 public:
  // The first `count` points of `service` in generation order, computing
  // the missing ones. Valid until the next call.
  const std::vector<uint64_t>& Points(HashKind hash, const std::string& service, std::size_t count);
  // Drops the services not asked for since the previous EndBuild.
  void EndBuild();
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::vector<uint64_t> points;
    bool used = false;
  };
  std::map<std::pair<HashKind, std::string>, Entry> entries_;
};

class Ring {
 public:
  Ring() = default;

  // Members in any order (the ring orders them by id); ids must be unique.
  // `cache`, when given, keeps point hashes across builds.
  static Ring Build(std::vector<RingMember> members, const Options& config,
                    PointCache* cache = nullptr);

  bool empty() const { return hashes_.empty(); }
  HashKind hash() const { return hash_; }
  const std::vector<RingMember>& members() const { return members_; }
  std::size_t size() const { return hashes_.size(); }
  // Points in ring order: hash and owning member (index into members()).
  const std::vector<uint64_t>& point_hashes() const { return hashes_; }
  const std::vector<uint32_t>& point_owners() const { return owners_; }

  uint64_t KeyHash(std::string_view key) const;

  // Index of the point that owns `hash`: the first point >= hash, wrapping to
  // 0. Precondition: !empty().
  std::size_t PointFor(uint64_t hash) const;
  // The same with a plain binary search over all points (the baseline the
  // index is measured against, and the tests' oracle).
  std::size_t PointForBinarySearch(uint64_t hash) const;

  // The point that owns a key of hash `key_hash`: PointFor(key_hash) in
  // ketama mode, the nearer of the two probes' points in xxh3 mode.
  // Precondition: !empty().
  std::size_t PointForKey(uint64_t key_hash) const;
  uint32_t OwnerOfHash(uint64_t key_hash) const { return owners_[PointForKey(key_hash)]; }
  // xxh3 mode's second probe of a key hash (a splitmix64 step).
  static uint64_t SecondProbe(uint64_t key_hash);

  // Owner of `key` (index into members()). Precondition: !empty().
  uint32_t Owner(std::string_view key) const { return OwnerOfHash(KeyHash(key)); }

  // Up to `n` distinct members clockwise from the key's point (its owning
  // point, PointForKey), first the
  // nearest member of each zone not yet chosen, then the nearest remaining
  // members. Without zones this is hashring's range(key, n).
  std::vector<uint32_t> Replicas(std::string_view key, std::size_t n) const;
  std::vector<uint32_t> ReplicasForHash(uint64_t hash, std::size_t n) const;

  // Share of the key space each member owns (sums to 1), by member index:
  // exact arc lengths in ketama mode; in xxh3 mode the exact two-probe share
  // (a closed form over the sorted arc lengths).
  std::vector<double> Ownership() const;

  // Size of the circle: 2^32 for ketama, 2^64 for xxh3 (as a double).
  double Space() const;

 private:
  struct Point {
    uint64_t hash;
    uint32_t owner;
  };
  void SortAndIndex(const std::vector<Point>& points);

  HashKind hash_ = HashKind::kKetama;
  std::vector<RingMember> members_;
  std::vector<uint64_t> hashes_;   // sorted
  std::vector<uint32_t> owners_;   // parallel to hashes_
  std::size_t zones_ = 0;          // distinct zones among members ("" counts as one)
  std::vector<uint32_t> zone_of_;  // member -> zone number
  // index_[t]: first point whose top `index_bits_` bits are >= t; size 2^bits + 1.
  std::vector<uint32_t> index_;
  int index_shift_ = 0;
};

}  // namespace ringwatch::ring
