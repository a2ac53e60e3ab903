#pragma once
// Request bodies as clients compress them (HTTP Content-Encoding): gzip, deflate (zlib) and zstd.
// Inflating is bounded: it stops as soon as the output passes `max_bytes`, so a small bomb (200 KB
// of gzip that inflates to 200 MB) costs at most `max_bytes` of memory and the time to produce it.

#include <cstddef>
#include <string>
#include <string_view>

#include <arrow/result.h>

namespace openwit {

// Content codings DecompressBody takes, for error messages: "gzip, deflate, zstd".
extern const char* const kSupportedContentEncodings;

// The decompressed body. `encoding` is the Content-Encoding value ("" or "identity": the body as it
// is, still bounded by `max_bytes`). Errors: CapacityError when the output would exceed `max_bytes`
// (HTTP 413), Invalid for a body that does not decompress or is truncated (400), NotImplemented for
// an unknown coding (415). Messages start with "body: ".
arrow::Result<std::string> DecompressBody(std::string_view encoding, std::string_view body, size_t max_bytes);

}  // namespace openwit
