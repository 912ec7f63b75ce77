#include "lookup/tables.h"

#include <fmt/format.h>
#include <maxminddb.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cinttypes>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "util/base64.h"
#include "weft/metrics.h"

namespace weft::lookup {
namespace {

constexpr std::chrono::milliseconds kTick{100};

std::string file_stamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "/" +
         std::to_string(st.st_size) + "/" + std::to_string(st.st_ino);
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::invalid_argument("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Rows by key; each row's fields in column order.
class MapTable final : public Table {
 public:
  bool find(std::string_view key, std::vector<Field>& fields) const override {
    auto it = rows_.find(std::string(key));
    if (it == rows_.end()) return false;
    fields = it->second;
    return true;
  }
  [[nodiscard]] size_t entries() const override { return rows_.size(); }

  std::unordered_map<std::string, std::vector<Field>> rows_;
};

// One CSV record (RFC 4180: quoted fields, "" inside quotes, CRLF or LF) from `pos`;
// false at the end of the text. `line` counts the lines consumed.
Status next_record(std::string_view text, size_t& pos, std::vector<std::string>& record,
                   size_t& line, bool& got) {
  record.clear();
  got = false;
  if (pos >= text.size()) return Status::ok();
  got = true;
  std::string field;
  bool quoted = false;
  bool after_quote = false;
  while (pos < text.size()) {
    const char c = text[pos++];
    if (quoted) {
      if (c == '"') {
        if (pos < text.size() && text[pos] == '"') {
          field.push_back('"');
          ++pos;
        } else {
          quoted = false;
          after_quote = true;
        }
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    if (c == ',') {
      record.push_back(std::move(field));
      field.clear();
      after_quote = false;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && pos < text.size() && text[pos] == '\n') ++pos;
      ++line;
      record.push_back(std::move(field));
      return Status::ok();
    } else if (c == '"' && field.empty() && !after_quote) {
      quoted = true;
    } else if (after_quote) {
      return Status::invalid_argument("line " + std::to_string(line) +
                                      ": text after a closing quote");
    } else {
      field.push_back(c);
    }
  }
  if (quoted) {
    return Status::invalid_argument("line " + std::to_string(line) + ": unterminated quote");
  }
  record.push_back(std::move(field));
  ++line;
  return Status::ok();
}

Result<std::shared_ptr<const Table>> load_csv(const TableSpec& spec, std::string_view text) {
  auto table = std::make_shared<MapTable>();
  size_t pos = 0;
  size_t line = 1;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") pos = 3;  // a byte order mark
  std::vector<std::string> header;
  bool got = false;
  if (Status s = next_record(text, pos, header, line, got); !s.is_ok()) return s;
  if (!got || (header.size() == 1 && header[0].empty())) {
    return Status::invalid_argument("no header line (the column names)");
  }
  size_t key_column = 0;
  if (!spec.key.empty()) {
    key_column = header.size();
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == spec.key) key_column = i;
    }
    if (key_column == header.size()) {
      std::string names;
      for (const auto& h : header) names += (names.empty() ? "" : ", ") + h;
      return Status::invalid_argument("no key column \"" + spec.key + "\" (the columns: " + names +
                                      ")");
    }
  }
  std::vector<std::string> record;
  while (true) {
    const size_t record_line = line;
    if (Status s = next_record(text, pos, record, line, got); !s.is_ok()) return s;
    if (!got) break;
    if (record.size() == 1 && record[0].empty()) continue;  // a blank line
    if (record.size() != header.size()) {
      return Status::invalid_argument("line " + std::to_string(record_line) + ": " +
                                      std::to_string(record.size()) + " columns, the header has " +
                                      std::to_string(header.size()));
    }
    std::vector<Field> fields;
    fields.reserve(header.size() - 1);
    for (size_t i = 0; i < header.size(); ++i) {
      if (i != key_column) fields.emplace_back(header[i], std::move(record[i]));
    }
    auto [it, inserted] = table->rows_.emplace(record[key_column], std::move(fields));
    if (!inserted) {
      return Status::invalid_argument("line " + std::to_string(record_line) + ": key \"" +
                                      record[key_column] + "\" appears twice");
    }
  }
  return std::shared_ptr<const Table>(std::move(table));
}

// A JSON value's fields: scalars as text, objects and arrays flattened into dotted names.
void flatten_json(simdjson::dom::element value, const std::string& name, std::vector<Field>& out) {
  using simdjson::dom::element_type;
  switch (value.type()) {
    case element_type::OBJECT:
      for (auto [k, v] : value.get_object()) {
        flatten_json(v, name.empty() ? std::string(k) : name + "." + std::string(k), out);
      }
      break;
    case element_type::ARRAY: {
      size_t i = 0;
      for (auto v : value.get_array()) {
        flatten_json(v, name.empty() ? std::to_string(i) : name + "." + std::to_string(i), out);
        ++i;
      }
      break;
    }
    case element_type::STRING:
      out.emplace_back(name, std::string(value.get_string().value()));
      break;
    case element_type::NULL_VALUE:
      break;
    default:
      out.emplace_back(name, simdjson::minify(value));
      break;
  }
}

Result<std::shared_ptr<const Table>> load_json(std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  simdjson::dom::element root;
  if (auto error = parser.parse(padded).get(root); error) {
    return Status::invalid_argument(std::string("not JSON: ") + simdjson::error_message(error));
  }
  if (root.type() != simdjson::dom::element_type::OBJECT) {
    return Status::invalid_argument("must be a JSON object of rows by key");
  }
  auto table = std::make_shared<MapTable>();
  for (auto [key, row] : root.get_object()) {
    std::vector<Field> fields;
    if (row.type() == simdjson::dom::element_type::OBJECT) {
      flatten_json(row, "", fields);
    } else {
      flatten_json(row, "value", fields);
    }
    if (!table->rows_.emplace(std::string(key), std::move(fields)).second) {
      return Status::invalid_argument("key \"" + std::string(key) + "\" appears twice");
    }
  }
  return std::shared_ptr<const Table>(std::move(table));
}

// Base64url without padding (JWK members) as bytes; nullopt if it is not that.
std::optional<std::string> base64url(std::string_view text) {
  std::string standard(text);
  for (char& c : standard) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (standard.size() % 4 != 0) standard.push_back('=');
  return base64_decode(standard);
}

// A public key (RSA from n and e; EC P-256 from x and y) as PEM; empty if the members are bad.
std::string public_key_pem(const std::string& kty, const std::string& a, const std::string& b) {
  OSSL_PARAM_BLD* build = OSSL_PARAM_BLD_new();
  BIGNUM* n = nullptr;
  BIGNUM* e = nullptr;
  std::string point;
  if (kty == "RSA") {
    n = BN_bin2bn(reinterpret_cast<const unsigned char*>(a.data()), static_cast<int>(a.size()),
                  nullptr);
    e = BN_bin2bn(reinterpret_cast<const unsigned char*>(b.data()), static_cast<int>(b.size()),
                  nullptr);
    OSSL_PARAM_BLD_push_BN(build, OSSL_PKEY_PARAM_RSA_N, n);
    OSSL_PARAM_BLD_push_BN(build, OSSL_PKEY_PARAM_RSA_E, e);
  } else {
    point = "\x04" + a + b;
    OSSL_PARAM_BLD_push_utf8_string(build, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_octet_string(build, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  }
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(build);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, kty == "RSA" ? "RSA" : "EC", nullptr);
  EVP_PKEY* key = nullptr;
  std::string pem;
  if (ctx != nullptr && params != nullptr && EVP_PKEY_fromdata_init(ctx) == 1 &&
      EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) == 1) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (bio != nullptr && PEM_write_bio_PUBKEY(bio, key) == 1) {
      char* data = nullptr;
      const long size = BIO_get_mem_data(bio, &data);
      pem.assign(data, static_cast<size_t>(size));
    }
    BIO_free(bio);
  }
  EVP_PKEY_free(key);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(build);
  BN_free(n);
  BN_free(e);
  return pem;
}

// A JSON Web Key Set (RFC 7517): rows by `kid` with the fields kty, alg, use and pem (the
// public key), for signature checks (weft.verify_signature). Symmetric keys are refused: they
// are secrets, and belong in a component's `secrets`.
Result<std::shared_ptr<const Table>> load_jwks(std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  simdjson::dom::element root;
  if (auto error = parser.parse(padded).get(root); error) {
    return Status::invalid_argument(std::string("not JSON: ") + simdjson::error_message(error));
  }
  simdjson::dom::array keys;
  if (root["keys"].get(keys) != simdjson::SUCCESS) {
    return Status::invalid_argument("not a JWK set: no \"keys\" array");
  }
  auto table = std::make_shared<MapTable>();
  size_t index = 0;
  for (auto key : keys) {
    const std::string where = "keys[" + std::to_string(index++) + "]";
    auto member = [&key](const char* name) {
      std::string_view v;
      return key[name].get(v) == simdjson::SUCCESS ? std::string(v) : std::string();
    };
    const std::string kid = member("kid");
    const std::string kty = member("kty");
    if (kid.empty()) return Status::invalid_argument(where + ": no kid");
    if (kty == "oct") {
      return Status::invalid_argument(where + " (" + kid +
                                      "): a symmetric key is a secret: give it in the "
                                      "component's secrets, not in a table");
    }
    if (kty != "RSA" && kty != "EC") {
      return Status::invalid_argument(where + " (" + kid + "): kty must be RSA or EC, got \"" +
                                      kty + "\"");
    }
    if (kty == "EC" && member("crv") != "P-256") {
      return Status::invalid_argument(where + " (" + kid + "): only the EC curve P-256");
    }
    auto a = base64url(member(kty == "RSA" ? "n" : "x"));
    auto b = base64url(member(kty == "RSA" ? "e" : "y"));
    const std::string pem = a && b && !a->empty() && !b->empty() ? public_key_pem(kty, *a, *b) : "";
    if (pem.empty()) {
      return Status::invalid_argument(where + " (" + kid + "): not a valid " + kty + " public key");
    }
    std::vector<Field> fields = {
        {"kty", kty}, {"alg", member("alg")}, {"use", member("use")}, {"pem", pem}};
    if (!table->rows_.emplace(kid, std::move(fields)).second) {
      return Status::invalid_argument("kid \"" + kid + "\" appears twice");
    }
  }
  return std::shared_ptr<const Table>(std::move(table));
}

// A MaxMind DB, memory-mapped; keys are IP addresses. Maps and arrays are flattened into
// dotted names ("country.iso_code", "subdivisions.0.iso_code"); of localized `names` only
// English ("city.names.en") is kept.
class MmdbTable final : public Table {
 public:
  ~MmdbTable() override {
    if (open_) MMDB_close(&db_);
  }

  Status open(const std::string& path) {
    const int rc = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &db_);
    if (rc != MMDB_SUCCESS) {
      return Status::invalid_argument(std::string("not a MaxMind DB: ") + MMDB_strerror(rc));
    }
    open_ = true;
    return Status::ok();
  }

  bool find(std::string_view key, std::vector<Field>& fields) const override {
    const std::string address(key);
    int gai_error = 0;
    int mmdb_error = 0;
    MMDB_lookup_result_s result =
        MMDB_lookup_string(const_cast<MMDB_s*>(&db_), address.c_str(), &gai_error, &mmdb_error);
    if (gai_error != 0 || mmdb_error != MMDB_SUCCESS || !result.found_entry) return false;
    MMDB_entry_data_list_s* list = nullptr;
    if (MMDB_get_entry_data_list(&result.entry, &list) != MMDB_SUCCESS) {
      MMDB_free_entry_data_list(list);
      return false;
    }
    fields.clear();
    MMDB_entry_data_list_s* node = list;
    flatten(node, "", fields);
    MMDB_free_entry_data_list(list);
    return true;
  }

  [[nodiscard]] size_t entries() const override { return db_.metadata.node_count; }

 private:
  // Consumes one value (and what it contains) from the pre-order list.
  static void flatten(MMDB_entry_data_list_s*& node, const std::string& name,
                      std::vector<Field>& out) {
    if (node == nullptr) return;
    const MMDB_entry_data_s& d = node->entry_data;
    node = node->next;
    switch (d.type) {
      case MMDB_DATA_TYPE_MAP: {
        const bool names = name == "names" || (name.size() > 6 && name.ends_with(".names"));
        for (uint32_t i = 0; i < d.data_size && node != nullptr; ++i) {
          const MMDB_entry_data_s& k = node->entry_data;
          const std::string key = k.type == MMDB_DATA_TYPE_UTF8_STRING
                                      ? std::string(k.utf8_string, k.data_size)
                                      : std::string();
          node = node->next;
          const std::string child = name.empty() ? key : name + "." + key;
          if (names && key != "en") {
            std::vector<Field> skipped;
            flatten(node, child, skipped);
          } else {
            flatten(node, child, out);
          }
        }
        break;
      }
      case MMDB_DATA_TYPE_ARRAY:
        for (uint32_t i = 0; i < d.data_size && node != nullptr; ++i) {
          flatten(node, name.empty() ? std::to_string(i) : name + "." + std::to_string(i), out);
        }
        break;
      case MMDB_DATA_TYPE_UTF8_STRING:
        out.emplace_back(name, std::string(d.utf8_string, d.data_size));
        break;
      case MMDB_DATA_TYPE_DOUBLE:
        out.emplace_back(name, fmt::format("{}", d.double_value));
        break;
      case MMDB_DATA_TYPE_FLOAT:
        out.emplace_back(name, fmt::format("{}", d.float_value));
        break;
      case MMDB_DATA_TYPE_UINT16:
        out.emplace_back(name, std::to_string(d.uint16));
        break;
      case MMDB_DATA_TYPE_UINT32:
        out.emplace_back(name, std::to_string(d.uint32));
        break;
      case MMDB_DATA_TYPE_INT32:
        out.emplace_back(name, std::to_string(d.int32));
        break;
      case MMDB_DATA_TYPE_UINT64:
        out.emplace_back(name, std::to_string(d.uint64));
        break;
      case MMDB_DATA_TYPE_BOOLEAN:
        out.emplace_back(name, d.boolean ? "true" : "false");
        break;
      default:  // bytes, uint128: not text
        break;
    }
  }

  MMDB_s db_{};
  bool open_ = false;
};

}  // namespace

bool format_from_path(std::string_view path, Format& format) {
  if (path.ends_with(".csv")) {
    format = Format::kCsv;
  } else if (path.ends_with(".json")) {
    format = Format::kJson;
  } else if (path.ends_with(".mmdb")) {
    format = Format::kMmdb;
  } else if (path.ends_with(".jwks")) {
    format = Format::kJwks;
  } else {
    return false;
  }
  return true;
}

Result<std::shared_ptr<const Table>> load_table(const TableSpec& spec) {
  auto fail = [&](const Status& s) {
    return Status::invalid_argument("table " + spec.name + " (" + spec.path + "): " + s.message());
  };
  if (spec.format == Format::kMmdb) {
    auto table = std::make_shared<MmdbTable>();
    if (Status s = table->open(spec.path); !s.is_ok()) return fail(s);
    return std::shared_ptr<const Table>(std::move(table));
  }
  auto text = read_file(spec.path);
  if (!text.ok()) return fail(text.status());
  auto table = spec.format == Format::kCsv    ? load_csv(spec, *text)
               : spec.format == Format::kJwks ? load_jwks(*text)
                                              : load_json(*text);
  if (!table.ok()) return fail(table.status());
  return table;
}

std::string encode_fields(const std::vector<Field>& fields) {
  std::string out;
  auto put = [&out](std::string_view s) {
    const auto n = static_cast<uint32_t>(s.size());
    const char len[4] = {static_cast<char>(n & 0xff), static_cast<char>((n >> 8) & 0xff),
                         static_cast<char>((n >> 16) & 0xff), static_cast<char>(n >> 24)};
    out.append(len, 4);
    out.append(s);
  };
  for (const auto& [name, value] : fields) {
    put(name);
    put(value);
  }
  return out;
}

struct TableSet::Entry {
  TableSpec spec;
  std::shared_ptr<const Table> current;  // guarded by TableSet::mu_
  std::string stamp;                     // of the file version in force
  std::string pending;                   // a changed stamp seen once (loaded when it holds)
  std::chrono::steady_clock::time_point next_check{};
  std::atomic<telemetry::Counter*> hits{nullptr}, misses{nullptr};
  telemetry::Gauge* size = nullptr;
  telemetry::Counter* reloaded = nullptr;
  telemetry::Counter* reload_failed = nullptr;
};

TableSet::~TableSet() {
  stop();
}

Status TableSet::configure(const std::vector<TableSpec>& specs) {
  std::map<std::string, std::shared_ptr<Entry>, std::less<>> loaded;
  for (const auto& spec : specs) {
    auto entry = std::make_shared<Entry>();
    entry->spec = spec;
    entry->stamp = file_stamp(spec.path);
    auto table = load_table(spec);
    if (!table.ok()) return table.status();
    entry->current = std::move(table).value();
    loaded[spec.name] = std::move(entry);
  }
  std::lock_guard lock(mu_);
  tables_ = std::move(loaded);
  return Status::ok();
}

void TableSet::start(telemetry::Registry* registry, std::shared_ptr<spdlog::logger> logger) {
  std::lock_guard lock(mu_);
  log_ = std::move(logger);
  registry_ = registry;
  bool watch = false;
  for (auto& [name, entry] : tables_) {
    if (registry_ != nullptr) {
      const telemetry::Labels hit = {{"table", name}, {"result", "hit"}};
      const telemetry::Labels miss = {{"table", name}, {"result", "miss"}};
      entry->hits = &registry_->counter("weft_table_lookups", "Lookups in a table", hit);
      entry->misses = &registry_->counter("weft_table_lookups", "Lookups in a table", miss);
      entry->size = &registry_->gauge("weft_table_entries", "Rows of the table version in force",
                                      {{"table", name}});
      entry->size->set(static_cast<int64_t>(entry->current->entries()));
      entry->reloaded = &registry_->counter("weft_table_reloads", "Reloads of a table's file",
                                            {{"table", name}, {"outcome", "ok"}});
      entry->reload_failed = &registry_->counter("weft_table_reloads", "Reloads of a table's file",
                                                 {{"table", name}, {"outcome", "failed"}});
    }
    if (log_) {
      log_->info("table {}: {} entries from {}", name, entry->current->entries(), entry->spec.path);
    }
    watch = watch || entry->spec.watch_interval.count() > 0;
  }
  stop_ = false;
  if (watch && !watcher_.joinable()) watcher_ = std::thread([this] { watch_loop(); });
}

void TableSet::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
  // The metrics belong to the registry of the service that started the set.
  std::lock_guard lock(mu_);
  registry_ = nullptr;
  for (auto& [name, entry] : tables_) {
    entry->hits = nullptr;
    entry->misses = nullptr;
    entry->size = nullptr;
    entry->reloaded = entry->reload_failed = nullptr;
  }
}

bool TableSet::has(std::string_view name) const {
  std::lock_guard lock(mu_);
  return tables_.find(name) != tables_.end();
}

std::shared_ptr<const Table> TableSet::get(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = tables_.find(name);
  return it == tables_.end() ? nullptr : it->second->current;
}

void TableSet::count(std::string_view name, uint64_t hits, uint64_t misses) const {
  std::shared_ptr<Entry> entry;
  {
    std::lock_guard lock(mu_);
    auto it = tables_.find(name);
    if (it == tables_.end()) return;
    entry = it->second;
  }
  telemetry::Counter* h = entry->hits.load();
  telemetry::Counter* m = entry->misses.load();
  if (h != nullptr && hits > 0) h->add(hits);
  if (m != nullptr && misses > 0) m->add(misses);
}

Status TableSet::reload(std::string_view name) {
  std::shared_ptr<Entry> entry;
  {
    std::lock_guard lock(mu_);
    auto it = tables_.find(name);
    if (it == tables_.end()) return Status::invalid_argument("no table " + std::string(name));
    entry = it->second;
  }
  const std::string stamp = file_stamp(entry->spec.path);
  auto table = load_table(entry->spec);
  std::lock_guard lock(mu_);
  entry->stamp = stamp;
  entry->pending.clear();
  if (!table.ok()) {
    if (entry->reload_failed != nullptr) entry->reload_failed->add();
    if (log_) {
      log_->error("{}; the version loaded before stays in force", table.status().message());
    }
    return table.status();
  }
  entry->current = std::move(table).value();
  if (entry->reloaded != nullptr) entry->reloaded->add();
  if (entry->size != nullptr) entry->size->set(static_cast<int64_t>(entry->current->entries()));
  if (log_) {
    log_->info("table {}: reloaded, {} entries from {}", name, entry->current->entries(),
               entry->spec.path);
  }
  return Status::ok();
}

// Every tick, each table whose interval has passed is checked; a changed file is loaded
// once its stamp (modification time, size, inode) has held for one more check, so a file
// being written is not read half-way (replacing it by rename is better still).
void TableSet::watch_loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, kTick);
    if (stop_) break;
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::string> due;
    for (auto& [name, entry] : tables_) {
      if (entry->spec.watch_interval.count() <= 0 || now < entry->next_check) continue;
      entry->next_check = now + entry->spec.watch_interval;
      const std::string stamp = file_stamp(entry->spec.path);
      if (stamp.empty() || stamp == entry->stamp) continue;
      if (stamp != entry->pending) {
        entry->pending = stamp;
        entry->next_check = now + std::min(entry->spec.watch_interval, kTick);
        continue;
      }
      due.push_back(name);
    }
    lock.unlock();
    for (const auto& name : due) (void)reload(name);
    lock.lock();
  }
}

TableSet& tables() {
  static TableSet set;
  return set;
}

}  // namespace weft::lookup
