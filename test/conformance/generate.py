#!/usr/bin/env python3
"""Writes the conformance vectors: vectors/<plugin>/<case>/{input,config,expected}.json.

The inputs and configs are defined here; the expected output of each case is what the C
build of the plugin (the reference, build/plugins/<plugin>.wasm) gives, taken with
`weft plugin test`. Run it after changing a case or the C plugins' behaviour, review the
diff of vectors/, and commit both:

    test/conformance/generate.py --weft build/weft --plugins build/plugins
"""
import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def s(v):
    return {"stringValue": v}


def attrs(**kv):
    out = []
    for k, v in kv.items():
        key = k.replace("__", ".")
        if isinstance(v, bool):
            val = {"boolValue": v}
        elif isinstance(v, int):
            val = {"intValue": str(v)}
        elif isinstance(v, float):
            val = {"doubleValue": v}
        elif isinstance(v, list):
            val = {"arrayValue": {"values": [s(x) for x in v]}}
        else:
            val = s(v)
        out.append({"key": key, "value": val})
    return out


def span(i, name, **a):
    return {"traceId": f"{i + 1:032x}", "spanId": f"{i + 1:016x}", "name": name, "kind": 2,
            "startTimeUnixNano": str(1700000000000000000 + i),
            "endTimeUnixNano": str(1700000000000500000 + i), "attributes": attrs(**a)}


def log(i, body, severity=9, **a):
    rec = {"timeUnixNano": str(1700000000000000000 + i), "severityNumber": severity,
           "severityText": "INFO" if severity >= 9 else "DEBUG", "attributes": attrs(**a)}
    if body is not None:
        rec["body"] = body if isinstance(body, dict) else s(body)
    return rec


def resource(service, **a):
    return {"attributes": attrs(service__name=service, **a)}


def traces(*groups):
    return {"resourceSpans": [{"resource": res, "scopeSpans": [{"scope": {"name": "conformance"},
                                                              "spans": spans}]}
                              for res, spans in groups]}


def logs(*groups):
    return {"resourceLogs": [{"resource": res, "scopeLogs": [{"scope": {"name": "conformance"},
                                                            "logRecords": recs}]}
                             for res, recs in groups]}


def gauge_metrics():
    def point(v, **a):
        return {"timeUnixNano": "1700000000000000000", "asDouble": v, "attributes": attrs(**a)}
    return {"resourceMetrics": [{"resource": resource("checkout"), "scopeMetrics": [{
        "scope": {"name": "conformance"},
        "metrics": [
            {"name": "cpu.temp", "gauge": {"dataPoints": [point(41.5, host="a"),
                                                          point(90.0, host="b", debug="true")]}},
            {"name": "requests", "sum": {"aggregationTemporality": 2, "isMonotonic": True,
                                         "dataPoints": [{"timeUnixNano": "1700000000000000000",
                                                         "asInt": "7",
                                                         "attributes": attrs(route="/a")}]}},
        ]}]}]}


WEB_SPANS = traces(
    (resource("checkout", host__name="node-1"),
     [span(0, "GET /items", debug="true", http__status_code=200),
      span(1, "GET /items", debug="false", http__status_code=503, http__method="GET"),
      span(2, "healthcheck", http__status_code=200, ratio=0.25),
      span(3, "POST /pay", user__email="ann@example.com", http__method="POST", retry=True)]),
    (resource("test-runner"),
     [span(4, "GET /items", debug="true"),
      span(5, "GET /items", tags=["a", "b"])]))

APP_LOGS = logs(
    (resource("checkout"),
     [log(0, "order 1001 paid by ann@example.com from 192.168.1.7 with card 4111 1111 1111 1111",
          user__id="u-1", client__address="10.0.0.12", debug="true"),
      log(1, "debug noise", severity=5, component="cache"),
      log(2, "connection from 2001:db8::1 refused", severity=13, peer="fe80::1ff:fe23:4567:890a"),
      log(3, {"intValue": "42"}, user__email="bob@example.org", debug="false")]),
    (resource("billing", owner__email="team@corp.example.com"),
     [log(4, "card 5500-0000-0000-0004 declined; order 12345678901234", severity=17),
      log(5, None, note="no body")]))

CASES = {
    "filter": {
        "traces-equals": ({"drop": [{"attribute": "debug", "equals": "true"}]}, WEB_SPANS),
        "traces-rules": ({"drop": [{"name": "healthcheck"},
                                   {"attribute": "http.status_code", "gt": 499},
                                   {"resource_attribute": "service.name", "prefix": "test-"}]},
                         WEB_SPANS),
        "traces-exists": ({"drop": [{"attribute": "http.method", "exists": False}]}, WEB_SPANS),
        "traces-none": ({"drop": [{"attribute": "nope", "equals": "x"}]}, WEB_SPANS),
        "traces-all": ({"drop": [{"name": "GET /items"}, {"attribute": "debug", "exists": False}]},
                       WEB_SPANS),
        "logs-severity": ({"drop": [{"severity_below": 9},
                                    {"attribute": "debug", "not_equals": "false"}]}, APP_LOGS),
        "metrics-points": ({"drop": [{"attribute": "debug", "equals": "true"},
                                     {"name": "requests"}]}, gauge_metrics()),
    },
    "transform": {
        "traces-actions": ({"actions": [
            {"action": "rename", "key": "http.method", "to": "http.request.method"},
            {"action": "set", "key": "env", "value": "prod"},
            {"action": "set", "key": "shard", "value": 3},
            {"action": "set", "key": "weight", "value": 0.5},
            {"action": "set", "key": "sampled", "value": True},
            {"action": "delete", "key": "debug"},
            {"action": "hash", "key": "user.email"},
            {"action": "set", "key": "deployment.environment", "value": "prod",
             "target": "resource"},
            {"action": "rename", "key": "host.name", "to": "host", "target": "resource"}]},
            WEB_SPANS),
        "logs-actions": ({"actions": [
            {"action": "rename", "key": "client.address", "to": "client.ip"},
            {"action": "delete", "key": "debug"},
            {"action": "hash", "key": "user.id"},
            {"action": "delete", "key": "owner.email", "target": "resource"}]}, APP_LOGS),
        "metrics-actions": ({"actions": [{"action": "set", "key": "unit", "value": "celsius"},
                                         {"action": "rename", "key": "host", "to": "host.id"}]},
                            gauge_metrics()),
    },
    "redact": {
        "traces-mask": ({"mode": "mask", "mask": "****"}, WEB_SPANS),
        "logs-mask": ({}, APP_LOGS),
        "logs-hash": ({"mode": "hash", "allow_keys": ["client.address"]}, APP_LOGS),
        "logs-email-attributes-only": ({"kinds": ["email"], "bodies": False}, APP_LOGS),
    },
}


# The test cases `weft plugin new` puts into every new project (sdk/templates/testdata): the
# template plugin drops items whose attribute "debug" is "true", like this filter rule.
TEMPLATE_CASES = {"traces": WEB_SPANS, "logs": APP_LOGS}
TEMPLATE_CONFIG = {"attribute": "debug", "equals": "true"}
TEMPLATE_AS_FILTER = {"drop": [{"attribute": "debug", "equals": "true"}]}


def expected_output(args, plugin, case_dir, config_path):
    run = subprocess.run([args.weft, "plugin", "test", "--plugin", f"{args.plugins}/{plugin}.wasm",
                          "--input", str(case_dir / "input.json"), "--config", str(config_path)],
                         capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"{case_dir}: {run.stderr}")
    return run.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weft", default="build/weft")
    ap.add_argument("--plugins", default="build/plugins")
    args = ap.parse_args()
    out = HERE / "vectors"
    shutil.rmtree(out, ignore_errors=True)
    for plugin, cases in CASES.items():
        for name, (config, batch) in cases.items():
            d = out / plugin / name
            d.mkdir(parents=True)
            (d / "config.json").write_text(json.dumps(config, indent=1) + "\n")
            (d / "input.json").write_text(json.dumps(batch, indent=1) + "\n")
            (d / "expected.json").write_text(expected_output(args, plugin, d, d / "config.json"))
            print(f"{plugin}/{name}")
    templates = HERE.parent.parent / "sdk" / "templates" / "testdata"
    shutil.rmtree(templates, ignore_errors=True)
    for name, batch in TEMPLATE_CASES.items():
        d = templates / name
        d.mkdir(parents=True)
        (d / "config.json").write_text(json.dumps(TEMPLATE_CONFIG, indent=1) + "\n")
        (d / "input.json").write_text(json.dumps(batch, indent=1) + "\n")
        rule = d / "filter-rule.json"
        rule.write_text(json.dumps(TEMPLATE_AS_FILTER))
        (d / "expected.json").write_text(expected_output(args, "filter", d, rule))
        rule.unlink()
        print(f"template/{name}")


if __name__ == "__main__":
    main()
