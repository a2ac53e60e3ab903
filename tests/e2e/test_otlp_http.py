"""OTLP/HTTP into the gateway, as curl or an SDK sends it, through ingest and storage to Parquet."""
import gzip
import json
import signal
import time
import urllib.request
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from conftest import free_port, http_get, metric_value, wait_for

LOG_JSON = {
    "resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}},
                                    {"key": "host.cpus", "value": {"intValue": "8"}}]},
        "scopeLogs": [{"scope": {"name": "shop"}, "logRecords": [{
            "timeUnixNano": "1700000000000000000", "severityNumber": 9, "severityText": "INFO",
            "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
            "body": {"stringValue": "order placed"},
            "attributes": [{"key": "order.id", "value": {"intValue": "42"}},
                           {"key": "express", "value": {"boolValue": True}}],
        }]}],
    }]
}


def post(url, body: bytes, content_type="application/json", headers=None):
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": content_type, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def lake_rows(lake: Path, signal: str):
    rows = []
    for f in sorted(lake.rglob("*.parquet")):
        if f"signal={signal}" in str(f):
            table = pq.read_table(f)
            # Nanosecond timestamps as integers: datetime cannot hold them.
            for i, field in enumerate(table.schema):
                if pa.types.is_timestamp(field.type):
                    table = table.set_column(i, field.name, table.column(i).cast(pa.int64()))
            rows.extend(table.to_pylist())
    return rows


def test_json_log_lands_in_the_lake_with_every_field(openwit, tmp_path):
    node = openwit("all")
    url = f"http://127.0.0.1:{node.ports['http']}/v1/logs"
    status, body, _ = post(url, json.dumps(LOG_JSON).encode())
    assert status == 200 and body == b"{}"
    assert node.stop() == 0
    (row,) = lake_rows(tmp_path / "data" / "lake", "logs")
    assert row["Body"] == "order placed"
    assert row["ServiceName"] == "checkout"
    assert row["TraceId"].hex() == "5b8efff798038103d269b633813fc60c"
    assert row["SpanId"].hex() == "eee19b7ec3c1b174"
    assert row["SeverityText"] == "INFO" and row["SeverityNumber"] == 9
    assert dict(row["LogAttributes"]) == {"order.id": "42", "express": "true"}
    assert dict(row["ResourceAttributes"]) == {"service.name": "checkout", "host.cpus": "8"}
    assert row["ScopeName"] == "shop"
    assert row["Timestamp"] == 1700000000000000000
    assert row["ObservedTimestamp"] is None  # it has a time: nothing is made up
    assert any(p.name == "tenant=default" for p in (tmp_path / "data" / "lake").iterdir())


def test_gzip_protobuf_logs_traces_and_metrics(openwit, tmp_path):
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

    node = openwit("all")
    base = f"http://127.0.0.1:{node.ports['http']}"
    logs = logs_service_pb2.ExportLogsServiceRequest()
    for i in range(100):
        logs.resource_logs.add().scope_logs.add().log_records.add().body.string_value = f"pb log {i}"
    logs.resource_logs[7].scope_logs[0].log_records[0].severity_text = "warning"
    traces = trace_service_pb2.ExportTraceServiceRequest()
    span = traces.resource_spans.add().scope_spans.add().spans.add()
    span.name, span.trace_id, span.span_id = "GET /cart", bytes(range(16)), bytes(range(8))
    span.start_time_unix_nano, span.end_time_unix_nano = 1_700_000_000_000_000_000, 1_700_000_000_250_000_000
    metrics = metrics_service_pb2.ExportMetricsServiceRequest()
    m = metrics.resource_metrics.add().scope_metrics.add().metrics.add()
    m.name = "cart.items"
    m.gauge.data_points.add(as_int=3, time_unix_nano=1_700_000_000_000_000_000)
    for path, msg in (("/v1/logs", logs), ("/v1/traces", traces), ("/v1/metrics", metrics)):
        status, body, headers = post(base + path, gzip.compress(msg.SerializeToString()), "application/x-protobuf",
                                     {"Content-Encoding": "gzip"})
        assert status == 200, body
        assert headers["Content-Type"] == "application/x-protobuf" and body == b""
    assert node.stop() == 0
    lake = tmp_path / "data" / "lake"
    log_rows = lake_rows(lake, "logs")
    assert sorted(r["Body"] for r in log_rows) == sorted(f"pb log {i}" for i in range(100))
    # Normalized at the gateway: no service.name and no time were sent.
    assert {r["ServiceName"] for r in log_rows} == {"unknown_service"}
    assert all(r["ObservedTimestamp"] is not None and r["Timestamp"] == r["ObservedTimestamp"] for r in log_rows)
    warn = next(r for r in log_rows if r["Body"] == "pb log 7")
    assert (warn["SeverityText"], warn["SeverityNumber"]) == ("WARN", 13)
    (trace,) = lake_rows(lake, "traces")
    assert trace["SpanName"] == "GET /cart" and trace["Duration"] == 250_000_000
    (point,) = lake_rows(lake, "metrics")
    assert point["MetricName"] == "cart.items" and point["Value"] == 3.0 and point["MetricType"] == "Gauge"


def test_bad_requests_get_precise_errors_and_nothing_dies(openwit):
    node = openwit("all", extra_yaml="proxy:\n  http: {max_payload_size_mb: 1}\n")
    url = f"http://127.0.0.1:{node.ports['http']}/v1/logs"
    bad_id = json.loads(json.dumps(LOG_JSON))
    bad_id["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]["traceId"] = "nothex!"
    status, body, _ = post(url, json.dumps(bad_id).encode())
    assert status == 400
    assert json.loads(body)["message"] == 'resourceLogs[0].scopeLogs[0].logRecords[0].traceId: "nothex!" is not hex'
    # A record with a wrong-length id is rejected alone; the good one beside it is stored.
    mixed = json.loads(json.dumps(LOG_JSON))
    records = mixed["resourceLogs"][0]["scopeLogs"][0]["logRecords"]
    records.append(json.loads(json.dumps(records[0])))
    records[0]["traceId"] = "abcd"
    records[1]["body"]["stringValue"] = "the good one"
    status, body, _ = post(url, json.dumps(mixed).encode())
    assert status == 200
    assert json.loads(body) == {"partialSuccess": {
        "rejectedLogRecords": "1",
        "errorMessage": "resource_logs[0].scope_logs[0].log_records[0].trace_id: 2 bytes, expected 16"}}
    assert metric_value(node.admin, "event_ingest_rejected") == 1
    assert metric_value(node.admin, "event_ingest_validated") == 1
    assert post(url, b"{not json")[0] == 400
    status, body, _ = post(url, b"hello", "text/plain")
    assert status == 415 and b"application/x-protobuf or application/json" in body
    assert post(url, b"\x00\x01", "application/x-protobuf", {"Content-Encoding": "br"})[0] == 415
    assert post(url, b"not gzip", "application/x-protobuf", {"Content-Encoding": "gzip"})[0] == 400
    assert post(url, b"x" * (2 << 20), "application/x-protobuf")[0] == 413
    assert http_get(f"http://127.0.0.1:{node.ports['http']}/v1/logs")[0] == 405
    # Still serving.
    assert post(url, json.dumps(LOG_JSON).encode())[0] == 200
    assert node.stop() == 0


def test_backpressure_is_429_with_retry_after(openwit):
    # Storage unreachable and a buffer of 3 records: the fourth record is refused.
    node = openwit("gateway,ingest", storage_endpoint=f"127.0.0.1:{free_port()}", extra_yaml="""
processing:
  buffer: {max_size_messages: 3, flush_interval_seconds: 0}
  flush_size_messages: 1
""")
    url = f"http://127.0.0.1:{node.ports['http']}/v1/logs"
    codes = []
    for i in range(4):
        doc = json.loads(json.dumps(LOG_JSON))
        doc["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]["body"]["stringValue"] = f"log {i}"
        status, body, headers = post(url, json.dumps(doc).encode())
        codes.append(status)
    assert codes == [200, 200, 200, 429]
    assert headers["Retry-After"] == "1"
    assert b"buffer full" in body
    assert node.stop() == 0


def test_gateway_forwards_to_a_remote_ingest_node(openwit, tmp_path):
    storage_ingest = openwit("ingest,storage")
    gateway = openwit("gateway", extra_yaml="")
    # Point the gateway at the other process's ingest port.
    gateway.stop()
    text = gateway.config.read_text().replace(f'endpoints: ["127.0.0.1:{gateway.ports["ingest"]}"]',
                                              f'endpoints: ["127.0.0.1:{storage_ingest.ports["ingest"]}"]')
    gateway.config.write_text(text)
    gateway.start()
    status, _, _ = post(f"http://127.0.0.1:{gateway.ports['http']}/v1/logs", json.dumps(LOG_JSON).encode())
    assert status == 200
    assert gateway.stop() == 0
    assert storage_ingest.stop() == 0
    assert [r["Body"] for r in lake_rows(tmp_path / "data" / "lake", "logs")] == ["order placed"]


def test_gateway_fails_over_to_a_healthy_ingest_node(openwit, tmp_path):
    storage_ingest = openwit("ingest,storage")
    dead = free_port()  # nothing listens there
    gateway = openwit("gateway", wait=False)
    gateway.stop()
    text = gateway.config.read_text().replace(
        f'endpoints: ["127.0.0.1:{gateway.ports["ingest"]}"]',
        f'endpoints: ["127.0.0.1:{dead}", "127.0.0.1:{storage_ingest.ports["ingest"]}"]')
    gateway.config.write_text(text)
    gateway.start()
    url = f"http://127.0.0.1:{gateway.ports['http']}/v1/logs"
    for i in range(6):  # round-robin would send every other batch to the dead node
        body = json.loads(json.dumps(LOG_JSON))
        body["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]["body"]["stringValue"] = f"failover {i}"
        status, answer, _ = post(url, json.dumps(body).encode())
        assert status == 200, answer
    assert metric_value(gateway.admin, "gateway_ingest_failovers") >= 1
    assert gateway.stop() == 0
    assert storage_ingest.stop() == 0
    assert sorted(r["Body"] for r in lake_rows(tmp_path / "data" / "lake", "logs")) == [f"failover {i}" for i in range(6)]


AUTH = """
auth:
  enabled: true
  api_keys: ["acme=${OW_TEST_ACME_KEY:-acme-key-1}"]
  keys_file: ./keys.txt
quotas:
  overrides: ["slow=5:1000000"]
"""


def test_api_keys_map_to_tenants_and_quotas_apply(openwit, tmp_path):
    (tmp_path / "keys.txt").write_text("slow=slow-key-2\n")
    node = openwit("all", extra_yaml=AUTH)
    url = f"http://127.0.0.1:{node.ports['http']}/v1/logs"
    body = json.dumps(LOG_JSON).encode()
    status, answer, headers = post(url, body)
    assert status == 401 and b"missing credentials" in answer and headers["WWW-Authenticate"] == "Bearer"
    assert post(url, body, headers={"Authorization": "Bearer wrong"})[0] == 401
    assert post(url, body, headers={"Authorization": "Bearer acme-key-1"})[0] == 200
    # Tenant "slow" may send 5 records a second: the first request passes, then some are refused.
    codes = []
    for i in range(8):  # 5 records a request
        doc = json.loads(json.dumps(LOG_JSON))
        records = doc["resourceLogs"][0]["scopeLogs"][0]["logRecords"]
        records[:] = [json.loads(json.dumps(records[0])) for _ in range(5)]
        for j, r in enumerate(records):
            r["body"]["stringValue"] = f"slow {i}.{j}"
        codes.append(post(url, json.dumps(doc).encode(), headers={"x-api-key": "slow-key-2"})[0])
    assert codes[0] == 200 and 429 in codes
    assert node.stop() == 0
    lake = tmp_path / "data" / "lake"
    assert [r["Body"] for r in lake_rows(lake / "tenant=acme", "logs")] == ["order placed"]
    assert len(lake_rows(lake / "tenant=slow", "logs")) == 5 * codes.count(200)
    assert not (lake / "tenant=default").exists()


def test_concurrent_requests_share_bulk_batches(openwit, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    # A gateway with one batch in flight at a time, in front of an ingest node that is stopped
    # (SIGSTOP) while the requests come: the first request's batch is out, unanswered, and the 19
    # others must wait merged behind it, whatever the speed of the machine.
    storage_ingest = openwit("ingest,storage")
    node = openwit("gateway", wait=False, extra_yaml="ingestion:\n  batching: {batch_size: 100000, "
                                                     "batch_timeout_ms: 60000, max_in_flight: 1}\n")
    node.stop()
    node.config.write_text(node.config.read_text().replace(
        f'endpoints: ["127.0.0.1:{node.ports["ingest"]}"]',
        f'endpoints: ["127.0.0.1:{storage_ingest.ports["ingest"]}"]'))
    node.start()
    url = f"http://127.0.0.1:{node.ports['http']}/v1/logs"

    def send(i):
        doc = json.loads(json.dumps(LOG_JSON))
        doc["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]["body"]["stringValue"] = f"concurrent {i}"
        return post(url, json.dumps(doc).encode())[0]

    storage_ingest.proc.send_signal(signal.SIGSTOP)
    try:
        with ThreadPoolExecutor(max_workers=20) as pool:
            first = pool.submit(send, 0)
            wait_for(lambda: metric_value(node.admin, "batch_created") == 1, what="the first batch to go out")
            rest = [pool.submit(send, i) for i in range(1, 20)]
            wait_for(lambda: metric_value(node.admin, "event_ingest_validated") == 20,
                     what="every request to reach the batcher")
            time.sleep(0.2)  # from the validation counter to the batcher
            storage_ingest.proc.send_signal(signal.SIGCONT)
            codes = [first.result()] + [f.result() for f in rest]
    finally:
        storage_ingest.proc.send_signal(signal.SIGCONT)
    assert codes == [200] * 20
    # The first alone, the 19 merged behind it (a third if one came late to the batcher).
    assert metric_value(node.admin, "batch_created") <= 3
    assert metric_value(node.admin, "batch_size_bytes_count") == metric_value(node.admin, "batch_created")
    assert node.stop() == 0
    assert storage_ingest.stop() == 0
    bodies = sorted(r["Body"] for r in lake_rows(tmp_path / "data" / "lake", "logs"))
    assert bodies == sorted(f"concurrent {i}" for i in range(20))
