"""Hostile input (issue #11): one request must never take a node down. Each bad body gets a precise
error and a counter, and a good request right after it is stored."""
import gzip
import json
import threading
import zlib

import grpc
import pyarrow as pa
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc

from conftest import lake_bodies, metric_value
from test_otlp_http import LOG_JSON, post


def deep_json(levels: int) -> bytes:
    """A log whose body is a kvlist nested `levels` deep: 10,000 levels is ~490 KB, ~1 KB gzipped."""
    opening = '{"kvlistValue":{"values":[{"key":"k","value":' * levels
    closing = "}]}}" * levels
    return ('{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":' + opening + '{"stringValue":"leaf"}'
            + closing + "}]}]}]}").encode()


def good_log(body: str) -> bytes:
    doc = json.loads(json.dumps(LOG_JSON))
    doc["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]["body"]["stringValue"] = body
    return json.dumps(doc).encode()


def bomb(size: int) -> bytes:
    """gzip of `size` zero bytes, compressed as far as gzip goes (200 MB -> ~200 KB)."""
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1 << 20)
    out = [c.compress(chunk) for _ in range(size >> 20)]
    return b"".join(out) + c.flush()


def peak_rss_kib(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_deeply_nested_json_is_refused_and_the_node_lives_on(openwit, tmp_path):
    node = openwit("all")
    url = f"http://127.0.0.1:{node.ports['http']}/v1/logs"
    body = deep_json(10_000)
    assert 400_000 < len(body) < 600_000
    for payload, headers in [(body, {}), (gzip.compress(body), {"Content-Encoding": "gzip"}),
                             (deep_json(1000), {}), (deep_json(101), {})]:
        status, answer, _ = post(url, payload, headers=headers)
        assert status == 400, answer
        assert b"JSON nested deeper than 100 levels" in answer, answer
    assert node.proc.poll() is None
    assert metric_value(node.admin, "otlp_http_rejected") == 4
    status, _, _ = post(url, good_log("after the deep ones"))
    assert status == 200
    assert node.stop() == 0
    assert lake_bodies(tmp_path / "data" / "lake") == ["after the deep ones"]


def test_decompression_bombs_stop_at_the_payload_limit(openwit, tmp_path):
    """200 KB of gzip that inflates to 200 MB, four at once, against max_payload_size_mb 16: each
    gets 413 and the node's memory stays far below what inflating them would take."""
    node = openwit("all")
    url = f"http://127.0.0.1:{node.ports['http']}/v1/logs"
    payload = bomb(200 << 20)
    assert len(payload) < 300_000
    zstd_payload = pa.compress(bytes(200 << 20), codec="zstd", asbytes=True)
    assert len(zstd_payload) < 300_000
    rss_before = peak_rss_kib(node.proc.pid)
    answers = []

    def send(body, encoding):
        answers.append(post(url, body, headers={"Content-Encoding": encoding}))

    threads = [threading.Thread(target=send, args=(payload, "gzip")) for _ in range(4)]
    threads += [threading.Thread(target=send, args=(zstd_payload, "zstd")) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for status, answer, _ in answers:
        assert status == 413, answer
        assert b"bytes once decompressed" in answer, answer
    # Six requests inflated at most 16 MiB each (and the buffers they grew through).
    assert peak_rss_kib(node.proc.pid) - rss_before < 300 * 1024
    assert metric_value(node.admin, 'otlp_http_rejected{reason="too_large"}') == 6

    # A compressed body under the limit, gzip and zstd, is taken.
    for body, encoding, text in [(gzip.compress(good_log("gzip ok")), "gzip", "gzip ok"),
                                 (pa.compress(good_log("zstd ok"), codec="zstd", asbytes=True), "zstd", "zstd ok"),
                                 (zlib.compress(good_log("deflate ok")), "deflate", "deflate ok")]:
        status, answer, _ = post(url, body, headers={"Content-Encoding": encoding})
        assert status == 200, answer
    status, answer, _ = post(url, good_log("x"), headers={"Content-Encoding": "br"})
    assert status == 415 and b"gzip, deflate, zstd" in answer
    assert node.stop() == 0
    assert sorted(lake_bodies(tmp_path / "data" / "lake")) == ["deflate ok", "gzip ok", "zstd ok"]


def test_grpc_gzip_past_the_message_limit_is_refused(openwit, tmp_path):
    """gRPC applies its receive limit to the decompressed message: a small gzip request that
    inflates past grpc.max_receive_message_size_mb is refused and the node serves the next one."""
    node = openwit("all")
    with grpc.insecure_channel(f"127.0.0.1:{node.ports['grpc']}") as channel:
        stub = logs_service_pb2_grpc.LogsServiceStub(channel)
        big = logs_service_pb2.ExportLogsServiceRequest()
        big.resource_logs.add().scope_logs.add().log_records.add().body.string_value = "a" * (80 << 20)
        try:
            stub.Export(big, compression=grpc.Compression.Gzip, timeout=60)
            raise AssertionError("an 80 MiB message past the 64 MiB limit was accepted")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e
        small = logs_service_pb2.ExportLogsServiceRequest()
        small.resource_logs.add().scope_logs.add().log_records.add().body.string_value = "small after big"
        stub.Export(small, compression=grpc.Compression.Gzip, timeout=30)
    assert node.stop() == 0
    assert lake_bodies(tmp_path / "data" / "lake") == ["small after big"]


def blob_request(records: int, blob_bytes: int, tag: str) -> bytes:
    req = logs_service_pb2.ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    kv = rl.resource.attributes.add()
    kv.key, kv.value.string_value = "blob", "b" * blob_bytes
    logs = rl.scope_logs.add().log_records
    for i in range(records):
        logs.add().body.string_value = f"{tag} {i}"
    return req.SerializeToString()


def test_tiny_records_under_a_huge_resource(openwit, tmp_path):
    """Small on the wire, huge once every row carries the resource: a request no ingest node could
    hold is refused with 400 naming the limit; one that fits is split and stored whole."""
    node = openwit("all")
    url = f"http://127.0.0.1:{node.ports['http']}/v1/logs"
    never = blob_request(5000, 2 << 20, "never")  # 2 MiB x 5,000 rows = 10 GB
    assert len(never) < 3 << 20
    status, answer, _ = post(url, never, content_type="application/x-protobuf")
    assert status == 400, answer
    assert b"processing.buffer.max_size_bytes" in answer, answer
    fits = blob_request(100, 1 << 20, "fits")  # 100 MB as rows: split into parts of ~51 MB
    status, answer, _ = post(url, fits, content_type="application/x-protobuf")
    assert status == 200, answer
    assert node.proc.poll() is None
    assert node.stop() == 0
    assert sorted(lake_bodies(tmp_path / "data" / "lake")) == sorted(f"fits {i}" for i in range(100))
