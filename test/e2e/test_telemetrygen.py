"""telemetrygen (the OpenTelemetry Collector's load generator, a Go OTLP client)
sends traces, metrics and logs; the file output must hold exactly what it sent.

Count semantics (telemetrygen v0.161.0, checked against a reference receiver):
  traces --traces N  -> N traces of 1 parent + --child-spans (default 1) spans = 2N spans
  metrics --metrics N -> N gauge data points named "gen" with asInt 0..N-1
  logs --logs N       -> N log records with body "the message"
--rate defaults to 1 item/s per worker, so the tests pass --rate 0 (unthrottled).
"""

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
    run_client,
    wait_for_count,
)

N = 100


def telemetrygen(binary: str, signal: str, port: int, count: int, http: bool = False, extra=()) -> None:
    argv = [
        binary, signal,
        "--otlp-insecure",
        "--otlp-endpoint", f"127.0.0.1:{port}",
        f"--{signal}", str(count),
        "--workers", "1",
        "--rate", "0",
        "--otlp-attributes", 'e2e.client="telemetrygen"',
        *extra,
    ]
    if http:
        argv.append("--otlp-http")
    p = run_client(argv, timeout=60)
    assert p.returncode == 0, f"telemetrygen failed (rc={p.returncode}):\n{p.stderr[-4000:]}"


def check_traces(out, expected_traces: int) -> None:
    f = read_output(out)
    assert f.span_count == 2 * expected_traces
    ids = f.span_ids()
    assert len(set(ids)) == len(ids), "duplicate spans in output"
    by_trace: dict[str, list[dict]] = {}
    for item in f.spans:
        ra = attrs(item["resource"].get("attributes"))
        assert ra.get("service.name") == "telemetrygen"
        assert ra.get("e2e.client") == "telemetrygen"
        sp = item["span"]
        tid = hex_id(sp["traceId"])
        assert len(tid) == 32 and len(hex_id(sp["spanId"])) == 16
        assert as_int(sp["endTimeUnixNano"]) >= as_int(sp["startTimeUnixNano"]) > 0
        by_trace.setdefault(tid, []).append(sp)
    assert len(by_trace) == expected_traces
    for tid, spans in by_trace.items():
        assert len(spans) == 2, f"trace {tid} has {len(spans)} spans"
        roots = [s for s in spans if not s.get("parentSpanId")]
        children = [s for s in spans if s.get("parentSpanId")]
        assert len(roots) == 1 and len(children) == 1, spans
        assert hex_id(children[0]["parentSpanId"]) == hex_id(roots[0]["spanId"])


def test_telemetrygen_traces_grpc(weft_file, telemetrygen_bin):
    c, out, ports = weft_file
    telemetrygen(telemetrygen_bin, "traces", ports["grpc"], N)
    wait_for_count(out, "traces", 2 * N)
    assert c.stop() == 0
    check_traces(out, N)


def test_telemetrygen_traces_http(weft_file, telemetrygen_bin):
    c, out, ports = weft_file
    telemetrygen(telemetrygen_bin, "traces", ports["http"], N, http=True)
    wait_for_count(out, "traces", 2 * N)
    assert c.stop() == 0
    check_traces(out, N)


def test_telemetrygen_metrics_grpc(weft_file, telemetrygen_bin):
    c, out, ports = weft_file
    telemetrygen(telemetrygen_bin, "metrics", ports["grpc"], N)
    wait_for_count(out, "metrics", N)
    assert c.stop() == 0
    f = read_output(out)
    assert f.point_count == N
    values = []
    for item in f.points:
        assert attrs(item["resource"].get("attributes")).get("service.name") == "telemetrygen"
        assert item["metric"]["name"] == "gen"
        assert item["kind"] == "gauge"
        assert as_int(item["point"].get("timeUnixNano")) > 0
        values.append(as_int(item["point"].get("asInt")))
    assert sorted(values) == list(range(N))


def test_telemetrygen_logs_grpc(weft_file, telemetrygen_bin):
    c, out, ports = weft_file
    telemetrygen(telemetrygen_bin, "logs", ports["grpc"], N)
    wait_for_count(out, "logs", N)
    assert c.stop() == 0
    f = read_output(out)
    assert f.log_count == N
    for item in f.logs:
        assert attrs(item["resource"].get("attributes")).get("service.name") == "telemetrygen"
        lr = item["log"]
        assert any_value(lr.get("body")) == "the message"
        assert lr.get("severityNumber") == 9
        assert lr.get("severityText") == "Info"
