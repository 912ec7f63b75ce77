"""Sends given spans or log records with the OpenTelemetry Python SDK (for the redact
plugin's test: attributes and bodies that hold personal data).

    python redact_client.py --signal traces|logs --protocol grpc|http \
        --endpoint 127.0.0.1:PORT --spec spec.json

spec.json: {"resource": {key: value},
            "spans": [{"name": str, "attributes": {...}}],
            "logs":  [{"body": str | int, "attributes": {...}}]}

Everything is exported in one batch (one force_flush). Prints one JSON line
{"ok", "exports", "exported"}; exits 1 if an export failed.
"""

from __future__ import annotations

import argparse
import json
import sys

from opentelemetry.sdk.resources import Resource

SCOPE_NAME = "weft.e2e.redact"
BASE_TIME_NS = 1_700_000_000_000_000_000


class Recorder:
    def __init__(self):
        self.calls = 0
        self.failures = 0
        self.items = 0

    def note(self, result, n):
        self.calls += 1
        self.items += n
        if getattr(result, "name", str(result)) != "SUCCESS":
            self.failures += 1
            print(f"export #{self.calls} of {n} items failed: {result!r}", file=sys.stderr)
        return result


def send_traces(args, spec, rec: Recorder) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

    if args.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        inner = OTLPSpanExporter(endpoint=args.endpoint, insecure=True, timeout=10)
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        inner = OTLPSpanExporter(endpoint=f"http://{args.endpoint}/v1/traces", timeout=10)

    class Exporter(SpanExporter):
        def export(self, spans):
            return rec.note(inner.export(spans), len(spans))

        def shutdown(self):
            inner.shutdown()

        def force_flush(self, timeout_millis=30000):
            return True

    provider = TracerProvider(resource=Resource(spec["resource"]))
    # A long delay: the only export is the force_flush below.
    provider.add_span_processor(BatchSpanProcessor(Exporter(), schedule_delay_millis=60_000))
    tracer = provider.get_tracer(SCOPE_NAME)
    for i, s in enumerate(spec["spans"]):
        start = BASE_TIME_NS + i * 1_000_000
        tracer.start_span(s["name"], attributes=s["attributes"], start_time=start).end(end_time=start + 1000)
    provider.force_flush(30_000)
    provider.shutdown()


def send_logs(args, spec, rec: Recorder) -> None:
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter

    if args.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter

        inner = OTLPLogExporter(endpoint=args.endpoint, insecure=True, timeout=10)
    else:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter

        inner = OTLPLogExporter(endpoint=f"http://{args.endpoint}/v1/logs", timeout=10)

    class Exporter(LogRecordExporter):
        def export(self, batch):
            return rec.note(inner.export(batch), len(batch))

        def shutdown(self):
            inner.shutdown()

        def force_flush(self, timeout_millis=30000):
            return True

    provider = LoggerProvider(resource=Resource(spec["resource"]))
    provider.add_log_record_processor(BatchLogRecordProcessor(Exporter(), schedule_delay_millis=60_000))
    logger = provider.get_logger(SCOPE_NAME)
    for i, r in enumerate(spec["logs"]):
        ts = BASE_TIME_NS + i * 1_000_000
        logger.emit(timestamp=ts, observed_timestamp=ts, body=r["body"], attributes=r["attributes"])
    provider.force_flush(30_000)
    provider.shutdown()


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--signal", choices=["traces", "logs"], required=True)
    p.add_argument("--protocol", choices=["grpc", "http"], required=True)
    p.add_argument("--endpoint", required=True, help="host:port")
    p.add_argument("--spec", required=True, help="JSON file with the resource, spans and logs")
    args = p.parse_args()
    with open(args.spec) as f:
        spec = json.load(f)
    rec = Recorder()
    {"traces": send_traces, "logs": send_logs}[args.signal](args, spec, rec)
    expected = len(spec["spans"] if args.signal == "traces" else spec["logs"])
    ok = rec.failures == 0 and rec.items == expected
    json.dump({"ok": ok, "exports": rec.calls, "exported": rec.items}, sys.stdout)
    sys.stdout.write("\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
