#pragma once

#include <filesystem>
#include <string>

// Files and ports for tests.
namespace weft::testing {

// A fresh directory, removed with everything in it when the object goes.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  // Writes a file in the directory; returns its path.
  std::string write(const std::string& name, const std::string& text) const;

 private:
  std::filesystem::path path_;
};

// A loopback port free at the moment of asking. Prefer binding to port 0 and reading the
// port back where the component allows it.
int free_port();

}  // namespace weft::testing
