"""What the trace APIs' tests (Tempo's, Jaeger's) share: two tenants' keys, a node that writes each
batch to the lake at once, a GET as a tenant, and a checkout trace sent with the OpenTelemetry SDK."""
import urllib.error
import urllib.request

KEYS = {"acme": "acme-traces-key", "globex": "globex-traces-key"}
CONFIG = f"""
auth:
  enabled: true
  api_keys: ["acme={KEYS['acme']}", "globex={KEYS['globex']}"]
processing:
  buffer: {{flush_interval_seconds: 0}}
  flush_size_messages: 1
"""


def get(url: str, tenant: str, accept: str = ""):
    headers = {"Authorization": f"Bearer {KEYS[tenant]}"} if tenant else {}
    if accept:
        headers["Accept"] = accept
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def send_trace(http_port: int, tenant: str, service: str):
    """A checkout trace through the SDK's OTLP/HTTP exporter: a server span with a child, an event,
    a link and attributes of several types. Returns (trace id, {span name: SDK span})."""
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": service, "deployment.environment": "e2e"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(
        endpoint=f"http://127.0.0.1:{http_port}/v1/traces", headers={"Authorization": f"Bearer {KEYS[tenant]}"})))
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("shop.checkout", "1.2.3")
    other = trace.SpanContext(trace_id=0x1234, span_id=0x5678, is_remote=True,
                              trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED))
    with tracer.start_as_current_span("POST /checkout", kind=trace.SpanKind.SERVER, links=[
            trace.Link(other, {"link.reason": "retry-of"})],
            attributes={"http.route": "/checkout", "http.status_code": 502, "retry": True}) as root:
        root.add_event("cart.loaded", {"items": 3})
        with tracer.start_as_current_span("charge card", kind=trace.SpanKind.CLIENT,
                                          attributes={"payment.provider": "acmepay"}) as child:
            child.set_status(trace.Status(trace.StatusCode.ERROR, "card declined"))
        root.set_status(trace.Status(trace.StatusCode.ERROR))
    provider.shutdown()
    spans = {s.name: s for s in memory.get_finished_spans()}
    return root.get_span_context().trace_id, spans
