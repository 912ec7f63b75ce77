"""The Go collector's configuration syntax as its users write it (issue 16, names and
syntax): `${file:...}`, YAML anchors and merge keys, the deprecated `logging` exporter with
its `loglevel`, `service.telemetry.metrics.readers` (a pull reader with a Prometheus
exporter) and `service.telemetry.logs.encoding: json`, in one configuration that weft runs."""

from __future__ import annotations

import json
import os

import requests

from conftest import free_port, wait_for


CONFIG = """
receivers:
  otlp:
    protocols:
      http:
        endpoint: ${{file:{endpoint_file}}}
processors:
  memory_limiter:
    check_interval: 1s
    limit_percentage: 50
    spike_limit_percentage: 10
  batch: &batching
    send_batch_size: 64
    timeout: 200ms
  batch/big:
    <<: *batching
    send_batch_size: 512
exporters:
  logging:
    loglevel: debug
  file:
    path: {out}
extensions:
  health_check:
    endpoint: 127.0.0.1:{health}
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: detailed
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: {metrics}
    logs:
      level: info
      encoding: json
  pipelines:
    logs: &pipeline
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [logging, file]
    logs/big:
      <<: *pipeline
      processors: [batch/big]
"""


def test_a_go_collector_style_configuration_runs(weft_bin, tmp_path):
    import subprocess

    http, health, metrics = free_port(), free_port(), free_port()
    (tmp_path / "endpoint").write_text(f"127.0.0.1:{http}\n")
    out = tmp_path / "out.jsonl"
    config = tmp_path / "collector.yaml"
    config.write_text(CONFIG.format(endpoint_file=tmp_path / "endpoint", out=out, health=health,
                                    metrics=metrics))
    log = tmp_path / "weft.log"
    with open(log, "wb") as sink:
        proc = subprocess.Popen([weft_bin, "--config", str(config)], stdout=sink, stderr=sink)
    try:
        def ready() -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{health}/", timeout=1).status_code == 200
            except requests.RequestException:
                assert proc.poll() is None, log.read_text()
                return False

        wait_for(ready, timeout=20, what="weft ready")
        body = {"resourceLogs": [{"scopeLogs": [{"logRecords": [
            {"body": {"stringValue": 'a "quoted" line\nand a second'}}]}]}]}
        r = requests.post(f"http://127.0.0.1:{http}/v1/logs", json=body, timeout=10)
        assert r.status_code == 200, r.text
        # Two pipelines (one from the merge key) each write the record to the file.
        wait_for(lambda: out.exists() and out.read_text().count("quoted") >= 2, timeout=20,
                 what="the record in both pipelines")
        text = requests.get(f"http://127.0.0.1:{metrics}/metrics", timeout=5).text
        assert "otelcol_receiver_accepted_log_records" in text
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0, log.read_text()
    lines = [l for l in log.read_text().splitlines() if l.strip()]
    records = [json.loads(l) for l in lines]  # every line is one JSON object
    assert all({"ts", "level", "logger", "msg"} <= set(r) for r in records)
    assert any(r["level"] == "warning" and '"logging" is a deprecated name of the exporter "debug"'
               in r["msg"] for r in records), lines
    # limit_percentage: a share of the cgroup's limit, or of the machine's memory.
    available = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    for f in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            value = open(f).read().strip()
        except OSError:
            continue
        if value != "max" and int(value) < min(available, 1 << 60):
            available = int(value)
            break
    limit = (available // 100 * 50) >> 20
    spike = (available // 100 * 10) >> 20
    assert any(r["logger"] == "processor/memory_limiter" and
               r["msg"].startswith(f"limit {limit} MiB, refusing above {limit - spike} MiB: 50% of "
                                   f"{available >> 20} MiB") for r in records), \
        [r["msg"] for r in records if "limit" in r["msg"]]
    # loglevel: debug is verbosity detailed: the record itself is in the log, quotes intact.
    assert any('a \\"quoted\\" line' in r["msg"] or 'a "quoted" line' in r["msg"] for r in records)
