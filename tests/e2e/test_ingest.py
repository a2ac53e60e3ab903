"""The ingest node's promises with real processes: an ack means the records are in the short WAL;
whatever was acked reaches storage exactly once, through kills, storage outages, torn WALs and
failing disks. Storage is a real `openwit storage` process; reads go through pyarrow's Parquet."""
import resource
import signal
import time
from pathlib import Path

import grpc
import pytest

from conftest import (SEND_NOW, assert_metastore_matches_lake, bulk_client, lake_bodies, log_batch, metric_value, stubs,
                      wait_for)

# Batches stay in the ingest node until flushed: these make "after the ack, before the send" last.
HOLD = """
processing:
  buffer: {flush_interval_seconds: 3600}
  flush_size_messages: 1000000
"""


def submit_all(port, batches, retry_for: float = 0.0):
    """Submits each batch; returns the acks. With retry_for, RESOURCE_EXHAUSTED is retried."""
    client = bulk_client(port)
    acks = []
    for b in batches:
        deadline = time.time() + retry_for
        while True:
            try:
                acks.append(client.Submit(b, timeout=30))
                break
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.RESOURCE_EXHAUSTED or time.time() > deadline:
                    raise
                time.sleep(0.05)
    return acks


def batches(prefix: str, n: int, per: int = 50):
    return [log_batch(f"{prefix}-{b}", [f"{prefix} batch {b} record {r}" for r in range(per)]) for b in range(n)]


def stored(node) -> float:
    return metric_value(node.admin, "ingest_records_stored")


def assert_exactly_once(lake: Path, expected):
    bodies = lake_bodies(lake)
    assert len(bodies) == len(set(bodies)), "a record was stored twice"
    assert sorted(bodies) == sorted(expected)
    assert_metastore_matches_lake(lake.parent)


def test_acked_batches_reach_the_lake_once(openwit, tmp_path):
    node = openwit("all", extra_yaml=SEND_NOW)
    sent = batches("plain", 20)
    acks = submit_all(node.ports["ingest"], sent)
    assert all(a.accepted_records == 50 and a.duplicate_records == 0 and a.wal_sequence > 0 for a in acks)
    wait_for(lambda: stored(node) >= 1000, what="storage to confirm 1000 records")
    assert metric_value(node.admin, "wal_write_latency_count") > 0
    assert metric_value(node.admin, "ack_latency_count") == 20
    assert node.stop() == 0  # storage finalizes its active files on a clean stop
    assert_exactly_once(tmp_path / "data" / "lake", [r.body.string_value for b in sent for r in b.resource_logs[0].scope_logs[0].log_records])


def test_sigkill_after_ack_before_send_loses_nothing_and_duplicates_nothing(openwit, tmp_path):
    storage = openwit("storage")
    ingest = openwit("ingest", extra_yaml=HOLD, storage_endpoint=f"127.0.0.1:{storage.ports['flight']}")
    sent = batches("killed", 10)
    submit_all(ingest.ports["ingest"], sent)
    assert stored(ingest) == 0  # acked, held in the ingest node
    ingest.kill()
    # Restart with sends on: recover() replays the short WAL to storage.
    ingest.config.write_text(ingest.config.read_text().replace(HOLD, SEND_NOW))
    ingest.start()
    wait_for(lambda: stored(ingest) >= 500, what="the replay to reach storage")
    assert "replaying 10 unreleased batches (500 records)" in ingest.output()
    assert ingest.stop() == 0
    assert storage.stop() == 0
    assert_exactly_once(tmp_path / "data" / "lake", [f"killed batch {b} record {r}" for b in range(10) for r in range(50)])


def test_kill_after_storage_confirmed_replays_nothing_twice(openwit, tmp_path):
    storage = openwit("storage")
    ingest = openwit("ingest", extra_yaml=SEND_NOW, storage_endpoint=f"127.0.0.1:{storage.ports['flight']}")
    submit_all(ingest.ports["ingest"], batches("confirmed", 10))
    wait_for(lambda: stored(ingest) >= 500, what="storage to confirm")
    ingest.kill()  # the RELEASE entries may or may not have reached the WAL
    ingest.start()
    time.sleep(1.0)
    assert ingest.stop() == 0
    storage.kill()  # storage too: its active file is recovered at the next start
    storage.start()
    assert storage.stop() == 0
    assert_exactly_once(tmp_path / "data" / "lake", [f"confirmed batch {b} record {r}" for b in range(10) for r in range(50)])


def test_storage_down_for_a_while_then_up(openwit, tmp_path):
    from conftest import free_port

    flight_port = free_port()
    ingest = openwit("ingest", extra_yaml=SEND_NOW, storage_endpoint=f"127.0.0.1:{flight_port}")
    sent = batches("outage", 8)
    submit_all(ingest.ports["ingest"], sent)  # acked: in the WAL, storage unreachable
    time.sleep(1.5)
    assert stored(ingest) == 0
    assert metric_value(ingest.admin, "arrow_send_failures") > 0
    storage = openwit("storage", ports={"flight": flight_port})
    wait_for(lambda: stored(ingest) >= 400, timeout=60, what="the backlog to reach storage")
    assert ingest.stop() == 0
    assert storage.stop() == 0
    assert_exactly_once(tmp_path / "data" / "lake", [f"outage batch {b} record {r}" for b in range(8) for r in range(50)])


def test_dedup_inside_and_outside_the_window(openwit, tmp_path):
    node = openwit("all", extra_yaml=SEND_NOW.replace("processing:\n", "processing:\n  dedup_window_seconds: 2\n"))
    port = node.ports["ingest"]
    first = log_batch("client-retry-1", [f"dedup record {i}" for i in range(30)])
    again = log_batch("client-retry-2", [f"dedup record {i}" for i in range(30)])  # same records, new batch id
    a1, a2 = submit_all(port, [first, again])
    assert (a1.accepted_records, a1.duplicate_records) == (30, 0)
    assert (a2.accepted_records, a2.duplicate_records) == (0, 30)
    time.sleep(2.5)  # past the window (and its last bucket)
    (a3,) = submit_all(port, [log_batch("client-retry-3", [f"dedup record {i}" for i in range(30)])])
    assert (a3.accepted_records, a3.duplicate_records) == (30, 0)
    wait_for(lambda: stored(node) >= 60, what="storage")
    assert node.stop() == 0
    bodies = lake_bodies(tmp_path / "data" / "lake")
    assert sorted(bodies) == sorted([f"dedup record {i}" for i in range(30)] * 2)


def test_full_buffer_answers_resource_exhausted_then_recovers(openwit, tmp_path):
    from conftest import free_port

    # Storage is away, so nothing leaves the buffer: it fills at 200 records.
    ingest = openwit("ingest", extra_yaml="""
processing:
  buffer: {max_size_messages: 200, flush_interval_seconds: 0}
  flush_size_messages: 1
""", storage_endpoint=f"127.0.0.1:{free_port()}")
    client = bulk_client(ingest.ports["ingest"])
    accepted = submit_all(ingest.ports["ingest"], batches("full", 4))
    with pytest.raises(grpc.RpcError) as refused:
        client.Submit(log_batch("full-extra", ["one too many"]), timeout=10)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "buffer full" in refused.value.details()
    assert ("retry-after-ms", "500") in refused.value.trailing_metadata()
    assert metric_value(ingest.admin, "buffer_full") == 1
    assert metric_value(ingest.admin, "buffer_size") == 200
    assert len(accepted) == 4
    assert ingest.stop() == 0


def test_torn_and_corrupt_short_wal_recovers_every_good_entry(openwit, tmp_path):
    from conftest import free_port

    away = f"127.0.0.1:{free_port()}"
    ingest = openwit("ingest", extra_yaml=HOLD, storage_endpoint=away)
    submit_all(ingest.ports["ingest"], batches("wal", 6, per=20))
    ingest.kill()
    segment = sorted((tmp_path / "data" / "wal" / "short").glob("wal-*.log"))[-1]
    data = bytearray(segment.read_bytes())
    # A byte flipped inside the third batch (entries start after the 21-byte SEQUENCE entry).
    entry = (len(data) - 21) // 6
    data[21 + 2 * entry + entry // 2] ^= 0xFF
    # And a torn last entry: a crash in the middle of a write that was never acked.
    data += b"OWAL" + b"\x00" * 30
    segment.write_bytes(bytes(data))
    ingest.start()
    out = ingest.output()
    assert "corrupt bytes skipped" in out and "torn tail of 34 bytes truncated" in out
    assert "replaying 5 unreleased batches (100 records)" in out
    # The node serves: new batches are acked.
    (ack,) = submit_all(ingest.ports["ingest"], [log_batch("after-recovery", ["fresh"])])
    assert ack.accepted_records == 1
    assert ingest.stop() == 0


def _limit_file_size():
    # A "full disk" for this process only: a write past 128 KiB in any file fails with EFBIG.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (128 * 1024, resource.RLIM_INFINITY))


def test_failing_wal_disk_gives_backpressure_and_loses_nothing_acked(openwit, tmp_path):
    storage = openwit("storage")
    ingest = openwit("ingest", extra_yaml="""
processing:
  buffer: {flush_interval_seconds: 0}
  flush_size_messages: 1
  wal: {segment_size_mb: 1}
""", storage_endpoint=f"127.0.0.1:{storage.ports['flight']}", preexec_fn=_limit_file_size)
    client = bulk_client(ingest.ports["ingest"])
    acked, refused = [], 0
    for b in batches("disk", 80, per=40):
        body = [r.body.string_value for r in b.resource_logs[0].scope_logs[0].log_records]
        # A refused batch is retried as a client would: the node must not take its records for
        # duplicates of the write that failed.
        for _ in range(30):
            try:
                ack = client.Submit(b, timeout=30)
                assert ack.accepted_records == len(body), ack
                acked.extend(body)
                break
            except grpc.RpcError as e:
                assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e.details()
                refused += 1
                time.sleep(0.3)
    assert refused > 0, "the WAL never hit the file size limit"
    assert len(acked) == 80 * 40, "every batch is taken once the WAL writes again"
    assert metric_value(ingest.admin, "wal_write_errors") > 0
    assert "short WAL write failed" in ingest.output()
    wait_for(lambda: stored(ingest) >= len(acked), what="acked records to reach storage")
    assert ingest.stop() == 0
    assert storage.stop() == 0
    bodies = lake_bodies(tmp_path / "data" / "lake")
    assert len(bodies) == len(set(bodies))
    assert set(acked) <= set(bodies)  # every acked record
