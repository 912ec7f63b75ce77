"""The otlp receiver's limits and HTTP settings from the Go collector's confighttp and
configgrpc: CORS, response headers, oversized gRPC messages, gRPC stream and keepalive
settings, deadlines for slow HTTP clients (slowloris)."""

from __future__ import annotations

import socket
import ssl
import threading
import time

import grpc
import requests

from conftest import file_pipeline_config, free_port, read_output, run_sdk_client, wait_for_count
from pki import Authority

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
    options = [("grpc.max_send_message_length", -1)]
    with grpc.insecure_channel(f"127.0.0.1:{port}", options=options) as ch:
        call = ch.unary_unary(TRACE_EXPORT, request_serializer=None, response_deserializer=None)
        # Just over the limit and far over it (past gRPC's own ceiling of 2x + 64 MiB).
        for size, counted in (((1 << 20) + 1, True), (70 << 20, False)):
            try:
                call(b"\x0a" + b"\xff" * size, timeout=20)
                raise AssertionError(f"a {size}-byte message was accepted under a 1 MiB limit")
            except grpc.RpcError as e:
                assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e
                if counted:
                    assert "larger than max_recv_msg_size_mib" in e.details(), e.details()
        # Exactly at the limit: read and handed to the pipeline (where it does not decode).
        try:
            call(b"\x0a" + b"\xff" * ((1 << 20) - 1), timeout=20)
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e
    assert c.metrics().sum("otelcol_receiver_requests_failed", reason="too_large",
                           transport="grpc") == 1
    assert run_sdk_client("traces", "grpc", port, count=10)["ok"]
    assert wait_for_count(out, "traces", 10).span_count == 10
    assert c.alive()
    assert read_output(out).span_count == 10


class SlowClient(threading.Thread):
    """Sends `prefix`, then one byte of `trickle` every `every` s; records when the server
    hung up (or None if it never did)."""

    def __init__(self, port: int, prefix: bytes, trickle: bytes, every: float, tls=None):
        super().__init__(daemon=True)
        self.port, self.prefix, self.trickle, self.every, self.tls = port, prefix, trickle, every, tls
        self.closed_after = None
        self.stop = threading.Event()

    def run(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_hostname="localhost")
        started = time.monotonic()
        try:
            sock.sendall(self.prefix)
            for b in self.trickle:
                if self.stop.wait(self.every):
                    return
                sock.sendall(bytes([b]))
            sock.settimeout(30)
            if sock.recv(1) == b"":
                self.closed_after = time.monotonic() - started
        except (OSError, ssl.SSLError):
            self.closed_after = time.monotonic() - started
        finally:
            sock.close()


def test_slow_clients_are_cut_off_and_the_receiver_keeps_serving(collector_factory, tmp_path):
    out, port = tmp_path / "out.jsonl", free_port()
    config = file_pipeline_config(out, http_port=port, signals=["traces"],
                                  http_extra={"read_header_timeout": "1s", "read_timeout": "2s"})
    c = collector_factory(config)
    head = b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
    slow = [SlowClient(port, b"POST /v1/tra", b"ces HTTP/1.1\r\nHost: x\r\n" * 4, 0.3)
            for _ in range(12)]  # headers one byte at a time
    slow += [SlowClient(port, head + b"Content-Length: 100\r\n\r\n", b"\x0a" * 100, 0.3)
             for _ in range(6)]  # a body one byte at a time
    slow += [SlowClient(port, b"", b"", 0) for _ in range(6)]  # connect, send nothing
    for s in slow:
        s.start()
    time.sleep(0.3)
    # Meanwhile, others are served as usual, and fast.
    for i in range(10):
        started = time.monotonic()
        assert run_sdk_client("traces", "http", port, count=5, run_id=f"fast{i}")["ok"]
        assert time.monotonic() - started < 10
    for s in slow:
        s.join(timeout=15)
    for s in slow:
        s.stop.set()
    assert all(s.closed_after is not None for s in slow), [s.closed_after for s in slow]
    assert max(s.closed_after for s in slow) < 4, [round(s.closed_after, 1) for s in slow]
    assert wait_for_count(out, "traces", 50).span_count == 50
    m = c.metrics()
    assert m.sum("otelcol_receiver_requests_failed", reason="timeout") == len(slow)
    assert c.alive()


def test_a_slow_tls_handshake_is_cut_off(collector_factory, tmp_path):
    ca = Authority(tmp_path / "pki", "weft-test-ca")
    server = ca.issue("server")
    out, port = tmp_path / "out.jsonl", free_port()
    config = file_pipeline_config(out, http_port=port, signals=["traces"],
                                  http_extra={"read_header_timeout": "1s",
                                              "tls": {"cert_file": str(server.cert),
                                                      "key_file": str(server.key)}})
    c = collector_factory(config)
    idle = [SlowClient(port, b"", b"", 0) for _ in range(4)]  # TCP, then no handshake
    slow_tls = [SlowClient(port, b"POST /v1/traces HTTP/1.1\r\n", b"Host: x\r\n" * 3, 0.5,
                           tls=ssl.create_default_context(cafile=ca.ca_file))
                for _ in range(4)]
    for s in idle + slow_tls:
        s.start()
    for s in idle + slow_tls:
        s.join(timeout=15)
    assert all(s.closed_after is not None and s.closed_after < 4 for s in idle + slow_tls), \
        [s.closed_after for s in idle + slow_tls]
    assert c.metrics().sum("otelcol_receiver_requests_failed", reason="timeout") == 8
    r = requests.post(f"https://127.0.0.1:{port}/v1/traces", data=b"", verify=ca.ca_file,
                      headers={"Content-Type": "application/x-protobuf"}, timeout=5)
    assert r.status_code == 200


def test_shutdown_does_not_wait_for_a_slow_client(collector_factory, tmp_path):
    out, port = tmp_path / "out.jsonl", free_port()
    config = file_pipeline_config(out, http_port=port, signals=["traces"],
                                  http_extra={"read_header_timeout": "60s", "read_timeout": "60s"})
    c = collector_factory(config)
    slow = SlowClient(port, b"POST /v1/traces HTTP/1.1\r\n", b"Host: x\r\n" * 20, 1.0)
    slow.start()
    time.sleep(1.5)
    started = time.monotonic()
    assert c.stop() == 0
    assert time.monotonic() - started < 10, "shutdown waited for the slow client's deadline"
    slow.stop.set()
    slow.join(timeout=10)
