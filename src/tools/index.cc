#include <httplib.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <mutex>

#include "pkg/json.h"
#include "pkg/store.h"
#include "tools/located.h"
#include "tools/package_tool.h"
#include "util/base64.h"

namespace weft::tools {

namespace {

std::string html(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string joined(const std::vector<std::string>& items, const char* none = "-") {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? none : out;
}

std::string size_text(uint64_t bytes) {
  char buf[32];
  if (bytes >= (1 << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024);
  }
  return buf;
}

struct VersionInfo {
  std::string tag, digest;
  pkg::PluginMeta meta;
  std::string signer = "-";
  bool signature_verified = false;
  std::string certified = "no";  // no | passed | failed
  std::string cost;              // "2111 µs / 512-item batch (traces)"
  int pulls = 0;
};

// Pulls per manifest digest, from the events file the receiver writes.
std::map<std::string, int> count_pulls(const std::string& events_file) {
  std::map<std::string, int> pulls;
  if (events_file.empty()) return pulls;
  std::ifstream in(events_file);
  std::string line;
  while (std::getline(in, line)) {
    auto doc = pkg::parse_json(line, "an event");
    if (doc.ok()) ++pulls[pkg::json_string(*doc, "digest")];
  }
  return pulls;
}

// The certification's verdict and its cost lines, from the attestation's statement.
void read_certification(const std::string& claims_text, VersionInfo& v) {
  auto claims = pkg::parse_json(claims_text, "claims");
  if (!claims.ok()) return;
  const pkg::JsonObject* statement = pkg::json_object(*claims, "predicate");
  const pkg::JsonObject* predicate =
      statement != nullptr ? pkg::json_object(*statement, "predicate") : nullptr;
  if (predicate == nullptr) return;
  auto passed = predicate->fields().find("passed");
  v.certified =
      passed != predicate->fields().end() && passed->second.bool_value() ? "passed" : "failed";
  const pkg::JsonObject* results = pkg::json_object(*predicate, "results");
  if (results == nullptr) return;
  for (const auto* c : pkg::json_list(*results, "cost")) {
    if (!c->has_struct_value()) continue;
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s%.0f µs (%s)", v.cost.empty() ? "" : ", ",
                  pkg::json_number(c->struct_value(), "us_per_batch"),
                  pkg::json_string(c->struct_value(), "signal").c_str());
    v.cost += buf;
  }
}

}  // namespace

int plugin_index(const IndexOptions& o, std::ostream& out, std::ostream& err) {
  if (!o.listen.empty()) {
    // Receive the registry's notifications; keep the manifest pulls.
    if (o.events.empty()) return fail(err, "--listen needs --events FILE to store them in", 2);
    const auto colon = o.listen.rfind(':');
    if (colon == std::string::npos) return fail(err, "--listen takes HOST:PORT", 2);
    httplib::Server server;
    std::mutex mu;
    server.Post("/events", [&](const httplib::Request& req, httplib::Response& res) {
      auto doc = pkg::parse_json(req.body, "a notification");
      if (!doc.ok()) {
        res.status = 400;
        return;
      }
      std::lock_guard lock(mu);
      std::ofstream file(o.events, std::ios::app);
      for (const auto* e : pkg::json_list(*doc, "events")) {
        if (!e->has_struct_value()) continue;
        const auto& event = e->struct_value();
        const pkg::JsonObject* target = pkg::json_object(event, "target");
        if (pkg::json_string(event, "action") != "pull" || target == nullptr) continue;
        if (pkg::json_string(*target, "mediaType") != pkg::kImageManifestType) continue;
        file << "{\"time\":" << pkg::json_quote(pkg::json_string(event, "timestamp"))
             << ",\"repository\":" << pkg::json_quote(pkg::json_string(*target, "repository"))
             << ",\"digest\":" << pkg::json_quote(pkg::json_string(*target, "digest"))
             << ",\"tag\":" << pkg::json_quote(pkg::json_string(*target, "tag")) << "}\n";
      }
      res.status = 200;
    });
    out << "receiving registry notifications at http://" << o.listen << "/events into " << o.events
        << std::endl;
    if (!server.listen(o.listen.substr(0, colon), std::atoi(o.listen.c_str() + colon + 1))) {
      return fail(err, "cannot listen on " + o.listen);
    }
    return 0;
  }
  if (o.registry_host.empty() || o.out.empty()) {
    return fail(err, "give --registry HOST and --out FILE (or --listen to receive events)", 2);
  }
  std::vector<pkg::PublicKey> keys;
  for (const auto& k : o.keys) {
    auto key = pkg::read_public_key(k);
    if (!key.ok()) return fail(err, key.status().message(), 2);
    keys.push_back(std::move(key).value());
  }
  pkg::PackageSettings settings = pkg::package_store()->settings();
  auto& r = settings.registries[o.registry_host];
  if (!o.registry.ca_file.empty()) r.ca_file = o.registry.ca_file;
  if (o.registry.plain_http) r.plain_http = true;
  pkg::PackageStore store(settings);
  pkg::Registry& reg = store.registry(o.registry_host);
  auto repositories = reg.catalog();
  if (!repositories.ok()) return fail(err, repositories.status().message());
  const auto pulls = count_pulls(o.events);
  std::map<std::string, std::vector<VersionInfo>> plugins;
  for (const auto& repo : *repositories) {
    auto tags = reg.tags(repo);
    if (!tags.ok()) return fail(err, tags.status().message());
    for (const auto& tag : *tags) {
      if (!pkg::Version::parse(tag)) continue;
      auto manifest = reg.manifest(repo, tag);
      if (!manifest.ok()) return fail(err, manifest.status().message());
      auto m = pkg::Manifest::parse(manifest->body, repo + ":" + tag);
      if (!m.ok() || m->layer(pkg::kWeftManifestType) == nullptr) continue;
      auto meta_bytes = reg.blob(repo, m->layer(pkg::kWeftManifestType)->digest);
      if (!meta_bytes.ok()) return fail(err, meta_bytes.status().message());
      auto meta = pkg::PluginMeta::parse(*meta_bytes, repo + ":" + tag);
      if (!meta.ok()) continue;
      VersionInfo v;
      v.tag = tag;
      v.digest = manifest->digest;
      v.meta = std::move(*meta);
      if (auto it = pulls.find(v.digest); it != pulls.end()) v.pulls = it->second;
      for (const char* suffix : {"sig", "att"}) {
        auto c = reg.manifest_if_present(repo, pkg::companion_tag(v.digest, suffix));
        if (!c.ok() || !c->has_value()) continue;
        auto cm = pkg::Manifest::parse((*c)->body, repo);
        if (!cm.ok() || cm->layers.empty()) continue;
        auto doc = reg.blob(repo, cm->layers[0].digest);
        if (!doc.ok()) continue;
        auto parsed = pkg::parse_json(*doc, "a signature");
        if (!parsed.ok()) continue;
        auto payload = pkg::json_string(*parsed, "payload");
        if (std::string(suffix) == "sig") {
          v.signer = pkg::json_string(*parsed, "keyid");
          v.signature_verified =
              pkg::verify_signature(*doc, keys, v.digest, v.meta.name, v.meta.version).ok();
        } else {
          // Shown as stored without --key; with keys, a certification none of them signed is
          // marked untrusted.
          if (auto claims = base64_decode(payload)) read_certification(*claims, v);
          if (!keys.empty() &&
              !pkg::verify_signature(*doc, keys, v.digest, v.meta.name, v.meta.version).ok()) {
            v.certified = "untrusted";
          }
        }
      }
      plugins[o.registry_host + "/" + repo].push_back(std::move(v));
    }
  }
  for (auto& [name, versions] : plugins) {
    std::sort(versions.begin(), versions.end(), [](const VersionInfo& a, const VersionInfo& b) {
      return *pkg::Version::parse(b.tag) < *pkg::Version::parse(a.tag);
    });
  }
  // The page: one self-contained file, no scripts, styles inline.
  std::string page =
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>weft plugins: " +
      html(o.registry_host) +
      "</title><style>"
      "body{font-family:sans-serif;margin:2em;color:#1a1a1a;background:#fff;max-width:72em}"
      "h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:2px solid #36c}"
      "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #bbb;padding:.3em "
      ".6em;text-align:left;font-size:.95em}th{background:#eef2fa}"
      ".ok{color:#075f07;font-weight:bold}.no{color:#a00;font-weight:bold}"
      "pre{background:#f4f4f4;padding:.6em;white-space:pre-wrap}code{font-size:.9em}"
      "</style></head><body>\n<h1>weft plugins in " +
      html(o.registry_host) + "</h1>\n<p>" + std::to_string(plugins.size()) +
      " plugin(s). Signatures " +
      (keys.empty() ? "are shown as stored (not verified: no --key given)"
                    : "are verified against " + std::to_string(keys.size()) + " key(s)") +
      ". Pulls are counted from the registry's notifications.</p>\n";
  for (const auto& [name, versions] : plugins) {
    const VersionInfo& latest = versions.front();
    int total_pulls = 0;
    for (const auto& v : versions) total_pulls += v.pulls;
    page += "<section class=\"plugin\" id=\"" + html(name) + "\"><h2>" + html(latest.meta.name) +
            " <small>" + html(latest.meta.version) + "</small></h2>\n<p>" +
            html(latest.meta.description.empty() ? "(no description)" : latest.meta.description) +
            "</p>\n<table><tr><th>reference</th><td><code>oci://" + html(name) + ":" +
            html(latest.tag) + "</code></td></tr><tr><th>signals</th><td>" +
            html(joined(latest.meta.signals)) + "</td></tr><tr><th>kinds</th><td>" +
            html(joined(latest.meta.kinds)) + "</td></tr><tr><th>permissions</th><td>" +
            html(joined(latest.meta.permissions, "none")) + "</td></tr><tr><th>license</th><td>" +
            html(latest.meta.license.empty() ? "-" : latest.meta.license) +
            "</td></tr><tr><th>source</th><td>" +
            html(latest.meta.source.empty() ? "-" : latest.meta.source) +
            "</td></tr><tr><th>pulls</th><td>" + std::to_string(total_pulls) +
            "</td></tr></table>\n<table><tr><th>version</th><th>digest</th><th>size</th>"
            "<th>signer</th><th>certified</th><th>cost per batch</th><th>pulls</th></tr>\n";
    for (const auto& v : versions) {
      const std::string signer =
          v.signer == "-" ? "<span class=\"no\">unsigned</span>"
                          : html(v.signer) + (v.signature_verified ? " <span class=\"ok\">✓</span>"
                                              : keys.empty()       ? " (unverified)"
                                                             : " <span class=\"no\">✗</span>");
      page += "<tr><td>" + html(v.meta.version) + "</td><td><code>" + html(v.digest.substr(0, 19)) +
              "…</code></td><td>" + size_text(v.meta.module_size) + "</td><td>" + signer +
              "</td><td>" +
              (v.certified == "passed" ? "<span class=\"ok\">passed</span>"
               : v.certified == "no"   ? std::string("no")
                                       : "<span class=\"no\">" + v.certified + "</span>") +
              "</td><td>" + html(v.cost.empty() ? "-" : v.cost) + "</td><td>" +
              std::to_string(v.pulls) + "</td></tr>\n";
    }
    page += "</table>\n";
    if (!latest.meta.changelog.empty()) {
      page += "<h3>Changelog</h3><pre>" + html(latest.meta.changelog) + "</pre>\n";
    }
    page += "</section>\n";
  }
  page += "</body></html>\n";
  if (Status s = pkg::write_file_atomic(o.out, page); !s.is_ok()) return fail(err, s.message());
  out << "wrote " << o.out << " (" << plugins.size() << " plugins)\n";
  return 0;
}

}  // namespace weft::tools
