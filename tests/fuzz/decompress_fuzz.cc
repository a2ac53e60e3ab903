// Request bodies as clients compress them (common/decompress.h): DecompressBody over arbitrary
// bytes gives the body, a CapacityError past its cap, Invalid for what does not decompress, or
// NotImplemented for an unknown coding; never a crash, never more than the cap (plus one chunk's
// growth) held, never a body longer than the cap. And what zlib or zstd compressed comes back
// byte for byte (or is refused as too large when it is).
//
// Input: byte 0 chooses the coding (its value modulo 8: gzip, deflate, zstd, identity, "", x-gzip,
// an unknown coding, and 7: round trip); byte 1 the cap (byte * 256 bytes, 0 included); the rest
// is the body, or with 7 what is compressed (by byte 2's choice of gzip, deflate or zstd) and then
// decompressed.

#include <zlib.h>
#include <zstd.h>

#include <cstddef>
#include <cstdint>

#include "common/decompress.h"
#include "fuzz_support.h"

namespace openwit::fuzz {
namespace {

const char* const kCodings[] = {"gzip", "deflate", "zstd", "identity", "", "x-gzip", "br"};

void CheckResult(const arrow::Result<std::string>& out, size_t cap) {
  if (out.ok()) {
    FUZZ_EXPECT(out->size() <= cap, "a body of {} bytes passes a cap of {}", out->size(), cap);
    return;
  }
  const arrow::Status& s = out.status();
  FUZZ_EXPECT(s.IsCapacityError() || s.IsInvalid() || s.IsNotImplemented(), "unexpected error: {}", s.ToString());
  FUZZ_EXPECT(s.message().rfind("body: ", 0) == 0 || s.IsNotImplemented(), "message: {}", s.message());
}

// zlib's one-shot compressor: gzip (window bits 16 + 15) or zlib framing (15).
std::string Deflate(std::string_view in, int window_bits) {
  z_stream z{};
  FUZZ_EXPECT(deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) == Z_OK,
              "deflateInit2");
  std::string out(deflateBound(&z, in.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  FUZZ_EXPECT(deflate(&z, Z_FINISH) == Z_STREAM_END, "deflate");
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string Zstd(std::string_view in) {
  std::string out(ZSTD_compressBound(in.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 1);
  FUZZ_EXPECT(!ZSTD_isError(n), "ZSTD_compress");
  out.resize(n);
  return out;
}

void RoundTrip(std::string_view plain, uint8_t choice, size_t cap) {
  const int coding = choice % 3;
  const std::string packed = coding == 0   ? Deflate(plain, 16 + MAX_WBITS)
                             : coding == 1 ? Deflate(plain, MAX_WBITS)
                                           : Zstd(plain);
  auto out = DecompressBody(kCodings[coding], packed, cap);
  if (plain.size() > cap) {
    FUZZ_EXPECT(!out.ok() && out.status().IsCapacityError(), "{} bytes through a cap of {}: {}", plain.size(), cap,
                out.ok() ? std::string("accepted") : out.status().ToString());
    return;
  }
  FUZZ_EXPECT(out.ok(), "{} of {} bytes does not come back: {}", kCodings[coding], plain.size(),
              out.status().ToString());
  FUZZ_EXPECT(*out == plain, "{} of {} bytes comes back as {} different bytes", kCodings[coding], plain.size(),
              out->size());
}

}  // namespace
}  // namespace openwit::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  openwit::fuzz::InitializeTarget();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace openwit::fuzz;
  if (size < 2) return -1;
  const size_t cap = size_t{data[1]} << 8;
  const std::string_view rest = AsText(data + 2, size - 2);
  const int mode = data[0] % 8;
  if (mode == 7) {
    if (rest.empty()) return -1;
    RoundTrip(rest.substr(1), static_cast<uint8_t>(rest[0]), cap);
    return 0;
  }
  CheckResult(openwit::DecompressBody(kCodings[mode], rest, cap), cap);
  return 0;
}
