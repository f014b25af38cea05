#include "membership/observers.h"

#include <algorithm>

namespace ringwatch::membership {
namespace {

// FNV-1a over the id, mixed with the ring number (splitmix64 finalizer):
// stable across platforms and versions, which the assignment must be.
uint64_t Fnv1a(const std::string& id) {
  uint64_t h = 1469598103934665603ull;
  for (char c : id) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ull;
  }
  return h;
}

uint64_t RingPosition(uint32_t ring, uint64_t fnv) {
  uint64_t h = fnv ^ (static_cast<uint64_t>(ring) + 1) * 0x9E3779B97F4A7C15ull;
  h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ull;
  h = (h ^ (h >> 27)) * 0x94D049BB133111EBull;
  return h ^ (h >> 31);
}

const std::vector<std::string> kNone;

}  // namespace

Observers Observers::Compute(std::vector<std::string> alive, uint32_t k) {
  std::sort(alive.begin(), alive.end());
  alive.erase(std::unique(alive.begin(), alive.end()), alive.end());
  Observers o;
  o.k_ = k;
  const std::size_t n = alive.size();
  for (const auto& id : alive)
    o.observers_of_[id];
  if (n <= 1) return o;
  if (n <= static_cast<std::size_t>(k) + 1) {
    for (const auto& s : alive)
      for (const auto& w : alive)
        if (w != s) o.observers_of_[s].push_back(w);
  } else {
    // Ring k: ids ordered by their position on that ring.
    std::vector<std::vector<std::size_t>> rings(k);
    std::vector<std::vector<std::size_t>> slot(k, std::vector<std::size_t>(n));
    std::vector<uint64_t> fnv(n);
    for (std::size_t i = 0; i < n; ++i)
      fnv[i] = Fnv1a(alive[i]);
    std::vector<std::pair<uint64_t, std::size_t>> order(n);
    for (uint32_t r = 0; r < k; ++r) {
      for (std::size_t i = 0; i < n; ++i)
        order[i] = {RingPosition(r, fnv[i]), i};
      std::sort(order.begin(), order.end());
      for (std::size_t p = 0; p < n; ++p) {
        rings[r].push_back(order[p].second);
        slot[r][order[p].second] = p;
      }
    }
    std::vector<std::size_t> chosen;
    auto hint = o.observers_of_.begin();
    for (std::size_t s = 0; s < n; ++s, ++hint) {
      chosen.clear();
      for (uint32_t r = 0; r < k; ++r) {
        // The first successor on ring r that is neither s nor already chosen.
        for (std::size_t step = 1; step < n; ++step) {
          const std::size_t w = rings[r][(slot[r][s] + step) % n];
          if (w == s || std::find(chosen.begin(), chosen.end(), w) != chosen.end()) continue;
          chosen.push_back(w);
          break;
        }
      }
      // Indices into the sorted ids: sorted indices are sorted ids.
      std::sort(chosen.begin(), chosen.end());
      std::vector<std::string>& out = hint->second;  // observers_of_ iterates alive in order
      for (std::size_t w : chosen)
        out.push_back(alive[w]);
    }
  }
  for (const auto& [subject, watchers] : o.observers_of_)
    for (const auto& w : watchers)
      o.subjects_of_[w].push_back(subject);
  return o;
}

const std::vector<std::string>& Observers::Of(const std::string& subject) const {
  auto it = observers_of_.find(subject);
  return it == observers_of_.end() ? kNone : it->second;
}

const std::vector<std::string>& Observers::SubjectsOf(const std::string& observer) const {
  auto it = subjects_of_.find(observer);
  return it == subjects_of_.end() ? kNone : it->second;
}

}  // namespace ringwatch::membership
