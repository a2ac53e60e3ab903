"""OTLP/gRPC into the gateway with the real OpenTelemetry Python SDK exporters (gRPC and HTTP) and
OTLP's own gRPC stubs; what they send must land in the lake with every attribute."""
import logging
from pathlib import Path

import grpc
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc


def _ints_for_times(t: pa.DataType) -> pa.DataType:
    """The same type with every timestamp as int64 (Python's datetime has no nanoseconds)."""
    if pa.types.is_timestamp(t):
        return pa.int64()
    if pa.types.is_list(t):
        return pa.list_(pa.field(t.value_field.name, _ints_for_times(t.value_type)))
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _ints_for_times(f.type), f.nullable) for f in t])
    return t


def lake_rows(lake: Path, signal: str):
    rows = []
    for f in sorted(lake.rglob("*.parquet")):
        if f"signal={signal}" in str(f):
            table = pq.read_table(f)
            schema = pa.schema([pa.field(x.name, _ints_for_times(x.type), x.nullable) for x in table.schema])
            rows.extend(table.cast(schema).to_pylist())
    return rows


def logs_request(bodies, trace_id=b""):
    req = logs_service_pb2.ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    kv = rl.resource.attributes.add()
    kv.key, kv.value.string_value = "service.name", "cart"
    records = rl.scope_logs.add().log_records
    for b in bodies:
        rec = records.add()
        rec.body.string_value = b
        rec.time_unix_nano = 1_700_000_000_000_000_000
        rec.trace_id = trace_id
    return req


def test_export_with_otlp_stubs_gzip_and_errors(openwit, tmp_path):
    node = openwit("all", extra_yaml="")
    channel = grpc.insecure_channel(f"127.0.0.1:{node.ports['grpc']}")
    logs = logs_service_pb2_grpc.LogsServiceStub(channel)
    logs.Export(logs_request([f"stub {i}" for i in range(50)]), timeout=30)
    logs.Export(logs_request([f"gzip {i}" for i in range(50)]), timeout=30, compression=grpc.Compression.Gzip)
    # One bad record among good ones: it alone is rejected, named in the partial success.
    mixed = logs_request(["good 1", "bad id", "good 2"])
    mixed.resource_logs[0].scope_logs[0].log_records[1].trace_id = b"\x01\x02\x03"
    answer = logs.Export(mixed, timeout=30)
    assert answer.partial_success.rejected_log_records == 1
    assert answer.partial_success.error_message == "resource_logs[0].scope_logs[0].log_records[1].trace_id: 3 bytes, expected 16"
    # Bytes that are not an export request: refused by name, and the receiver goes on serving.
    raw = channel.unary_unary("/opentelemetry.proto.collector.logs.v1.LogsService/Export",
                              request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as garbage:
        raw(b"\xff\xff\xff\xff not protobuf", timeout=30)
    assert garbage.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid OTLP protobuf message" in garbage.value.details()
    logs.Export(logs_request(["after garbage"]), timeout=30)
    assert node.stop() == 0
    bodies = sorted(r["Body"] for r in lake_rows(tmp_path / "data" / "lake", "logs"))
    assert bodies == sorted([f"stub {i}" for i in range(50)] + [f"gzip {i}" for i in range(50)] +
                            ["good 1", "good 2", "after garbage"])



def test_disabled_signal_answers_unimplemented(openwit):
    node = openwit("all")
    node.stop()
    node.config.write_text(node.config.read_text().replace(
        f"grpc: {{bind: 127.0.0.1, port: {node.ports['grpc']}}}",
        f"grpc: {{bind: 127.0.0.1, port: {node.ports['grpc']}, otlp_metrics_enabled: false}}"))
    node.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{node.ports['grpc']}")
    with pytest.raises(grpc.RpcError) as off:
        metrics_service_pb2_grpc.MetricsServiceStub(channel).Export(metrics_service_pb2.ExportMetricsServiceRequest(), timeout=10)
    assert off.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "grpc.otlp_metrics_enabled" in off.value.details()
    logs_service_pb2_grpc.LogsServiceStub(channel).Export(logs_request(["still on"]), timeout=30)
    assert node.stop() == 0


def test_sdk_grpc_exporters_send_spans_logs_and_metrics(openwit, tmp_path):
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    node = openwit("all")
    endpoint = f"127.0.0.1:{node.ports['grpc']}"
    resource = Resource.create({"service.name": "sdk-grpc", "deployment.environment": "test"})

    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True)))
    tracer = tracer_provider.get_tracer("e2e")
    with tracer.start_as_current_span("checkout", attributes={"cart.items": 3, "vip": True}) as parent:
        parent.add_event("payment.authorized", {"amount": 12.5})
        with tracer.start_as_current_span("charge-card"):
            pass
    tracer_provider.shutdown()

    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter(endpoint=endpoint, insecure=True)))
    logger = logging.getLogger("e2e.sdk")
    logger.propagate = False
    logger.addHandler(LoggingHandler(level=logging.INFO, logger_provider=logger_provider))
    logger.setLevel(logging.INFO)
    logger.warning("disk almost full", extra={"disk.free_mb": 42})
    logger_provider.shutdown()

    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=endpoint, insecure=True), export_interval_millis=60000)
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    meter_provider.get_meter("e2e").create_counter("orders").add(7, {"region": "eu"})
    meter_provider.shutdown()

    assert node.stop() == 0
    lake = tmp_path / "data" / "lake"
    spans = {r["SpanName"]: r for r in lake_rows(lake, "traces")}
    assert set(spans) == {"checkout", "charge-card"}
    assert spans["charge-card"]["ParentSpanId"] == spans["checkout"]["SpanId"]
    assert dict(spans["checkout"]["SpanAttributes"]) == {"cart.items": "3", "vip": "true"}
    assert spans["checkout"]["Events"][0]["Name"] == "payment.authorized"
    assert dict(spans["checkout"]["ResourceAttributes"])["deployment.environment"] == "test"
    assert spans["checkout"]["ServiceName"] == "sdk-grpc"
    (log,) = lake_rows(lake, "logs")
    assert log["Body"] == "disk almost full" and log["SeverityText"] == "WARN"
    assert dict(log["LogAttributes"])["disk.free_mb"] == "42"
    points = [r for r in lake_rows(lake, "metrics") if r["MetricName"] == "orders"]
    assert len(points) == 1 and points[0]["Value"] == 7.0 and dict(points[0]["Attributes"]) == {"region": "eu"}


def test_sdk_http_exporter_sends_spans(openwit, tmp_path):
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    node = openwit("all")
    provider = TracerProvider(resource=Resource.create({"service.name": "sdk-http"}))
    provider.add_span_processor(SimpleSpanProcessor(
        OTLPSpanExporter(endpoint=f"http://127.0.0.1:{node.ports['http']}/v1/traces")))
    with provider.get_tracer("e2e").start_as_current_span("GET /health", attributes={"http.status_code": 200}):
        pass
    provider.shutdown()
    assert node.stop() == 0
    (span,) = lake_rows(tmp_path / "data" / "lake", "traces")
    assert span["SpanName"] == "GET /health" and span["ServiceName"] == "sdk-http"
    assert dict(span["SpanAttributes"]) == {"http.status_code": "200"}


def test_grpc_credentials_map_to_tenants(openwit, tmp_path):
    node = openwit("all", extra_yaml='auth:\n  enabled: true\n  api_keys: ["acme=acme-key-1"]\n')
    logs = logs_service_pb2_grpc.LogsServiceStub(grpc.insecure_channel(f"127.0.0.1:{node.ports['grpc']}"))
    with pytest.raises(grpc.RpcError) as missing:
        logs.Export(logs_request(["anonymous"]), timeout=10)
    assert missing.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as wrong:
        logs.Export(logs_request(["wrong"]), timeout=10, metadata=[("authorization", "Bearer nope")])
    assert wrong.value.code() == grpc.StatusCode.UNAUTHENTICATED and wrong.value.details() == "unknown API key"
    logs.Export(logs_request(["with key"]), timeout=10, metadata=[("x-api-key", "acme-key-1")])
    assert node.stop() == 0
    assert [r["Body"] for r in lake_rows(tmp_path / "data" / "lake" / "tenant=acme", "logs")] == ["with key"]
