"""Receiver plugins (docs/abi.md, "Receiver plugins"): a `wasm` receiver with weft's
listener (push) or weft's schedule (pull) in front of test/plugins/pull_probe, which turns
each request or fetched target into a log record carrying what weft told it."""

from __future__ import annotations

import http.server
import os
import threading
from pathlib import Path

import requests

from conftest import attrs, free_port, read_output, wait_for, wait_for_count

BUILD = Path(os.environ.get("WEFT_BIN", "build/weft")).resolve().parent
PROBE = str(BUILD / "plugins" / "pull_probe.wasm")


def config(out: Path, **receiver) -> dict:
    return {
        "receivers": {"wasm/probe": {"plugin": PROBE, **receiver}},
        "exporters": {"file": {"path": str(out)}},
        "service": {"pipelines": {"logs": {"receivers": ["wasm/probe"], "exporters": ["file"]}}},
    }


def records(out: Path) -> list[dict]:
    return [{"body": r["log"]["body"].get("stringValue"), **attrs(r["log"].get("attributes"))}
            for r in read_output(out).logs]


def test_push_hands_each_request_to_the_plugin_and_answers_as_it_says(collector_factory,
                                                                      tmp_path):
    out, port = tmp_path / "out.jsonl", free_port()
    c = collector_factory(config(out, endpoint=f"127.0.0.1:{port}", paths=["/probe"]))
    url = f"http://127.0.0.1:{port}/probe"
    r = requests.post(url + "?x=1", data=b"hello", headers={"X-Probe": "yes"}, timeout=10)
    assert (r.status_code, r.text) == (201, "probed")
    wait_for_count(out, "logs", 1)
    got = records(out)[0]
    assert got == {"body": "hello", "method": "POST", "path": "/probe", "query": "x=1",
                   "peer": "127.0.0.1", "x-probe": "yes"}
    # A bad request, a trapping plugin, an unknown path: each answered, counted; still serving.
    r = requests.post(url, data=b"bad", timeout=10)
    assert r.status_code == 400 and "a bad body" in r.text
    r = requests.post(url, data=b"trap", timeout=10)
    assert r.status_code == 500 and "plugin failed" in r.text
    assert requests.post(f"http://127.0.0.1:{port}/elsewhere", data=b"x", timeout=10).status_code == 404
    r = requests.post(url, data=b"again", timeout=10)
    assert r.status_code == 201
    wait_for_count(out, "logs", 2)
    m = c.metrics()
    assert m.sum("otelcol_receiver_requests_failed", receiver="wasm/probe", reason="malformed") == 1
    assert m.sum("otelcol_receiver_requests_failed", receiver="wasm/probe", reason="plugin_error") == 1
    assert m.sum("otelcol_receiver_accepted_log_records", receiver="wasm/probe") == 2
    assert m.sum("weft_plugin_traps", plugin="wasm/probe") == 1


class Targets:
    """Two HTTP targets on loopback: /ok answers a text body, /down answers 500."""

    def __init__(self):
        self.hits = {"/ok": 0, "/down": 0}

        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                outer.hits[self.path] = outer.hits.get(self.path, 0) + 1
                code, body = (200, b"up 1\n") if self.path == "/ok" else (500, b"no")
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("X-Probe", "target")
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_pull_fetches_each_target_on_schedule(collector_factory, tmp_path):
    out, targets = tmp_path / "out.jsonl", Targets()
    ok, down = f"http://127.0.0.1:{targets.port}/ok", f"http://127.0.0.1:{targets.port}/down"
    c = collector_factory(config(out, targets=[ok, down], interval="200ms", timeout="1s"))
    wait_for(lambda: read_output(out, strict=False).log_count >= 3, 20, what="three scrapes")
    got = records(out)[0]
    assert got == {"body": "up 1\n", "method": "GET", "path": "/ok", "target": ok,
                   "status": "200", "x-probe": "target"}
    assert targets.hits["/down"] >= 3  # fetched on schedule too, never handed on
    m = c.metrics()
    assert m.sum("weft_receiver_target_up", receiver="wasm/probe", target=ok) == 1
    assert m.sum("weft_receiver_target_up", receiver="wasm/probe", target=down) == 0
    targets.server.shutdown()
