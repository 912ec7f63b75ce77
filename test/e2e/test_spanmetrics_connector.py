"""The spanmetrics connector plugin: spans in (traces pipeline), metrics out
(metrics pipeline), from real SDK traffic; counts checked per operation."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import as_int, attrs, free_port, otlp_receiver, read_output, run_sdk_client, wait_for, wait_for_count

N = 50


def test_spanmetrics_connector(collector_factory, tmp_path):
    grpc = free_port()
    traces_out, metrics_out = tmp_path / "traces.jsonl", tmp_path / "metrics.jsonl"
    plugin = Path(os.environ["WEFT_BIN"]).resolve().parent / "plugins" / "spanmetrics.wasm"
    config = {
        "receivers": {"otlp": otlp_receiver(grpc_port=grpc)},
        "connectors": {"wasm/spanmetrics": {"plugin": str(plugin), "config": {"buckets_ms": [1, 10, 100]}}},
        "exporters": {"file/traces": {"path": str(traces_out)}, "file/metrics": {"path": str(metrics_out)}},
        "service": {
            "pipelines": {
                "traces": {"receivers": ["otlp"], "exporters": ["wasm/spanmetrics", "file/traces"]},
                "metrics": {"receivers": ["wasm/spanmetrics"], "exporters": ["file/metrics"]},
            }
        },
    }
    weft = collector_factory(config)
    sent = run_sdk_client("traces", "grpc", grpc, count=N, run_id="spanmetrics")
    wait_for_count(traces_out, "traces", N)

    def points(name):
        return [p for p in read_output(metrics_out, strict=False).points if p["metric"]["name"] == name]

    wait_for(lambda: sum(as_int(p["point"]["asInt"]) for p in points("traces.span.metrics.calls")) >= N, 20,
             what="calls")
    assert weft.stop() == 0

    calls, errors = {}, {}
    for p in points("traces.span.metrics.calls"):
        a = attrs(p["point"]["attributes"])
        assert a["service.name"] == "weft-e2e-sdk"
        assert attrs(p["resource"]["attributes"])["service.name"] == "weft-e2e-sdk"
        assert p["metric"]["sum"]["aggregationTemporality"] == 1 and p["metric"]["sum"]["isMonotonic"]
        calls[a["span.name"]] = calls.get(a["span.name"], 0) + as_int(p["point"]["asInt"])
    for p in points("traces.span.metrics.errors"):
        a = attrs(p["point"]["attributes"])
        errors[a["span.name"]] = errors.get(a["span.name"], 0) + as_int(p["point"]["asInt"])
    expected_calls = {}
    expected_errors = {}
    for s in sent["spans"]:
        expected_calls[s["name"]] = expected_calls.get(s["name"], 0) + 1
        expected_errors[s["name"]] = expected_errors.get(s["name"], 0) + (1 if s["status_code"] == 2 else 0)
    assert calls == expected_calls
    assert errors == expected_errors
    hist = points("traces.span.metrics.duration")
    assert sum(as_int(p["point"]["count"]) for p in hist) == N
    for p in hist:
        assert [float(b) for b in p["point"]["explicitBounds"]] == [1.0, 10.0, 100.0]
        buckets = [as_int(b) for b in p["point"]["bucketCounts"]]
        assert buckets[0] == as_int(p["point"]["count"]), "SDK spans last about 0.5 ms"
    assert p["metric"]["unit"] == "ms"
