#include "components/common/http_client.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netdb.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>

#include "util/tls.h"

namespace weft::http_client {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

Result<std::string> gzip(std::string_view body) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Status::permanent("gzip: cannot start");
  }
  std::string out(deflateBound(&z, body.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  z.avail_in = static_cast<uInt>(body.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  const size_t written = z.total_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return Status::permanent("gzip: cannot compress");
  out.resize(written);
  return out;
}

Result<std::string> zstd(std::string_view body) {
  std::string out(ZSTD_compressBound(body.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), body.data(), body.size(), 1);
  if (ZSTD_isError(n)) return Status::permanent(std::string("zstd: ") + ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

// Snappy's block format: the uncompressed length as a varint, then literals and copies.
// Matches are found with a hash of 4-byte sequences over blocks of 64 KiB, as the format's
// reference encoder does; offsets stay within the block.
void snappy_literal(std::string& out, const char* p, size_t n) {
  const size_t len = n - 1;
  if (len < 60) {
    out.push_back(static_cast<char>(len << 2));
  } else {
    int bytes = 0;
    for (size_t v = len; v > 0; v >>= 8) ++bytes;
    out.push_back(static_cast<char>((59 + bytes) << 2));
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  }
  out.append(p, n);
}

void snappy_copy(std::string& out, size_t offset, size_t length) {
  while (length > 0) {
    // Copies of 4..64 bytes with a 2-byte offset (tag 2); keep at least 4 for the last one.
    size_t n = std::min<size_t>(length, 64);
    if (length - n > 0 && length - n < 4) n = length - 4;
    out.push_back(static_cast<char>(((n - 1) << 2) | 2));
    out.push_back(static_cast<char>(offset & 0xff));
    out.push_back(static_cast<char>((offset >> 8) & 0xff));
    length -= n;
  }
}

std::string snappy(std::string_view body) {
  std::string out;
  for (uint64_t v = body.size();; v >>= 7) {
    if (v < 0x80) {
      out.push_back(static_cast<char>(v));
      break;
    }
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
  }
  constexpr size_t kBlock = 1 << 16;
  constexpr int kHashBits = 14;
  std::vector<uint16_t> table(size_t{1} << kHashBits);
  for (size_t start = 0; start < body.size(); start += kBlock) {
    const char* base = body.data() + start;
    const size_t n = std::min(kBlock, body.size() - start);
    std::fill(table.begin(), table.end(), 0);
    auto load = [&](size_t i) {
      uint32_t v = 0;
      std::memcpy(&v, base + i, 4);
      return v;
    };
    auto hash = [&](uint32_t v) { return (v * 0x1e35a7bdU) >> (32 - kHashBits); };
    size_t literal = 0;  // start of the pending literal
    size_t i = 1;
    while (n >= 8 && i + 4 <= n) {
      const uint32_t v = load(i);
      const uint32_t h = hash(v);
      const size_t candidate = table[h];
      table[h] = static_cast<uint16_t>(i);
      if (candidate < i && load(candidate) == v) {
        size_t length = 4;
        while (i + length < n && base[candidate + length] == base[i + length]) ++length;
        if (i > literal) snappy_literal(out, base + literal, i - literal);
        snappy_copy(out, i - candidate, length);
        i += length;
        literal = i;
      } else {
        ++i;
      }
    }
    if (n > literal) snappy_literal(out, base + literal, n - literal);
  }
  return out;
}

bool link_local(const sockaddr* addr) {
  if (addr->sa_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(addr);
    const uint32_t ip = ntohl(a->sin_addr.s_addr);
    return (ip >> 16) == 0xa9fe ||  // 169.254.0.0/16: link-local, most clouds' metadata
           ip == 0x646464c8U;       // 100.100.100.200: a cloud's metadata service
  }
  if (addr->sa_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(addr);
    const uint8_t* b = a->sin6_addr.s6_addr;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return true;  // fe80::/10
    static const uint8_t kMetadata[16] = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0,    0,
                                          0,    0,    0,    0,    0, 0, 0x02, 0x54};
    if (std::memcmp(b, kMetadata, 16) == 0) return true;  // fd00:ec2::254
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) return b[12] == 169 && b[13] == 254;
  }
  return false;
}

std::string address_text(const sockaddr* addr) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr->sa_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr, text, sizeof(text));
  } else if (addr->sa_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr, text,
                sizeof(text));
  }
  return text;
}

// The address to connect to: the first the host resolves to that the policy allows.
Result<std::string> resolve(const std::string& host, const AddressPolicy& policy, bool& denied) {
  denied = false;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0) {
    return Status::retryable("cannot resolve " + host + ": " + gai_strerror(rc));
  }
  std::string chosen, refused;
  for (addrinfo* a = found; a != nullptr && chosen.empty(); a = a->ai_next) {
    const std::string text = address_text(a->ai_addr);
    if (text.empty()) continue;
    const bool listed = std::find(policy.allowed_literals.begin(), policy.allowed_literals.end(),
                                  text) != policy.allowed_literals.end();
    if (policy.refuse_link_local && link_local(a->ai_addr) && !listed) {
      refused = text;
      continue;
    }
    chosen = text;
  }
  ::freeaddrinfo(found);
  if (chosen.empty()) {
    denied = !refused.empty();
    return Status::permanent(host + " resolves to " +
                             (refused.empty() ? std::string("no usable address")
                                              : refused + ", a link-local or metadata address"));
  }
  return chosen;
}

Failure failure_of(const Status& status) {
  return status.reason() == static_cast<uint16_t>(Failure::kDenied) ? Failure::kDenied
                                                                    : Failure::kIo;
}

}  // namespace

bool split_url(const std::string& url, Url& out) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return false;
  const std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return false;
  out.https = scheme == "https";
  const size_t path_start = url.find_first_of("/?", scheme_end + 3);
  out.origin = url.substr(0, path_start);
  out.path = path_start == std::string::npos ? "" : url.substr(path_start);
  if (!out.path.empty() && out.path.front() == '?') out.path.insert(0, "/");
  std::string authority = out.origin.substr(scheme_end + 3);
  if (authority.empty() || authority.find('@') != std::string::npos) return false;
  std::string port;
  if (authority.front() == '[') {  // an IPv6 literal: [host] or [host]:port
    const size_t close = authority.find(']');
    if (close == std::string::npos) return false;
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return false;
      port = authority.substr(close + 2);
      if (port.empty()) return false;
    }
  } else {
    const size_t colon = authority.find(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return false;
    }
  }
  if (port.empty()) {
    out.port = out.https ? 443 : 80;
  } else {
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return false;
    }
    out.port = std::stoi(port);
  }
  return !out.host.empty() && out.port > 0 && out.port < 65536;
}

std::string canonical_origin(const Url& url) {
  std::string host = url.host;
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return std::string(url.https ? "https" : "http") + "://" + host + ":" + std::to_string(url.port);
}

bool parse_compression(std::string_view name, Compression& out) {
  if (name.empty() || name == "none") {
    out = Compression::kNone;
  } else if (name == "gzip") {
    out = Compression::kGzip;
  } else if (name == "zstd") {
    out = Compression::kZstd;
  } else if (name == "snappy") {
    out = Compression::kSnappy;
  } else {
    return false;
  }
  return true;
}

std::string_view compression_name(Compression c) {
  switch (c) {
    case Compression::kGzip:
      return "gzip";
    case Compression::kZstd:
      return "zstd";
    case Compression::kSnappy:
      return "snappy";
    case Compression::kNone:
      break;
  }
  return "none";
}

Result<std::string> compress(Compression c, std::string_view body) {
  switch (c) {
    case Compression::kGzip:
      return gzip(body);
    case Compression::kZstd:
      return zstd(body);
    case Compression::kSnappy:
      return snappy(body);
    case Compression::kNone:
      break;
  }
  return std::string(body);
}

std::string Response::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return "";
}

Client::Client(ClientSettings settings) : settings_(std::move(settings)) {}
Client::~Client() = default;

Result<Client::ClientPtr> Client::take(const Url& url, bool& reused, bool fresh) {
  reused = false;
  const std::string origin = canonical_origin(url);
  if (!fresh) {
    std::lock_guard lock(mutex_);
    auto& idle = idle_[origin];
    if (!idle.empty()) {
      reused = true;
      ClientPtr client = std::move(idle.back());
      idle.pop_back();
      return client;
    }
  }
  bool denied = false;
  auto address = resolve(url.host, settings_.addresses, denied);
  if (!address.ok()) {
    Status status = address.status();
    return denied ? std::move(status).with_reason(Failure::kDenied) : status;
  }
  ClientPtr client;
  const TlsSettings& tls = settings_.tls;
  if (url.https) {
    const std::string& name =
        tls.server_name_override.empty() ? url.host : tls.server_name_override;
    auto ssl = std::make_unique<httplib::SSLClient>(name, url.port);
    if (Status s = tls::configure_client(*ssl->ssl_context(), tls); !s.is_ok()) {
      return Status::permanent(url.origin + ": " + s.message());
    }
    if (!tls.ca_file.empty()) ssl->set_ca_cert_path(tls.ca_file);
    ssl->enable_server_certificate_verification(!tls.insecure_skip_verify);
    ssl->set_hostname_addr_map({{name, *address}});
    client = std::move(ssl);
  } else {
    client = std::make_unique<httplib::ClientImpl>(url.host, url.port);
    client->set_hostname_addr_map({{url.host, *address}});
  }
  client->set_keep_alive(true);
  // The headers and the body go out in separate writes: without this, the body waits for
  // the server's delayed ACK of the headers (40 ms a request).
  client->set_tcp_nodelay(true);
  client->set_follow_location(false);
  return client;
}

void Client::give_back(const Url& url, ClientPtr client) {
  std::lock_guard lock(mutex_);
  idle_[canonical_origin(url)].push_back(std::move(client));
}

Outcome Client::send(const Request& request, std::chrono::nanoseconds timeout) {
  Outcome outcome;
  const std::string target = request.url.origin + request.url.path;
  bool reused = false;
  auto client = take(request.url, reused, false);
  if (!client.ok()) {
    outcome.failure = failure_of(client.status());
    outcome.error = client.status().message();
    return outcome;
  }
  bool too_large = false;
  auto exchange = [&](httplib::ClientImpl& c) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
    if (ms.count() > 0) {
      c.set_connection_timeout(ms);
      c.set_read_timeout(ms);
      c.set_write_timeout(ms);
    }
    httplib::Request req;
    req.method = request.method;
    req.path = request.url.path.empty() ? "/" : request.url.path;
    for (const auto& [name, value] : request.headers) req.headers.emplace(name, value);
    req.body = request.body;
    outcome.response = Response{};
    too_large = false;
    req.content_receiver = [&](const char* data, size_t length, uint64_t, uint64_t total) {
      if (total > settings_.max_response_bytes ||
          outcome.response.body.size() + length > settings_.max_response_bytes) {
        too_large = true;
        return false;
      }
      outcome.response.body.append(data, length);
      return true;
    };
    httplib::Response res;
    httplib::Error error = httplib::Error::Success;
    const bool ok = c.send(req, res, error);
    if (ok) {
      outcome.response.status = res.status;
      for (const auto& [name, value] : res.headers)
        outcome.response.headers.emplace_back(name, value);
    }
    return error;
  };
  httplib::Error error = exchange(**client);
  if (error != httplib::Error::Success && reused &&
      (error == httplib::Error::Read || error == httplib::Error::Write)) {
    // A kept-alive connection the server closed as the request went out: once more, on a
    // new connection, before it counts as a failure.
    client = take(request.url, reused, true);
    if (!client.ok()) {
      outcome.failure = failure_of(client.status());
      outcome.error = client.status().message();
      return outcome;
    }
    error = exchange(**client);
  }
  if (too_large) {
    outcome.failure = Failure::kTooLarge;
    outcome.error = "the response from " + target + " is larger than " +
                    std::to_string(settings_.max_response_bytes) + " bytes";
    return outcome;
  }
  if (error != httplib::Error::Success) {
    std::string reason = httplib::to_string(error);
    if (error == httplib::Error::SSLServerVerification) {
      const auto verify = static_cast<httplib::SSLClient&>(**client).get_openssl_verify_result();
      reason += std::string(": ") + X509_verify_cert_error_string(verify);
    } else if (error == httplib::Error::SSLConnection) {
      reason += ": " + tls::last_error();
    }
    outcome.failure = Failure::kIo;
    outcome.error = request.method + " " + target + " failed: " + reason;
    return outcome;
  }
  give_back(request.url, std::move(client).value());
  return outcome;
}

}  // namespace weft::http_client
