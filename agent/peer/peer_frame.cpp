#include "agent/peer/peer_frame.h"

#include "core/byte_codec.h"
#include "core/sha256.h"

namespace ringwatch::agent {
namespace {

constexpr uint8_t kAuthenticated = 0x01;
constexpr std::size_t kTagSize = 32;

std::string Tag(std::string_view key, std::string_view data) {
  const core::Sha256Digest d = core::HmacSha256(key, data);
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
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
  }
  return "malformed";
}

std::string EncodeFrame(FrameType type, std::string_view cluster, std::string_view payload,
                        std::string_view key) {
  core::ByteWriter w;
  w.Bytes("RW");
  w.U8(kProtocolVersion);
  w.U8(static_cast<uint8_t>(type));
  w.U8(key.empty() ? 0 : kAuthenticated);
  w.String8(cluster);
  if (IsStreamFrame(type)) {
    w.U32(static_cast<uint32_t>(payload.size()));
    w.Bytes(payload);
  } else {
    w.Blob16(payload);
  }
  std::string out = w.Take();
  if (!key.empty()) out += Tag(key, out);
  return out;
}

core::Result<Frame, DropReason> DecodeFrame(std::string_view bytes, std::string_view cluster,
                                            std::string_view key, std::size_t max_size) {
  using core::MakeError;
  if (bytes.size() > max_size) return MakeError(DropReason::kOversize);
  core::ByteReader r(bytes);
  std::string_view magic;
  uint8_t version = 0, type = 0, flags = 0;
  if (!r.Bytes(2, &magic) || magic != "RW" || !r.U8(&version))
    return MakeError(DropReason::kMalformed);
  if (version != kProtocolVersion) return MakeError(DropReason::kBadVersion);
  std::string_view frame_cluster, payload;
  if (!r.U8(&type) || !r.U8(&flags) || !r.String8(&frame_cluster)) {
    return MakeError(DropReason::kMalformed);
  }
  if (type == static_cast<uint8_t>(FrameType::kRaft) ||
      type == static_cast<uint8_t>(FrameType::kMembership)) {
    uint32_t length = 0;
    if (!r.U32(&length) || !r.Bytes(length, &payload)) return MakeError(DropReason::kMalformed);
  } else if (!r.Blob16(&payload)) {
    return MakeError(DropReason::kMalformed);
  }
  const bool tagged = (flags & kAuthenticated) != 0;
  if ((flags & ~kAuthenticated) != 0 || r.remaining() != (tagged ? kTagSize : 0)) {
    return MakeError(DropReason::kMalformed);
  }
  // Authentication before anything else of the frame is trusted. A cluster
  // with a secret and a member without one (or the reverse) disagree loudly.
  if (tagged != !key.empty()) return MakeError(DropReason::kBadHmac);
  if (tagged) {
    const std::string_view signed_part = bytes.substr(0, r.position());
    const std::string expected = Tag(key, signed_part);
    if (!core::ConstantTimeEqual(expected, bytes.substr(r.position(), kTagSize))) {
      return MakeError(DropReason::kBadHmac);
    }
  }
  if (frame_cluster != cluster) return MakeError(DropReason::kWrongCluster);
  if (type != static_cast<uint8_t>(FrameType::kHeartbeat) &&
      type != static_cast<uint8_t>(FrameType::kHeartbeatAck) &&
      type != static_cast<uint8_t>(FrameType::kRaft) &&
      type != static_cast<uint8_t>(FrameType::kMembership)) {
    return MakeError(DropReason::kMalformed);
  }
  return Frame{static_cast<FrameType>(type), payload};
}

}  // namespace ringwatch::agent
