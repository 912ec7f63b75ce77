"""Two weft instances chained: A (otlp receiver -> batch -> otlp exporter, gzip)
forwards to B (otlp receiver -> file exporter)."""

from __future__ import annotations

from conftest import (
    as_int,
    attrs,
    file_pipeline_config,
    free_port,
    hex_id,
    read_output,
    run_sdk_client,
    spans_as_sent,
    wait_for,
    wait_for_count,
)

N = 500


def relay_config(a_grpc: int, a_http: int, b_grpc: int, batch_timeout: str, batch_size: int) -> dict:
    return {
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": f"127.0.0.1:{a_grpc}"},
                    "http": {"endpoint": f"127.0.0.1:{a_http}"},
                }
            }
        },
        "processors": {
            "batch": {"send_batch_size": batch_size, "send_batch_max_size": batch_size, "timeout": batch_timeout}
        },
        "exporters": {
            "otlp/b": {
                "endpoint": f"127.0.0.1:{b_grpc}",
                "tls": {"insecure": True},
                "compression": "gzip",
                "headers": {"x-weft-e2e": "relay"},
                "timeout": "5s",
                "sending_queue": {"queue_size": 100, "num_consumers": 2},
                "retry_on_failure": {
                    "enabled": True,
                    "initial_interval": "100ms",
                    "max_interval": "1s",
                    "max_elapsed_time": 0,
                },
            }
        },
        "service": {
            "pipelines": {
                "traces": {"receivers": ["otlp"], "processors": ["batch"], "exporters": ["otlp/b"]}
            }
        },
    }


def start_pair(collector_factory, tmp_path, batch_timeout: str, batch_size: int):
    out = tmp_path / "b.jsonl"
    b_grpc = free_port()
    b = collector_factory(file_pipeline_config(out, grpc_port=b_grpc, signals=["traces"]), name="weft-b")
    a_grpc, a_http = free_port(), free_port()
    a = collector_factory(relay_config(a_grpc, a_http, b_grpc, batch_timeout, batch_size), name="weft-a")
    return a, b, out, a_grpc


def check_output(out, sent: dict) -> None:
    by_id = spans_as_sent(out, sent, N)
    for exp in sent["spans"]:
        item = by_id[exp["span_id"]]
        sp = item["span"]
        assert hex_id(sp["traceId"]) == exp["trace_id"]
        assert hex_id(sp.get("parentSpanId", "")) == exp["parent_span_id"]
        assert as_int(sp["startTimeUnixNano"]) == exp["start"]
        assert as_int(sp["endTimeUnixNano"]) == exp["end"]
        assert attrs(sp.get("attributes")) == exp["attributes"]
        assert attrs(item["resource"].get("attributes")).get("e2e.run_id") == sent["run_id"]
        assert item["scope"].get("name") == sent["scope_name"]


def test_relay_through_two_collectors(collector_factory, tmp_path):
    a, b, out, a_grpc = start_pair(collector_factory, tmp_path, batch_timeout="200ms", batch_size=100)
    sent = run_sdk_client("traces", "grpc", a_grpc, count=N, run_id="relay", batch=128)
    assert sent["exported"] == N
    wait_for_count(out, "traces", N, timeout=20)

    def a_sent_all():
        return a.metrics().sum("otelcol_exporter_sent_spans", exporter="otlp/b") == N

    wait_for(a_sent_all, 10, interval=0.2, what="A's otelcol_exporter_sent_spans == 500")
    m = a.metrics()
    assert m.sum("otelcol_receiver_accepted_spans", receiver="otlp", transport="grpc") == N
    assert m.sum("otelcol_exporter_send_failed_spans", exporter="otlp/b") == 0
    assert b.metrics().sum("otelcol_receiver_accepted_spans", receiver="otlp", transport="grpc") == N

    assert a.stop() == 0
    assert b.stop() == 0
    check_output(out, sent)


def test_shutdown_of_a_flushes_batch_to_b(collector_factory, tmp_path):
    # The batch processor holds everything (size 10000, timeout 60s): nothing
    # reaches B until A's shutdown drains the batch and the exporter queue.
    a, b, out, a_grpc = start_pair(collector_factory, tmp_path, batch_timeout="60s", batch_size=10000)
    sent = run_sdk_client("traces", "grpc", a_grpc, count=N, run_id="drain", batch=128)
    assert sent["exported"] == N
    assert read_output(out, strict=False).span_count == 0
    assert a.stop() == 0
    # A exited 0 after draining: B has everything already (allow it to finish writing).
    wait_for_count(out, "traces", N, timeout=10)
    assert b.stop() == 0
    check_output(out, sent)
