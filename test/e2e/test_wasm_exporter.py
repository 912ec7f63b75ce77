"""Exporter plugins (docs/abi.md, "Exporter plugins"): a `wasm` exporter whose plugin sends
each batch with weft.http_request while weft owns the queue, retries, connections,
compression, headers, auth and the checks on every request. The plugin is plugins/relay
(OTLP/HTTP protobuf) or test/plugins/http_probe; the destination is a real HTTP server on
loopback whose answers the tests change."""

from __future__ import annotations

import gzip
import http.server
import os
import threading
import time
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from conftest import free_port, otlp_receiver, run_sdk_client, wait_for

BUILD = Path(os.environ.get("WEFT_BIN", "build/weft")).resolve().parent
RELAY = str(BUILD / "plugins" / "relay.wasm")
PROBE = str(BUILD / "plugins" / "http_probe.wasm")
TOKEN = "s3cret-token-4711"


class Destination:
    """An HTTP server that records what arrives and answers as `mode` says: ok, status:<code>
    (with Retry-After: 1 for 429/503), hang (never answers), big (a 64 KiB body)."""

    def __init__(self):
        self.mode = "ok"
        self.requests: list[dict] = []
        self.spans = 0
        self.lock = threading.Lock()
        self.release = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self.do_POST()

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                encoding = self.headers.get("Content-Encoding", "")
                raw = body
                if encoding == "gzip":
                    raw = gzip.decompress(body)
                with outer.lock:
                    mode = outer.mode
                    outer.requests.append({"path": self.path, "headers": dict(self.headers),
                                           "mode": mode, "size": len(body)})
                if mode == "hang":
                    outer.release.wait(30)
                    return
                if mode.startswith("status:"):
                    code = int(mode.split(":")[1])
                    self.send_response(code)
                    if code in (429, 503):
                        self.send_header("Retry-After", "1")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path.endswith("/v1/traces"):
                    req = ExportTraceServiceRequest.FromString(raw)
                    with outer.lock:
                        outer.spans += sum(len(ss.spans) for rs in req.resource_spans
                                           for ss in rs.scope_spans)
                answer = b"x" * 65536 if mode == "big" else b""
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Authorization", "Bearer not-the-token")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self, mode: str | None = None) -> int:
        with self.lock:
            return sum(1 for r in self.requests if mode is None or r["mode"] == mode)

    def close(self):
        self.release.set()
        self.server.shutdown()


def relay_config(grpc_port: int, dest: Destination, **exporter) -> dict:
    settings = {"plugin": RELAY, "endpoint": f"http://127.0.0.1:{dest.port}",
                "retry_on_failure": {"initial_interval": "100ms", "max_interval": "500ms"}}
    settings.update(exporter)
    return {
        "receivers": {"otlp": otlp_receiver(grpc_port=grpc_port)},
        "exporters": {"wasm/relay": settings},
        "service": {"pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["wasm/relay"]}}},
    }


def sent_spans(c) -> float:
    return c.metrics().sum("otelcol_exporter_sent_spans", exporter="wasm/relay")


def test_relay_sends_with_weft_compression_headers_and_auth(collector_factory, tmp_path):
    dest, port = Destination(), free_port()
    try:
        config = relay_config(port, dest, compression="gzip",
                              headers={"X-Tenant": "acme"},
                              auth={"authenticator": "bearertokenauth"})
        config["extensions"] = {"bearertokenauth": {"token": "${env:RELAY_TOKEN}"}}
        config["service"]["extensions"] = ["bearertokenauth"]
        c = collector_factory(config, env={"RELAY_TOKEN": TOKEN})
        assert run_sdk_client("traces", "grpc", port, count=40)["ok"]
        wait_for(lambda: dest.spans == 40, 20, what="40 spans at the destination")
        wait_for(lambda: sent_spans(c) == 40, 10, what="otelcol_exporter_sent_spans == 40")
        first = dest.requests[0]
        assert first["path"] == "/v1/traces"
        assert first["headers"]["Content-Encoding"] == "gzip"
        assert first["headers"]["X-Tenant"] == "acme"
        assert first["headers"]["Authorization"] == f"Bearer {TOKEN}"
        assert first["headers"]["Content-Type"] == "application/x-protobuf"
        assert c.metrics().sum("weft_plugin_http_requests", outcome="ok") >= 1
    finally:
        dest.close()


def test_a_destination_that_refuses_for_a_while_loses_nothing(collector_factory, tmp_path):
    dest, port = Destination(), free_port()
    try:
        dest.mode = "status:503"
        c = collector_factory(relay_config(port, dest))
        assert run_sdk_client("traces", "grpc", port, count=30)["ok"]
        wait_for(lambda: dest.count("status:503") >= 3, 20, what="three refused attempts")
        assert dest.spans == 0
        dest.mode = "ok"
        wait_for(lambda: dest.spans == 30, 20, what="every span after the recovery")
        wait_for(lambda: sent_spans(c) == 30, 10, what="sent_spans == 30")
        assert c.metrics().sum("otelcol_exporter_send_failed_spans", exporter="wasm/relay") == 0
    finally:
        dest.close()


def test_a_permanent_refusal_is_dropped_and_counted(collector_factory, tmp_path):
    dest, port = Destination(), free_port()
    try:
        dest.mode = "status:400"
        c = collector_factory(relay_config(port, dest))
        assert run_sdk_client("traces", "grpc", port, count=25)["ok"]
        wait_for(lambda: c.metrics().sum("otelcol_exporter_send_failed_spans",
                                         exporter="wasm/relay") == 25, 20,
                 what="25 spans counted as failed")
        time.sleep(1.0)
        assert dest.count("status:400") == 1  # not retried
        assert "HTTP 400" in c.log_text()
    finally:
        dest.close()


def test_a_destination_that_never_answers_ends_at_the_deadline_and_is_retried(
        collector_factory, tmp_path):
    dest, port = Destination(), free_port()
    try:
        dest.mode = "hang"
        c = collector_factory(relay_config(port, dest, timeout="1s"))
        assert run_sdk_client("traces", "grpc", port, count=10)["ok"]
        wait_for(lambda: dest.count("hang") >= 2, 20, what="a second attempt after the deadline")
        assert c.metrics().sum("weft_plugin_http_requests", outcome="failed") >= 1
        # weft keeps accepting meanwhile, and everything goes once the destination answers.
        assert run_sdk_client("traces", "grpc", port, count=10, run_id="second")["ok"]
        dest.mode = "ok"
        dest.release.set()
        wait_for(lambda: dest.spans == 20, 30, what="all 20 spans once it answers")
        assert c.alive()
    finally:
        dest.close()


def test_a_response_over_the_cap_is_refused_and_counted(collector_factory, tmp_path):
    dest, port = Destination(), free_port()
    try:
        dest.mode = "big"
        c = collector_factory(relay_config(port, dest, max_response_size="16KiB"))
        assert run_sdk_client("traces", "grpc", port, count=5)["ok"]
        wait_for(lambda: c.metrics().sum("weft_plugin_http_requests", outcome="too_large") >= 1,
                 20, what="a response counted as too large")
        wait_for(lambda: c.metrics().sum("otelcol_exporter_send_failed_spans",
                                         exporter="wasm/relay") == 5, 20, what="5 failed spans")
    finally:
        dest.close()


def probe_config(grpc_port: int, dest: Destination, requests: list[dict], **extra) -> dict:
    settings = {"plugin": PROBE, "endpoint": f"http://127.0.0.1:{dest.port}",
                "config": {"requests": requests, "env": ["PROBE_TOKEN", "HOME"]},
                "headers": {"Authorization": "Bearer ${env:PROBE_TOKEN}"}}
    settings.update(extra)
    return {
        "receivers": {"otlp": otlp_receiver(grpc_port=grpc_port)},
        "exporters": {"wasm/probe": settings},
        "service": {"pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["wasm/probe"]}}},
    }


def probe_lines(c, what: str) -> list[str]:
    return [line for line in c.log_text().splitlines() if f"probe: {what}" in line]


def test_requests_outside_the_allowlist_are_denied_logged_and_audited(collector_factory,
                                                                       tmp_path):
    dest, other, port = Destination(), Destination(), free_port()
    audit = tmp_path / "audit.jsonl"
    try:
        allowed = f"http://127.0.0.1:{other.port}"
        not_listed = f"http://localhost:{free_port()}/not-listed"
        requests = [
            {"method": "POST", "url": "/own/endpoint"},
            {"method": "GET", "url": f"{allowed}/allowed"},
            {"method": "GET", "url": not_listed},
            {"method": "GET", "url": "http://169.254.169.254/latest/meta-data/"},
            {"method": "GET", "url": "file:///etc/passwd"},
            {"method": "BREW", "url": "/coffee"},
        ]
        config = probe_config(port, dest, requests, permissions={"http": [allowed]})
        config["service"]["telemetry"] = {"audit": {"path": str(audit)}}
        c = collector_factory(config, env={"PROBE_TOKEN": TOKEN})
        assert run_sdk_client("traces", "grpc", port, count=3)["ok"]
        wait_for(lambda: len(probe_lines(c, "config")) >= 1, 20, what="the probe's report")
        codes = {line.split("probe: ")[1].split(" -> ")[0]: int(line.split(" -> ")[1].split()[0])
                 for line in probe_lines(c, "") if " -> " in line and "env" not in line}
        assert codes["POST /own/endpoint"] == 200
        assert codes[f"GET {allowed}/allowed"] == 200
        assert codes[f"GET {not_listed}"] == -3
        assert codes["GET http://169.254.169.254/latest/meta-data/"] == -3
        assert codes["GET file:///etc/passwd"] == -2
        assert codes["BREW /coffee"] == -2
        assert dest.count() >= 1 and other.count() >= 1
        assert c.metrics().sum("weft_plugin_denied_calls", plugin="wasm/probe") >= 2
        assert "event=permission_denied call=http_request" in c.log_text()
        events = audit.read_text()
        assert "169.254.169.254" in events and "permission_denied" in events
    finally:
        dest.close()
        other.close()


def test_a_plugin_hunting_for_the_configured_token_finds_nothing(collector_factory, tmp_path):
    dest, port = Destination(), free_port()
    try:
        config = probe_config(port, dest, [{"method": "POST", "url": "/hunt"}])
        c = collector_factory(config, env={"PROBE_TOKEN": TOKEN})
        assert run_sdk_client("traces", "grpc", port, count=2)["ok"]
        wait_for(lambda: len(probe_lines(c, "config")) >= 1, 20, what="the probe's report")
        # The destination got the token; the plugin saw none of it.
        assert dest.requests[0]["headers"]["Authorization"] == f"Bearer {TOKEN}"
        report = "\n".join(probe_lines(c, ""))
        assert TOKEN not in report, report
        assert "probe: env PROBE_TOKEN -> -3" in report
        assert "authorization=20:Bearer not-the-token" in report  # the response's own header
    finally:
        dest.close()


def test_validate_checks_the_plugin_and_the_settings(weft_bin, tmp_path):
    import subprocess
    import yaml

    dest_port = free_port()
    config = {
        "receivers": {"otlp": otlp_receiver(grpc_port=free_port())},
        "exporters": {"wasm/relay": {"plugin": RELAY, "endpoint": "ftp://x",
                                     "compression": "brotli",
                                     "permissions": {"http": ["https://a.example/path"]}},
                      "wasm/probe": {"plugin": PROBE, "endpoint": f"http://127.0.0.1:{dest_port}"}},
        "processors": {"wasm/p": {"plugin": RELAY, "permissions": {"http": ["http://x:1"]}}},
        "service": {"pipelines": {
            "traces": {"receivers": ["otlp"], "exporters": ["wasm/relay"]},
            "metrics": {"receivers": ["otlp"], "exporters": ["wasm/probe"]}}},
    }
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    run = subprocess.run([weft_bin, "validate", "--config", str(path)], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode != 0
    err = run.stderr
    assert "exporters.wasm/relay.endpoint" in err
    assert "exporters.wasm/relay.compression" in err
    assert "exporters.wasm/relay.permissions.http" in err
    assert "processors.wasm/p.permissions.http" in err
    # The settings right: the probe exports traces and logs only, and a metrics pipeline
    # through it is refused.
    del config["processors"]
    config["exporters"]["wasm/relay"] = {"plugin": RELAY, "endpoint": "http://127.0.0.1:1"}
    path.write_text(yaml.safe_dump(config))
    run = subprocess.run([weft_bin, "validate", "--config", str(path)], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode != 0
    assert "exporters.wasm/probe" in run.stderr and "weft_export_metrics" in run.stderr, run.stderr



def test_an_assemblyscript_exporter_plugin(collector_factory):
    """sdk/assemblyscript/examples/webhook: the AssemblyScript SDK's exporter calls
    (httpRequest, ExportResult.fromHttp) — sent, retried after a 503, dropped on a 400."""
    import json as _json

    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    from conftest import post

    class Hook(Destination):
        def __init__(self):
            super().__init__()
            self.lines: list[dict] = []
            handler = self.server.RequestHandlerClass
            original = handler.do_POST
            outer = self

            def do_POST(h):
                if outer.mode == "ok":
                    body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
                    with outer.lock:
                        outer.requests.append({"path": h.path, "headers": dict(h.headers),
                                               "mode": "ok", "size": len(body)})
                        outer.lines += [_json.loads(x) for x in body.splitlines()]
                    h.send_response(204)
                    h.send_header("Content-Length", "0")
                    h.end_headers()
                    return
                original(h)

            handler.do_POST = do_POST

    hook, port = Hook(), free_port()
    try:
        c = collector_factory({
            "receivers": {"otlp": {"protocols": {"http": {"endpoint": f"127.0.0.1:{port}"}}}},
            "exporters": {"wasm/hook": {"plugin": str(BUILD / "plugins" / "as" / "webhook.wasm"),
                                        "endpoint": f"http://127.0.0.1:{hook.port}",
                                        "config": {"path": "/hook"},
                                        "retry_on_failure": {"initial_interval": "100ms"}}},
            "service": {"pipelines": {"logs": {"receivers": ["otlp"], "exporters": ["wasm/hook"]}}},
        })

        def send(*bodies: str):
            req = ExportLogsServiceRequest()
            sl = req.resource_logs.add().scope_logs.add()
            for b in bodies:
                lr = sl.log_records.add(severity_number=9)
                lr.body.string_value = b
            assert post(port, "/v1/logs", req.SerializeToString()).status_code == 200

        send('one "quoted"', "two")
        wait_for(lambda: len(hook.lines) == 2, 10, what="two lines at the hook")
        assert hook.lines == [{"severity": 9, "body": 'one "quoted"'}, {"severity": 9, "body": "two"}]
        assert hook.requests[0]["path"] == "/hook"
        assert hook.requests[0]["headers"]["Content-Type"] == "application/x-ndjson"
        hook.mode = "status:503"
        send("three")
        wait_for(lambda: hook.count("status:503") >= 1, 10, what="a 503")
        hook.mode = "ok"
        wait_for(lambda: len(hook.lines) == 3, 10, what="the retried batch")
        hook.mode = "status:400"
        send("four")
        wait_for(lambda: c.metrics().sum("otelcol_exporter_send_failed_log_records",
                                         exporter="wasm/hook") == 1, 10, what="a dropped batch")
        assert c.metrics().sum("otelcol_exporter_sent_log_records", exporter="wasm/hook") == 3
        assert "webhook: the destination answered HTTP 400" in c.log_text()
    finally:
        hook.close()
