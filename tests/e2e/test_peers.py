"""The real peers of peers.py answer: PostgreSQL through psql, MinIO through pyarrow's S3FileSystem."""
import pyarrow as pa
import pyarrow.parquet as pq


def test_postgres_answers_sql(postgres):
    assert postgres.host == "127.0.0.1" and postgres.port > 0
    assert postgres.psql("SELECT 1").strip() == "1"
    postgres.create_database("peers_check")
    postgres.psql("CREATE TABLE files (path text PRIMARY KEY, bytes bigint NOT NULL)", dbname="peers_check")
    postgres.psql("INSERT INTO files VALUES ('a.parquet', 10), ('b.parquet', 32)", dbname="peers_check")
    assert postgres.psql("SELECT count(*), sum(bytes) FROM files", dbname="peers_check").strip() == "2|42"


def test_minio_stores_objects(minio):
    s3 = minio.filesystem()
    with s3.open_output_stream(f"{minio.bucket}/raw/hello.txt") as out:
        out.write(b"hello from openwit")
    with s3.open_input_stream(f"{minio.bucket}/raw/hello.txt") as f:
        assert f.read() == b"hello from openwit"

    table = pa.table({"Body": ["a", "b", "c"], "Seq": [1, 2, 3]})
    pq.write_table(table, f"{minio.bucket}/lake/part-0.parquet", filesystem=s3, compression="zstd")
    assert pq.read_table(f"{minio.bucket}/lake/part-0.parquet", filesystem=s3).equals(table)

    from pyarrow import fs

    listed = {i.path for i in s3.get_file_info(fs.FileSelector(minio.bucket, recursive=True)) if i.is_file}
    assert listed == {f"{minio.bucket}/raw/hello.txt", f"{minio.bucket}/lake/part-0.parquet"}
