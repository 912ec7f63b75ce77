"""The OpenTelemetry Python SDK sends traces, metrics and logs over OTLP/gRPC and
OTLP/HTTP (protobuf); the file exporter's output must hold every item intact."""

from __future__ import annotations

import pytest

from conftest import (
    any_value,
    as_int,
    attrs,
    file_pipeline_config,
    free_port,
    hex_id,
    read_output,
    run_sdk_client,
    spans_as_sent,
    wait_for_count,
)

PROTOCOLS = ["grpc", "http"]
N_SPANS = 50
N_LOGS = 20


def check_resource_and_scope(item: dict, sent: dict, signal: str, protocol: str) -> None:
    ra = attrs(item["resource"].get("attributes"))
    expected = {
        "service.name": "weft-e2e-sdk",
        "e2e.run_id": sent["run_id"],
        "e2e.signal": signal,
        "e2e.protocol": protocol,
        "e2e.int": 42,
    }
    assert {k: ra.get(k) for k in expected} == expected, ra
    assert item["scope"].get("name") == sent["scope_name"]
    assert item["scope"].get("version") == sent["scope_version"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_sdk_traces(weft_file, protocol):
    c, out, ports = weft_file
    sent = run_sdk_client("traces", protocol, ports[protocol], count=N_SPANS, run_id=f"traces-{protocol}")
    assert sent["exported"] == N_SPANS
    wait_for_count(out, "traces", N_SPANS)
    assert c.stop() == 0, c.log_tail()

    by_id = spans_as_sent(out, sent, N_SPANS)

    for exp in sent["spans"]:
        item = by_id[exp["span_id"]]
        check_resource_and_scope(item, sent, "traces", protocol)
        sp = item["span"]
        assert hex_id(sp.get("traceId")) == exp["trace_id"]
        assert hex_id(sp.get("parentSpanId", "")) == exp["parent_span_id"]
        assert sp.get("name") == exp["name"]
        assert sp.get("kind") == exp["kind"], "span kind must be an integer enum"
        assert as_int(sp.get("startTimeUnixNano")) == exp["start"]
        assert as_int(sp.get("endTimeUnixNano")) == exp["end"]
        assert attrs(sp.get("attributes")) == exp["attributes"]
        status = sp.get("status") or {}
        assert status.get("code", 0) == exp["status_code"]
        assert status.get("message", "") == exp["status_message"]
        events = sp.get("events") or []
        assert len(events) == 1
        assert events[0].get("name") == "e2e.event"
        assert as_int(events[0].get("timeUnixNano")) == exp["event_time"]
        assert attrs(events[0].get("attributes")) == {"n": exp["attributes"]["e2e.index"]}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_sdk_metrics(weft_file, protocol):
    c, out, ports = weft_file
    sent = run_sdk_client("metrics", protocol, ports[protocol], run_id=f"metrics-{protocol}")
    expected_points = sent["points"]
    assert sent["exported"] == expected_points
    wait_for_count(out, "metrics", expected_points)
    assert c.stop() == 0, c.log_tail()

    f = read_output(out)
    assert f.point_count == expected_points
    by_metric: dict[str, list[dict]] = {}
    for item in f.points:
        check_resource_and_scope(item, sent, "metrics", protocol)
        by_metric.setdefault(item["metric"]["name"], []).append(item)
    assert sorted(by_metric) == ["e2e.inflight", "e2e.latency", "e2e.requests", "e2e.temperature"]

    for item in f.points:
        dp = item["point"]
        assert as_int(dp.get("timeUnixNano")) > 1_600_000_000_000_000_000

    # Monotonic cumulative counter: one point per attribute set.
    reqs = by_metric["e2e.requests"]
    m = reqs[0]["metric"]
    assert reqs[0]["kind"] == "sum"
    assert m.get("unit") == "1" and m.get("description") == "e2e counter"
    assert m["sum"].get("isMonotonic") is True
    assert m["sum"].get("aggregationTemporality") == 2  # CUMULATIVE, as an integer
    got = {}
    for item in reqs:
        dp = item["point"]
        assert as_int(dp.get("startTimeUnixNano")) > 0
        got[str(attrs(dp.get("attributes"))["set"])] = as_int(dp.get("asInt"))
    assert got == sent["counter"]

    # Histogram.
    hist = by_metric["e2e.latency"]
    assert len(hist) == sent["histogram"]["sets"]
    assert hist[0]["kind"] == "histogram"
    assert hist[0]["metric"]["histogram"].get("aggregationTemporality") == 2
    assert hist[0]["metric"].get("unit") == "ms"
    seen_sets = set()
    for item in hist:
        dp = item["point"]
        seen_sets.add(attrs(dp.get("attributes"))["h"])
        assert as_int(dp.get("count")) == sent["histogram"]["count"]
        assert float(dp.get("sum")) == sent["histogram"]["sum"]
        buckets = [as_int(b) for b in dp.get("bucketCounts") or []]
        bounds = dp.get("explicitBounds") or []
        assert len(buckets) == len(bounds) + 1
        assert sum(buckets) == sent["histogram"]["count"]
        assert float(dp.get("min")) == 1 and float(dp.get("max")) == 50
    assert seen_sets == set(range(sent["histogram"]["sets"]))

    # Non-monotonic sum.
    inflight = by_metric["e2e.inflight"]
    assert len(inflight) == 1 and inflight[0]["kind"] == "sum"
    assert not inflight[0]["metric"]["sum"].get("isMonotonic", False)
    assert as_int(inflight[0]["point"].get("asInt")) == sent["updown"]

    # Gauge with double values (may be negative).
    temp = by_metric["e2e.temperature"]
    assert all(t["kind"] == "gauge" for t in temp)
    values = {attrs(t["point"].get("attributes"))["g"]: float(t["point"].get("asDouble")) for t in temp}
    assert values == sent["gauge"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_sdk_logs(weft_file, protocol):
    c, out, ports = weft_file
    sent = run_sdk_client("logs", protocol, ports[protocol], count=N_LOGS, run_id=f"logs-{protocol}")
    assert sent["exported"] == N_LOGS
    wait_for_count(out, "logs", N_LOGS)
    assert c.stop() == 0, c.log_tail()

    f = read_output(out)
    assert f.log_count == N_LOGS
    by_body = {}
    for item in f.logs:
        check_resource_and_scope(item, sent, "logs", protocol)
        body = any_value(item["log"].get("body"))
        assert body not in by_body, f"duplicate log record {body!r}"
        by_body[body] = item["log"]
    assert set(by_body) == {e["body"] for e in sent["logs"]}

    for exp in sent["logs"]:
        lr = by_body[exp["body"]]
        assert as_int(lr.get("timeUnixNano")) == exp["time"]
        assert as_int(lr.get("observedTimeUnixNano")) == exp["observed_time"]
        assert lr.get("severityNumber") == exp["severity_number"], "severityNumber must be an integer enum"
        assert lr.get("severityText") == exp["severity_text"]
        assert hex_id(lr.get("traceId")) == exp["trace_id"]
        assert hex_id(lr.get("spanId")) == exp["span_id"]
        assert lr.get("flags", 0) == exp["flags"]
        assert attrs(lr.get("attributes")) == exp["attributes"]
