#pragma once
// CRC-32C (Castagnoli), the checksum of every record ringwatch writes to disk
// (as in etcd's WAL and LevelDB). Table-driven, byte at a time: the records
// are small and fsync dominates. Pure; thread-safe.

#include <cstdint>
#include <string_view>

namespace ringwatch::core {

// Extends `crc` (the value of a previous call, or 0) over `data`.
uint32_t Crc32c(std::string_view data, uint32_t crc = 0);

}  // namespace ringwatch::core
