"""The lake as users meet it: plain Hive-partitioned Parquet that DuckDB reads as it is, every file
registered in the metastore (SQLite embedded, PostgreSQL in a cluster), on a local directory or a
real S3 server (MinIO), kept in agreement and trimmed to retention by the janitor."""
import shutil
import time
from pathlib import Path

import pyarrow.parquet as pq

from conftest import (SEND_NOW, assert_metastore_matches_lake, bulk_client, log_batch, metastore_files, metric_value,
                      wait_for)

FAST_ROTATION = "rotation_max_file_age_seconds: 1"


def evolving_batches():
    """Three batches whose attributes change key sets and value types, as real services do."""
    from opentelemetry.proto.common.v1 import common_pb2

    first = log_batch("evolve-1", [f"first {i}" for i in range(100)])
    second = log_batch("evolve-2", [f"second {i}" for i in range(100)])
    for rec in second.resource_logs[0].scope_logs[0].log_records:
        rec.attributes.append(common_pb2.KeyValue(key="http.route", value=common_pb2.AnyValue(string_value="/cart")))
    third = log_batch("evolve-3", [f"third {i}" for i in range(100)])
    for rec in third.resource_logs[0].scope_logs[0].log_records:
        rec.attributes[0].value.Clear()
        rec.attributes[0].value.string_value = "not a number any more"  # "seq" changes type
    return [first, second, third]


def duckdb_query(sql: str):
    import duckdb

    with duckdb.connect() as con:
        return con.execute(sql).fetchall()


def test_duckdb_reads_the_lake_and_the_metastore_lists_every_file(openwit, tmp_path):
    node = openwit("all", extra_yaml=SEND_NOW, storage_yaml=FAST_ROTATION)
    client = bulk_client(node.ports["ingest"])
    for b in evolving_batches():
        client.Submit(b, timeout=30)
        time.sleep(1.5)  # a file per batch: schemas differ between files, not inside one
    assert node.stop() == 0
    data = tmp_path / "data"
    glob = f"{data}/lake/**/*.parquet"
    rows = duckdb_query(f"""
        SELECT tenant, signal, count(*), count(DISTINCT Body), epoch_ns(min(Timestamp)), epoch_ns(max(Timestamp))
        FROM read_parquet('{glob}', hive_partitioning = true, union_by_name = true)
        GROUP BY ALL""")
    assert len(rows) == 1
    # DuckDB reads timestamp[ns, UTC] as TIMESTAMPTZ_NS: nanoseconds (the records are 0-99 ns apart).
    assert rows[0] == ("acme", "logs", 300, 300, 1_700_000_000_000_000_000, 1_700_000_000_000_000_099)
    # Attributes are maps: a key added later and a value whose type changed read as text.
    routes = duckdb_query(f"""
        SELECT LogAttributes['http.route'], count(*) FROM read_parquet('{glob}', union_by_name = true)
        GROUP BY ALL ORDER BY ALL""")
    assert routes == [("/cart", 100), (None, 200)]
    seqs = duckdb_query(f"""
        SELECT count(*) FROM read_parquet('{glob}', union_by_name = true)
        WHERE LogAttributes['seq'] = 'not a number any more'""")
    assert seqs == [(100,)]
    # The metastore: every file, with its rows and time range; nothing waits in the local stage.
    files = metastore_files(data)
    assert sum(f["row_count"] for f in files) == 300
    assert all(f["tenant"] == "acme" and f["signal"] == "logs" for f in files)
    assert min(f["min_time_ns"] for f in files) == 1_700_000_000_000_000_000
    assert max(f["max_time_ns"] for f in files) == 1_700_000_000_000_000_099
    assert_metastore_matches_lake(data)
    assert not list((data / "storage").rglob("*.parquet"))


def test_janitor_registers_strays_and_applies_retention_per_tenant(openwit, tmp_path):
    node = openwit("all", extra_yaml=SEND_NOW + """
janitor: {interval_seconds: 1, retention_days: 30, retention_overrides: ["keep=0"]}
""", storage_yaml=FAST_ROTATION)
    client = bulk_client(node.ports["ingest"])
    # log_batch's records are from November 2023: past 30 days, kept forever for "keep".
    client.Submit(log_batch("keep-1", [f"keep {i}" for i in range(10)], tenant="keep"), timeout=30)
    client.Submit(log_batch("old-1", [f"old {i}" for i in range(10)], tenant="old"), timeout=30)
    lake = tmp_path / "data" / "lake"
    wait_for(lambda: metric_value(node.admin, "janitor_files_expired") >= 1, what="the janitor to expire old's file")
    assert not list((lake / "tenant=old").rglob("*.parquet"))
    kept = list((lake / "tenant=keep").rglob("*.parquet"))
    assert len(kept) == 1
    # A file the metastore lacks (say its registration failed): the next pass registers it.
    stray = kept[0].with_name("stray-copy.parquet")
    shutil.copy(kept[0], stray)
    wait_for(lambda: any(f["uri"].endswith("/stray-copy.parquet") for f in metastore_files(tmp_path / "data")),
             what="the janitor to register the stray file")
    assert metric_value(node.admin, "janitor_files_registered") >= 1
    assert node.stop() == 0
    assert {f["tenant"] for f in metastore_files(tmp_path / "data")} == {"keep"}
    assert_metastore_matches_lake(tmp_path / "data")


def test_minio_object_store_and_postgres_metastore(openwit, tmp_path, minio, postgres):
    bucket = minio.create_bucket(f"lake-{int(time.time() * 1000)}")
    dsn = postgres.create_database(f"meta_{int(time.time() * 1000)}")
    node = openwit("all", extra_yaml=SEND_NOW + f"""
metastore: {{type: postgres, postgres_dsn: "{dsn}"}}
""", storage_yaml=FAST_ROTATION + f""", object_store: {{uri: "s3://{bucket}/otel", endpoint_override: "{minio.endpoint}",
  access_key_id: "{minio.access_key}", secret_access_key: "{minio.secret_key}", region: "{minio.region}"}}""")
    client = bulk_client(node.ports["ingest"])
    for b in evolving_batches():
        client.Submit(b, timeout=30)
    assert node.stop() == 0

    rows = postgres.psql("SELECT uri || ',' || row_count FROM lake_files ORDER BY uri", dbname=dsn.split("dbname=")[1])
    registered = dict(line.rsplit(",", 1) for line in rows.split())
    assert sum(int(n) for n in registered.values()) == 300
    assert all(uri.startswith(f"s3://{bucket}/otel/tenant=acme/signal=logs/date=") for uri in registered)
    # What MinIO holds is exactly what the metastore lists; DuckDB reads the downloaded objects.
    from pyarrow import fs

    s3 = minio.filesystem()
    objects = [i.path for i in s3.get_file_info(fs.FileSelector(f"{bucket}/otel", recursive=True)) if i.is_file]
    assert sorted(f"s3://{p}" for p in objects) == sorted(registered)
    local = tmp_path / "downloaded"
    for i, path in enumerate(objects):
        (local / f"f{i}.parquet").parent.mkdir(parents=True, exist_ok=True)
        with s3.open_input_stream(path) as src:
            (local / f"f{i}.parquet").write_bytes(src.read())
    assert duckdb_query(f"SELECT count(DISTINCT Body) FROM read_parquet('{local}/*.parquet', union_by_name = true)") \
        == [(300,)]
    # The local stage is empty, and the local lake directory was never used.
    assert not list((tmp_path / "data").rglob("*.parquet"))


def test_search_reads_an_s3_lake_through_its_bounded_cache(openwit, tmp_path, minio):
    """DuckDB cannot read S3 here: the search role fetches the files a query needs into its cache
    (search.cache_max_mb) once; a repeated query reads them from there, and so does a restart."""
    import json
    import urllib.request

    bucket = minio.create_bucket(f"search-{int(time.time() * 1000)}")
    config = SEND_NOW + """
auth: {default_tenant: acme}
"""
    fresh_off = {"search": "freshness_seconds: 0"}  # published files only: the cache is what is read
    storage = FAST_ROTATION + f""", object_store: {{uri: "s3://{bucket}/otel", endpoint_override: "{minio.endpoint}",
  access_key_id: "{minio.access_key}", secret_access_key: "{minio.secret_key}", region: "{minio.region}"}}"""
    node = openwit("all", extra_yaml=config, storage_yaml=storage, listener_yaml=fresh_off)
    client = bulk_client(node.ports["ingest"])
    for b in evolving_batches():
        client.Submit(b, timeout=30)
    wait_for(lambda: sum(f["row_count"] for f in metastore_files(tmp_path / "data")) == 300, what="300 rows published")
    published = len(metastore_files(tmp_path / "data"))

    def count(port):
        req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/query", method="POST",
                                     data=json.dumps({"sql": "SELECT count(DISTINCT Body) FROM logs"}).encode())
        with urllib.request.urlopen(req, timeout=30) as r:
            answer = json.loads(r.read())
        return answer["rows"], answer["stats"]

    rows, stats = count(node.ports["search"])
    assert rows == [[300]]
    assert stats["files_read"] == published and stats["files_fetched"] == published and stats["bytes_fetched"] > 0
    rows, stats = count(node.ports["search"])
    assert rows == [[300]] and stats["files_fetched"] == 0 and stats["bytes_fetched"] == 0
    cached = list((tmp_path / "data" / "search" / "cache").rglob("*.parquet"))
    assert len(cached) == published
    assert node.stop() == 0

    # The same data dir: the cache is kept.
    node = openwit("all", extra_yaml=config, storage_yaml=storage, listener_yaml=fresh_off)
    rows, stats = count(node.ports["search"])
    assert rows == [[300]] and stats["files_fetched"] == 0
    assert node.stop() == 0
