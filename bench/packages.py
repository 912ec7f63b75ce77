#!/usr/bin/env python3
"""Start-up with plugin packages: weft with ten `wasm` processors whose plugins come from
`oci://` references satisfied by the lock and the local package cache (every blob's digest
and the Ed25519 signature checked at each start), against the same ten plugins named as
files. A local `docker-registry` (plain HTTP on loopback) serves the push and the lock, then
stops: the measured starts do not touch it. Time to ready is from exec to the health check
answering, alternating the two, `--runs` each; the median of each and their ratio go to
bench/results/packages.json for bench/report.py."""

import argparse
import datetime
import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status < 500:
                    return
        except OSError:
            pass
        time.sleep(0.005)
    raise RuntimeError(f"{url} not ready after {timeout}s")


def config(plugin_refs: list[str], health: int, trust_key: Path, cache: Path) -> str:
    processors = {f"wasm/p{i}": {"plugin": ref} for i, ref in enumerate(plugin_refs)}
    return json.dumps({
        "receivers": {"otlp": {"protocols": {"http": {"endpoint": f"127.0.0.1:{free_port()}"}}}},
        "processors": processors,
        "exporters": {"debug": {}},
        "extensions": {"health_check": {"endpoint": f"127.0.0.1:{health}"}},
        "service": {
            "extensions": ["health_check"],
            "telemetry": {"metrics": {"level": "none"}},
            "plugins": {"cache": str(cache), "trust": [{"namespace": "*", "keys": [str(trust_key)]}]},
            "pipelines": {"traces": {"receivers": ["otlp"], "processors": list(processors),
                                     "exporters": ["debug"]}},
        },
    })


def start_time(weft: Path, cfg: Path, health: int) -> float:
    t0 = time.monotonic()
    proc = subprocess.Popen([str(weft), "--config", str(cfg)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{health}/", 60)
        return time.monotonic() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", type=Path, default=ROOT / "build")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "packages.json")
    p.add_argument("--runs", type=int, default=7)
    args = p.parse_args()
    weft = args.build.resolve() / "weft"
    module = args.build.resolve() / "plugins" / "redact.wasm"
    registry_bin = shutil.which("docker-registry")
    if registry_bin is None:
        raise SystemExit("docker-registry is not installed (scripts/setup-test-deps.sh)")
    with tempfile.TemporaryDirectory(prefix="weft-packages-") as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "WEFT_PLUGIN_CACHE": str(tmp / "cache")}
        port = free_port()
        (tmp / "registry.yml").write_text(json.dumps({
            "version": 0.1, "log": {"level": "error"},
            "storage": {"filesystem": {"rootdirectory": str(tmp / "data")}},
            "http": {"addr": f"127.0.0.1:{port}"}}))
        registry = subprocess.Popen([registry_bin, "serve", str(tmp / "registry.yml")],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def tool(*a: str) -> None:
            subprocess.run([str(weft), "plugin", *a], cwd=tmp, env=env, check=True,
                           stdout=subprocess.DEVNULL)

        try:
            wait_http(f"http://127.0.0.1:{port}/v2/", 30)
            tool("keygen", "bench")
            refs = []
            for i in range(PLUGINS):
                layout = tmp / f"p{i}.oci"
                tool("package", "--wasm", str(module), "--name", f"p{i}", "--version", "1.0.0",
                     "--out", str(layout))
                tool("sign", str(layout), "--key", "bench.key")
                ref = f"oci://127.0.0.1:{port}/bench/p{i}:1.0.0"
                tool("push", str(layout), ref)
                refs.append(ref)
            health = free_port()
            oci = tmp / "oci.yaml"
            oci.write_text(config(refs, health, tmp / "bench.pub", tmp / "cache"))
            tool("lock", "--config", str(oci))
        finally:
            registry.terminate()
            registry.wait(timeout=30)
        files = tmp / "files.yaml"
        files.write_text(config([str(module)] * PLUGINS, health, tmp / "bench.pub", tmp / "cache"))
        times = {"files": [], "oci": []}
        for warm in (files, oci, files, oci):  # warm page caches and compile cache for both
            start_time(weft, warm, health)
        for _ in range(args.runs):
            times["files"].append(start_time(weft, files, health))
            times["oci"].append(start_time(weft, oci, health))
    medians = {k: statistics.median(v) for k, v in times.items()}
    result = {
        "generated_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "plugins": PLUGINS, "runs": args.runs, "module_bytes": module.stat().st_size,
        "seconds": times, "median_seconds": medians,
        "ratio_oci_to_files": medians["oci"] / medians["files"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"[packages] start with {PLUGINS} plugins: files {medians['files'] * 1000:.0f} ms, "
          f"oci:// from the cache {medians['oci'] * 1000:.0f} ms "
          f"(x{result['ratio_oci_to_files']:.2f})")


if __name__ == "__main__":
    main()
