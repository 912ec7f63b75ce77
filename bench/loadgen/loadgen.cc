// weft_loadgen: the benchmark harness's load generator and sink (bench/run.py drives both).
//
//   weft_loadgen send --endpoint HOST:PORT --signal traces|logs|metrics [--items 512]
//                     [--rate ITEMS_PER_S (0: as fast as accepted)] [--seconds 6]
//                     [--concurrency 4] [--ca CA_PEM_FILE]
//     Sends one prebuilt OTLP/gRPC request over and over, stamping the send time into
//     every item, and prints one JSON line with what was accepted.
//   weft_loadgen sink --port PORT [--cert PEM_FILE --key PEM_FILE]
//     An OTLP/gRPC server (TLS with --cert and --key) that counts arriving items and the
//     latency of each (now minus the stamp). Commands on stdin, one JSON line on stdout
//     for each: "stats", "reset", "quit" (the final stats, once the server has stopped).
//
// The requests are described in requests.h.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <future>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "opentelemetry/proto/collector/logs/v1/logs_service.grpc.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.grpc.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"
#include "pdata/wire.h"
#include "requests.h"

namespace {

namespace otlp = opentelemetry::proto;
using weft::pdata::wire::Field;
using weft::pdata::wire::Reader;
using weft::pdata::wire::WireType;

using weft::bench::kStampPlaceholder;
using weft::bench::log_request;
using weft::bench::metric_request;
using weft::bench::trace_request;

uint64_t now_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// ---- send ----------------------------------------------------------------------------------

struct Template {
  std::string bytes;
  std::vector<size_t> stamps;  // offsets of the placeholder stamps
  size_t items = 0;
};

Template make_template(const std::string& signal, int items) {
  std::mt19937_64 rng(42);
  Template t;
  t.bytes = signal == "traces" ? trace_request(items, rng)
            : signal == "logs" ? log_request(items, rng)
                               : metric_request(items);
  uint64_t placeholder = kStampPlaceholder;
  const std::string needle(reinterpret_cast<char*>(&placeholder), 8);
  for (size_t pos = t.bytes.find(needle); pos != std::string::npos;
       pos = t.bytes.find(needle, pos + 8)) {
    t.stamps.push_back(pos);
  }
  t.items = t.stamps.size();
  return t;
}

std::string method_for(const std::string& signal) {
  if (signal == "traces") return "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
  if (signal == "logs") return "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
  return "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
}

struct SendOptions {
  std::string endpoint;
  std::string signal = "traces";
  int items = 512;
  double rate = 0;  // items per second; 0: closed loop, as fast as accepted
  double seconds = 6;
  int concurrency = 4;
  std::string ca_file;  // TLS to the endpoint, trusting this CA
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

int send(const SendOptions& o) {
  const Template base = make_template(o.signal, o.items);
  if (base.items == 0) {
    std::cerr << "error: no items in the request template\n";
    return 1;
  }
  const std::string method = method_for(o.signal);
  std::atomic<uint64_t> next_slot{0}, accepted_items{0}, accepted_requests{0}, refused{0};
  std::mutex error_mu;
  std::string last_error;
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                               std::chrono::duration<double>(o.seconds));
  const double slot_seconds = o.rate > 0 ? static_cast<double>(base.items) / o.rate : 0;

  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!o.ca_file.empty()) {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = read_file(o.ca_file);
    credentials = grpc::SslCredentials(tls);
  }
  auto worker = [&](int id) {
    grpc::ChannelArguments args;
    args.SetInt("weft.loadgen.worker", id);  // a connection of its own
    args.SetMaxReceiveMessageSize(-1);
    auto channel = grpc::CreateCustomChannel(o.endpoint, credentials, args);
    grpc::GenericStub stub(channel);
    std::string bytes = base.bytes;
    while (true) {
      auto due = std::chrono::steady_clock::now();
      if (o.rate > 0) {
        const uint64_t slot = next_slot.fetch_add(1);
        due = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                          std::chrono::duration<double>(slot_seconds * static_cast<double>(slot)));
        if (due >= end) break;
        std::this_thread::sleep_until(due);
      } else if (due >= end) {
        break;
      }
      const uint64_t stamp = now_ns();
      for (size_t offset : base.stamps) std::memcpy(&bytes[offset], &stamp, 8);
      grpc::Slice slice(bytes);
      grpc::ByteBuffer request(&slice, 1);
      grpc::ByteBuffer response;
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      std::promise<grpc::Status> done;
      stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                     [&done](const grpc::Status& s) { done.set_value(s); });
      const grpc::Status status = done.get_future().get();
      if (status.ok()) {
        accepted_items += base.items;
        accepted_requests += 1;
      } else {
        refused += 1;
        {
          std::lock_guard lock(error_mu);
          last_error = std::to_string(status.error_code()) + " " + status.error_message();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));  // back-pressure
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < o.concurrency; ++i) threads.emplace_back(worker, i);
  for (auto& t : threads) t.join();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string escaped;
  for (char c : last_error) {
    if (c == '"' || c == '\\') escaped += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) escaped += c;
  }
  std::cout << "{\"sent_items\": " << accepted_items << ", \"sent_requests\": " << accepted_requests
            << ", \"refused_requests\": " << refused << ", \"items_per_request\": " << base.items
            << ", \"elapsed_s\": " << elapsed << ", \"last_error\": \"" << escaped << "\"}"
            << std::endl;
  return 0;
}

// ---- sink ----------------------------------------------------------------------------------

class Stats {
 public:
  void add(size_t items, const std::vector<uint32_t>& latencies_us) {
    std::lock_guard lock(mu_);
    items_ += items;
    requests_ += 1;
    latencies_.insert(latencies_.end(), latencies_us.begin(), latencies_us.end());
  }
  void reset() {
    std::lock_guard lock(mu_);
    items_ = 0;
    requests_ = 0;
    latencies_.clear();
  }
  std::string json() {
    std::vector<uint32_t> copy;
    uint64_t items = 0, requests = 0;
    {
      std::lock_guard lock(mu_);
      copy = latencies_;
      items = items_;
      requests = requests_;
    }
    auto percentile = [&copy](double q) -> double {
      if (copy.empty()) return -1;
      const size_t k = std::min(copy.size() - 1, static_cast<size_t>(q * (copy.size() - 1)));
      std::nth_element(copy.begin(), copy.begin() + static_cast<std::ptrdiff_t>(k), copy.end());
      return copy[k] / 1000.0;
    };
    const double p50 = percentile(0.50), p99 = percentile(0.99);
    return "{\"items\": " + std::to_string(items) + ", \"requests\": " + std::to_string(requests) +
           ", \"latency_samples\": " + std::to_string(copy.size()) +
           ", \"p50_ms\": " + std::to_string(p50) + ", \"p99_ms\": " + std::to_string(p99) + "}";
  }

 private:
  std::mutex mu_;
  uint64_t items_ = 0, requests_ = 0;
  std::vector<uint32_t> latencies_;  // microseconds, one per item
};

// The stamp of each item: spans field 7, log records field 11, number points field 2.
void collect_stamps(weft::Signal signal, std::string_view request, uint64_t now,
                    std::vector<uint32_t>& out) {
  auto stamp_of = [&](std::string_view item, uint32_t field_number) {
    Reader r(item);
    Field f;
    while (r.next(f)) {
      if (f.number == field_number && f.type == WireType::kFixed64) {
        uint64_t stamp = 0;
        std::memcpy(&stamp, f.raw.data() + f.raw.size() - 8, 8);
        const uint64_t us = now > stamp ? (now - stamp) / 1000 : 0;
        out.push_back(static_cast<uint32_t>(std::min<uint64_t>(us, UINT32_MAX)));
        return;
      }
    }
  };
  auto children = [](std::string_view message, uint32_t number, auto&& fn) {
    Reader r(message);
    Field f;
    while (r.next(f)) {
      if (f.number == number && f.type == WireType::kLen) fn(f.bytes);
    }
  };
  children(request, 1, [&](std::string_view resource) {
    children(resource, 2, [&](std::string_view scope) {
      if (signal == weft::Signal::kTraces) {
        children(scope, 2, [&](std::string_view span) { stamp_of(span, 7); });
      } else if (signal == weft::Signal::kLogs) {
        children(scope, 2, [&](std::string_view log) { stamp_of(log, 11); });
      } else {
        children(scope, 2, [&](std::string_view metric) {
          children(metric, 7, [&](std::string_view sum) {  // Sum.data_points
            children(sum, 1, [&](std::string_view point) { stamp_of(point, 2); });
          });
        });
      }
    });
  });
}

template <class Service, weft::Signal kSignal>
class SinkService final
    : public Service::template WithRawCallbackMethod_Export<typename Service::Service> {
 public:
  explicit SinkService(Stats& stats) : stats_(stats) {}
  grpc::ServerUnaryReactor* Export(grpc::CallbackServerContext* context,
                                   const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override {
    const uint64_t now = now_ns();
    std::vector<grpc::Slice> slices;
    std::string wire;
    if (request->Dump(&slices).ok()) {
      for (const auto& s : slices) wire.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    std::vector<uint32_t> latencies;
    collect_stamps(kSignal, wire, now, latencies);
    auto count = weft::pdata::wire::count_items(kSignal, wire);
    stats_.add(count.ok() ? count.value() : 0, latencies);
    grpc::Slice empty;
    grpc::ByteBuffer body(&empty, 1);
    response->Swap(&body);
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  Stats& stats_;
};

int sink(int port, const std::string& cert_file, const std::string& key_file) {
  namespace collector = otlp::collector;
  Stats stats;
  SinkService<collector::trace::v1::TraceService, weft::Signal::kTraces> traces(stats);
  SinkService<collector::logs::v1::LogsService, weft::Signal::kLogs> logs(stats);
  SinkService<collector::metrics::v1::MetricsService, weft::Signal::kMetrics> metrics(stats);
  grpc::ServerBuilder builder;
  int bound = 0;
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (!cert_file.empty()) {
    grpc::SslServerCredentialsOptions tls;
    tls.pem_key_cert_pairs.push_back({read_file(key_file), read_file(cert_file)});
    credentials = grpc::SslServerCredentials(tls);
  }
  builder.AddListeningPort("127.0.0.1:" + std::to_string(port), credentials, &bound);
  builder.SetMaxReceiveMessageSize(-1);
  builder.RegisterService(&traces);
  builder.RegisterService(&logs);
  builder.RegisterService(&metrics);
  auto server = builder.BuildAndStart();
  if (!server || bound == 0) {
    std::cerr << "error: cannot listen on 127.0.0.1:" << port << "\n";
    return 1;
  }
  std::cout << "{\"listening\": " << bound << "}" << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line == "stats") {
      std::cout << stats.json() << std::endl;
    } else if (line == "reset") {
      stats.reset();
      std::cout << "{\"ok\": true}" << std::endl;
    } else if (line == "quit") {
      break;
    } else {
      std::cout << "{\"error\": \"unknown command\"}" << std::endl;
    }
  }
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  // The final count, with what arrived after the last "stats" (requests in flight at
  // "quit" are answered, so their senders count them as delivered).
  std::cout << stats.json() << std::endl;
  return 0;
}

// post: the same body POSTed over and over over kept-alive HTTP connections (formats other
// than OTLP: Zipkin JSON for the zipkin receivers). `rate` is requests per second (0: a
// closed loop). Prints {"sent_requests", "refused_requests", "elapsed_s"}.
int post(const SendOptions& o, const std::string& path, const std::string& body_file,
         const std::string& content_type) {
  const std::string body = read_file(body_file);
  const auto colon = o.endpoint.rfind(':');
  const std::string host = o.endpoint.substr(0, colon);
  const int port = std::stoi(o.endpoint.substr(colon + 1));
  std::atomic<uint64_t> sent{0}, refused{0};
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::duration<double>(o.seconds);
  std::vector<std::thread> threads;
  for (int t = 0; t < o.concurrency; ++t) {
    threads.emplace_back([&, t] {
      httplib::Client client(host, port);
      client.set_keep_alive(true);
      client.set_read_timeout(30, 0);
      const double per_thread = o.rate / o.concurrency;
      auto next = start + std::chrono::duration<double>(per_thread > 0 ? t / o.rate : 0);
      while (std::chrono::steady_clock::now() < end) {
        if (per_thread > 0) {
          std::this_thread::sleep_until(next);
          next += std::chrono::duration_cast<std::chrono::steady_clock::duration>(
              std::chrono::duration<double>(1.0 / per_thread));
        }
        auto res = client.Post(path, body, content_type);
        if (res && res->status >= 200 && res->status < 300) {
          ++sent;
        } else {
          ++refused;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "{\"sent_requests\": " << sent << ", \"refused_requests\": " << refused
            << ", \"elapsed_s\": " << elapsed << "}" << std::endl;
  return 0;
}

int usage() {
  std::cerr << "usage: weft_loadgen send --endpoint HOST:PORT --signal traces|logs|metrics "
               "[--items N] [--rate ITEMS_PER_S] [--seconds S] [--concurrency C] [--ca FILE]\n"
               "       weft_loadgen sink --port PORT [--cert FILE --key FILE]\n"
               "       weft_loadgen post --endpoint HOST:PORT --path P --body FILE "
               "[--content-type T] [--rate REQUESTS_PER_S] [--seconds S] [--concurrency C]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string mode = argv[1];
  SendOptions o;
  int port = 0;
  std::string cert_file, key_file, path = "/", body_file, content_type = "application/json";
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--endpoint") {
      o.endpoint = value;
    } else if (key == "--signal") {
      o.signal = value;
    } else if (key == "--items") {
      o.items = std::stoi(value);
    } else if (key == "--rate") {
      o.rate = std::stod(value);
    } else if (key == "--seconds") {
      o.seconds = std::stod(value);
    } else if (key == "--concurrency") {
      o.concurrency = std::stoi(value);
    } else if (key == "--port") {
      port = std::stoi(value);
    } else if (key == "--ca") {
      o.ca_file = value;
    } else if (key == "--cert") {
      cert_file = value;
    } else if (key == "--key") {
      key_file = value;
    } else if (key == "--path") {
      path = value;
    } else if (key == "--body") {
      body_file = value;
    } else if (key == "--content-type") {
      content_type = value;
    } else {
      return usage();
    }
  }
  if (mode == "sink") return sink(port, cert_file, key_file);
  if (mode == "post" && !o.endpoint.empty() && !body_file.empty()) {
    return post(o, path, body_file, content_type);
  }
  if (mode != "send" || o.endpoint.empty()) return usage();
  if (o.signal != "traces" && o.signal != "logs" && o.signal != "metrics") return usage();
  return send(o);
}
