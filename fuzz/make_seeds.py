"""Writes the fuzzers' seed inputs into fuzz/corpus/<target>/ (run with the test venv's
Python: it needs opentelemetry-proto). Each wire and JSON seed starts with the selector byte
that names its signal (0 traces, 1 metrics, 2 logs)."""

from __future__ import annotations

import json
import shutil
import struct
import zlib
from pathlib import Path

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

ROOT = Path(__file__).resolve().parent


def attrs(target, n):
    for i in range(n):
        kv = target.add()
        kv.key = f"k{i}"
        if i % 4 == 0:
            kv.value.string_value = f"v{i} é"
        elif i % 4 == 1:
            kv.value.int_value = i
        elif i % 4 == 2:
            kv.value.double_value = i + 0.5
        else:
            kv.value.array_value.values.add().bool_value = True


def traces():
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    attrs(rs.resource.attributes, 2)
    ss = rs.scope_spans.add()
    ss.scope.name = "seed"
    for i in range(3):
        s = ss.spans.add()
        s.trace_id = bytes([i + 1] * 16)
        s.span_id = bytes([i + 1] * 8)
        s.parent_span_id = b"" if i == 0 else bytes([1] * 8)
        s.name = f"span-{i}"
        s.kind = 2
        s.start_time_unix_nano = 1700000000000000000 + i
        s.end_time_unix_nano = 1700000000000000100 + i
        attrs(s.attributes, 4)
        e = s.events.add()
        e.name = "event"
        attrs(e.attributes, 1)
        link = s.links.add()
        link.trace_id = bytes([9] * 16)
        link.span_id = bytes([9] * 8)
        s.status.code = 2
        s.status.message = "boom"
    return req


def metrics():
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    attrs(rm.resource.attributes, 1)
    sm = rm.scope_metrics.add()
    g = sm.metrics.add()
    g.name = "gauge"
    p = g.gauge.data_points.add()
    p.as_double = 1.5
    attrs(p.attributes, 2)
    s = sm.metrics.add()
    s.name = "sum"
    s.sum.is_monotonic = True
    s.sum.aggregation_temporality = 2
    s.sum.data_points.add().as_int = 3
    h = sm.metrics.add()
    h.name = "histogram"
    hp = h.histogram.data_points.add()
    hp.count = 3
    hp.sum = 6
    hp.bucket_counts.extend([1, 2])
    hp.explicit_bounds.extend([1.0])
    e = sm.metrics.add()
    e.name = "exp"
    ep = e.exponential_histogram.data_points.add()
    ep.scale = 2
    ep.positive.bucket_counts.extend([1, 1])
    q = sm.metrics.add()
    q.name = "summary"
    qp = q.summary.data_points.add()
    qp.quantile_values.add(quantile=0.5, value=1.0)
    return req


def logs():
    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    sl = rl.scope_logs.add()
    for i in range(3):
        r = sl.log_records.add()
        r.time_unix_nano = 1700000000000000000 + i
        r.severity_number = 9
        r.severity_text = "INFO"
        r.body.string_value = f"line {i}"
        attrs(r.attributes, 3)
        r.trace_id = bytes([i + 1] * 16)
        r.span_id = bytes([i + 1] * 8)
    return req


def hex_ids(value):
    """OTLP/JSON writes ids as hex, where protobuf's JSON writes base64."""
    import base64

    if isinstance(value, dict):
        return {k: (base64.b64decode(v).hex() if k in ("traceId", "spanId", "parentSpanId")
                    and isinstance(v, str) else hex_ids(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [hex_ids(v) for v in value]
    return value


def write(target: str, name: str, data: bytes) -> None:
    d = ROOT / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def queue_record(seq: int, signal: int, payload: bytes, items: int) -> bytes:
    """One record of a persistent-queue segment file (docs/reliability.md)."""
    rest = struct.pack("<QIII", seq, len(payload), zlib.crc32(payload), items)
    rest += bytes([signal, 1, 0, 0])
    return b"WEFT" + struct.pack("<I", zlib.crc32(rest)) + rest + payload


def queue_seed(flags: int, acks: list[tuple[int, int]], segment: bytes) -> bytes:
    """fuzz_queue_recovery's input: flags, the acks file's length and bytes, the segment."""
    acks_file = b""
    for seq, kind in acks:
        entry = struct.pack("<QB3x", seq, kind)
        acks_file += entry + struct.pack("<I", zlib.crc32(entry))
    return bytes([flags]) + struct.pack("<H", len(acks_file)) + acks_file + segment


# A configuration with every built-in component and most of their settings.
EVERYTHING = b"""
extensions:
  health_check: {endpoint: "localhost:13133"}
  bearertokenauth: {token: "${env:FUZZ_TOKEN:-secret}"}
  basicauth/server: {htpasswd: {inline: "user:pass"}}
  basicauth/client: {client_auth: {username: u, password: p}}
  headers_setter: {headers: [{key: X-Tenant, value: acme, action: upsert}]}
  file_storage: {directory: /tmp, fsync: false, durability: process, timeout: 1s}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: "${env:FUZZ_ENDPOINT}"
        max_recv_msg_size_mib: 4
        max_concurrent_streams: 16
        keepalive: {server_parameters: {time: 30s, timeout: 5s}}
        auth: {authenticator: bearertokenauth}
      http:
        endpoint: localhost:4318
        cors: {allowed_origins: ["https://*.example.com"], max_age: 60}
        read_header_timeout: 5s
processors:
  batch: {send_batch_size: 512, send_batch_max_size: 1024, timeout: 200ms}
  memory_limiter: {check_interval: 1s, limit_mib: 512, spike_limit_mib: 128}
  wasm/filter: {plugin: plugins/filter.wasm, config: {drop: [{name: x}]}, limits: {memory: 16MiB, timeout: 50ms}}
exporters:
  debug: {verbosity: basic}
  file: {path: /tmp/out.jsonl}
  otlp:
    endpoint: localhost:4317
    tls: {insecure: true}
    sending_queue: {enabled: true, queue_size: 100, sizer: items, storage: file_storage}
    retry_on_failure: {enabled: true, initial_interval: 1s, max_interval: 5s, max_elapsed_time: 0}
    auth: {authenticator: headers_setter}
  otlphttp: {endpoint: "http://localhost:4318", compression: gzip, timeout: 5s}
connectors:
  wasm/count: {plugin: plugins/spanmetrics.wasm}
service:
  extensions: [health_check, file_storage, bearertokenauth, headers_setter]
  telemetry:
    logs: {level: info}
    metrics: {address: "localhost:8888"}
  pipelines:
    traces: {receivers: [otlp], processors: [memory_limiter, wasm/filter, batch], exporters: [otlp, wasm/count]}
    metrics: {receivers: [otlp, wasm/count], processors: [batch], exporters: [otlphttp, debug]}
    logs: {receivers: [otlp], exporters: [file]}
"""


def http_request(path: str, body: bytes, content_type: str = "application/x-protobuf",
                 headers: tuple[str, ...] = (), method: str = "POST", chunked: bool = False) -> bytes:
    """One OTLP/HTTP request as it goes on the wire (fuzz_http_request's input)."""
    head = [f"{method} {path} HTTP/1.1", "Host: localhost", f"Content-Type: {content_type}",
            *headers]
    if chunked:
        head.append("Transfer-Encoding: chunked")
        half = len(body) // 2
        body = b"".join(b"%x\r\n" % len(part) + part + b"\r\n" for part in (body[:half], body[half:])
                        if part) + b"0\r\n\r\n"
    else:
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def edit(op: int, target: int, index: int, key: str, value=None) -> bytes:
    """One entry of a plugin's edit list (docs/abi.md, "Results")."""
    def text(t: str) -> bytes:
        b = t.encode()
        return struct.pack("<I", len(b)) + b
    out = struct.pack("<BBI", op, target, index) + text(key)
    if op in (1, 6, 7, 8):
        out += text(value)
    elif op == 2:
        out += struct.pack("<q", value)
    elif op == 3:
        out += struct.pack("<d", value)
    elif op == 4:
        out += bytes([value])
    return out


def results_seed(signal: int, edits: bool, request: bytes, result: bytes) -> bytes:
    """fuzz_plugin_results' input: selector, the request's length and bytes, the result."""
    return bytes([signal | (4 if edits else 0)]) + struct.pack("<H", len(request)) + request + result


def main() -> None:
    for selector, (name, make) in enumerate((("traces", traces), ("metrics", metrics),
                                            ("logs", logs))):
        req = make()
        write("fuzz_wire", f"{name}.bin", bytes([selector]) + req.SerializeToString())
        doc = hex_ids(MessageToDict(req))
        write("fuzz_otlp_json", f"{name}.json", bytes([selector]) + json.dumps(doc).encode())
    requests = [(0, traces()), (1, metrics()), (2, logs())]
    segment = b"".join(queue_record(i + 1, sig, req.SerializeToString(), 1)
                       for i, (sig, req) in enumerate(requests * 2))
    write("fuzz_queue_recovery", "fresh.bin", queue_seed(0, [], segment))
    # A ledger with floor 2, record 3 done and record 4 taken.
    write("fuzz_queue_recovery", "acked.bin", queue_seed(1 | (2 << 1), [(3, 2), (4, 1)], segment))
    write("fuzz_queue_recovery", "torn.bin", queue_seed(0, [(1, 1)], segment + segment[:45]))
    for signal, req in requests:
        wire = req.SerializeToString()
        write("fuzz_plugin_results", f"mask-{signal}.bin", results_seed(signal, False, wire, b"\x01\x00"))
        edits = (edit(1, 0, 0, "k0", "new") + edit(2, 0, 1, "n", -3) + edit(3, 1, 0, "d", 0.5) +
                 edit(4, 0, 2, "b", 1) + edit(5, 0, 1, "k1") + edit(6, 1, 0, "k0", "renamed"))
        edits += {0: edit(7, 0, 1, "", "span"), 2: edit(8, 0, 2, "", "body")}.get(signal, b"")
        write("fuzz_plugin_results", f"edits-{signal}.bin", results_seed(signal, True, wire, edits))
    paths = {0: "/v1/traces", 1: "/v1/metrics", 2: "/v1/logs"}
    for signal, req in requests:
        wire = req.SerializeToString()
        doc = json.dumps(hex_ids(MessageToDict(req))).encode()
        path = paths[signal]
        write("fuzz_http_request", f"proto-{signal}.http", http_request(path, wire))
        write("fuzz_http_request", f"json-{signal}.http", http_request(path, doc, "application/json"))
        write("fuzz_http_request", f"gzip-{signal}.http",
              http_request(path, zlib.compress(wire, wbits=31), headers=("Content-Encoding: gzip",)))
        write("fuzz_http_request", f"chunked-{signal}.http", http_request(path, doc, "application/json",
                                                                          chunked=True))
    write("fuzz_http_request", "keepalive.http",
          http_request("/v1/traces", traces().SerializeToString()) + http_request("/v1/logs", b""))
    write("fuzz_http_request", "preflight.http", http_request(
        "/v1/traces", b"", headers=("Origin: https://a.example.com",
                                   "Access-Control-Request-Method: POST"), method="OPTIONS"))
    write("fuzz_http_request", "get.http", http_request("/v1/metrics", b"", method="GET"))
    write("fuzz_http_request", "unknown.http", http_request("/v2/x", b"{}", "application/json"))
    write("fuzz_http_request", "text.http", http_request("/v1/logs", b"x", "text/plain"))
    write("fuzz_http_request", "large.http",
          b"POST /v1/logs HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 9999999\r\n\r\n{")
    configs = ROOT / "corpus" / "fuzz_yaml_json"
    configs.mkdir(parents=True, exist_ok=True)
    for config in sorted((ROOT.parent / "config").glob("*.yaml")):
        shutil.copy(config, configs / config.name)
    for config in sorted([*(ROOT.parent / "config").glob("*.yaml"),
                          *(ROOT.parent / "plugins").glob("*/example.yaml")]):
        name = config.name if config.parent.name == "config" else f"{config.parent.name}.yaml"
        write("fuzz_config", name, config.read_bytes())
    write("fuzz_config", "everything.yaml", EVERYTHING)
    # Two files merged, the second overriding the first and adding a pipeline.
    write("fuzz_config", "merged.yaml", EVERYTHING + b"\0" + b"""
exporters:
  otlp: {endpoint: "${env:FUZZ_ENDPOINT}", compression: none}
service:
  pipelines:
    logs/extra: {receivers: [otlp], exporters: [debug]}
""")
    write("fuzz_yaml_json", "anchors.yaml",
          b"a: &x {b: [1, 0x1F, .inf, ~, 'q', \"\\u00e9\"]}\nc: *x\nd: !!str 3\n")


if __name__ == "__main__":
    main()
