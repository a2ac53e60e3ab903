#pragma once
// CRC32C (Castagnoli), the checksum of every WAL entry: the SSE4.2 crc32 instruction when the CPU
// has it, a table otherwise. Checked against the RFC 3720 (iSCSI) vectors in the unit tests.

#include <cstddef>
#include <cstdint>

namespace openwit::crc32c {

// Extends `crc` (the CRC32C of earlier bytes, 0 to start) over data[0, n).
uint32_t Extend(uint32_t crc, const void* data, size_t n);
inline uint32_t Value(const void* data, size_t n) { return Extend(0, data, n); }

// As LevelDB does: a stored CRC is masked, so that the CRC of data that itself holds CRCs (a WAL
// entry whose payload embeds another checksum) stays robust.
inline uint32_t Mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
inline uint32_t Unmask(uint32_t masked) {
  uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

// Whether Extend uses the CPU instruction (for logs and benchmarks).
bool HardwareAccelerated();

}  // namespace openwit::crc32c
