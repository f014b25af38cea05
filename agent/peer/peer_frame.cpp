#include "agent/peer/peer_frame.h"

#include "core/byte_codec.h"
#include "core/ids.h"

namespace ringwatch::agent {
namespace {

constexpr uint8_t kAuthenticated = 0x01;
constexpr uint8_t kPairwise = 0x02;

bool KnownType(uint8_t type) {
  return type >= static_cast<uint8_t>(FrameType::kHeartbeat) &&
         type <= static_cast<uint8_t>(FrameType::kKeepalive);
}

}  // namespace

const char* ToString(DropReason reason) {
  switch (reason) {
    case DropReason::kBadHmac:
      return "bad_hmac";
    case DropReason::kBadVersion:
      return "bad_version";
    case DropReason::kMalformed:
      return "malformed";
    case DropReason::kOversize:
      return "oversize";
    case DropReason::kWrongCluster:
      return "wrong_cluster";
    case DropReason::kBadIdentity:
      return "bad_identity";
    case DropReason::kReplay:
      return "replay";
  }
  return "malformed";
}

std::size_t FrameOverhead(FrameType type, std::size_t cluster_size, std::size_t id_size,
                          bool tagged, bool pairwise) {
  return 2 + 3 + 1 + cluster_size + 1 + id_size + 8 + 8 + 8 + core::kPublicKeySize +
         (IsStreamFrame(type) ? 4 : 2) + (pairwise ? core::kHmacSize : core::kSignatureSize) +
         (tagged ? core::kHmacSize : 0);
}

const std::string* PairKeys::For(const core::SigningKey& mine, std::string_view their_public) {
  auto it = keys_.find(their_public);
  if (it != keys_.end()) return &it->second;
  auto key = core::PairKey(mine, their_public);
  if (!key) return nullptr;
  if (keys_.size() >= kMax) keys_.clear();
  return &keys_.emplace(std::string(their_public), std::move(*key)).first->second;
}

std::string EncodeFrame(FrameType type, std::string_view cluster, const FrameSender& sender,
                        uint64_t sequence, int64_t sent_ms, std::string_view payload,
                        std::string_view hmac_key, const std::string* pair_key) {
  core::ByteWriter w;
  w.Bytes("RW");
  w.U8(kProtocolVersion);
  w.U8(static_cast<uint8_t>(type));
  w.U8((hmac_key.empty() ? 0 : kAuthenticated) | (pair_key ? kPairwise : 0));
  w.String8(cluster);
  w.String8(sender.id);
  w.U64(sender.incarnation);
  w.U64(sequence);
  w.I64(sent_ms);
  w.Bytes(sender.key.public_key);
  if (IsStreamFrame(type)) {
    w.U32(static_cast<uint32_t>(payload.size()));
    w.Bytes(payload);
  } else {
    w.Blob16(payload);
  }
  std::string out = w.Take();
  out += pair_key ? core::HmacSha256(*pair_key, out) : sender.key.Sign(out);
  if (!hmac_key.empty()) out += core::HmacSha256(hmac_key, out);
  return out;
}

core::Result<Frame, DropReason> DecodeFrame(std::string_view bytes, std::string_view cluster,
                                            const std::vector<std::string>& keyring,
                                            std::size_t max_size, const core::SigningKey* receiver,
                                            PairKeys* pairs) {
  using core::MakeError;
  if (bytes.size() > max_size) return MakeError(DropReason::kOversize);
  core::ByteReader r(bytes);
  std::string_view magic;
  uint8_t version = 0, type = 0, flags = 0;
  if (!r.Bytes(2, &magic) || magic != "RW" || !r.U8(&version))
    return MakeError(DropReason::kMalformed);
  if (version != kProtocolVersion) return MakeError(DropReason::kBadVersion);
  Frame f{};
  std::string_view frame_cluster;
  if (!r.U8(&type) || !r.U8(&flags) || !r.String8(&frame_cluster) || !KnownType(type) ||
      !r.String8(&f.origin.sender) || !r.U64(&f.origin.incarnation) || !r.U64(&f.origin.sequence) ||
      !r.I64(&f.origin.sent_ms) || !r.Bytes(core::kPublicKeySize, &f.origin.public_key) ||
      !core::IsValidId(f.origin.sender)) {
    return MakeError(DropReason::kMalformed);
  }
  f.type = static_cast<FrameType>(type);
  if (IsStreamFrame(f.type)) {
    uint32_t length = 0;
    if (!r.U32(&length) || !r.Bytes(length, &f.payload)) return MakeError(DropReason::kMalformed);
  } else if (!r.Blob16(&f.payload)) {
    return MakeError(DropReason::kMalformed);
  }
  const std::size_t signed_end = r.position();
  const bool pairwise = (flags & kPairwise) != 0;
  std::string_view proof;
  if (!r.Bytes(pairwise ? core::kHmacSize : core::kSignatureSize, &proof))
    return MakeError(DropReason::kMalformed);
  const bool tagged = (flags & kAuthenticated) != 0;
  if ((flags & ~(kAuthenticated | kPairwise)) != 0 ||
      r.remaining() != (tagged ? core::kHmacSize : 0)) {
    return MakeError(DropReason::kMalformed);
  }
  // The keyring's tag before anything else of the frame is trusted (and
  // before the costlier signature). A cluster with a keyring and a member
  // without one (or the reverse) disagree loudly.
  if (tagged != !keyring.empty()) return MakeError(DropReason::kBadHmac);
  if (tagged) {
    const std::string_view covered = bytes.substr(0, r.position());
    const std::string_view tag = bytes.substr(r.position(), core::kHmacSize);
    bool verified = false;
    for (const std::string& key : keyring) {
      // Every key is tried (no early exit): the time taken does not say which one matched.
      verified |= core::ConstantTimeEqual(core::HmacSha256(key, covered), tag);
    }
    if (!verified) return MakeError(DropReason::kBadHmac);
  }
  if (frame_cluster != cluster) return MakeError(DropReason::kWrongCluster);
  const std::string_view covered = bytes.substr(0, signed_end);
  if (pairwise) {
    const std::string* key =
        receiver && pairs ? pairs->For(*receiver, f.origin.public_key) : nullptr;
    if (!key || !core::ConstantTimeEqual(core::HmacSha256(*key, covered), proof))
      return MakeError(DropReason::kBadIdentity);
  } else if (!core::VerifySignature(f.origin.public_key, covered, proof)) {
    return MakeError(DropReason::kBadIdentity);
  }
  return f;
}

}  // namespace ringwatch::agent
