#include "agent/peer/replay_guard.h"

#include <algorithm>

namespace ringwatch::agent {

bool ReplayGuard::Accept(const FrameOrigin& o, int64_t now_ms) {
  if (o.sent_ms < now_ms - kMaxAgeMs || o.sent_ms > now_ms + kMaxAgeMs) return false;
  std::string key(o.sender);
  key += '\0';
  key += o.public_key;
  auto it = windows_.find(key);
  if (it == windows_.end()) {
    if (windows_.size() >= kMaxSenders) {
      windows_.erase(std::min_element(windows_.begin(), windows_.end(), [](auto& a, auto& b) {
        return a.second.used < b.second.used;
      }));
    }
    Window w;
    w.incarnation = o.incarnation;
    w.highest = o.sequence;
    w.seen.set(0);
    w.used = ++clock_;
    windows_.emplace(std::move(key), w);
    return true;
  }
  Window& w = it->second;
  if (o.incarnation < w.incarnation) return false;
  if (o.incarnation > w.incarnation) {
    w.incarnation = o.incarnation;
    w.highest = o.sequence;
    w.seen.reset();
    w.seen.set(0);
  } else if (o.sequence > w.highest) {
    const uint64_t shift = o.sequence - w.highest;
    if (shift >= kWindow) {
      w.seen.reset();
    } else {
      w.seen <<= shift;
    }
    w.seen.set(0);
    w.highest = o.sequence;
  } else {
    const uint64_t back = w.highest - o.sequence;
    if (back >= kWindow || w.seen.test(back)) return false;
    w.seen.set(back);
  }
  w.used = ++clock_;
  return true;
}

}  // namespace ringwatch::agent
