"""Bad requests get the right status, are counted, and do not hurt the collector."""

from __future__ import annotations

import random

import grpc
import pytest

from conftest import (
    Collector,
    file_pipeline_config,
    free_port,
    gzip_bytes,
    make_trace_request,
    post,
    read_output,
    wait_for_count,
)

MAX_BODY = 1024
TRACE_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def garbage(n: int = 64, seed: int = 1) -> bytes:
    """Bytes that are never a valid protobuf message: field 1, length-delimited,
    claiming 1000 bytes of which far fewer follow."""
    rnd = random.Random(seed)
    return b"\x0a\xe8\x07" + bytes(rnd.randrange(256) for _ in range(n))


@pytest.fixture(scope="module")
def weft(weft_bin, tmp_path_factory):
    d = tmp_path_factory.mktemp("bad_input")
    out = d / "out.jsonl"
    grpc_port, http_port = free_port(), free_port()
    cfg = file_pipeline_config(
        out, grpc_port=grpc_port, http_port=http_port, http_extra={"max_request_body_size": MAX_BODY}
    )
    c = Collector(weft_bin, d, cfg, name="weft-bad-input")
    c.out = out
    c.grpc_port = grpc_port
    c.http_port = http_port
    try:
        c.start()
        yield c
    finally:
        c.kill()


def failed(c: Collector, transport: str) -> float:
    return c.metrics().sum("otelcol_receiver_requests_failed", receiver="otlp", transport=transport)


def check_http_refused(c: Collector, status: int, **post_kw) -> None:
    before = failed(c, "http")
    r = post(c.http_port, post_kw.pop("path", "/v1/traces"), **post_kw)
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text[:300]}"
    assert c.alive()
    after = failed(c, "http")
    assert after > before, f"otelcol_receiver_requests_failed{{transport=http}} did not increase ({before} -> {after})"


def test_malformed_protobuf_is_400(weft):
    check_http_refused(weft, 400, body=garbage())


def test_malformed_protobuf_metrics_and_logs_are_400(weft):
    check_http_refused(weft, 400, path="/v1/metrics", body=garbage(seed=2))
    check_http_refused(weft, 400, path="/v1/logs", body=garbage(seed=3))


def _varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _with_span(span: bytes) -> bytes:
    return _field(1, _field(2, _field(2, span)))


@pytest.mark.parametrize("what,span", [
    ("name as a varint", b"\x28\x07"),
    ("start time as bytes", _field(7, b"x")),
    ("attribute as fixed64", b"\x49" + bytes(8)),
    ("a 5-byte trace id", _field(1, b"12345")),
    ("a name that is not UTF-8", _field(5, b"caf\xc3")),
])
def test_requests_that_break_the_schema_are_400(weft, what, span):
    check_http_refused(weft, 400, body=_with_span(span))
    assert "libprotobuf" not in weft.log_text(), "protobuf wrote its own lines into the log"


def test_a_logs_request_on_the_traces_path_is_400(weft):
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
    req = logs_service_pb2.ExportLogsServiceRequest()
    record = req.resource_logs.add().scope_logs.add().log_records.add()
    record.time_unix_nano = 1_700_000_000_000_000_000
    record.body.string_value = "a log, not a span"
    check_http_refused(weft, 400, body=req.SerializeToString())


def test_malformed_json_is_400(weft):
    check_http_refused(weft, 400, body=b'{"resourceSpans": [ {"scopeSpans": ', content_type="application/json")


def test_json_with_wrong_types_is_400(weft):
    # Well-formed JSON, but not an ExportTraceServiceRequest.
    check_http_refused(weft, 400, body=b'{"resourceSpans": "nope"}', content_type="application/json")


def test_wrong_content_type_is_415(weft):
    req, _ = make_trace_request(1)
    check_http_refused(weft, 415, body=req.SerializeToString(), content_type="text/plain")


def test_oversized_body_is_413(weft):
    req, _ = make_trace_request(60, tag="x" * 40)
    body = req.SerializeToString()
    assert len(body) > 4 * MAX_BODY
    check_http_refused(weft, 413, body=body)


def test_gzip_bomb_is_413(weft):
    # 64 MiB of zeros compress to ~64 KiB; the inflated size is what counts, and it must
    # be refused without inflating it all.
    bomb = gzip_bytes(b"\0" * (64 << 20))
    assert len(bomb) < (1 << 20)
    check_http_refused(weft, 413, body=bomb, headers={"Content-Encoding": "gzip"})


def test_chunked_oversized_body_is_413(weft):
    req, _ = make_trace_request(60, tag="y" * 40)
    body = req.SerializeToString()

    def chunks():
        for i in range(0, len(body), 500):
            yield body[i:i + 500]

    check_http_refused(weft, 413, body=chunks())


def test_unknown_path_is_404(weft):
    req, _ = make_trace_request(1)
    r = post(weft.http_port, "/v1/nope", req.SerializeToString())
    assert r.status_code == 404


def test_wrong_method_is_405(weft):
    r = post(weft.http_port, "/v1/traces", b"", method="GET", content_type=None)
    assert r.status_code == 405


def test_grpc_malformed_is_invalid_argument(weft):
    before = failed(weft, "grpc")
    with grpc.insecure_channel(f"127.0.0.1:{weft.grpc_port}") as ch:
        call = ch.unary_unary(TRACE_EXPORT, request_serializer=None, response_deserializer=None)
        with pytest.raises(grpc.RpcError) as ei:
            call(garbage(seed=4), timeout=10)
    assert ei.value.code() == grpc.StatusCode.INVALID_ARGUMENT, ei.value
    assert weft.alive()
    after = failed(weft, "grpc")
    assert after > before, f"otelcol_receiver_requests_failed{{transport=grpc}} did not increase ({before} -> {after})"


def test_valid_requests_still_succeed(weft):
    """Runs last in this module: after all the bad input, good input still works,
    and only good input reached the exporter."""
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

    req1, ids1 = make_trace_request(5, tag="good-http", seed=101)
    r = post(weft.http_port, "/v1/traces", req1.SerializeToString())
    assert r.status_code == 200, r.text[:300]

    req2, ids2 = make_trace_request(5, tag="good-grpc", seed=102)
    with grpc.insecure_channel(f"127.0.0.1:{weft.grpc_port}") as ch:
        resp = trace_service_pb2_grpc.TraceServiceStub(ch).Export(req2, timeout=10)
    assert isinstance(resp, trace_service_pb2.ExportTraceServiceResponse)
    assert resp.partial_success.rejected_spans == 0

    wait_for_count(weft.out, "traces", 10)
    f = read_output(weft.out, strict=False)
    assert sorted(f.span_ids()) == sorted(ids1 + ids2), "output holds something other than the valid spans"
    assert f.point_count == 0 and f.log_count == 0
    m = weft.metrics()
    assert m.sum("otelcol_receiver_accepted_spans", receiver="otlp", transport="http") == 5
    assert m.sum("otelcol_receiver_accepted_spans", receiver="otlp", transport="grpc") == 5
    assert weft.stop() == 0
