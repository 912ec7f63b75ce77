"""OTLP/JSON requests written by hand from the OTLP specification, and a gzip
protobuf body, POSTed to the HTTP receiver; the file output must match."""

from __future__ import annotations

import base64
import json

import pytest

from conftest import (
    any_value,
    as_int,
    attrs,
    file_pipeline_config,
    free_port,
    gzip_bytes,
    hex_id,
    make_trace_request,
    post,
    read_output,
    wait_for_count,
)

TRACE_ID = "5b8efff798038103d269b633813fc60c"
SPAN_ID_A = "eee19b7ec3c1b174"
SPAN_ID_B = "eee19b7ec3c1b175"
LINK_TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
LINK_SPAN_ID = "b7ad6b7169203331"
T0 = 1_700_000_000_000_000_000

TRACES_JSON = {
    "resourceSpans": [
        {
            "resource": {
                "attributes": [
                    {"key": "service.name", "value": {"stringValue": "json-svc"}},
                    {"key": "host.cpus", "value": {"intValue": "8"}},
                ]
            },
            "scopeSpans": [
                {
                    "scope": {"name": "json.scope", "version": "9.9.9"},
                    "spans": [
                        {
                            "traceId": TRACE_ID,
                            "spanId": SPAN_ID_A,
                            "name": "json-parent",
                            "kind": 2,
                            # int64 as a decimal string ...
                            "startTimeUnixNano": str(T0),
                            "endTimeUnixNano": str(T0 + 1_000_000),
                            "attributes": [
                                {"key": "s", "value": {"stringValue": "hello"}},
                                {"key": "i_str", "value": {"intValue": "5"}},
                                {"key": "i_num", "value": {"intValue": 7}},
                                {"key": "i_big", "value": {"intValue": "9007199254740993"}},
                                {"key": "d", "value": {"doubleValue": 2.5}},
                                {"key": "b", "value": {"boolValue": True}},
                                {"key": "by", "value": {"bytesValue": base64.b64encode(b"\x00\x01\xfe").decode()}},
                                {
                                    "key": "arr",
                                    "value": {"arrayValue": {"values": [{"stringValue": "x"}, {"intValue": "1"}]}},
                                },
                                {
                                    "key": "kv",
                                    "value": {
                                        "kvlistValue": {"values": [{"key": "inner", "value": {"boolValue": False}}]}
                                    },
                                },
                            ],
                            "events": [
                                {
                                    "timeUnixNano": str(T0 + 10),
                                    "name": "ev",
                                    "attributes": [{"key": "ek", "value": {"stringValue": "ev"}}],
                                }
                            ],
                            "links": [{"traceId": LINK_TRACE_ID, "spanId": LINK_SPAN_ID}],
                            "status": {"code": 2, "message": "bad thing"},
                        },
                        {
                            "traceId": TRACE_ID,
                            "spanId": SPAN_ID_B,
                            "parentSpanId": SPAN_ID_A,
                            "name": "json-child",
                            "kind": 3,
                            # ... and int64 as a JSON number.
                            "startTimeUnixNano": T0 + 100,
                            "endTimeUnixNano": T0 + 200,
                            "status": {"code": 1},
                        },
                    ],
                }
            ],
        }
    ]
}

METRICS_JSON = {
    "resourceMetrics": [
        {
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-svc"}}]},
            "scopeMetrics": [
                {
                    "scope": {"name": "json.scope", "version": "9.9.9"},
                    "metrics": [
                        {
                            "name": "json.gauge",
                            "unit": "1",
                            "description": "a gauge",
                            "gauge": {
                                "dataPoints": [
                                    {"timeUnixNano": str(T0), "asDouble": 1.5,
                                     "attributes": [{"key": "p", "value": {"stringValue": "a"}}]},
                                    {"timeUnixNano": T0 + 1, "asInt": "-3",
                                     "attributes": [{"key": "p", "value": {"stringValue": "b"}}]},
                                ]
                            },
                        },
                        {
                            "name": "json.sum",
                            "unit": "By",
                            "sum": {
                                "aggregationTemporality": 1,
                                "isMonotonic": True,
                                "dataPoints": [
                                    {"startTimeUnixNano": str(T0 - 1000), "timeUnixNano": str(T0), "asInt": "42"}
                                ],
                            },
                        },
                        {
                            "name": "json.histogram",
                            "unit": "ms",
                            "histogram": {
                                "aggregationTemporality": 2,
                                "dataPoints": [
                                    {
                                        "startTimeUnixNano": str(T0 - 1000),
                                        "timeUnixNano": str(T0),
                                        "count": "6",
                                        "sum": 60.5,
                                        "bucketCounts": ["1", "2", 3],
                                        "explicitBounds": [1.0, 10.0],
                                        "min": 0.5,
                                        "max": 20.0,
                                    }
                                ],
                            },
                        },
                        {
                            "name": "json.summary",
                            "summary": {
                                "dataPoints": [
                                    {
                                        "timeUnixNano": str(T0),
                                        "count": "4",
                                        "sum": 10.0,
                                        "quantileValues": [
                                            {"quantile": 0.5, "value": 2.0},
                                            {"quantile": 0.99, "value": 4.0},
                                        ],
                                    }
                                ]
                            },
                        },
                    ],
                }
            ],
        }
    ]
}

LOGS_JSON = {
    "resourceLogs": [
        {
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-svc"}}]},
            "scopeLogs": [
                {
                    "scope": {"name": "json.scope", "version": "9.9.9"},
                    "logRecords": [
                        {
                            "timeUnixNano": str(T0),
                            "observedTimeUnixNano": str(T0 + 5),
                            "severityNumber": 17,
                            "severityText": "ERROR",
                            "body": {"stringValue": "json log one"},
                            "attributes": [{"key": "n", "value": {"intValue": "1"}}],
                            "traceId": TRACE_ID,
                            "spanId": SPAN_ID_A,
                            "flags": 1,
                        },
                        {
                            "timeUnixNano": T0 + 1,
                            "severityNumber": 9,
                            "body": {"kvlistValue": {"values": [{"key": "msg", "value": {"stringValue": "structured"}}]}},
                        },
                    ],
                }
            ],
        }
    ]
}


@pytest.fixture
def weft_http(collector_factory, tmp_path):
    out = tmp_path / "out.jsonl"
    port = free_port()
    c = collector_factory(file_pipeline_config(out, http_port=port))
    return c, out, port


def post_json(port: int, path: str, doc: dict):
    r = post(port, path, json.dumps(doc).encode(), content_type="application/json")
    assert r.status_code == 200, f"{path}: {r.status_code} {r.text[:500]}"
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    body = r.json()  # an Export*ServiceResponse in JSON, typically {}
    assert isinstance(body, dict)
    assert not (body.get("partialSuccess") or {}).get("rejectedSpans")
    return r


def scope_of(item: dict) -> tuple:
    return item["scope"].get("name"), item["scope"].get("version")


def assert_int64_string(v, what: str) -> None:
    assert isinstance(v, str) and v.lstrip("-").isdigit(), (
        f"{what} must be a decimal string in OTLP/JSON output (protobuf JSON mapping), got {v!r}"
    )


def test_json_traces(weft_http):
    c, out, port = weft_http
    post_json(port, "/v1/traces", TRACES_JSON)
    wait_for_count(out, "traces", 2)
    assert c.stop() == 0
    f = read_output(out)
    assert f.span_count == 2
    by_id = f.spans_by_id()
    assert set(by_id) == {SPAN_ID_A, SPAN_ID_B}

    a = by_id[SPAN_ID_A]
    assert attrs(a["resource"].get("attributes")) == {"service.name": "json-svc", "host.cpus": 8}
    assert scope_of(a) == ("json.scope", "9.9.9")
    sa = a["span"]
    assert hex_id(sa["traceId"]) == TRACE_ID
    assert sa.get("parentSpanId", "") == ""
    assert sa["name"] == "json-parent"
    assert sa["kind"] == 2
    assert_int64_string(sa["startTimeUnixNano"], "startTimeUnixNano")
    assert as_int(sa["startTimeUnixNano"]) == T0
    assert as_int(sa["endTimeUnixNano"]) == T0 + 1_000_000
    assert attrs(sa["attributes"]) == {
        "s": "hello",
        "i_str": 5,
        "i_num": 7,
        "i_big": 9007199254740993,
        "d": 2.5,
        "b": True,
        "by": b"\x00\x01\xfe",
        "arr": ["x", 1],
        "kv": {"inner": False},
    }
    int_attr = next(kv for kv in sa["attributes"] if kv["key"] == "i_num")
    assert_int64_string(int_attr["value"]["intValue"], "intValue")
    assert len(sa["events"]) == 1
    assert sa["events"][0]["name"] == "ev"
    assert as_int(sa["events"][0]["timeUnixNano"]) == T0 + 10
    assert attrs(sa["events"][0]["attributes"]) == {"ek": "ev"}
    assert len(sa["links"]) == 1
    assert hex_id(sa["links"][0]["traceId"]) == LINK_TRACE_ID
    assert hex_id(sa["links"][0]["spanId"]) == LINK_SPAN_ID
    assert sa["status"].get("code") == 2 and sa["status"].get("message") == "bad thing"

    sb = by_id[SPAN_ID_B]["span"]
    assert hex_id(sb["traceId"]) == TRACE_ID
    assert hex_id(sb["parentSpanId"]) == SPAN_ID_A
    assert sb["kind"] == 3
    assert as_int(sb["startTimeUnixNano"]) == T0 + 100
    assert as_int(sb["endTimeUnixNano"]) == T0 + 200
    assert (sb.get("status") or {}).get("code") == 1


def test_json_metrics(weft_http):
    c, out, port = weft_http
    post_json(port, "/v1/metrics", METRICS_JSON)
    wait_for_count(out, "metrics", 5)
    assert c.stop() == 0
    f = read_output(out)
    assert f.point_count == 5
    by_name: dict[str, list[dict]] = {}
    for item in f.points:
        assert attrs(item["resource"].get("attributes")) == {"service.name": "json-svc"}
        assert scope_of(item) == ("json.scope", "9.9.9")
        by_name.setdefault(item["metric"]["name"], []).append(item)

    gauge = by_name["json.gauge"]
    assert gauge[0]["metric"].get("unit") == "1" and gauge[0]["metric"].get("description") == "a gauge"
    vals = {}
    for item in gauge:
        dp = item["point"]
        key = attrs(dp["attributes"])["p"]
        vals[key] = float(dp["asDouble"]) if "asDouble" in dp else as_int(dp["asInt"])
    assert vals == {"a": 1.5, "b": -3}
    assert sorted(as_int(i["point"]["timeUnixNano"]) for i in gauge) == [T0, T0 + 1]

    (s,) = by_name["json.sum"]
    assert s["metric"]["sum"]["aggregationTemporality"] == 1
    assert s["metric"]["sum"]["isMonotonic"] is True
    assert as_int(s["point"]["asInt"]) == 42
    assert_int64_string(s["point"]["asInt"], "asInt")
    assert as_int(s["point"]["startTimeUnixNano"]) == T0 - 1000

    (h,) = by_name["json.histogram"]
    assert h["metric"]["histogram"]["aggregationTemporality"] == 2
    dp = h["point"]
    assert as_int(dp["count"]) == 6
    assert float(dp["sum"]) == 60.5
    assert [as_int(b) for b in dp["bucketCounts"]] == [1, 2, 3]
    assert [float(b) for b in dp["explicitBounds"]] == [1.0, 10.0]
    assert float(dp["min"]) == 0.5 and float(dp["max"]) == 20.0

    (sm,) = by_name["json.summary"]
    dp = sm["point"]
    assert as_int(dp["count"]) == 4 and float(dp["sum"]) == 10.0
    assert [(float(q.get("quantile", 0)), float(q["value"])) for q in dp["quantileValues"]] == [(0.5, 2.0), (0.99, 4.0)]


def test_json_logs(weft_http):
    c, out, port = weft_http
    post_json(port, "/v1/logs", LOGS_JSON)
    wait_for_count(out, "logs", 2)
    assert c.stop() == 0
    f = read_output(out)
    assert f.log_count == 2
    one, two = sorted(f.logs, key=lambda i: as_int(i["log"]["timeUnixNano"]))
    lr = one["log"]
    assert attrs(one["resource"].get("attributes")) == {"service.name": "json-svc"}
    assert scope_of(one) == ("json.scope", "9.9.9")
    assert as_int(lr["timeUnixNano"]) == T0
    assert as_int(lr["observedTimeUnixNano"]) == T0 + 5
    assert lr["severityNumber"] == 17
    assert lr["severityText"] == "ERROR"
    assert any_value(lr["body"]) == "json log one"
    assert attrs(lr["attributes"]) == {"n": 1}
    assert hex_id(lr["traceId"]) == TRACE_ID
    assert hex_id(lr["spanId"]) == SPAN_ID_A
    assert lr.get("flags") == 1

    lr2 = two["log"]
    assert as_int(lr2["timeUnixNano"]) == T0 + 1
    assert lr2["severityNumber"] == 9
    assert any_value(lr2["body"]) == {"msg": "structured"}
    assert not lr2.get("traceId") and not lr2.get("spanId")


def test_json_unknown_fields_are_ignored(weft_http):
    """The OTLP spec: OTLP/JSON receivers MUST ignore fields with unknown names."""
    c, out, port = weft_http
    doc = json.loads(json.dumps(TRACES_JSON))
    doc["someFutureField"] = {"x": 1}
    doc["resourceSpans"][0]["scopeSpans"][0]["spans"][1]["futureSpanField"] = [1, 2, 3]
    post_json(port, "/v1/traces", doc)
    wait_for_count(out, "traces", 2)
    assert c.stop() == 0
    assert set(read_output(out).spans_by_id()) == {SPAN_ID_A, SPAN_ID_B}


def test_gzip_protobuf(weft_http):
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

    c, out, port = weft_http
    req, ids = make_trace_request(25, tag="gzip", seed=7)
    raw = req.SerializeToString()
    body = gzip_bytes(raw)
    assert body != raw
    r = post(port, "/v1/traces", body, headers={"Content-Encoding": "gzip"})
    assert r.status_code == 200, f"{r.status_code} {r.text[:300]}"
    assert r.headers.get("Content-Type", "").startswith("application/x-protobuf"), r.headers
    resp = trace_service_pb2.ExportTraceServiceResponse()
    resp.ParseFromString(r.content)
    assert resp.partial_success.rejected_spans == 0

    wait_for_count(out, "traces", 25)
    assert c.stop() == 0
    f = read_output(out)
    assert f.span_count == 25
    assert sorted(f.span_ids()) == sorted(ids)
    want_trace = req.resource_spans[0].scope_spans[0].spans[0].trace_id.hex()
    for item in f.spans:
        assert hex_id(item["span"]["traceId"]) == want_trace
        assert attrs(item["span"]["attributes"]) == {"e2e.tag": "gzip"}
        assert scope_of(item) == ("weft.e2e.raw", "0.0.1")
