"""Shared fixtures and helpers for Weft's end-to-end tests.

The tests run the real `weft` binary (path in $WEFT_BIN) on loopback and talk
to it with real clients. Install the dependencies with
scripts/setup-test-deps.sh and run:

    WEFT_BIN=/path/to/weft $WEFT_CACHE/venv/bin/python -m pytest test/e2e
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterable

import pytest
import yaml

E2E_DIR = Path(__file__).resolve().parent
CLIENTS_DIR = E2E_DIR / "clients"
READY_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 30.0
LOG_TAIL_LINES = 80


# --------------------------------------------------------------------------- binaries


def weft_cache() -> Path:
    return Path(os.environ.get("WEFT_CACHE", str(Path.home() / ".cache" / "weft")))


@pytest.fixture(scope="session")
def weft_bin() -> str:
    path = os.environ.get("WEFT_BIN")
    if not path:
        pytest.fail(
            "WEFT_BIN is not set: point it at the weft binary to test, e.g. "
            "WEFT_BIN=$PWD/build/weft python -m pytest test/e2e",
            pytrace=False,
        )
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"WEFT_BIN={path!r} is not an executable file", pytrace=False)
    return os.path.abspath(path)


@pytest.fixture(scope="session")
def telemetrygen_bin() -> str:
    path = os.environ.get("TELEMETRYGEN") or str(weft_cache() / "bin" / "telemetrygen")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(
            f"telemetrygen not found at {path!r}: run scripts/setup-test-deps.sh "
            "or set TELEMETRYGEN",
            pytrace=False,
        )
    return path


# --------------------------------------------------------------------------- ports

_handed_out: set[int] = set()
_port_lock = threading.Lock()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    Never hands out the same port twice in one test session, so two calls in
    one test cannot collide even before either port is bound.
    """
    with _port_lock:
        for _ in range(100):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            if port not in _handed_out:
                _handed_out.add(port)
                return port
    raise RuntimeError("could not find a free port")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def check_no_crash() -> None:
    """Fails at once if a collector of the current test exited without being stopped."""
    for c in _ALL_COLLECTORS:
        if c.proc is not None and c.returncode is None and not c.signalled and c.proc.poll() is not None:
            c.returncode = c.proc.returncode  # report it once
            raise CollectorExited(f"{c.name} exited unexpectedly with code {c.proc.returncode}\n{c.log_tail()}")


def wait_for(pred: Callable[[], Any], timeout: float, interval: float = 0.05, what: str = "condition"):
    """Polls pred() until it returns a truthy value; returns it. Fails after timeout."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        check_no_crash()
        try:
            v = pred()
            if v:
                return v
        except CollectorExited:
            raise
        except Exception as e:  # noqa: BLE001 - keep polling, report the last one
            last_exc = e
        if time.monotonic() >= deadline:
            extra = f" (last error: {last_exc!r})" if last_exc else ""
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what}{extra}")
        time.sleep(interval)


# --------------------------------------------------------------------------- prometheus


_SAMPLE_RE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)"
    r"(?:\{(?P<labels>.*)\})?"
    r"\s+(?P<value>[^\s]+)(?:\s+-?\d+)?\s*$"
)
_LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"')


class Metrics:
    """Parsed Prometheus text exposition: a list of (name, labels, value)."""

    def __init__(self, text: str):
        self.text = text
        self.samples: list[tuple[str, dict[str, str], float]] = []
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            m = _SAMPLE_RE.match(line)
            if not m:
                continue
            labels = {
                k: v.encode().decode("unicode_escape") for k, v in _LABEL_RE.findall(m.group("labels") or "")
            }
            try:
                value = float(m.group("value"))
            except ValueError:
                continue
            self.samples.append((m.group("name"), labels, value))

    def series(self, name: str, **labels: str) -> list[tuple[str, dict[str, str], float]]:
        """Series called `name` (or `name_total`, as the OTel Prometheus exporter
        names counters) whose labels include all of `labels`."""
        names = {name, name + "_total"}
        return [
            s for s in self.samples
            if s[0] in names and all(s[1].get(k) == v for k, v in labels.items())
        ]

    def sum(self, name: str, **labels: str) -> float:
        return sum(v for _, _, v in self.series(name, **labels))

    def has(self, name: str) -> bool:
        return any(s[0] in (name, name + "_total") for s in self.samples)

    def __repr__(self) -> str:
        names = sorted({s[0] for s in self.samples})
        return f"Metrics({len(self.samples)} samples: {', '.join(names)})"


# --------------------------------------------------------------------------- collector


_ALL_COLLECTORS: list["Collector"] = []
_current_nodeid: str | None = None


def _deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


class Collector:
    """One weft process with a config written to the test's tmp dir.

    By default it adds a health_check extension (used for readiness) and the
    Prometheus self-metrics endpoint to the config.
    """

    def __init__(
        self,
        weft_bin: str,
        workdir: Path,
        config: dict,
        name: str = "weft",
        admin: bool = True,
        extra_args: Iterable[str] = (),
        env: dict[str, str] | None = None,
        preexec: Callable[[], None] | None = None,
    ):
        self.weft_bin = weft_bin
        self.preexec = preexec  # run in the child before weft starts (resource limits)
        self.name = name
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.health_port = None
        self.metrics_port = None
        config = dict(config)
        if admin:
            self.health_port = free_port()
            self.metrics_port = free_port()
            config = _deep_merge(
                config,
                {
                    "extensions": {"health_check": {"endpoint": f"127.0.0.1:{self.health_port}"}},
                    "service": {"telemetry": {"metrics": {"address": f"127.0.0.1:{self.metrics_port}"}}},
                },
            )
            exts = list(config["service"].get("extensions") or [])
            if "health_check" not in exts:
                exts.append("health_check")
            config["service"]["extensions"] = exts
        self.config = config
        self.config_path = self.workdir / f"{name}.yaml"
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        self.log_path = self.workdir / f"{name}.log"
        self.extra_args = list(extra_args)
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.returncode: int | None = None
        self.nodeid = _current_nodeid
        self.signalled = False
        self._log_file = None

    # -- lifecycle

    @property
    def argv(self) -> list[str]:
        return [self.weft_bin, "--config", str(self.config_path), *self.extra_args]

    def start(self, timeout: float = READY_TIMEOUT_S) -> "Collector":
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        self._log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.argv, stdout=self._log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            preexec_fn=self.preexec,
        )
        _ALL_COLLECTORS.append(self)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout

        def check() -> bool:
            if self.proc.poll() is not None:
                raise CollectorExited(
                    f"{self.name} exited with code {self.proc.returncode} during startup\n{self.log_tail()}"
                )
            if self.health_port:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/", timeout=1) as r:
                        if r.status != 200:
                            return False
                except (urllib.error.URLError, OSError):
                    return False
            return all(port_open(p) for p in self.listen_ports())

        while True:
            if check():
                return
            if time.monotonic() >= deadline:
                raise AssertionError(f"{self.name} not ready after {timeout}s\n{self.log_tail()}")
            time.sleep(0.05)

    def listen_ports(self) -> list[int]:
        """Ports of the otlp receivers' endpoints in the config."""
        ports = []
        for rid, rcfg in (self.config.get("receivers") or {}).items():
            for proto in ((rcfg or {}).get("protocols") or {}).values():
                ep = (proto or {}).get("endpoint")
                if isinstance(ep, str) and re.fullmatch(r"127\.0\.0\.1:\d+", ep):
                    ports.append(int(ep.rsplit(":", 1)[1]))
        return ports

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig: int = signal.SIGTERM) -> None:
        self.signalled = True
        if self.alive():
            self.proc.send_signal(sig)

    def wait(self, timeout: float = STOP_TIMEOUT_S) -> int:
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.name} did not exit within {timeout}s of being signalled\n{self.log_tail()}")
        self._close_log()
        return self.returncode

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT_S) -> int:
        """Signals the process (SIGTERM by default) and returns its exit code."""
        if self.proc is None:
            return 0
        self.send_signal(sig)
        return self.wait(timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if self.proc is not None and self.returncode is None:
            self.returncode = self.proc.returncode
        self._close_log()

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    # -- observation

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, n: int = LOG_TAIL_LINES) -> str:
        lines = self.log_text().splitlines()
        head = f"--- last {min(n, len(lines))} of {len(lines)} lines of {self.log_path} ---"
        return "\n".join([head, *lines[-n:]])

    def metrics(self, timeout: float = 5.0) -> Metrics:
        assert self.metrics_port, "collector was started without the self-metrics endpoint"
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=timeout) as r:
            return Metrics(r.read().decode("utf-8", errors="replace"))

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.health_port}/"


class CollectorExited(AssertionError):
    pass


@pytest.fixture
def collector_factory(weft_bin, tmp_path):
    """Returns make(config, name=..., start=True, ...) -> Collector. Every
    collector made is killed at teardown."""
    made: list[Collector] = []

    def make(config: dict, name: str = "weft", start: bool = True, **kw) -> Collector:
        c = Collector(weft_bin, tmp_path, config, name=name, **kw)
        made.append(c)
        if start:
            c.start()
        return c

    yield make
    for c in made:
        c.kill()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    global _current_nodeid
    _current_nodeid = item.nodeid


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    # Show the log tail of every collector this test started and every one
    # still running (module-scoped collectors).
    for c in list(_ALL_COLLECTORS):
        if c.nodeid == item.nodeid or c.alive():
            rep.sections.append((f"weft log: {c.name} ({c.log_path})", c.log_tail()))


def pytest_sessionfinish(session, exitstatus):
    for c in _ALL_COLLECTORS:
        c.kill()


# --------------------------------------------------------------------------- configs


def otlp_receiver(grpc_port: int | None = None, http_port: int | None = None, **http_extra) -> dict:
    protocols: dict = {}
    if grpc_port is not None:
        protocols["grpc"] = {"endpoint": f"127.0.0.1:{grpc_port}"}
    if http_port is not None:
        protocols["http"] = {"endpoint": f"127.0.0.1:{http_port}", **http_extra}
    return {"protocols": protocols}


def file_pipeline_config(
    out: Path,
    grpc_port: int | None = None,
    http_port: int | None = None,
    signals: Iterable[str] = ("traces", "metrics", "logs"),
    processors: dict | None = None,
    http_extra: dict | None = None,
) -> dict:
    """otlp receiver -> [processors] -> file exporter, for the given signals."""
    processors = processors or {}
    return {
        "receivers": {"otlp": otlp_receiver(grpc_port, http_port, **(http_extra or {}))},
        "processors": processors,
        "exporters": {"file": {"path": str(out)}},
        "service": {
            "pipelines": {
                s: {"receivers": ["otlp"], "processors": list(processors), "exporters": ["file"]}
                for s in signals
            }
        },
    }


# --------------------------------------------------------------------------- OTLP/JSON output


def hex_id(v: Any) -> str:
    """Normalises a trace/span id from the file output to lowercase hex."""
    if v is None:
        return ""
    assert isinstance(v, str), f"id is not a string: {v!r}"
    assert re.fullmatch(r"[0-9a-f]*", v), f"id is not lowercase hex: {v!r}"
    return v


def any_value(v: dict | None) -> Any:
    """OTLP/JSON AnyValue -> Python value (int64 strings become ints)."""
    if not v:
        return None
    if "stringValue" in v:
        return v["stringValue"]
    if "intValue" in v:
        return int(v["intValue"])
    if "doubleValue" in v:
        return float(v["doubleValue"])
    if "boolValue" in v:
        return bool(v["boolValue"])
    if "bytesValue" in v:
        return base64.b64decode(v["bytesValue"])
    if "arrayValue" in v:
        return [any_value(x) for x in (v["arrayValue"].get("values") or [])]
    if "kvlistValue" in v:
        return attrs(v["kvlistValue"].get("values"))
    return None


def attrs(kvs: list | None) -> dict:
    return {kv["key"]: any_value(kv.get("value")) for kv in (kvs or [])}


def as_int(v: Any) -> int:
    """int64/uint64 fields may be strings (protobuf JSON mapping) or numbers."""
    if v is None:
        return 0
    return int(v)


_POINT_KINDS = ("gauge", "sum", "histogram", "exponentialHistogram", "summary")


class OtlpFile:
    """Contents of a file exporter's output, flattened per item.

    spans:   dicts {resource, scope, span}
    points:  dicts {resource, scope, metric, kind, point}
    logs:    dicts {resource, scope, log}
    resource/scope are the raw JSON objects; resource_attrs are pre-decoded.
    """

    def __init__(self, path: Path, strict: bool = True):
        self.path = Path(path)
        self.lines: list[dict] = []
        self.spans: list[dict] = []
        self.points: list[dict] = []
        self.logs: list[dict] = []
        self.unknown_lines = 0
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            raw = b""
        text_lines = raw.split(b"\n")
        for i, line in enumerate(text_lines):
            if not line.strip():
                continue
            last = i == len(text_lines) - 1  # no trailing newline yet: maybe half-written
            try:
                doc = json.loads(line)
            except json.JSONDecodeError:
                if last and not strict:
                    continue  # still being written; count it next time
                raise AssertionError(f"{self.path}: line {i + 1} is not JSON: {line[:200]!r}")
            self.lines.append(doc)
            self._add(doc)

    def _add(self, doc: dict) -> None:
        if "resourceSpans" in doc:
            for rs in doc["resourceSpans"] or []:
                res = rs.get("resource") or {}
                for ss in rs.get("scopeSpans") or []:
                    for sp in ss.get("spans") or []:
                        self.spans.append({"resource": res, "scope": ss.get("scope") or {}, "span": sp})
        elif "resourceMetrics" in doc:
            for rm in doc["resourceMetrics"] or []:
                res = rm.get("resource") or {}
                for sm in rm.get("scopeMetrics") or []:
                    for m in sm.get("metrics") or []:
                        for kind in _POINT_KINDS:
                            if kind in m:
                                for dp in (m[kind] or {}).get("dataPoints") or []:
                                    self.points.append(
                                        {"resource": res, "scope": sm.get("scope") or {}, "metric": m,
                                         "kind": kind, "point": dp}
                                    )
        elif "resourceLogs" in doc:
            for rl in doc["resourceLogs"] or []:
                res = rl.get("resource") or {}
                for sl in rl.get("scopeLogs") or []:
                    for lr in sl.get("logRecords") or []:
                        self.logs.append({"resource": res, "scope": sl.get("scope") or {}, "log": lr})
        else:
            self.unknown_lines += 1

    @property
    def span_count(self) -> int:
        return len(self.spans)

    @property
    def point_count(self) -> int:
        return len(self.points)

    @property
    def log_count(self) -> int:
        return len(self.logs)

    def span_ids(self) -> list[str]:
        return [hex_id(s["span"].get("spanId")) for s in self.spans]

    def spans_by_id(self) -> dict[str, dict]:
        return {hex_id(s["span"].get("spanId")): s for s in self.spans}

    def count(self, signal: str) -> int:
        return {"traces": self.span_count, "metrics": self.point_count, "logs": self.log_count}[signal]


@pytest.fixture
def weft_file(collector_factory, tmp_path):
    """A collector with every signal from OTLP (gRPC and HTTP) into the file exporter:
    (collector, output file, {"grpc": port, "http": port})."""
    out = tmp_path / "out.jsonl"
    grpc_port, http_port = free_port(), free_port()
    c = collector_factory(file_pipeline_config(out, grpc_port=grpc_port, http_port=http_port))
    return c, out, {"grpc": grpc_port, "http": http_port}


def spans_as_sent(out: Path, sent: dict, n: int) -> dict:
    """Checks that the file exporter's output holds exactly the n spans an SDK client
    (clients/sdk_client.py) reported sending, once each; returns them by span id."""
    f = read_output(out)
    assert f.span_count == n
    ids = f.span_ids()
    assert len(set(ids)) == n, "duplicate spans in output"
    by_id = f.spans_by_id()
    assert set(by_id) == {s["span_id"] for s in sent["spans"]}
    return by_id


def read_output(path: Path, strict: bool = True) -> OtlpFile:
    return OtlpFile(path, strict=strict)


def wait_for_count(path: Path, signal: str, expected: int, timeout: float = 20.0,
                   settle: float = 0.5) -> OtlpFile:
    """Waits until the file holds at least `expected` items of `signal`, then
    waits `settle` seconds more so extra (duplicate) items would show up too."""
    got = {"n": 0}

    def enough():
        f = read_output(path, strict=False)
        got["n"] = f.count(signal)
        return got["n"] >= expected

    try:
        wait_for(enough, timeout, interval=0.1, what=f"{expected} {signal} items in {path}")
    except CollectorExited:
        raise
    except AssertionError as e:
        raise AssertionError(f"{e}; have {got['n']}") from None
    time.sleep(settle)
    return read_output(path, strict=False)


# --------------------------------------------------------------------------- clients


def run_client(argv: list[str], timeout: float = 60.0, env: dict | None = None) -> subprocess.CompletedProcess:
    """Runs a client program to completion, but gives up at once (killing it)
    if a collector of the test dies meanwhile, and reports that instead."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            text=True, env=env)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                out, err = proc.communicate(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                check_no_crash()
                if time.monotonic() > deadline:
                    raise AssertionError(f"client {argv[:3]} did not finish within {timeout}s")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    if proc.returncode != 0:
        check_no_crash()
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def run_sdk_client(signal: str, protocol: str, port: int, count: int = 50, run_id: str = "run",
                   batch: int = 512, timeout: float = 60.0, extra: Iterable[str] = (),
                   expect_ok: bool = True) -> dict:
    """Runs clients/sdk_client.py in a subprocess; returns its JSON report. `extra` adds
    arguments (--ca, --client-cert, --client-key, --header, --timeout). With expect_ok=False
    the report comes back whatever happened, with "stderr" added."""
    argv = [
        sys.executable, str(CLIENTS_DIR / "sdk_client.py"),
        "--signal", signal, "--protocol", protocol,
        "--endpoint", f"127.0.0.1:{port}", "--count", str(count),
        "--run-id", run_id, "--batch", str(batch), *extra,
    ]
    env = dict(os.environ)
    # Keep the SDK from picking up anything from the environment.
    for k in list(env):
        if k.startswith("OTEL_"):
            del env[k]
    # requests prefers these to the exporter's own CA file (it passes it as the session's).
    for k in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        env.pop(k, None)
    p = run_client(argv, timeout=timeout, env=env)
    if not expect_ok:
        lines = p.stdout.strip().splitlines()
        report = json.loads(lines[-1]) if lines else {"ok": False}
        report["stderr"] = p.stderr
        return report
    assert p.returncode == 0, (
        f"sdk client failed (rc={p.returncode})\nstdout:\n{p.stdout[-3000:]}\nstderr:\n{p.stderr[-5000:]}"
    )
    return json.loads(p.stdout.strip().splitlines()[-1])


def post(port: int, path: str, body: bytes, content_type: str = "application/x-protobuf",
         headers: dict | None = None, method: str = "POST", timeout: float = 10.0):
    """A raw HTTP request; returns a requests.Response."""
    import requests

    h = {"Content-Type": content_type} if content_type else {}
    h.update(headers or {})
    return requests.request(method, f"http://127.0.0.1:{port}{path}", data=body, headers=h, timeout=timeout)


def gzip_bytes(b: bytes) -> bytes:
    return gzip.compress(b)


# --------------------------------------------------------------------------- protobuf builders


def make_trace_request(n_spans: int, tag: str = "e2e", seed: int = 0, service: str = "weft-e2e-raw"):
    """An ExportTraceServiceRequest with n_spans spans with distinct ids.

    Returns (request, [span_id_hex, ...])."""
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
    from opentelemetry.proto.common.v1 import common_pb2
    from opentelemetry.proto.trace.v1 import trace_pb2

    req = trace_service_pb2.ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.add(key="service.name", value=common_pb2.AnyValue(string_value=service))
    ss = rs.scope_spans.add()
    ss.scope.name = "weft.e2e.raw"
    ss.scope.version = "0.0.1"
    ids = []
    for i in range(n_spans):
        sp = ss.spans.add()
        n = seed * 1_000_000 + i + 1
        sp.trace_id = (0xA0000000000000000000000000000000 + seed).to_bytes(16, "big")
        sp.span_id = n.to_bytes(8, "big")
        sp.name = f"{tag}-{i}"
        sp.kind = trace_pb2.Span.SPAN_KIND_SERVER
        sp.start_time_unix_nano = 1_700_000_000_000_000_000 + n
        sp.end_time_unix_nano = 1_700_000_000_000_000_000 + n + 1000
        sp.attributes.add(key="e2e.tag", value=common_pb2.AnyValue(string_value=tag))
        ids.append(sp.span_id.hex())
    return req, ids
