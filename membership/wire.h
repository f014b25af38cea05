#pragma once
// Field encoders shared by the command and view-snapshot encodings (internal
// to membership/). Little-endian via core/byte_codec.h; strings carry a u32
// length; getters return false on any inconsistency.

#include <string>

#include "core/byte_codec.h"
#include "membership/types.h"

namespace ringwatch::membership::wire {

void PutString(core::ByteWriter& w, std::string_view s);
bool GetString(core::ByteReader& r, std::string* out);
void PutF64(core::ByteWriter& w, double v);
bool GetF64(core::ByteReader& r, double* v);

// With the identity last (encodings of earlier versions have none: read
// them with `with_identity` false).
void PutInfo(core::ByteWriter& w, const MemberInfo& info, bool with_identity = true);
// False when out of bounds too (`why`, if given, says how).
bool GetInfo(core::ByteReader& r, MemberInfo* info, std::string* why = nullptr,
             bool with_identity = true);
// A member id: core::IsValidId.
bool GetId(core::ByteReader& r, std::string* out);
void PutDiagnosis(core::ByteWriter& w, const Diagnosis& d);
bool GetDiagnosis(core::ByteReader& r, Diagnosis* d);
void PutHealth(core::ByteWriter& w, const Health& h);
bool GetHealth(core::ByteReader& r, Health* h);

}  // namespace ringwatch::membership::wire
