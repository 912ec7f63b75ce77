#include "components/receivers/wasm/wasm_receiver.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "components/common/http_client.h"
#include "util/http_listener.h"
#include "util/tls.h"
#include "wasm/plugin/directory.h"
#include "wasm/plugin/interface.h"
#include "wasm/plugin/plugin.h"
#include "wasm/plugin/settings.h"
#include "weft/config_reader.h"
#include "weft/factory.h"
#include "weft/metrics.h"
#include "weft/tls.h"

// A receiver whose format is a WebAssembly plugin's (docs/abi.md, "Receiver plugins"): weft
// owns the listener (push) or the schedule (pull) and hands each request body, or each
// fetched target, to weft_receive; the plugin turns it into OTLP with weft.emit, and weft
// passes that on to the pipelines, answering the client with what became of it.
namespace weft::receivers::wasm {
namespace {

using weft::wasm::ReceivedRequest;
using weft::wasm::ReceiveOutcome;
namespace http = weft::http_client;

uint64_t declared_length(const httplib::Request& request) {
  const std::string value = request.get_header_value("Content-Length");
  return value.empty() || value.size() > 19 ||
                 value.find_first_not_of("0123456789") != std::string::npos
             ? 0
             : std::stoull(value);
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

class WasmReceiver final : public Receiver {
 public:
  WasmReceiver(const ComponentContext& ctx, const Config& config, SignalConsumers next)
      : ctx_(ctx), config_(config), settings_(config.plugin), next_(next) {
    settings_.entry = weft::wasm::Entry::kReceive;
    for (Signal s : kAllSignals) {
      if (next_.for_signal(s) != nullptr) settings_.receives.insert(s);
    }
    failed_ = [this](const std::string& reason) {
      ctx_.metrics
          ->counter("otelcol_receiver_requests_failed", "Requests refused before any data.",
                    {{"receiver", ctx_.id}, {"reason", reason}})
          .add();
    };
  }
  ~WasmReceiver() override { shutdown(std::chrono::steady_clock::now()); }

  Status start() override {
    if (Status s = plugin_.start(settings_, ctx_, "receive"); !s.is_ok()) return s;
    return config_.endpoint.empty() ? start_pull() : start_push();
  }

  void shutdown(std::chrono::steady_clock::time_point) override {
    if (server_) listener_.stop(*server_);
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (puller_.joinable()) puller_.join();
    plugin_.stop();
  }

 private:
  // Hands what the plugin emitted to the pipelines; the first refusal is returned.
  Status deliver(std::vector<pdata::Telemetry>& emitted, const char* transport) {
    Status result;
    for (auto& t : emitted) {
      Consumer* next = next_.for_signal(t.signal());
      const std::string noun(item_noun(t.signal()));
      const size_t items = t.item_count();
      Status s = next != nullptr ? next->consume(std::move(t))
                                 : Status::permanent("no pipeline takes this signal");
      const telemetry::Labels labels = {{"receiver", ctx_.id}, {"transport", transport}};
      ctx_.metrics
          ->counter(
              std::string("otelcol_receiver_") + (s.is_ok() ? "accepted_" : "refused_") + noun,
              s.is_ok() ? "Items accepted into the pipelines." : "Items refused.", labels)
          .add(items);
      if (!s.is_ok() && result.is_ok()) result = s;
    }
    return result;
  }

  // ---- push ------------------------------------------------------------------------------

  Status start_push() {
    std::string host;
    int port = 0;
    if (!split_endpoint(config_.endpoint, host, port)) {
      return Status::permanent("bad endpoint " + config_.endpoint);
    }
    weft::http::Deadlines deadlines;
    deadlines.read = config_.read_timeout;
    deadlines.read_header = config_.read_header_timeout;
    deadlines.idle = std::chrono::seconds(5);
    deadlines.on_timeout = [this] { failed_("timeout"); };
    auto server = tls::make_http_server(
        config_.tls,
        [this](bool error, const std::string& m) {
          if (error) ctx_.logger->error("{}: {}", config_.endpoint, m);
        },
        std::move(deadlines));
    if (!server.ok()) return Status::permanent(config_.endpoint + ": " + server.status().message());
    server_ = std::move(server).value();
    server_->set_payload_max_length(config_.max_request_body_size);
    for (const auto& path : config_.paths) {
      server_->Post(path, [this](const httplib::Request& request, httplib::Response& response,
                                 const httplib::ContentReader& reader) {
        handle(request, response, reader);
      });
    }
    server_->set_error_handler([this](const httplib::Request&, httplib::Response& response) {
      if (!response.body.empty()) return;
      if (response.status == 413) failed_("too_large");
      if (response.status == 404) failed_("not_found");
      response.set_content(response.status == 413 ? "request body too large\n" : "not found\n",
                           "text/plain");
    });
    if (host.empty()) host = "0.0.0.0";
    if (!server_->bind_to_port(host, port)) {
      return Status::permanent("cannot listen on " + config_.endpoint);
    }
    listener_.start(*server_);
    ctx_.logger->info("listening on {} for {}", config_.endpoint, joined(config_.paths));
    return Status::ok();
  }

  void handle(const httplib::Request& request, httplib::Response& response,
              const httplib::ContentReader& reader) {
    std::string body;
    bool too_large = false;
    const bool complete = reader([&](const char* data, size_t length) {
      if (body.size() + length > config_.max_request_body_size) {
        too_large = true;
        return false;
      }
      body.append(data, length);
      return true;
    });
    if (too_large || (!complete && declared_length(request) > config_.max_request_body_size)) {
      failed_("too_large");
      response.status = 413;
      response.set_content(
          "request body larger than " + std::to_string(config_.max_request_body_size) + " bytes\n",
          "text/plain");
      return;
    }
    if (!complete) {
      failed_("malformed");
      response.status = 400;
      response.set_content("unreadable request body\n", "text/plain");
      return;
    }
    ReceivedRequest received;
    received.method = request.method;
    received.path = request.path;
    const size_t q = request.target.find('?');
    if (q != std::string::npos) received.query = request.target.substr(q + 1);
    received.peer = request.remote_addr;
    for (const auto& [name, value] : request.headers) received.headers.emplace_back(name, value);
    ReceiveOutcome outcome = plugin_.get()->receive(body, received);
    switch (outcome.kind) {
      case ReceiveOutcome::kFailed:
        failed_("plugin_error");
        response.status = 500;
        response.set_content("the receiver's plugin failed: " + outcome.error + "\n", "text/plain");
        return;
      case ReceiveOutcome::kBadRequest:
        failed_("malformed");
        response.status = outcome.status >= 400 ? outcome.status : 400;
        response.set_content((outcome.error.empty() ? "bad request" : outcome.error) + "\n",
                             "text/plain");
        return;
      case ReceiveOutcome::kAccepted:
        break;
    }
    const Status delivered = deliver(outcome.emitted, "http");
    if (delivered.is_retryable()) {
      const auto seconds = std::max<int64_t>(
          1, std::chrono::duration_cast<std::chrono::seconds>(delivered.retry_after()).count());
      response.status = 503;
      response.set_header("Retry-After", std::to_string(seconds));
      response.set_content(delivered.message() + "\n", "text/plain");
      return;
    }
    if (!delivered.is_ok()) {
      response.status = 400;
      response.set_content(delivered.message() + "\n", "text/plain");
      return;
    }
    response.status = outcome.status > 0 ? outcome.status : 200;
    if (!outcome.body.empty()) response.set_content(outcome.body, "application/json");
  }

  // ---- pull ------------------------------------------------------------------------------

  Status start_pull() {
    http::ClientSettings settings;
    settings.tls = config_.tls;
    settings.max_response_bytes = config_.max_response_size;
    settings.addresses.refuse_link_local = false;  // the operator named the targets
    client_ = std::make_unique<http::Client>(settings);
    puller_ = std::thread([this] { pull_loop(); });
    return Status::ok();
  }

  // One thread fetches every target, each when it is due (the first fetch of each at once);
  // a target fetched late is next fetched an interval after that, not twice in a row.
  void pull_loop() {
    std::vector<std::chrono::steady_clock::time_point> due(config_.targets.size(),
                                                           std::chrono::steady_clock::now());
    while (true) {
      size_t first = 0;
      for (size_t i = 1; i < due.size(); ++i) {
        if (due[i] < due[first]) first = i;
      }
      {
        std::unique_lock lock(mu_);
        if (wake_.wait_until(lock, due[first], [this] { return stopping_; })) return;
      }
      const Config::Target& target = config_.targets[first];
      pull(target);
      due[first] += target.interval;
      const auto now = std::chrono::steady_clock::now();
      if (due[first] < now) due[first] = now + target.interval;
    }
  }

  void pull(const Config::Target& pulled) {
    const std::string& target = pulled.url;
    const telemetry::Labels labels = {{"receiver", ctx_.id}, {"target", target}};
    auto& up = ctx_.metrics->gauge("weft_receiver_target_up",
                                   "1 if the target's last fetch was handled, else 0.", labels);
    auto& took =
        ctx_.metrics->value("weft_receiver_target_duration_seconds",
                            "How long the target's last fetch and handling took.", labels, false);
    const auto start = std::chrono::steady_clock::now();
    http::Request request;
    request.method = "GET";
    request.headers = config_.pull_headers;
    http::split_url(target, request.url);
    http::Outcome fetched = client_->send(request, pulled.timeout);
    bool ok = fetched.ok() && fetched.response.status >= 200 && fetched.response.status < 300;
    if (!fetched.ok()) {
      ctx_.logger->warn("fetching {} failed: {}", target, fetched.error);
    } else if (!ok) {
      ctx_.logger->warn("fetching {} answered HTTP {}", target, fetched.response.status);
    } else {
      ReceivedRequest received;
      received.method = "GET";
      received.path = request.url.path;
      received.target = target;
      received.status = fetched.response.status;
      received.headers = fetched.response.headers;
      ReceiveOutcome outcome = plugin_.get()->receive(fetched.response.body, received);
      ok = outcome.kind == ReceiveOutcome::kAccepted;
      if (!ok) {
        ctx_.logger->warn("the plugin could not handle {}: {}", target, outcome.error);
      } else if (Status s = deliver(outcome.emitted, "pull"); !s.is_ok()) {
        ctx_.logger->warn("the pipeline refused what {} gave: {}", target, s.message());
      }
    }
    up.set(ok ? 1 : 0);
    took.set(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }

  ComponentContext ctx_;
  const Config& config_;
  weft::wasm::PluginSettings settings_;
  SignalConsumers next_;
  std::function<void(const std::string&)> failed_;
  weft::wasm::RunningPlugin plugin_;
  std::unique_ptr<httplib::Server> server_;
  HttpListener listener_;
  std::unique_ptr<http::Client> client_;
  std::thread puller_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
};

class Factory final : public FactoryFor<Config> {
 public:
  [[nodiscard]] ComponentKind kind() const override { return ComponentKind::kReceiver; }
  [[nodiscard]] std::string_view type() const override { return "wasm"; }

  std::unique_ptr<Receiver> create_receiver(const ComponentContext& ctx,
                                            const ComponentConfig& config,
                                            SignalConsumers next) const override {
    return make_wasm_receiver(ctx, cast(config), next);
  }

  [[nodiscard]] Status check(const ComponentConfig& config,
                             const std::set<Signal>& signals) const override {
    return check_wasm_receiver(cast(config), signals);
  }

 protected:
  void load(ConfigReader& reader, Config& config) const override {
    const bool own_timeout = reader.child("limits").has("timeout");
    weft::wasm::load_plugin_settings(reader, config.plugin);
    if (!own_timeout) config.plugin.limits.timeout = std::chrono::seconds(1);
    reader.read_endpoint("endpoint", config.endpoint);
    std::vector<std::string> targets;
    reader.read("targets", targets);
    if (config.endpoint.empty() == targets.empty()) {
      reader.error("endpoint",
                   "set either endpoint (weft listens; push) or targets (weft "
                   "fetches them; pull), not both");
    }
    if (!config.endpoint.empty()) {
      load_push_settings(reader, config);
      return;
    }
    Config::Target schedule;
    reader.read_duration("interval", schedule.interval);
    reader.read_duration("timeout", schedule.timeout);
    if (schedule.interval.count() <= 0) reader.error("interval", "must be positive");
    if (schedule.timeout.count() <= 0) reader.error("timeout", "must be positive");
    for (const auto& target : targets) {
      http::Url url;
      if (!http::split_url(target, url)) {
        reader.error("targets", "expected http:// or https:// URLs, got \"" + target + "\"");
      }
      schedule.url = target;
      config.targets.push_back(schedule);
    }
    reader.read_size("max_response_size", config.max_response_size);
    read_tls_client(reader, config.tls);
  }
};

}  // namespace

std::unique_ptr<Receiver> make_wasm_receiver(const ComponentContext& ctx, const Config& config,
                                             SignalConsumers next) {
  return std::make_unique<WasmReceiver>(ctx, config, next);
}

Status check_wasm_receiver(const Config& config, const std::set<Signal>& signals) {
  weft::wasm::PluginSettings settings = config.plugin;
  settings.entry = weft::wasm::Entry::kReceive;
  settings.receives = signals;
  return weft::wasm::check_plugin(settings, {});
}

void load_push_settings(ConfigReader& reader, Config& config) {
  reader.read_endpoint("endpoint", config.endpoint);
  reader.read("paths", config.paths);
  for (const auto& path : config.paths) {
    if (path.empty() || path.front() != '/') reader.error("paths", "each must start with /");
  }
  reader.read_size("max_request_body_size", config.max_request_body_size);
  reader.read_duration("read_timeout", config.read_timeout);
  reader.read_duration("read_header_timeout", config.read_header_timeout);
  read_tls_server(reader, config.tls);
}

}  // namespace weft::receivers::wasm

WEFT_DEFINE_FACTORY(wasm_receiver, weft::receivers::wasm::Factory)
