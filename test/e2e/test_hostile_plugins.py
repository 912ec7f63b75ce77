"""The hostile-plugin corpus, built here as WAT text: each misbehaving plugin
runs in a traces pipeline next to a healthy logs pipeline. The collector keeps
serving, the on_error policy is applied, and the log and metrics say what
happened. Modules without the ABI are refused at startup and on reload."""

from __future__ import annotations

import json

import pytest

from conftest import free_port, make_trace_request, otlp_receiver, post, read_output, wait_for, wait_for_count

IMPORTS = """
  (import "weft" "log" (func $log (param i32 i32 i32)))
  (import "weft" "env_get" (func $env_get (param i32 i32 i32 i32) (result i32)))
  (import "weft" "set_error" (func $set_error (param i32 i32)))
  (import "weft" "result_replace" (func $replace (param i32 i32) (result i32)))
  (import "weft" "result_keep" (func $keep (param i32 i32) (result i32)))"""


def module(body: str, marker: str = '(func (export "weft_abi_version") (result i32) i32.const 1)') -> str:
    return f"""(module {IMPORTS}
  (memory (export "memory") 2)
  (data (i32.const 16) "HOME")
  {marker}
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
