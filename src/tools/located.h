#pragma once

#include <optional>
#include <ostream>
#include <string>

#include "pkg/oci.h"
#include "pkg/reference.h"
#include "tools/package_tool.h"
#include "weft/result.h"

// What the package verbs (src/tools/packages.cc, certify.cc) share.
namespace weft::tools {

// Prints "error: MESSAGE" and returns the exit code.
int fail(std::ostream& err, const std::string& message, int code = 1);

// Where a target's package is: an OCI layout directory (prefix "") or the package cache
// (prefix "host/repo:", with the reference).
struct Located {
  std::optional<pkg::Layout> layout;
  std::string prefix, digest, ns;
  std::optional<pkg::Reference> ref;
};
// A layout directory, or an oci:// reference: pulled into the cache when may_pull, else
// looked up there (offline).
Result<Located> locate_package(const std::string& target, const RegistryOptions& registry,
                               bool may_pull = true);
// Stores a signature (".sig") or certification (".att") next to the package: in the layout,
// or in the cache and the registry.
Status attach_to(const Located& at, const std::string& suffix, const std::string& document,
                 const RegistryOptions& registry);

}  // namespace weft::tools
