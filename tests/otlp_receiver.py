"""An OTLP/HTTP trace receiver on loopback, for tests: it decodes each `ExportTraceServiceRequest`
protobuf it is sent (POST /v1/traces, as a collector's HTTP port would) and keeps the spans.

Usage: `with otlp_receiver() as receiver:` point `OTEL_EXPORTER_OTLP_ENDPOINT` at
`receiver.endpoint`, then read `receiver.spans`.
"""

from __future__ import annotations

import contextlib
import gzip
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

PROTOBUF = "application/x-protobuf"


@dataclass(frozen=True)
class ReceivedSpan:
    """One decoded span: ids as lowercase hex, as they appear in `traceparent`."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    trace_state: str
    kind: str
    attributes: dict[str, object]
    resource: dict[str, object]
    scope: str


def _value(value: AnyValue) -> object:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    return getattr(value, kind) if kind else None


def _attributes(pairs: Iterator[KeyValue] | list[KeyValue]) -> dict[str, object]:
    return {pair.key: _value(pair.value) for pair in pairs}


def decode(body: bytes) -> list[ReceivedSpan]:
    """The spans of one serialized `ExportTraceServiceRequest`."""
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    ReceivedSpan(
                        name=span.name,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(),
                        trace_state=span.trace_state,
                        kind=Span.SpanKind.Name(span.kind),
                        attributes=_attributes(span.attributes),
                        resource=resource,
                        scope=scope_spans.scope.name,
                    )
                )
    return spans


@dataclass
class OtlpReceiver:
    port: int
    spans: list[ReceivedSpan] = field(default_factory=list)
    # Requests that were not an OTLP/protobuf trace export, with what was wrong.
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def endpoint(self) -> str:
        """The base URL, for `OTEL_EXPORTER_OTLP_ENDPOINT` (the exporter adds /v1/traces)."""
        return f"http://127.0.0.1:{self.port}"

    def named(self, name: str) -> list[ReceivedSpan]:
        with self.lock:
            return [s for s in self.spans if s.name == name]


def _handler(receiver: OtlpReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            problem = self._problem()
            if problem is None:
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                try:
                    spans = decode(body)
                except DecodeError as exc:
                    problem = f"undecodable body: {exc}"
            with receiver.lock:
                if problem is None:
                    receiver.spans.extend(spans)
                else:
                    receiver.refused.append(problem)
            if problem is not None:
                self.send_error(400, problem)
                return
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("content-type", PROTOBUF)
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def _problem(self) -> str | None:
            if self.path != "/v1/traces":
                return f"POST {self.path}: not the traces path"
            if self.headers.get("content-type") != PROTOBUF:
                return f"content-type {self.headers.get('content-type')}"
            return None

        def log_message(self, format: str, *args: object) -> None:
            # Quiet: the test asserts on what was received, not on an access log.
            return

    return Handler


@contextlib.contextmanager
def otlp_receiver() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver(port=0)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
