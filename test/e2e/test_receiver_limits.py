"""The otlp receiver's limits and HTTP settings from the Go collector's confighttp and
configgrpc: CORS, response headers, oversized gRPC messages, gRPC stream and keepalive
settings."""

from __future__ import annotations

import grpc
import requests

from conftest import file_pipeline_config, free_port, read_output, run_sdk_client, wait_for_count

TRACE_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def test_cors_and_response_headers(collector_factory, tmp_path):
    out, port = tmp_path / "out.jsonl", free_port()
    http_extra = {
        "cors": {"allowed_origins": ["https://app.example.com", "https://*.test.example"],
                 "allowed_headers": ["X-Tenant"], "max_age": 600},
        "response_headers": {"X-Served-By": "weft"},
    }
    collector_factory(file_pipeline_config(out, http_port=port, signals=["traces"],
                                           http_extra=http_extra))
    url = f"http://127.0.0.1:{port}/v1/traces"

    def preflight(origin, headers="content-type,x-tenant"):
        return requests.options(url, headers={"Origin": origin,
                                              "Access-Control-Request-Method": "POST",
                                              "Access-Control-Request-Headers": headers}, timeout=5)

    ok = preflight("https://app.example.com")
    assert ok.status_code == 204
    assert ok.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert ok.headers["Access-Control-Allow-Methods"] == "POST"
    assert ok.headers["Access-Control-Max-Age"] == "600"
    assert "x-tenant" in ok.headers["Access-Control-Allow-Headers"]
    assert preflight("https://a.test.example").headers.get("Access-Control-Allow-Origin") == \
        "https://a.test.example"
    for origin, hdrs in (("https://evil.example.com", "content-type"),
                         ("https://app.example.com", "x-not-allowed")):
        refused = preflight(origin, hdrs)
        assert refused.status_code == 204
        assert "Access-Control-Allow-Origin" not in refused.headers
    # The actual request: CORS and the configured headers on the response.
    r = requests.post(url, data=b"", timeout=5,
                      headers={"Content-Type": "application/x-protobuf",
                               "Origin": "https://app.example.com"})
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert r.headers["X-Served-By"] == "weft"
    r = requests.post(url, data=b"", timeout=5,
                      headers={"Content-Type": "application/x-protobuf", "Origin": "https://x.org"})
    assert "Access-Control-Allow-Origin" not in r.headers


def test_oversized_grpc_message_is_refused_and_the_receiver_keeps_serving(collector_factory,
                                                                           tmp_path):
    out, port = tmp_path / "out.jsonl", free_port()
    config = file_pipeline_config(out, grpc_port=port, signals=["traces"])
    config["receivers"]["otlp"]["protocols"]["grpc"].update({
        "max_recv_msg_size_mib": 1,
        "max_concurrent_streams": 16,
        "keepalive": {"server_parameters": {"time": "30s", "timeout": "5s",
                                            "max_connection_idle": "1m"},
                      "enforcement_policy": {"min_time": "10s", "permit_without_stream": True}},
    })
    c = collector_factory(config)
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        call = ch.unary_unary(TRACE_EXPORT, request_serializer=None, response_deserializer=None)
        try:
            call(b"\x0a" + b"\xff" * (2 << 20), timeout=10)
            raise AssertionError("a 2 MiB message was accepted under a 1 MiB limit")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e
    assert run_sdk_client("traces", "grpc", port, count=10)["ok"]
    assert wait_for_count(out, "traces", 10).span_count == 10
    assert c.alive()
    assert read_output(out).span_count == 10
