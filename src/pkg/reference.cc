#include "pkg/reference.h"

#include <charconv>

namespace weft::pkg {

bool is_package_reference(std::string_view text) {
  return text.rfind("oci://", 0) == 0;
}

Result<Reference> Reference::parse(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return Status::invalid_argument("\"" + std::string(text) + "\" is not a package reference (" +
                                    why +
                                    "; expected oci://HOST/REPOSITORY:TAG, @sha256:DIGEST or "
                                    ":^VERSION)");
  };
  if (!is_package_reference(text)) return bad("no oci:// scheme");
  std::string_view rest = text.substr(6);
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0) return bad("no registry host");
  Reference r;
  r.registry = std::string(rest.substr(0, slash));
  std::string_view path = rest.substr(slash + 1);
  if (const auto at = path.find('@'); at != std::string_view::npos) {
    r.digest = std::string(path.substr(at + 1));
    path = path.substr(0, at);
    if (r.digest.rfind("sha256:", 0) != 0 || r.digest.size() != 71) {
      return bad("a digest must be sha256: and 64 hex digits");
    }
  } else if (const auto colon = path.rfind(':');
             colon != std::string_view::npos && path.find('/', colon) == std::string_view::npos) {
    std::string tag(path.substr(colon + 1));
    path = path.substr(0, colon);
    if (tag.empty()) return bad("an empty tag");
    if (tag[0] == '^' || tag[0] == '~') {
      if (!Version::parse(tag.substr(1)) && !Version::parse(tag.substr(1) + ".0") &&
          !Version::parse(tag.substr(1) + ".0.0")) {
        return bad("a version requirement must be ^ or ~ and a version");
      }
      r.requirement = tag;
    } else {
      r.tag = tag;
    }
  } else {
    r.tag = "latest";
  }
  if (path.empty()) return bad("no repository");
  for (char c : path) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return bad("a repository is lowercase letters, digits, '/', '.', '_' and '-'");
  }
  r.repository = std::string(path);
  return r;
}

std::string Reference::str() const {
  std::string out = "oci://" + name();
  if (!digest.empty()) return out + "@" + digest;
  return out + ":" + (requirement.empty() ? tag : requirement);
}

std::optional<Version> Version::parse(std::string_view text) {
  if (!text.empty() && text[0] == 'v') text.remove_prefix(1);
  Version v;
  if (const auto dash = text.find('-'); dash != std::string_view::npos) {
    v.prerelease = std::string(text.substr(dash + 1));
    text = text.substr(0, dash);
    if (v.prerelease.empty()) return std::nullopt;
  }
  int* parts[3] = {&v.major, &v.minor, &v.patch};
  for (int i = 0; i < 3; ++i) {
    const auto dot = text.find('.');
    const std::string_view part = i < 2 ? text.substr(0, dot) : text;
    if (part.empty() || (i < 2 && dot == std::string_view::npos)) return std::nullopt;
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), *parts[i]);
    if (ec != std::errc() || end != part.data() + part.size()) return std::nullopt;
    if (i < 2) text = text.substr(dot + 1);
  }
  return v;
}

std::string Version::str() const {
  std::string out =
      std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
  return prerelease.empty() ? out : out + "-" + prerelease;
}

int Version::compare(const Version& o) const {
  if (major != o.major) return major < o.major ? -1 : 1;
  if (minor != o.minor) return minor < o.minor ? -1 : 1;
  if (patch != o.patch) return patch < o.patch ? -1 : 1;
  if (prerelease == o.prerelease) return 0;
  if (prerelease.empty()) return 1;
  if (o.prerelease.empty()) return -1;
  return prerelease < o.prerelease ? -1 : 1;
}

bool satisfies(const Version& v, std::string_view requirement) {
  if (requirement.empty()) return false;
  const char op = requirement[0];
  if (op != '^' && op != '~') {
    auto exact = Version::parse(requirement);
    return exact && exact->compare(v) == 0;
  }
  if (!v.prerelease.empty()) return false;
  std::string base(requirement.substr(1));
  // "1" and "1.2" are 1.0.0 and 1.2.0 as lower bounds.
  int dots = 0;
  for (char c : base) dots += c == '.' ? 1 : 0;
  for (; dots < 2; ++dots) base += ".0";
  auto low = Version::parse(base);
  if (!low || v < *low) return false;
  if (op == '~') return v.major == low->major && v.minor == low->minor;
  if (low->major > 0) return v.major == low->major;
  if (low->minor > 0) return v.major == 0 && v.minor == low->minor;
  return v.major == 0 && v.minor == 0 && v.patch == low->patch;
}

std::optional<std::string> best_tag(const std::vector<std::string>& tags,
                                    std::string_view requirement) {
  std::optional<std::string> best;
  std::optional<Version> best_version;
  for (const auto& tag : tags) {
    auto v = Version::parse(tag);
    if (!v || !satisfies(*v, requirement)) continue;
    if (!best_version || *best_version < *v) {
      best_version = v;
      best = tag;
    }
  }
  return best;
}

}  // namespace weft::pkg
