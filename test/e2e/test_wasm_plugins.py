"""WebAssembly plugins in the collector: the example filter plugin on real SDK
traffic, hostile plugins next to healthy pipelines, and hot reload under load."""

from __future__ import annotations

import os
import struct
import threading
import time
from pathlib import Path

import pytest

from conftest import (
    any_value,
    attrs,
    free_port,
    hex_id,
    make_trace_request,
    otlp_receiver,
    post,
    read_output,
    run_sdk_client,
    wait_for,
    wait_for_count,
)


def plugin_dir() -> Path:
    weft = Path(os.environ["WEFT_BIN"]).resolve()
    return weft.parent / "plugins"


def wasm_pipeline(out: Path, grpc: int | None, http: int | None, processor: dict, signals=("traces",),
                  extra_pipelines: dict | None = None, extra_exporters: dict | None = None) -> dict:
    pipelines = {s: {"receivers": ["otlp"], "processors": ["wasm/p"], "exporters": ["file"]} for s in signals}
    pipelines.update(extra_pipelines or {})
    exporters = {"file": {"path": str(out)}}
    exporters.update(extra_exporters or {})
    return {
        "receivers": {"otlp": otlp_receiver(grpc, http)},
        "processors": {"wasm/p": processor},
        "exporters": exporters,
        "service": {"pipelines": pipelines},
    }


def test_filter_plugin_on_sdk_traces_and_logs(collector_factory, tmp_path):
    grpc, http = free_port(), free_port()
    out = tmp_path / "out.jsonl"
    processor = {
        "plugin": str(plugin_dir() / "filter.wasm"),
        "config": {
            "drop": [
                {"attribute": "e2e.index", "gt": 29.5},
                {"name": "root-10"},
                {"severity_below": 13},
            ]
        },
        "limits": {"memory": "16MiB", "timeout": "200ms"},
    }
    weft = collector_factory(wasm_pipeline(out, grpc, http, processor, signals=("traces", "logs")))
    traces = run_sdk_client("traces", "grpc", grpc, count=50, run_id="filter")
    logs = run_sdk_client("logs", "http", http, count=20, run_id="filter")
    expected_spans = {s["span_id"]: s for s in traces["spans"]
                      if s["attributes"]["e2e.index"] <= 29 and s["name"] != "root-10"}
    expected_logs = {r["body"]: r for r in logs["logs"] if r["severity_number"] >= 13}
    assert len(expected_spans) == 29 and len(expected_logs) == 10
    wait_for_count(out, "traces", len(expected_spans))
    wait_for_count(out, "logs", len(expected_logs))
    m = weft.metrics()
    assert m.sum("weft_plugin_items_in", plugin="wasm/p") == 70
    assert m.sum("weft_plugin_items_out", plugin="wasm/p") == 39
    assert m.sum("weft_plugin_filter_dropped_items", plugin="wasm/p") == 31
    assert weft.stop() == 0

    f = read_output(out)
    got = {hex_id(s["span"]["spanId"]): s["span"] for s in f.spans}
    assert set(got) == set(expected_spans), "exactly the spans no rule matches"
    for span_id, exp in expected_spans.items():
        span = got[span_id]
        assert span["name"] == exp["name"]
        assert hex_id(span["traceId"]) == exp["trace_id"]
        assert attrs(span.get("attributes"))["e2e.str"] == exp["attributes"]["e2e.str"]
    bodies = {any_value(r["log"]["body"]): r["log"] for r in f.logs}
    assert set(bodies) == set(expected_logs)
    for body, exp in expected_logs.items():
        assert bodies[body]["severityNumber"] == exp["severity_number"]


SPIN = """(module (memory (export "memory") 1)
  (func (export "weft_abi_version") (result i32) i32.const 1)
  (func (export "weft_alloc") (param i32) (result i32) i32.const 1024)
  (func (export "weft_configure") (param i32 i32) (result i32) i32.const 0)
  (func (export "weft_process_traces") (param i32 i32) (result i32) (loop br 0) i32.const 0))"""


@pytest.mark.parametrize("on_error,status", [("pass", 200), ("drop", 200), ("reject", 503)])
def test_hostile_plugin_does_not_hurt_other_pipelines(collector_factory, tmp_path, on_error, status):
    http = free_port()
    spin = tmp_path / "spin.wat"
    spin.write_text(SPIN)
    out, logs_out = tmp_path / "out.jsonl", tmp_path / "logs.jsonl"
    config = wasm_pipeline(
        out, None, http,
        {"plugin": str(spin), "limits": {"timeout": "20ms"}, "on_error": on_error},
        extra_pipelines={"logs": {"receivers": ["otlp"], "exporters": ["file/logs"]}},
        extra_exporters={"file/logs": {"path": str(logs_out)}},
    )
    weft = collector_factory(config)
    req, ids = make_trace_request(5, tag="hostile")
    for _ in range(3):
        r = post(http, "/v1/traces", req.SerializeToString())
        assert r.status_code == status, r.text
    log_req = {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": {"stringValue": "still here"}}]}]}]}
    import json
    assert post(http, "/v1/logs", json.dumps(log_req).encode(), "application/json").status_code == 200
    wait_for_count(logs_out, "logs", 1)
    m = weft.metrics()
    assert m.sum("weft_plugin_timeouts", plugin="wasm/p") >= 1
    if on_error == "pass":
        wait_for_count(out, "traces", 15)
    if on_error == "drop":
        assert m.sum("otelcol_processor_dropped_spans", processor="wasm/p") == 15
    assert weft.alive()
    assert "plugin call failed" in weft.log_text()
    assert weft.stop() == 0
    if on_error != "pass":
        assert read_output(out, strict=False).span_count == 0


def tagging_plugin(version: str) -> str:
    """Sets attribute weft.version=<version> on item 0 of every batch, with an edit list."""
    key = b"weft.version"
    edit = bytes([1, 0]) + struct.pack("<II", 0, len(key)) + key + struct.pack("<I", len(version)) + version.encode()
    data = "".join(f"\\{b:02x}" for b in edit)
    return f"""(module
  (import "weft" "result_edits" (func $edits (param i32 i32) (result i32)))
  (memory (export "memory") 4)
  (data (i32.const 16) "{data}")
  (func (export "weft_abi_version") (result i32) i32.const 1)
  (func (export "weft_alloc") (param i32) (result i32) i32.const 4096)
  (func (export "weft_configure") (param i32 i32) (result i32) i32.const 0)
  (func (export "weft_process_traces") (param i32 i32) (result i32)
    (call $edits (i32.const 16) (i32.const {len(edit)}))))"""


def test_hot_reload_under_load(collector_factory, tmp_path):
    http = free_port()
    plugin = tmp_path / "tag.wat"
    plugin.write_text(tagging_plugin("1"))
    out = tmp_path / "out.jsonl"
    weft = collector_factory(wasm_pipeline(out, None, http, {"plugin": str(plugin), "watch_interval": "50ms"}))

    accepted: list[str] = []
    stop = threading.Event()

    def sender():
        seed = 100
        while not stop.is_set() and seed < 100 + 2000:
            req, ids = make_trace_request(10, tag="reload", seed=seed)
            seed += 1
            if post(http, "/v1/traces", req.SerializeToString()).status_code == 200:
                accepted.extend(ids)
            time.sleep(0.005)

    def replace(text: str):
        tmp = plugin.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, plugin)

    t = threading.Thread(target=sender)
    t.start()
    try:
        time.sleep(0.5)
        replace(tagging_plugin("2"))
        wait_for(lambda: weft.metrics().sum("weft_plugin_generation", plugin="wasm/p") == 2, 10, what="v2")
        time.sleep(0.3)
        replace("(module broken")
        wait_for(lambda: weft.metrics().sum("weft_plugin_reloads", plugin="wasm/p", result="failed") >= 1,
                 10, what="failed reload")
        time.sleep(0.3)
        replace(tagging_plugin("3"))
        wait_for(lambda: weft.metrics().sum("weft_plugin_generation", plugin="wasm/p") == 3, 10, what="v3")
        time.sleep(0.5)
    finally:
        stop.set()
        t.join(timeout=30)
    assert len(accepted) > 100
    wait_for_count(out, "traces", len(accepted))
    assert weft.stop() == 0
    f = read_output(out)
    ids = f.span_ids()
    assert len(ids) == len(set(ids)), "no span processed twice"
    assert set(ids) == set(accepted), "no span lost"
    versions = {attrs(s["span"].get("attributes")).get("weft.version") for s in f.spans}
    assert {"1", "2", "3"} <= versions, versions
    assert "reload of" in weft.log_text() and "keeps running" in weft.log_text()
