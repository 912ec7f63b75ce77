"""Soak: weft under steady mixed load for a long time, and whether anything grows or is lost.

weft runs a traces and a logs pipeline: the otlp receiver (gRPC in plaintext for the load
generator, HTTP over TLS for a second sender), the Wasm filter plugin (half of the load
generator's items carry bench.drop=true and are dropped), batch, and the otlp exporter with
a persistent queue (file_storage) to a sink (the load generator's) that goes down for 10 s
every 30 s. The plugins are reloaded (SIGHUP) every minute.

Every few seconds it samples weft's RSS, open file descriptors, threads and the exporter's
queue size; at the end it stops the load, lets the queue drain and checks:
  - growth: RSS, descriptors and threads in the last quarter of the run against the first
    quarter after warm-up (RSS may grow 25% + 16 MiB, descriptors 16, threads 8);
  - loss: every item weft acknowledged and did not filter reaches the sink, nothing is
    counted as failed.
It writes soak.png (the four series over time, reloads and outages marked) and soak.json.

Usage: soak.py --build BUILD_DIR [--duration 30m] [--out DIR]; exit status 1 on growth or loss.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after {timeout}s")


def duration(text: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(s|m|h)?", text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a duration: {text}")
    return float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]


class Sink:
    """The load generator's OTLP/gRPC sink on a fixed port; it can be taken down and back."""

    def __init__(self, loadgen: Path, port: int):
        self.loadgen, self.port = loadgen, port
        self.proc = None
        self.earlier = 0  # items received by the sinks that were stopped
        self.lock = threading.Lock()

    def up(self) -> None:
        with self.lock:
            if self.proc:
                return
            self.proc = subprocess.Popen([str(self.loadgen), "sink", "--port", str(self.port)],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            json.loads(self.proc.stdout.readline())

    def _ask(self, command: str) -> dict:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def down(self) -> None:
        with self.lock:
            if not self.proc:
                return
            # The count after "quit": a request in flight when the sink stops is answered,
            # so weft counts it as sent; a "stats" before "quit" would miss it.
            self.earlier += self._ask("quit")["items"]
            self.proc.wait(timeout=10)
            self.proc = None

    def items(self) -> int:
        with self.lock:
            return self.earlier + (self._ask("stats")["items"] if self.proc else 0)


def metrics(port: int) -> dict[str, float]:
    """Sums of weft's self-metrics by name (labels folded)."""
    out: dict[str, float] = {}
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("#") or not line.strip():
                continue
            name = re.split(r"[{\s]", line, maxsplit=1)[0]
            out[name] = out.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    return out


def reloads_ok(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return sum(float(line.rsplit(" ", 1)[1]) for line in r.read().decode().splitlines()
                   if line.startswith("weft_plugin_reloads{") and 'result="ok"' in line)


def proc_sample(pid: int) -> dict[str, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024
    threads = int(re.search(r"Threads:\s+(\d+)", status).group(1))
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return {"rss_mib": rss, "threads": threads, "fds": fds}


def make_cert(workdir: Path) -> tuple[Path, Path]:
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


class Load(threading.Thread):
    """The load generator over OTLP/gRPC, 20 s at a time until stopped."""

    def __init__(self, loadgen: Path, port: int, signal_name: str, rate: int):
        super().__init__(daemon=True)
        self.argv = [str(loadgen), "send", "--endpoint", f"127.0.0.1:{port}", "--signal",
                     signal_name, "--items", "100", "--rate", str(rate), "--seconds", "20",
                     "--concurrency", "4"]
        self.stop = threading.Event()
        self.sent = 0

    def run(self) -> None:
        while not self.stop.is_set():
            out = subprocess.run(self.argv, capture_output=True, text=True)
            try:
                self.sent += json.loads(out.stdout.strip().splitlines()[-1])["sent_items"]
            except (IndexError, KeyError, ValueError):
                pass


class TlsSender(threading.Thread):
    """OTLP/HTTP over TLS, a few requests a second; counts the spans acknowledged."""

    def __init__(self, port: int, cert: Path):
        super().__init__(daemon=True)
        self.port = port
        self.context = ssl.create_default_context(cafile=str(cert))
        self.stop = threading.Event()
        self.acked = 0
        self.body = self._request()

    @staticmethod
    def _request() -> bytes:
        # A hand-made ExportTraceServiceRequest: one resource, one scope, 10 spans.
        def field(num: int, payload: bytes) -> bytes:
            return bytes([num << 3 | 2]) + varint(len(payload)) + payload

        def varint(n: int) -> bytes:
            out = b""
            while True:
                b, n = n & 0x7F, n >> 7
                out += bytes([b | (0x80 if n else 0)])
                if not n:
                    return out

        spans = b"".join(field(2, field(1, bytes(16 - 1) + bytes([1])) +  # trace_id
                                  field(2, bytes(7) + bytes([i + 1])) +  # span_id
                                  field(5, f"soak-tls-{i}".encode()))  # name
                         for i in range(10))
        return field(1, field(2, spans))

    def run(self) -> None:
        url = f"https://127.0.0.1:{self.port}/v1/traces"
        while not self.stop.is_set():
            req = urllib.request.Request(url, data=self.body, method="POST",
                                         headers={"Content-Type": "application/x-protobuf"})
            try:
                with urllib.request.urlopen(req, timeout=5, context=self.context) as r:
                    if r.status == 200:
                        self.acked += 10
            except Exception:  # noqa: BLE001 - refused while the queue is full: not counted
                pass
            self.stop.wait(0.25)


def weft_config(workdir: Path, build: Path, grpc: int, https: int, sink: int, metrics_port: int,
                cert: Path, key: Path) -> dict:
    storage = workdir / "storage"
    storage.mkdir()
    pipeline = {"receivers": ["otlp"], "processors": ["wasm/filter", "batch"],
                "exporters": ["otlp"]}
    return {
        "receivers": {"otlp": {"protocols": {
            "grpc": {"endpoint": f"127.0.0.1:{grpc}"},
            "http": {"endpoint": f"127.0.0.1:{https}",
                     "tls": {"cert_file": str(cert), "key_file": str(key)}}}}},
        "processors": {
            "wasm/filter": {"plugin": str(build / "plugins" / "filter.wasm"),
                            "config": {"drop": [{"attribute": "bench.drop", "equals": "true"}]}},
            "batch": {"send_batch_size": 4096, "timeout": "50ms"}},
        "exporters": {"otlp": {
            "endpoint": f"127.0.0.1:{sink}", "tls": {"insecure": True}, "timeout": "2s",
            "sending_queue": {"storage": "file_storage", "queue_size": 50000},
            "retry_on_failure": {"initial_interval": "100ms", "max_interval": "1s"}}},
        "extensions": {"file_storage": {"directory": str(storage)}},
        "service": {"extensions": ["file_storage"],
                    "telemetry": {"metrics": {"address": f"127.0.0.1:{metrics_port}"},
                                  "logs": {"level": "warn"}},
                    "pipelines": {"traces": pipeline, "logs": dict(pipeline)}},
    }


def growth(samples: list[dict], key: str, warmup: float) -> tuple[float, float]:
    """(first quarter after warm-up, last quarter): the median of RSS, the max of counts."""
    after = [s for s in samples if s["t"] >= warmup]
    q = max(1, len(after) // 4)
    pick = (lambda xs: sorted(xs)[len(xs) // 2]) if key == "rss_mib" else max
    return pick([s[key] for s in after[:q]]), pick([s[key] for s in after[-q:]])


def plot(samples: list[dict], events: list[tuple[float, str]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(4, 1, figsize=(10, 9), sharex=True)
    t = [s["t"] / 60 for s in samples]
    for ax, (key, label) in zip(axes, [("rss_mib", "RSS (MiB)"), ("fds", "open descriptors"),
                                        ("threads", "threads"), ("queue", "queue (requests)")]):
        values = [s[key] for s in samples]
        ax.plot(t, values, lw=1)
        ax.set_ylabel(label)
        ax.set_ylim(0, max(values, default=1) * 1.15 + 1)
        for when, what in events:
            ax.axvline(when / 60, color={"reload": "tab:green", "down": "tab:red",
                                         "up": "tab:blue"}[what], lw=0.4, alpha=0.5)
    axes[-1].set_xlabel("minutes (green: plugin reload, red/blue: destination down/up)")
    fig.suptitle("weft soak: steady load, TLS, hot reloads, a flapping destination")
    fig.tight_layout()
    fig.savefig(out, dpi=90)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", type=Path, required=True)
    p.add_argument("--duration", type=duration, default=duration("30m"))
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--interval", type=float, default=5.0)
    p.add_argument("--rate", type=int, default=20000, help="load generator items/s per signal")
    args = p.parse_args()
    build = args.build.resolve()
    loadgen = build / "weft_loadgen"
    out = (args.out or Path(os.environ.get("WEFT_CACHE", Path.home() / ".cache/weft")) / "soak")
    out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="weft-soak-") as tmp:
        workdir = Path(tmp)
        cert, key = make_cert(workdir)
        grpc, https, sink_port, metrics_port = free_port(), free_port(), free_port(), free_port()
        config = workdir / "weft.yaml"
        config.write_text(json.dumps(weft_config(workdir, build, grpc, https, sink_port,
                                                 metrics_port, cert, key)))
        sink = Sink(loadgen, sink_port)
        sink.up()
        log = open(out / "weft.log", "w")
        weft = subprocess.Popen([str(build / "weft"), "--config", str(config)], stdout=log,
                                stderr=subprocess.STDOUT)
        wait_port(grpc)
        wait_port(metrics_port)
        senders = [Load(loadgen, grpc, sig, args.rate) for sig in ("traces", "logs")]
        for sender in senders:
            sender.start()
        tls = TlsSender(https, cert)
        tls.start()
        samples: list[dict] = []
        events: list[tuple[float, str]] = []
        start = time.monotonic()
        next_reload, next_flap, sink_is_up = 60.0, 30.0, True
        failures: list[str] = []
        try:
            while (now := time.monotonic() - start) < args.duration:
                if weft.poll() is not None:
                    failures.append(f"weft exited with {weft.returncode}")
                    break
                if now >= next_reload:
                    weft.send_signal(signal.SIGHUP)
                    events.append((now, "reload"))
                    next_reload += 60
                if now >= next_flap:
                    (sink.down if sink_is_up else sink.up)()
                    sink_is_up = not sink_is_up
                    events.append((now, "up" if sink_is_up else "down"))
                    next_flap += 10 if not sink_is_up else 20
                m = metrics(metrics_port)
                samples.append({"t": now, **proc_sample(weft.pid),
                                "queue": m.get("otelcol_exporter_queue_size", 0)})
                time.sleep(args.interval)
        finally:
            tls.stop.set()
            for sender in senders:
                sender.stop.set()
            for sender in senders:
                sender.join(timeout=90)
            tls.join(timeout=10)
            sent = sum(sender.sent for sender in senders)
            sink.up()
        # Drain (the queue empty twice, 2 s apart), then compare what weft acknowledged with
        # what reached the sink.
        deadline = time.monotonic() + 120
        empty_since = None
        while time.monotonic() < deadline:
            m = metrics(metrics_port)
            if m.get("otelcol_exporter_queue_size", 1) == 0:
                empty_since = empty_since or time.monotonic()
                if time.monotonic() - empty_since >= 2:
                    break
            else:
                empty_since = None
            time.sleep(0.5)
        accepted = m.get("otelcol_receiver_accepted_spans", 0) + \
            m.get("otelcol_receiver_accepted_log_records", 0)
        # What the filter plugin let through is its items_out; errors it dropped are counted too.
        dropped = m.get("weft_plugin_items_in", 0) - m.get("weft_plugin_items_out", 0) + \
            m.get("otelcol_processor_dropped_spans", 0) + \
            m.get("otelcol_processor_dropped_log_records", 0)
        reloads_failed = m.get("weft_plugin_reloads", 0) - reloads_ok(metrics_port)
        exported = m.get("otelcol_exporter_sent_spans", 0) + \
            m.get("otelcol_exporter_sent_log_records", 0)
        failed = m.get("otelcol_exporter_send_failed_spans", 0) + \
            m.get("otelcol_exporter_send_failed_log_records", 0)
        received = sink.items()
        weft.send_signal(signal.SIGTERM)
        weft.wait(timeout=30)
        sink.down()
        log.close()

    warmup = min(120.0, args.duration / 5)
    report = {"duration_s": args.duration, "load_items": sent, "tls_acked": tls.acked,
              "accepted": accepted, "filtered": dropped, "exported": exported,
              "send_failed": failed, "sink_received": received, "growth": {}}
    limits = {"rss_mib": lambda a, b: b <= a * 1.25 + 16, "fds": lambda a, b: b <= a + 16,
              "threads": lambda a, b: b <= a + 8}
    for key, ok in limits.items():
        first, last = growth(samples, key, warmup)
        report["growth"][key] = {"first_quarter": first, "last_quarter": last}
        if not ok(first, last):
            failures.append(f"{key} grew from {first:.1f} to {last:.1f}")
    reloads = sum(1 for _, what in events if what == "reload")
    report["reloads"] = reloads
    if reloads_failed:
        failures.append(f"{reloads_failed:.0f} plugin reloads failed")
    if failed:
        failures.append(f"{failed:.0f} items counted as failed to send")
    if accepted - dropped > exported:
        failures.append(f"{accepted - dropped - exported:.0f} accepted items were never exported")
    if received < exported:
        failures.append(f"the sink received {received} of {exported:.0f} exported items")
    report["failures"] = failures
    (out / "soak.json").write_text(json.dumps({"report": report, "samples": samples,
                                               "events": events}, indent=1))
    plot(samples, events, out / "soak.png")
    print(json.dumps(report, indent=1))
    print(f"plot: {out / 'soak.png'}")
    if failures:
        print("SOAK FAILED: " + "; ".join(failures), file=sys.stderr)
        return 1
    print("soak passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
