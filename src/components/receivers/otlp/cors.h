#pragma once

#include <httplib.h>

#include <string>
#include <vector>

#include "components/receivers/otlp/config.h"

// CORS for the OTLP/HTTP receiver, as the Go collector's confighttp does it.
namespace weft::receivers::otlp {

std::string join_headers(const std::vector<std::string>& items);

// An origin matches an allowed one exactly (case-insensitively), "*", or a pattern with one
// "*" ("https://*.example.com").
bool origin_allowed(const Cors& cors, const std::string& origin);

// Answers a CORS preflight (or any OPTIONS): 204, with the CORS headers when the origin, the
// method (POST) and every requested header are allowed.
void preflight(const Cors& cors, const httplib::Request& request, httplib::Response& response);

}  // namespace weft::receivers::otlp
