"""OpenTelemetry tracing, opt-in (`tracing = true`). The gateway's code only uses the API, which
is a no-op until a tracer provider is configured: with tracing off no SDK is set up and a span
costs a context lookup. `configure_tracing` installs the SDK's provider unless the process has
one already (for instance from `opentelemetry-instrument`).

The SDK and the OTLP exporter read the standard `OTEL_*` variables themselves (endpoint,
headers, timeout, compression, service name, resource attributes, sampler, batch sizes,
`OTEL_SDK_DISABLED`); the only one chosen here is `OTEL_TRACES_EXPORTER`, because the SDK
leaves picking exporters to its auto-instrumentation, which the gateway does not need.

Trace context crosses the gateway as W3C `traceparent` / `tracestate` only: the request span
continues the caller's trace, and every provider call carries it on. Baggage is deliberately
not propagated: whatever a client puts there would otherwise reach third-party providers.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, MutableMapping
from contextlib import AbstractContextManager
from importlib.metadata import entry_points

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes
from starlette.datastructures import Headers

from gateway.errors import ConfigError

tracer = trace.get_tracer("customer-gateway")

_PROPAGATOR = TraceContextTextMapPropagator()
# The exporter entry points the OpenTelemetry packages register (`console`, `otlp_proto_http`,
# `zipkin_json` when installed...): names other than `otlp` and `console` resolve there.
_EXPORTER_GROUP = "opentelemetry_traces_exporter"
# The one OTLP transport the gateway ships; the spec's default too.
_HTTP_PROTOBUF = "http/protobuf"


class _HeaderLists(Getter[Headers]):
    """Every value of a header: W3C allows `tracestate` split over several header lines. Two
    `traceparent` lines name no one parent, so they count as none."""

    def get(self, carrier: Headers, key: str) -> list[str] | None:
        values = carrier.getlist(key)
        if key == "traceparent" and len(values) > 1:
            return None
        return values or None

    def keys(self, carrier: Headers) -> list[str]:
        return list(carrier.keys())


_HEADERS = _HeaderLists()


def inbound_context(headers: Headers) -> Context:
    """The caller's trace context from `traceparent` / `tracestate`; an empty context (so the
    request starts a trace of its own) when they are absent or malformed."""
    return _PROPAGATOR.extract(headers, getter=_HEADERS)


def request_span(headers: Headers, attributes: Attributes) -> AbstractContextManager[Span]:
    """The current span for serving one request: a server span, child of the caller's span
    when it sent a valid `traceparent`."""
    return tracer.start_as_current_span(
        "graphql.request", inbound_context(headers), SpanKind.SERVER, attributes=attributes
    )


def inject_context(headers: MutableMapping[str, str]) -> None:
    """Write the current span's `traceparent` (and `tracestate`, when there is one)."""
    _PROPAGATOR.inject(headers)


def span_exporters(environ: Mapping[str, str] = os.environ) -> list[SpanExporter]:
    """The exporters `OTEL_TRACES_EXPORTER` names (comma-separated; `otlp` by default, as the
    specification says; `none` for none)."""
    names = [n.strip() for n in environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",")]
    exporters: list[SpanExporter] = []
    for name in filter(None, names):
        if name == "none":
            continue
        if name == "otlp":
            _check_otlp_protocol(environ)
            # Imported when used: with tracing off the gateway never loads it.
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporters.append(OTLPSpanExporter())
        elif name == "console":
            exporters.append(ConsoleSpanExporter())
        else:
            exporters.append(_installed_exporter(name))
    return exporters


def _check_otlp_protocol(environ: Mapping[str, str]) -> None:
    protocol = (
        environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or _HTTP_PROTOBUF
    ).strip()
    if protocol != _HTTP_PROTOBUF:
        raise ConfigError(
            f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r}: the gateway exports OTLP over "
            f"{_HTTP_PROTOBUF} only (point it at a collector's HTTP port, 4318 by default)"
        )


def _installed_exporter(name: str) -> SpanExporter:
    found = entry_points(group=_EXPORTER_GROUP, name=name)
    if not found:
        raise ConfigError(
            f"OTEL_TRACES_EXPORTER: no span exporter named {name!r} is installed "
            "(otlp, console and none are built in)"
        )
    exporter: SpanExporter = next(iter(found)).load()()
    return exporter


def tracer_provider(service_name: str) -> TracerProvider:
    """An SDK provider batching spans to the configured exporters. `service_name` unless
    `OTEL_SERVICE_NAME` or `OTEL_RESOURCE_ATTRIBUTES` names the service."""
    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: service_name}))
    # Shut down (and so flushed) at interpreter exit too; `flush_spans` covers SIGTERM, which
    # ends `serve` without running atexit handlers.
    provider = TracerProvider(resource=resource)
    for exporter in span_exporters():
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def configure_tracing(service_name: str) -> None:
    """Install `tracer_provider(service_name)` as the process's, unless an SDK provider is
    configured already (OpenTelemetry allows setting it once)."""
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return
    trace.set_tracer_provider(tracer_provider(service_name))


async def flush_spans() -> None:
    """Export what the batch processors still hold (on the app's shutdown); nothing to do when
    tracing is off. The exporters block, so this runs off the event loop."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        await asyncio.to_thread(provider.force_flush)


__all__ = [
    "configure_tracing",
    "flush_spans",
    "inbound_context",
    "inject_context",
    "request_span",
    "span_exporters",
    "tracer",
    "tracer_provider",
]
