#include "components/receivers/otlp/cors.h"

#include <algorithm>
#include <cctype>

namespace weft::receivers::otlp {

std::string join_headers(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// An origin matches an allowed one exactly (case-insensitively), "*", or a pattern with
// one "*" ("https://*.example.com"), as the Go collector's CORS handler does.
bool origin_allowed(const Cors& cors, const std::string& origin) {
  std::string lower = origin;
  for (char& c : lower) c = static_cast<char>(std::tolower(c));
  for (std::string allowed : cors.allowed_origins) {
    for (char& c : allowed) c = static_cast<char>(std::tolower(c));
    if (allowed == "*" || allowed == lower) return true;
    const size_t star = allowed.find('*');
    if (star == std::string::npos) continue;
    const std::string prefix = allowed.substr(0, star);
    const std::string suffix = allowed.substr(star + 1);
    if (lower.size() >= prefix.size() + suffix.size() && lower.rfind(prefix, 0) == 0 &&
        lower.compare(lower.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return true;
    }
  }
  return false;
}

// A CORS preflight (or any OPTIONS): 204, with the CORS headers when the origin, the
// method (POST) and every requested header are allowed.
void preflight(const Cors& cors, const httplib::Request& request, httplib::Response& response) {
  response.status = 204;
  const std::string origin = request.get_header_value("Origin");
  if (origin.empty() || !origin_allowed(cors, origin)) return;
  if (request.get_header_value("Access-Control-Request-Method") != "POST") return;
  std::vector<std::string> allowed = {"accept",           "accept-language",  "content-type",
                                      "content-language", "content-encoding", "x-requested-with"};
  bool any = false;
  for (std::string h : cors.allowed_headers) {
    for (char& c : h) c = static_cast<char>(std::tolower(c));
    any = any || h == "*";
    allowed.push_back(h);
  }
  std::string requested = request.get_header_value("Access-Control-Request-Headers");
  std::vector<std::string> asked;
  for (size_t start = 0; start <= requested.size();) {
    size_t end = requested.find(',', start);
    if (end == std::string::npos) end = requested.size();
    std::string h = requested.substr(start, end - start);
    while (!h.empty() && h.front() == ' ') h.erase(h.begin());
    while (!h.empty() && h.back() == ' ') h.pop_back();
    for (char& c : h) c = static_cast<char>(std::tolower(c));
    if (!h.empty()) {
      if (!any && std::find(allowed.begin(), allowed.end(), h) == allowed.end()) return;
      asked.push_back(h);
    }
    start = end + 1;
  }
  response.set_header("Access-Control-Allow-Origin", origin);
  response.set_header("Access-Control-Allow-Credentials", "true");
  response.set_header("Access-Control-Allow-Methods", "POST");
  response.set_header("Vary",
                      "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
  if (!asked.empty()) response.set_header("Access-Control-Allow-Headers", join_headers(asked));
  if (cors.max_age > 0) {
    response.set_header("Access-Control-Max-Age", std::to_string(cors.max_age));
  }
}

}  // namespace weft::receivers::otlp
