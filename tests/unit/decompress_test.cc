#include "common/decompress.h"

#include <zlib.h>
#include <zstd.h>

#include <string>

#include <gtest/gtest.h>

namespace openwit {
namespace {

std::string Compress(const std::string& in, int window_bits) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, in.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}
std::string Gzip(const std::string& in) { return Compress(in, 16 + MAX_WBITS); }

std::string Zstd(const std::string& in) {
  std::string out(ZSTD_compressBound(in.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

// A zstd frame written by a streaming compressor: no content size in its header.
std::string ZstdStreamed(const std::string& in) {
  ZSTD_CCtx* ctx = ZSTD_createCCtx();
  std::string out(ZSTD_compressBound(in.size()) + 1024, '\0');
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  ZSTD_outBuffer output{out.data(), out.size(), 0};
  while (ZSTD_compressStream2(ctx, &output, &input, ZSTD_e_end) != 0) {
  }
  ZSTD_freeCCtx(ctx);
  out.resize(output.pos);
  return out;
}

const std::string kText = [] {
  std::string s;
  for (int i = 0; i < 20000; ++i) s += "record " + std::to_string(i) + " of a compressible body\n";
  return s;
}();

TEST(DecompressBody, RoundTripsEveryCoding) {
  for (const auto& [encoding, body] : {std::pair<std::string, std::string>{"gzip", Gzip(kText)},
                                       {"x-gzip", Gzip(kText)},
                                       {"deflate", Compress(kText, MAX_WBITS)},
                                       {"zstd", Zstd(kText)},
                                       {"zstd", ZstdStreamed(kText)},
                                       {"identity", kText},
                                       {"", kText}}) {
    auto out = DecompressBody(encoding, body, kText.size());
    ASSERT_TRUE(out.ok()) << encoding << ": " << out.status().ToString();
    EXPECT_EQ(*out, kText) << encoding;
  }
}

TEST(DecompressBody, ConcatenatedGzipMembersAreOneBody) {
  auto out = DecompressBody("gzip", Gzip("first ") + Gzip("second"), 1024);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "first second");
}

// The bomb of issue #11: a small body that inflates far past the limit stops at the limit.
TEST(DecompressBody, BombStopsAtTheLimit) {
  const std::string zeros(64u << 20, '\0');
  for (const auto& [encoding, body] : {std::pair<std::string, std::string>{"gzip", Gzip(zeros)},
                                       {"zstd", Zstd(zeros)},
                                       {"zstd", ZstdStreamed(zeros)}}) {
    ASSERT_LT(body.size(), 100u << 10) << encoding;
    auto out = DecompressBody(encoding, body, 1u << 20);
    ASSERT_FALSE(out.ok()) << encoding;
    EXPECT_TRUE(out.status().IsCapacityError()) << out.status().ToString();
    EXPECT_NE(out.status().message().find("more than 1048576 bytes once decompressed"), std::string::npos)
        << out.status().message();
  }
  // Exactly at the limit is fine; one byte more is not.
  EXPECT_TRUE(DecompressBody("gzip", Gzip(kText), kText.size()).ok());
  EXPECT_TRUE(DecompressBody("gzip", Gzip(kText), kText.size() - 1).status().IsCapacityError());
  EXPECT_TRUE(DecompressBody("zstd", ZstdStreamed(kText), kText.size() - 1).status().IsCapacityError());
  EXPECT_TRUE(DecompressBody("identity", kText, kText.size() - 1).status().IsCapacityError());
}

TEST(DecompressBody, TruncatedAndGarbageBodiesAreInvalid) {
  const std::string gz = Gzip(kText), zs = Zstd(kText);
  for (const auto& [encoding, body] : {std::pair<std::string, std::string>{"gzip", gz.substr(0, gz.size() / 2)},
                                       {"gzip", ""},
                                       {"gzip", "not gzip at all"},
                                       {"deflate", "not zlib"},
                                       {"zstd", zs.substr(0, zs.size() / 2)},
                                       {"zstd", ""},
                                       {"zstd", "not zstd at all"}}) {
    auto out = DecompressBody(encoding, body, 1u << 20);
    ASSERT_FALSE(out.ok()) << encoding << " of " << body.size() << " bytes";
    EXPECT_TRUE(out.status().IsInvalid()) << out.status().ToString();
    EXPECT_EQ(out.status().message().rfind("body: ", 0), 0u) << out.status().message();
  }
}

// A frame may declare a window (the decoder's memory) far larger than its content: refused as too
// large before any of it is allocated.
TEST(DecompressBody, ZstdWindowLargerThanTheLimitIsTooLarge) {
  ZSTD_CCtx* ctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(ctx, ZSTD_c_windowLog, 30);
  ZSTD_CCtx_setParameter(ctx, ZSTD_c_contentSizeFlag, 0);
  std::string out(ZSTD_compressBound(kText.size()) + 1024, '\0');
  ZSTD_inBuffer input{kText.data(), kText.size(), 0};
  ZSTD_outBuffer output{out.data(), out.size(), 0};
  ZSTD_compressStream2(ctx, &output, &input, ZSTD_e_continue);  // size unknown when the frame starts
  while (ZSTD_compressStream2(ctx, &output, &input, ZSTD_e_end) != 0) {
  }
  ZSTD_freeCCtx(ctx);
  out.resize(output.pos);
  auto decoded = DecompressBody("zstd", out, 1u << 20);
  ASSERT_TRUE(decoded.status().IsCapacityError()) << decoded.status().ToString();
  EXPECT_NE(decoded.status().message().find("window"), std::string::npos);
}

TEST(DecompressBody, UnknownCodingIsNotImplemented) {
  auto out = DecompressBody("br", "x", 1024);
  ASSERT_TRUE(out.status().IsNotImplemented());
  EXPECT_NE(out.status().message().find("gzip, deflate, zstd"), std::string::npos);
}

}  // namespace
}  // namespace openwit
