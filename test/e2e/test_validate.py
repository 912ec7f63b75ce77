"""The command line: validate (with precise error paths), --version, components,
merging several --config files, and ${env:VAR} expansion."""

from __future__ import annotations

import copy
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import free_port, post, make_trace_request, port_open, read_output, wait_for, wait_for_count


def run(weft_bin: str, *args: str, env: dict | None = None, timeout: float = 20) -> subprocess.CompletedProcess:
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([weft_bin, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env=e)


def valid_config() -> dict:
    return {
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": "127.0.0.1:4317"},
                    "http": {"endpoint": "127.0.0.1:4318"},
                }
            }
        },
        "processors": {
            "batch": {"send_batch_size": 100, "timeout": "200ms"},
            "memory_limiter": {"check_interval": "1s", "limit_mib": 512, "spike_limit_mib": 128},
        },
        "exporters": {
            "otlp/2": {"endpoint": "127.0.0.1:4319", "tls": {"insecure": True}},
            "otlphttp": {"endpoint": "http://127.0.0.1:4320", "encoding": "json"},
            "debug": {"verbosity": "basic"},
            "file": {"path": "/tmp/weft-e2e-never-written.jsonl"},
        },
        "extensions": {"health_check": {"endpoint": "127.0.0.1:13133"}},
        "service": {
            "extensions": ["health_check"],
            "telemetry": {"metrics": {"address": "127.0.0.1:8888"}},
            "pipelines": {
                "traces": {"receivers": ["otlp"], "processors": ["memory_limiter", "batch"],
                           "exporters": ["otlp/2", "debug"]},
                "traces/b": {"receivers": ["otlp"], "processors": [], "exporters": ["file"]},
                "metrics": {"receivers": ["otlp"], "processors": ["batch"], "exporters": ["otlphttp"]},
                "logs": {"receivers": ["otlp"], "processors": [], "exporters": ["file", "debug"]},
            },
        },
    }


def write(tmp_path: Path, name: str, cfg) -> Path:
    p = tmp_path / name
    p.write_text(cfg if isinstance(cfg, str) else yaml.safe_dump(cfg, sort_keys=False))
    return p


def test_valid_config_validates(weft_bin, tmp_path):
    p = write(tmp_path, "valid.yaml", valid_config())
    r = run(weft_bin, "validate", "--config", str(p))
    assert r.returncode == 0, f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}"


def test_every_plugins_example_config_validates(weft_bin):
    root = Path(__file__).resolve().parents[2]
    examples = sorted(root.glob("plugins/*/example.yaml"))
    assert len(examples) >= 2
    for example in examples:
        r = subprocess.run([weft_bin, "validate", "--config", str(example)], cwd=root,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, f"{example}:\n{r.stdout}{r.stderr}"


def _unknown_type(c):
    c["exporters"]["nosuch"] = {}


def _undefined_exporter(c):
    c["service"]["pipelines"]["traces"]["exporters"] = ["otlp/2", "otlp/missing"]


def _bad_endpoint(c):
    c["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] = "not-a-host-port"


def _wrong_type(c):
    c["processors"]["batch"]["send_batch_size"] = "lots"


def _unknown_key(c):
    c["processors"]["batch"]["send_batch_sise"] = 10


def _empty_exporter_endpoint(c):
    c["exporters"]["otlp/2"]["endpoint"] = ""


def _undefined_receiver(c):
    c["service"]["pipelines"]["logs"]["receivers"] = ["otlp", "otlp/nope"]


# (case id, mutation, dotted YAML path that must appear in the error, words that must appear too)
BROKEN = [
    ("unknown_component_type", _unknown_type, "exporters", ["nosuch"]),
    ("undefined_exporter", _undefined_exporter, "service.pipelines.traces.exporters", ["otlp/missing"]),
    ("undefined_receiver", _undefined_receiver, "service.pipelines.logs.receivers", ["otlp/nope"]),
    ("bad_endpoint", _bad_endpoint, "receivers.otlp.protocols.grpc.endpoint", []),
    ("wrong_value_type", _wrong_type, "processors.batch.send_batch_size", []),
    ("unknown_key", _unknown_key, "processors.batch", ["send_batch_sise"]),
    ("empty_exporter_endpoint", _empty_exporter_endpoint, "exporters.otlp/2.endpoint", []),
]


@pytest.mark.parametrize("case,mutate,path,words", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_config_is_rejected(weft_bin, tmp_path, case, mutate, path, words):
    cfg = copy.deepcopy(valid_config())
    mutate(cfg)
    p = write(tmp_path, f"broken-{case}.yaml", cfg)
    r = run(weft_bin, "validate", "--config", str(p))
    assert r.returncode != 0, f"validate accepted a broken config ({case})\nstderr:\n{r.stderr}"
    err = r.stderr
    lines = [ln for ln in err.splitlines() if p.name in ln and path in ln]
    assert lines, (
        f"no stderr line names both the file {p.name!r} and the path {path!r}:\n{err}"
    )
    for w in words:
        assert any(w in ln for ln in lines), f"{w!r} not on the error line(s):\n{err}"


def test_broken_config_does_not_start(weft_bin, tmp_path):
    """Running (not just validating) a broken config fails fast with the same error."""
    cfg = copy.deepcopy(valid_config())
    _undefined_exporter(cfg)
    p = write(tmp_path, "broken-run.yaml", cfg)
    r = run(weft_bin, "--config", str(p), timeout=20)
    assert r.returncode != 0
    assert "service.pipelines.traces.exporters" in r.stderr


def test_invalid_yaml_is_rejected(weft_bin, tmp_path):
    p = write(tmp_path, "not-yaml.yaml", "receivers: [unclosed\n  exporters: {")
    r = run(weft_bin, "validate", "--config", str(p))
    assert r.returncode != 0
    assert p.name in r.stderr


def test_missing_config_file_is_rejected(weft_bin, tmp_path):
    r = run(weft_bin, "validate", "--config", str(tmp_path / "does-not-exist.yaml"))
    assert r.returncode != 0
    assert "does-not-exist.yaml" in r.stderr


def test_version(weft_bin):
    r = run(weft_bin, "--version")
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"weft \S+\n?", r.stdout), repr(r.stdout)


def test_components(weft_bin):
    r = run(weft_bin, "components")
    assert r.returncode == 0, r.stderr
    lines = {" ".join(ln.split()[:2]) for ln in r.stdout.splitlines() if ln.strip()}
    expected = {
        "receiver otlp",
        "processor batch",
        "processor memory_limiter",
        "exporter otlp",
        "exporter otlphttp",
        "exporter debug",
        "exporter file",
        "extension health_check",
    }
    assert expected <= lines, f"missing: {sorted(expected - lines)}\nstdout:\n{r.stdout}"
    # Each says what it is made of: native code, or a plugin weft ships, with its version.
    version = run(weft_bin, "--version").stdout.split()[1]
    assert "receiver otlp (native)" in r.stdout
    for kind, type_, plugin in (("receiver", "zipkin", "zipkin_receiver"),
                                ("exporter", "zipkin", "zipkin_exporter"),
                                ("receiver", "prometheus", "prometheus_receiver"),
                                ("exporter", "prometheusremotewrite", "prometheusremotewrite"),
                                ("exporter", "elasticsearch", "elasticsearch")):
        assert f"{kind} {type_} (plugin {plugin}.wasm {version})" in r.stdout, r.stdout


def test_two_configs_merge(collector_factory, weft_bin, tmp_path):
    """The second --config overrides one nested key; everything else from the
    first file stays (deep merge)."""
    out = tmp_path / "out.jsonl"
    grpc_port, http_first, http_second = free_port(), free_port(), free_port()
    base = {
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": f"127.0.0.1:{grpc_port}"},
                    "http": {"endpoint": f"127.0.0.1:{http_first}"},
                }
            }
        },
        "exporters": {"file": {"path": str(out)}},
        "service": {"pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["file"]}}},
    }
    override = {"receivers": {"otlp": {"protocols": {"http": {"endpoint": f"127.0.0.1:{http_second}"}}}}}
    over_path = write(tmp_path, "override.yaml", override)

    c = collector_factory(base, name="merged", start=False, extra_args=["--config", str(over_path)])
    r = run(weft_bin, "validate", "--config", str(c.config_path), "--config", str(over_path))
    assert r.returncode == 0, r.stderr

    c.config["receivers"]["otlp"]["protocols"]["http"]["endpoint"] = f"127.0.0.1:{http_second}"  # for readiness
    c.start()
    assert port_open(grpc_port), "grpc endpoint from the first file is gone: not a deep merge"
    assert not port_open(http_first), "http endpoint of the first file should have been overridden"
    req, ids = make_trace_request(3, tag="merged", seed=201)
    resp = post(http_second, "/v1/traces", req.SerializeToString())
    assert resp.status_code == 200
    wait_for_count(out, "traces", 3)
    assert c.stop() == 0
    assert sorted(read_output(out).span_ids()) == sorted(ids)


def test_env_expansion(collector_factory, weft_bin, tmp_path):
    out = tmp_path / "out.jsonl"
    port = free_port()
    cfg = {
        "receivers": {"otlp": {"protocols": {"http": {"endpoint": "127.0.0.1:${env:WEFT_E2E_HTTP_PORT}"}}}},
        "exporters": {"file": {"path": "${env:WEFT_E2E_OUT}"}},
        "service": {"pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["file"]}}},
    }
    env = {"WEFT_E2E_HTTP_PORT": str(port), "WEFT_E2E_OUT": str(out)}
    c = collector_factory(cfg, name="env", start=False, env=env)
    r = run(weft_bin, "validate", "--config", str(c.config_path), env=env)
    assert r.returncode == 0, r.stderr

    c.start()  # readiness by health_check; the receiver port is not literal in the config
    assert port_open(port), "receiver not listening on the port from ${env:WEFT_E2E_HTTP_PORT}"
    req, ids = make_trace_request(2, tag="env", seed=301)
    assert post(port, "/v1/traces", req.SerializeToString()).status_code == 200
    wait_for_count(out, "traces", 2)
    assert c.stop() == 0
    assert sorted(read_output(out).span_ids()) == sorted(ids)


def test_the_go_collectors_newer_component_names_are_accepted(collector_factory, tmp_path):
    """otlp_grpc, otlp_http and prometheus_remote_write (the Go collector's v0.161 names) are
    the otlp, otlphttp and prometheusremotewrite exporters; data flows through the first."""
    from test_wasm_exporter import Destination

    dest, port = Destination(), free_port()
    try:
        c = collector_factory({
            "receivers": {"otlp": {"protocols": {"http": {"endpoint": f"127.0.0.1:{port}"}}}},
            "exporters": {
                "otlp_http/out": {"endpoint": f"http://127.0.0.1:{dest.port}", "compression": "none"},
                "otlp_grpc": {"endpoint": f"127.0.0.1:{free_port()}", "tls": {"insecure": True}},
                "prometheus_remote_write": {"endpoint": f"http://127.0.0.1:{free_port()}/api/v1/write"},
            },
            "service": {"pipelines": {
                "traces": {"receivers": ["otlp"], "exporters": ["otlp_http/out"]},
                "traces/2": {"receivers": ["otlp"], "exporters": ["otlp_grpc"]},
                "metrics": {"receivers": ["otlp"], "exporters": ["prometheus_remote_write"]}}},
        })
        request, _ = make_trace_request(3)
        assert post(port, "/v1/traces", request.SerializeToString()).status_code == 200
        wait_for(lambda: dest.spans == 3, 10, what="three spans through otlp_http")
        m = c.metrics()
        assert m.sum("otelcol_exporter_sent_spans", exporter="otlp_http/out") == 3
    finally:
        dest.close()
