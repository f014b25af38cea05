// Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/):
// valid inputs of every kind each decoder takes, so fuzzing starts from deep
// inside the formats. Run by hand after a format change:
//   build/fuzz/fuzz/make_corpus fuzz/corpus
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "agent/core/heartbeat_codec.h"
#include "agent/peer/peer_frame.h"
#include "core/crypto.h"
#include "membership/command.h"
#include "membership/peer_message.h"
#include "membership/view.h"
#include "raft/codec.h"

using namespace ringwatch;

namespace {

void Write(const std::filesystem::path& dir, const std::string& name, const std::string& bytes) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

membership::MemberInfo Info(const char* id) {
  return {id, std::string(id) + ":7420", "z1", std::string(id) + ":11211", 1,
          5,  std::string(32, 'k')};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_corpus DIR\n";
    return 2;
  }
  const std::filesystem::path out = argv[1];

  agent::Heartbeat h;
  h.sender = "node-1";
  h.incarnation = 7;
  h.sequence = 42;
  h.send_time_ns = 123456789;
  h.health = collectors::HealthSummary{0.5f, 0.7f, 0.2f, 0.01f};
  h.rtt_us = {{"node-2", 250}, {"node-3", 900}};
  const std::string heartbeat = agent::EncodeHeartbeat(h);
  const std::string ack = agent::EncodeAck({"node-2", 42, 123456789});
  Write(out / "heartbeat", "heartbeat", heartbeat);
  Write(out / "heartbeat", "ack", ack);

  std::vector<raft::Message> messages;
  for (auto type :
       {raft::MessageType::kAppend, raft::MessageType::kAppendResponse, raft::MessageType::kVote,
        raft::MessageType::kPreVote, raft::MessageType::kHeartbeat, raft::MessageType::kSnapshot,
        raft::MessageType::kPropose}) {
    raft::Message m;
    m.type = type;
    m.from = raft::NodeId{"node-1"};
    m.to = raft::NodeId{"node-2"};
    m.term = raft::Term{3};
    m.index = raft::LogIndex{10};
    m.log_term = raft::Term{2};
    m.commit = raft::LogIndex{9};
    if (type == raft::MessageType::kAppend || type == raft::MessageType::kPropose)
      m.entries.push_back(raft::Entry{raft::Term{3}, raft::LogIndex{11}, raft::EntryType::kNormal,
                                      membership::EncodeCommand({1, membership::Leave{"node-3"}})});
    if (type == raft::MessageType::kSnapshot) {
      membership::View v;
      v.Apply({1, membership::AddMember{Info("node-1")}});
      raft::ConfState conf;
      conf.voters.insert(raft::NodeId{"node-1"});
      m.snapshot = raft::Snapshot{raft::LogIndex{10}, raft::Term{3}, conf, v.Encode()};
    }
    messages.push_back(m);
  }
  for (std::size_t i = 0; i < messages.size(); ++i)
    Write(out / "raft_codec", "message-" + std::to_string(i), raft::EncodeMessage(messages[i]));

  const std::vector<membership::Command> commands{
      {1, membership::AddMember{Info("a")}},
      {2, membership::MarkDead{"a", 5, {}}},
      {3, membership::MarkAlive{"a", 6}},
      {4, membership::Leave{"a"}},
      {5, membership::Remove{"c"}},
      {6, membership::UpdateMember{Info("d")}},
      {7, membership::LeaderElected{"a", 3}},
      {8, membership::Restarting{"a", 1}},
      {9, membership::LockAcquire{"db", "worker@1", "d", 1, 5000, 1024}},
      {10, membership::LockRenew{"db", 8}},
      {11, membership::LockRelease{"db", 8}},
      {12, membership::LockExpire{"db", 8}},
  };
  for (std::size_t i = 0; i < commands.size(); ++i)
    Write(out / "membership", "command-" + std::to_string(i),
          membership::EncodeCommand(commands[i]));
  membership::Report report{
      "node-2", "node-3", 5, true, 9.5, 1.2, membership::ProbeResult::kRefused, std::nullopt};
  const std::vector<membership::PeerMessage> requests{
      membership::JoinRequest{Info("a"), false, true, std::string(64, 's')},
      membership::RejoinRequest{"a", 6, true, std::string(64, 's')},
      membership::ReportMessage{report, false, 1700000000000, std::string(64, 's')},
      membership::JoinReply{"b", "b:7420", "c", "c:7420", false},
  };
  for (std::size_t i = 0; i < requests.size(); ++i)
    Write(out / "membership", "request-" + std::to_string(i),
          membership::EncodePeerMessage(requests[i]));

  membership::View view;
  uint64_t index = 0;
  for (const auto& c : commands)
    view.Apply(c, ++index);
  view.Apply({9, membership::AddMember{Info("b")}});
  view.Apply({10, membership::MarkDead{"b", 5, {}}});
  for (uint8_t format : {1, 2, 3, 6})
    Write(out / "view", "format-" + std::to_string(format), view.Encode(format));

  const agent::FrameSender sender{"node-1", 7, core::SigningKey::Generate()};
  const core::SigningKey receiver = core::SigningKey::Generate();
  const std::string pair = *core::PairKey(sender.key, receiver.public_key);
  int n = 0;
  for (auto [type, payload] : std::vector<std::pair<agent::FrameType, std::string>>{
           {agent::FrameType::kHeartbeat, heartbeat},
           {agent::FrameType::kHeartbeatAck, ack},
           {agent::FrameType::kRaft, raft::EncodeMessage(messages[0])},
           {agent::FrameType::kMembership, membership::EncodePeerMessage(requests[0])}}) {
    for (const char* key : {"", "fuzz-key-0123456789"}) {
      Write(out / "peer_frame", "frame-" + std::to_string(n++),
            agent::EncodeFrame(type, "default", sender, 5, 1700000000000, payload, key));
      Write(out / "peer_frame", "frame-" + std::to_string(n++),
            agent::EncodeFrame(type, "default", sender, 6, 1700000000000, payload, key, &pair));
    }
  }

  Write(out / "config", "minimal.yaml", "node:\n  id: node-1\n");
  Write(out / "config", "cluster.yaml",
        "node:\n  id: node-1\n  zone: z1\n  weight: 2\ncluster:\n  name: prod\n  seeds: "
        "[\"10.0.0.1:7420\", \"[::1]:7420\"]\n  bootstrap_voters: [node-1, node-2]\n  voters: 3\n"
        "  allow_insecure: true\n  restart_grace: 10s\nlisten:\n  peer: 0.0.0.0:7420\n  http: "
        "127.0.0.1:7421\ndetector:\n  heartbeat_interval: 100ms\n  phi_threshold: 8\n"
        "ring:\n  hash: xxh3\n  points: 160\nhttp:\n  max_connections: 10\nlog:\n  level: "
        "debug\ncollectors: [cpu, process]\n");

  const std::string nul(1, '\0');
  for (const auto& [name, request] : std::vector<std::pair<std::string, std::string>>{
           {"status", "GET" + nul + "/v1/status"},
           {"members", "GET" + nul + "/v1/members?index=3&wait=1s"},
           {"events", "GET" + nul + "/v1/events?since=2"},
           {"lookup", "GET" + nul + "/v1/ring/lookup?key=user%3A42&replicas=3"},
           {"diagnosis", "GET" + nul + "/v1/diagnosis/b"},
           {"remove", "POST" + nul + "/v1/members/b/remove" + nul +
                          "authorization: Bearer fuzz-token" + nul + "L"},
           {"leave", "POST" + nul + "/v1/leave" + nul + "origin: http://evil" + nul},
           {"locks", "GET" + nul + "/v1/locks?index=2&wait=1s"},
           {"lock_acquire", "POST" + nul + "/v1/locks/db?holder=w%401&ttl=10s&wait=5s" + nul +
                                "authorization: Bearer fuzz-token" + nul + "L"},
           {"lock_renew", "POST" + nul + "/v1/locks/db/renew?token=7" + nul +
                              "authorization: Bearer fuzz-token" + nul + "L"},
           {"lock_release", "DELETE" + nul + "/v1/locks/db?token=7" + nul +
                                "authorization: Bearer fuzz-token" + nul + "L"}}) {
    Write(out / "http", name, request);
  }
  std::cout << "corpus written under " << out << "\n";
  return 0;
}
