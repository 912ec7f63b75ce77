#include <spdlog/spdlog.h>

#include <strings.h>

#include <fstream>
#include <optional>
#include <sstream>

#include "weft/auth.h"
#include "weft/config_reader.h"
#include "weft/factory.h"

namespace weft::extensions::headers_setter {
namespace {

enum class Action { kInsert, kUpdate, kUpsert, kDelete };

struct Header {
  std::string key;
  Action action = Action::kUpsert;
  std::optional<std::string> value;  // a constant (value, or value_file read at start)
  std::string value_file;
  std::string from_context;  // a client metadata key
  std::optional<std::string> default_value;
};

struct Config : ComponentConfig {
  std::vector<Header> headers;
};

// The Go collector's headers_setter: a client authenticator that sets, adds, updates or
// removes headers of every outgoing request. Client metadata does not reach exporters yet,
// so a from_context header always takes its default_value (as the Go collector does for a
// request without that metadata), and start says so.
class HeadersSetter final : public Extension, public ClientAuthenticator {
 public:
  HeadersSetter(ComponentContext ctx, const Config& config)
      : ctx_(std::move(ctx)), config_(config) {}

  Status start() override {
    for (Header& header : config_.headers) {
      if (!header.value_file.empty()) {
        std::ifstream in(header.value_file);
        if (!in) return Status::permanent("headers_setter: cannot read " + header.value_file);
        std::ostringstream text;
        text << in.rdbuf();
        std::string value = text.str();
        while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
        header.value = value;
      }
      if (!header.from_context.empty()) {
        ctx_.logger->warn(
            "header {}: from_context \"{}\" uses its default_value{}: client metadata does not "
            "reach exporters yet",
            header.key, header.from_context, header.default_value ? "" : " (none: not sent)");
      }
    }
    return Status::ok();
  }

  Status add_headers(const OutboundRequest& /*request*/,
                     std::map<std::string, std::string>& headers) override {
    for (const Header& header : config_.headers) {
      auto existing = headers.end();
      for (auto it = headers.begin(); it != headers.end(); ++it) {
        if (strcasecmp(it->first.c_str(), header.key.c_str()) == 0) existing = it;
      }
      if (header.action == Action::kDelete) {
        if (existing != headers.end()) headers.erase(existing);
        continue;
      }
      const std::optional<std::string>& value =
          header.from_context.empty() ? header.value : header.default_value;
      if (!value) continue;
      const bool present = existing != headers.end();
      if ((header.action == Action::kInsert && present) ||
          (header.action == Action::kUpdate && !present)) {
        continue;
      }
      if (present) headers.erase(existing);
      headers[header.key] = *value;
    }
    return Status::ok();
  }

 private:
  ComponentContext ctx_;
  Config config_;
};

class Factory final : public FactoryFor<Config> {
 public:
  [[nodiscard]] ComponentKind kind() const override { return ComponentKind::kExtension; }
  [[nodiscard]] std::string_view type() const override { return "headers_setter"; }

  std::unique_ptr<Extension> create_extension(const ComponentContext& ctx,
                                              const ComponentConfig& config) const override {
    return std::make_unique<HeadersSetter>(ctx, cast(config));
  }

 protected:
  void load(ConfigReader& reader, Config& config) const override {
    for (ConfigReader& item : reader.items("headers")) {
      Header header;
      item.read("key", header.key);
      std::string action = "upsert";
      item.read("action", action);
      if (action == "insert") {
        header.action = Action::kInsert;
      } else if (action == "update") {
        header.action = Action::kUpdate;
      } else if (action == "delete") {
        header.action = Action::kDelete;
      } else if (action != "upsert") {
        item.error("action", "must be insert, update, upsert or delete, got \"" + action + "\"");
      }
      int sources = 0;
      if (item.has("value")) {
        std::string value;
        item.read("value", value);
        header.value = value;
        ++sources;
      }
      item.read("value_file", header.value_file);
      item.read("from_context", header.from_context);
      sources += header.value_file.empty() ? 0 : 1;
      sources += header.from_context.empty() ? 0 : 1;
      if (item.has("from_attribute")) {
        item.error("from_attribute", "not supported yet: client metadata does not reach exporters");
        ++sources;
      }
      if (item.has("default_value")) {
        std::string value;
        item.read("default_value", value);
        header.default_value = value;
      }
      if (header.key.empty()) item.error("key", "missing header name");
      if (header.action != Action::kDelete && sources == 0) {
        item.error("value",
                   "missing header source, must be 'from_context', 'value' or 'value_file'");
      } else if (sources > 1) {
        item.error("value", "only one of 'from_context', 'value' or 'value_file' can be set");
      }
      config.headers.push_back(std::move(header));
    }
    if (config.headers.empty()) reader.error("headers", "missing headers configuration");
  }
};

}  // namespace
}  // namespace weft::extensions::headers_setter

WEFT_DEFINE_FACTORY(headers_setter_extension, weft::extensions::headers_setter::Factory)
