"""Backpressure: A's otlp exporter points at a port where nothing listens yet, so
its small sending queue fills and the HTTP receiver answers 503 + Retry-After.
When B comes up on that port, everything A accepted arrives, exactly once."""

from __future__ import annotations

import time

from conftest import (
    file_pipeline_config,
    free_port,
    make_trace_request,
    post,
    read_output,
    wait_for,
    wait_for_count,
)

SPANS_PER_REQUEST = 10
MAX_REQUESTS = 60
QUEUE_SIZE = 5
EXPORTER = "otlp/down"


def test_queue_full_then_recovers(collector_factory, tmp_path):
    b_port = free_port()  # nothing listens here until B starts
    a_http = free_port()
    a_cfg = {
        "receivers": {"otlp": {"protocols": {"http": {"endpoint": f"127.0.0.1:{a_http}"}}}},
        "exporters": {
            EXPORTER: {
                "endpoint": f"127.0.0.1:{b_port}",
                "tls": {"insecure": True},
                "timeout": "1s",
                "sending_queue": {"queue_size": QUEUE_SIZE, "num_consumers": 1},
                "retry_on_failure": {
                    "enabled": True,
                    "initial_interval": "50ms",
                    "max_interval": "500ms",
                    "max_elapsed_time": 0,
                },
            }
        },
        "service": {"pipelines": {"traces": {"receivers": ["otlp"], "processors": [], "exporters": [EXPORTER]}}},
    }
    a = collector_factory(a_cfg, name="weft-a")

    accepted_ids: list[str] = []
    refused = 0
    statuses = []
    retry_after = None
    first_503 = None
    for i in range(MAX_REQUESTS):
        req, ids = make_request(i)
        r = post(a_http, "/v1/traces", req.SerializeToString())
        statuses.append(r.status_code)
        if r.status_code == 200:
            accepted_ids += ids
        elif r.status_code == 503:
            refused += SPANS_PER_REQUEST
            if first_503 is None:
                first_503 = i
                retry_after = r.headers.get("Retry-After")
        else:
            raise AssertionError(f"request {i}: unexpected status {r.status_code} {r.text[:200]}")
        # A few more requests after the first refusal; they must not be lost either.
        if first_503 is not None and i >= first_503 + 3:
            break
        time.sleep(0.01)

    assert first_503 is not None, f"no 503 within {MAX_REQUESTS} requests: {statuses}"
    assert retry_after is not None, "503 without a Retry-After header"
    assert accepted_ids, f"nothing was accepted before the queue filled: {statuses}"
    accepted = len(accepted_ids)
    # The queue holds QUEUE_SIZE requests plus at most num_consumers in flight
    # (and batches may be merged); it cannot absorb more than a handful.
    assert accepted <= (QUEUE_SIZE + 2) * SPANS_PER_REQUEST * 2, statuses

    m = a.metrics()
    assert m.sum("otelcol_exporter_queue_size", exporter=EXPORTER) > 0, m.series("otelcol_exporter_queue_size")
    assert m.sum("otelcol_receiver_refused_spans", receiver="otlp", transport="http") == refused
    assert m.sum("otelcol_receiver_accepted_spans", receiver="otlp", transport="http") == accepted
    assert m.sum("otelcol_exporter_enqueue_failed_spans", exporter=EXPORTER) > 0

    # Now the destination comes up; A's retries must deliver the backlog.
    out = tmp_path / "b.jsonl"
    b = collector_factory(file_pipeline_config(out, grpc_port=b_port, signals=["traces"]), name="weft-b")
    wait_for_count(out, "traces", accepted, timeout=30, settle=1.5)

    f = read_output(out, strict=False)
    assert f.span_count == accepted, f"B holds {f.span_count} spans, A accepted {accepted}"
    assert sorted(f.span_ids()) == sorted(accepted_ids)

    wait_for(lambda: a.metrics().sum("otelcol_exporter_queue_size", exporter=EXPORTER) == 0, 10,
             interval=0.2, what="A's exporter queue to drain")
    m = a.metrics()
    assert m.sum("otelcol_exporter_sent_spans", exporter=EXPORTER) == accepted

    assert a.stop() == 0
    assert b.stop() == 0
    f = read_output(out)
    assert f.span_count == accepted
    assert len(set(f.span_ids())) == accepted


def make_request(i: int):
    return make_trace_request(SPANS_PER_REQUEST, tag=f"bp-{i}", seed=i + 1)
