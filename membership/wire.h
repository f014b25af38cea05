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
// Diagnosis layouts: 1 the first; 2 (view format 4, command version 3)
// adds per-observer probes, the silent group and the revision; 3 (view
// format 5, command version 4) the detection path, per observer and of the
// decision.
inline constexpr uint8_t kDiagnosisLayout = 3;
void PutDiagnosis(core::ByteWriter& w, const Diagnosis& d, uint8_t layout = kDiagnosisLayout);
bool GetDiagnosis(core::ByteReader& r, Diagnosis* d, uint8_t layout = kDiagnosisLayout);
// A list of member ids, at most `max` on decoding.
void PutIds(core::ByteWriter& w, const std::vector<std::string>& ids);
bool GetIds(core::ByteReader& r, std::vector<std::string>* ids, std::size_t max);
void PutAccount(core::ByteWriter& w, const Account& a);
bool GetAccount(core::ByteReader& r, Account* a);
void PutHealth(core::ByteWriter& w, const Health& h);
bool GetHealth(core::ByteReader& r, Health* h);

}  // namespace ringwatch::membership::wire
