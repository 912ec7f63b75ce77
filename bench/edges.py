#!/usr/bin/env python3
"""The edges benchmark: weft's bundled plugin-backed components against the Go collector's
components of the same names, side by side in one run (pinned as in bench/run.py).

  zipkin-receiver        Zipkin JSON v2 POSTed to the zipkin receiver; OTLP out to the sink
  prometheusremotewrite  OTLP metrics in; remote write out to a sink that answers 204
  zipkin-exporter        OTLP traces in; Zipkin JSON out (weft only: the Go collector's contrib
                         has had no zipkin exporter since v0.148.0)
  prometheus-receiver    a 10,000-series target scraped every second: CPU per scrape

Throughput is a closed loop of 4 senders for max_seconds; CPU per million items is measured
at a fixed offered rate. Items out of a non-OTLP exporter are counted by the collector's own
otelcol_exporter_sent_* counter (both collectors expose it). Results go to
bench/results/edges.json; bench/report.py puts them on docs/performance.md."""

import argparse
import datetime
import http.server
import json
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as harness  # noqa: E402  (the collector benchmark's process helpers)

ROOT = Path(__file__).resolve().parent.parent
SPANS_PER_REQUEST = 512
SERIES = 10000


def zipkin_body(n: int) -> bytes:
    """n Zipkin JSON v2 spans shaped like the load generator's: 4 services, 8 tags each."""
    rng = random.Random(7)
    spans = []
    for i in range(n):
        tags = {f"attr.{k}": f"value-{rng.randrange(1000)}" for k in range(6)}
        tags.update({"http.method": "GET", "http.status_code": "200"})
        spans.append({
            "traceId": f"{rng.getrandbits(128):032x}", "id": f"{rng.getrandbits(64):016x}",
            "parentId": f"{rng.getrandbits(64):016x}", "name": f"GET /api/v1/items/{i % 50}",
            "kind": "SERVER", "timestamp": 1700000000000000 + i, "duration": 1500,
            "localEndpoint": {"serviceName": f"service-{i % 4}"}, "tags": tags})
    return json.dumps(spans).encode()


def exposition(series: int) -> tuple[bytes, int]:
    """A target with `series` series (counters, gauges and histograms, whose buckets, sum and
    count are series too), and how many OTLP points one scrape of it makes."""
    lines = []
    per = series // 4
    lines += ["# HELP app_requests_total Requests.", "# TYPE app_requests_total counter"]
    lines += [f'app_requests_total{{route="/r/{i}",method="GET",code="200"}} {i * 7}'
              for i in range(per)]
    lines += ["# HELP app_inflight In flight.", "# TYPE app_inflight gauge"]
    lines += [f'app_inflight{{route="/r/{i}",pod="p{i % 13}"}} {i % 17}' for i in range(per)]
    lines += ["# TYPE app_bytes_total counter"]
    lines += [f'app_bytes_total{{route="/r/{i}",direction="in"}} {i * 1024}' for i in range(per)]
    buckets = ["0.005", "0.01", "0.05", "0.1", "0.5", "1", "5", "+Inf"]
    lines += ["# TYPE app_latency_seconds histogram"]
    histograms = (series - 3 * per) // (len(buckets) + 2)
    for i in range(histograms):
        for j, le in enumerate(buckets):
            lines.append(f'app_latency_seconds_bucket{{route="/r/{i}",le="{le}"}} {j * 10 + i}')
        lines.append(f'app_latency_seconds_sum{{route="/r/{i}"}} {i * 0.5}')
        lines.append(f'app_latency_seconds_count{{route="/r/{i}"}} {70 + i}')
    return ("\n".join(lines) + "\n").encode(), 3 * per + histograms


class Answering:
    """An HTTP server on loopback that answers every POST with `status` (a remote-write or
    Zipkin destination that takes everything) or every GET with `body` (a scrape target)."""

    def __init__(self, status=204, body=b""):
        self.requests = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests += 1
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self):
                outer.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def sent_counter(metrics_port: int, name: str) -> float:
    """otelcol_exporter_sent_<name> (the Go collector's with _total) from /metrics."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read()
    total = 0.0
    for line in text.decode().splitlines():
        if re.match(rf"otelcol_exporter_sent_{name}(_total)?[{{ ]", line):
            total += float(line.rsplit(" ", 1)[1])
    return total


def config(kind, scenario, port, sink_port, dest_port, metrics_port, target_port):
    go = kind == "otelcol"
    otlp = "otlp_grpc" if go else "otlp"
    telemetry = ({"metrics": {"level": "basic", "readers": [{"pull": {"exporter": {"prometheus": {
        "host": "127.0.0.1", "port": metrics_port}}}}]}, "logs": {"level": "warn"}} if go else
        {"metrics": {"address": f"127.0.0.1:{metrics_port}"}, "logs": {"level": "warn"}})
    to_sink = {otlp: {"endpoint": f"127.0.0.1:{sink_port}", "tls": {"insecure": True},
                      "compression": "none"}}
    otlp_in = {"otlp": {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{port}"}}}}
    batch = {"batch": dict(harness.BATCH)}
    if scenario == "zipkin-receiver":
        receivers, exporters, signal = {"zipkin": {"endpoint": f"127.0.0.1:{port}"}}, to_sink, "traces"
    elif scenario == "prometheusremotewrite":
        receivers, signal = otlp_in, "metrics"
        exporters = {"prometheusremotewrite": {
            "endpoint": f"http://127.0.0.1:{dest_port}/api/v1/write"}}
    elif scenario == "zipkin-exporter":
        receivers, signal = otlp_in, "traces"
        exporters = {"zipkin": {"endpoint": f"http://127.0.0.1:{dest_port}/api/v2/spans"}}
    else:  # prometheus-receiver
        receivers, exporters, signal = {"prometheus": {"config": {"scrape_configs": [{
            "job_name": "bench", "scrape_interval": "1s", "scrape_timeout": "1s",
            "static_configs": [{"targets": [f"127.0.0.1:{target_port}"]}]}]}}}, to_sink, "metrics"
    return signal, {
        "receivers": receivers, "processors": batch, "exporters": exporters,
        "service": {"telemetry": telemetry, "pipelines": {signal: {
            "receivers": list(receivers), "processors": ["batch"], "exporters": list(exporters)}}}}


def post(args, port, rate, seconds, concurrency, body_file):
    argv = [str(args.loadgen), "post", "--endpoint", f"127.0.0.1:{port}", "--path",
            "/api/v2/spans", "--body", str(body_file), "--rate", str(rate), "--seconds",
            str(seconds), "--concurrency", str(concurrency)]
    out = subprocess.run(harness.pinned(args.load_cpus, argv), capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def wait_counter(read, expected, settle=2.0, limit=20.0):
    """Polls read() until it reaches expected or stops moving; (value, time of last change)."""
    start = last = time.monotonic()
    value = read()
    while value < expected and time.monotonic() - last < settle and time.monotonic() - start < limit:
        time.sleep(0.05)
        now = read()
        if now != value:
            last = time.monotonic()
        value = now
    return value, last


def measure(args, kind, scenario, sink, workdir, body_file):
    port, metrics_port = harness.free_port(), harness.free_port()
    dest = Answering(status=202 if scenario == "zipkin-exporter" else 204)
    body, points_per_scrape = exposition(SERIES)
    target = Answering(body=body) if scenario == "prometheus-receiver" else None
    signal, cfg = config(kind, scenario, port, sink.port, dest.port, metrics_port,
                         target.port if target else 0)
    path = workdir / f"edges-{kind}-{scenario}.yaml"
    path.write_text(json.dumps(cfg, indent=1))
    log_path = workdir / f"edges-{kind}-{scenario}.log"
    run = {"collector": kind, "scenario": scenario, "signal": signal}
    with open(log_path, "w") as log:
        proc = subprocess.Popen(harness.pinned(args.collector_cpus,
                                               [str(args.binaries[kind]), "--config", str(path)]),
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        if scenario != "prometheus-receiver" and not harness.wait_port(port, proc):
            raise RuntimeError(f"collector did not start:\n{log_path.read_text()[-2000:]}")
        time.sleep(1.0)
        if scenario == "prometheus-receiver":
            time.sleep(2.0)  # both have scraped and exported at least once
            items0 = sink.ask("stats")["items"]
            cpu0, t0 = harness.cpu_seconds(proc.pid), time.monotonic()
            time.sleep(args.scrape_seconds)
            cpu = harness.cpu_seconds(proc.pid) - cpu0
            points = sink.ask("stats")["items"] - items0
            # The points that arrived in the CPU window (the Go collector adds 5 of its own per
            # scrape, up and scrape_*: 0.06%).
            scrapes = round(points / points_per_scrape, 1)
            run["scrape"] = {"series": SERIES, "points_per_scrape": points_per_scrape,
                             "seconds": round(time.monotonic() - t0, 1),
                             "points": points, "scrapes": scrapes,
                             "cpu_ms_per_scrape": round(cpu * 1000 / max(scrapes, 1), 2),
                             "rss_peak_mib": round(harness.status_mib(proc.pid, "VmHWM"), 2)}
            return run
        by_counter = scenario in ("prometheusremotewrite", "zipkin-exporter")
        noun = {"traces": "spans", "metrics": "metric_points"}[signal]

        def delivered():
            if by_counter:
                return sent_counter(metrics_port, noun)
            return sink.ask("stats")["items"]

        def offer(rate, seconds, concurrency):
            """Sends for `seconds`; the items offered and accepted."""
            if scenario == "zipkin-receiver":
                sent = post(args, port, rate / SPANS_PER_REQUEST, seconds, concurrency, body_file)
                return sent["sent_requests"] * SPANS_PER_REQUEST, sent
            sent = harness.send(args.loadgen, args.load_cpus, port, signal, rate, seconds,
                                concurrency)
            return sent["sent_items"], sent

        # Warm-up, then a fixed rate for CPU per item, then a closed loop for throughput.
        sink.ask("reset")
        base = delivered()
        items, _ = offer(20000, 1.0, 1)
        wait_counter(lambda: delivered() - base, items)
        base = delivered()
        cpu0 = harness.cpu_seconds(proc.pid)
        items, sent = offer(args.rate, args.fixed_seconds, 4)
        got, _ = wait_counter(lambda: delivered() - base, items)
        cpu = harness.cpu_seconds(proc.pid) - cpu0
        run["fixed"] = {"rate": args.rate, "offered": items, "delivered": got,
                        "cpu_s_per_million": round(cpu / max(items, 1) * 1e6, 4)}
        base = delivered()
        cpu0, t0 = harness.cpu_seconds(proc.pid), time.monotonic()
        items, sent = offer(0, args.max_seconds, 4)
        got, last = wait_counter(lambda: delivered() - base, items)
        cpu = harness.cpu_seconds(proc.pid) - cpu0
        wall = max(last, t0 + sent["elapsed_s"]) - t0
        run["max"] = {"items_per_s": round(got / wall, 1), "offered": items, "delivered": got,
                      "lost_items": max(0, items - got),
                      "cpu_s_per_million": round(cpu / max(got, 1) * 1e6, 4),
                      "rss_peak_mib": round(harness.status_mib(proc.pid, "VmHWM"), 2)}
    except Exception as e:  # one failed run must not end the benchmark
        run["error"] = str(e)
    finally:
        harness.stop(proc)
        dest.close()
        if target:
            target.close()
    return run


SCENARIOS = ["zipkin-receiver", "prometheusremotewrite", "zipkin-exporter", "prometheus-receiver"]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", type=Path, default=ROOT / "build")
    p.add_argument("--otelcol", type=Path, required=True)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "edges.json")
    p.add_argument("--max-seconds", type=float, default=5.0)
    p.add_argument("--fixed-seconds", type=float, default=5.0)
    p.add_argument("--rate", type=int, default=50000, help="items/s offered for CPU per item")
    p.add_argument("--scrape-seconds", type=float, default=20.0)
    p.add_argument("--collector-cpus", default="1")
    p.add_argument("--load-cpus", default="0")
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("--only", default="weft,otelcol", help="collectors to run")
    args = p.parse_args()
    args.build = args.build.resolve()
    args.loadgen = args.build / "weft_loadgen"
    args.binaries = {"weft": args.build / "weft", "otelcol": args.otelcol.resolve()}
    runs = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="weft-edges-") as tmp:
        body_file = Path(tmp) / "zipkin.json"
        body_file.write_bytes(zipkin_body(SPANS_PER_REQUEST))
        sink = harness.Sink(args.loadgen, args.load_cpus)
        try:
            for scenario in [s for s in SCENARIOS if s in args.scenarios.split(",")]:
                for kind in [k for k in ("weft", "otelcol") if k in args.only.split(",")]:
                    if kind == "otelcol" and scenario == "zipkin-exporter":
                        continue
                    run = measure(args, kind, scenario, sink, Path(tmp), body_file)
                    runs.append(run)
                    print(f"[edges {time.monotonic() - started:.0f}s] {kind} {scenario}: "
                          f"{run.get('error') or run.get('max') or run.get('scrape')}",
                          file=sys.stderr, flush=True)
        finally:
            sink.close()
    result = {
        "schema": 1,
        "generated_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "method": {
            "spans_per_zipkin_request": SPANS_PER_REQUEST, "series": SERIES,
            "max_seconds": args.max_seconds, "fixed_seconds": args.fixed_seconds,
            "fixed_rate": args.rate, "scrape_seconds": args.scrape_seconds,
            "collector_cpus": args.collector_cpus, "load_cpus": args.load_cpus,
        },
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out} ({len(runs)} runs)", file=sys.stderr)


if __name__ == "__main__":
    main()
