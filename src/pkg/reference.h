#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weft/result.h"

// References to plugin packages and their versions (docs/packages.md).
namespace weft::pkg {

// oci://HOST[:PORT]/REPOSITORY[:TAG | @sha256:DIGEST | :^1.2 | :~1.2]
struct Reference {
  std::string registry;     // host[:port]
  std::string repository;   // weft/redact
  std::string tag;          // "1.2.0" (empty with a digest or a requirement)
  std::string digest;       // sha256:...
  std::string requirement;  // "^1.2", "~1.2.3"

  static Result<Reference> parse(std::string_view text);
  [[nodiscard]] std::string name() const { return registry + "/" + repository; }
  // The reference as written: oci://registry/repository:tag (or @digest, :requirement).
  [[nodiscard]] std::string str() const;
};

// Whether `plugin:` names a package (oci://) rather than a file.
bool is_package_reference(std::string_view text);

// A semantic version, MAJOR.MINOR.PATCH with an optional -prerelease (a leading v allowed).
struct Version {
  int major = 0, minor = 0, patch = 0;
  std::string prerelease;

  static std::optional<Version> parse(std::string_view text);
  [[nodiscard]] std::string str() const;
  // Semantic version precedence (a prerelease sorts before its release).
  [[nodiscard]] int compare(const Version& other) const;
  bool operator<(const Version& o) const { return compare(o) < 0; }
};

// ^1.2 (>=1.2.0 <2.0.0; ^0.3: >=0.3.0 <0.4.0), ~1.2 (>=1.2.0 <1.3.0), or an exact version.
// Prereleases match only an exact requirement.
bool satisfies(const Version& v, std::string_view requirement);
// The highest of the tags that are versions and satisfy the requirement.
std::optional<std::string> best_tag(const std::vector<std::string>& tags,
                                    std::string_view requirement);

}  // namespace weft::pkg
