"""The hostile-plugin corpus, built here as WAT text: each misbehaving plugin
runs in a traces pipeline next to a healthy logs pipeline. The collector keeps
serving, the on_error policy is applied, and the log and metrics say what
happened. Modules without the ABI are refused at startup and on reload."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time

import pytest
import requests
import yaml

from conftest import free_port, make_trace_request, otlp_receiver, post, read_output, wait_for, wait_for_count

IMPORTS = """
  (import "weft" "log" (func $log (param i32 i32 i32)))
  (import "weft" "env_get" (func $env_get (param i32 i32 i32 i32) (result i32)))
  (import "weft" "set_error" (func $set_error (param i32 i32)))
  (import "weft" "result_replace" (func $replace (param i32 i32) (result i32)))
  (import "weft" "result_keep" (func $keep (param i32 i32) (result i32)))
  (import "weft" "kv_get" (func $kv_get (param i32 i32 i32 i32) (result i32)))
  (import "weft" "kv_set" (func $kv_set (param i32 i32 i32 i32) (result i32)))
  (import "weft" "metric" (func $metric (param i32 i32 i32 f64 i32 i32) (result i32)))"""

MARKER = '(func (export "weft_abi_version") (result i32) i32.const 1)'


def module(body: str, marker: str = MARKER, extra: str = "") -> str:
    return f"""(module {IMPORTS}
  (memory (export "memory") 2)
  (data (i32.const 16) "HOME")
  {marker}
  {extra}
  (func (export "weft_alloc") (param i32) (result i32) i32.const 1024)
  (func (export "weft_configure") (param i32 i32) (result i32) i32.const 0)
  (func $recurse (param i32) (result i32) local.get 0 i32.const 1 i32.add call $recurse)
  (func (export "weft_process_traces") (param i32 i32) (result i32) {body}))"""


# name -> (process body, metric that must count it, text the log must hold)
CORPUS = {
    "infinite_loop": ("(loop br 0) i32.const 0", "weft_plugin_timeouts", "plugin call failed"),
    "memory_growth": (
        "(block (loop (br_if 1 (i32.eq (memory.grow (i32.const 1)) (i32.const -1))) (br 0))) unreachable",
        "weft_plugin_memory_limit_hits", "plugin call failed"),
    "deep_recursion": ("i32.const 0 call $recurse", "weft_plugin_traps", "plugin call failed"),
    "out_of_bounds_pointer": ("(call $log (i32.const 1) (i32.const 0x7ffffff0) (i32.const 64)) i32.const 0",
                              "weft_plugin_traps", "out of bounds"),
    "enormous_result": ("(call $replace (i32.const 0) (i32.const 0x7fffffff))", "weft_plugin_traps",
                        "out of bounds"),
    "wrong_keep_mask": ("(call $keep (i32.const 16) (i32.const 100000))", "weft_plugin_errors", "keep-mask"),
    "guest_error": ("(call $set_error (i32.const 16) (i32.const 4)) i32.const 3", "weft_plugin_errors",
                    "status 3: HOME"),
    # kv_get's output buffer runs past the end of memory (2 pages): a trap, like any bad range.
    "kv_get_past_memory": ("(drop (call $kv_set (i32.const 16) (i32.const 4) (i32.const 16) (i32.const 4))) "
                           "(drop (call $kv_get (i32.const 16) (i32.const 4) (i32.const 131000) "
                           "(i32.const 100000))) i32.const 0", "weft_plugin_traps",
                           "weft.kv_get: pointer out of bounds"),
}


def config(tmp_path, plugin_text: str, on_error: str, http: int, metrics_port: int) -> dict:
    plugin = tmp_path / "hostile.wat"
    plugin.write_text(plugin_text)
    return {
        "receivers": {"otlp": otlp_receiver(http_port=http)},
        "processors": {"wasm/hostile": {"plugin": str(plugin), "on_error": on_error,
                                        "limits": {"memory": "1MiB", "timeout": "50ms"}}},
        "exporters": {"file/traces": {"path": str(tmp_path / "traces.jsonl")},
                      "file/logs": {"path": str(tmp_path / "logs.jsonl")}},
        "service": {
            "telemetry": {"metrics": {"address": f"127.0.0.1:{metrics_port}"}},
            "pipelines": {
                "traces": {"receivers": ["otlp"], "processors": ["wasm/hostile"], "exporters": ["file/traces"]},
                "logs": {"receivers": ["otlp"], "exporters": ["file/logs"]},
            },
        },
    }


LOG = json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": {"stringValue": "healthy"}}]}]}]})


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_hostile_plugin(collector_factory, tmp_path, name):
    body, metric, log_text = CORPUS[name]
    http = free_port()
    weft = collector_factory(config(tmp_path, module(body), "drop", http, free_port()))
    req, _ = make_trace_request(4, tag=name)
    for _ in range(2):
        assert post(http, "/v1/traces", req.SerializeToString()).status_code == 200
        assert post(http, "/v1/logs", LOG.encode(), "application/json").status_code == 200
    wait_for_count(tmp_path / "logs.jsonl", "logs", 2)
    m = weft.metrics()
    assert m.sum(metric, plugin="wasm/hostile") >= 1, m
    assert m.sum("otelcol_processor_dropped_spans", processor="wasm/hostile") == 8
    assert weft.alive()
    assert log_text in weft.log_text()
    assert weft.stop() == 0
    assert read_output(tmp_path / "traces.jsonl", strict=False).span_count == 0


def test_host_call_without_permission(collector_factory, tmp_path):
    http = free_port()
    body = "(drop (call $env_get (i32.const 16) (i32.const 4) (i32.const 200) (i32.const 64))) i32.const 0"
    cfg = config(tmp_path, module(body), "drop", http, free_port())
    audit = tmp_path / "audit.jsonl"
    cfg["service"]["telemetry"]["audit"] = {"path": str(audit)}
    weft = collector_factory(cfg)
    req, _ = make_trace_request(3, tag="perm")
    assert post(http, "/v1/traces", req.SerializeToString()).status_code == 200
    wait_for_count(tmp_path / "traces.jsonl", "traces", 3)  # denied, not failed: the batch goes on
    assert weft.metrics().sum("weft_plugin_denied_calls", plugin="wasm/hostile") == 1
    assert "permission_denied" in weft.log_text()
    assert weft.stop() == 0
    events = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [e["event"] for e in events] == ["loaded", "permission_denied"]
    assert events[1] == {**events[1], "component": "wasm/hostile", "call": "env_get", "name": "HOME"}
    assert events[0]["path"].endswith("hostile.wat") and events[0]["time"].endswith("Z")


@pytest.mark.parametrize("marker,message", [
    ("", "missing export(s) weft_abi_version"),
    ('(func (export "weft_abi_version") (result i32) i32.const 7)', "ABI version 7"),
])
def test_module_without_the_abi(collector_factory, weft_bin, tmp_path, marker, message):
    import subprocess
    http = free_port()
    bad = config(tmp_path, module("i32.const 0", marker), "pass", http, free_port())
    cfg = tmp_path / "bad.yaml"
    import yaml
    cfg.write_text(yaml.safe_dump(bad))
    run = subprocess.run([weft_bin, "--config", str(cfg)], capture_output=True, text=True, timeout=30)
    assert run.returncode != 0
    assert message in run.stderr
    check = subprocess.run([weft_bin, "validate", "--config", str(cfg)], capture_output=True, text=True,
                           timeout=30)
    assert check.returncode != 0
    assert "bad.yaml: processors.wasm/hostile" in check.stderr and message in check.stderr

    # The same module arriving by hot reload is refused and the running version stays.
    weft = collector_factory(config(tmp_path, module("i32.const 0"), "pass", http, free_port()))
    (tmp_path / "hostile.wat").write_text(module("i32.const 0", marker))
    wait_for(lambda: weft.metrics().sum("weft_plugin_reloads", plugin="wasm/hostile", result="failed") >= 1,
             10, what="failed reload")
    req, _ = make_trace_request(2, tag="after")
    assert post(http, "/v1/traces", req.SerializeToString()).status_code == 200
    wait_for_count(tmp_path / "traces.jsonl", "traces", 2)
    assert message in weft.log_text()
    assert weft.stop() == 0


# ---------------------------------------------------------------- start functions

START_LOOP = "(func $spin (loop br 0)) (start $spin)"


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def test_start_function_that_never_returns_is_refused_at_start_and_in_validate(weft_bin, tmp_path):
    cfg = config(tmp_path, module("i32.const 0", extra=START_LOOP), "pass", free_port(), free_port())
    cfg["processors"]["wasm/hostile"]["limits"]["start_timeout"] = "200ms"
    path = tmp_path / "loop.yaml"
    path.write_text(yaml.safe_dump(cfg))
    for argv in ([weft_bin, "--config", str(path)], [weft_bin, "validate", "--config", str(path)]):
        run = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert run.returncode != 0, run.stderr
        assert "start function did not finish within 200ms (limits.start_timeout)" in run.stderr, run.stderr
    assert "loop.yaml: processors.wasm/hostile" in run.stderr


def test_start_function_that_never_returns_is_refused_on_reload(collector_factory, tmp_path):
    http = free_port()
    cfg = config(tmp_path, module("i32.const 0"), "pass", http, free_port())
    cfg["processors"]["wasm/hostile"]["watch"] = False
    cfg["processors"]["wasm/hostile"]["limits"]["start_timeout"] = "300ms"
    weft = collector_factory(cfg)
    (tmp_path / "hostile.wat").write_text(module("i32.const 0", extra=START_LOOP))
    url = f"http://127.0.0.1:{weft.metrics_port}/plugins/reload"
    started = time.monotonic()
    r = requests.post(url, data=b"", timeout=30)
    assert r.status_code == 500, r.text
    assert time.monotonic() - started < 10
    report = r.json()["plugins"]
    assert len(report) == 1 and report[0]["ok"] is False
    assert "start function did not finish within 300ms" in report[0]["message"]
    assert weft.metrics().sum("weft_plugin_reloads", plugin="wasm/hostile", result="failed") == 1
    assert weft.metrics().sum("weft_plugin_reload_failures", plugin="wasm/hostile", reason="start_timeout") == 1
    # The running version keeps serving, and nothing spins once the reload has answered.
    req, _ = make_trace_request(3, tag="after-reload")
    assert post(http, "/v1/traces", req.SerializeToString()).status_code == 200
    wait_for_count(tmp_path / "traces.jsonl", "traces", 3)
    before = cpu_seconds(weft.proc.pid)
    time.sleep(2)
    assert cpu_seconds(weft.proc.pid) - before < 0.5, "weft kept a CPU busy after the reload"
    # SIGTERM while a reload is stuck in the start function: weft still exits cleanly.
    threading.Thread(target=lambda: requests.post(url, data=b"", timeout=30), daemon=True).start()
    time.sleep(0.1)
    assert weft.stop(timeout=15) == 0


# ---------------------------------------------------------------- replacements of another signal


def wat_bytes(b: bytes) -> str:
    return "".join(f"\\{c:02x}" for c in b)


def logs_request() -> bytes:
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
    req = logs_service_pb2.ExportLogsServiceRequest()
    record = req.resource_logs.add().scope_logs.add().log_records.add()
    record.time_unix_nano = 1_700_000_000_000_000_000
    record.body.string_value = "not a span"
    return req.SerializeToString()


def metrics_request() -> bytes:
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
    req = metrics_service_pb2.ExportMetricsServiceRequest()
    metric = req.resource_metrics.add().scope_metrics.add().metrics.add()
    metric.name = "cpu"
    metric.gauge.data_points.add().as_int = 7
    return req.SerializeToString()


@pytest.mark.parametrize("make", [logs_request, metrics_request], ids=["logs", "metrics"])
def test_replacement_with_another_signal_is_a_plugin_error(collector_factory, tmp_path, make):
    bad = make()
    body = f"(call $replace (i32.const 8192) (i32.const {len(bad)}))"
    http = free_port()
    weft = collector_factory(config(tmp_path, module(body, extra=f'(data (i32.const 8192) "{wat_bytes(bad)}")'),
                                    "drop", http, free_port()))
    req, _ = make_trace_request(4, tag="replaced")
    for _ in range(3):
        r = post(http, "/v1/traces", req.SerializeToString())
        assert r.status_code == 200, r.text  # the sender never pays for the plugin's fault
        assert post(http, "/v1/logs", LOG.encode(), "application/json").status_code == 200
    wait_for_count(tmp_path / "logs.jsonl", "logs", 3)
    m = weft.metrics()
    assert m.sum("weft_plugin_errors", plugin="wasm/hostile") == 3
    assert m.sum("otelcol_processor_dropped_spans", processor="wasm/hostile") == 12
    assert "replacement is not a valid traces request" in weft.log_text()
    assert weft.stop() == 0
    assert read_output(tmp_path / "traces.jsonl", strict=False).span_count == 0


# ---------------------------------------------------------------- floods


def test_log_flood_is_bounded(collector_factory, tmp_path):
    http = free_port()
    body = "(loop (call $log (i32.const 1) (i32.const 4096) (i32.const 200)) (br 0)) i32.const 0"
    text = "x" * 200
    weft = collector_factory(config(tmp_path, module(body, extra=f'(data (i32.const 4096) "{text}")'),
                                    "drop", http, free_port()))
    req, _ = make_trace_request(2, tag="flood")
    for _ in range(7):  # seven timed-out calls once wrote 787 MB
        assert post(http, "/v1/traces", req.SerializeToString()).status_code == 200
        assert post(http, "/v1/logs", LOG.encode(), "application/json").status_code == 200
    wait_for_count(tmp_path / "logs.jsonl", "logs", 7)
    m = weft.metrics()
    assert m.sum("weft_plugin_log_suppressed", plugin="wasm/hostile") > 1000, m
    assert m.sum("weft_plugin_timeouts", plugin="wasm/hostile") >= 5
    assert "log lines suppressed over its budget" in weft.log_text()
    assert weft.log_path.stat().st_size < 2 * 1024 * 1024, weft.log_path.stat().st_size
    assert rss_bytes(weft.proc.pid) < 200 * 1024 * 1024
    assert weft.stop() == 0


HEX = """
  (data (i32.const 32) "0123456789abcdef")
  (data (i32.const 48) "floodk=")
  (func $hex (param $v i32) (param $at i32) (local $k i32)
    (loop
      (i32.store8 (i32.add (local.get $at) (i32.sub (i32.const 7) (local.get $k)))
        (i32.load8_u (i32.add (i32.const 32)
          (i32.and (i32.shr_u (local.get $v) (i32.mul (local.get $k) (i32.const 4))) (i32.const 15)))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if 0 (i32.lt_u (local.get $k) (i32.const 8)))))"""


def test_metric_cardinality_flood_is_capped(collector_factory, tmp_path):
    http = free_port()
    # 20,000 series per batch: "k=<8 hex digits>" on the gauge weft_plugin_flood.
    body = """(local $i i32)
      (loop
        (call $hex (local.get $i) (i32.const 55))
        (drop (call $metric (i32.const 1) (i32.const 48) (i32.const 5) (f64.const 1) (i32.const 53) (i32.const 10)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if 0 (i32.lt_u (local.get $i) (i32.const 20000))))
      i32.const 0"""
    cfg = config(tmp_path, module(body, extra=HEX), "drop", http, free_port())
    cfg["processors"]["wasm/hostile"]["limits"]["timeout"] = "2s"
    weft = collector_factory(cfg)
    base_rss = rss_bytes(weft.proc.pid)
    req, _ = make_trace_request(2, tag="series")
    for _ in range(3):
        assert post(http, "/v1/traces", req.SerializeToString()).status_code == 200
    wait_for_count(tmp_path / "traces.jsonl", "traces", 6)
    page = requests.get(f"http://127.0.0.1:{weft.metrics_port}/metrics", timeout=10).text
    m = weft.metrics()
    assert len(m.series("weft_plugin_flood")) == 1000  # the default limits.metric_series
    assert m.sum("weft_plugin_metric_refused", plugin="wasm/hostile") == 3 * 19000
    assert len(page) < 1024 * 1024, len(page)
    assert rss_bytes(weft.proc.pid) - base_rss < 50 * 1024 * 1024
    assert "cap of 1000 metric series" in weft.log_text()
    assert weft.stop() == 0


# ---------------------------------------------------------------- modules that could never run


@pytest.mark.parametrize("extra,limits,message", [
    (f'(data (i32.const 0) "{"x" * 4096}")', {"module_size": "1KiB"},
     "over limits.module_size (1024); refused before compiling"),
    ("(table 30000 funcref)", {}, "starts with 30000 elements; weft allows 20000; refused before compiling"),
    ("", {"memory": "64KiB"}, "over limits.memory (65536); refused before compiling"),
])
def test_modules_over_static_limits_are_refused_before_compiling(weft_bin, tmp_path, extra, limits, message):
    cfg = config(tmp_path, module("i32.const 0", extra=extra), "pass", free_port(), free_port())
    cfg["processors"]["wasm/hostile"]["limits"].update(limits)
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(cfg))
    check = subprocess.run([weft_bin, "validate", "--config", str(path)], capture_output=True, text=True,
                           timeout=60)
    assert check.returncode != 0
    assert message in check.stderr, check.stderr
