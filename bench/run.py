#!/usr/bin/env python3
"""The collector benchmark: weft (Wasm plugins), weft with the same plugins built natively,
and the Go OpenTelemetry Collector, side by side in one run on this machine.

For every collector, scenario and signal it starts the collector pinned to its own CPU,
with the load generator and the sink (bench/loadgen) on the other, and measures:
  idle RSS; CPU per million items and p50/p99 latency at fixed rates; the highest
  throughput it accepts and delivers in a closed loop; peak RSS.
Results go to bench/results/collector.json (see bench/report.py for the page made of them).
Standard library only; Linux only (reads /proc)."""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ["passthrough", "passthrough-gzip", "passthrough-tls", "filter", "transform",
             "redact", "chain", "persistent", "persistent-fsync"]
PLUGIN_SCENARIOS = ["filter", "transform", "redact"]
BATCH = {"send_batch_size": 8192, "timeout": "20ms"}
ITEMS_PER_REQUEST = 512
RENAMES = [("http.method", "http.request.method"), ("http.url", "url.full"),
           ("http.status_code", "http.response.status_code"), ("net.peer.ip", "client.address")]

# The weft plugins' configuration per scenario (same for the Wasm and the native build).
PLUGIN_CONFIG = {
    "filter": {"drop": [{"attribute": "bench.drop", "equals": "true"}]},
    "transform": {"actions": [{"action": "rename", "key": k, "to": v} for k, v in RENAMES]
                  + [{"action": "set", "key": "env", "value": "prod"}]},
    "redact": {"mode": "mask", "mask": "****", "kinds": ["email", "card", "ipv4", "ipv6"],
               "bodies": True},
}

# The same work in OTTL for the Go collector (filter and transform processors).
# (No backslashes: OTTL unquotes strings like Go literals, so "[.]" rather than an escape.)
RE_EMAIL = "[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:[.][A-Za-z0-9-]+)*[.][A-Za-z]{2,}"
RE_CARD = "[0-9](?:[ -]?[0-9]){12,18}"
RE_IPV4 = ("(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])[.]){3}"
           "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])")
RE_IPV6 = ("(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}"
           "|(?:[0-9A-Fa-f]{1,4}:){1,7}:(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6})?"
           "|::[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6}")


def ottl_redact(context):
    patterns = [RE_EMAIL, RE_CARD, RE_IPV4, RE_IPV6]
    item = [f'replace_all_patterns(attributes, "value", {json.dumps(p)}, "****")' for p in patterns]
    if context == "log":
        item += [f'replace_pattern(body, {json.dumps(p)}, "****")' for p in patterns]
    resource = [f'replace_all_patterns(attributes, "value", {json.dumps(p)}, "****")'
                for p in patterns]
    return [{"context": "resource", "statements": resource},
            {"context": context, "statements": item}]


def ottl_transform(context):
    statements = []
    for old, new in RENAMES:
        statements.append(f'set(attributes["{new}"], attributes["{old}"]) '
                          f'where attributes["{old}"] != nil')
        statements.append(f'delete_key(attributes, "{old}")')
    statements.append('set(attributes["env"], "prod")')
    return [{"context": context, "statements": statements}]


def otelcol_processors(scenario):
    """(processors section, pipeline list) for the Go collector."""
    procs, chain = {}, []
    steps = {"chain": ["filter", "transform", "redact"]}.get(scenario, [scenario])
    for step in steps:
        if step.startswith(("passthrough", "persistent")):
            continue
        if step == "filter":
            procs["filter"] = {"error_mode": "ignore",
                               "trace_conditions": ['span.attributes["bench.drop"] == "true"'],
                               "log_conditions": ['log.attributes["bench.drop"] == "true"']}
            chain.append("filter")
        elif step == "transform":
            procs["transform"] = {"error_mode": "ignore",
                                  "trace_statements": ottl_transform("span"),
                                  "log_statements": ottl_transform("log")}
            chain.append("transform")
        elif step == "redact":
            procs["transform/redact"] = {"error_mode": "ignore",
                                         "trace_statements": ottl_redact("span"),
                                         "log_statements": ottl_redact("log")}
            chain.append("transform/redact")
    procs["batch"] = dict(BATCH)
    return procs, chain + ["batch"]


def weft_processors(scenario, build, native):
    procs, chain = {}, []
    steps = {"chain": ["filter", "transform", "redact"]}.get(scenario, [scenario])
    for step in steps:
        if step.startswith(("passthrough", "persistent")):
            continue
        if native:
            name = f"native/{step}"
            procs[name] = {"plugin": str(build / "plugins" / "native" / f"lib{step}.so"),
                           "config": PLUGIN_CONFIG[step]}
        else:
            name = f"wasm/{step}"
            procs[name] = {"plugin": str(build / "plugins" / f"{step}.wasm"),
                           "config": PLUGIN_CONFIG[step],
                           "limits": {"memory": "64MiB", "timeout": "1s"}, "watch": False}
        chain.append(name)
    procs["batch"] = dict(BATCH)
    return procs, chain + ["batch"]


def collector_config(kind, scenario, signal_name, build, port, sink_port, metrics_port,
                     workdir=None, pki=None):
    exporter = "otlp"
    if kind == "otelcol":
        exporter = "otlp_grpc"  # its current name; "otlp" is a deprecated alias
        procs, chain = otelcol_processors(scenario)
        telemetry = {"metrics": {"level": "none"}, "logs": {"level": "warn"}}
    else:
        procs, chain = weft_processors(scenario, build, native=(kind == "weft-native"))
        telemetry = {"metrics": {"address": f"127.0.0.1:{metrics_port}"},
                     "logs": {"level": "warn"}}
    config = {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{port}"}}}},
        "processors": procs,
        # Uncompressed on loopback, except in passthrough-gzip (both collectors default to gzip).
        "exporters": {exporter: {"endpoint": f"127.0.0.1:{sink_port}", "tls": {"insecure": True},
                                 "compression": "gzip" if scenario.endswith("gzip") else "none"}},
        "service": {"telemetry": telemetry,
                    "pipelines": {signal_name: {"receivers": ["otlp"], "processors": chain,
                                                "exporters": [exporter]}}},
    }
    if scenario == "passthrough-tls":
        # TLS on both hops: the sender to the receiver, the exporter to the sink.
        config["receivers"]["otlp"]["protocols"]["grpc"]["tls"] = {
            "cert_file": str(pki["cert"]), "key_file": str(pki["key"])}
        config["exporters"][exporter]["tls"] = {"ca_file": str(pki["ca"])}
    if scenario.startswith("persistent"):
        # The exporter's queue on disk (file_storage), fsync'ed before each acknowledgement in
        # persistent-fsync: the cost of durability, each collector with its own storage.
        storage = Path(tempfile.mkdtemp(prefix=f"{kind}-storage-", dir=workdir))
        config["extensions"] = {"file_storage": {"directory": str(storage),
                                                 "fsync": scenario == "persistent-fsync"}}
        config["exporters"][exporter]["sending_queue"] = {"storage": "file_storage"}
        config["service"]["extensions"] = ["file_storage"]
    return config


# ---- processes ---------------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=30.0):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_mib(pid, key):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def smaps_summary(pid, what):
    """Resident memory of a process by mapping (file, heap, anonymous), largest first."""
    rss, name = {}, None
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            name = fields[5] if len(fields) > 5 else "[anonymous]"
        elif fields and fields[0] == "Rss:":
            rss[name] = rss.get(name, 0) + int(fields[1])
    total = sum(rss.values())
    lines = [f"# resident memory by mapping (/proc/PID/smaps), {what}: {total / 1024:.1f} MiB"]
    for mapping, kib in sorted(rss.items(), key=lambda kv: -kv[1])[:20]:
        lines.append(f"{kib / 1024:8.2f} MiB  {mapping}")
    return "\n".join(lines) + "\n"


def pinned(cpus, argv):
    return (["taskset", "-c", cpus] + argv) if cpus and shutil.which("taskset") else argv


def make_pki(directory):
    """A CA and a certificate for 127.0.0.1 signed by it (openssl), for passthrough-tls."""
    pki = {"ca": directory / "ca.pem", "cert": directory / "cert.pem", "key": directory / "key.pem"}
    ca_key = directory / "ca-key.pem"
    run = lambda *argv: subprocess.run(["openssl", *map(str, argv)], check=True,
                                       capture_output=True)
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-days", "2", "-subj", "/CN=weft bench CA", "-keyout", ca_key, "-out", pki["ca"])
    csr = directory / "cert.csr"
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-subj", "/CN=localhost", "-keyout", pki["key"], "-out", csr)
    ext = directory / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("x509", "-req", "-in", csr, "-CA", pki["ca"], "-CAkey", ca_key, "-CAcreateserial",
        "-days", "2", "-extfile", ext, "-out", pki["cert"])
    return pki


class Sink:
    def __init__(self, loadgen, cpus, pki=None):
        self.port = free_port()
        argv = [str(loadgen), "sink", "--port", str(self.port)]
        if pki:
            argv += ["--cert", str(pki["cert"]), "--key", str(pki["key"])]
        self.proc = subprocess.Popen(pinned(cpus, argv),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        first = json.loads(self.proc.stdout.readline())
        if first.get("listening") != self.port:
            raise RuntimeError(f"sink did not start: {first}")

    def ask(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def wait_for(self, expected, settle=2.0, limit=15.0):
        """Polls until `expected` items arrived, or nothing more arrives for `settle` s.
        Returns (stats, monotonic time of the last increase)."""
        start = last_change = time.monotonic()
        stats = self.ask("stats")
        while stats["items"] < expected and time.monotonic() - last_change < settle \
                and time.monotonic() - start < limit:
            time.sleep(0.02)
            now = self.ask("stats")
            if now["items"] != stats["items"]:
                last_change = time.monotonic()
            stats = now
        return stats, last_change

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=5)
        except Exception:
            self.proc.kill()


def send(loadgen, cpus, port, signal_name, rate, seconds, concurrency, ca=None):
    argv = [str(loadgen), "send", "--endpoint", f"127.0.0.1:{port}", "--signal", signal_name,
            "--items", str(ITEMS_PER_REQUEST), "--rate", str(rate), "--seconds", str(seconds),
            "--concurrency", str(concurrency)]
    if ca:
        argv += ["--ca", str(ca)]
    out = subprocess.run(pinned(cpus, argv), capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- one run -------------------------------------------------------------------------------------

def keep_fraction(scenario, signal_name):
    return 0.5 if scenario in ("filter", "chain") and signal_name != "metrics" else 1.0


def measure(args, kind, scenario, signal_name, sinks, binaries, workdir):
    port, metrics_port = free_port(), free_port()
    tls = scenario == "passthrough-tls"
    sink = sinks["tls" if tls else "plain"]
    ca = args.pki["ca"] if tls else None
    config = collector_config(kind, scenario, signal_name, args.build, port, sink.port,
                              metrics_port, workdir, args.pki)
    config_path = workdir / f"{kind}-{scenario}-{signal_name}.yaml"
    config_path.write_text(json.dumps(config, indent=1))  # JSON is YAML
    log_path = workdir / f"{kind}-{scenario}-{signal_name}.log"
    run = {"collector": kind, "scenario": scenario, "signal": signal_name}
    with open(log_path, "w") as log:
        proc = subprocess.Popen(pinned(args.collector_cpus,
                                       [str(binaries[kind]), "--config", str(config_path)]),
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        if not wait_port(port, proc):
            raise RuntimeError(f"collector did not start; see its log:\n"
                               f"{log_path.read_text()[-2000:]}")
        time.sleep(1.0)
        run["idle_rss_mib"] = round(status_mib(proc.pid, "VmRSS"), 2)
        if args.profiles and kind.startswith("weft") and signal_name == "traces" and \
                scenario in ("passthrough", "filter"):
            args.profiles.mkdir(parents=True, exist_ok=True)
            (args.profiles / f"{kind}-{scenario}-idle-rss.txt").write_text(
                smaps_summary(proc.pid, f"{kind} {scenario} traces, idle"))
        keep = keep_fraction(scenario, signal_name)
        # Warm-up: the first requests go all the way through before anything is measured.
        sink.ask("reset")
        warm = send(args.loadgen, args.load_cpus, port, signal_name, 20000, 1.0, 1, ca)
        stats, _ = sink.wait_for(int(warm["sent_items"] * keep), settle=3.0)
        if stats["items"] < int(warm["sent_items"] * keep):
            raise RuntimeError(f"warm-up lost items: {stats} of {warm}")
        run["fixed"] = []
        for rate in args.rates:
            sink.ask("reset")
            cpu0 = cpu_seconds(proc.pid)
            # CPU time comes in 10 ms ticks: the low rate runs twice as long.
            seconds = args.fixed_seconds * (2 if rate <= 10000 else 1)
            sent = send(args.loadgen, args.load_cpus, port, signal_name, rate, seconds, 4, ca)
            expected = int(sent["sent_items"] * keep)
            stats, _ = sink.wait_for(expected)
            cpu = cpu_seconds(proc.pid) - cpu0
            run["fixed"].append({
                "rate": rate,
                "achieved_rate": round(sent["sent_items"] / sent["elapsed_s"], 1),
                "cpu_s_per_million": round(cpu / max(sent["sent_items"], 1) * 1e6, 4),
                "p50_ms": stats["p50_ms"], "p99_ms": stats["p99_ms"],
                "rss_peak_mib": round(status_mib(proc.pid, "VmHWM"), 2),
                "lost_items": max(0, expected - stats["items"]),
                "refused_requests": sent["refused_requests"],
            })
        sink.ask("reset")
        cpu0 = cpu_seconds(proc.pid)
        t0 = time.monotonic()
        sent = send(args.loadgen, args.load_cpus, port, signal_name, 0, args.max_seconds,
                    args.concurrency, ca)
        expected = int(sent["sent_items"] * keep)
        stats, last = sink.wait_for(expected)
        cpu = cpu_seconds(proc.pid) - cpu0
        wall = max(last, t0 + sent["elapsed_s"]) - t0
        run["max"] = {
            "items_per_s": round(sent["sent_items"] / wall, 1),
            "sent_items": sent["sent_items"], "received_items": stats["items"],
            "expected_items": expected, "lost_items": max(0, expected - stats["items"]),
            "refused_requests": sent["refused_requests"],
            "cpu_utilization": round(cpu / wall, 3),
            "rss_peak_mib": round(status_mib(proc.pid, "VmHWM"), 2),
        }
    except Exception as e:  # one failed run must not end the benchmark
        run["error"] = str(e)
    finally:
        stop(proc)
    return run


# Where the time goes: one perf profile per entry (collector, scenario, signal, rate; 0 = max).
PROFILES = [("weft", "passthrough", "traces", 0), ("otelcol", "passthrough", "traces", 0),
            ("weft", "filter", "traces", 10000), ("otelcol", "filter", "traces", 10000),
            ("weft", "redact", "traces", 0), ("weft-native", "redact", "traces", 0),
            ("weft", "chain", "traces", 0), ("otelcol", "chain", "traces", 0)]


def profile(args, kind, scenario, signal_name, rate, sink, binaries, workdir, out_dir):
    """Runs the collector under load with `perf record` attached and writes the hottest
    symbols to out_dir. Wasm code is named through wasmtime's perf map."""
    port, metrics_port = free_port(), free_port()
    config = collector_config(kind, scenario, signal_name, args.build, port, sink.port,
                              metrics_port)
    name = f"{kind}-{scenario}-{signal_name}-{'max' if rate == 0 else rate}"
    config_path = workdir / f"{name}.yaml"
    config_path.write_text(json.dumps(config, indent=1))
    env = dict(os.environ, WEFT_WASM_PERFMAP="1")
    proc = subprocess.Popen(pinned(args.collector_cpus,
                                   [str(binaries[kind]), "--config", str(config_path)]),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    data = workdir / f"{name}.perf"
    try:
        if not wait_port(port, proc):
            return
        send(args.loadgen, args.load_cpus, port, signal_name, 20000, 1.0, 1)  # warm-up
        loader = subprocess.Popen(
            pinned(args.load_cpus,
                   [str(args.loadgen), "send", "--endpoint", f"127.0.0.1:{port}", "--signal",
                    signal_name, "--items", str(ITEMS_PER_REQUEST), "--rate", str(rate),
                    "--seconds", "6", "--concurrency", str(args.concurrency)]),
            stdout=subprocess.DEVNULL)
        time.sleep(1)
        subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", "999", "-g", "-p",
                        str(proc.pid), "-o", str(data), "--", "sleep", "4"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        loader.wait()
        report = subprocess.run(["perf", "report", "-i", str(data), "--no-children", "--sort",
                                 "dso,symbol", "--stdio", "-g", "none", "--percent-limit", "0.7"],
                                capture_output=True, text=True, check=False).stdout
        lines = [line[:140].rstrip() for line in report.splitlines()
                 if line.strip() and not line.startswith("#")]
        header = (f"# perf record -e cpu-clock -F 999 -g, 4 s, {kind} {scenario} {signal_name} at "
                  f"{'the highest rate (closed loop)' if rate == 0 else f'{rate} items/s'}\n"
                  "# self time per shared object and symbol (wasm code: wasm[...] names)\n")
        (out_dir / f"{name}.txt").write_text(header + "\n".join(lines[:60]) + "\n")
    finally:
        stop(proc)


def machine(binaries):
    def first_line(argv):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except Exception:
            return "unknown"
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    os_name = "unknown"
    if Path("/etc/os-release").exists():
        m = re.search(r'PRETTY_NAME="([^"]*)"', Path("/etc/os-release").read_text())
        os_name = m.group(1) if m else os_name
    return {
        "cpu_model": cpu, "cpus": os.cpu_count(), "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(), "os": os_name,
        "weft_version": first_line([str(binaries["weft"]), "--version"]),
        "otelcol_version": first_line([str(binaries["otelcol"]), "--version"]),
        "go_version": first_line(["go", "version"]),
        "compiler": first_line(["c++", "--version"]) + "; plugins: " + first_line(["clang",
                                                                                    "--version"]),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", type=Path, default=ROOT / "build")
    p.add_argument("--otelcol", type=Path, help="the Go collector (bench/build-otelcol.sh)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "collector.json")
    p.add_argument("--max-seconds", type=float, default=5.0)
    p.add_argument("--fixed-seconds", type=float, default=5.0)
    p.add_argument("--rates", type=int, nargs="*", default=[10000, 100000])
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--collector-cpus", default="1")
    p.add_argument("--load-cpus", default="0")
    p.add_argument("--only", default="", help="comma-separated collector kinds to run")
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("--profiles", type=Path, default=None,
                   help="also write perf profiles (PROFILES) to this directory, if perf works")
    args = p.parse_args()
    if (os.cpu_count() or 1) < 2:
        args.collector_cpus = args.load_cpus = ""
    args.build = args.build.resolve()
    args.loadgen = args.build / "weft_loadgen"
    binaries = {"weft": args.build / "weft", "weft-native": args.build / "weft_native",
                "otelcol": args.otelcol.resolve() if args.otelcol else Path("otelcol-not-given")}
    kinds = [k for k in ["weft", "weft-native", "otelcol"]
             if not args.only or k in args.only.split(",")]
    if "otelcol" in kinds and not args.otelcol:
        p.error("--otelcol is needed unless --only leaves the Go collector out")
    scenarios = [s for s in SCENARIOS if s in args.scenarios.split(",")]
    plan = []
    for scenario in scenarios:
        signals = {"passthrough": ["traces", "logs", "metrics"], "passthrough-gzip": ["traces"],
                   "passthrough-tls": ["traces"], "persistent": ["traces"],
                   "persistent-fsync": ["traces"]}.get(
                       scenario, ["traces", "logs"])
        for signal_name in signals:
            for kind in kinds:
                if kind == "weft-native" and scenario.startswith(("passthrough", "persistent")):
                    continue  # no plugin: the same as weft
                plan.append((kind, scenario, signal_name))
    runs = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="weft-bench-") as tmp:
        args.pki = make_pki(Path(tmp)) if "passthrough-tls" in scenarios else None
        sinks = {"plain": Sink(args.loadgen, args.load_cpus)}
        if args.pki:
            sinks["tls"] = Sink(args.loadgen, args.load_cpus, args.pki)
        sink = sinks["plain"]
        try:
            for i, (kind, scenario, signal_name) in enumerate(plan, 1):
                run = measure(args, kind, scenario, signal_name, sinks, binaries, Path(tmp))
                runs.append(run)
                summary = run.get("error") or (
                    f"max {run['max']['items_per_s']:,.0f}/s lost {run['max']['lost_items']}, "
                    f"cpu@10k {run['fixed'][0]['cpu_s_per_million'] if run['fixed'] else '-'} "
                    f"s/M, rss {run['idle_rss_mib']}/{run['max']['rss_peak_mib']} MiB")
                print(f"[bench {i}/{len(plan)} {time.monotonic() - started:.0f}s] "
                      f"{kind} {scenario} {signal_name}: {summary}", file=sys.stderr, flush=True)
            if args.profiles and shutil.which("perf"):
                args.profiles.mkdir(parents=True, exist_ok=True)
                for entry in PROFILES:
                    if entry[0] in kinds:
                        profile(args, *entry, sink, binaries, Path(tmp), args.profiles)
                        print(f"[bench] profiled {' '.join(map(str, entry))}", file=sys.stderr)
        finally:
            for each in sinks.values():
                each.close()
    result = {
        "schema": 1,
        "generated_at": datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(binaries),
        "method": {
            "items_per_request": ITEMS_PER_REQUEST, "max_seconds": args.max_seconds,
            "fixed_seconds": args.fixed_seconds, "fixed_rates": args.rates,
            "collector_cpus": args.collector_cpus or "all", "load_cpus": args.load_cpus or "all",
            "batch": BATCH,
            "notes": (
                "Each collector runs alone, pinned with taskset to the collector CPU; the load "
                "generator and the sink (bench/loadgen, C++ gRPC) share the load CPU. Requests "
                f"are prebuilt OTLP/gRPC requests of {ITEMS_PER_REQUEST} items (4 resources, 8 "
                "attributes per item) stamped with the send time; the sink counts items and "
                "takes each item's latency from its stamp. Fixed rates: open loop at the given "
                "items/s, 4 senders, for fixed_seconds (twice that at 10k/s and below); CPU is "
                "the collector's user+system time (/proc, 10 ms ticks) over the send and "
                "drain, per million items sent. Highest throughput: a closed loop of "
                f"{args.concurrency} senders for max_seconds; items/s = items accepted / time "
                "until the last of them arrived at the sink; lost = expected at the sink minus "
                "received. Idle RSS: 1 s after the receiver port opens, before any data; peak "
                "RSS: VmHWM after the run. Pipelines: otlp receiver -> scenario processors -> "
                "batch -> otlp exporter to the sink, uncompressed (compression: none) on "
                "loopback; passthrough-gzip is passthrough with both exporters at their "
                "default, gzip; passthrough-tls is passthrough with TLS (ECDSA P-256, a private "
                "CA) from the sender to the receiver and from the exporter to the sink. Filter "
                "and chain drop every second item."),
        },
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out} ({len(runs)} runs, {time.monotonic() - started:.0f} s)",
          file=sys.stderr)


if __name__ == "__main__":
    main()
