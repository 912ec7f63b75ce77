"""The bundled prometheus receiver (plugins/prometheus, src/components/bundled/prometheus.cc)
against real targets: Debian's prometheus-node-exporter and a Prometheus server's own
/metrics. What weft turns into OTLP is turned back into Prometheus samples and compared with
direct scrapes of the same targets, parsed by the Prometheus Python client's parser."""

from __future__ import annotations

import math
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from conftest import as_int, attrs, read_output, wait_for
from peers import node_exporter, peer_dir, prometheus  # noqa: F401 (fixtures)

KIND_OF_TYPE = {"counter": "sum", "gauge": "gauge", "unknown": "gauge", "untyped": "gauge",
                "histogram": "histogram", "summary": "summary"}


def bound(text: str) -> str:
    return repr(float(text))


def key(name: str, labels: dict) -> tuple:
    """A series' identity as Prometheus has it: a label with an empty value is no label."""
    labels = {k: bound(v) if k in ("le", "quantile") else v for k, v in labels.items() if v != ""}
    return name, tuple(sorted(labels.items()))


def direct_scrape(port: int) -> tuple[dict, dict]:
    """{sample key: value}, {sample key: the family's type} of a scrape by this test."""
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    values, types = {}, {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name.endswith("_created"):
                continue
            values[key(s.name, s.labels)] = s.value
            types[key(s.name, s.labels)] = family.type
    return values, types


def weft_samples(points: list[dict], drop: set[str]) -> dict:
    """{sample key: (value, OTLP kind, metric)} from the file exporter's points, the
    attributes in `drop` (the target's own labels) left out."""
    out = {}
    for p in points:
        m, dp, kind = p["metric"], p["point"], p["kind"]
        labels = {k: str(v) for k, v in attrs(dp.get("attributes")).items() if k not in drop}
        name = m["name"]
        if kind in ("gauge", "sum"):
            value = dp.get("asDouble", as_int(dp.get("asInt", 0)))
            out[key(name, labels)] = (float(value), kind, m)
        elif kind == "histogram":
            counts = [as_int(c) for c in dp.get("bucketCounts", [])]
            bounds = [float(b) for b in dp.get("explicitBounds", [])] + [math.inf]
            running = 0
            for b, c in zip(bounds, counts):
                running += c
                le = "+Inf" if math.isinf(b) else repr(b)
                out[key(name + "_bucket", {**labels, "le": le})] = (float(running), kind, m)
            out[key(name + "_count", labels)] = (float(as_int(dp.get("count", 0))), kind, m)
            out[key(name + "_sum", labels)] = (float(dp.get("sum", 0)), kind, m)
        elif kind == "summary":
            for q in dp.get("quantileValues", []):
                out[key(name, {**labels, "quantile": repr(float(q.get("quantile", 0)))})] = (
                    float(q.get("value", 0)), kind, m)
            out[key(name + "_count", labels)] = (float(as_int(dp.get("count", 0))), kind, m)
            out[key(name + "_sum", labels)] = (float(dp.get("sum", 0)), kind, m)
    return out


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def check_against_direct(points: list[dict], before: tuple[dict, dict], after: tuple[dict, dict],
                         drop: set[str]) -> int:
    """Every series in both direct scrapes is in weft's output with the right kind; a
    counter's value lies between them; a gauge that reads the same in both reads the same in
    weft's (all but a few: a Go runtime gauge may move and come back between the scrapes;
    constants — *_info, *_MemTotal_bytes — always)."""
    got = weft_samples(points, drop)
    (values_a, types), (values_b, _) = before, after
    checked = moved = 0
    for k, a in values_a.items():
        if k not in values_b:
            continue  # a series that came or went between the scrapes
        assert k in got, f"missing in weft's output: {k}"
        value, kind, metric = got[k]
        family_type = types[k]
        assert kind == KIND_OF_TYPE[family_type], (k, kind, family_type)
        if kind == "sum":
            assert metric["sum"].get("isMonotonic") is True, k
            assert metric["sum"].get("aggregationTemporality") in (2, "AGGREGATION_TEMPORALITY_CUMULATIVE")
        if kind == "histogram":
            assert metric["histogram"].get("aggregationTemporality") in (
                2, "AGGREGATION_TEMPORALITY_CUMULATIVE")
        b = values_b[k]
        if family_type in ("counter", "histogram") or k[0].endswith(("_count", "_sum")):
            assert min(a, b) <= value <= max(a, b), f"{k}: weft {value} not within {a}..{b}"
        elif same(a, b) and not same(value, a):
            assert not k[0].endswith(("_info", "_MemTotal_bytes")), f"{k}: weft {value}, direct {a}"
            moved += 1
        checked += 1
    assert moved <= checked // 20, f"{moved} of {checked} gauges differ from both direct scrapes"
    return checked


def config(out: Path, jobs: list[dict]) -> dict:
    return {
        "receivers": {"prometheus": {"config": {"scrape_configs": jobs}}},
        "exporters": {"file": {"path": str(out)}},
        "service": {"pipelines": {"metrics": {"receivers": ["prometheus"], "exporters": ["file"]}}},
    }


def by_job(points: list[dict]) -> dict[str, list[dict]]:
    jobs: dict[str, list[dict]] = {}
    for p in points:
        jobs.setdefault(attrs(p["resource"].get("attributes")).get("service.name"), []).append(p)
    return jobs


def test_scrapes_node_exporter_and_prometheus_as_a_direct_scrape_sees_them(
        collector_factory, tmp_path, node_exporter, prometheus):  # noqa: F811
    out = tmp_path / "out.jsonl"
    before = {"node": direct_scrape(node_exporter), "prom": direct_scrape(prometheus)}
    jobs = [
        {"job_name": "node", "scrape_interval": "1h",
         "static_configs": [{"targets": [f"127.0.0.1:{node_exporter}"], "labels": {"env": "test"}}]},
        {"job_name": "prom", "scrape_interval": "1h", "scrape_timeout": "5s",
         "static_configs": [{"targets": [f"localhost:{prometheus}"]}]},
    ]
    c = collector_factory(config(out, jobs))
    wait_for(lambda: set(by_job(read_output(out, strict=False).points)) == {"node", "prom"}, 30,
             what="a scrape of each job")
    after = {"node": direct_scrape(node_exporter), "prom": direct_scrape(prometheus)}
    jobs_out = by_job(read_output(out).points)

    node = jobs_out["node"]
    assert attrs(node[0]["resource"]["attributes"]) == {
        "service.name": "node", "service.instance.id": f"127.0.0.1:{node_exporter}",
        "server.address": "127.0.0.1", "server.port": str(node_exporter), "url.scheme": "http"}
    assert all(attrs(p["point"].get("attributes")).get("env") == "test" for p in node)
    assert check_against_direct(node, before["node"], after["node"], {"env"}) > 200
    prom = jobs_out["prom"]
    assert attrs(prom[0]["resource"]["attributes"])["service.instance.id"] == f"localhost:{prometheus}"
    assert check_against_direct(prom, before["prom"], after["prom"], set()) > 200
    # Descriptions from # HELP; start times on cumulative points, none on gauges.
    build = [p for p in prom if p["metric"]["name"] == "prometheus_build_info"][0]
    assert "build" in build["metric"].get("description", "").lower()
    assert "startTimeUnixNano" not in build["point"]
    counter = [p for p in node if p["kind"] == "sum"][0]
    assert 0 < as_int(counter["point"]["startTimeUnixNano"]) <= as_int(counter["point"]["timeUnixNano"])

    m = c.metrics()
    for target in (f"http://127.0.0.1:{node_exporter}/metrics", f"http://localhost:{prometheus}/metrics"):
        assert m.sum("weft_receiver_target_up", receiver="prometheus", target=target) == 1
        assert m.sum("weft_receiver_target_duration_seconds", receiver="prometheus", target=target) > 0
    assert m.sum("otelcol_receiver_accepted_metric_points", receiver="prometheus") == len(node) + len(prom)


def exposition_server(body: bytes):
    """A target on loopback that answers GET /metrics with body."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


EXPOSITION = b"""# HELP http_requests_total Requests served.
# TYPE http_requests_total counter
http_requests_total{code="200",job="inner"} 1027 1700000000000
http_requests_total{code="500"} 3
# TYPE latency_seconds histogram
latency_seconds_bucket{le="0.1"} 2
latency_seconds_bucket{le="0.5"} 5
latency_seconds_bucket{le="+Inf"} 6
latency_seconds_sum 1.75
latency_seconds_count 6
# TYPE rpc_seconds summary
rpc_seconds{quantile="0.5"} 0.2
rpc_seconds{quantile="0.99"} NaN
rpc_seconds_sum 4.5
rpc_seconds_count 17
# TYPE jobs_total counter
jobs_total{queue="a"} 5
jobs_created{queue="a"} 1700000000.5
# A comment, then a sample of no declared type
temperature{room="a \\"b\\"\\\\c\\nd",empty=""} -3.5e1
"""


def test_maps_each_type_and_refuses_what_is_not_the_text_format(collector_factory, tmp_path):
    out = tmp_path / "out.jsonl"
    good, bad = exposition_server(EXPOSITION), exposition_server(b"this is { not metrics\n")
    jobs = [{"job_name": "app", "scrape_interval": "1h",
             "static_configs": [{"targets": [f"127.0.0.1:{good.server_port}"], "labels": {"code": "x"}}]},
            {"job_name": "bad", "scrape_interval": "1h",
             "static_configs": [{"targets": [f"127.0.0.1:{bad.server_port}"]}]}]
    c = collector_factory(config(out, jobs))
    wait_for(lambda: read_output(out, strict=False).point_count >= 6, 30, what="the scrape")
    points = read_output(out).points
    metrics = {p["metric"]["name"]: p for p in points}
    assert sorted(metrics) == ["http_requests_total", "jobs_total", "latency_seconds", "rpc_seconds",
                               "temperature"]
    # A counter's _created sample (as the Prometheus clients write it) is its start time.
    jobs = [p for p in points if p["metric"]["name"] == "jobs_total"]
    assert len(jobs) == 1 and jobs[0]["point"]["asDouble"] == 5
    assert as_int(jobs[0]["point"]["startTimeUnixNano"]) == 1700000000_500000000
    reqs = [p for p in points if p["metric"]["name"] == "http_requests_total"]
    assert reqs[0]["metric"]["description"] == "Requests served."
    # job and the target's own label `code` are renamed: the scraped ones become exported_*.
    assert attrs(reqs[0]["point"]["attributes"]) == {"exported_code": "200", "exported_job": "inner",
                                                      "code": "x"}
    assert as_int(reqs[0]["point"]["timeUnixNano"]) == 1700000000000 * 1000000
    assert reqs[1]["point"]["asDouble"] == 3
    h = metrics["latency_seconds"]["point"]
    assert [as_int(x) for x in h["bucketCounts"]] == [2, 3, 1]
    assert h["explicitBounds"] == [0.1, 0.5] and as_int(h["count"]) == 6 and h["sum"] == 1.75
    s = metrics["rpc_seconds"]["point"]
    assert as_int(s["count"]) == 17 and s["sum"] == 4.5
    assert s["quantileValues"][0] == {"quantile": 0.5, "value": 0.2}
    t = metrics["temperature"]
    assert t["kind"] == "gauge" and t["point"]["asDouble"] == -35.0
    assert attrs(t["point"]["attributes"]) == {"room": 'a "b"\\c\nd', "code": "x"}  # empty="": no label
    m = c.metrics()
    assert m.sum("weft_receiver_target_up", receiver="prometheus",
                 target=f"http://127.0.0.1:{bad.server_port}/metrics") == 0
    assert "line 1" in c.log_text()
    good.shutdown()
    bad.shutdown()


def test_refuses_prometheus_settings_it_does_not_have(weft_bin, tmp_path):
    import subprocess

    import yaml

    cfg = config(tmp_path / "out.jsonl", [
        {"job_name": "k", "kubernetes_sd_configs": [{"role": "pod"}],
         "relabel_configs": [{"action": "keep"}]},
        {"job_name": "k", "scrape_interval": "5s", "scrape_timeout": "10s",
         "static_configs": [{"targets": ["no-port"]}]}])
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    r = subprocess.run([weft_bin, "validate", "--config", str(path)], capture_output=True, text=True)
    assert r.returncode != 0
    text = r.stdout + r.stderr
    for expected in ("kubernetes_sd_configs: is not supported", "relabel_configs: is not supported",
                     "\"k\" is used twice", "not longer than scrape_interval", "expected host:port"):
        assert expected in text, text


# ---------------------------------------------------------------- prometheusremotewrite


def metrics_request(now_ns: int):
    """Every metric kind the exporter maps, from one resource, with known values."""
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
    from opentelemetry.proto.common.v1 import common_pb2
    from opentelemetry.proto.metrics.v1 import metrics_pb2 as m

    def kv(target, key, value):
        target.add(key=key, value=common_pb2.AnyValue(string_value=value))

    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    for key, value in (("service.name", "checkout"), ("service.namespace", "shop"),
                       ("service.instance.id", "pod-1"), ("host.name", "node-7")):
        kv(rm.resource.attributes, key, value)
    sm = rm.scope_metrics.add()
    t0, t1 = now_ns - 2_000_000_000, now_ns - 1_000_000_000
    start = now_ns - 60_000_000_000

    g = sm.metrics.add(name="queue.depth", unit="{item}", description="Items waiting.")
    for t, v in ((t0, 5.0), (t1, 7.0)):
        p = g.gauge.data_points.add(time_unix_nano=t, as_double=v)
        kv(p.attributes, "queue", "a.b")
    c = sm.metrics.add(name="http.server.requests", unit="1")
    c.sum.is_monotonic, c.sum.aggregation_temporality = True, 2
    p = c.sum.data_points.add(start_time_unix_nano=start, time_unix_nano=t1, as_int=42)
    kv(p.attributes, "http.method", "GET")
    kv(p.attributes, "2xx", "yes")
    u = sm.metrics.add(name="memory.used", unit="By")
    u.sum.is_monotonic, u.sum.aggregation_temporality = False, 2
    u.sum.data_points.add(time_unix_nano=t1, as_double=1024.5)
    h = sm.metrics.add(name="rpc.duration", unit="ms")
    h.histogram.aggregation_temporality = 2
    h.histogram.data_points.add(start_time_unix_nano=start, time_unix_nano=t1, count=6, sum=4.2,
                                bucket_counts=[1, 2, 3], explicit_bounds=[0.5, 1.0])
    s = sm.metrics.add(name="gc.pause", unit="s")
    sp = s.summary.data_points.add(start_time_unix_nano=start, time_unix_nano=t1, count=9, sum=0.9)
    sp.quantile_values.add(quantile=0.5, value=0.05)
    sp.quantile_values.add(quantile=0.99, value=0.3)
    d = sm.metrics.add(name="delta.counter", unit="1")
    d.sum.is_monotonic, d.sum.aggregation_temporality = True, 1
    d.sum.data_points.add(start_time_unix_nano=t0, time_unix_nano=t1, as_int=3)
    return req, t0 // 1_000_000, t1 // 1_000_000


def expected_series(t0: int, t1: int) -> dict:
    """{frozenset(labels): [(ms, value)]}, written out by hand from the specification."""
    ident = {"job": "shop/checkout", "instance": "pod-1", "cluster": "c1"}

    def series(name, samples, **labels):
        return frozenset({"__name__": name, **ident, **labels}.items()), samples

    return dict([
        series("queue_depth", [(t0, 5.0), (t1, 7.0)], queue="a.b"),
        series("http_server_requests_total", [(t1, 42.0)], http_method="GET", key_2xx="yes"),
        series("memory_used_bytes", [(t1, 1024.5)]),
        series("rpc_duration_milliseconds_bucket", [(t1, 1.0)], le="0.5"),
        series("rpc_duration_milliseconds_bucket", [(t1, 3.0)], le="1"),
        series("rpc_duration_milliseconds_bucket", [(t1, 6.0)], le="+Inf"),
        series("rpc_duration_milliseconds_count", [(t1, 6.0)]),
        series("rpc_duration_milliseconds_sum", [(t1, 4.2)]),
        series("gc_pause_seconds", [(t1, 0.05)], quantile="0.5"),
        series("gc_pause_seconds", [(t1, 0.3)], quantile="0.99"),
        series("gc_pause_seconds_count", [(t1, 9.0)]),
        series("gc_pause_seconds_sum", [(t1, 0.9)]),
        series("target_info", [(t1, 1.0)], host_name="node-7"),
    ])


def stored_series(prometheus_port: int, selector: str) -> dict:
    r = requests.get(f"http://127.0.0.1:{prometheus_port}/api/v1/query",
                     params={"query": f"{selector}[10m]"}, timeout=10)
    r.raise_for_status()
    return {frozenset(s["metric"].items()): [(int(round(t * 1000)), float(v)) for t, v in s["values"]]
            for s in r.json()["data"]["result"]}


def test_remote_write_into_a_real_prometheus(collector_factory, prometheus):  # noqa: F811
    import time as _time

    from conftest import otlp_receiver, post

    port = __import__("conftest").free_port()
    c = collector_factory({
        "receivers": {"otlp": otlp_receiver(http_port=port)},
        "exporters": {"prometheusremotewrite": {
            "endpoint": f"http://127.0.0.1:{prometheus}/api/v1/write",
            "external_labels": {"cluster": "c1"},
            "retry_on_failure": {"initial_interval": "100ms"}}},
        "service": {"pipelines": {"metrics": {"receivers": ["otlp"],
                                              "exporters": ["prometheusremotewrite"]}}},
    })
    req, t0, t1 = metrics_request(_time.time_ns())
    assert post(port, "/v1/metrics", req.SerializeToString()).status_code == 200
    expected = expected_series(t0, t1)
    selector = '{job="shop/checkout"}'
    wait_for(lambda: len(stored_series(prometheus, selector)) == len(expected), 30,
             what="every series in Prometheus")
    assert stored_series(prometheus, selector) == expected
    # The delta sum is not remote-write material: sent as a partial result, counted.
    m = c.metrics()
    assert m.sum("otelcol_exporter_sent_metric_points", exporter="prometheusremotewrite") == 6
    assert m.sum("otelcol_exporter_send_failed_metric_points", exporter="prometheusremotewrite") == 1
    assert "delta.counter: a sum that is not cumulative" in c.log_text()
