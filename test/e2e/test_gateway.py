"""The gateway tier's connectors on loopback, several weft processes: the `routing` connector
(request headers from the OpenTelemetry Python SDK, resource and item attributes), the `route`
plugin in a `wasm` connector with one tenant's backend refusing (for good, and for a while)
while the other's takes its data exactly once, and `failover` through a queued exporter whose
backend goes down and comes back, every span accounted for."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from conftest import attrs, free_port, otlp_receiver, post, read_output, run_sdk_client, wait_for, wait_for_count
from test_enrichment import plugin, trace_request


def file_exporters(tmp_path: Path, names: list[str]) -> dict:
    return {f"file/{n}": {"path": str(tmp_path / f"{n}.jsonl")} for n in names}


def routed_pipelines(signal: str, names: list[str], connector: str) -> dict:
    return {
        f"{signal}/{n}": {"receivers": [connector], "exporters": [f"file/{n}"]} for n in names
    }


def test_routing_connector_sends_each_tenant_to_its_pipelines(collector_factory, tmp_path):
    port = free_port()
    tenants = ["acme", "ecorp", "other"]
    cfg = {
        "receivers": {"otlp": otlp_receiver(http_port=port, include_metadata=True)},
        "exporters": file_exporters(tmp_path, tenants + ["errors"]),
        "connectors": {
            "routing": {
                "default_pipelines": ["logs/other"],
                "table": [
                    {"context": "request", "condition": 'request["X-Tenant"] == "acme"',
                     "pipelines": ["logs/acme"]},
                    {"context": "request", "condition": 'request["X-Tenant"] == "ecorp"',
                     "pipelines": ["logs/ecorp"]},
                ],
            },
            # Item-level conditions: errors apart, whoever sent them.
            "routing/severity": {
                "table": [{"context": "log", "condition": "severity_number >= SEVERITY_NUMBER_ERROR",
                           "pipelines": ["logs/errors"]}],
            },
        },
        "service": {
            "pipelines": {
                "logs/in": {"receivers": ["otlp"], "exporters": ["routing", "routing/severity"]},
                **routed_pipelines("logs", tenants, "routing"),
                "logs/errors": {"receivers": ["routing/severity"], "exporters": ["file/errors"]},
            }
        },
    }
    weft = collector_factory(cfg)
    sent = {}
    for tenant, header in (("acme", ["--header", "X-Tenant=acme"]),
                           ("ecorp", ["--header", "X-Tenant=ecorp"]), ("other", [])):
        report = run_sdk_client("logs", "http", port, count=40, run_id=tenant, batch=7, extra=header)
        sent[tenant] = report["exported"]
        assert sent[tenant] == 40
    for tenant in tenants:
        out = wait_for_count(tmp_path / f"{tenant}.jsonl", "logs", sent[tenant])
        runs = Counter(attrs(l["resource"].get("attributes"))["e2e.run_id"] for l in out.logs)
        assert runs == {tenant: sent[tenant]}, (tenant, runs)
    # The SDK client sends INFO, WARN, ERROR, DEBUG in turn: a quarter are errors.
    errors = wait_for_count(tmp_path / "errors.jsonl", "logs", 30)
    assert errors.log_count == 30
    assert {int(l["log"]["severityNumber"]) for l in errors.logs} == {17}
    m = weft.metrics()
    for tenant in tenants:
        assert m.sum("weft_connector_routed_log_records", connector="routing",
                     pipeline=f"logs/{tenant}") == sent[tenant]


def two_tenant_request(i: int, per_tenant: int = 5) -> bytes:
    return trace_request([
        ({"tenant": "acme", "service.name": "shop"},
         [{"seq": f"acme-{i}-{k}"} for k in range(per_tenant)]),
        ({"tenant": "ecorp", "service.name": "bank"},
         [{"seq": f"ecorp-{i}-{k}"} for k in range(per_tenant)]),
    ])


def seqs(path: Path) -> Counter:
    return Counter(attrs(s["span"].get("attributes"))["seq"] for s in read_output(path, strict=False).spans)


def route_plugin_config(tmp_path: Path, port: int, ecorp_exporter: dict) -> dict:
    return {
        "receivers": {"otlp": otlp_receiver(http_port=port)},
        "exporters": {**file_exporters(tmp_path, ["acme", "other"]), "otlphttp/ecorp": ecorp_exporter},
        "connectors": {
            "wasm/route": {
                "plugin": plugin("route"),
                "config": {"by": "resource", "key": "tenant", "routes": {"acme": 1, "ecorp": 2}},
                "routes": ["traces/acme", "traces/ecorp"],
                "default_pipelines": ["traces/other"],
            }
        },
        "service": {
            "pipelines": {
                "traces/in": {"receivers": ["otlp"], "exporters": ["wasm/route"]},
                "traces/acme": {"receivers": ["wasm/route"], "exporters": ["file/acme"]},
                "traces/ecorp": {"receivers": ["wasm/route"], "exporters": ["otlphttp/ecorp"]},
                "traces/other": {"receivers": ["wasm/route"], "exporters": ["file/other"]},
            }
        },
    }


def test_route_plugin_refusal_of_one_tenant_never_duplicates_the_other(collector_factory, tmp_path):
    # ecorp's backend: a weft that wants a token the gateway does not send (refused for good).
    backend_port = free_port()
    backend = collector_factory({
        "extensions": {"bearertokenauth": {"token": "secret"}},
        "receivers": {"otlp": otlp_receiver(http_port=backend_port, auth={"authenticator": "bearertokenauth"})},
        "exporters": {"file": {"path": str(tmp_path / "ecorp.jsonl")}},
        "service": {"extensions": ["bearertokenauth"],
                    "pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["file"]}}},
    }, name="ecorp-backend")
    port = free_port()
    gateway = collector_factory(route_plugin_config(tmp_path, port, {
        "endpoint": f"http://127.0.0.1:{backend_port}",
        "sending_queue": {"enabled": False}, "retry_on_failure": {"enabled": False},
    }), name="gateway")
    for i in range(10):
        r = post(port, "/v1/traces", two_tenant_request(i))
        assert r.status_code == 200, r.text
        # The client hears that ecorp's half was rejected, not that it should send it all again.
        response = trace_service_pb2.ExportTraceServiceResponse.FromString(r.content)
        assert response.partial_success.rejected_spans == 5, response
        assert "traces/ecorp" in response.partial_success.error_message
    acme = wait_for_count(tmp_path / "acme.jsonl", "traces", 50)
    assert set(seqs(tmp_path / "acme.jsonl").values()) == {1} and acme.span_count == 50
    assert all(attrs(s["resource"]["attributes"])["tenant"] == "acme" for s in acme.spans)
    assert read_output(tmp_path / "ecorp.jsonl").span_count == 0
    assert read_output(tmp_path / "other.jsonl").span_count == 0
    m = gateway.metrics()
    assert m.sum("weft_connector_routed_spans", pipeline="traces/acme") == 50
    assert m.sum("otelcol_receiver_refused_spans") == 50 and m.sum("otelcol_receiver_accepted_spans") == 50
    assert backend.alive()


def test_route_plugin_retries_a_refused_part_without_resending_the_taken_one(collector_factory, tmp_path):
    # ecorp's backend is down when the traffic starts and comes up a second later: its parts
    # are offered again by the connector; acme's parts, taken at once, are never sent twice.
    backend_port = free_port()
    port = free_port()
    collector_factory(route_plugin_config(tmp_path, port, {
        "endpoint": f"http://127.0.0.1:{backend_port}",
        "sending_queue": {"enabled": False}, "retry_on_failure": {"enabled": False},
    }), name="gateway")
    backend_cfg = {
        "receivers": {"otlp": otlp_receiver(http_port=backend_port)},
        "exporters": {"file": {"path": str(tmp_path / "ecorp.jsonl")}},
        "service": {"pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["file"]}}},
    }
    starter = threading.Timer(1.0, lambda: collector_factory(backend_cfg, name="ecorp-backend"))
    starter.start()
    try:
        for i in range(6):
            r = post(port, "/v1/traces", two_tenant_request(i), timeout=30)
            assert r.status_code == 200, r.text
    finally:
        starter.join()
    wait_for_count(tmp_path / "ecorp.jsonl", "traces", 30)
    acme, ecorp = seqs(tmp_path / "acme.jsonl"), seqs(tmp_path / "ecorp.jsonl")
    assert len(acme) == 30 and set(acme.values()) == {1}, acme
    assert len(ecorp) == 30 and set(ecorp.values()) == {1}, ecorp


def test_failover_through_a_queued_exporter_loses_nothing(collector_factory, tmp_path):
    primary_port = free_port()

    def primary(run: int):
        return collector_factory({
            "receivers": {"otlp": otlp_receiver(http_port=primary_port)},
            "exporters": {"file": {"path": str(tmp_path / f"primary-{run}.jsonl")}},
            "service": {"pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["file"]}}},
        }, name=f"primary-{run}")

    first = primary(1)
    port = free_port()
    gateway = collector_factory({
        "receivers": {"otlp": otlp_receiver(http_port=port)},
        "exporters": {
            "otlphttp/primary": {
                "endpoint": f"http://127.0.0.1:{primary_port}",
                "sending_queue": {"enabled": True, "queue_size": 10000},
                "retry_on_failure": {"initial_interval": "100ms", "max_interval": "200ms",
                                     "max_elapsed_time": "0s"},
            },
            "file/secondary": {"path": str(tmp_path / "secondary.jsonl")},
        },
        "connectors": {"failover": {"priority_levels": [["traces/primary"], ["traces/secondary"]],
                                    "retry_interval": "500ms", "max_retries": 0}},
        "service": {"pipelines": {
            "traces/in": {"receivers": ["otlp"], "exporters": ["failover"]},
            "traces/primary": {"receivers": ["failover"], "exporters": ["otlphttp/primary"]},
            "traces/secondary": {"receivers": ["failover"], "exporters": ["file/secondary"]},
        }},
    }, name="gateway")

    sent = 0

    def send(n: int) -> None:
        nonlocal sent
        for _ in range(n):
            body = trace_request([({"service.name": "shop"}, [{"seq": f"s{sent}-{k}"} for k in range(4)])])
            r = post(port, "/v1/traces", body)
            assert r.status_code == 200, r.text
            sent += 1
            time.sleep(0.02)

    send(20)
    wait_for_count(tmp_path / "primary-1.jsonl", "traces", 80)
    first.stop()
    send(60)  # the primary is down: after its queue reports failures, data goes to the secondary
    wait_for(lambda: read_output(tmp_path / "secondary.jsonl", strict=False).span_count > 0, 10,
             what="spans on the secondary")
    primary(2)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # back to the primary once its queue gets through
        send(5)
        if read_output(tmp_path / "primary-2.jsonl", strict=False).span_count > 0:
            break
    else:
        raise AssertionError("data never went back to the primary")
    before = read_output(tmp_path / "secondary.jsonl", strict=False).span_count
    send(20)
    wait_for(lambda: sum(seqs(tmp_path / p).total() for p in ("primary-1.jsonl", "primary-2.jsonl",
                                                              "secondary.jsonl")) >= sent * 4,
             20, what="every span delivered")
    got = seqs(tmp_path / "primary-1.jsonl") + seqs(tmp_path / "primary-2.jsonl") + seqs(
        tmp_path / "secondary.jsonl")
    expected = {f"s{i}-{k}" for i in range(sent) for k in range(4)}
    assert set(got) == expected, sorted(expected - set(got))[:10]
    assert read_output(tmp_path / "secondary.jsonl", strict=False).span_count == before, \
        "the secondary kept getting data after the primary came back"
    m = gateway.metrics()
    assert m.sum("weft_connector_failover_switches", connector="failover") >= 2


def test_routing_tables_are_checked_when_the_config_loads(weft_bin, tmp_path):
    import subprocess

    import yaml

    cfg = {
        "receivers": {"otlp": otlp_receiver(http_port=free_port())},
        "exporters": {"debug": {}},
        "connectors": {
            "routing": {"table": [
                {"condition": 'attributes["x"] == "a" and span.kind == 1', "pipelines": ["traces/a"]},
                {"statement": 'route() where attributes["x"] == "b"', "pipelines": ["traces/nowhere"]},
            ]},
            "failover": {"priority_levels": [["logs/a"], ["logs/b"]]},
        },
        "service": {"pipelines": {
            "traces": {"receivers": ["otlp"], "exporters": ["routing"]},
            "traces/a": {"receivers": ["routing"], "exporters": ["debug"]},
            "logs": {"receivers": ["otlp"], "exporters": ["failover"]},
            "logs/a": {"receivers": ["failover"], "exporters": ["debug"]},
        }},
    }
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    p = subprocess.run([weft_bin, "validate", "--config", str(path)], capture_output=True, text=True)
    assert p.returncode != 0
    assert "connectors.routing.table.0.condition: 'span.kind' is not supported" in p.stderr, p.stderr
    assert "routes to pipeline traces/nowhere, which does not list it as a receiver" in p.stderr
    assert "priority_levels names pipeline logs/b" in p.stderr


# ---------------------------------------------------------------- loadbalancing


def ring_owner(trace_id: bytes, endpoints: list[str]) -> str:
    """The endpoint weft's ring gives a trace id (components/exporters/loadbalancing/ring.cc,
    written again here so the test checks placement, not just consistency)."""
    mask = (1 << 64) - 1

    def h(data: bytes) -> int:
        x = 14695981039346656037
        for c in data:
            x = ((x ^ c) * 1099511628211) & mask
        x ^= x >> 30
        x = (x * 0xBF58476D1CE4E5B9) & mask
        x ^= x >> 27
        x = (x * 0x94D049BB133111EB) & mask
        return x ^ (x >> 31)

    points = sorted((h(f"{e}#{i}".encode()), e) for e in sorted(set(endpoints)) for i in range(160))
    k = h(trace_id)
    for p, e in points:
        if p >= k:
            return e
    return points[0][1]


def spans_request(spans: list[tuple[bytes, str]]) -> bytes:
    """One request with one span per (trace id, name)."""
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

    req = trace_service_pb2.ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    kv = rs.resource.attributes.add(key="service.name")
    kv.value.string_value = "shop"
    ss = rs.scope_spans.add()
    for n, (tid, name) in enumerate(spans):
        s = ss.spans.add(trace_id=tid, span_id=(n + 1).to_bytes(8, "big"), name=name)
        s.start_time_unix_nano = 1
        s.end_time_unix_nano = 2
    return req.SerializeToString()


def test_loadbalancing_keeps_traces_together_and_moves_only_changed_keys(collector_factory, tmp_path):
    import os
    import random
    import signal as sig

    gw_ports = [free_port() for _ in range(4)]
    endpoints = [f"127.0.0.1:{p}" for p in gw_ports]
    gateways: dict[int, object] = {}

    def gateway(i: int):
        gateways[i] = collector_factory({
            "receivers": {"otlp": otlp_receiver(grpc_port=gw_ports[i])},
            "exporters": {"file": {"path": str(tmp_path / f"gw{i}.jsonl")}},
            "service": {"pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["file"]}}},
        }, name=f"gw{i}")

    for i in range(3):
        gateway(i)  # gateway 3 is listed but not running yet
    agent_ports = [free_port(), free_port()]
    agents = [collector_factory({
        "receivers": {"otlp": otlp_receiver(http_port=p)},
        "exporters": {"loadbalancing": {
            "routing_key": "traceID",
            "protocol": {"otlp": {"tls": {"insecure": True}, "timeout": "2s",
                                  "retry_on_failure": {"initial_interval": "100ms",
                                                       "max_interval": "500ms",
                                                       "max_elapsed_time": "0s"}}},
            "resolver": {"static": {"hostnames": endpoints}},
        }},
        "service": {"pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["loadbalancing"]}}},
    }, name=f"agent{n}") for n, p in enumerate(agent_ports)]

    rng = random.Random(7)
    sent: dict[bytes, int] = {}  # trace id -> spans sent
    phase_of: dict[bytes, str] = {}

    def send_phase(name: str, traces: int, spans_per_trace: int = 4) -> None:
        ids = [rng.randbytes(16) for _ in range(traces)]
        work = [(t, f"{name}-{k}") for t in ids for k in range(spans_per_trace)]
        rng.shuffle(work)  # a trace's spans spread over requests and both agents
        for n in range(0, len(work), 10):
            chunk = work[n:n + 10]
            r = post(agent_ports[(n // 10) % 2], "/v1/traces", spans_request(chunk))
            assert r.status_code == 200, r.text
        for t in ids:
            sent[t] = spans_per_trace
            phase_of[t] = name

    def placement() -> dict[bytes, Counter]:
        where: dict[bytes, Counter] = {}
        for i in range(4):
            for s in read_output(tmp_path / f"gw{i}.jsonl", strict=False).spans:
                tid = bytes.fromhex(s["span"]["traceId"])
                where.setdefault(tid, Counter())[endpoints[i]] += 1
        return where

    def delivered(phase: str) -> bool:
        where = placement()
        return all(sum(where.get(t, Counter()).values()) >= sent[t] for t in sent if phase_of[t] == phase)

    send_phase("a", 60)
    wait_for(lambda: delivered("a"), 30, what="phase a delivered")
    gateways[1].stop()  # a gateway goes away
    send_phase("b", 60)
    wait_for(lambda: delivered("b"), 30, what="phase b delivered")
    gateway(3)  # and another comes up; after its quarantine it takes its keys
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        send_phase("warmup", 10)
        if read_output(tmp_path / "gw3.jsonl", strict=False).span_count > 0:
            break
        time.sleep(0.5)
    else:
        raise AssertionError("the new gateway never got data")
    send_phase("c", 60)
    wait_for(lambda: delivered("c"), 30, what="phase c delivered")

    where = placement()
    live = {"a": [endpoints[0], endpoints[1], endpoints[2]],
            "b": [endpoints[0], endpoints[2]],
            "c": [endpoints[0], endpoints[2], endpoints[3]]}
    moved = {"b": 0, "c": 0}
    for t, n in sent.items():
        got = where.get(t, Counter())
        assert sum(got.values()) >= n, f"trace {t.hex()} lost spans: {got}"
        phase = phase_of[t]
        if phase == "warmup":
            continue
        assert len(got) == 1, f"trace {t.hex()} of phase {phase} split over {got}"
        owner = next(iter(got))
        assert owner == ring_owner(t, live[phase]), (phase, t.hex(), owner)
        before = ring_owner(t, live["a"] if phase == "b" else live["b"])
        if phase in moved and owner != before:
            moved[phase] += 1
            # Only keys of the endpoint that left (b) or of the one that came (c) move.
            assert before == endpoints[1] if phase == "b" else owner == endpoints[3]
    # About a third of the keys were the leaving gateway's, and about a third go to the new one.
    assert 5 <= moved["b"] <= 35 and 5 <= moved["c"] <= 35, moved
    total = sum(sum(c.values()) for c in where.values())
    assert total == sum(sent.values()), f"{total - sum(sent.values())} spans delivered twice"
    m = agents[0].metrics()
    assert m.sum("otelcol_loadbalancer_num_backends") == 4
    assert m.sum("otelcol_loadbalancer_backend_outcome", success="false") >= 1


# ---------------------------------------------------------------- tail sampling behind the balancer


def test_agents_balance_to_gateways_that_sample_whole_traces(collector_factory, telemetrygen_bin, tmp_path):
    import random

    from test_telemetrygen import telemetrygen

    gw_grpc = [free_port() for _ in range(3)]
    policies = [
        {"name": "vip", "type": "string_attribute", "string_attribute": {"key": "e2e.keep", "values": ["yes"]}},
        {"name": "slow", "type": "latency", "latency": {"threshold_ms": 200}},
        {"name": "index", "type": "numeric_attribute",
         "numeric_attribute": {"key": "e2e.index", "min_value": 25, "max_value": 25}},
        {"name": "tg-errors", "type": "and", "and": {"and_sub_policy": [
            {"name": "err", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}},
            {"name": "tg", "type": "string_attribute",
             "string_attribute": {"key": "service.name", "values": ["telemetrygen"]}},
        ]}},
        {"name": "nothing", "type": "probabilistic", "probabilistic": {"sampling_percentage": 0}},
    ]
    gateways = [collector_factory({
        "receivers": {"otlp": otlp_receiver(grpc_port=gw_grpc[i])},
        "processors": {"tail_sampling": {"decision_wait": "1s", "num_traces": 10000, "policies": policies}},
        "exporters": {"file": {"path": str(tmp_path / f"gw{i}.jsonl")}},
        "service": {"pipelines": {"traces": {"receivers": ["otlp"], "processors": ["tail_sampling"],
                                             "exporters": ["file"]}}},
    }, name=f"gw{i}") for i in range(3)]
    agent_http = [free_port(), free_port()]
    for n, p in enumerate(agent_http):
        collector_factory({
            "receivers": {"otlp": otlp_receiver(http_port=p)},
            "exporters": {"loadbalancing": {
                "protocol": {"otlp": {"tls": {"insecure": True}}},
                "resolver": {"static": {"hostnames": [f"127.0.0.1:{g}" for g in gw_grpc]}},
            }},
            "service": {"pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["loadbalancing"]}}},
        }, name=f"agent{n}")

    # Traffic of our own: each trace's spans over several requests and both agents.
    rng = random.Random(11)
    expected: dict[str, int] = {}  # sampled trace id (hex) -> spans
    work = []
    for t in range(90):
        tid = rng.randbytes(16)
        keep = t % 3 == 1
        slow = t % 10 == 4
        for k in range(3):
            work.append((tid, k, keep and k == 2, slow))
        if keep or slow:
            expected[tid.hex()] = 3
    rng.shuffle(work)
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

    for n in range(0, len(work), 9):
        req = trace_service_pb2.ExportTraceServiceRequest()
        rs = req.resource_spans.add()
        rs.resource.attributes.add(key="service.name").value.string_value = "shop"
        ss = rs.scope_spans.add()
        for tid, k, keep, slow in work[n:n + 9]:
            s = ss.spans.add(trace_id=tid, span_id=rng.randbytes(8), name=f"op-{k}")
            s.start_time_unix_nano = 1_000_000_000 + k
            s.end_time_unix_nano = s.start_time_unix_nano + (300_000_000 if slow and k == 0 else 1_000_000)
            if keep:
                s.attributes.add(key="e2e.keep").value.string_value = "yes"
        r = post(agent_http[(n // 9) % 2], "/v1/traces", req.SerializeToString())
        assert r.status_code == 200, r.text

    # The OpenTelemetry Python SDK: 4 traces of 10 spans; the one holding e2e.index 25 is sampled.
    report = run_sdk_client("traces", "http", agent_http[0], count=40, run_id="sdk", batch=5)
    for s in report["spans"]:
        if s["attributes"]["e2e.index"] == 25:
            expected[s["trace_id"]] = 10

    # telemetrygen: its error traces are sampled, its others are not.
    telemetrygen(telemetrygen_bin, "traces", agent_http[1], 15, http=True,
                 extra=["--status-code", "Error", "--otlp-attributes", 'e2e.run="err"'])
    telemetrygen(telemetrygen_bin, "traces", agent_http[0], 15, http=True,
                 extra=["--status-code", "Unset", "--otlp-attributes", 'e2e.run="ok"'])

    def seen() -> dict[str, Counter]:
        out: dict[str, Counter] = {}
        for i in range(3):
            for s in read_output(tmp_path / f"gw{i}.jsonl", strict=False).spans:
                out.setdefault(s["span"]["traceId"], Counter())[i] += 1
        return out

    def tg_err_traces(where: dict[str, Counter]) -> int:
        return sum(1 for i in range(3) for s in read_output(tmp_path / f"gw{i}.jsonl", strict=False).spans
                   if attrs(s["resource"].get("attributes")).get("e2e.run") == "err") // 2

    wait_for(lambda: all(t in seen() for t in expected) and tg_err_traces(seen()) >= 15, 30,
             what="the sampled traces")
    time.sleep(1.5)  # anything sampled wrongly would arrive by now
    where = seen()
    for tid, n in expected.items():
        assert sum(where[tid].values()) == n and len(where[tid]) == 1, (tid, where[tid])
    extra = {t for t in where if t not in expected}
    tg_runs = Counter()
    for i in range(3):
        for s in read_output(tmp_path / f"gw{i}.jsonl").spans:
            run = attrs(s["resource"].get("attributes")).get("e2e.run")
            if run:
                tg_runs[run] += 1
            elif s["span"]["traceId"] in extra:
                raise AssertionError(f"trace {s['span']['traceId']} sampled against the policies")
    assert tg_runs == {"err": 30}, tg_runs  # 15 traces of a parent and a child, all complete
    for t in extra:
        assert len(where[t]) == 1 and sum(where[t].values()) == 2  # telemetrygen's, whole
    # The gateways' own account, named as the Go collector's.
    sampled = sum(g.metrics().sum("otelcol_processor_tail_sampling_global_count_traces_sampled",
                                  sampled="true") for g in gateways)
    assert sampled == len(expected) + 15
    assert sum(g.metrics().sum("otelcol_processor_tail_sampling_count_traces_sampled",
                               policy="nothing", sampled="true") for g in gateways) == 0


def test_loadbalancing_bad_input_is_counted_and_logged_once(collector_factory, tmp_path):
    gw = free_port()
    collector_factory({
        "receivers": {"otlp": otlp_receiver(grpc_port=gw)},
        "exporters": {"file": {"path": str(tmp_path / "gw.jsonl")}},
        "service": {"pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["file"]}}},
    }, name="gw")

    def agent(name: str, resolver: dict, routing_key: str = "traceID"):
        port = free_port()
        c = collector_factory({
            "receivers": {"otlp": otlp_receiver(http_port=port)},
            "exporters": {"loadbalancing": {
                "routing_key": routing_key,
                "protocol": {"otlp": {"tls": {"insecure": True},
                                      "retry_on_failure": {"initial_interval": "100ms"}}},
                "resolver": resolver,
            }},
            "service": {"pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["loadbalancing"]}}},
        }, name=name)
        return c, port

    # Items without their routing key: routed all the same (by an empty key), counted, one log line.
    a, port = agent("no-key", {"static": {"hostnames": [f"127.0.0.1:{gw}"]}}, routing_key="service")
    for i in range(5):
        body = trace_request([({"tenant": "x"}, [{"seq": f"k{i}-{k}"} for k in range(4)])])
        assert post(port, "/v1/traces", body).status_code == 200
    wait_for_count(tmp_path / "gw.jsonl", "traces", 20)
    assert a.metrics().sum("weft_loadbalancer_missing_key_spans") == 20
    assert a.log_text().count("had no routing key") == 1

    # A name that does not resolve: counted each time, logged once, data kept in the queue.
    b, port = agent("bad-dns", {"dns": {"hostname": "weft-no-such-host.invalid", "port": str(gw),
                                         "interval": "100ms"}})
    body = trace_request([({"service.name": "shop"}, [{"seq": "dns-0"}])])
    assert post(port, "/v1/traces", body).status_code == 200  # queued
    wait_for(lambda: b.metrics().sum("otelcol_loadbalancer_num_resolutions", success="false") >= 3, 10,
             what="failed resolutions")
    assert b.log_text().count("weft-no-such-host.invalid failed") == 1
    assert b.metrics().sum("otelcol_loadbalancer_num_backends") == 0

    # localhost resolves (to 127.0.0.1, maybe ::1 too, where nothing listens: that one is
    # quarantined and its keys go to the other).
    c, port = agent("dns", {"dns": {"hostname": "localhost", "port": str(gw), "interval": "1s"}})
    for i in range(5):
        body = trace_request([({"service.name": "shop"}, [{"seq": f"l{i}-{k}"} for k in range(4)])])
        assert post(port, "/v1/traces", body).status_code == 200
    out = wait_for_count(tmp_path / "gw.jsonl", "traces", 40)
    assert sum(1 for s in out.spans if attrs(s["span"]["attributes"])["seq"].startswith("l")) == 20
    assert c.metrics().sum("otelcol_loadbalancer_num_resolutions", success="true") >= 1
