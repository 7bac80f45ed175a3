"""OpenTelemetry tracing, opt-in. The gateway only uses the API; `configure_tracing` installs
an SDK provider when settings ask for one and none is configured yet (for instance by
`opentelemetry-instrument`)."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

tracer = trace.get_tracer("customer-gateway")


def configure_tracing(service_name: str) -> None:
    """Spans to stdout as JSON; point an OpenTelemetry collector at the log stream, or
    configure your own SDK provider before start-up to export elsewhere."""
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(provider)


__all__ = ["configure_tracing", "tracer"]
