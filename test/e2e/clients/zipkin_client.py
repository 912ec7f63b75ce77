"""Sends spans with the OpenTelemetry Python SDK's Zipkin JSON exporter and prints, as one
JSON line, what it sent: for each span its ids, name, kind, times, attributes, events and
status, as the SDK had them."""

from __future__ import annotations

import argparse
import json

from opentelemetry.exporter.zipkin.json import ZipkinExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True, help="http://host:port/api/v2/spans")
    p.add_argument("--count", type=int, default=5)
    args = p.parse_args()
    finished = []

    class Recorder(SimpleSpanProcessor):
        def on_end(self, span):
            finished.append(span)
            super().on_end(span)

    provider = TracerProvider(resource=Resource.create({"service.name": "zipkin-e2e"}))
    provider.add_span_processor(Recorder(ZipkinExporter(endpoint=args.endpoint)))
    tracer = provider.get_tracer("io.weft.zipkin-client", "0.4.2")
    kinds = [SpanKind.SERVER, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER,
             SpanKind.INTERNAL]
    for i in range(args.count):
        with tracer.start_as_current_span(f"parent-{i}", kind=SpanKind.SERVER) as parent:
            parent.set_attribute("http.route", f"/orders/{i}")
            parent.set_attribute("retries", i)
            parent.add_event("accepted", {"queue": "orders"})
            parent.add_event("plain")
            with tracer.start_as_current_span(f"child-{i}", kind=kinds[i % 5]) as child:
                child.set_attribute("peer.service", "inventory")
                if i % 2:
                    child.set_status(Status(StatusCode.ERROR, f"failure {i}"))
    provider.shutdown()
    out = []
    for s in finished:
        ctx = s.get_span_context()
        out.append({
            "trace_id": f"{ctx.trace_id:032x}", "span_id": f"{ctx.span_id:016x}",
            "parent_id": f"{s.parent.span_id:016x}" if s.parent else "",
            "name": s.name, "kind": s.kind.name,
            "start_ns": s.start_time, "end_ns": s.end_time,
            "attributes": {k: str(v) for k, v in s.attributes.items()},
            "events": [e.name for e in s.events],
            "status": s.status.status_code.name, "message": s.status.description or "",
        })
    print(json.dumps({"ok": True, "spans": out}))


if __name__ == "__main__":
    main()
