"""Check an OTLP/HTTP JSON trace export with the official OpenTelemetry
protobuf definitions (package `opentelemetry-proto`, pinned in .ci/run).

Usage: check_otlp.py < body.json
Parses the body as an ExportTraceServiceRequest (unknown fields or wrong
types are errors), then prints the spans as JSON with their hex ids as sent
(OTLP JSON carries ids as hex, which plain protobuf JSON would read as
base64, so the ids are checked on the raw document).
"""

import json
import re
import sys

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

raw = sys.stdin.read()
message = json_format.Parse(raw, ExportTraceServiceRequest())
doc = json.loads(raw)
spans = []
for rs, rs_doc in zip(message.resource_spans, doc["resourceSpans"]):
    service = {a.key: a.value.string_value for a in rs.resource.attributes}.get("service.name")
    for ss, ss_doc in zip(rs.scope_spans, rs_doc["scopeSpans"]):
        for span, span_doc in zip(ss.spans, ss_doc["spans"]):
            attrs = {a.key: (a.value.string_value or a.value.int_value) for a in span.attributes}
            spans.append({
                "service": service,
                "name": span.name,
                "kind": span.kind,
                "trace_id": span_doc["traceId"],
                "span_id": span_doc["spanId"],
                "parent_span_id": span_doc.get("parentSpanId"),
                "duration_ns": span.end_time_unix_nano - span.start_time_unix_nano,
                "status": span.status.code,
                "attributes": attrs,
            })
for span in spans:
    assert re.fullmatch(r"[0-9a-f]{32}", span["trace_id"]), span
    assert re.fullmatch(r"[0-9a-f]{16}", span["span_id"]), span
    assert span["parent_span_id"] is None or re.fullmatch(r"[0-9a-f]{16}", span["parent_span_id"]), span
print(json.dumps(spans))
