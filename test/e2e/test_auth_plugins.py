"""Authenticator plugins (the `wasm` extension): `apikey` and `jwt` as receivers' server
authenticators, with the OpenTelemetry Python SDK sending its key or token from
OTEL_EXPORTER_OTLP_HEADERS over gRPC and HTTP; tenants tagged from the client metadata and kept
apart by the batch processor's metadata_keys; refusals with their codes (raw HTTP and gRPC
requests), counted, nothing of them in the output. And `hmac-sign` as an exporter's client
authenticator, every signature checked by the receiving test server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import (
    attrs,
    free_port,
    make_trace_request,
    otlp_receiver,
    post,
    read_output,
    run_sdk_client,
    wait_for,
    wait_for_count,
)


def plugin(name: str) -> str:
    return str(Path(os.environ["WEFT_BIN"]).resolve().parent / "plugins" / f"{name}.wasm")


def gateway_config(out: Path, grpc_port: int, http_port: int, extension: str, ext_config: dict,
                   tables: dict) -> dict:
    receiver = otlp_receiver(grpc_port, http_port)
    for proto in receiver["protocols"].values():
        proto["auth"] = {"authenticator": extension}
    return {
        "extensions": {extension: ext_config},
        "receivers": {"otlp": receiver},
        "processors": {
            # The tenant the authenticator named, as a resource attribute.
            "wasm/tag": {"plugin": plugin("enrich"), "config": {"client": {"tenant": "auth.tenant"}}},
            "batch": {"metadata_keys": ["tenant"], "send_batch_size": 100000, "timeout": "300ms"},
        },
        "exporters": {"file": {"path": str(out)}},
        "service": {
            "extensions": [extension],
            "tables": tables,
            "pipelines": {"traces": {"receivers": ["otlp"], "processors": ["wasm/tag", "batch"],
                                     "exporters": ["file"]}},
        },
    }


def grpc_export(port: int, metadata: list[tuple[str, str]]):
    """One raw OTLP/gRPC trace export; returns the gRPC status code."""
    import grpc

    req, _ = make_trace_request(2, tag="raw")
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                                   request_serializer=lambda b: b, response_deserializer=lambda b: b)
        try:
            call(req.SerializeToString(), metadata=metadata, timeout=10)
            return grpc.StatusCode.OK
        except grpc.RpcError as e:
            return e.code()


def http_export(port: int, headers: dict) -> int:
    req, _ = make_trace_request(2, tag="raw")
    return post(port, "/v1/traces", req.SerializeToString(), headers=headers).status_code


def tenants_by_line(out: Path) -> list[set[str]]:
    """For each batch the file exporter wrote, the tenants of its spans."""
    lines = []
    for line in out.read_text().splitlines():
        doc = json.loads(line)
        tenants = set()
        for rs in doc.get("resourceSpans") or []:
            tenants.add(attrs(rs["resource"].get("attributes")).get("tenant", "<none>"))
        lines.append(tenants)
    return lines


def run_clients(port_of: dict, runs: list[tuple[str, str, str]], count: int) -> None:
    """SDK clients at once: (protocol, run id, OTEL_EXPORTER_OTLP_HEADERS)."""
    errors: list[str] = []

    def one(protocol, run_id, headers):
        try:
            run_sdk_client("traces", protocol, port_of[protocol], count=count, run_id=run_id,
                           batch=10, extra=["--env-headers", headers])
        except AssertionError as e:
            errors.append(str(e))

    threads = [threading.Thread(target=one, args=r) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors


def check_tenants(out: Path, expected: dict[str, str], count: int) -> None:
    f = read_output(out)
    by_run: dict[str, set[str]] = {}
    for s in f.spans:
        r = attrs(s["resource"].get("attributes"))
        by_run.setdefault(r["e2e.run_id"], set()).add(r.get("tenant", "<none>"))
        assert r["e2e.run_id"] in expected, f"output from a refused client: {r}"
    assert {run: {tenant} for run, tenant in expected.items()} == by_run
    assert f.span_count == count * len(expected)
    lines = tenants_by_line(out)
    assert all(len(t) == 1 for t in lines), f"a batch mixes tenants: {lines}"
    # The batch processor did merge requests (of one tenant), or the check above proves little.
    assert len(lines) < f.span_count // 10


# --------------------------------------------------------------------------- apikey


def test_api_keys_over_grpc_and_http_tenants_kept_apart(collector_factory, tmp_path):
    keys = tmp_path / "apikeys.csv"
    keys.write_text("key,tenant,plan,enabled\n"
                    "k-acme-1,acme,gold,true\nk-acme-2,acme,gold,true\n"
                    "k-globex,globex,free,true\nk-retired,acme,gold,false\n")
    out = tmp_path / "out.jsonl"
    grpc_port, http_port = free_port(), free_port()
    ext = {"plugin": plugin("apikey"), "config": {"table": "apikeys"},
           "permissions": {"tables": ["apikeys"]},
           "cache": {"ttl": "1m", "headers": ["x-api-key", "authorization"]}}
    c = collector_factory(gateway_config(out, grpc_port, http_port, "wasm/apikey", ext,
                                         {"apikeys": {"path": str(keys), "key": "key"}}))
    ports = {"grpc": grpc_port, "http": http_port}
    count = 60
    runs = [("grpc", "acme-grpc", "x-api-key=k-acme-1"),
            ("http", "acme-http", "x-api-key=k-acme-2"),
            ("grpc", "globex-grpc", "authorization=ApiKey k-globex"),
            ("http", "globex-http", "x-api-key=k-globex")]
    run_clients(ports, runs, count)

    # Refused, with the right codes: missing, unknown and retired keys.
    import grpc

    assert grpc_export(grpc_port, []) == grpc.StatusCode.UNAUTHENTICATED
    assert grpc_export(grpc_port, [("x-api-key", "k-nobody")]) == grpc.StatusCode.UNAUTHENTICATED
    assert grpc_export(grpc_port, [("x-api-key", "k-retired")]) == grpc.StatusCode.PERMISSION_DENIED
    assert http_export(http_port, {}) == 401
    assert http_export(http_port, {"X-Api-Key": "k-nobody"}) == 401
    assert http_export(http_port, {"X-Api-Key": "k-retired"}) == 403
    # And a client SDK with a bad key fails its exports.
    bad = run_sdk_client("traces", "http", http_port, count=5, run_id="bad-key",
                         extra=["--env-headers", "x-api-key=k-wrong"], expect_ok=False)
    assert not bad["ok"]

    wait_for_count(out, "traces", count * len(runs))
    check_tenants(out, {"acme-grpc": "acme", "acme-http": "acme", "globex-grpc": "globex",
                        "globex-http": "globex"}, count)
    m = c.metrics()
    assert m.sum("otelcol_receiver_requests_failed", reason="unauthenticated") >= 7
    assert m.sum("weft_authenticator_decisions", result="forbidden") == 2
    assert m.sum("weft_authenticator_cache_hits") > 0  # the SDKs sent the same key many times
    assert m.sum("weft_table_lookups", table="apikeys", result="miss") >= 2


# --------------------------------------------------------------------------- jwt


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Issuer:
    """Makes JWTs: RS256 with an RSA key whose public half is in a JWK set, or HS256."""

    def __init__(self, secret: bytes):
        from cryptography.hazmat.primitives.asymmetric import rsa

        from cryptography.hazmat.primitives.asymmetric import ec

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec_key = ec.generate_private_key(ec.SECP256R1())
        self.ec_other = ec.generate_private_key(ec.SECP256R1())
        self.secret = secret

    def jwks(self) -> dict:
        numbers = self.key.public_key().public_numbers()
        n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
        e = numbers.e.to_bytes(3, "big")
        point = self.ec_key.public_key().public_numbers()
        return {"keys": [{"kid": "k1", "kty": "RSA", "alg": "RS256", "use": "sig",
                          "n": b64url(n), "e": b64url(e)},
                         {"kid": "e1", "kty": "EC", "crv": "P-256", "alg": "ES256",
                          "x": b64url(point.x.to_bytes(32, "big")),
                          "y": b64url(point.y.to_bytes(32, "big"))}]}

    def token(self, claims: dict, alg: str = "RS256", wrong_key: bool = False) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        kid = {"RS256": {"kid": "k1"}, "ES256": {"kid": "e1"}}.get(alg, {})
        header = {"alg": alg, "typ": "JWT", **kid}
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        if alg == "HS256":
            sig = hmac.new(self.secret + (b"x" if wrong_key else b""), signing_input.encode(),
                           hashlib.sha256).digest()
        elif alg == "ES256":
            from cryptography.hazmat.primitives.asymmetric import ec
            from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

            key = self.ec_other if wrong_key else self.ec_key
            r, s_ = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
            sig = r.to_bytes(32, "big") + s_.to_bytes(32, "big")
        else:
            key = self.other if wrong_key else self.key
            sig = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(sig)}"


def test_jwt_rs256_and_hs256_with_claims_checked(collector_factory, tmp_path):
    issuer = Issuer(b"a-shared-hs256-secret")
    jwks = tmp_path / "keys.jwks"
    jwks.write_text(json.dumps(issuer.jwks()))
    out = tmp_path / "out.jsonl"
    grpc_port, http_port = free_port(), free_port()
    ext = {"plugin": plugin("jwt"),
           "config": {"issuer": "https://issuer.test", "audience": "weft", "keys_table": "jwks",
                      "hs256_secret": "jwt", "tenant_claim": "org"},
           "permissions": {"tables": ["jwks"]},
           "secrets": {"jwt": "${env:JWT_SECRET}"}}
    cfg = gateway_config(out, grpc_port, http_port, "wasm/jwt", ext, {"jwks": {"path": str(jwks)}})
    c = collector_factory(cfg, env={"JWT_SECRET": "a-shared-hs256-secret"})
    now = int(time.time())
    good = {"iss": "https://issuer.test", "aud": ["other", "weft"], "exp": now + 600, "sub": "svc-1"}
    acme = issuer.token({**good, "org": "acme"})
    globex = issuer.token({**good, "org": "globex", "aud": "weft"}, alg="HS256")
    count = 40
    run_clients({"grpc": grpc_port, "http": http_port},
                [("grpc", "acme-grpc", f"authorization=Bearer%20{acme}"),
                 ("http", "acme-http", f"authorization=Bearer%20{acme}"),
                 ("http", "globex-http", f"authorization=Bearer%20{globex}")], count)

    import grpc

    refused = {
        "expired": issuer.token({**good, "org": "acme", "exp": now - 3600}),
        "not yet valid": issuer.token({**good, "org": "acme", "nbf": now + 3600}),
        "wrong audience": issuer.token({**good, "org": "acme", "aud": "someone-else"}),
        "wrong issuer": issuer.token({**good, "org": "acme", "iss": "https://evil.test"}),
        "bad RS256 signature": issuer.token({**good, "org": "acme"}, wrong_key=True),
        "bad HS256 signature": issuer.token({**good, "org": "acme"}, alg="HS256", wrong_key=True),
        "garbage": "not.a.token",
    }
    for why, token in refused.items():
        assert http_export(http_port, {"Authorization": f"Bearer {token}"}) == 401, why
        assert grpc_export(grpc_port, [("authorization", f"Bearer {token}")]) == \
            grpc.StatusCode.UNAUTHENTICATED, why
    assert http_export(http_port, {}) == 401
    no_tenant = issuer.token(good)
    assert http_export(http_port, {"Authorization": f"Bearer {no_tenant}"}) == 403
    assert grpc_export(grpc_port, [("authorization", f"Bearer {no_tenant}")]) == \
        grpc.StatusCode.PERMISSION_DENIED

    wait_for_count(out, "traces", count * 3)
    check_tenants(out, {"acme-grpc": "acme", "acme-http": "acme", "globex-http": "globex"}, count)
    m = c.metrics()
    assert m.sum("weft_authenticator_decisions", result="unauthenticated") >= 2 * len(refused) + 1

    # ES256 (a P-256 key of the same JWK set), after the SDK clients' output was checked.
    initech = issuer.token({**good, "org": "initech"}, alg="ES256")
    assert http_export(http_port, {"Authorization": f"Bearer {initech}"}) == 200
    forged = issuer.token({**good, "org": "initech"}, alg="ES256", wrong_key=True)
    assert http_export(http_port, {"Authorization": f"Bearer {forged}"}) == 401
    f = wait_for_count(out, "traces", count * 3 + 2)
    assert f.span_count == count * 3 + 2
    assert sum(attrs(s["resource"]["attributes"]).get("tenant") == "initech" for s in f.spans) == 2


# --------------------------------------------------------------------------- hmac-sign


class SignatureCheckingServer:
    """An OTLP/HTTP destination that checks every request's hmac-sign signature."""

    def __init__(self, secret: bytes):
        self.port = free_port()
        self.verified = 0
        self.failures: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                digest = hashlib.sha256(body).hexdigest()
                date = self.headers.get("X-Weft-Date", "")
                fields = dict(kv.split("=", 1) for kv in
                              self.headers.get("X-Weft-Signature", "").split(",") if "=" in kv)
                text = f"POST\n{self.path}\n{date}\n{digest}".encode()
                want = hmac.new(secret, text, hashlib.sha256).hexdigest()
                problems = []
                if self.headers.get("X-Content-SHA256") != digest:
                    problems.append("body digest")
                if fields.get("keyId") != "edge-1" or not hmac.compare_digest(
                        fields.get("signature", ""), want):
                    problems.append("signature")
                if abs(time.time() - int(date or 0)) > 60:
                    problems.append("date")
                if self.headers.get("Content-Encoding") != "gzip":
                    problems.append("not the compressed body")
                if problems:
                    outer.failures.append(", ".join(problems))
                    self.send_response(401)
                else:
                    outer.verified += 1
                    self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def test_a_signing_exporter_every_signature_verified(collector_factory, tmp_path):
    dest = SignatureCheckingServer(b"edge-signing-key")
    try:
        port = free_port()
        cfg = {
            "extensions": {"wasm/sign": {"plugin": plugin("hmac_sign"),
                                         "config": {"secret": "signing", "key_id": "edge-1"},
                                         "secrets": {"signing": "${env:SIGNING_KEY}"}}},
            "receivers": {"otlp": otlp_receiver(http_port=port)},
            "exporters": {"otlphttp": {"endpoint": f"http://127.0.0.1:{dest.port}",
                                       "compression": "gzip",
                                       "auth": {"authenticator": "wasm/sign"}}},
            "service": {"extensions": ["wasm/sign"],
                        "pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["otlphttp"]}}},
        }
        c = collector_factory(cfg, env={"SIGNING_KEY": "edge-signing-key"})
        for i in range(20):
            req, _ = make_trace_request(5, tag=f"s{i}", seed=i)
            assert post(port, "/v1/traces", req.SerializeToString()).status_code == 200
        wait_for(lambda: dest.verified + len(dest.failures) >= 20, 20, what="20 signed requests")
        assert dest.failures == []
        assert dest.verified == 20
        assert c.metrics().sum("otelcol_exporter_sent_spans") == 100
        assert "edge-signing-key" not in c.log_text()
    finally:
        dest.close()
