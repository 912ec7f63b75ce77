"""The example redact plugin on real OTLP traffic: e-mail addresses, card numbers (Luhn),
IPv4 and IPv6 addresses in item and resource attributes and in log bodies, masked or
hashed, checked item by item in the file exporter's output, with the plugin's counters."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from conftest import (
    CLIENTS_DIR,
    any_value,
    attrs,
    free_port,
    otlp_receiver,
    post,
    read_output,
    run_client,
    wait_for_count,
)

EMAIL, CARD, IPV4, IPV6 = "email", "card", "ipv4", "ipv6"
KINDS = (EMAIL, CARD, IPV4, IPV6)
PROCESSOR = "wasm/redact"


def plugin_path() -> Path:
    return Path(os.environ["WEFT_BIN"]).resolve().parent / "plugins" / "redact.wasm"


# --------------------------------------------------------------------------- test data
#
# A string value with personal data is a list of plain text and (kind, value) pairs: the
# pairs are what the plugin must find. A plain str is a value it must leave alone (also
# when it looks like personal data: allow-listed keys, non-Luhn numbers, not-quite IPs).


def P(kind: str, value: str) -> tuple[str, str]:
    return (kind, value)


def luhn_ok(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()]
    total = 0
    for k, d in enumerate(reversed(digits)):
        if k % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


NOT_A_CARD = "4111 1111 1111 1112"  # 16 digits, fails Luhn
NOT_A_CARD_PLAIN = "1234567890123456"  # fails Luhn too
assert not luhn_ok(NOT_A_CARD) and not luhn_ok(NOT_A_CARD_PLAIN)

TRACE_RESOURCE = {
    "service.name": "checkout",
    "host.ip": [P(IPV4, "10.20.30.40")],
    "team.contact": ["on call: ", P(EMAIL, "ops@example.com")],
    "user.id": "owner@example.com",  # allow-listed
    "host.cpus": 8,
}

SPANS = [
    {
        "user.email": [P(EMAIL, "alice@example.com")],
        "user.id": "alice@example.com",  # allow-listed
        "http.client_ip": [P(IPV4, "192.168.0.17")],
        "http.status_code": 200,
    },
    {
        "payment.card": [P(CARD, "4111 1111 1111 1111")],
        "payment.card_dashed": [P(CARD, "5500-0000-0000-0004")],
        "payment.amex": [P(CARD, "378282246310005")],
        "payment.not_a_card": NOT_A_CARD,
        "order.id": NOT_A_CARD_PLAIN,
        "payment.retry": True,
    },
    {
        "net.peer": ["[", P(IPV6, "2001:db8::8a2e:370:7334"), "]:443"],
        "net.full": [P(IPV6, "2001:0db8:85a3:0000:0000:8a2e:0370:7334")],
        "net.loopback": [P(IPV6, "::1")],
        "net.mapped": [P(IPV6, "::ffff:192.0.2.33")],
        "app.version": "1.2.3.4.5",
        "net.bad_ip": "256.1.1.1",
        "clock": "12:30:45",
        "mac": "00:1a:2b:3c:4d:5e",
        "code": "std::vector<int>",
    },
    {
        "message": [
            "user ", P(EMAIL, "alice@example.com"), " from ", P(IPV4, "10.0.0.1"),
            " paid with ", P(CARD, "4111-1111-1111-1111"), " via ", P(IPV6, "fe80::1"), ".",
        ],
        "retries": 3,
        "ratio": 0.5,
    },
    {
        "http.route": "/checkout",
        "http.method": "GET",
        "note": "nothing personal: v2.1.0 at 13:05, 42 items, id 123456789012",
    },
]

LOG_RESOURCE = {"service.name": "billing", "host.ip": [P(IPV4, "172.16.5.4")]}

LOGS = [
    (
        ["login failed for ", P(EMAIL, "bob@example.org"), " from ", P(IPV6, "2001:db8:0:0:1::1")],
        {"client.ip": [P(IPV4, "203.0.113.9")]},
    ),
    (["charged card ", P(CARD, "4111111111111111"), " for order 1234"], {"user.id": "bob@example.org"}),
    ("cache warmed in 12 ms", {"note": "nothing to see"}),
    (42, {"email": ["write to ", P(EMAIL, "carol@example.net"), "."]}),
    (f"invoice {NOT_A_CARD} rejected", {}),
]

METRIC_RESOURCE = {"service.name": "gateway", "owner": ["team ", P(EMAIL, "gw-team@example.com")]}

POINTS = [
    {"client.ip": [P(IPV4, "198.51.100.7")], "route": "/"},
    {"peer": [P(IPV6, "::ffff:192.0.2.1")], "user": [P(EMAIL, "dave@example.com")]},
    {"route": "/health"},
]

ALLOW_KEYS = ["user.id"]


def raw(value):
    if isinstance(value, list):
        return "".join(p if isinstance(p, str) else p[1] for p in value)
    return value


def token(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def expected(value, mode: str = "mask", mask: str = "****", kinds=KINDS):
    """What the plugin must turn the value into."""
    if not isinstance(value, list):
        return value
    out = []
    for p in value:
        if isinstance(p, str):
            out.append(p)
        elif p[0] not in kinds:
            out.append(p[1])
        else:
            out.append(token(p[1]) if mode == "hash" else mask)
    return "".join(out)


def found(values, kinds=KINDS) -> Counter:
    c: Counter = Counter()
    for v in values:
        if isinstance(v, list):
            c.update(p[0] for p in v if not isinstance(p, str) and p[0] in kinds)
    return c


def expected_attrs(d: dict, **kw) -> dict:
    return {k: expected(v, **kw) for k, v in d.items()}


def raw_attrs(d: dict) -> dict:
    return {k: raw(v) for k, v in d.items()}


# --------------------------------------------------------------------------- requests


def any_pb(v):
    from opentelemetry.proto.common.v1 import common_pb2

    v = raw(v)
    if isinstance(v, bool):
        return common_pb2.AnyValue(bool_value=v)
    if isinstance(v, int):
        return common_pb2.AnyValue(int_value=v)
    if isinstance(v, float):
        return common_pb2.AnyValue(double_value=v)
    return common_pb2.AnyValue(string_value=v)


def add_attrs(field, d: dict) -> None:
    for k, v in d.items():
        field.add(key=k, value=any_pb(v))


def trace_request():
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

    req = trace_service_pb2.ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    add_attrs(rs.resource.attributes, TRACE_RESOURCE)
    ss = rs.scope_spans.add()
    ss.scope.name = "weft.e2e.redact"
    for i, a in enumerate(SPANS):
        sp = ss.spans.add()
        sp.trace_id = (0xB0000000000000000000000000000000 + i).to_bytes(16, "big")
        sp.span_id = (i + 1).to_bytes(8, "big")
        sp.name = f"redact-{i}"
        sp.start_time_unix_nano = 1_700_000_000_000_000_000 + i
        sp.end_time_unix_nano = 1_700_000_000_000_001_000 + i
        add_attrs(sp.attributes, a)
    return req


def log_request():
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2

    req = logs_service_pb2.ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    add_attrs(rl.resource.attributes, LOG_RESOURCE)
    sl = rl.scope_logs.add()
    sl.scope.name = "weft.e2e.redact"
    for i, (body, a) in enumerate(LOGS):
        lr = sl.log_records.add()
        lr.time_unix_nano = 1_700_000_000_000_000_000 + i
        lr.body.CopyFrom(any_pb(body))
        add_attrs(lr.attributes, {**a, "e2e.n": i})
    return req


def metric_request():
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2

    req = metrics_service_pb2.ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    add_attrs(rm.resource.attributes, METRIC_RESOURCE)
    sm = rm.scope_metrics.add()
    sm.scope.name = "weft.e2e.redact"
    m = sm.metrics.add()
    m.name = "e2e.connections"
    for i, a in enumerate(POINTS):
        dp = m.gauge.data_points.add()
        dp.time_unix_nano = 1_700_000_000_000_000_000 + i
        dp.as_double = float(i)
        add_attrs(dp.attributes, {**a, "e2e.n": i})
    return req


# --------------------------------------------------------------------------- collector


def redact_config(out: Path, grpc: int | None, http: int | None, plugin_config: dict,
                  signals=("traces", "metrics", "logs")) -> dict:
    return {
        "receivers": {"otlp": otlp_receiver(grpc, http)},
        "processors": {
            PROCESSOR: {
                "plugin": str(plugin_path()),
                "config": plugin_config,
                "limits": {"memory": "16MiB", "timeout": "200ms"},
                "on_error": "reject",  # a failing plugin must not let data through unredacted
            }
        },
        "exporters": {"file": {"path": str(out)}},
        "service": {
            "pipelines": {
                s: {"receivers": ["otlp"], "processors": [PROCESSOR], "exporters": ["file"]} for s in signals
            }
        },
    }


def assert_counters(weft, expect: Counter) -> None:
    m = weft.metrics()
    got = {k: m.sum("weft_plugin_redact_redactions", plugin=PROCESSOR, kind=k) for k in KINDS}
    lines = [ln for ln in m.text.splitlines() if ln.startswith("weft_plugin_redact_")]
    assert got == {k: float(expect.get(k, 0)) for k in KINDS}, lines
    assert m.sum("weft_plugin_errors", plugin=PROCESSOR) == 0
    assert m.sum("weft_plugin_items_in", plugin=PROCESSOR) == m.sum("weft_plugin_items_out", plugin=PROCESSOR)


def check_spans(f, resource: dict, spans: list[dict], **kw) -> None:
    assert f.span_count == len(spans), "redaction never adds or drops spans"
    by_name = {s["span"]["name"]: s for s in f.spans}
    assert len(by_name) == len(spans)
    for i, a in enumerate(spans):
        item = by_name[f"redact-{i}"]
        assert attrs(item["span"].get("attributes")) == expected_attrs(a, **kw), f"span {i}"
        assert attrs(item["resource"].get("attributes")) == expected_attrs(resource, **kw), f"span {i} resource"


def check_logs(f, resource: dict, logs: list, bodies: bool = True, **kw) -> None:
    assert f.log_count == len(logs)
    by_n = {attrs(r["log"].get("attributes")).get("e2e.n"): r for r in f.logs}
    for i, (body, a) in enumerate(logs):
        item = by_n[i]
        got = attrs(item["log"].get("attributes"))
        assert got == {**expected_attrs(a, **kw), "e2e.n": i}, f"log {i}"
        want_body = expected(body, **kw) if bodies else raw(body)
        assert any_value(item["log"].get("body")) == want_body, f"log {i} body"
        assert attrs(item["resource"].get("attributes")) == expected_attrs(resource, **kw), f"log {i} resource"


def check_points(f, resource: dict, points: list[dict], **kw) -> None:
    assert f.point_count == len(points)
    by_n = {attrs(p["point"].get("attributes")).get("e2e.n"): p for p in f.points}
    for i, a in enumerate(points):
        item = by_n[i]
        assert attrs(item["point"].get("attributes")) == {**expected_attrs(a, **kw), "e2e.n": i}, f"point {i}"
        assert item["point"]["asDouble"] == float(i)
        assert attrs(item["resource"].get("attributes")) == expected_attrs(resource, **kw)


# --------------------------------------------------------------------------- tests


def test_mask_mode_on_otlp_http(collector_factory, tmp_path):
    http = free_port()
    out = tmp_path / "out.jsonl"
    weft = collector_factory(redact_config(out, None, http, {"allow_keys": ALLOW_KEYS}))
    for path, req in (("/v1/traces", trace_request()), ("/v1/logs", log_request()),
                      ("/v1/metrics", metric_request())):
        r = post(http, path, req.SerializeToString())
        assert r.status_code == 200, r.text
    wait_for_count(out, "traces", len(SPANS))
    wait_for_count(out, "logs", len(LOGS))
    wait_for_count(out, "metrics", len(POINTS))
    # Every resource arrived in one batch: its redactions count once.
    values = (list(TRACE_RESOURCE.values()) + [v for a in SPANS for v in a.values()]
              + list(LOG_RESOURCE.values()) + [b for b, _ in LOGS] + [v for _, a in LOGS for v in a.values()]
              + list(METRIC_RESOURCE.values()) + [v for a in POINTS for v in a.values()])
    expect = found(values)
    assert expect == {EMAIL: 7, CARD: 5, IPV4: 6, IPV6: 7}
    assert_counters(weft, expect)
    assert weft.stop() == 0

    f = read_output(out)
    check_spans(f, TRACE_RESOURCE, SPANS)
    check_logs(f, LOG_RESOURCE, LOGS)
    check_points(f, METRIC_RESOURCE, POINTS)
    # Spot checks in plain words, beside the table-driven ones above.
    spans = {s["span"]["name"]: attrs(s["span"]["attributes"]) for s in f.spans}
    assert spans["redact-0"]["user.email"] == "****"
    assert spans["redact-0"]["user.id"] == "alice@example.com"
    assert spans["redact-1"]["payment.not_a_card"] == "4111 1111 1111 1112"
    assert spans["redact-3"]["message"] == "user **** from **** paid with **** via ****."
    assert spans["redact-4"] == raw_attrs(SPANS[4])
    assert attrs(f.spans[0]["resource"]["attributes"])["host.ip"] == "****"


def sdk_spec(resource: dict, spans=(), logs=()) -> dict:
    return {
        "resource": raw_attrs(resource),
        "spans": [{"name": f"redact-{i}", "attributes": raw_attrs(a)} for i, a in enumerate(spans)],
        "logs": [{"body": raw(b), "attributes": {**raw_attrs(a), "e2e.n": i}} for i, (b, a) in enumerate(logs)],
    }


def run_redact_client(tmp_path: Path, signal: str, protocol: str, port: int, spec: dict) -> dict:
    spec_path = tmp_path / f"spec-{signal}.json"
    spec_path.write_text(json.dumps(spec))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    p = run_client([sys.executable, str(CLIENTS_DIR / "redact_client.py"), "--signal", signal,
                    "--protocol", protocol, "--endpoint", f"127.0.0.1:{port}", "--spec", str(spec_path)],
                   env=env)
    assert p.returncode == 0, f"redact client failed\nstdout:\n{p.stdout[-3000:]}\nstderr:\n{p.stderr[-5000:]}"
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_hash_mode_on_sdk_traffic(collector_factory, tmp_path):
    grpc, http = free_port(), free_port()
    out = tmp_path / "out.jsonl"
    weft = collector_factory(redact_config(out, grpc, http, {"mode": "hash", "allow_keys": ALLOW_KEYS},
                                           signals=("traces", "logs")))
    traces = run_redact_client(tmp_path, "traces", "grpc", grpc, sdk_spec(TRACE_RESOURCE, spans=SPANS))
    logs = run_redact_client(tmp_path, "logs", "http", http, sdk_spec(LOG_RESOURCE, logs=LOGS))
    assert traces["exports"] == 1 and logs["exports"] == 1, (traces, logs)
    wait_for_count(out, "traces", len(SPANS))
    wait_for_count(out, "logs", len(LOGS))
    values = (list(TRACE_RESOURCE.values()) + [v for a in SPANS for v in a.values()]
              + list(LOG_RESOURCE.values()) + [b for b, _ in LOGS] + [v for _, a in LOGS for v in a.values()])
    assert_counters(weft, found(values))
    assert weft.stop() == 0

    f = read_output(out)
    check_spans(f, TRACE_RESOURCE, SPANS, mode="hash")
    check_logs(f, LOG_RESOURCE, LOGS, mode="hash")
    spans = {s["span"]["name"]: attrs(s["span"]["attributes"]) for s in f.spans}
    alice = "sha256:" + hashlib.sha256(b"alice@example.com").hexdigest()[:16]
    assert spans["redact-0"]["user.email"] == alice, "the same value gives the same token"
    assert spans["redact-3"]["message"].startswith(f"user {alice} from sha256:")
    assert spans["redact-1"]["payment.card"] == token("4111 1111 1111 1111")


def test_kinds_mask_and_bodies_off(collector_factory, tmp_path):
    http = free_port()
    out = tmp_path / "out.jsonl"
    config = {"mask": "[redacted]", "kinds": [EMAIL, IPV6], "bodies": False}
    weft = collector_factory(redact_config(out, None, http, config, signals=("traces", "logs")))
    for path, req in (("/v1/traces", trace_request()), ("/v1/logs", log_request())):
        r = post(http, path, req.SerializeToString())
        assert r.status_code == 200, r.text
    wait_for_count(out, "traces", len(SPANS))
    wait_for_count(out, "logs", len(LOGS))
    kinds = (EMAIL, IPV6)
    # No allow_keys: user.id is redacted like any other key.
    trace_resource = {**TRACE_RESOURCE, "user.id": [P(EMAIL, "owner@example.com")]}
    spans = [dict(a) for a in SPANS]
    spans[0]["user.id"] = [P(EMAIL, "alice@example.com")]
    logs = [(b, dict(a)) for b, a in LOGS]
    logs[1][1]["user.id"] = [P(EMAIL, "bob@example.org")]
    values = (list(trace_resource.values()) + [v for a in spans for v in a.values()]
              + list(LOG_RESOURCE.values()) + [v for _, a in logs for v in a.values()])  # no bodies
    assert_counters(weft, found(values, kinds))
    assert weft.stop() == 0

    f = read_output(out)
    kw = {"mask": "[redacted]", "kinds": kinds}
    check_spans(f, trace_resource, spans, **kw)
    check_logs(f, LOG_RESOURCE, logs, bodies=False, **kw)
    got = {s["span"]["name"]: attrs(s["span"]["attributes"]) for s in f.spans}
    assert got["redact-1"]["payment.card"] == "4111 1111 1111 1111", "cards are not looked for"
    assert got["redact-3"]["message"] == "user [redacted] from 10.0.0.1 paid with 4111-1111-1111-1111 via [redacted]."


def test_clean_batches_pass_unchanged(collector_factory, tmp_path):
    http = free_port()
    out = tmp_path / "out.jsonl"
    weft = collector_factory(redact_config(out, None, http, {}, signals=("traces",)))
    req = trace_request()
    for sp in req.resource_spans[0].scope_spans[0].spans:
        del sp.attributes[:]
        sp.attributes.add(key="http.route", value=any_pb("/v1/orders/42"))
    del req.resource_spans[0].resource.attributes[:]
    req.resource_spans[0].resource.attributes.add(key="service.name", value=any_pb("orders"))
    assert post(http, "/v1/traces", req.SerializeToString()).status_code == 200
    wait_for_count(out, "traces", len(SPANS))
    m = weft.metrics()
    assert not m.series("weft_plugin_redact_redactions", plugin=PROCESSOR)
    assert m.sum("weft_plugin_calls", plugin=PROCESSOR) == 1
    assert weft.stop() == 0
    f = read_output(out)
    assert {s["span"]["name"] for s in f.spans} == {f"redact-{i}" for i in range(len(SPANS))}
    for s in f.spans:
        assert attrs(s["span"]["attributes"]) == {"http.route": "/v1/orders/42"}
        assert attrs(s["resource"]["attributes"]) == {"service.name": "orders"}


def test_resources_are_redacted_once_per_batch(collector_factory, tmp_path):
    """Three resources in one batch, 40 spans each: every resource is edited (by its own
    index) and counted once, however many spans share it."""
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

    http = free_port()
    out = tmp_path / "out.jsonl"
    weft = collector_factory(redact_config(out, None, http, {"mode": "hash"}, signals=("traces",)))
    resources = [
        {"service.name": "a", "host.name": "web-1"},
        {"service.name": "b", "host.ip": [P(IPV4, "10.9.8.7")], "owner": [P(EMAIL, "b-team@example.com")]},
        {"service.name": "c", "host.ip": [P(IPV6, "2001:db8::c")]},
    ]
    req = trace_service_pb2.ExportTraceServiceRequest()
    for r, res in enumerate(resources):
        rs = req.resource_spans.add()
        add_attrs(rs.resource.attributes, res)
        ss = rs.scope_spans.add()
        for i in range(40):
            sp = ss.spans.add()
            sp.trace_id = (0xC0000000000000000000000000000000 + r).to_bytes(16, "big")
            sp.span_id = (r * 1000 + i + 1).to_bytes(8, "big")
            sp.name = f"r{r}-{i}"
            add_attrs(sp.attributes, {"client": [P(IPV4, f"192.0.2.{i}")]} if i % 2 else {"n": i})
    assert post(http, "/v1/traces", req.SerializeToString()).status_code == 200
    wait_for_count(out, "traces", 120)
    assert_counters(weft, Counter({EMAIL: 1, IPV4: 1 + 60, IPV6: 1}))
    assert weft.stop() == 0
    f = read_output(out)
    assert f.span_count == 120
    for s in f.spans:
        r, i = map(int, s["span"]["name"][1:].split("-"))
        assert attrs(s["resource"].get("attributes")) == expected_attrs(resources[r], mode="hash")
        want = {"client": token(f"192.0.2.{i}")} if i % 2 else {"n": i}
        assert attrs(s["span"].get("attributes")) == want


@pytest.mark.parametrize(
    "config,message",
    [
        ({"mode": "scramble"}, 'config.mode: unknown mode "scramble"'),
        ({"kinds": ["email", "phone"]}, 'config.kinds: unknown kind "phone"'),
        ({"allow_keys": "user.id"}, "config.allow_keys must be a list"),
        ({"bodies": "sometimes"}, "config.bodies must be true or false"),
    ],
)
def test_bad_config_is_refused(collector_factory, tmp_path, config, message):
    out = tmp_path / "out.jsonl"
    weft = collector_factory(redact_config(out, None, free_port(), config), start=False)
    p = subprocess.run(weft.argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert p.returncode != 0
    assert message in p.stdout + p.stderr, p.stdout + p.stderr
