#pragma once
// Membership requests between agents (TCP, peer frame type kMembership),
// all addressed to the Raft leader (a non-leader forwards once):
//   JoinRequest    a new agent, or one restarted with a new incarnation;
//   Report         an observer's verdict on a member it watches, repeated
//                  every heartbeat interval while it suspects, once on clearing;
//   RejoinRequest  a member the view declares dead, but alive, repeated
//                  every heartbeat interval until the leader readmits it;
//   JoinReply      any member's answer to a join request it receives: who
//                  it is and where it listens, and the leader it knows, so
//                  that a joiner (or a bootstrap voter) seeded with bare
//                  addresses can answer Raft messages before it has a view
//                  holding anyone's address. Never forwarded.
// Leave and Remove travel as ordinary Raft proposals.
//
// Join, rejoin and report requests are signed by the member they come from
// (its Ed25519 identity) over SignedBytes(): the signature survives the
// forwarding hop, so the leader checks the origin, not the forwarder
// (docs/security.md). Pure codec.

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "membership/aggregator.h"
#include "membership/types.h"

namespace ringwatch::membership {

struct JoinRequest {
  MemberInfo info;
  bool forwarded = false;
  // The agent started without its Raft state and is quarantined
  // (raft::Node::SetQuarantined): the leader removes its old Raft identity
  // (a voter) from the configuration. Sent until the quarantine ends.
  bool lost_state = false;
  std::string signature = {};  // by info.identity over SignedBytes()
  bool operator==(const JoinRequest&) const = default;
};

struct RejoinRequest {
  std::string id;
  uint64_t incarnation = 0;  // the new one: higher than the view's
  bool forwarded = false;
  std::string signature = {};  // by the member's registered identity
  // What the member says about the time it was away: the leader revises the
  // verdict on its death with it (ReviseClass).
  Account account = {};
  bool operator==(const RejoinRequest&) const = default;
};

struct ReportMessage {
  Report report;
  bool forwarded = false;
  // The observer's wall clock when it sent the report: the leader refuses
  // reports older than kMaxReportAgeMs (a captured one, replayed).
  int64_t sent_ms = 0;
  std::string signature = {};  // by the observer's registered identity
};
inline constexpr int64_t kMaxReportAgeMs = 30'000;
inline constexpr std::size_t kSignatureSize = 64;

struct JoinReply {
  std::string id;              // the member answering
  std::string address;         // its peer address, "host:port"
  std::string leader;          // the leader it knows; empty: none
  std::string leader_address;  // empty when unknown
  bool forwarded = false;      // never set: replies are not forwarded
  bool operator==(const JoinReply&) const = default;
};

using PeerMessage = std::variant<JoinRequest, RejoinRequest, ReportMessage, JoinReply>;

std::string EncodePeerMessage(const PeerMessage& message);
// What the origin of `message` signs: a domain prefix and every field but
// the forwarding flag and the signature.
std::string SignedBytes(const PeerMessage& message);
// nullopt for anything malformed or out of bounds; `why`, if given, says
// what was out of bounds (empty: malformed).
std::optional<PeerMessage> DecodePeerMessage(std::string_view bytes, std::string* why = nullptr);

}  // namespace ringwatch::membership
