"""Sends telemetry to an OTLP endpoint with the OpenTelemetry Python SDK.

Run in its own process so the SDK's global state never leaks between tests:

    python sdk_client.py --signal traces|metrics|logs --protocol grpc|http \
        --endpoint 127.0.0.1:PORT --count N --run-id ID

Prints one JSON document on stdout describing exactly what was sent (ids as
lowercase hex, timestamps in ns, attributes, values) so the test can compare it
with what the collector wrote. Exits 1 if any export reported a failure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from opentelemetry.sdk.resources import Resource

SCOPE_NAME = "weft.e2e.sdk"
SCOPE_VERSION = "1.2.3"
BASE_TIME_NS = 1_700_000_000_000_000_000


def resource(run_id: str, signal: str, protocol: str) -> Resource:
    # Resource.create() would merge in env/process detectors; keep it exact.
    return Resource(
        {
            "service.name": "weft-e2e-sdk",
            "e2e.run_id": run_id,
            "e2e.signal": signal,
            "e2e.protocol": protocol,
            "e2e.int": 42,
        }
    )


class Recorder:
    """Wraps an SDK exporter; records the result of every export call."""

    def __init__(self, inner):
        self.inner = inner
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


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _headers(args) -> dict:
    return dict(h.split("=", 1) for h in args.header)


def grpc_options(args) -> dict:
    """The gRPC exporter's arguments: plaintext, or TLS (--ca, mTLS with --client-cert)."""
    opts = {"endpoint": args.endpoint, "timeout": args.timeout, "headers": _headers(args) or None}
    if not args.ca:
        return {**opts, "insecure": True}
    import grpc

    creds = grpc.ssl_channel_credentials(
        root_certificates=_read(args.ca),
        private_key=_read(args.client_key) if args.client_key else None,
        certificate_chain=_read(args.client_cert) if args.client_cert else None,
    )
    return {**opts, "insecure": False, "credentials": creds}


def http_options(args, signal: str) -> dict:
    scheme = "https" if args.ca else "http"
    opts = {"endpoint": f"{scheme}://{args.endpoint}/v1/{signal}", "timeout": args.timeout,
            "headers": _headers(args) or None}
    if args.ca:
        opts["certificate_file"] = args.ca
    if args.client_cert:
        opts["client_certificate_file"] = args.client_cert
        opts["client_key_file"] = args.client_key
    return opts


# --------------------------------------------------------------------------- traces


def send_traces(args) -> dict:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
    from opentelemetry.trace import SpanKind, Status, StatusCode

    if args.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        inner = OTLPSpanExporter(**grpc_options(args))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        inner = OTLPSpanExporter(**http_options(args, "traces"))

    class RecordingSpanExporter(SpanExporter):
        def __init__(self):
            self.rec = Recorder(inner)

        def export(self, spans):
            return self.rec.note(inner.export(spans), len(spans))

        def shutdown(self):
            inner.shutdown()

        def force_flush(self, timeout_millis=30000):
            return True

    exporter = RecordingSpanExporter()
    provider = TracerProvider(resource=resource(args.run_id, "traces", args.protocol))
    provider.add_span_processor(
        BatchSpanProcessor(exporter, max_export_batch_size=args.batch, schedule_delay_millis=200)
    )
    tracer = provider.get_tracer(SCOPE_NAME, SCOPE_VERSION)

    kinds = [SpanKind.INTERNAL, SpanKind.SERVER, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER]
    sent = []
    root = None
    for i in range(args.count):
        start = BASE_TIME_NS + i * 1_000_000
        end = start + 500_000 + i
        attrs = {
            "e2e.index": i,
            "e2e.str": f"value-{i}",
            "e2e.double": i + 0.25,
            "e2e.bool": i % 2 == 0,
            "e2e.strs": ["a", f"b{i}"],
        }
        kind = kinds[i % len(kinds)]
        # Every 10th span starts a new trace; the others are children of it.
        if i % 10 == 0:
            span = tracer.start_span(f"root-{i}", kind=kind, attributes=attrs, start_time=start)
            root = span
        else:
            from opentelemetry.trace import set_span_in_context

            span = tracer.start_span(
                f"child-{i}",
                context=set_span_in_context(root),
                kind=kind,
                attributes=attrs,
                start_time=start,
            )
        span.add_event("e2e.event", {"n": i}, timestamp=start + 10)
        if i % 3 == 0:
            span.set_status(Status(StatusCode.ERROR, f"boom-{i}"))
        elif i % 3 == 1:
            span.set_status(Status(StatusCode.OK))
        ctx = span.get_span_context()
        parent = span.parent
        sent.append(
            {
                "name": span.name,
                "trace_id": format(ctx.trace_id, "032x"),
                "span_id": format(ctx.span_id, "016x"),
                "parent_span_id": format(parent.span_id, "016x") if parent else "",
                "kind": kind.value + 1,  # OTLP enum: SDK value + 1 (UNSPECIFIED = 0)
                "start": start,
                "end": end,
                "attributes": attrs,
                "status_code": {0: 2, 1: 1}.get(i % 3, 0),  # OTLP: ERROR=2, OK=1, UNSET=0
                "status_message": f"boom-{i}" if i % 3 == 0 else "",
                "event_time": start + 10,
            }
        )
        span.end(end_time=end)

    ok = provider.force_flush(30_000)
    provider.shutdown()
    rec = exporter.rec
    return {"ok": ok and rec.failures == 0 and rec.items == args.count, "exports": rec.calls,
            "exported": rec.items, "spans": sent}


# --------------------------------------------------------------------------- metrics

COUNTER_SETS = 5
HISTOGRAM_SETS = 3
GAUGE_POINTS = 2
UPDOWN_SETS = 1
HIST_VALUES = [1, 5, 50]


def send_metrics(args) -> dict:
    from opentelemetry.metrics import Observation
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import MetricExporter, PeriodicExportingMetricReader

    if args.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        inner = OTLPMetricExporter(**grpc_options(args))
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        inner = OTLPMetricExporter(**http_options(args, "metrics"))

    class RecordingMetricExporter(MetricExporter):
        def __init__(self):
            super().__init__(
                preferred_temporality=inner._preferred_temporality,
                preferred_aggregation=inner._preferred_aggregation,
            )
            self.rec = Recorder(inner)

        def export(self, metrics_data, timeout_millis=10_000, **kwargs):
            n = 0
            for rm in metrics_data.resource_metrics:
                for sm in rm.scope_metrics:
                    for m in sm.metrics:
                        n += len(list(m.data.data_points))
            return self.rec.note(inner.export(metrics_data, timeout_millis=timeout_millis), n)

        def force_flush(self, timeout_millis=10_000):
            return True

        def shutdown(self, timeout_millis=30_000, **kwargs):
            inner.shutdown()

    exporter = RecordingMetricExporter()
    # A very long interval: the only export is the explicit force_flush below.
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    # shutdown_on_exit=False and no shutdown(): shutdown would export the
    # cumulative points a second time and make the counts ambiguous.
    provider = MeterProvider(
        resource=resource(args.run_id, "metrics", args.protocol),
        metric_readers=[reader],
        shutdown_on_exit=False,
    )
    meter = provider.get_meter(SCOPE_NAME, SCOPE_VERSION)

    counter = meter.create_counter("e2e.requests", unit="1", description="e2e counter")
    for k in range(COUNTER_SETS):
        counter.add(k + 1, {"set": k})
        counter.add(10, {"set": k})
    hist = meter.create_histogram("e2e.latency", unit="ms", description="e2e histogram")
    for j in range(HISTOGRAM_SETS):
        for v in HIST_VALUES:
            hist.record(v, {"h": j})
    updown = meter.create_up_down_counter("e2e.inflight", unit="1", description="e2e updown")
    updown.add(7, {"u": "x"})
    updown.add(-3, {"u": "x"})

    def gauge_cb(_options):
        return [Observation(3.5, {"g": "a"}), Observation(-2.0, {"g": "b"})]

    meter.create_observable_gauge("e2e.temperature", [gauge_cb], unit="C", description="e2e gauge")

    ok = provider.force_flush(30_000)
    rec = exporter.rec
    expected_points = COUNTER_SETS + HISTOGRAM_SETS + UPDOWN_SETS + GAUGE_POINTS
    inner.shutdown()
    return {
        "ok": ok and rec.failures == 0 and rec.calls == 1 and rec.items == expected_points,
        "exports": rec.calls,
        "exported": rec.items,
        "points": expected_points,
        "counter": {str(k): k + 11 for k in range(COUNTER_SETS)},
        "histogram": {"sets": HISTOGRAM_SETS, "count": len(HIST_VALUES), "sum": sum(HIST_VALUES)},
        "updown": 4,
        "gauge": {"a": 3.5, "b": -2.0},
    }


# --------------------------------------------------------------------------- logs


def send_logs(args) -> dict:
    from opentelemetry._logs import SeverityNumber
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

    if args.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter

        inner = OTLPLogExporter(**grpc_options(args))
    else:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter

        inner = OTLPLogExporter(**http_options(args, "logs"))

    class RecordingLogExporter(LogRecordExporter):
        def __init__(self):
            self.rec = Recorder(inner)

        def export(self, batch):
            return self.rec.note(inner.export(batch), len(batch))

        def shutdown(self):
            inner.shutdown()

        def force_flush(self, timeout_millis=30000):
            return True

    exporter = RecordingLogExporter()
    provider = LoggerProvider(resource=resource(args.run_id, "logs", args.protocol))
    provider.add_log_record_processor(
        BatchLogRecordProcessor(exporter, max_export_batch_size=args.batch, schedule_delay_millis=200)
    )
    logger = provider.get_logger(SCOPE_NAME, SCOPE_VERSION)

    severities = [SeverityNumber.INFO, SeverityNumber.WARN, SeverityNumber.ERROR, SeverityNumber.DEBUG]
    sent = []
    for i in range(args.count):
        sev = severities[i % len(severities)]
        ts = BASE_TIME_NS + i * 1_000_000
        trace_id = 0x0AF7651916CD43DD8448EB211C80319C + i
        span_id = 0x00F067AA0BA902B7 + i
        ctx = set_span_in_context(
            NonRecordingSpan(SpanContext(trace_id, span_id, is_remote=False, trace_flags=TraceFlags(1)))
        )
        attrs = {"e2e.index": i, "e2e.str": f"log-{i}", "e2e.double": i / 4}
        logger.emit(
            timestamp=ts,
            observed_timestamp=ts + 5,
            context=ctx,
            severity_number=sev,
            severity_text=sev.name,
            body=f"log message {i}",
            attributes=attrs,
        )
        sent.append(
            {
                "body": f"log message {i}",
                "time": ts,
                "observed_time": ts + 5,
                "severity_number": sev.value,
                "severity_text": sev.name,
                "trace_id": format(trace_id, "032x"),
                "span_id": format(span_id, "016x"),
                "flags": 1,
                "attributes": attrs,
            }
        )

    ok = provider.force_flush(30_000)
    provider.shutdown()
    rec = exporter.rec
    return {"ok": ok and rec.failures == 0 and rec.items == args.count, "exports": rec.calls,
            "exported": rec.items, "logs": sent}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--signal", choices=["traces", "metrics", "logs"], required=True)
    p.add_argument("--protocol", choices=["grpc", "http"], required=True)
    p.add_argument("--endpoint", required=True, help="host:port")
    p.add_argument("--count", type=int, default=50)
    p.add_argument("--batch", type=int, default=512, help="max export batch size")
    p.add_argument("--run-id", default=str(time.time_ns()))
    p.add_argument("--ca", help="TLS: the CA to trust (PEM file)")
    p.add_argument("--client-cert", help="mutual TLS: the client certificate (PEM file)")
    p.add_argument("--client-key", help="mutual TLS: the client key (PEM file)")
    p.add_argument("--header", action="append", default=[], help="NAME=VALUE, sent with each export")
    p.add_argument("--env-headers", help="OTEL_EXPORTER_OTLP_HEADERS for the SDK to read itself")
    p.add_argument("--timeout", type=float, default=10, help="the exporter's timeout (s)")
    args = p.parse_args()
    if args.env_headers:
        import os

        os.environ["OTEL_EXPORTER_OTLP_HEADERS"] = args.env_headers

    fn = {"traces": send_traces, "metrics": send_metrics, "logs": send_logs}[args.signal]
    result = fn(args)
    result.update({"signal": args.signal, "protocol": args.protocol, "run_id": args.run_id,
                   "scope_name": SCOPE_NAME, "scope_version": SCOPE_VERSION})
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    sys.stdout.flush()
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
