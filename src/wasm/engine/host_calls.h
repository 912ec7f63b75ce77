#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// What a plugin may ask of the host (the imports of module "weft" in docs/abi.md).
// The engine checks guest pointers and copies bytes; an implementation sees
// only host memory. Return codes are the ABI's (0 ok, negative errors).
namespace weft::wasm {

class HostCalls {
 public:
  virtual ~HostCalls() = default;
  virtual void log(int32_t level, std::string_view message) = 0;
  virtual void set_error(std::string_view message) = 0;
  [[nodiscard]] virtual std::string_view config() const = 0;
  virtual int64_t now_unix_nano() = 0;
  virtual int32_t metric(int32_t kind, std::string_view name, double value,
                         std::string_view attributes) = 0;
  // Returns -1 if absent, else the value's size (value filled in).
  virtual int32_t kv_get(std::string_view key, std::string& value) = 0;
  virtual int32_t kv_set(std::string_view key, std::string_view value) = 0;
  virtual int32_t kv_delete(std::string_view key) = 0;
  virtual int32_t env_get(std::string_view name, std::string& value) = 0;
  // Who sent the batch (1.3): "client.address", "auth.<name>", "metadata.<name>"; -1 if absent.
  virtual int32_t client_info(std::string_view key, std::string& value) = 0;
  // Authenticators (1.3): an attribute of the authenticated client; a header for the signed
  // outbound request.
  virtual int32_t set_client_attribute(std::string_view key, std::string_view value) = 0;
  virtual int32_t add_header(std::string_view name, std::string_view value) = 0;
  // Host cryptography (1.3): HMAC-SHA256 under a configured secret (by name); a signature check.
  virtual int32_t hmac_sha256(std::string_view secret, std::string_view message,
                              std::string& mac) = 0;
  virtual int32_t verify_signature(std::string_view alg, std::string_view key,
                                   std::string_view message, std::string_view signature) = 0;
  // A row of a lookup table (1.3): -1 if the key has none, else the size of the encoded fields.
  virtual int32_t lookup(std::string_view table, std::string_view key, std::string& fields) = 0;
  virtual int32_t result_drop_all() = 0;
  virtual int32_t result_keep(std::string_view mask) = 0;
  virtual int32_t result_edits(std::string_view edits) = 0;
  virtual int32_t result_replace(std::string_view request) = 0;
  // Connectors (1.4): one route per item of the batch (0 default, k the k-th route, 255 none).
  virtual int32_t result_route(std::string_view routes) = 0;
  // Connectors only: a request of the output signal for the next pipelines.
  virtual int32_t emit(int32_t signal, std::string_view request) = 0;
  // Exporters only: one outbound request; the response's HTTP status, or a negative code.
  // `headers` are "Name: value" lines separated by "\n".
  virtual int32_t http_request(std::string_view method, std::string_view url,
                               std::string_view headers, std::string_view body) = 0;
  // A header of the last response: -1 if absent (or no response), else its size.
  virtual int32_t http_response_header(std::string_view name, std::string& value) = 0;
  // The last response's body; null if there is none.
  virtual const std::string* http_response_body() = 0;
  // Exporters: details of the status weft_export_<signal> returns.
  virtual int32_t set_retry_after(int64_t milliseconds) = 0;
  virtual int32_t set_rejected(int64_t items) = 0;
  // Receivers: what the request being received is (0 method, 1 path, 2 query, 3 the pull
  // target's URL, 4 the client's address, 5 the pull response's status); -1 if it has none.
  virtual int32_t request_info(int32_t which, std::string& value) = 0;
  virtual int32_t request_header(std::string_view name, std::string& value) = 0;
  // Receivers (push): the HTTP status and body of the answer.
  virtual int32_t respond(int32_t status, std::string_view body) = 0;
};

// One import of module "weft": its name, its signature ("(i32,i32)->(i32)", as
// Module::signature writes it) and what it calls for in `weft plugin inspect` (empty for
// nothing). The list is declared once, beside the handlers in engine.cc.
struct HostFunction {
  std::string name;
  std::string signature;
  std::string capability;
};
const std::vector<HostFunction>& host_functions();

// ABI return codes shared by host calls.
inline constexpr int32_t kAbiOk = 0;
inline constexpr int32_t kAbiNotFound = -1;
inline constexpr int32_t kAbiInvalid = -2;
inline constexpr int32_t kAbiDenied = -3;
inline constexpr int32_t kAbiLimit = -4;
inline constexpr int32_t kAbiFailed = -5;  // an outbound request failed (no response)

}  // namespace weft::wasm
