#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include "components/exporters/helper/queued_exporter.h"
#include "components/exporters/loadbalancing/ring.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "wasm/host/results.h"
#include "weft/config_reader.h"
#include "weft/factory.h"
#include "weft/metrics.h"

namespace weft {
std::unique_ptr<Factory> make_otlp_exporter_factory();
}

// The Go collector's loadbalancing exporter: each item goes, by a routing key, to one of a
// set of OTLP/gRPC endpoints (static or resolved from DNS) on a consistent-hash ring. Unlike
// the Go collector's, the balancer queues and retries before it routes: a batch is split over
// the endpoints when it is sent, so what was waiting for an endpoint that failed or went away
// goes to the endpoints that own its keys now, instead of being dropped with it. An endpoint
// whose sends fail is quarantined (left off the ring) for a while that doubles with each
// failure, then tried again by real traffic.
namespace weft::exporters::loadbalancing {
namespace {

namespace v1 = opentelemetry::proto;

enum class Key { kTraceId, kService, kResource, kMetric, kAttributes };

struct Config : ComponentConfig {
  Key routing_key = Key::kTraceId;
  std::vector<std::string> routing_attributes;
  YAML::Node otlp = YAML::Node(YAML::NodeType::Map);  // protocol.otlp as written
  std::vector<std::string> hostnames;                 // resolver.static
  struct Dns {
    std::string hostname;
    std::string port = "4317";
    std::chrono::nanoseconds interval = std::chrono::seconds(5);
    std::chrono::nanoseconds timeout = std::chrono::seconds(1);
  } dns;
  bool use_dns = false;
  ExporterSettings exporter;  // the balancer's own queue and retry (protocol.otlp's)
};

constexpr size_t kMaxEndpoints = 64;

// protocol.otlp for one endpoint: its own sends are single attempts, the balancer retries.
YAML::Node endpoint_config(const YAML::Node& otlp, const std::string& endpoint) {
  YAML::Node node = YAML::Clone(otlp);
  if (!node.IsMap()) node = YAML::Node(YAML::NodeType::Map);
  node["endpoint"] = endpoint;
  node["sending_queue"] = YAML::Node(YAML::NodeType::Map);
  node["sending_queue"]["enabled"] = false;
  node["retry_on_failure"] = YAML::Node(YAML::NodeType::Map);
  node["retry_on_failure"]["enabled"] = false;
  return node;
}

// One endpoint: an otlp exporter of its own, and its quarantine.
struct Backend {
  std::string endpoint;
  std::unique_ptr<Exporter> exporter;
  std::atomic<int> failures{0};
  std::atomic<int64_t> quarantined_until{0};  // steady_clock ns
  telemetry::Counter* ok = nullptr;
  telemetry::Counter* failed = nullptr;

  ~Backend() {
    if (exporter) exporter->shutdown(std::chrono::steady_clock::now());
  }
};

struct Members {
  Ring ring;
  std::vector<std::shared_ptr<Backend>> backends;  // in ring.endpoints() order
};

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class BalancingSender final : public Sender {
 public:
  BalancingSender(const ComponentContext& ctx, const Config& config)
      : ctx_(ctx), config_(config), otlp_(make_otlp_exporter_factory()) {
    const std::string resolver = config.use_dns ? "dns" : "static";
    auto& m = *ctx.metrics;
    resolutions_ok_ =
        &m.counter("otelcol_loadbalancer_num_resolutions",
                   "Resolutions of the loadbalancing exporter's endpoints.",
                   {{"exporter", ctx.id}, {"resolver", resolver}, {"success", "true"}});
    resolutions_failed_ =
        &m.counter("otelcol_loadbalancer_num_resolutions",
                   "Resolutions of the loadbalancing exporter's endpoints.",
                   {{"exporter", ctx.id}, {"resolver", resolver}, {"success", "false"}});
    backends_ = &m.gauge("otelcol_loadbalancer_num_backends",
                         "Endpoints the loadbalancing exporter sends to.",
                         {{"exporter", ctx.id}, {"resolver", resolver}});
    updates_ = &m.counter("otelcol_loadbalancer_num_backend_updates",
                          "Changes of the loadbalancing exporter's set of endpoints.",
                          {{"exporter", ctx.id}, {"resolver", resolver}});
    for (Signal s : kAllSignals) {
      const std::string noun(item_noun(s));
      const auto i = static_cast<size_t>(s);
      rerouted_[i] = &m.counter("weft_loadbalancer_rerouted_" + noun,
                                "Items sent to another endpoint after theirs failed or left.",
                                {{"exporter", ctx.id}});
      missing_key_[i] = &m.counter("weft_loadbalancer_missing_key_" + noun,
                                   "Items without the routing key (all routed by an empty key).",
                                   {{"exporter", ctx.id}});
    }
  }

  ~BalancingSender() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (resolver_.joinable()) resolver_.join();
  }

  Status start() override {
    if (!config_.use_dns) {
      resolutions_ok_->add();
      return update(config_.hostnames);
    }
    resolve_once();
    resolver_ = std::thread([this] {
      std::unique_lock lock(mu_);
      while (!wake_.wait_for(lock, config_.dns.interval, [this] { return stopping_; })) {
        lock.unlock();
        resolve_once();
        lock.lock();
      }
    });
    return Status::ok();
  }

  Status send(const pdata::Telemetry& data, std::chrono::nanoseconds) override {
    std::shared_ptr<const Members> members = snapshot();
    if (!members || members->backends.empty()) {
      return Status::retryable("loadbalancing exporter " + ctx_.id + " has no endpoints yet",
                               std::chrono::seconds(1));
    }
    if (!data.decodes()) return Status::permanent("the batch does not decode in full");
    std::vector<uint64_t> hashes;
    hashes.reserve(data.item_count());
    keys(data, hashes);
    if (hashes.size() != data.item_count()) return Status::permanent("items and keys disagree");

    const auto& backends = members->backends;
    uint64_t excluded = 0;
    const int64_t now = now_ns();
    for (size_t e = 0; e < backends.size(); ++e) {
      if (backends[e]->quarantined_until.load() > now) excluded |= uint64_t{1} << e;
    }
    const uint64_t all =
        backends.size() == 64 ? ~uint64_t{0} : (uint64_t{1} << backends.size()) - 1;
    if (excluded == all) excluded = 0;  // everyone is quarantined: try them all anyway

    std::string pending(hashes.size(), 1);
    uint64_t rejected = 0;
    std::string why;
    bool delivered = false, rerouting = false;
    const auto signal = static_cast<size_t>(data.signal());
    Status last_failure;
    while (excluded != all) {
      std::vector<uint32_t> owner(hashes.size(), 0);
      uint64_t used = 0;
      for (size_t i = 0; i < hashes.size(); ++i) {
        if (pending[i] == 0) continue;
        owner[i] = static_cast<uint32_t>(members->ring.owner(hashes[i], excluded));
        used |= uint64_t{1} << owner[i];
      }
      for (size_t e = 0; e < backends.size(); ++e) {
        if ((used & (uint64_t{1} << e)) == 0) continue;
        std::string mask(hashes.size(), 0);
        for (size_t i = 0; i < hashes.size(); ++i) {
          if (pending[i] != 0 && owner[i] == e) mask[i] = 1;
        }
        pdata::Telemetry part = data.clone();
        if (used != (uint64_t{1} << e) || std::count(pending.begin(), pending.end(), 1) !=
                                              static_cast<std::ptrdiff_t>(pending.size())) {
          if (Status s = wasm::apply_keep_mask(part, mask); !s.is_ok()) return s;
        }
        const size_t n = part.item_count();
        Backend& b = *backends[e];
        Status s = b.exporter->consume(std::move(part));
        if (s.is_retryable()) {
          b.failed->add();
          quarantine(b);
          excluded |= uint64_t{1} << e;
          last_failure = s;
          continue;
        }
        b.ok->add();
        b.failures = 0;
        if (rerouting) rerouted_[signal]->add(n);
        delivered = true;
        for (size_t i = 0; i < hashes.size(); ++i) {
          if (mask[i] != 0) pending[i] = 0;
        }
        if (!s.is_ok()) {  // refused for good: not worth another endpoint
          rejected += n;
          if (why.empty()) why = b.endpoint + ": " + s.message();
        } else if (s.rejected() > 0) {
          rejected += s.rejected();
          if (why.empty()) why = b.endpoint + ": " + s.message();
        }
      }
      if (std::find(pending.begin(), pending.end(), 1) == pending.end()) break;
      rerouting = true;  // what is left goes to the endpoints that own its keys now
    }
    if (std::find(pending.begin(), pending.end(), 1) != pending.end()) {
      // No endpoint took the rest: the queue retries the batch (what was delivered may then
      // arrive twice: at least once).
      return Status::retryable("no endpoint of " + ctx_.id + " took the batch" +
                                   (delivered ? " in full" : "") + ": " + last_failure.message(),
                               last_failure.retry_after());
    }
    if (rejected == data.item_count() && !why.empty()) return Status::permanent(why);
    if (rejected > 0) return Status::partial(rejected, why);
    return Status::ok();
  }

 private:
  std::shared_ptr<const Members> snapshot() {
    std::lock_guard lock(members_mu_);
    return members_;
  }

  void quarantine(Backend& b) {
    const int n = std::min(++b.failures, 7);
    const auto wait = std::chrono::milliseconds(250) * (1 << (n - 1));  // 250 ms .. 16 s
    b.quarantined_until = now_ns() + std::chrono::nanoseconds(wait).count();
    ctx_.logger->warn("endpoint {} failed ({} in a row); its keys go to the others for {} ms",
                      b.endpoint, n, wait.count());
  }

  // The hash of each item's routing key, in item order.
  void keys(const pdata::Telemetry& data, std::vector<uint64_t>& out) {
    size_t missing = 0;
    std::string key;
    auto attribute = [](const auto& attributes, const std::string& name, std::string& into) {
      for (const auto& kv : attributes) {
        if (kv.key() != name) continue;
        into += kv.value().has_string_value() ? kv.value().string_value()
                                              : kv.value().SerializeAsString();
        return true;
      }
      return false;
    };
    // The key of an item given its resource: by resource-level keys, or its own.
    auto resource_key = [&](const auto& resource, std::string& into) {
      switch (config_.routing_key) {
        case Key::kResource:
          for (const auto& kv : resource.attributes()) into += kv.SerializeAsString();
          return resource.attributes_size() > 0;
        default:
          return attribute(resource.attributes(), "service.name", into);
      }
    };
    auto add = [&](bool found) {
      if (!found) {
        ++missing;
        key.clear();
      }
      out.push_back(stable_hash(key));
    };
    auto by_attributes = [&](const auto& item_attributes, const auto& resource) {
      key.clear();
      bool any = false;
      for (const auto& name : config_.routing_attributes) {
        any |= attribute(item_attributes, name, key) || attribute(resource.attributes(), name, key);
        key += '\x1f';
      }
      return any;
    };
    switch (data.signal()) {
      case Signal::kTraces: {
        const auto& req =
            static_cast<const v1::collector::trace::v1::ExportTraceServiceRequest&>(data.message());
        for (const auto& rs : req.resource_spans()) {
          for (const auto& ss : rs.scope_spans()) {
            for (const auto& span : ss.spans()) {
              key.clear();
              if (config_.routing_key == Key::kTraceId || config_.routing_key == Key::kMetric) {
                key = span.trace_id();
                add(!key.empty());
              } else if (config_.routing_key == Key::kAttributes) {
                add(by_attributes(span.attributes(), rs.resource()));
              } else {
                add(resource_key(rs.resource(), key));
              }
            }
          }
        }
        break;
      }
      case Signal::kLogs: {
        const auto& req =
            static_cast<const v1::collector::logs::v1::ExportLogsServiceRequest&>(data.message());
        for (const auto& rl : req.resource_logs()) {
          for (const auto& sl : rl.scope_logs()) {
            for (const auto& log : sl.log_records()) {
              key.clear();
              if (config_.routing_key == Key::kTraceId) {
                key = log.trace_id();
                add(!key.empty());
              } else if (config_.routing_key == Key::kAttributes) {
                add(by_attributes(log.attributes(), rl.resource()));
              } else {
                add(resource_key(rl.resource(), key));
              }
            }
          }
        }
        break;
      }
      case Signal::kMetrics: {
        const auto& req =
            static_cast<const v1::collector::metrics::v1::ExportMetricsServiceRequest&>(
                data.message());
        for (const auto& rm : req.resource_metrics()) {
          for (const auto& sm : rm.scope_metrics()) {
            for (const auto& m : sm.metrics()) {
              auto points = [&](const auto& list) {
                for (const auto& p : list) {
                  key.clear();
                  if (config_.routing_key == Key::kMetric) {
                    key = m.name();
                    add(true);
                  } else if (config_.routing_key == Key::kAttributes) {
                    add(by_attributes(p.attributes(), rm.resource()));
                  } else {  // traceID has no meaning for metrics: by service
                    add(resource_key(rm.resource(), key));
                  }
                }
              };
              if (m.has_gauge()) points(m.gauge().data_points());
              if (m.has_sum()) points(m.sum().data_points());
              if (m.has_histogram()) points(m.histogram().data_points());
              if (m.has_exponential_histogram()) points(m.exponential_histogram().data_points());
              if (m.has_summary()) points(m.summary().data_points());
            }
          }
        }
        break;
      }
    }
    if (missing > 0) {
      missing_key_[static_cast<size_t>(data.signal())]->add(missing);
      if (!warned_missing_.exchange(true)) {
        ctx_.logger->warn(
            "{} {} had no routing key; such items are routed by an empty key, all "
            "to one endpoint (logged once; counted in "
            "weft_loadbalancer_missing_key_{})",
            missing, item_noun(data.signal()), item_noun(data.signal()));
      }
    }
  }

  void resolve_once() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* result = nullptr;
    const auto started = std::chrono::steady_clock::now();
    const int rc =
        getaddrinfo(config_.dns.hostname.c_str(), config_.dns.port.c_str(), &hints, &result);
    if (std::chrono::steady_clock::now() - started > config_.dns.timeout) {
      ctx_.logger->warn("resolving {} took longer than the resolver's timeout",
                        config_.dns.hostname);
    }
    if (rc != 0) {
      resolutions_failed_->add();
      if (!warned_dns_.exchange(true)) {
        ctx_.logger->error(
            "resolving {} failed: {}; keeping the {} endpoints there are (logged "
            "once until it succeeds)",
            config_.dns.hostname, gai_strerror(rc), backends_->value());
      }
      return;
    }
    std::set<std::string> found;
    for (addrinfo* a = result; a != nullptr; a = a->ai_next) {
      char host[NI_MAXHOST];
      if (getnameinfo(a->ai_addr, a->ai_addrlen, host, sizeof host, nullptr, 0, NI_NUMERICHOST) !=
          0) {
        continue;
      }
      const std::string h = host;
      found.insert((h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + config_.dns.port);
    }
    freeaddrinfo(result);
    if (warned_dns_.exchange(false))
      ctx_.logger->info("resolving {} works again", config_.dns.hostname);
    if (found.empty()) {
      resolutions_failed_->add();
      ctx_.logger->warn("{} resolved to no address; keeping the endpoints there are",
                        config_.dns.hostname);
      return;
    }
    resolutions_ok_->add();
    update({found.begin(), found.end()}).ignore();
  }

  // Makes `endpoints` the set (new ones get an exporter, gone ones are shut down when the
  // last send using them ends).
  Status update(std::vector<std::string> endpoints) {
    std::sort(endpoints.begin(), endpoints.end());
    endpoints.erase(std::unique(endpoints.begin(), endpoints.end()), endpoints.end());
    if (endpoints.size() > kMaxEndpoints) {
      ctx_.logger->error("{} endpoints; the loadbalancing exporter uses the first {}",
                         endpoints.size(), kMaxEndpoints);
      endpoints.resize(kMaxEndpoints);
    }
    auto current = snapshot();
    if (current && current->ring.endpoints() == endpoints) return Status::ok();
    std::map<std::string, std::shared_ptr<Backend>> have;
    if (current) {
      for (const auto& b : current->backends) have[b->endpoint] = b;
    }
    auto next = std::make_shared<Members>();
    next->ring = Ring(endpoints);
    for (const auto& e : next->ring.endpoints()) {
      if (auto it = have.find(e); it != have.end()) {
        next->backends.push_back(it->second);
        continue;
      }
      auto b = std::make_shared<Backend>();
      b->endpoint = e;
      auto config = otlp_->create_default_config();
      Diagnostics diag;
      ConfigReader reader(endpoint_config(config_.otlp, e), ctx_.id, &diag);
      otlp_->load_config(reader, *config);
      if (!diag.ok()) {
        return Status::invalid_argument("endpoint " + e + ": " + diag.errors().front().second);
      }
      ComponentContext child = ctx_;
      child.id = ctx_.id + "/" + e;
      b->exporter = otlp_->create_exporter(child, *config);
      if (Status s = b->exporter->start(); !s.is_ok()) return s;
      b->ok = &ctx_.metrics->counter("otelcol_loadbalancer_backend_outcome",
                                     "Sends to each endpoint by outcome.",
                                     {{"endpoint", e}, {"exporter", ctx_.id}, {"success", "true"}});
      b->failed = &ctx_.metrics->counter(
          "otelcol_loadbalancer_backend_outcome", "Sends to each endpoint by outcome.",
          {{"endpoint", e}, {"exporter", ctx_.id}, {"success", "false"}});
      next->backends.push_back(std::move(b));
    }
    ctx_.logger->info("sending to {} endpoints: {}", endpoints.size(), fmt::join(endpoints, ", "));
    {
      std::lock_guard lock(members_mu_);
      members_ = std::move(next);
    }
    backends_->set(static_cast<int64_t>(endpoints.size()));
    updates_->add();
    return Status::ok();
  }

  ComponentContext ctx_;
  const Config& config_;
  std::unique_ptr<Factory> otlp_;
  std::mutex members_mu_;
  std::shared_ptr<const Members> members_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread resolver_;
  std::atomic<bool> warned_missing_{false};
  std::atomic<bool> warned_dns_{false};
  telemetry::Counter* resolutions_ok_;
  telemetry::Counter* resolutions_failed_;
  telemetry::Gauge* backends_;
  telemetry::Counter* updates_;
  std::array<telemetry::Counter*, 3> rerouted_{};
  std::array<telemetry::Counter*, 3> missing_key_{};
};

class Factory final : public FactoryFor<Config> {
 public:
  [[nodiscard]] ComponentKind kind() const override { return ComponentKind::kExporter; }
  [[nodiscard]] std::string_view type() const override { return "loadbalancing"; }
  [[nodiscard]] std::vector<std::string_view> aliases() const override {
    return {"load_balancing"};
  }

  std::unique_ptr<Exporter> create_exporter(const ComponentContext& ctx,
                                            const ComponentConfig& config) const override {
    const Config& c = cast(config);
    return std::make_unique<QueuedExporter>(ctx, c.exporter,
                                            std::make_unique<BalancingSender>(ctx, c));
  }

 protected:
  void load(ConfigReader& reader, Config& config) const override {
    std::string key = "traceID";
    reader.read("routing_key", key);
    static const std::map<std::string, Key> kKeys = {{"traceID", Key::kTraceId},
                                                     {"service", Key::kService},
                                                     {"resource", Key::kResource},
                                                     {"metric", Key::kMetric},
                                                     {"attributes", Key::kAttributes}};
    if (auto it = kKeys.find(key); it != kKeys.end()) {
      config.routing_key = it->second;
    } else if (key == "streamID") {
      reader.error("routing_key",
                   "streamID is not supported by weft (traceID, service, "
                   "resource, metric, attributes are)");
    } else {
      reader.error("routing_key", "must be traceID, service, resource, metric or attributes");
    }
    reader.read("routing_attributes", config.routing_attributes);
    if (config.routing_key == Key::kAttributes && config.routing_attributes.empty()) {
      reader.error("routing_attributes", "routing_key: attributes needs routing_attributes");
    }

    // protocol.otlp: every otlp exporter setting, checked by the otlp exporter itself (the
    // endpoint comes from the resolver).
    ConfigReader protocol = reader.child("protocol");
    const YAML::Node otlp = protocol.read_node("otlp");
    if (otlp.IsDefined() && !otlp.IsNull()) config.otlp = YAML::Clone(otlp);
    if (config.otlp.IsMap() && config.otlp["endpoint"]) {
      protocol.error("otlp.endpoint", "is set by the resolver; leave it out");
    }
    {
      auto otlp_factory = make_otlp_exporter_factory();
      auto checked = otlp_factory->create_default_config();
      YAML::Node probe =
          YAML::Clone(config.otlp.IsMap() ? config.otlp : YAML::Node(YAML::NodeType::Map));
      probe["endpoint"] = "127.0.0.1:4317";
      ConfigReader r(probe, protocol.path_of("otlp"), reader.diagnostics());
      otlp_factory->load_config(r, *checked);
      r.report_unknown_keys();
      Diagnostics ignored;
      ConfigReader settings(probe, protocol.path_of("otlp"), &ignored);
      config.exporter.load(settings);
    }

    ConfigReader resolver = reader.child("resolver");
    ConfigReader stat = resolver.child("static");
    stat.read("hostnames", config.hostnames);
    if (resolver.has("dns")) {
      config.use_dns = true;
      ConfigReader dns = resolver.child("dns");
      dns.read("hostname", config.dns.hostname);
      dns.read("port", config.dns.port);
      dns.read_duration("interval", config.dns.interval);
      dns.read_duration("timeout", config.dns.timeout);
      if (config.dns.hostname.empty()) dns.error("hostname", "must be set");
      if (config.dns.interval.count() <= 0) dns.error("interval", "must be positive");
    }
    for (const char* other : {"k8s", "aws_cloud_map"}) {
      if (resolver.has(other)) {
        resolver.error(other, "is not supported by weft (static and dns are)");
        resolver.read_node(other);
      }
    }
    if (config.use_dns == !config.hostnames.empty()) {
      resolver.error(config.use_dns ? "static" : "dns",
                     "the loadbalancing exporter needs one resolver: static.hostnames or dns");
    }
    for (auto& h : config.hostnames) {
      if (h.find(':') == std::string::npos) h += ":4317";  // the Go collector's default port
      std::string host;
      int port = 0;
      if (!split_endpoint(h, host, port)) {
        stat.error("hostnames", "expected host:port, got \"" + h + "\"");
      }
    }
  }
};

}  // namespace
}  // namespace weft::exporters::loadbalancing

WEFT_DEFINE_FACTORY(loadbalancing_exporter, weft::exporters::loadbalancing::Factory)
