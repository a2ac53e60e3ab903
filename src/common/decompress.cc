#include "common/decompress.h"

#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <memory>

namespace openwit {

const char* const kSupportedContentEncodings = "gzip, deflate, zstd";

namespace {

arrow::Status TooLarge(size_t max_bytes) {
  return arrow::Status::CapacityError("body: more than ", max_bytes,
                                      " bytes once decompressed (the request size limit applies to the "
                                      "decompressed body too)");
}

// Grows `out` for the next write: doubling, never past max_bytes + 1 (one byte over is enough to
// know the body is too large).
char* NextChunk(std::string* out, size_t* used, size_t max_bytes, size_t* room) {
  if (*used == out->size()) out->resize(std::min(std::max<size_t>(out->size() * 2, 64 * 1024), max_bytes + 1));
  *room = out->size() - *used;
  return out->data() + *used;
}

// gzip (window_bits 16 + 15) or zlib (15). Concatenated gzip members are read one after another.
arrow::Result<std::string> Inflate(std::string_view in, int window_bits, const char* name, size_t max_bytes) {
  z_stream z{};
  if (inflateInit2(&z, window_bits) != Z_OK) return arrow::Status::UnknownError("zlib: cannot initialize");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&z, inflateEnd);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(std::min<size_t>(in.size(), UINT32_MAX));
  std::string out;
  size_t used = 0;
  while (true) {
    size_t room = 0;
    char* dst = NextChunk(&out, &used, max_bytes, &room);
    z.next_out = reinterpret_cast<Bytef*>(dst);
    z.avail_out = static_cast<uInt>(std::min<size_t>(room, UINT32_MAX));
    const uInt before = z.avail_out;
    int rc = inflate(&z, Z_NO_FLUSH);
    used += before - z.avail_out;
    if (used > max_bytes) return TooLarge(max_bytes);
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) break;
      if (inflateReset(&z) != Z_OK) return arrow::Status::UnknownError("zlib: cannot reset");
      continue;
    }
    if (rc == Z_BUF_ERROR && z.avail_in == 0) {
      return arrow::Status::Invalid("body: truncated ", name, " stream");
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return arrow::Status::Invalid("body: Content-Encoding is ", name, " but the body does not decompress (",
                                    z.msg ? z.msg : "zlib error", ")");
    }
  }
  out.resize(used);
  return out;
}

arrow::Result<std::string> Unzstd(std::string_view in, size_t max_bytes) {
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!ctx) return arrow::Status::OutOfMemory("zstd: cannot create a context");
  // A frame declares its window (the memory its decoder needs): allow what the body may inflate to,
  // and at least the 8 MiB that streaming compressors use by default.
  int window_log = 23;
  while (window_log < 31 && (size_t{1} << window_log) < max_bytes) ++window_log;
  ZSTD_DCtx_setParameter(ctx.get(), ZSTD_d_windowLogMax, window_log);
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  std::string out;
  size_t used = 0;
  size_t last = 1;  // ZSTD_decompressStream's hint: 0 once a frame is complete
  while (input.pos < input.size || last != 0) {
    size_t room = 0;
    char* dst = NextChunk(&out, &used, max_bytes, &room);
    ZSTD_outBuffer output{dst, room, 0};
    last = ZSTD_decompressStream(ctx.get(), &output, &input);
    used += output.pos;
    if (ZSTD_isError(last)) {
      if (ZSTD_getErrorCode(last) == ZSTD_error_frameParameter_windowTooLarge) {
        return arrow::Status::CapacityError("body: the zstd frame needs a window of more than ",
                                            size_t{1} << window_log, " bytes to decompress");
      }
      return arrow::Status::Invalid("body: Content-Encoding is zstd but the body does not decompress (",
                                    ZSTD_getErrorName(last), ")");
    }
    if (used > max_bytes) return TooLarge(max_bytes);
    // Every byte read, room left in the output, and the frame still unfinished: the body ends early.
    if (last != 0 && input.pos == input.size && output.pos < output.size) {
      return arrow::Status::Invalid("body: truncated zstd stream");
    }
  }
  out.resize(used);
  return out;
}

}  // namespace

arrow::Result<std::string> DecompressBody(std::string_view encoding, std::string_view body, size_t max_bytes) {
  if (encoding.empty() || encoding == "identity") {
    if (body.size() > max_bytes) {
      return arrow::Status::CapacityError("body: more than ", max_bytes, " bytes");
    }
    return std::string(body);
  }
  if (encoding == "gzip" || encoding == "x-gzip") return Inflate(body, 16 + MAX_WBITS, "gzip", max_bytes);
  if (encoding == "deflate") return Inflate(body, MAX_WBITS, "deflate", max_bytes);
  if (encoding == "zstd") return Unzstd(body, max_bytes);
  return arrow::Status::NotImplemented("Content-Encoding \"", std::string(encoding), "\" is not supported: use one of ",
                                       kSupportedContentEncodings, " or none");
}

}  // namespace openwit
