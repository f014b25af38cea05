#include "raft/codec.h"

#include "core/byte_codec.h"

namespace ringwatch::raft {
namespace {

using core::ByteReader;
using core::ByteWriter;

// Upper bound on counts read from the wire, checked before reserving.
constexpr uint32_t kMaxCount = 1u << 24;

void PutString(ByteWriter& w, std::string_view s) {
  w.U32(static_cast<uint32_t>(s.size()));
  w.Bytes(s);
}

bool GetString(ByteReader& r, std::string* out) {
  uint32_t n = 0;
  std::string_view view;
  if (!r.U32(&n) || !r.Bytes(n, &view)) return false;
  out->assign(view);
  return true;
}

void PutId(ByteWriter& w, const NodeId& id) {
  w.String8(id.value);
}

bool GetId(ByteReader& r, NodeId* out) {
  std::string_view view;
  if (!r.String8(&view)) return false;
  out->value.assign(view);
  return true;
}

void PutEntry(ByteWriter& w, const Entry& e) {
  w.U64(e.term.value);
  w.U64(e.index.value);
  w.U8(static_cast<uint8_t>(e.type));
  PutString(w, e.data);
}

bool GetEntry(ByteReader& r, Entry* e) {
  uint8_t type = 0;
  if (!r.U64(&e->term.value) || !r.U64(&e->index.value) || !r.U8(&type)) return false;
  if (type < static_cast<uint8_t>(EntryType::kNormal) ||
      type > static_cast<uint8_t>(EntryType::kBootstrap))
    return false;
  e->type = static_cast<EntryType>(type);
  return GetString(r, &e->data);
}

void PutIdSet(ByteWriter& w, const std::set<NodeId>& ids) {
  w.U32(static_cast<uint32_t>(ids.size()));
  for (const NodeId& id : ids)
    PutId(w, id);
}

bool GetIdSet(ByteReader& r, std::set<NodeId>* ids) {
  uint32_t n = 0;
  if (!r.U32(&n) || n > kMaxCount) return false;
  for (uint32_t i = 0; i < n; ++i) {
    NodeId id;
    if (!GetId(r, &id) || id.empty() || !ids->insert(std::move(id)).second) return false;
  }
  return true;
}

void PutConfState(ByteWriter& w, const ConfState& c) {
  PutIdSet(w, c.voters);
  PutIdSet(w, c.learners);
}

bool GetConfState(ByteReader& r, ConfState* c) {
  if (!GetIdSet(r, &c->voters) || !GetIdSet(r, &c->learners)) return false;
  for (const NodeId& id : c->learners)
    if (c->voters.count(id)) return false;
  return true;
}

void PutSnapshot(ByteWriter& w, const Snapshot& s) {
  w.U64(s.index.value);
  w.U64(s.term.value);
  PutConfState(w, s.conf);
  PutString(w, s.data);
}

bool GetSnapshot(ByteReader& r, Snapshot* s) {
  return r.U64(&s->index.value) && r.U64(&s->term.value) && GetConfState(r, &s->conf) &&
         GetString(r, &s->data);
}

template <typename T, typename Fn>
std::optional<T> DecodeWhole(std::string_view bytes, Fn get) {
  ByteReader r(bytes);
  T value{};
  if (!get(r, &value) || !r.ok() || r.remaining() != 0) return std::nullopt;
  return value;
}

}  // namespace

std::string EncodeEntry(const Entry& entry) {
  ByteWriter w;
  PutEntry(w, entry);
  return w.Take();
}

std::optional<Entry> DecodeEntry(std::string_view bytes) {
  return DecodeWhole<Entry>(bytes, GetEntry);
}

std::string EncodeConfChange(const ConfChange& change) {
  ByteWriter w;
  w.U8(static_cast<uint8_t>(change.type));
  PutId(w, change.node);
  PutString(w, change.context);
  return w.Take();
}

std::optional<ConfChange> DecodeConfChange(std::string_view bytes) {
  return DecodeWhole<ConfChange>(bytes, [](ByteReader& r, ConfChange* c) {
    uint8_t type = 0;
    if (!r.U8(&type) || type < static_cast<uint8_t>(ConfChangeType::kAddLearner) ||
        type > static_cast<uint8_t>(ConfChangeType::kRemove))
      return false;
    c->type = static_cast<ConfChangeType>(type);
    return GetId(r, &c->node) && !c->node.empty() && GetString(r, &c->context);
  });
}

std::string EncodeConfState(const ConfState& conf) {
  ByteWriter w;
  PutConfState(w, conf);
  return w.Take();
}

std::optional<ConfState> DecodeConfState(std::string_view bytes) {
  return DecodeWhole<ConfState>(bytes, GetConfState);
}

std::string EncodeHardState(const HardState& state) {
  ByteWriter w;
  w.U64(state.term.value);
  PutId(w, state.vote);
  w.U64(state.commit.value);
  return w.Take();
}

std::optional<HardState> DecodeHardState(std::string_view bytes) {
  return DecodeWhole<HardState>(bytes, [](ByteReader& r, HardState* s) {
    return r.U64(&s->term.value) && GetId(r, &s->vote) && r.U64(&s->commit.value);
  });
}

std::string EncodeSnapshot(const Snapshot& snapshot) {
  ByteWriter w;
  PutSnapshot(w, snapshot);
  return w.Take();
}

std::optional<Snapshot> DecodeSnapshot(std::string_view bytes) {
  return DecodeWhole<Snapshot>(bytes, GetSnapshot);
}

std::string EncodeMessage(const Message& m) {
  ByteWriter w;
  w.U8(static_cast<uint8_t>(m.type));
  PutId(w, m.from);
  PutId(w, m.to);
  w.U64(m.term.value);
  w.U64(m.log_term.value);
  w.U64(m.index.value);
  w.U64(m.commit.value);
  w.U8(static_cast<uint8_t>((m.reject ? 1 : 0) | (m.transfer ? 2 : 0) | (m.snapshot ? 4 : 0)));
  w.U64(m.reject_hint.value);
  w.U32(static_cast<uint32_t>(m.entries.size()));
  for (const Entry& e : m.entries)
    PutEntry(w, e);
  if (m.snapshot) PutSnapshot(w, *m.snapshot);
  return w.Take();
}

std::optional<Message> DecodeMessage(std::string_view bytes) {
  return DecodeWhole<Message>(bytes, [](ByteReader& r, Message* m) {
    uint8_t type = 0, flags = 0;
    uint32_t count = 0;
    if (!r.U8(&type) || type < static_cast<uint8_t>(MessageType::kAppend) ||
        type > static_cast<uint8_t>(MessageType::kPropose))
      return false;
    m->type = static_cast<MessageType>(type);
    if (!GetId(r, &m->from) || !GetId(r, &m->to) || !r.U64(&m->term.value) ||
        !r.U64(&m->log_term.value) || !r.U64(&m->index.value) || !r.U64(&m->commit.value) ||
        !r.U8(&flags) || (flags & ~7u) != 0 || !r.U64(&m->reject_hint.value) || !r.U32(&count))
      return false;
    m->reject = flags & 1;
    m->transfer = flags & 2;
    // Each entry takes at least 21 bytes; a count the input cannot hold is a lie.
    if (count > kMaxCount || count > r.remaining() / 21) return false;
    m->entries.resize(count);
    for (Entry& e : m->entries)
      if (!GetEntry(r, &e)) return false;
    if (flags & 4) {
      m->snapshot.emplace();
      if (!GetSnapshot(r, &*m->snapshot)) return false;
    }
    return true;
  });
}

const char* ToString(MessageType type) {
  switch (type) {
    case MessageType::kAppend:
      return "Append";
    case MessageType::kAppendResponse:
      return "AppendResponse";
    case MessageType::kHeartbeat:
      return "Heartbeat";
    case MessageType::kHeartbeatResponse:
      return "HeartbeatResponse";
    case MessageType::kVote:
      return "Vote";
    case MessageType::kVoteResponse:
      return "VoteResponse";
    case MessageType::kPreVote:
      return "PreVote";
    case MessageType::kPreVoteResponse:
      return "PreVoteResponse";
    case MessageType::kSnapshot:
      return "Snapshot";
    case MessageType::kTimeoutNow:
      return "TimeoutNow";
    case MessageType::kPropose:
      return "Propose";
  }
  return "?";
}

const char* ToString(EntryType type) {
  switch (type) {
    case EntryType::kNormal:
      return "normal";
    case EntryType::kEmpty:
      return "empty";
    case EntryType::kConfChange:
      return "conf";
    case EntryType::kBootstrap:
      return "bootstrap";
  }
  return "?";
}

const char* ToString(ConfChangeType type) {
  switch (type) {
    case ConfChangeType::kAddLearner:
      return "add-learner";
    case ConfChangeType::kPromote:
      return "promote";
    case ConfChangeType::kRemove:
      return "remove";
  }
  return "?";
}

}  // namespace ringwatch::raft
