"""TLS, mutual TLS and authenticators (bearertokenauth, basicauth) on the otlp receiver and
the otlp / otlphttp exporters: the OpenTelemetry Python SDK as the sender, a second weft as
the destination, and plain TLS handshakes (Python's ssl) for the failure cases."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import socket
import ssl
import subprocess
import time

import pytest

from conftest import (
    file_pipeline_config,
    free_port,
    read_output,
    run_sdk_client,
    wait_for,
    wait_for_count,
)
from pki import Authority

N = 20
PROTOCOLS = ["grpc", "http"]


@pytest.fixture
def pki(tmp_path):
    """Two CAs: `ca` issues the server and client certificates, `other` is a stranger."""
    ca = Authority(tmp_path / "pki", "weft-test-ca")
    other = Authority(tmp_path / "pki", "weft-other-ca")
    return {
        "ca": ca,
        "other": other,
        "server": ca.issue("server"),
        "client": ca.issue("client", client=True),
        "expired": ca.issue("expired", expired=True),
        "other_server": other.issue("other-server"),
        "other_client": other.issue("other-client", client=True),
    }


def tls_receiver_config(out, protocol: str, port: int, tls: dict, auth: str | None = None,
                        extensions: dict | None = None) -> dict:
    kw = {"grpc_port": port} if protocol == "grpc" else {"http_port": port}
    config = file_pipeline_config(out, signals=["traces"], **kw)
    proto = config["receivers"]["otlp"]["protocols"][protocol]
    if tls is not None:
        proto["tls"] = tls
    if auth:
        proto["auth"] = {"authenticator": auth}
    if extensions:
        config["extensions"] = extensions
        config["service"]["extensions"] = list(extensions)
    return config


def forwarding_config(a_port: int, exporter: str, b_port: int, scheme: str, **settings) -> dict:
    """weft A: OTLP/gRPC in on a_port, out through `exporter` to weft B on b_port."""
    endpoint = f"127.0.0.1:{b_port}" if exporter == "otlp" else f"{scheme}://127.0.0.1:{b_port}"
    return {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{a_port}"}}}},
        "exporters": {exporter: {"endpoint": endpoint, **settings}},
        "service": {"pipelines": {"traces": {"receivers": ["otlp"], "exporters": [exporter]}}},
    }


def handshake(port: int, ca: str, cert=None, alpn=None, max_version=None,
              ciphers=None) -> tuple[bool, str, str]:
    """A TLS handshake with 127.0.0.1:port trusting ca (and presenting cert, a Pair):
    (ok, error text, the server certificate's subject CN). A server that asks for a client
    certificate refuses in TLS 1.3 only after the handshake: a read shows it."""
    ctx = ssl.create_default_context(cafile=ca)
    if cert is not None:
        ctx.load_cert_chain(str(cert.cert), str(cert.key))
    if alpn:
        ctx.set_alpn_protocols(alpn)
    if max_version is not None:
        ctx.maximum_version = max_version
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                peer = s.getpeercert()
                cn = dict(x[0] for x in peer["subject"]).get("commonName", "")
                s.settimeout(0.5)
                try:
                    if s.recv(1) == b"":
                        return False, "closed by the server", cn
                except (socket.timeout, TimeoutError):
                    pass  # nothing to read: the server kept the connection
                return True, "", cn
    except (ssl.SSLError, OSError) as e:
        return False, str(e), ""


def sdk(protocol, port, extra, expect_ok=True, run_id="tls", timeout=None):
    args = list(extra)
    if timeout is not None:
        args += ["--timeout", str(timeout)]
    return run_sdk_client("traces", protocol, port, count=N, run_id=run_id, extra=args,
                          expect_ok=expect_ok)


# --------------------------------------------------------------------------- TLS


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_sdk_over_tls(collector_factory, tmp_path, pki, protocol):
    out, port = tmp_path / "out.jsonl", free_port()
    tls = {"cert_file": str(pki["server"].cert), "key_file": str(pki["server"].key)}
    c = collector_factory(tls_receiver_config(out, protocol, port, tls))
    assert "(TLS)" in c.log_text()
    sent = sdk(protocol, port, ["--ca", pki["ca"].ca_file])
    assert sent["ok"]
    f = wait_for_count(out, "traces", N)
    assert f.span_count == N
    # A client that does not trust the CA, and a plaintext client, are both turned away.
    ok, error, _ = handshake(port, pki["other"].ca_file)
    assert not ok and "CERTIFICATE_VERIFY_FAILED" in error
    plain = sdk(protocol, port, [], expect_ok=False, run_id="plain", timeout=3)
    assert not plain["ok"]
    assert read_output(out).span_count == N
    assert c.alive()
    # The server says why (weft for HTTP, gRPC's own log line for gRPC).
    wait_for(lambda: re.search(r"[Hh]andshake.*(unknown ca|refused our certificate)", c.log_text()),
             5, what="the failed handshake in the server's log")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_sdk_over_mutual_tls(collector_factory, tmp_path, pki, protocol):
    out, port = tmp_path / "out.jsonl", free_port()
    tls = {"cert_file": str(pki["server"].cert), "key_file": str(pki["server"].key),
           "client_ca_file": pki["ca"].ca_file}
    c = collector_factory(tls_receiver_config(out, protocol, port, tls))
    client = ["--ca", pki["ca"].ca_file, "--client-cert", str(pki["client"].cert),
              "--client-key", str(pki["client"].key)]
    assert sdk(protocol, port, client)["ok"]
    wait_for_count(out, "traces", N)
    # No client certificate, or one from another CA: refused, nothing delivered.
    missing = sdk(protocol, port, ["--ca", pki["ca"].ca_file], expect_ok=False, run_id="nocert",
                  timeout=3)
    assert not missing["ok"]
    alpn = ["h2"] if protocol == "grpc" else None
    ok, error, _ = handshake(port, pki["ca"].ca_file, alpn=alpn)
    assert not ok, "a handshake without a client certificate succeeded"
    ok, error, _ = handshake(port, pki["ca"].ca_file, cert=pki["other_client"], alpn=alpn)
    assert not ok, "a client certificate from another CA was accepted"
    ok, error, _ = handshake(port, pki["ca"].ca_file, cert=pki["client"], alpn=alpn)
    assert ok, error
    wait_for(lambda: re.search(r"[Hh]andshake.*failed", c.log_text()), 5,
             what="the refused client in the server's log")
    time.sleep(0.5)
    assert read_output(out).span_count == N
    assert c.alive()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_expired_server_certificate_is_refused_by_clients(collector_factory, tmp_path, pki,
                                                          protocol):
    out, port = tmp_path / "out.jsonl", free_port()
    tls = {"cert_file": str(pki["expired"].cert), "key_file": str(pki["expired"].key)}
    c = collector_factory(tls_receiver_config(out, protocol, port, tls))
    ok, error, _ = handshake(port, pki["ca"].ca_file)
    assert not ok and "expired" in error
    assert not sdk(protocol, port, ["--ca", pki["ca"].ca_file], expect_ok=False, timeout=3)["ok"]
    assert c.alive()


def test_versions_and_cipher_suites_apply(collector_factory, tmp_path, pki):
    out, port = tmp_path / "out.jsonl", free_port()
    tls = {"cert_file": str(pki["server"].cert), "key_file": str(pki["server"].key),
           "min_version": "1.3"}
    collector_factory(tls_receiver_config(out, "http", port, tls))
    ok, error, _ = handshake(port, pki["ca"].ca_file, max_version=ssl.TLSVersion.TLSv1_2)
    assert not ok and "VERSION" in error.upper(), error
    assert handshake(port, pki["ca"].ca_file)[0]
    # TLS 1.2 with one suite (Go's name): a client without it cannot connect.
    port2 = free_port()
    tls = {"cert_file": str(pki["server"].cert), "key_file": str(pki["server"].key),
           "max_version": "1.2", "cipher_suites": ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"]}
    collector_factory(tls_receiver_config(out, "http", port2, tls), name="weft2")
    ok, error, _ = handshake(port2, pki["ca"].ca_file, ciphers="ECDHE-ECDSA-AES128-GCM-SHA256")
    assert not ok, "a suite the server does not allow was negotiated"
    ok, error, _ = handshake(port2, pki["ca"].ca_file, ciphers="ECDHE-ECDSA-AES256-GCM-SHA384")
    assert ok, error


def test_bad_certificate_files_fail_start_with_the_reason(collector_factory, tmp_path, pki):
    out, port = tmp_path / "out.jsonl", free_port()
    # A key that does not belong to the certificate.
    tls = {"cert_file": str(pki["server"].cert), "key_file": str(pki["client"].key)}
    c = collector_factory(tls_receiver_config(out, "http", port, tls), start=False)
    proc = subprocess.run(c.argv, capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    assert "does not match the certificate" in proc.stdout + proc.stderr
    # A certificate file that is missing: refused by validate as well as at start.
    tls = {"cert_file": str(tmp_path / "missing.crt"), "key_file": str(pki["server"].key)}
    c2 = collector_factory(tls_receiver_config(out, "grpc", port, tls), name="weft2", start=False)
    proc = subprocess.run(c2.argv, capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    assert "missing.crt" in proc.stdout + proc.stderr
    proc = subprocess.run([c2.weft_bin, "validate", "--config", str(c2.config_path)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1
    assert "cannot read the certificate file" in proc.stdout + proc.stderr


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_certificate_replaced_on_disk_is_served_to_the_next_connection(collector_factory,
                                                                        tmp_path, pki, protocol):
    out, port = tmp_path / "out.jsonl", free_port()
    live = tmp_path / "live"
    live.mkdir()
    cert, key = live / "tls.crt", live / "tls.key"
    shutil.copy(pki["server"].cert, cert)
    shutil.copy(pki["server"].key, key)
    c = collector_factory(tls_receiver_config(out, protocol, port,
                                              {"cert_file": str(cert), "key_file": str(key)}))
    alpn = ["h2"] if protocol == "grpc" else None
    ok, error, cn = handshake(port, pki["ca"].ca_file, alpn=alpn)
    assert ok, error
    assert cn == "weft-test-server"
    # An open connection survives the rotation.
    ctx = ssl.create_default_context(cafile=pki["ca"].ca_file)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    kept = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5),
                           server_hostname="127.0.0.1")
    # Rotate to a certificate of the other CA (written as a new file, then renamed over).
    for src, dst in ((pki["other_server"].cert, cert), (pki["other_server"].key, key)):
        tmp = dst.with_suffix(".new")
        shutil.copy(src, tmp)
        tmp.replace(dst)

    def rotated():
        ok, _, cn = handshake(port, pki["other"].ca_file, alpn=alpn)
        return ok and cn == "weft-test-other-server"

    wait_for(rotated, 10, interval=0.3, what="the new certificate")
    ok, error, _ = handshake(port, pki["ca"].ca_file, alpn=alpn)
    assert not ok, "the old CA still verifies the server after the rotation"
    assert sdk(protocol, port, ["--ca", pki["other"].ca_file])["ok"]
    wait_for_count(out, "traces", N)
    kept.settimeout(0.3)
    try:
        assert kept.recv(1) != b"", "the open connection was closed by the rotation"
    except (socket.timeout, TimeoutError):
        pass
    kept.close()
    if protocol == "http":
        assert "TLS certificate reloaded" in c.log_text()


# --------------------------------------------------------------------------- weft to weft


@pytest.mark.parametrize("exporter", ["otlp", "otlphttp"])
def test_weft_to_weft_over_mutual_tls(collector_factory, tmp_path, pki, exporter):
    out = tmp_path / "b.jsonl"
    protocol = "grpc" if exporter == "otlp" else "http"
    b_port = free_port()
    tls = {"cert_file": str(pki["server"].cert), "key_file": str(pki["server"].key),
           "client_ca_file": pki["ca"].ca_file}
    collector_factory(tls_receiver_config(out, protocol, b_port, tls), name="weft-b")
    a_port = free_port()
    config = forwarding_config(
        a_port, exporter, b_port, "https",
        tls={"ca_file": pki["ca"].ca_file, "cert_file": str(pki["client"].cert),
             "key_file": str(pki["client"].key)},
        retry_on_failure={"initial_interval": "100ms"})
    collector_factory(config, name="weft-a")
    assert sdk("grpc", a_port, [])["ok"]
    f = wait_for_count(out, "traces", N)
    assert f.span_count == N


@pytest.mark.parametrize("exporter", ["otlp", "otlphttp"])
def test_weft_exporter_with_the_wrong_ca_says_so(collector_factory, tmp_path, pki, exporter):
    out = tmp_path / "b.jsonl"
    protocol = "grpc" if exporter == "otlp" else "http"
    b_port = free_port()
    tls = {"cert_file": str(pki["server"].cert), "key_file": str(pki["server"].key)}
    collector_factory(tls_receiver_config(out, protocol, b_port, tls), name="weft-b")
    a_port = free_port()
    config = forwarding_config(
        a_port, exporter, b_port, "https", tls={"ca_file": pki["other"].ca_file},
        retry_on_failure={"initial_interval": "100ms", "max_elapsed_time": "1s"})
    a = collector_factory(config, name="weft-a")
    sdk("grpc", a_port, [])
    wait_for(lambda: "verif" in a.log_text().lower() or "certificate" in a.log_text().lower(),
             15, what="a certificate error in the exporter's log")
    assert read_output(out, strict=False).span_count == 0


# --------------------------------------------------------------------------- authenticators


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_bearertokenauth(collector_factory, tmp_path, protocol):
    out, port = tmp_path / "out.jsonl", free_port()
    secret = "s3cret-token-0123"
    c = collector_factory(tls_receiver_config(
        out, protocol, port, None, auth="bearertokenauth",
        extensions={"bearertokenauth": {"token": secret}}))
    assert sdk(protocol, port, ["--header", f"authorization=Bearer {secret}"])["ok"]
    wait_for_count(out, "traces", N)
    wrong = sdk(protocol, port, ["--header", "authorization=Bearer not-the-token"],
                expect_ok=False, run_id="wrong", timeout=3)
    assert not wrong["ok"]
    assert ("401" in wrong["stderr"]) or ("UNAUTHENTICATED" in wrong["stderr"])
    none = sdk(protocol, port, [], expect_ok=False, run_id="none", timeout=3)
    assert not none["ok"]
    m = c.metrics()
    assert m.sum("otelcol_receiver_requests_failed", reason="unauthenticated") >= 2
    assert read_output(out).span_count == N
    log = c.log_text()
    assert secret not in log and "not-the-token" not in log


def test_bearertokenauth_token_file_is_reread(collector_factory, tmp_path):
    out, port = tmp_path / "out.jsonl", free_port()
    token_file = tmp_path / "token"
    token_file.write_text("first-token\n")
    collector_factory(tls_receiver_config(
        out, "http", port, None, auth="bearertokenauth",
        extensions={"bearertokenauth": {"filename": str(token_file)}}))
    assert sdk("http", port, ["--header", "Authorization=Bearer first-token"])["ok"]
    token_file.write_text("second-token\n")
    time.sleep(1.5)
    assert sdk("http", port, ["--header", "Authorization=Bearer second-token"], run_id="b")["ok"]
    assert not sdk("http", port, ["--header", "Authorization=Bearer first-token"],
                   expect_ok=False, run_id="c", timeout=3)["ok"]
    wait_for_count(out, "traces", 2 * N)


def _htpasswd_lines() -> str:
    """Users with every hash scheme Apache's htpasswd and crypt(3) write (bcrypt is covered by
    the unit test, which makes one with libxcrypt)."""
    def openssl_passwd(flag, password):
        return subprocess.run(["openssl", "passwd", flag, password], capture_output=True,
                              text=True, check=True).stdout.strip()
    sha = base64.b64encode(hashlib.sha1(b"sha-pass").digest()).decode()
    return "\n".join([
        f"apr:{openssl_passwd('-apr1', 'apr-pass')}",
        f"md5:{openssl_passwd('-1', 'md5-pass')}",
        f"sha512:{openssl_passwd('-6', 'sha512-pass')}",
        f"sha:{{SHA}}{sha}",
    ]) + "\n"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_basicauth(collector_factory, tmp_path, protocol):
    out, port = tmp_path / "out.jsonl", free_port()
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(_htpasswd_lines())
    c = collector_factory(tls_receiver_config(
        out, protocol, port, None, auth="basicauth",
        extensions={"basicauth": {"htpasswd": {"file": str(htpasswd),
                                               "inline": "inline:{SHA}" + base64.b64encode(
                                                   hashlib.sha1(b"inline-pass").digest()).decode()}}}))

    def basic(user, password):
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        return ["--header", f"authorization=Basic {token}"]

    users = [("apr", "apr-pass"), ("md5", "md5-pass"), ("sha512", "sha512-pass"), ("sha", "sha-pass"),
             ("inline", "inline-pass")]
    for i, (user, password) in enumerate(users):
        assert sdk(protocol, port, basic(user, password), run_id=f"u{i}")["ok"], user
    wait_for_count(out, "traces", N * len(users))
    for i, (user, password) in enumerate([("apr", "wrong"), ("nobody", "apr-pass")]):
        assert not sdk(protocol, port, basic(user, password), expect_ok=False, run_id=f"x{i}",
                       timeout=3)["ok"]
    assert c.metrics().sum("otelcol_receiver_requests_failed", reason="unauthenticated") >= 2
    assert read_output(out).span_count == N * len(users)


@pytest.mark.parametrize("exporter", ["otlp", "otlphttp"])
def test_weft_to_weft_with_client_authenticators(collector_factory, tmp_path, exporter):
    out = tmp_path / "b.jsonl"
    protocol = "grpc" if exporter == "otlp" else "http"
    b_port = free_port()
    collector_factory(tls_receiver_config(
        out, protocol, b_port, None, auth="bearertokenauth",
        extensions={"bearertokenauth": {"token": "between-wefts"}}), name="weft-b")
    a_port = free_port()
    config = forwarding_config(a_port, exporter, b_port, "http", tls={"insecure": True},
                               auth={"authenticator": "bearertokenauth/out"})
    config["extensions"] = {"bearertokenauth/out": {"token": "between-wefts"}}
    config["service"]["extensions"] = ["bearertokenauth/out"]
    collector_factory(config, name="weft-a")
    assert sdk("grpc", a_port, [])["ok"]
    assert wait_for_count(out, "traces", N).span_count == N


def test_unknown_authenticator_fails_start_clearly(collector_factory, tmp_path):
    out, port = tmp_path / "out.jsonl", free_port()
    c = collector_factory(tls_receiver_config(out, "http", port, None, auth="nosuchauth"),
                          start=False)
    proc = subprocess.run(c.argv, capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    assert 'failed to resolve authenticator "nosuchauth"' in proc.stdout + proc.stderr


@pytest.mark.parametrize("exporter", ["otlp", "otlphttp"])
def test_headers_setter_sets_headers_on_exports(collector_factory, tmp_path, exporter):
    """headers_setter on weft A's exporter; weft B lets in only requests whose X-Tenant header
    is "acme" (bearertokenauth on that header, without a scheme)."""
    out = tmp_path / "b.jsonl"
    protocol = "grpc" if exporter == "otlp" else "http"
    b_port = free_port()
    collector_factory(tls_receiver_config(
        out, protocol, b_port, None, auth="bearertokenauth",
        extensions={"bearertokenauth": {"header": "X-Tenant", "scheme": "", "token": "acme"}}),
        name="weft-b")
    tenant_file = tmp_path / "tenant"
    tenant_file.write_text("acme\n")
    a_port = free_port()
    config = forwarding_config(a_port, exporter, b_port, "http", tls={"insecure": True},
                               auth={"authenticator": "headers_setter"})
    config["extensions"] = {"headers_setter": {"headers": [
        {"key": "X-Tenant", "value": "someone-else"},
        {"key": "X-Tenant", "value_file": str(tenant_file), "action": "update"},
        {"key": "X-Unused", "from_context": "tenant"},  # no metadata, no default: not sent
        {"key": "X-Other", "value": "x", "action": "delete"},
    ]}}
    config["service"]["extensions"] = ["headers_setter"]
    a = collector_factory(config, name="weft-a")
    assert "client metadata does not reach exporters yet" in a.log_text()
    assert sdk("grpc", a_port, [])["ok"]
    assert wait_for_count(out, "traces", N).span_count == N


def test_headers_setter_settings_are_checked_with_their_path(weft_bin, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(
        "extensions:\n  headers_setter:\n    headers:\n"
        "      - {key: X-A, value: a, bogus: 1}\n      - {key: X-B}\n"
        "      - {key: X-C, value: c, action: sideways}\n"
        "receivers:\n  otlp:\n    protocols: {grpc: {}}\nexporters:\n  debug: {}\n"
        "service:\n  extensions: [headers_setter]\n"
        "  pipelines:\n    traces: {receivers: [otlp], exporters: [debug]}\n")
    proc = subprocess.run([weft_bin, "validate", "--config", str(config)], capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 1
    text = proc.stdout + proc.stderr
    assert "extensions.headers_setter.headers.0.bogus" in text
    assert "extensions.headers_setter.headers.1.value: missing header source" in text
    assert "extensions.headers_setter.headers.2.action" in text


def test_a_certificate_file_that_breaks_keeps_the_last_good_one(collector_factory, tmp_path, pki):
    out, port = tmp_path / "out.jsonl", free_port()
    live = tmp_path / "live"
    live.mkdir()
    cert, key = live / "tls.crt", live / "tls.key"
    shutil.copy(pki["server"].cert, cert)
    shutil.copy(pki["server"].key, key)
    c = collector_factory(tls_receiver_config(out, "http", port,
                                              {"cert_file": str(cert), "key_file": str(key)}))
    assert handshake(port, pki["ca"].ca_file)[0]
    cert.write_text("not a certificate\n")
    # Handshakes trigger the check; each must still get the old certificate.
    wait_for(lambda: handshake(port, pki["ca"].ca_file)[0] and
             "keeping the previous one" in c.log_text(), 10, interval=0.3,
             what="the reload failure logged while the old certificate is still served")
    ok, error, cn = handshake(port, pki["ca"].ca_file)
    assert ok and cn == "weft-test-server", error


def test_self_metrics_and_admin_endpoint_over_mutual_tls(collector_factory, pki, tmp_path):
    import requests

    port, metrics_port = free_port(), free_port()
    config = file_pipeline_config(tmp_path / "out.jsonl", http_port=port, signals=["traces"])
    config["service"]["telemetry"] = {"metrics": {
        "address": f"127.0.0.1:{metrics_port}",
        "tls": {"cert_file": str(pki["server"].cert), "key_file": str(pki["server"].key),
                "client_ca_file": pki["ca"].ca_file}}}
    c = collector_factory(config, admin=False)
    url = f"https://127.0.0.1:{metrics_port}"
    client = (str(pki["client"].cert), str(pki["client"].key))
    r = requests.get(url + "/metrics", verify=pki["ca"].ca_file, cert=client, timeout=5)
    assert r.status_code == 200 and "otelcol_receiver_accepted_spans" in r.text
    r = requests.post(url + "/plugins/reload", verify=pki["ca"].ca_file, cert=client, timeout=5)
    assert r.status_code == 200, r.text
    for bad in ({"verify": pki["ca"].ca_file},  # no client certificate
                {"verify": pki["ca"].ca_file, "cert": (str(pki["other_client"].cert),
                                                       str(pki["other_client"].key))}):
        with pytest.raises(requests.exceptions.RequestException):
            requests.get(url + "/metrics", timeout=5, **bad)
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5)
    assert c.alive()
