#include "components/common/http_client.h"

#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include <random>
#include <string>

namespace weft::http_client {
namespace {

std::string gunzip(const std::string& in) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  std::string out(1 << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  inflateEnd(&z);
  return out;
}

// A decoder of snappy's block format, written from its description, to check the encoder.
std::string unsnappy(const std::string& in) {
  size_t pos = 0;
  uint64_t length = 0;
  for (int shift = 0;; shift += 7) {
    const auto b = static_cast<uint8_t>(in.at(pos++));
    length |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (b < 0x80) break;
  }
  std::string out;
  while (pos < in.size()) {
    const auto tag = static_cast<uint8_t>(in[pos++]);
    if ((tag & 3) == 0) {
      size_t n = tag >> 2;
      if (n >= 60) {
        const size_t bytes = n - 59;
        n = 0;
        for (size_t i = 0; i < bytes; ++i)
          n |= static_cast<size_t>(static_cast<uint8_t>(in[pos++])) << (8 * i);
      }
      out.append(in, pos, n + 1);
      pos += n + 1;
      continue;
    }
    EXPECT_EQ(tag & 3, 2) << "the encoder writes 2-byte-offset copies only";
    const size_t n = (tag >> 2) + 1;
    const size_t offset = static_cast<uint8_t>(in[pos]) | (static_cast<uint8_t>(in[pos + 1]) << 8);
    pos += 2;
    EXPECT_TRUE(offset > 0 && offset <= out.size());
    for (size_t i = 0; i < n; ++i) out.push_back(out[out.size() - offset]);
  }
  EXPECT_EQ(out.size(), length);
  return out;
}

std::string sample(size_t size, bool repetitive) {
  std::mt19937 rng(7);
  std::string s;
  const std::string words[] = {"span", "service.name", "checkout", "GET /api/v1/orders", "200"};
  while (s.size() < size) {
    if (repetitive) {
      s += words[rng() % 5];
    } else {
      s.push_back(static_cast<char>(rng()));
    }
  }
  s.resize(size);
  return s;
}

TEST(HttpClientTest, CompressionRoundTrips) {
  for (size_t size : {0, 1, 7, 100, 65535, 65536, 65537, 300000}) {
    for (bool repetitive : {true, false}) {
      const std::string body = sample(size, repetitive);
      auto gz = compress(Compression::kGzip, body);
      ASSERT_TRUE(gz.ok());
      EXPECT_EQ(gunzip(*gz), body) << size;
      auto zs = compress(Compression::kZstd, body);
      ASSERT_TRUE(zs.ok());
      std::string back(body.size(), '\0');
      EXPECT_EQ(ZSTD_decompress(back.data(), back.size(), zs->data(), zs->size()), body.size());
      EXPECT_EQ(back, body);
      auto sn = compress(Compression::kSnappy, body);
      ASSERT_TRUE(sn.ok());
      EXPECT_EQ(unsnappy(*sn), body) << size << (repetitive ? " repetitive" : " random");
      if (repetitive && size > 1000) EXPECT_LT(sn->size(), body.size() / 2) << size;
    }
  }
  Compression c{};
  EXPECT_TRUE(parse_compression("snappy", c) && c == Compression::kSnappy);
  EXPECT_TRUE(parse_compression("", c) && c == Compression::kNone);
  EXPECT_FALSE(parse_compression("brotli", c));
}

TEST(HttpClientTest, UrlsAndOrigins) {
  Url url;
  ASSERT_TRUE(split_url("https://Example.COM/api/v2/spans?x=1", url));
  EXPECT_EQ(url.host, "Example.COM");
  EXPECT_EQ(url.port, 443);
  EXPECT_EQ(url.path, "/api/v2/spans?x=1");
  EXPECT_EQ(canonical_origin(url), "https://example.com:443");
  ASSERT_TRUE(split_url("http://[::1]:9411", url));
  EXPECT_EQ(url.host, "::1");
  EXPECT_EQ(canonical_origin(url), "http://[::1]:9411");
  ASSERT_TRUE(split_url("http://h:80?q", url));
  EXPECT_EQ(url.path, "/?q");
  for (const char* bad : {"ftp://h", "http://", "http://user@h/", "http://h:port", "http://h:99999",
                          "h:80", "http://[::1/"}) {
    EXPECT_FALSE(split_url(bad, url)) << bad;
  }
}

TEST(HttpClientTest, LinkLocalAndMetadataAddressesAreRefusedUnlessListed) {
  Client client(ClientSettings{});
  for (const char* target : {"http://169.254.169.254/latest/meta-data/", "http://[fe80::1]:80/",
                             "http://100.100.100.200/", "http://[fd00:ec2::254]/"}) {
    Request request;
    ASSERT_TRUE(split_url(target, request.url)) << target;
    request.method = "GET";
    const Outcome outcome = client.send(request, std::chrono::seconds(1));
    EXPECT_EQ(outcome.failure, Failure::kDenied) << target << ": " << outcome.error;
    EXPECT_NE(outcome.error.find("link-local or metadata"), std::string::npos) << outcome.error;
  }
}

}  // namespace
}  // namespace weft::http_client
