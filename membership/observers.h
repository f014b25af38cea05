#pragma once
// Observer assignment (Rapid, ATC 2018): each alive member is watched by K
// observers taken from K pseudo-random rings over the alive members' ids —
// on ring k a member's observer is its successor (skipping itself and
// observers already taken from earlier rings). Every agent derives the same
// assignment from the same committed view; it changes only with the view.
// Below K+1 alive members it is all-to-all. Per member, detection costs O(K)
// heartbeats per interval, not O(N). Pure; a plain value.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ringwatch::membership {

class Observers {
 public:
  Observers() = default;
  // `alive` need not be sorted; duplicates are ignored.
  static Observers Compute(std::vector<std::string> alive, uint32_t k);

  // Who watches `subject` (empty for a member that is not alive).
  const std::vector<std::string>& Of(const std::string& subject) const;
  // Whom `observer` watches.
  const std::vector<std::string>& SubjectsOf(const std::string& observer) const;
  uint32_t k() const { return k_; }

 private:
  uint32_t k_ = 0;
  std::map<std::string, std::vector<std::string>> observers_of_;
  std::map<std::string, std::vector<std::string>> subjects_of_;
};

}  // namespace ringwatch::membership
