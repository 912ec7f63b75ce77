"""Plugin anomaly detection with rollback: a hot-reloaded version that suddenly drops everything
is found within its window, rolled back to the version before, and the audit log and metrics
say so. Shadow runs: a candidate beside the live version reports exactly the items it would
change, and promoting it switches over under traffic with nothing lost or duplicated."""

from __future__ import annotations

import json
import os
import struct
import time

from conftest import (
    attrs,
    free_port,
    make_trace_request,
    otlp_receiver,
    post,
    read_output,
    wait_for,
    wait_for_count,
)


def module(process_body: str, imports: str = "", data: str = "") -> str:
    return f"""(module
  {imports}
  (memory (export "memory") 4)
  {data}
  (func (export "weft_abi_version") (result i32) i32.const 1)
  (func (export "weft_alloc") (param i32) (result i32) i32.const 4096)
  (func (export "weft_configure") (param i32 i32) (result i32) i32.const 0)
  (func (export "weft_process_traces") (param i32 i32) (result i32) {process_body}))"""


PASS = module("i32.const 0")
DROP_ALL = module("(drop (call $drop)) i32.const 0",
                  imports='(import "weft" "result_drop_all" (func $drop (result i32)))')


def tagging(key: str, value: str) -> str:
    """Sets a string attribute on item 0 of every batch (an edit list)."""
    k, v = key.encode(), value.encode()
    edit = bytes([1, 0]) + struct.pack("<II", 0, len(k)) + k + struct.pack("<I", len(v)) + v
    data = "".join(f"\\{b:02x}" for b in edit)
    return module(f"(call $edits (i32.const 16) (i32.const {len(edit)}))",
                  imports='(import "weft" "result_edits" (func $edits (param i32 i32) (result i32)))',
                  data=f'(data (i32.const 16) "{data}")')


def replace(path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class Sender:
    """Sends requests of 4 spans, one after another; remembers the span ids accepted."""

    def __init__(self, port: int, tag: str):
        self.port, self.tag, self.seed = port, tag, 0
        self.accepted: list[str] = []

    def send(self, n: int) -> None:
        for _ in range(n):
            req, ids = make_trace_request(4, tag=self.tag, seed=self.seed)
            self.seed += 1
            assert post(self.port, "/v1/traces", req.SerializeToString()).status_code == 200
            self.accepted.extend(ids)


def pipeline(out, http_port: int, processor: dict, audit) -> dict:
    return {
        "receivers": {"otlp": otlp_receiver(http_port=http_port)},
        "processors": {"wasm/p": processor},
        "exporters": {"file": {"path": str(out)}},
        "service": {
            "telemetry": {"audit": {"path": str(audit)}},
            "pipelines": {"traces": {"receivers": ["otlp"], "processors": ["wasm/p"],
                                     "exporters": ["file"]}},
        },
    }


def test_a_version_that_drops_everything_is_rolled_back(collector_factory, tmp_path):
    plugin = tmp_path / "p.wat"
    plugin.write_text(PASS)
    out, audit = tmp_path / "out.jsonl", tmp_path / "audit.jsonl"
    port = free_port()
    processor = {"plugin": str(plugin), "watch_interval": "50ms",
                 "anomaly": {"drop_ratio_change": "5x", "error_rate_change": "5x",
                             "latency_change": 0, "window": "10s", "min_calls": 10},
                 "on_anomaly": "rollback"}
    c = collector_factory(pipeline(out, port, processor, audit))
    send = Sender(port, "anomaly").send

    send(30)  # the baseline: nothing dropped
    replace(plugin, DROP_ALL)
    wait_for(lambda: c.metrics().sum("weft_plugin_generation", plugin="wasm/p") == 2, 10,
             what="the new version")
    send(10)  # all dropped: the window is judged at its tenth call
    wait_for(lambda: c.metrics().sum("weft_plugin_generation", plugin="wasm/p") == 3, 10,
             what="the rollback")
    send(20)  # the first version again
    f = wait_for_count(out, "traces", (30 + 20) * 4)
    assert f.span_count == (30 + 20) * 4
    m = c.metrics()
    assert m.sum("weft_plugin_anomalies", plugin="wasm/p", kind="drop_ratio") == 1
    assert "anomaly in generation 2: drop_ratio 1 against a baseline of 0" in c.log_text()
    assert c.stop() == 0
    events = [json.loads(line) for line in audit.read_text().splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds == ["loaded", "reloaded", "anomaly", "rollback"], kinds
    assert "drop_ratio" in events[2]["detail"]
    assert events[3]["detail"].startswith("generation=3 the version of generation 1 replaces "
                                          "generation 2 (anomaly: drop_ratio")


# --------------------------------------------------------------------------- shadow runs


def test_a_shadow_candidate_reports_its_differences_and_is_promoted(collector_factory, tmp_path):
    import requests
    import threading

    live, candidate = tmp_path / "live.wat", tmp_path / "candidate.wat"
    live.write_text(PASS)
    candidate.write_text(tagging("deployment.ring", "canary"))  # on item 0 of every batch
    out, audit = tmp_path / "out.jsonl", tmp_path / "audit.jsonl"
    port = free_port()
    processor = {"plugin": str(live), "shadow": {"plugin": str(candidate)}}
    c = collector_factory(pipeline(out, port, processor, audit))
    admin = f"http://127.0.0.1:{c.metrics_port}"
    sender = Sender(port, "shadow")
    send, accepted = sender.send, sender.accepted

    send(25)
    report = {}

    def compared():
        report.update(requests.get(f"{admin}/plugins/wasm/p/shadow", timeout=5).json())
        return report["batches"] == 25

    wait_for(compared, 10, what="25 batches compared")
    assert {k: report[k] for k in ("items", "same", "changed", "dropped", "kept",
                                   "failed_batches", "skipped_batches")} == \
        {"items": 100, "same": 75, "changed": 25, "dropped": 0, "kept": 0,
         "failed_batches": 0, "skipped_batches": 0}
    assert report["candidate"] == str(candidate)
    assert len(report["samples"]) == 20
    for sample in report["samples"]:
        assert sample["kind"] == "changed" and sample["item"] == 0
        assert sample["attributes"] == {"deployment.ring": {"live": None, "candidate": "canary"}}
        assert sample["resource"] == {} and sample["other_fields"] is False
    m = c.metrics()
    assert m.sum("weft_plugin_shadow_items", plugin="wasm/p", result="changed") == 25
    # The live output was never touched by the candidate.
    f = wait_for_count(out, "traces", 100)
    assert all("deployment.ring" not in attrs(s["span"].get("attributes")) for s in f.spans)

    # Promote while a client keeps sending: nothing lost or duplicated.
    stop = threading.Event()
    t = threading.Thread(target=lambda: [send(1) for _ in iter(lambda: stop.is_set(), True)])
    t.start()
    try:
        time.sleep(0.3)
        r = requests.post(f"{admin}/plugins/wasm/p/promote", timeout=10)
        assert r.status_code == 200, r.text
        assert r.json() == {"ok": True, "generation": 2, "plugin": str(candidate)}
        time.sleep(0.3)
    finally:
        stop.set()
        t.join(timeout=30)
    send(5)
    f = wait_for_count(out, "traces", len(accepted))
    ids = f.span_ids()
    assert len(ids) == len(set(ids)) == len(accepted)
    assert set(ids) == set(accepted)
    tagged = [s for s in f.spans if "deployment.ring" in attrs(s["span"].get("attributes"))]
    assert len(tagged) >= 5  # the candidate is live: item 0 of each batch after the switch
    assert requests.get(f"{admin}/plugins/wasm/p/shadow", timeout=5).status_code == 404
    assert requests.get(f"{admin}/plugins/nothing/shadow", timeout=5).status_code == 404
    assert c.stop() == 0
    events = [json.loads(line)["event"] for line in audit.read_text().splitlines()]
    assert events[-2:] == ["reloaded", "promoted"], events
