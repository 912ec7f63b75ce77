#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "weft/result.h"

namespace spdlog {
class logger;
}
namespace weft::telemetry {
class Registry;
class Counter;
class Gauge;
}  // namespace weft::telemetry

// Lookup tables (docs/tables.md): reference data that weft loads into its own memory from
// files named in `service.tables`, shares between plugins (weft.lookup) and swaps atomically
// when a file changes.
namespace weft::lookup {

enum class Format { kCsv, kJson, kMmdb, kJwks };

struct TableSpec {
  std::string name;
  std::string path;
  Format format = Format::kCsv;
  std::string key;                                 // csv: the key column (empty: the first)
  std::chrono::milliseconds watch_interval{1000};  // 0: never reloaded
};

// One field of a row, both as text (numbers as JSON writes them, booleans true/false).
using Field = std::pair<std::string, std::string>;

// One loaded version of a table; immutable, shared by every lookup that pinned it.
class Table {
 public:
  virtual ~Table() = default;
  // The row of `key`, as fields; false if there is none.
  virtual bool find(std::string_view key, std::vector<Field>& fields) const = 0;
  [[nodiscard]] virtual size_t entries() const = 0;
};

// Parses a table file; errors name the file and, where there is one, the line.
Result<std::shared_ptr<const Table>> load_table(const TableSpec& spec);
// The format a file name implies (.csv, .json, .mmdb); false if none.
bool format_from_path(std::string_view path, Format& format);

// The fields as weft.lookup hands them to a plugin: for each, u32 name length, the name,
// u32 value length, the value (little-endian).
std::string encode_fields(const std::vector<Field>& fields);

// The tables of the process: configured with the config (loaded there, so a bad file is a
// config error), watched and counted once the service starts.
class TableSet {
 public:
  TableSet() = default;
  ~TableSet();
  TableSet(const TableSet&) = delete;
  TableSet& operator=(const TableSet&) = delete;

  // Loads every table; the first error (naming the table and file) leaves the set as it was.
  Status configure(const std::vector<TableSpec>& specs);
  // Starts watching the files and counting lookups (weft_table_* metrics).
  void start(telemetry::Registry* registry, std::shared_ptr<spdlog::logger> logger);
  // Stops watching; lookups go on uncounted.
  void stop();

  [[nodiscard]] bool has(std::string_view name) const;
  // The version in force of table `name`; null if there is no such table.
  [[nodiscard]] std::shared_ptr<const Table> get(std::string_view name) const;
  // Counts lookups (weft_table_lookups{table,result}).
  void count(std::string_view name, uint64_t hits, uint64_t misses) const;
  // Loads the file of `name` again; on failure the version in force stays (counted, logged).
  Status reload(std::string_view name);

 private:
  struct Entry;
  void watch_loop();

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Entry>, std::less<>> tables_;
  std::shared_ptr<spdlog::logger> log_;
  telemetry::Registry* registry_ = nullptr;
  bool stop_ = false;
  std::condition_variable_any cv_;
  std::thread watcher_;
};

// The process's tables (configured by the config loader, like the package store).
TableSet& tables();

}  // namespace weft::lookup
