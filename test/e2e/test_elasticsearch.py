"""The bundled elasticsearch exporter (plugins/elasticsearch, a Go plugin) into a real
VictoriaLogs through its Elasticsearch bulk API, every record read back with LogsQL; and the
bulk API's per-item failures as a partial result, against a bulk-shaped destination."""

from __future__ import annotations

import gzip
import json
import subprocess
import time

import requests
import yaml
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1 import common_pb2

from conftest import free_port, otlp_receiver, post, wait_for
from peers import peer_dir, victorialogs  # noqa: F401 (fixtures)
from test_wasm_exporter import Destination

N = 40
# The plugin is a Go module (3.6 MiB): its first compile, on one low-priority thread, can take
# a busy machine longer than the usual readiness wait.
READY_S = 90.0


def start(collector_factory, config: dict):
    c = collector_factory(config, start=False)
    c.start(timeout=READY_S)
    return c


def logs_request(now_ns: int) -> ExportLogsServiceRequest:
    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    for key, value in (("service.name", "billing"), ("host.name", "node-3")):
        rl.resource.attributes.add(key=key, value=common_pb2.AnyValue(string_value=value))
    sl = rl.scope_logs.add()
    sl.scope.name, sl.scope.version = "io.weft.test", "2.0"
    for i in range(N):
        lr = sl.log_records.add()
        lr.time_unix_nano = now_ns - (N - i) * 1_000_000_123
        lr.observed_time_unix_nano = now_ns
        lr.severity_number = 9 + (i % 3) * 4
        lr.severity_text = ["INFO", "WARN", "ERROR"][i % 3]
        lr.body.string_value = f"record {i}: ünïcode \"quoted\""
        lr.trace_id = bytes([i + 1] * 16)
        lr.span_id = bytes([i + 2] * 8)
        lr.attributes.add(key="i", value=common_pb2.AnyValue(int_value=i))
        lr.attributes.add(key="ratio", value=common_pb2.AnyValue(double_value=i / 4))
        lr.attributes.add(key="even", value=common_pb2.AnyValue(bool_value=i % 2 == 0))
        lr.attributes.add(key="http.route", value=common_pb2.AnyValue(string_value=f"/r/{i}"))
    return req


def nanos(text: str) -> int:
    """An RFC 3339 UTC time with any number of fraction digits, as nanoseconds."""
    import calendar

    whole, _, frac = text.rstrip("Z").partition(".")
    seconds = calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S"))
    return seconds * 1_000_000_000 + int((frac + "000000000")[:9])


def query(port: int, logsql: str) -> list[dict]:
    r = requests.post(f"http://127.0.0.1:{port}/select/logsql/query", data={"query": logsql},
                      timeout=10)
    r.raise_for_status()
    return [json.loads(line) for line in r.text.splitlines() if line.strip()]


def test_logs_into_a_real_victorialogs(collector_factory, victorialogs):  # noqa: F811
    port = free_port()
    c = start(collector_factory, {
        "receivers": {"otlp": otlp_receiver(http_port=port)},
        "exporters": {"elasticsearch": {
            "endpoints": [f"http://127.0.0.1:{victorialogs}/insert/elasticsearch"],
            "headers": {"VL-Msg-Field": "body.text", "VL-Time-Field": "@timestamp",
                        "VL-Stream-Fields": "resource.attributes.service.name"}}},
        "service": {"pipelines": {"logs": {"receivers": ["otlp"], "exporters": ["elasticsearch"]}}},
    })
    now = time.time_ns()
    req = logs_request(now)
    assert post(port, "/v1/logs", req.SerializeToString()).status_code == 200
    wait_for(lambda: len(query(victorialogs, "*")) == N, 30, what=f"{N} records in VictoriaLogs")
    got = {r["attributes.i"]: r for r in query(victorialogs, "*")}
    assert sorted(got, key=int) == [str(i) for i in range(N)]
    for i, lr in enumerate(req.resource_logs[0].scope_logs[0].log_records):
        r = got[str(i)]
        assert r["_msg"] == lr.body.string_value
        assert nanos(r["_time"]) == lr.time_unix_nano
        assert nanos(r["observed_timestamp"]) == now
        assert (r["severity_text"], r["severity_number"]) == (lr.severity_text, str(lr.severity_number))
        assert (r["trace_id"], r["span_id"]) == (lr.trace_id.hex(), lr.span_id.hex())
        assert float(r["attributes.ratio"]) == i / 4
        assert r["attributes.even"] == ("true" if i % 2 == 0 else "false")
        assert r["attributes.http.route"] == f"/r/{i}"
        assert r["resource.attributes.service.name"] == "billing"
        assert r["resource.attributes.host.name"] == "node-3"
        assert (r["scope.name"], r["scope.version"]) == ("io.weft.test", "2.0")
        assert r["data_stream.type"] == "logs"
        assert r["_stream"] == '{resource.attributes.service.name="billing"}'
    # A LogsQL filter on a mapped field finds exactly the records it should.
    assert len(query(victorialogs, "severity_text:ERROR")) == len(range(2, N, 3))
    assert c.metrics().sum("otelcol_exporter_sent_log_records", exporter="elasticsearch") == N


class BulkDestination(Destination):
    """Answers _bulk requests as Elasticsearch does, refusing the documents whose
    attributes.i is in `refuse` with a per-item 400."""

    def __init__(self, refuse: set[int]):
        super().__init__()
        self.documents: list[dict] = []
        outer = self
        handler = self.server.RequestHandlerClass

        def do_POST(h):
            body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
            if h.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            lines = [json.loads(x) for x in body.splitlines() if x.strip()]
            with outer.lock:
                outer.requests.append({"path": h.path, "headers": dict(h.headers), "mode": "ok",
                                       "size": len(body), "documents": len(lines) // 2})
            items = []
            for action, doc in zip(lines[0::2], lines[1::2]):
                assert "create" in action
                with outer.lock:
                    outer.documents.append(doc)
                if (doc.get("attributes") or doc.get("Attributes"))["i"] in refuse:
                    items.append({"create": {"status": 400, "error": {
                        "type": "mapper_parsing_exception", "reason": "failed to parse"}}})
                else:
                    items.append({"create": {"status": 201}})
            answer = json.dumps({"took": 1, "errors": any(i["create"]["status"] >= 300 for i in items),
                                 "items": items}).encode()
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(answer)))
            h.end_headers()
            h.wfile.write(answer)

        handler.do_POST = do_POST


def test_per_item_failures_are_a_partial_result(collector_factory):
    dest, port = BulkDestination(refuse={3, 7}), free_port()
    try:
        c = start(collector_factory, {
            "receivers": {"otlp": otlp_receiver(http_port=port)},
            "exporters": {"elasticsearch": {"endpoint": f"http://127.0.0.1:{dest.port}",
                                            "logs_index": "app-logs", "mapping": {"mode": "none"},
                                            "flush": {"bytes": "8KiB"},
                                            "user": "elastic", "password": "s3cret"}},
            "service": {"pipelines": {"logs": {"receivers": ["otlp"],
                                               "exporters": ["elasticsearch"]}}},
        })
        assert post(port, "/v1/logs", logs_request(time.time_ns()).SerializeToString()).status_code == 200
        wait_for(lambda: c.metrics().sum("otelcol_exporter_sent_log_records",
                                         exporter="elasticsearch") == N - 2, 20, what="38 sent")
        m = c.metrics()
        assert m.sum("otelcol_exporter_send_failed_log_records", exporter="elasticsearch") == 2
        assert "2 of 40 documents refused (HTTP 400 mapper_parsing_exception: failed to parse)" in c.log_text()
        # Several bulk requests of at most 8 KiB each (flush.bytes), every document once.
        assert len(dest.documents) == N and sum(r["documents"] for r in dest.requests) == N
        assert len(dest.requests) > 1 and all(r["size"] <= 8192 for r in dest.requests)
        request = dest.requests[0]
        assert request["path"] == "/_bulk"
        assert request["headers"]["Authorization"] == "Basic ZWxhc3RpYzpzM2NyZXQ="
        assert request["headers"]["Content-Encoding"] == "gzip"
        doc = dest.documents[0]
        assert set(doc) == {"@timestamp", "Body", "SeverityText", "SeverityNumber", "TraceId",
                            "SpanId", "Attributes", "Resource", "Scope"}
        assert doc["Resource"] == {"service.name": "billing", "host.name": "node-3"}
    finally:
        dest.close()


def test_refuses_elasticsearch_settings_it_does_not_have(weft_bin, tmp_path):
    config = {
        "receivers": {"otlp": otlp_receiver(http_port=free_port())},
        "exporters": {"elasticsearch": {"endpoints": ["http://a:9200", "http://b:9200"],
                                        "mapping": {"mode": "ecs"}, "traces_index": "t",
                                        "api_key": "k", "user": "u"}},
        "service": {"pipelines": {"logs": {"receivers": ["otlp"], "exporters": ["elasticsearch"]}}},
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    r = subprocess.run([weft_bin, "validate", "--config", str(path)], capture_output=True, text=True)
    assert r.returncode != 0
    for expected in ("one endpoint is supported", "otel and none are supported",
                     "traces_index: is not supported", "not both"):
        assert expected in r.stdout + r.stderr, r.stdout + r.stderr
