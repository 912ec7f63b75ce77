"""Plugin packages end to end (docs/packages.md), against a real Debian `docker-registry`
started on loopback with TLS from a test CA and htpasswd (bcrypt) auth: package, sign,
push, pull, verify, run from oci:// and from the lock with the registry stopped; the trust
policy refusing tampered, unsigned, wrongly signed, downgraded and ABI 2 packages at start
and at hot reload (and letting them through under `audit`, with the reason in the audit
log); the registry's errors; an OCI layout carried to a weft with no registry; search."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import bcrypt
import pytest
import requests
from PIL import Image

from conftest import CollectorExited, file_pipeline_config, free_port, read_output, wait_for
from peers import Peer, peer_binary
from pki import Authority

USER, PASSWORD = "publisher", "s3cret-pass"
PROCESSOR = "wasm/redact"


def module_path(name: str = "redact") -> Path:
    return Path(os.environ["WEFT_BIN"]).resolve().parent / "plugins" / f"{name}.wasm"


class Registry:
    """docker-registry serving HTTPS on loopback with basic auth from an htpasswd file."""

    def __init__(self, workdir: Path, notify: str | None = None):
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.host = f"127.0.0.1:{free_port()}"
        self.data = workdir / "data"
        ca = Authority(workdir / "pki", "registry-ca")
        self.ca_file = ca.ca_file
        server = ca.issue("registry")
        hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=5)).decode()
        (workdir / "htpasswd").write_text(f"{USER}:{hashed}\n")
        self.config = workdir / "registry.yml"
        self.config.write_text(json.dumps({
            "version": 0.1,
            "log": {"level": "warn"},
            "storage": {"filesystem": {"rootdirectory": str(self.data)}},
            "http": {"addr": self.host,
                     "tls": {"certificate": str(server.cert), "key": str(server.key)}},
            "auth": {"htpasswd": {"realm": "weft-test", "path": str(workdir / "htpasswd")}},
            # Notifications (pull and push events) to weft plugin index --listen.
            **({"notifications": {"endpoints": [{"name": "weft-index", "url": notify,
                                                 "timeout": "2s", "threshold": 3,
                                                 "backoff": "1s"}]}} if notify else {}),
        }))
        self.peer: Peer | None = None
        self.start()

    def start(self) -> None:
        self.peer = Peer("docker-registry", [peer_binary("docker-registry"), "serve", str(self.config)],
                         self.workdir, f"https://{self.host}/v2/",
                         ready_kw={"verify": self.ca_file, "auth": (USER, PASSWORD)})

    def stop(self) -> None:
        self.peer.stop()

    def blob_file(self, digest: str) -> Path:
        h = digest.split(":", 1)[1]
        return self.data / "docker" / "registry" / "v2" / "blobs" / "sha256" / h[:2] / h / "data"


@pytest.fixture
def registry(tmp_path):
    r = Registry(tmp_path / "registry")
    yield r
    r.stop()


class Tool:
    """`weft plugin ...` with its own package cache and the registry's credentials in a
    Docker config file (as `docker login` writes it)."""

    def __init__(self, weft_bin: str, workdir: Path, registry: Registry | None):
        self.weft_bin = weft_bin
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.cache = workdir / "cache"
        self.env = {**os.environ, "WEFT_PLUGIN_CACHE": str(self.cache)}
        self.env.pop("WEFT_REGISTRY_USERNAME", None)
        self.env["DOCKER_CONFIG"] = str(workdir / "docker")
        if registry is not None:
            self.login(registry)

    def login(self, registry: Registry) -> None:
        """Adds the registry's credentials to the Docker config file."""
        config = self.workdir / "docker" / "config.json"
        config.parent.mkdir(parents=True, exist_ok=True)
        doc = json.loads(config.read_text()) if config.exists() else {"auths": {}}
        auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        doc["auths"][registry.host] = {"auth": auth}
        config.write_text(json.dumps(doc))

    def run(self, *args: str, ok: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
        r = subprocess.run([self.weft_bin, "plugin", *args], cwd=self.workdir, capture_output=True,
                           text=True, timeout=120, env={**self.env, **(env or {})})
        if ok:
            assert r.returncode == 0, f"weft plugin {' '.join(args)}:\n{r.stdout}{r.stderr}"
        return r


def digest_of(output: str) -> str:
    return "sha256:" + output.split("sha256:", 1)[1][:64]


def publish(tool: Tool, registry: Registry, version: str, key: str | None = "release",
            tag: str | None = None, abi: int | None = None, module: str = "redact") -> str:
    """Packages redact.wasm as `version`, signs it with `key` (None: unsigned) and pushes it
    to weft/redact:`tag` (default: the version); returns the manifest digest."""
    layout = tool.workdir / f"redact-{version}-{key}-{abi}.oci"
    shutil.rmtree(layout, ignore_errors=True)
    tool.run("package", "--wasm", str(module_path(module)), "--name", "redact", "--version", version,
             "--description", "masks personal data", "--license", "Apache-2.0", "--out", str(layout))
    if abi is not None:
        rewrite_abi(layout, abi)
    if key is not None:
        tool.run("sign", str(layout), "--key", str(tool.workdir / f"{key}.key"))
    pushed = tool.run("push", str(layout), f"oci://{registry.host}/weft/redact:{tag or version}",
                      "--ca-file", registry.ca_file)
    return digest_of(pushed.stdout)


def rewrite_abi(layout: Path, abi: int) -> None:
    """Makes the layout's package declare another ABI major (as a plugin built for a future
    weft would): weft's manifest layer is rewritten and the digests up the chain with it."""
    index = json.loads((layout / "index.json").read_text())
    blobs = layout / "blobs" / "sha256"

    def put(data: bytes) -> tuple[str, int]:
        d = hashlib.sha256(data).hexdigest()
        (blobs / d).write_bytes(data)
        return "sha256:" + d, len(data)

    entry = index["manifests"][0]
    manifest = json.loads((blobs / entry["digest"].split(":")[1]).read_bytes())
    for layer in manifest["layers"]:
        if layer["mediaType"] == "application/vnd.weft.plugin.manifest.v1+json":
            meta = json.loads((blobs / layer["digest"].split(":")[1]).read_bytes())
            meta["abi"] = abi
            layer["digest"], layer["size"] = put(json.dumps(meta).encode())
    entry["digest"], entry["size"] = put(json.dumps(manifest).encode())
    (layout / "index.json").write_text(json.dumps(index))


def pipeline(tmp_path: Path, http: int, plugin: str, plugins: dict, name: str = "weft") -> dict:
    out = tmp_path / f"{name}-out.jsonl"
    config = file_pipeline_config(out, http_port=http, signals=("logs",),
                                  processors={PROCESSOR: {"plugin": plugin}})
    config["service"]["plugins"] = plugins
    config["service"]["telemetry"] = {"audit": {"path": str(tmp_path / f"{name}-audit.jsonl")}}
    return config


def trust(tool: Tool, namespace: str, level: str = "enforce", key: str = "release") -> dict:
    return {"namespace": namespace, "keys": [str(tool.workdir / f"{key}.pub")], "level": level}


def send_and_check_redacted(port: int, out: Path, n: int) -> None:
    """A log record with an e-mail address: the redact plugin must mask it."""
    body = {"resourceLogs": [{"scopeLogs": [{"logRecords": [{
        "body": {"stringValue": f"record {n}"},
        "attributes": [{"key": "user.email", "value": {"stringValue": "alice@example.com"}}]}]}]}]}
    r = requests.post(f"http://127.0.0.1:{port}/v1/logs", json=body, timeout=10)
    assert r.status_code == 200, r.text

    def redacted() -> bool:
        if not out.exists():
            return False
        f = read_output(out, strict=False)
        for rec in f.logs:
            if rec["log"]["body"]["stringValue"] == f"record {n}":
                value = rec["log"]["attributes"][0]["value"]["stringValue"]
                assert value != "alice@example.com", "the plugin did not run"
                return True
        return False

    wait_for(redacted, timeout=20, what=f"record {n} in {out}")


def audit_events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def reload(weft) -> requests.Response:
    return requests.post(f"http://127.0.0.1:{weft.metrics_port}/plugins/reload", timeout=60)


@pytest.fixture
def tool(weft_bin, tmp_path, registry):
    t = Tool(weft_bin, tmp_path / "publisher", registry)
    t.key_ids = {}
    for name in ("release", "stranger"):
        made = t.run("keygen", name)
        t.key_ids[name] = made.stdout.split("key id ")[1].split(")")[0]
    return t


# --------------------------------------------------------------------------- the happy path


def test_package_sign_push_pull_verify_run_then_run_from_the_lock_without_the_registry(
        weft_bin, tmp_path, registry, tool, collector_factory):
    digest = publish(tool, registry, "1.2.0")
    # Another machine: a fresh cache, the registry's CA, credentials from the Docker config.
    user = Tool(weft_bin, tmp_path / "user", registry)
    shutil.copy(tool.workdir / "release.pub", user.workdir / "release.pub")
    pulled = user.run("pull", f"oci://{registry.host}/weft/redact:1.2.0", "--ca-file", registry.ca_file)
    assert digest in pulled.stdout and "signed" in pulled.stdout
    verified = user.run("verify", f"oci://{registry.host}/weft/redact:1.2.0", "--key", "release.pub")
    assert f"redact 1.2.0 ({digest}) signed by key" in verified.stdout
    wrong = user.run("verify", f"oci://{registry.host}/weft/redact:1.2.0", "--key",
                     str(tool.workdir / "stranger.pub"), ok=False)
    assert wrong.returncode == 1 and "unknown key" in wrong.stderr
    # A detached signature (weft plugin sign --out) verifies on its own, offline; one for
    # another package does not.
    layout = tool.workdir / "redact-1.2.0-release-None.oci"
    tool.run("sign", str(layout), "--key", str(tool.workdir / "release.key"), "--out", "detached.sig")
    user.run("verify", f"oci://{registry.host}/weft/redact:1.2.0", "--key", "release.pub",
             "--signature", str(tool.workdir / "detached.sig"))
    other = tool.workdir / "other.oci"
    tool.run("package", "--wasm", str(module_path("filter")), "--name", "redact", "--version", "1.2.0",
             "--out", str(other))
    r = tool.run("verify", str(other), "--key", "release.pub", "--signature", "detached.sig", ok=False)
    assert r.returncode == 1 and "another artifact" in r.stderr

    http = free_port()
    ref = f"oci://{registry.host}/weft/redact:^1.2"
    plugins = {"registries": {registry.host: {"ca_file": registry.ca_file}},
               "trust": [trust(user, f"{registry.host}/weft")]}
    config = pipeline(tmp_path, http, ref, plugins)
    weft = collector_factory(config, start=False, env=user.env)
    # weft validate loads the plugin as the start does: without a lock it resolves the tag ...
    valid = subprocess.run([weft_bin, "validate", "--config", str(weft.config_path)],
                           capture_output=True, text=True, env=user.env, timeout=60)
    assert valid.returncode == 0, valid.stderr
    # ... and with a lock that lacks the reference it says so.
    (weft.config_path.parent / "weft.lock").write_text('{"lockVersion": 1, "plugins": []}')
    valid = subprocess.run([weft_bin, "validate", "--config", str(weft.config_path)],
                           capture_output=True, text=True, env=user.env, timeout=60)
    assert valid.returncode == 1 and f"{ref} is not in" in valid.stderr and "weft plugin lock" in valid.stderr
    locked = user.run("lock", "--config", str(weft.config_path))
    assert f"redact 1.2.0 ({digest}" in locked.stdout
    lock = json.loads((weft.config_path.parent / "weft.lock").read_text())
    assert lock["plugins"][0]["reference"] == ref and lock["plugins"][0]["digest"] == digest
    weft.start()
    out = tmp_path / "weft-out.jsonl"
    send_and_check_redacted(http, out, 1)
    loaded = [e for e in audit_events(tmp_path / "weft-audit.jsonl") if e["event"] == "loaded"]
    assert f"version=1.2.0 digest={digest}" in loaded[0]["detail"]
    assert weft.stop() == 0

    # The registry goes away: the lock is satisfied from the cache.
    registry.stop()
    weft.start()
    send_and_check_redacted(http, out, 2)
    assert weft.stop() == 0
    # Without the cache it cannot start, and says why.
    shutil.rmtree(user.cache)
    with pytest.raises(CollectorExited):
        weft.start()
    assert ref in weft.log_text() and "not in the package cache" in weft.log_text()
    registry.start()


def test_an_oci_layout_carried_to_a_weft_without_a_registry_runs_the_plugin(
        weft_bin, tmp_path, registry, tool, collector_factory):
    publish(tool, registry, "1.2.0")
    tool.run("pull", f"oci://{registry.host}/weft/redact:1.2.0", "--ca-file", registry.ca_file,
             "--out", str(tmp_path / "carried.oci"))
    registry.stop()
    # The second weft: its own empty cache, no registry, no credentials.
    isolated = Tool(weft_bin, tmp_path / "airgap", None)
    moved = isolated.workdir / "redact.oci"
    shutil.copytree(tmp_path / "carried.oci", moved)
    shutil.copy(tool.workdir / "release.pub", isolated.workdir / "release.pub")
    isolated.run("verify", str(moved), "--key", "release.pub")
    http = free_port()
    config = pipeline(tmp_path, http, str(moved),
                      {"trust": [trust(isolated, str(isolated.workdir))]}, name="airgap")
    weft = collector_factory(config, name="airgap", env=isolated.env)
    send_and_check_redacted(http, tmp_path / "airgap-out.jsonl", 1)
    assert weft.stop() == 0
    registry.start()


def test_search_lists_pushed_plugins_with_version_signer_and_permissions(tool, registry):
    publish(tool, registry, "1.2.0")
    publish(tool, registry, "1.10.0")
    found = tool.run("search", "redact", "--registry", registry.host, "--ca-file", registry.ca_file)
    line = next(l for l in found.stdout.splitlines() if "/weft/redact" in l)
    assert line.split()[:3] == [f"{registry.host}/weft/redact", "1.10.0", tool.key_ids["release"]]
    assert "metrics" in line
    assert "(no plugin matches)" in tool.run("search", "nothing-like-this", "--registry",
                                             registry.host, "--ca-file", registry.ca_file).stdout


# --------------------------------------------------------------------------- refusals

BAD = {
    "unsigned": (dict(key=None), "it is unsigned"),
    "wrong_key": (dict(key="stranger"), "signed by an unknown key"),
    "abi2": (dict(abi=2), "built for plugin ABI 2"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_package_is_refused_at_start_and_at_reload(case, tmp_path, registry, tool,
                                                         collector_factory):
    kw, reason = BAD[case]
    http = free_port()
    ref = f"oci://{registry.host}/weft/redact:stable"
    plugins = {"registries": {registry.host: {"ca_file": registry.ca_file}},
               "trust": [trust(tool, f"{registry.host}/weft")]}
    # At start.
    publish(tool, registry, "1.3.0", tag="stable", **kw)
    weft = collector_factory(pipeline(tmp_path, http, ref, plugins), start=False, env=tool.env)
    with pytest.raises(CollectorExited):
        weft.start()
    assert ref in weft.log_text() and reason in weft.log_text(), weft.log_tail()
    # At reload: a good version runs, the tag moves to the bad one, the reload is refused
    # and the good one keeps running.
    publish(tool, registry, "1.2.0", tag="stable")
    weft.start()
    send_and_check_redacted(http, tmp_path / "weft-out.jsonl", 1)
    publish(tool, registry, "1.3.0", tag="stable", **kw)
    r = reload(weft)
    assert r.status_code != 200 and ref in r.text and reason in r.text, r.text
    send_and_check_redacted(http, tmp_path / "weft-out.jsonl", 2)
    assert weft.stop() == 0
    events = audit_events(tmp_path / "weft-audit.jsonl")
    assert any(e["event"] == "reload_failed" and reason in e["detail"] for e in events)

    # Under audit the same package loads, and the audit log says why it would not have.
    # (An ABI 2 package declares an ABI its module does not speak: it never loads.)
    if case == "abi2":
        return
    plugins["trust"][0]["level"] = "audit"
    audit = collector_factory(pipeline(tmp_path, http, ref, plugins, name="audit"), name="audit",
                              env=tool.env)
    send_and_check_redacted(http, tmp_path / "audit-out.jsonl", 1)
    assert audit.stop() == 0
    events = audit_events(tmp_path / "audit-audit.jsonl")
    assert any(e["event"] == "trust_violation" and reason in e["detail"] for e in events), events


def test_a_downgrade_is_refused_at_reload(tmp_path, registry, tool, collector_factory):
    http = free_port()
    ref = f"oci://{registry.host}/weft/redact:stable"
    plugins = {"registries": {registry.host: {"ca_file": registry.ca_file}},
               "trust": [trust(tool, f"{registry.host}/weft")]}
    publish(tool, registry, "1.3.0", tag="stable")
    weft = collector_factory(pipeline(tmp_path, http, ref, plugins), env=tool.env)
    publish(tool, registry, "1.2.0", tag="stable")
    r = reload(weft)
    assert r.status_code != 200 and "older than the running 1.3.0" in r.text, r.text
    publish(tool, registry, "1.4.0", tag="stable")
    r = reload(weft)
    assert r.status_code == 200, r.text
    assert weft.stop() == 0
    reloaded = [e for e in audit_events(tmp_path / "weft-audit.jsonl") if e["event"] == "reloaded"]
    assert "version=1.4.0" in reloaded[-1]["detail"]


def test_a_module_changed_in_the_registry_storage_is_refused(tmp_path, registry, tool,
                                                           collector_factory):
    digest = publish(tool, registry, "1.2.0")
    module_digest = "sha256:" + hashlib.sha256(module_path().read_bytes()).hexdigest()
    blob = registry.blob_file(module_digest)
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    http = free_port()
    ref = f"oci://{registry.host}/weft/redact:1.2.0"
    plugins = {"registries": {registry.host: {"ca_file": registry.ca_file}},
               "trust": [trust(tool, f"{registry.host}/weft", level="audit")]}
    weft = collector_factory(pipeline(tmp_path, http, ref, plugins), start=False, env=tool.env)
    with pytest.raises(CollectorExited):
        weft.start()
    assert ref in weft.log_text() and "with other content" in weft.log_text(), weft.log_tail()
    assert module_digest in weft.log_text()
    assert digest
    weft.returncode = weft.proc.returncode  # its exit was expected

    # At reload: 1.2.0 runs (restored), the tag moves to a 1.3.0 whose module (another one)
    # is changed in the registry's storage; the reload is refused and 1.2.0 keeps running.
    blob.write_bytes(module_path().read_bytes())
    publish(tool, registry, "1.2.0", tag="stable")
    plugins["trust"][0]["level"] = "enforce"
    stable = ref.replace(":1.2.0", ":stable")
    weft = collector_factory(pipeline(tmp_path, http, stable, plugins, name="reload"),
                             name="reload", env=tool.env)
    publish(tool, registry, "1.3.0", tag="stable", module="filter")
    other = "sha256:" + hashlib.sha256(module_path("filter").read_bytes()).hexdigest()
    data = bytearray(registry.blob_file(other).read_bytes())
    data[100] ^= 0xFF
    registry.blob_file(other).write_bytes(bytes(data))
    r = reload(weft)
    assert r.status_code != 200 and stable in r.text and "with other content" in r.text, r.text
    send_and_check_redacted(http, tmp_path / "reload-out.jsonl", 1)
    assert weft.stop() == 0


# --------------------------------------------------------------------------- the registry's errors


def test_private_registry_errors_are_clear(weft_bin, tmp_path, registry, tool):
    publish(tool, registry, "1.2.0")
    ref = f"oci://{registry.host}/weft/redact:1.2.0"
    other = Tool(weft_bin, tmp_path / "other", None)
    # No CA: the certificate cannot be verified.
    r = other.run("pull", ref, ok=False)
    assert r.returncode == 1 and "cannot verify the TLS certificate" in r.stderr and "ca_file" in r.stderr
    # No credentials, then wrong ones (from the environment).
    r = other.run("pull", ref, "--ca-file", registry.ca_file, ok=False)
    assert r.returncode == 1 and "asks for credentials and none were found" in r.stderr
    r = other.run("pull", ref, "--ca-file", registry.ca_file, ok=False,
                  env={"WEFT_REGISTRY_USERNAME": USER, "WEFT_REGISTRY_PASSWORD": "wrong"})
    assert r.returncode == 1 and f'refused the credentials of "{USER}"' in r.stderr
    r = other.run("pull", ref, "--ca-file", registry.ca_file,
                  env={"WEFT_REGISTRY_USERNAME": USER, "WEFT_REGISTRY_PASSWORD": PASSWORD})
    assert "pulled redact 1.2.0" in r.stdout
    # A tag that does not exist, and a version requirement nothing satisfies.
    r = tool.run("pull", ref.replace("1.2.0", "9.9.9"), "--ca-file", registry.ca_file, ok=False)
    assert r.returncode == 1 and "no weft/redact:9.9.9" in r.stderr
    r = tool.run("pull", ref.replace("1.2.0", "^2"), "--ca-file", registry.ca_file, ok=False)
    assert r.returncode == 1 and "satisfies ^2" in r.stderr


# --------------------------------------------------------------------------- certification

VECTORS = Path(__file__).resolve().parents[1] / "conformance" / "vectors" / "redact"


def test_certification_is_signed_attached_and_required_by_the_policy(
        tmp_path, registry, tool, collector_factory):
    ref = f"oci://{registry.host}/weft/redact:1.2.0"
    publish(tool, registry, "1.2.0")
    http = free_port()
    plugins = {"registries": {registry.host: {"ca_file": registry.ca_file}},
               "trust": [{**trust(tool, f"{registry.host}/weft"), "require": ["certified"]}]}
    weft = collector_factory(pipeline(tmp_path, http, ref, plugins), start=False, env=tool.env)
    with pytest.raises(CollectorExited):
        weft.start()
    assert "it is not certified" in weft.log_text(), weft.log_tail()

    # A certification whose tests fail is attached, says so, and does not satisfy the policy.
    broken = tmp_path / "broken-tests"
    shutil.copytree(VECTORS, broken)
    case = sorted(p for p in broken.iterdir() if (p / "expected.json").exists())[0]
    (case / "expected.json").write_text((case / "expected.json").read_text().replace("****", "????"))
    r = tool.run("certify", ref, "--key", "release.key", "--tests", str(broken), "--ca-file",
                 registry.ca_file, ok=False)
    assert r.returncode == 1 and "NOT certified" in r.stdout and f"test {case.name}: FAIL" in r.stdout
    shutil.rmtree(tool.cache)  # the collector pulls afresh
    with pytest.raises(CollectorExited):
        weft.start()
    assert "its certification does not verify or did not pass" in weft.log_text()

    r = tool.run("certify", ref, "--key", "release.key", "--tests", str(VECTORS), "--ca-file",
                 registry.ca_file)
    assert "certified redact 1.2.0" in r.stdout
    assert "hostile logs oversized: survived" in r.stdout and "cost logs:" in r.stdout
    shutil.rmtree(tool.cache)
    weft.start()
    send_and_check_redacted(http, tmp_path / "weft-out.jsonl", 1)
    assert weft.stop() == 0
    found = tool.run("search", "redact", "--registry", registry.host, "--ca-file", registry.ca_file)
    assert "yes" in next(l for l in found.stdout.splitlines() if "/weft/redact" in l)


# --------------------------------------------------------------------------- versions


def test_outdated_update_and_reload_roll_forward_and_back_through_the_lock(
        tmp_path, registry, tool, collector_factory):
    ref = f"oci://{registry.host}/weft/redact:^1.2"
    publish(tool, registry, "1.2.0")
    http = free_port()
    plugins = {"registries": {registry.host: {"ca_file": registry.ca_file}},
               "trust": [trust(tool, f"{registry.host}/weft")]}
    weft = collector_factory(pipeline(tmp_path, http, ref, plugins), start=False, env=tool.env)
    config = ["--config", str(weft.config_path)]
    tool.run("lock", *config)
    weft.start()
    publish(tool, registry, "1.3.0")
    publish(tool, registry, "2.0.0")
    outdated = tool.run("outdated", *config).stdout
    row = next(l for l in outdated.splitlines() if l.startswith(ref))
    assert row.split()[1:] == ["1.2.0", "1.3.0", "2.0.0"], outdated
    # The newest the requirement allows: 1.3.0, not 2.0.0.
    updated = tool.run("update", *config).stdout
    assert "redact 1.3.0" in updated and "(was 1.2.0)" in updated
    r = reload(weft)
    assert r.status_code == 200, r.text
    send_and_check_redacted(http, tmp_path / "weft-out.jsonl", 1)
    # Back to 1.2.0 on purpose: recorded in the lock as a rollback, which the reload allows.
    back = tool.run("update", ref, "--to", "1.2.0", *config).stdout
    assert "a rollback" in back
    assert json.loads((weft.config_path.parent / "weft.lock").read_text())["plugins"][0]["rollback"]
    r = reload(weft)
    assert r.status_code == 200, r.text
    r = tool.run("update", ref, "--to", "2.0.0", *config, ok=False)
    assert r.returncode == 2 and "does not satisfy" in r.stderr
    assert weft.stop() == 0
    events = audit_events(tmp_path / "weft-audit.jsonl")
    versions = [e["detail"].split("version=")[1].split()[0] for e in events
                if e["event"] in ("loaded", "reloaded")]
    assert versions == ["1.2.0", "1.3.0", "1.2.0"], versions
    assert any(e["event"] == "rollback" and "from 1.3.0 to 1.2.0" in e["detail"] for e in events)


# --------------------------------------------------------------------------- the index page


def test_index_page_renders_in_chromium_with_every_plugin_and_counted_pulls(
        weft_bin, tmp_path, tool, registry):
    # The registry fixture's registry is not used: this one sends its events to the index.
    events = tmp_path / "pulls.jsonl"
    port = free_port()
    receiver = subprocess.Popen([weft_bin, "plugin", "index", "--listen", f"127.0.0.1:{port}",
                                 "--events", str(events)], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _port_open(port), timeout=10, what="the event receiver")
        reg = Registry(tmp_path / "notifying", notify=f"http://127.0.0.1:{port}/events")
        try:
            _index_page(weft_bin, tmp_path, tool, reg, events)
        finally:
            reg.stop()
    finally:
        receiver.terminate()
        receiver.wait(timeout=10)


def _port_open(port: int) -> bool:
    import socket
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _index_page(weft_bin, tmp_path, tool, reg, events):
    tool.login(reg)
    publish(tool, reg, "1.2.0")
    publish(tool, reg, "1.3.0")
    filt = tool.workdir / "filter.oci"
    tool.run("package", "--wasm", str(module_path("filter")), "--name", "filter", "--version",
             "0.4.1", "--description", "drops debug spans", "--out", str(filt))
    tool.run("push", str(filt), f"oci://{reg.host}/weft/filter:0.4.1", "--ca-file", reg.ca_file)
    tool.run("certify", f"oci://{reg.host}/weft/redact:1.3.0", "--key", "release.key",
             "--tests", str(VECTORS), "--ca-file", reg.ca_file)
    # Three pulls of redact 1.3.0 by fresh caches.
    for n in range(3):
        puller = Tool(weft_bin, tmp_path / f"puller{n}", reg)
        puller.run("pull", f"oci://{reg.host}/weft/redact:1.3.0", "--ca-file", reg.ca_file)
    digest13 = digest_of(tool.run("pull", f"oci://{reg.host}/weft/redact:1.3.0", "--ca-file",
                                  reg.ca_file).stdout)

    def pulls_of(digest: str) -> int:
        if not events.exists():
            return 0
        return sum(1 for l in events.read_text().splitlines() if json.loads(l)["digest"] == digest)

    # certify's pull, three pullers, the pull above: 5 manifest pulls, delivered asynchronously.
    wait_for(lambda: pulls_of(digest13) >= 5, timeout=30, what="the registry's pull events")
    before = pulls_of(digest13)
    page = tmp_path / "index.html"
    tool.run("index", "--registry", reg.host, "--ca-file", reg.ca_file, "--events", str(events),
             "--key", "release.pub", "--out", str(page))
    text = page.read_text()
    # Self-contained: no scripts, no stylesheets or images from elsewhere.
    assert "<script" not in text and "<link" not in text and "src=" not in text

    chromium = shutil.which("chromium")
    assert chromium, "chromium is not installed: run scripts/setup-test-deps.sh"
    common = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
              f"--user-data-dir={tmp_path / 'chromium'}"]
    dom = subprocess.run([*common, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120)
    assert dom.returncode == 0, dom.stderr
    html = dom.stdout
    sections = html.count('<section class="plugin"')
    assert sections == 2, html
    for needle in ("redact", "filter", "1.3.0", "1.2.0", "0.4.1", "drops debug spans",
                   tool.key_ids["release"], "passed", "unsigned"):
        assert needle in html, needle
    # The versions table: redact 1.3.0 has its pulls and its measured cost.
    row13 = html.split("<td>1.3.0</td>")[1].split("</tr>")[0]
    assert "µs (logs)" in row13
    assert int(row13.rsplit("<td>", 1)[1].split("<")[0]) == before == 5

    shot = tmp_path / "index.png"
    r = subprocess.run([*common, "--window-size=1200,1400", f"--screenshot={shot}", page.as_uri()],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and shot.exists(), r.stderr
    img = Image.open(shot).convert("L")
    assert img.size == (1200, 1400)
    pixels = list(img.getdata())
    dark = sum(1 for p in pixels if p < 100) / len(pixels)
    # Text on a white page: some, not none and not all of it dark.
    assert 0.005 < dark < 0.5, dark
    # The title's band at the top holds text.
    top = img.crop((0, 0, 800, 80))
    assert min(top.getdata()) < 60


# --------------------------------------------------------------------------- publishing weft's own


def test_publish_packages_signs_and_pushes_every_example_and_bundled_plugin(
        weft_bin, tmp_path, tool, registry):
    plugins = Path(weft_bin).parent / "plugins"
    expected = {p.stem.replace("_", "-") for p in plugins.glob("*.wasm")
                if p.stem not in ("http_probe", "pull_probe")}
    for lang in ("cpp", "go", "rust", "as"):
        expected |= {f"{p.stem.replace('_', '-')}-{lang}" for p in (plugins / lang).glob("*.wasm")}
    assert {"redact", "elasticsearch", "prometheus-receiver", "redact-rust", "webhook-as"} <= expected
    script = Path(__file__).resolve().parents[2] / "scripts" / "publish-plugins.sh"
    r = subprocess.run([str(script)], cwd=tool.workdir, capture_output=True, text=True, timeout=900,
                       env={**tool.env, "REGISTRY": registry.host, "WEFT": weft_bin,
                            "KEY": str(tool.workdir / "release.key"), "CA_FILE": registry.ca_file})
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"published {len(expected)} plugins" in r.stdout
    found = tool.run("search", "--registry", registry.host, "--ca-file", registry.ca_file).stdout
    rows = {l.split()[0].split("/weft/")[1]: l.split() for l in found.splitlines() if "/weft/" in l}
    assert set(rows) == expected
    version = subprocess.run([weft_bin, "--version"], capture_output=True, text=True).stdout.split()[1]
    assert all(row[1] == version and row[2] == tool.key_ids["release"] for row in rows.values())
    # A user pulls one and verifies it offline, as the README shows.
    tool.run("pull", f"oci://{registry.host}/weft/redact:{version}", "--ca-file", registry.ca_file)
    tool.run("verify", f"oci://{registry.host}/weft/redact:{version}", "--key", "release.pub")


def test_a_mirror_serves_a_registry_namespace_when_the_registry_is_unreachable(
        tmp_path, registry, tool, collector_factory):
    # The mirror is the fixture's registry; the origin is a loopback port nobody listens on.
    origin = f"127.0.0.1:{free_port()}"
    layout = tool.workdir / "redact.oci"
    tool.run("package", "--wasm", str(module_path()), "--name", "redact", "--version", "1.2.0",
             "--out", str(layout))
    tool.run("sign", str(layout), "--key", "release.key")
    tool.run("push", str(layout), f"oci://{registry.host}/mirror/weft/redact:1.2.0", "--ca-file",
             registry.ca_file)
    ref = f"oci://{origin}/weft/redact:^1.2"
    plugins = {"registries": {origin: {"mirror": f"{registry.host}/mirror"},
                              registry.host: {"ca_file": registry.ca_file}},
               "trust": [trust(tool, f"{origin}/weft")]}
    http = free_port()
    weft = collector_factory(pipeline(tmp_path, http, ref, plugins), env=tool.env)
    send_and_check_redacted(http, tmp_path / "weft-out.jsonl", 1)
    assert weft.stop() == 0
    loaded = [e for e in audit_events(tmp_path / "weft-audit.jsonl") if e["event"] == "loaded"]
    assert "signer=" + tool.key_ids["release"] in loaded[0]["detail"]


# --------------------------------------------------------------------------- token auth


class TokenService:
    """A registry token service (the Docker token auth flow): answers GET /token with a JWT
    (ES256, its certificate in x5c) granting the requested scopes to USER:PASSWORD."""

    def __init__(self, workdir: Path):
        import datetime
        import http.server
        import threading

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
        from cryptography.x509.oid import NameOID

        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "weft-test-token-issuer")])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(now + datetime.timedelta(days=1))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.bundle = workdir / "token-issuer.crt"
        self.bundle.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        der = base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()
        self.requests: list[str] = []
        service = self

        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                from urllib.parse import parse_qs, urlparse
                q = parse_qs(urlparse(self.path).query)
                service.requests.append(self.path)
                expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self.send_response(401)
                    self.end_headers()
                    return
                access = []
                for scope in q.get("scope", []):
                    kind, name, actions = scope.split(":")
                    access.append({"type": kind, "name": name, "actions": actions.split(",")})
                t = int(time.time())
                header = {"alg": "ES256", "typ": "JWT", "x5c": [der]}
                claims = {"iss": "weft-test-issuer", "sub": USER, "aud": q["service"][0],
                          "exp": t + 300, "nbf": t - 10, "iat": t, "jti": f"{t}-{len(service.requests)}",
                          "access": access}
                signing = (b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode()))
                r, s = decode_dss_signature(service.key.sign(signing.encode(), ec.ECDSA(hashes.SHA256())))
                token = signing + "." + b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
                body = json.dumps({"token": token, "expires_in": 300}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.realm = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


def test_bearer_token_auth_through_the_registry_token_service(weft_bin, tmp_path, tool):
    tokens = TokenService(tmp_path)
    workdir = tmp_path / "token-registry"
    workdir.mkdir()
    host = f"127.0.0.1:{free_port()}"
    config = workdir / "registry.yml"
    config.write_text(json.dumps({
        "version": 0.1, "log": {"level": "warn"},
        "storage": {"filesystem": {"rootdirectory": str(workdir / "data")}},
        "http": {"addr": host},
        "auth": {"token": {"realm": tokens.realm, "service": "weft-test-registry",
                           "issuer": "weft-test-issuer", "rootcertbundle": str(tokens.bundle)}},
    }))
    peer = Peer("docker-registry", [peer_binary("docker-registry"), "serve", str(config)], workdir,
                f"http://{host}/", ready_kw={})
    try:
        layout = tool.workdir / "redact.oci"
        tool.run("package", "--wasm", str(module_path()), "--name", "redact", "--version", "1.2.0",
                 "--out", str(layout))
        tool.run("sign", str(layout), "--key", "release.key")
        creds = {"WEFT_REGISTRY_USERNAME": USER, "WEFT_REGISTRY_PASSWORD": PASSWORD}
        pushed = tool.run("push", str(layout), f"oci://{host}/weft/redact:1.2.0", env=creds)
        assert "pushed redact 1.2.0" in pushed.stdout
        assert any("scope=repository%3Aweft%2Fredact%3Apull%2Cpush" in r or  # actions in either order
                   "scope=repository%3Aweft%2Fredact%3Apush%2Cpull" in r for r in tokens.requests), \
            tokens.requests
        puller = Tool(weft_bin, tmp_path / "token-puller", None)
        pulled = puller.run("pull", f"oci://{host}/weft/redact:1.2.0", env=creds)
        assert "pulled redact 1.2.0" in pulled.stdout and "signed" in pulled.stdout
        refused = puller.run("pull", f"oci://{host}/weft/redact:1.2.0", ok=False,
                             env={"WEFT_REGISTRY_USERNAME": USER, "WEFT_REGISTRY_PASSWORD": "wrong"})
        assert refused.returncode == 1 and "the token service of" in refused.stderr
        assert f'refused the credentials of "{USER}"' in refused.stderr
    finally:
        peer.stop()
        tokens.stop()
