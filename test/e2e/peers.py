"""Real backends the end-to-end tests talk to, each started on loopback by a test and
stopped after it: Prometheus and its node exporter (Debian packages), Jaeger and
VictoriaLogs (built by scripts/setup-test-deps.sh into $WEFT_CACHE/peers, keyed by
version). A missing peer fails the test with what to run; it is never skipped."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from conftest import free_port, weft_cache

JAEGER_VERSION = "v1.76.0"
VICTORIALOGS_VERSION = "v1.52.1"


def peer_binary(name: str) -> str:
    """A peer's executable: $WEFT_CACHE/peers/<name>-<version>/<name>, else on PATH."""
    versions = {"jaeger": JAEGER_VERSION, "victoria-logs": VICTORIALOGS_VERSION}
    if name in versions:
        path = weft_cache() / "peers" / f"{name}-{versions[name]}" / name
        if path.is_file():
            return str(path)
    found = shutil.which(name)
    if found:
        return found
    pytest.fail(f"peer {name} is not installed: run scripts/setup-test-deps.sh")


class Peer:
    """A peer process with its log in the test's directory."""

    def __init__(self, name: str, argv: list[str], workdir: Path, ready_url: str,
                 timeout: float = 60.0, ready_kw: dict | None = None):
        self.name = name
        self.log_path = workdir / f"{name}.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     cwd=workdir, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"{name} exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                if requests.get(ready_url, timeout=2, **(ready_kw or {})).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"{name} not ready at {ready_url}:\n{self.log_tail()}")
            time.sleep(0.2)

    def log_tail(self, n: int = 30) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def start_node_exporter(workdir: Path) -> tuple[Peer, int]:
    port = free_port()
    argv = [peer_binary("prometheus-node-exporter"), f"--web.listen-address=127.0.0.1:{port}"]
    return Peer("node-exporter", argv, workdir, f"http://127.0.0.1:{port}/metrics"), port


def start_prometheus(workdir: Path) -> tuple[Peer, int]:
    """A Prometheus server that scrapes nothing, with its remote-write receiver on."""
    port = free_port()
    config = workdir / "prometheus.yml"
    config.write_text("global: {scrape_interval: 1h}\nscrape_configs: []\n")
    argv = [peer_binary("prometheus"), f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--web.enable-remote-write-receiver"]
    return Peer("prometheus", argv, workdir, f"http://127.0.0.1:{port}/-/ready"), port


@pytest.fixture
def peer_dir(tmp_path) -> Path:
    d = tmp_path / "peers"
    d.mkdir()
    return d


@pytest.fixture
def node_exporter(peer_dir):
    peer, port = start_node_exporter(peer_dir)
    yield port
    peer.stop()


@pytest.fixture
def prometheus(peer_dir):
    peer, port = start_prometheus(peer_dir)
    yield port
    peer.stop()


def start_jaeger(workdir: Path) -> tuple[Peer, int, int]:
    """Jaeger (v2, in-memory storage) with its Zipkin receiver on: (peer, zipkin port,
    query HTTP port)."""
    zipkin, query, query_grpc = free_port(), free_port(), free_port()
    config = workdir / "jaeger.yaml"
    config.write_text(f"""
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces: {{receivers: [zipkin], exporters: [jaeger_storage_exporter]}}
  telemetry:
    metrics: {{level: none}}
extensions:
  jaeger_storage:
    backends: {{mem: {{memory: {{max_traces: 100000}}}}}}
  jaeger_query:
    storage: {{traces: mem}}
    http: {{endpoint: "127.0.0.1:{query}"}}
    grpc: {{endpoint: "127.0.0.1:{query_grpc}"}}
receivers:
  zipkin: {{endpoint: "127.0.0.1:{zipkin}"}}
exporters:
  jaeger_storage_exporter: {{trace_storage: mem}}
""")
    argv = [peer_binary("jaeger"), "--config", str(config)]
    peer = Peer("jaeger", argv, workdir, f"http://127.0.0.1:{query}/api/services")
    return peer, zipkin, query


@pytest.fixture
def jaeger(peer_dir):
    peer, zipkin, query = start_jaeger(peer_dir)
    yield zipkin, query
    peer.stop()


def start_victorialogs(workdir: Path) -> tuple[Peer, int]:
    port = free_port()
    argv = [peer_binary("victoria-logs"), f"-httpListenAddr=127.0.0.1:{port}",
            f"-storageDataPath={workdir / 'victorialogs-data'}"]
    return Peer("victoria-logs", argv, workdir, f"http://127.0.0.1:{port}/health"), port


@pytest.fixture
def victorialogs(peer_dir):
    peer, port = start_victorialogs(peer_dir)
    yield port
    peer.stop()
