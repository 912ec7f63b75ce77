"""The zipkin plugins (plugins/zipkin): the receiver, fed by the OpenTelemetry Python SDK's
Zipkin JSON exporter, and the exporter, read back from a Zipkin-shaped sink, field by
field; bad input to the receiver gets 400, an oversized body 413, a refusing pipeline 503
with Retry-After, all counted, and the receiver keeps serving."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from conftest import (CLIENTS_DIR, attrs, free_port, hex_id, otlp_receiver, read_output,
                      run_client, wait_for, wait_for_count)
from peers import jaeger, peer_dir  # noqa: F401 (fixtures)
from test_wasm_exporter import Destination

BUILD = Path(os.environ.get("WEFT_BIN", "build/weft")).resolve().parent
ZIPKIN_RECEIVER = str(BUILD / "plugins" / "zipkin_receiver.wasm")
ZIPKIN = str(BUILD / "plugins" / "zipkin_exporter.wasm")


def zipkin_request():
    """Spans with every field the Zipkin mapping carries."""
    from opentelemetry.proto.common.v1 import common_pb2
    from opentelemetry.proto.trace.v1 import trace_pb2

    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    for key, value in (("service.name", "checkout"), ("host.name", "node-1")):
        rs.resource.attributes.add(key=key, value=common_pb2.AnyValue(string_value=value))
    ss = rs.scope_spans.add()
    ss.scope.name, ss.scope.version = "io.weft.test", "1.2.3"
    kinds = [trace_pb2.Span.SPAN_KIND_SERVER, trace_pb2.Span.SPAN_KIND_CLIENT,
             trace_pb2.Span.SPAN_KIND_INTERNAL]
    for i, kind in enumerate(kinds):
        sp = ss.spans.add()
        sp.trace_id = bytes(range(1, 17))
        sp.span_id = bytes([0xA0 + i] * 8)
        if i > 0:
            sp.parent_span_id = bytes([0xA0] * 8)
        sp.name = f"GET /orders/{i} \"quoted\"\n"
        sp.kind = kind
        sp.start_time_unix_nano = 1_700_000_000_123_456_789 + i * 1000
        sp.end_time_unix_nano = sp.start_time_unix_nano + 2_500_000
        sp.attributes.add(key="http.status_code", value=common_pb2.AnyValue(int_value=200 + i))
        sp.attributes.add(key="ratio", value=common_pb2.AnyValue(double_value=0.25))
        sp.attributes.add(key="cached", value=common_pb2.AnyValue(bool_value=i == 1))
        sp.attributes.add(key="user", value=common_pb2.AnyValue(string_value="ünïcode"))
        ev = sp.events.add()
        ev.time_unix_nano = sp.start_time_unix_nano + 1000
        ev.name = "cache miss"
        ev2 = sp.events.add()
        ev2.time_unix_nano = sp.start_time_unix_nano + 2000
        ev2.name = "retried"
        ev2.attributes.add(key="attempt", value=common_pb2.AnyValue(int_value=2))
        if i == 1:
            sp.status.code = trace_pb2.Status.STATUS_CODE_ERROR
            sp.status.message = "upstream timed out"
        elif i == 0:
            sp.status.code = trace_pb2.Status.STATUS_CODE_OK
    return req


class ZipkinSink(Destination):
    """Records the JSON arrays posted to /api/v2/spans."""

    def __init__(self):
        super().__init__()
        self.spans_json: list[dict] = []
        handler = self.server.RequestHandlerClass
        outer = self
        original = handler.do_POST

        def do_POST(h):
            if h.path != "/api/v2/spans":
                return original(h)
            import json as _json
            body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
            with outer.lock:
                outer.requests.append({"path": h.path, "headers": dict(h.headers), "mode": "ok",
                                       "size": len(body)})
                outer.spans_json.extend(_json.loads(body))
            h.send_response(202)
            h.send_header("Content-Length", "0")
            h.end_headers()

        handler.do_POST = do_POST


def test_zipkin_exporter_maps_every_field(collector_factory, tmp_path):
    import grpc

    sink, port = ZipkinSink(), free_port()
    try:
        config = {
            "receivers": {"otlp": otlp_receiver(grpc_port=port)},
            "exporters": {"wasm/zipkin": {"plugin": ZIPKIN,
                                          "endpoint": f"http://127.0.0.1:{sink.port}"}},
            "service": {"pipelines": {"traces": {"receivers": ["otlp"],
                                                 "exporters": ["wasm/zipkin"]}}},
        }
        collector_factory(config)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            call = ch.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                                  request_serializer=None, response_deserializer=None)
            call(zipkin_request().SerializeToString(), timeout=10)
        wait_for(lambda: len(sink.spans_json) == 3, 20, what="three spans at the zipkin sink")
        assert sink.requests[0]["headers"]["Content-Type"] == "application/json"
        by_id = {s["id"]: s for s in sink.spans_json}
        server, client, internal = by_id["a0" * 8], by_id["a1" * 8], by_id["a2" * 8]
        assert server["traceId"] == bytes(range(1, 17)).hex()
        assert "parentId" not in server and client["parentId"] == "a0" * 8
        assert server["name"] == 'GET /orders/0 "quoted"\n'
        assert (server["kind"], client["kind"]) == ("SERVER", "CLIENT")
        assert "kind" not in internal
        assert server["timestamp"] == 1_700_000_000_123_456 and server["duration"] == 2500
        assert server["localEndpoint"] == {"serviceName": "checkout"}
        assert server["tags"] == {"http.status_code": "200", "ratio": "0.25", "cached": "false",
                                  "user": "ünïcode", "host.name": "node-1",
                                  "otel.scope.name": "io.weft.test",
                                  "otel.scope.version": "1.2.3", "otel.status_code": "OK"}
        assert client["tags"]["otel.status_code"] == "ERROR"
        assert client["tags"]["error"] == "upstream timed out"
        assert client["tags"]["cached"] == "true"
        assert "otel.status_code" not in internal["tags"]
        assert server["annotations"][0] == {"timestamp": 1_700_000_000_123_457,
                                            "value": "cache miss"}
        # An event with attributes: {"<name>": {<attributes>}}, as OpenTelemetry writes one.
        assert server["annotations"][1]["timestamp"] == 1_700_000_000_123_458
        assert json.loads(server["annotations"][1]["value"]) == {"retried": {"attempt": "2"}}
    finally:
        sink.close()


# ---------------------------------------------------------------------------- zipkin receiver

def receiver_config(port: int, out: Path, **extra) -> dict:
    settings = {"plugin": ZIPKIN_RECEIVER, "endpoint": f"127.0.0.1:{port}",
                "paths": ["/api/v2/spans"]}
    settings.update(extra)
    return {
        "receivers": {"wasm/zipkin": settings},
        "exporters": {"file": {"path": str(out)}},
        "service": {"pipelines": {"traces": {"receivers": ["wasm/zipkin"],
                                             "exporters": ["file"]}}},
    }


KIND = {"SERVER": 2, "CLIENT": 3, "PRODUCER": 4, "CONSUMER": 5, "INTERNAL": 1}


def test_zipkin_receiver_takes_the_python_sdks_zipkin_exporter(collector_factory, tmp_path):
    out, port = tmp_path / "out.jsonl", free_port()
    collector_factory(receiver_config(port, out))
    run = run_client([sys.executable, str(CLIENTS_DIR / "zipkin_client.py"), "--endpoint",
                      f"http://127.0.0.1:{port}/api/v2/spans", "--count", "6"])
    assert run.returncode == 0, run.stderr
    sent = json.loads(run.stdout.strip().splitlines()[-1])["spans"]
    assert len(sent) == 12
    wait_for_count(out, "traces", 12)
    got = read_output(out).spans_by_id()
    assert set(got) == {s["span_id"] for s in sent}
    for s in sent:
        item = got[s["span_id"]]
        span = item["span"]
        assert hex_id(span["traceId"]) == s["trace_id"]
        assert hex_id(span.get("parentSpanId", "")) == s["parent_id"]
        assert span["name"] == s["name"]
        assert span["kind"] in (KIND[s["kind"]], f"SPAN_KIND_{s['kind']}")
        # Zipkin carries microseconds: the SDK rounds the start and the duration to them.
        start_us = (s["start_ns"] + 500) // 1000
        duration_us = (s["end_ns"] - s["start_ns"] + 500) // 1000
        assert int(span["startTimeUnixNano"]) == start_us * 1000
        assert int(span["endTimeUnixNano"]) == (start_us + duration_us) * 1000
        got_attrs = attrs(span.get("attributes"))
        for key, value in s["attributes"].items():
            assert str(got_attrs[key]) == value, (key, got_attrs)
        assert [e["name"] for e in span.get("events") or []] == s["events"]
        for e in span.get("events") or []:
            if e["name"] == "accepted":
                assert attrs(e.get("attributes")) == {"queue": "orders"}
        status = span.get("status") or {}
        if s["status"] == "ERROR":
            assert status.get("code") in (2, "STATUS_CODE_ERROR")
            assert status.get("message") == s["message"]
        assert attrs(item["resource"].get("attributes"))["service.name"] == "zipkin-e2e"
        assert item["scope"].get("name") == "io.weft.zipkin-client"
        assert item["scope"].get("version") == "0.4.2"


def post_spans(port: int, body, **kwargs):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(f"http://127.0.0.1:{port}/api/v2/spans", data=data,
                         headers={"Content-Type": "application/json"}, timeout=10, **kwargs)


GOOD = [{"traceId": "a" * 32, "id": "b" * 16, "name": "ok", "timestamp": 1700000000000000,
         "duration": 5, "localEndpoint": {"serviceName": "svc"}}]


def test_zipkin_receiver_groups_interleaved_services_by_resource(collector_factory, tmp_path):
    """Spans of two services arriving interleaved (as from a Zipkin proxy) become one resource
    per service, each span once, in order within its service."""
    out, port = tmp_path / "out.jsonl", free_port()
    collector_factory(receiver_config(port, out))
    spans = [{"traceId": "a" * 32, "id": f"{i:016x}", "name": f"s{i}", "timestamp": 1700000000000000,
              "duration": 5, "localEndpoint": {"serviceName": "front" if i % 2 == 0 else "back"},
              "tags": {"otel.scope.name": "lib"}} for i in range(6)]
    assert post_spans(port, spans).status_code == 202
    wait_for(lambda: read_output(out, strict=False).span_count == 6, 10, what="six spans")
    doc = read_output(out).lines[0]
    services = [(attrs(rs["resource"]["attributes"])["service.name"],
                 [sp["name"] for ss in rs["scopeSpans"] for sp in ss["spans"]])
                for rs in doc["resourceSpans"]]
    assert services == [("front", ["s0", "s2", "s4"]), ("back", ["s1", "s3", "s5"])]


def test_zipkin_receiver_refuses_bad_input_and_keeps_serving(collector_factory, tmp_path):
    out, port = tmp_path / "out.jsonl", free_port()
    c = collector_factory(receiver_config(port, out, max_request_body_size="4KiB"))
    for body, why in ((b"{not json", "not a JSON array"), ({"a": 1}, "not a JSON array"),
                      ([{"traceId": "xyz", "id": "b" * 16}], "traceId"),
                      ([{"traceId": "a" * 32, "id": "b" * 3}], "id must be"),
                      ([{"traceId": "a" * 32, "id": "b" * 16, "kind": "SIDEWAYS"}], "kind")):
        r = post_spans(port, body)
        assert r.status_code == 400, (body, r.status_code, r.text)
        assert why in r.text, r.text
    r = post_spans(port, b"[" + b" " * 8192 + b"]")
    assert r.status_code == 413
    r = post_spans(port, GOOD)
    assert r.status_code == 202
    wait_for_count(out, "traces", 1)
    m = c.metrics()
    assert m.sum("otelcol_receiver_requests_failed", receiver="wasm/zipkin", reason="malformed") == 5
    assert m.sum("otelcol_receiver_requests_failed", receiver="wasm/zipkin", reason="too_large") == 1
    assert m.sum("otelcol_receiver_accepted_spans", receiver="wasm/zipkin") == 1
    assert c.alive()


def test_a_refusing_pipeline_answers_503_with_retry_after(collector_factory, tmp_path):
    out, port = tmp_path / "out.jsonl", free_port()
    config = receiver_config(port, out)
    # A queue of one request whose destination is down: the second request is refused.
    config["exporters"] = {"otlp": {"endpoint": f"127.0.0.1:{free_port()}", "tls": {"insecure": True},
                                    "sending_queue": {"queue_size": 1, "num_consumers": 1},
                                    "retry_on_failure": {"initial_interval": "10s"}}}
    config["service"]["pipelines"]["traces"]["exporters"] = ["otlp"]
    c = collector_factory(config)
    codes = [post_spans(port, GOOD).status_code for _ in range(4)]
    assert 503 in codes, codes
    r = next(r for r in (post_spans(port, GOOD) for _ in range(3)) if r.status_code == 503)
    assert int(r.headers["Retry-After"]) >= 1
    assert c.metrics().sum("otelcol_receiver_refused_spans", receiver="wasm/zipkin") >= 1
    assert c.alive()


# ------------------------------------------------- bundled: the Go collector's zipkin components

def test_bundled_zipkin_components_take_the_go_collectors_settings(collector_factory, tmp_path):
    """receivers: {zipkin: ...} and exporters: {zipkin: ...} as a Go collector config says
    them, backed by the plugins weft ships next to its binary."""
    sink, port = ZipkinSink(), free_port()
    try:
        config = {
            "receivers": {"zipkin": {"endpoint": f"127.0.0.1:{port}", "parse_string_tags": True}},
            "exporters": {"zipkin": {"endpoint": f"http://127.0.0.1:{sink.port}/api/v2/spans",
                                     "format": "json", "default_service_name": "fallback",
                                     "retry_on_failure": {"initial_interval": "100ms"}}},
            "service": {"pipelines": {"traces": {"receivers": ["zipkin"],
                                                 "exporters": ["zipkin"]}}},
        }
        collector_factory(config)
        run = run_client([sys.executable, str(CLIENTS_DIR / "zipkin_client.py"), "--endpoint",
                          f"http://127.0.0.1:{port}/api/v2/spans", "--count", "3"])
        assert run.returncode == 0, run.stderr
        sent = json.loads(run.stdout.strip().splitlines()[-1])["spans"]
        wait_for(lambda: len(sink.spans_json) == len(sent), 20, what="every span at the sink")
        by_id = {s["id"]: s for s in sink.spans_json}
        for s in sent:
            out = by_id[s["span_id"]]
            assert out["traceId"] == s["trace_id"] and out["name"] == s["name"]
            assert out.get("parentId", "") == s["parent_id"]
            assert out["localEndpoint"]["serviceName"] == "zipkin-e2e"
            for key, value in s["attributes"].items():
                assert out["tags"][key] == value
        # A span without service.name gets default_service_name.
        r = post_spans(port, [{"traceId": "c" * 32, "id": "d" * 16, "name": "orphan",
                               "timestamp": 1700000000000000, "duration": 3, "tags": {"n": "7"}}])
        assert r.status_code == 202
        wait_for(lambda: "d" * 16 in {s["id"] for s in sink.spans_json}, 20, what="the orphan")
        orphan = next(s for s in sink.spans_json if s["id"] == "d" * 16)
        assert orphan["localEndpoint"]["serviceName"] == "fallback"
        assert orphan["tags"]["n"] == "7"  # parsed to an int by the receiver, a string again
    finally:
        sink.close()


def test_bundled_zipkin_refuses_settings_it_does_not_have(weft_bin, tmp_path):
    import yaml

    config = {
        "receivers": {"zipkin": {"endpoint": "127.0.0.1:0", "cors": {"allowed_origins": ["*"]}}},
        "exporters": {"zipkin": {"endpoint": "http://127.0.0.1:1/api/v2/spans",
                                 "format": "proto"}},
        "service": {"pipelines": {"traces": {"receivers": ["zipkin"], "exporters": ["zipkin"]}}},
    }
    path = tmp_path / "zipkin.yaml"
    path.write_text(yaml.safe_dump(config))
    run = subprocess.run([weft_bin, "validate", "--config", str(path)], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode != 0
    assert "receivers.zipkin.cors" in run.stderr, run.stderr
    assert "exporters.zipkin.format: only json is supported" in run.stderr, run.stderr


def test_zipkin_exporter_into_a_real_jaeger(collector_factory, tmp_path, jaeger):  # noqa: F811
    """The bundled zipkin exporter, with the Go collector's settings, sends to Jaeger's
    Zipkin endpoint; every span is read back from Jaeger's query API, field by field."""
    import grpc

    zipkin_port, query_port = jaeger
    port = free_port()
    collector_factory({
        "receivers": {"otlp": otlp_receiver(grpc_port=port)},
        "exporters": {"zipkin": {"endpoint": f"http://127.0.0.1:{zipkin_port}/api/v2/spans"}},
        "service": {"pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["zipkin"]}}},
    })
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        call = ch.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                              request_serializer=None, response_deserializer=None)
        call(zipkin_request().SerializeToString(), timeout=10)
    trace_id = bytes(range(1, 17)).hex()
    url = f"http://127.0.0.1:{query_port}/api/traces/{trace_id}"

    def spans():
        r = requests.get(url, timeout=5)
        data = r.json().get("data") or [] if r.status_code == 200 else []
        return data[0] if data and len(data[0]["spans"]) == 3 else None

    trace = wait_for(spans, 30, what="three spans in Jaeger")
    by_id = {s["spanID"]: s for s in trace["spans"]}
    assert sorted(by_id) == ["a0" * 8, "a1" * 8, "a2" * 8]
    for i, kind in enumerate(("server", "client", None)):
        span = by_id[f"a{i}" * 8]
        tags = [(t["key"], t["value"]) for t in span["tags"]]
        assert span["traceID"] == trace_id
        assert span["operationName"] == f'GET /orders/{i} "quoted"\n'
        assert span["references"] == ([] if i == 0 else [
            {"refType": "CHILD_OF", "traceID": trace_id, "spanID": "a0" * 8}])
        start_us = (1_700_000_000_123_456_789 + i * 1000) // 1000
        assert (span["startTime"], span["duration"]) == (start_us, 2500)
        for expected in (("http.status_code", str(200 + i)), ("ratio", "0.25"),
                         ("cached", "true" if i == 1 else "false"), ("user", "ünïcode"),
                         ("otel.scope.name", "io.weft.test"), ("otel.scope.version", "1.2.3")):
            assert expected in tags, (i, expected, tags)
        assert (("span.kind", kind) in tags) if kind else all(k != "span.kind" for k, _ in tags)
        assert (("error", True) in tags) == (i == 1), tags
        assert [(lg["timestamp"], lg["fields"][0]["value"]) for lg in span["logs"]] == [
            (start_us + 1, "cache miss"), (start_us + 2, '{"retried":{"attempt":"2"}}')]
        process = trace["processes"][span["processID"]]
        assert process["serviceName"] == "checkout"
        assert {"key": "host.name", "type": "string", "value": "node-1"} in process["tags"]
