"""The gateway's Kafka source against a real one-node KRaft broker (peers.py): OTLP export requests
produced with librdkafka (confluent-kafka) land in the lake exactly once; offsets are committed
only behind what the ingest node acked; backpressure pauses partitions; bad messages are skipped."""
import collections
import os
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import free_port, metric_value, run_cli
from peers import kafka  # noqa: F401  (module-scoped broker fixture)


def log_request(tag: str, n: int) -> bytes:
    """An ExportLogsServiceRequest of `n` records whose bodies are f"{tag}-{j}"."""
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
    from opentelemetry.proto.common.v1 import common_pb2

    req = logs_service_pb2.ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    rl.resource.attributes.append(common_pb2.KeyValue(key="service.name",
                                                      value=common_pb2.AnyValue(string_value="kafka-e2e")))
    sl = rl.scope_logs.add()
    for j in range(n):
        rec = sl.log_records.add()
        rec.time_unix_nano = 1_700_000_000_000_000_000 + j
        rec.severity_text = "INFO"
        rec.body.string_value = f"{tag}-{j}"
    return req.SerializeToString()


def trace_request(tag: str, n: int) -> bytes:
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

    req = trace_service_pb2.ExportTraceServiceRequest()
    ss = req.resource_spans.add().scope_spans.add()
    for j in range(n):
        span = ss.spans.add()
        span.trace_id = bytes([1 + j % 200]) * 16
        span.span_id = bytes([1 + j % 200]) * 8
        span.name = f"{tag}-{j}"
        span.start_time_unix_nano = 1_700_000_000_000_000_000
        span.end_time_unix_nano = 1_700_000_000_000_001_000
    return req.SerializeToString()


def metric_request(tag: str, n: int) -> bytes:
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2

    req = metrics_service_pb2.ExportMetricsServiceRequest()
    sm = req.resource_metrics.add().scope_metrics.add()
    m = sm.metrics.add()
    m.name = f"{tag}.requests"
    for j in range(n):
        dp = m.gauge.data_points.add()
        dp.time_unix_nano = 1_700_000_000_000_000_000 + j
        dp.as_int = j
    return req.SerializeToString()


# The guarantees hold for both profiles: high_performance with more processing threads than consumers
# and a channel small enough to fill.
PROFILES = {
    "standard": {},
    "high_performance": {"consumer_type": "high_performance",
                         "high_performance": "{num_consumers: 1, processing_threads: 2, channel_buffer_size: 2}"},
}


def kafka_yaml(kafka, group: str, topics, **settings) -> str:
    extra = "".join(f"  {k}: {v}\n" for k, v in settings.items())
    topic_list = ", ".join(f'"{t}"' for t in topics)
    return f"""
ingestion:
  sources:
    kafka: {{enabled: true}}
kafka:
  brokers: ["{kafka.bootstrap}"]
  group_id: {group}
  topics: [{topic_list}]
  batch_timeout_ms: 50
  session_timeout_ms: 6000
{extra}"""


def produce(kafka, topic: str, messages, partition=None):
    p = kafka.producer()
    for i, m in enumerate(messages):
        kwargs = {} if partition is None else {"partition": partition(i)}
        p.produce(topic, m, **kwargs)
        p.poll(0)
    assert p.flush(30) == 0


def end_offsets(kafka, topic: str, partitions: int) -> dict:
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": "openwit-e2e-probe"})
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(partitions)}
    finally:
        c.close()


def wait_committed(kafka, group: str, topic: str, partitions: int = 1, timeout: float = 60.0, node=None):
    """Waits until the group's committed offsets reach the end of every partition of `topic`."""
    want = end_offsets(kafka, topic, partitions)
    deadline = time.time() + timeout
    got = None
    while time.time() < deadline:
        got = kafka.committed(group, topic, partitions)
        if got == want:
            return got
        time.sleep(0.3)
    raise AssertionError(f"{topic}: committed {got}, end offsets {want}\n{node.output()[-4000:] if node else ''}")


def lake_values(lake: Path, signal: str, column: str):
    values = []
    for f in sorted(lake.rglob("*.parquet")):
        if f"signal={signal}" in str(f):
            values.extend(pq.read_table(f, columns=[column]).column(column).to_pylist())
    return values


def test_logs_traces_and_metrics_land_once_from_a_topic_pattern(openwit, kafka, tmp_path):
    kafka.create_topic("e2e-a-logs", partitions=2)
    kafka.create_topic("e2e-a-traces")
    kafka.create_topic("e2e-a-metrics")
    produce(kafka, "e2e-a-logs", [log_request(f"a{i}", 10) for i in range(40)], partition=lambda i: i % 2)
    produce(kafka, "e2e-a-traces", [trace_request(f"t{i}", 5) for i in range(10)])
    produce(kafka, "e2e-a-metrics", [metric_request(f"m{i}", 3) for i in range(10)])
    node = openwit("all", extra_yaml=kafka_yaml(
        kafka, "g-a", ["^e2e-a-.*"], consumer_type="high_performance",
        high_performance="{num_consumers: 2}", batch_size=50))
    wait_committed(kafka, "g-a", "e2e-a-logs", 2, node=node)
    wait_committed(kafka, "g-a", "e2e-a-traces", node=node)
    wait_committed(kafka, "g-a", "e2e-a-metrics", node=node)
    # >= : the second consumer's join may revoke partitions mid-read, and they are read again.
    assert metric_value(node.admin, "kafka_messages_consumed") >= 60
    assert metric_value(node.admin, "kafka_offsets_committed") >= 4
    assert metric_value(node.admin, "kafka_messages_invalid") == 0
    assert node.stop() == 0
    lake = tmp_path / "data" / "lake"
    bodies = lake_values(lake, "logs", "Body")
    assert sorted(bodies) == sorted(f"a{i}-{j}" for i in range(40) for j in range(10))
    spans = lake_values(lake, "traces", "SpanName")
    assert sorted(spans) == sorted(f"t{i}-{j}" for i in range(10) for j in range(5))
    assert len(lake_values(lake, "metrics", "MetricName")) == 30
    assert "kafka source: 2 consumer(s)" in node.output()


@pytest.mark.parametrize("profile", PROFILES)
def test_kill_9_mid_stream_loses_nothing_and_stores_nothing_twice(openwit, kafka, tmp_path, profile):
    """Records are acked (short WAL durable) before their offsets are committed: after a kill -9,
    Kafka redelivers from the committed offset, the ingest node's dedup drops what it already holds,
    and whatever was committed must therefore be in the lake at the end. A commit ahead of the WAL
    would show up here as missing records."""
    topic, group, total, per = f"e2e-b-{profile}-logs", f"g-b-{profile}", 300, 20
    kafka.create_topic(topic, partitions=2)
    # Batches go to storage at once, so many are acked, stored and released before their offsets
    # are committed: after the kill Kafka redelivers them, and only the dedup window the ingest node
    # rebuilds from its long WAL at start keeps them from being stored twice.
    yaml = kafka_yaml(kafka, group, [topic], batch_size=100, **PROFILES[profile]) + """
processing:
  buffer: {flush_interval_seconds: 0}
  flush_size_messages: 1
"""
    node = openwit("all", extra_yaml=yaml)
    produced = [0]

    def producer():
        p = kafka.producer()
        for i in range(total):
            p.produce(topic, log_request(f"b{i}", per), partition=i % 2)
            p.poll(0)
            produced[0] = i + 1
            time.sleep(0.01)
        p.flush(30)

    t = threading.Thread(target=producer)
    t.start()
    deadline = time.time() + 60
    while metric_value(node.admin, "kafka_offsets_committed") < 3 and time.time() < deadline:
        time.sleep(0.05)
    assert produced[0] < total, "the producer finished before the kill: make it slower"
    node.kill()
    at_kill = produced[0]
    committed = kafka.committed(group, topic, 2)
    assert 0 < sum(committed.values()) <= at_kill, (committed, at_kill)
    node.start()
    t.join()
    wait_committed(kafka, group, topic, 2, timeout=90, node=node)
    assert node.stop() == 0
    bodies = lake_values(tmp_path / "data" / "lake", "logs", "Body")
    counts = collections.Counter(bodies)
    missing = {f"b{i}-{j}" for i in range(total) for j in range(per)} - set(counts)
    assert not missing, f"{len(missing)} records lost, e.g. {sorted(missing)[:5]}"
    twice = [b for b, n in counts.items() if n > 1]
    assert not twice, f"{len(twice)} records stored twice, e.g. {twice[:5]}"
    assert len(bodies) == total * per


@pytest.mark.parametrize("profile", PROFILES)
def test_backpressure_pauses_the_partition_and_every_record_arrives(openwit, kafka, tmp_path, profile):
    topic, group = f"e2e-c-{profile}-logs", f"g-c-{profile}"
    kafka.create_topic(topic)
    produce(kafka, topic, [log_request(f"c{i}", 10) for i in range(100)])
    # The storage node is not there yet: the ingest buffer (100 records) fills and says
    # RESOURCE_EXHAUSTED; the partition must pause and nothing may be committed past the buffer.
    storage_port = free_port()
    gw = openwit("gateway,ingest", storage_endpoint=f"127.0.0.1:{storage_port}",
                 extra_yaml=kafka_yaml(kafka, group, [topic], batch_size=20, **PROFILES[profile]) + """
processing:
  buffer: {max_size_messages: 100, flush_interval_seconds: 0}
  flush_size_messages: 20
""")
    # Wait for a pause by a refusal (kafka_partitions_pauses), not one while too much is in flight,
    # which the fast high_performance profile may show first.
    deadline = time.time() + 30
    while (metric_value(gw.admin, "kafka_partitions_pauses") < 1
           or metric_value(gw.admin, "kafka_partitions_paused") < 1) and time.time() < deadline:
        time.sleep(0.05)
    assert metric_value(gw.admin, "kafka_partitions_paused") == 1, gw.output()[-3000:]
    assert metric_value(gw.admin, "buffer_full") >= 1
    time.sleep(1.0)  # paused: retries go on, nothing new is read, nothing beyond the acked is committed
    committed = kafka.committed(group, topic)[0]
    assert committed <= 10, committed  # at most the 100 buffered records = 10 messages
    storage = openwit("storage", ports={"flight": storage_port})
    wait_committed(kafka, group, topic, timeout=90, node=gw)
    deadline = time.time() + 10
    while metric_value(gw.admin, "kafka_partitions_paused") != 0 and time.time() < deadline:
        time.sleep(0.05)
    assert metric_value(gw.admin, "kafka_partitions_paused") == 0
    assert metric_value(gw.admin, "kafka_partitions_pauses") >= 1
    assert metric_value(gw.admin, "kafka_messages_retried") >= 1
    assert gw.stop() == 0
    assert storage.stop() == 0
    bodies = lake_values(tmp_path / "data" / "lake", "logs", "Body")
    assert sorted(bodies) == sorted(f"c{i}-{j}" for i in range(100) for j in range(10))


def test_undecodable_message_is_skipped_and_counted(openwit, kafka, tmp_path):
    topic, group = "e2e-d-logs", "g-d"
    kafka.create_topic(topic)
    messages = [log_request(f"d{i}", 3) for i in range(5)] + [b"not protobuf \xff\xff"]
    messages += [log_request(f"d{i}", 3) for i in range(5, 10)]
    produce(kafka, topic, messages)
    node = openwit("all", extra_yaml=kafka_yaml(kafka, group, [topic]))
    wait_committed(kafka, group, topic, node=node)  # the bad message does not block the partition
    assert metric_value(node.admin, "kafka_messages_invalid") == 1
    assert metric_value(node.admin, "kafka_messages_consumed") == 11
    assert node.stop() == 0
    assert f"{topic}[0] offset 5" in node.output()  # logged with topic, partition and offset
    bodies = lake_values(tmp_path / "data" / "lake", "logs", "Body")
    assert sorted(bodies) == sorted(f"d{i}-{j}" for i in range(10) for j in range(3))


def test_shutdown_drains_in_flight_batches_and_commits_them(openwit, kafka, tmp_path):
    topic, group = "e2e-e-logs", "g-e"
    kafka.create_topic(topic)
    produce(kafka, topic, [log_request(f"e{i}", 4) for i in range(20)])
    # A long batch timeout keeps the records in flight when SIGTERM comes.
    node = openwit("all", extra_yaml=kafka_yaml(kafka, group, [topic]).replace("batch_timeout_ms: 50",
                                                                                 "batch_timeout_ms: 20000"))
    deadline = time.time() + 30
    while metric_value(node.admin, "kafka_messages_consumed") < 20 and time.time() < deadline:
        time.sleep(0.02)
    assert kafka.committed(group, topic)[0] < 20  # nothing acked yet: the batch is still open
    assert node.stop() == 0
    assert kafka.committed(group, topic) == {0: 20}
    bodies = lake_values(tmp_path / "data" / "lake", "logs", "Body")
    assert sorted(bodies) == sorted(f"e{i}-{j}" for i in range(20) for j in range(4))


def lake_values_by_tenant(lake: Path, signal: str, column: str) -> dict:
    """{tenant: values of `column`} over the lake's files of `signal` (tenant=T/signal=S/... paths)."""
    out = collections.defaultdict(list)
    for f in sorted(lake.rglob("*.parquet")):
        parts = dict(p.split("=", 1) for p in f.relative_to(lake).parts[:-1] if "=" in p)
        if parts.get("signal") == signal:
            out[parts["tenant"]].extend(pq.read_table(f, columns=[column]).column(column).to_pylist())
    return dict(out)


def tcp_connections(pid: int, port: int) -> int:
    """Established TCP connections of process `pid` to local port `port` (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port == port and fields[3] == "01" and fields[9] in inodes:  # 01: ESTABLISHED
                count += 1
    return count


def test_high_performance_consumer_with_a_tenant_per_topic(openwit, kafka, tmp_path):
    """consumer_type high_performance in a gateway of its own: 2 consumers hand messages over small
    channels to 3 processing threads, which send through 2 gRPC clients (2 connections) to a separate
    ingest node. Every record lands exactly once, under the tenant kafka.topic_tenants gives its
    topic (first match wins), the rest under auth.default_tenant."""
    topics = {"e2e-f-logs": 4, "e2e-f-audit-logs": 2, "e2e-f-auditx-logs": 1, "e2e-f-misc-logs": 1}
    for topic, partitions in topics.items():
        kafka.create_topic(topic, partitions=partitions)
    expected = collections.defaultdict(list)
    tenant_of = {"e2e-f-logs": "acme", "e2e-f-audit-logs": "audit", "e2e-f-auditx-logs": "exact-beats-later",
                 "e2e-f-misc-logs": "fallback"}
    for topic, partitions in topics.items():
        n = 20 * partitions
        produce(kafka, topic, [log_request(f"{topic}/{i}", 5) for i in range(n)], partition=lambda i: i % partitions)
        expected[tenant_of[topic]] += [f"{topic}/{i}-{j}" for i in range(n) for j in range(5)]

    ingest = openwit("ingest,storage")
    tenants = '["e2e-f-logs=acme", "e2e-f-auditx-logs=exact-beats-later", "^e2e-f-audit=audit", "^e2e-f-audit.*=never"]'
    gw = openwit("gateway", ports={"ingest": ingest.ports["ingest"]},
                 extra_yaml=kafka_yaml(kafka, "g-f", ["^e2e-f-.*"], consumer_type="high_performance",
                                       high_performance="{num_consumers: 2, processing_threads: 3, "
                                                        "num_grpc_clients: 2, channel_buffer_size: 2}",
                                       batch_size=40, topic_tenants=tenants)
                 + "auth: {default_tenant: fallback}\n")
    for topic, partitions in topics.items():
        wait_committed(kafka, "g-f", topic, partitions, node=gw)
    assert "kafka source: 2 consumer(s), 3 processing thread(s), 2 intake(s)" in gw.output()
    # Each gRPC client has its own connection (channels would otherwise share one).
    assert tcp_connections(gw.proc.pid, ingest.ports["ingest"]) == 2
    assert metric_value(gw.admin, "kafka_messages_invalid") == 0
    assert gw.stop() == 0
    assert ingest.stop() == 0

    bodies = lake_values_by_tenant(tmp_path / "data" / "lake", "logs", "Body")
    assert sorted(bodies) == sorted(expected)
    for tenant, want in expected.items():
        got = bodies[tenant]
        twice = [b for b, n in collections.Counter(got).items() if n > 1]
        assert not twice, f"{tenant}: {len(twice)} records stored twice, e.g. {twice[:5]}"
        assert sorted(got) == sorted(want), tenant


def test_a_bad_topic_tenants_entry_is_refused_at_load(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text('kafka:\n  topic_tenants: ["ok-topic=acme", "^otlp-(logs=acme"]\n')
    r = run_cli("config", "check", str(config))
    assert r.returncode != 0
    assert ('line 2: kafka.topic_tenants: "^otlp-(logs=acme" is not TOPIC=tenant or ^PATTERN=tenant: '
            "the pattern ^otlp-(logs does not compile") in r.stdout + r.stderr
