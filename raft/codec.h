#pragma once
// Binary encodings of the Raft vocabulary, shared by the peer transport and
// FileStorage. Little-endian, length-prefixed, versioned by the caller's frame
// or record header. Decoders never read past their input and reject trailing
// bytes, impossible enum values and absurd counts; they return nullopt rather
// than a partly-filled value. Pure functions.

#include <optional>
#include <string>
#include <string_view>

#include "raft/types.h"

namespace ringwatch::raft {

std::string EncodeEntry(const Entry& entry);
std::optional<Entry> DecodeEntry(std::string_view bytes);

std::string EncodeConfChange(const ConfChange& change);
std::optional<ConfChange> DecodeConfChange(std::string_view bytes);

std::string EncodeConfState(const ConfState& conf);
std::optional<ConfState> DecodeConfState(std::string_view bytes);

std::string EncodeHardState(const HardState& state);
std::optional<HardState> DecodeHardState(std::string_view bytes);

std::string EncodeSnapshot(const Snapshot& snapshot);
std::optional<Snapshot> DecodeSnapshot(std::string_view bytes);

std::string EncodeMessage(const Message& message);
std::optional<Message> DecodeMessage(std::string_view bytes);

}  // namespace ringwatch::raft
