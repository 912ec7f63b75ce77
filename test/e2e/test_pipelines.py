"""Pipeline wiring: one receiver feeding named pipelines, fan-out to several
exporters, and the otlphttp exporter (protobuf and JSON) into another weft."""

from __future__ import annotations

import pytest

from conftest import (
    file_pipeline_config,
    free_port,
    make_trace_request,
    otlp_receiver,
    post,
    read_output,
    wait_for_count,
)

N = 120


def test_one_receiver_named_pipelines_and_fan_out(collector_factory, tmp_path):
    http = free_port()
    out_a1, out_a2, out_b = tmp_path / "a1.jsonl", tmp_path / "a2.jsonl", tmp_path / "b.jsonl"
    config = {
        "receivers": {"otlp": otlp_receiver(http_port=http)},
        "processors": {"batch": {"send_batch_size": 50, "timeout": "100ms"}},
        "exporters": {
            "file/a1": {"path": str(out_a1)},
            "file/a2": {"path": str(out_a2)},
            "file/b": {"path": str(out_b)},
            "debug": {"verbosity": "normal"},
        },
        "service": {
            "pipelines": {
                "traces/a": {"receivers": ["otlp"], "processors": [], "exporters": ["file/a1", "file/a2"]},
                "traces/b": {"receivers": ["otlp"], "processors": ["batch"], "exporters": ["file/b", "debug"]},
            }
        },
    }
    weft = collector_factory(config)
    sent: set[str] = set()
    for k in range(4):
        req, ids = make_trace_request(N // 4, tag=f"fan{k}", seed=k + 1)
        assert post(http, "/v1/traces", req.SerializeToString()).status_code == 200
        sent.update(ids)
    for out in (out_a1, out_a2, out_b):
        wait_for_count(out, "traces", N)
    assert weft.stop() == 0
    for out in (out_a1, out_a2, out_b):
        f = read_output(out)
        assert f.span_count == N, out
        assert set(f.span_ids()) == sent, out
    log = weft.log_text()
    assert "span fan0-0" in log, "debug exporter (normal) prints one line per span"


@pytest.mark.parametrize("encoding", ["proto", "json"])
def test_otlphttp_exporter_into_weft(collector_factory, tmp_path, encoding):
    out = tmp_path / "b.jsonl"
    b_http = free_port()
    collector_factory(file_pipeline_config(out, http_port=b_http, signals=["traces"]), name="weft-b")
    a_http = free_port()
    config = {
        "receivers": {"otlp": otlp_receiver(http_port=a_http)},
        "exporters": {
            "otlphttp": {
                "endpoint": f"http://127.0.0.1:{b_http}",
                "encoding": encoding,
                "compression": "gzip",
                "retry_on_failure": {"initial_interval": "100ms"},
            }
        },
        "service": {"pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["otlphttp"]}}},
    }
    a = collector_factory(config, name="weft-a")
    req, ids = make_trace_request(N, tag=f"http-{encoding}", seed=7)
    assert post(a_http, "/v1/traces", req.SerializeToString()).status_code == 200
    wait_for_count(out, "traces", N)
    assert a.metrics().sum("otelcol_exporter_sent_spans", exporter="otlphttp") == N
    assert a.stop() == 0
    f = read_output(out)
    assert f.span_count == N
    assert sorted(f.span_ids()) == sorted(ids)
