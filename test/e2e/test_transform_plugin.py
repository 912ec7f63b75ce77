"""The example transform plugin on real SDK traffic: set, rename, delete and hash,
on item and resource attributes, checked item by item."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from conftest import attrs, free_port, hex_id, otlp_receiver, read_output, run_sdk_client, wait_for_count


def test_transform_plugin_on_sdk_traffic(collector_factory, tmp_path):
    grpc, http = free_port(), free_port()
    out = tmp_path / "out.jsonl"
    plugin = Path(os.environ["WEFT_BIN"]).resolve().parent / "plugins" / "transform.wasm"
    actions = [
        {"action": "rename", "key": "e2e.str", "to": "app.str"},
        {"action": "set", "key": "env", "value": "prod"},
        {"action": "set", "key": "weight", "value": 3},
        {"action": "delete", "key": "e2e.double"},
        {"action": "hash", "key": "service.name", "target": "resource"},
        {"action": "set", "key": "deployment.environment", "value": "test", "target": "resource"},
    ]
    config = {
        "receivers": {"otlp": otlp_receiver(grpc, http)},
        "processors": {"wasm/transform": {"plugin": str(plugin), "config": {"actions": actions}}},
        "exporters": {"file": {"path": str(out)}},
        "service": {
            "pipelines": {
                s: {"receivers": ["otlp"], "processors": ["wasm/transform"], "exporters": ["file"]}
                for s in ("traces", "logs")
            }
        },
    }
    weft = collector_factory(config)
    traces = run_sdk_client("traces", "grpc", grpc, count=40, run_id="transform")
    logs = run_sdk_client("logs", "http", http, count=16, run_id="transform")
    wait_for_count(out, "traces", 40)
    wait_for_count(out, "logs", 16)
    assert weft.stop() == 0

    f = read_output(out)
    hashed_service = hashlib.sha256(b"weft-e2e-sdk").hexdigest()
    by_id = {hex_id(s["span"]["spanId"]): s for s in f.spans}
    assert len(by_id) == 40
    for exp in traces["spans"]:
        item = by_id[exp["span_id"]]
        got = attrs(item["span"].get("attributes"))
        assert got["app.str"] == exp["attributes"]["e2e.str"]
        assert "e2e.str" not in got and "e2e.double" not in got
        assert got["env"] == "prod" and int(got["weight"]) == 3
        assert int(got["e2e.index"]) == exp["attributes"]["e2e.index"]
        res = attrs(item["resource"].get("attributes"))
        assert res["service.name"] == hashed_service
        assert res["deployment.environment"] == "test"
        assert res["e2e.run_id"] == "transform"
    assert len(f.logs) == 16
    for item in f.logs:
        got = attrs(item["log"].get("attributes"))
        assert got["app.str"].startswith("log-") and got["env"] == "prod"
        assert "e2e.double" not in got
        assert attrs(item["resource"].get("attributes"))["service.name"] == hashed_service
    assert {attrs(i["log"]["attributes"])["app.str"] for i in f.logs} == {
        r["attributes"]["e2e.str"] for r in logs["logs"]}
