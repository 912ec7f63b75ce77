"""The benchmark harness's own parts (bench/): the native build of each example plugin
gives the same output as its Wasm build on the benchmark's traffic, and bench/run.py with
its load generator and sink measures weft end to end without losing anything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Collector, free_port, otlp_receiver, read_output, wait_for_count

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("WEFT_BIN", "build/weft")).resolve().parent
sys.path.insert(0, str(ROOT / "bench"))
import run as bench_run  # noqa: E402  (bench/run.py: the scenario configs)


def loadgen(*args: str) -> dict:
    out = subprocess.run([str(BUILD / "weft_loadgen"), *args], capture_output=True, text=True,
                         check=True, timeout=60)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("plugin", bench_run.PLUGIN_SCENARIOS)
@pytest.mark.parametrize("signal_name", ["traces", "logs"])
def test_native_build_matches_wasm_build(tmp_path, plugin, signal_name):
    """One receiver feeds two pipelines, one with the Wasm plugin and one with the same
    source built natively; both write what comes out to a file, and the files agree."""
    port = free_port()
    config = {
        "receivers": {"otlp": otlp_receiver(grpc_port=port)},
        "processors": {
            f"wasm/{plugin}": {"plugin": str(BUILD / "plugins" / f"{plugin}.wasm"),
                               "config": bench_run.PLUGIN_CONFIG[plugin]},
            f"native/{plugin}": {"plugin": str(BUILD / "plugins" / "native" / f"lib{plugin}.so"),
                                 "config": bench_run.PLUGIN_CONFIG[plugin]},
        },
        "exporters": {"file/wasm": {"path": str(tmp_path / "wasm.jsonl")},
                      "file/native": {"path": str(tmp_path / "native.jsonl")}},
        "service": {"pipelines": {
            f"{signal_name}/wasm": {"receivers": ["otlp"], "processors": [f"wasm/{plugin}"],
                                    "exporters": ["file/wasm"]},
            f"{signal_name}/native": {"receivers": ["otlp"], "processors": [f"native/{plugin}"],
                                      "exporters": ["file/native"]},
        }},
    }
    collector = Collector(str(BUILD / "weft_native"), tmp_path, config).start()
    try:
        sent = loadgen("send", "--endpoint", f"127.0.0.1:{port}", "--signal", signal_name,
                       "--rate", "2048", "--seconds", "1", "--concurrency", "1")
        assert sent["sent_items"] >= 1024 and sent["refused_requests"] == 0, sent
        expected = sent["sent_items"] // 2 if plugin == "filter" else sent["sent_items"]
        wasm = wait_for_count(tmp_path / "wasm.jsonl", signal_name, expected)
        native = wait_for_count(tmp_path / "native.jsonl", signal_name, expected)
    finally:
        assert collector.stop() == 0, collector.log_tail()
    assert wasm.count(signal_name) == native.count(signal_name) == expected
    assert wasm.lines == native.lines
    text = json.dumps(wasm.lines)
    if plugin == "redact":
        assert "@example.com" not in text and "****" in text
    if plugin == "transform":
        assert '"url.full"' in text and '"http.url"' not in text


def test_harness_measures_weft_and_native(tmp_path):
    out = tmp_path / "collector.json"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--build", str(BUILD), "--only",
         "weft,weft-native", "--scenarios", "filter", "--rates", "5000", "--max-seconds", "0.5",
         "--fixed-seconds", "1", "--out", str(out)],
        check=True, timeout=300)
    result = json.loads(out.read_text())
    runs = {(r["collector"], r["signal"]): r for r in result["runs"]}
    assert set(runs) == {(c, s) for c in ("weft", "weft-native") for s in ("traces", "logs")}
    for key, run in runs.items():
        assert "error" not in run, (key, run["error"])
        m = run["max"]
        assert m["sent_items"] > 0 and m["lost_items"] == 0, (key, m)
        assert m["received_items"] == m["expected_items"] == m["sent_items"] // 2, (key, m)
        assert m["items_per_s"] > 0 and m["rss_peak_mib"] >= run["idle_rss_mib"] > 0, (key, run)
        fixed = run["fixed"][0]
        assert fixed["rate"] == 5000 and fixed["lost_items"] == 0, (key, fixed)
        assert 0 < fixed["p50_ms"] <= fixed["p99_ms"] < 10_000, (key, fixed)
        assert fixed["cpu_s_per_million"] > 0, (key, fixed)
    assert result["machine"]["cpus"] >= 1 and result["method"]["items_per_request"] == 512
