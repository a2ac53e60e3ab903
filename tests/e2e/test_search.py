"""The search role's SQL API (POST /v1/query) against the real binary: records go in through
OTLP/HTTP, land as Parquet, and a fixed query set gives through /v1/query exactly what DuckDB in
the venv (the oracle) gives reading every file of the tenant directly. Two tenants never see each
other's rows, every escape is refused, and bad or oversized queries get clear errors while the
process stays up."""
import json
import urllib.error
import urllib.request
from pathlib import Path

import duckdb
import pyarrow.ipc as ipc
import pytest

from conftest import http_get, metastore_files, metric_value, wait_for

KEYS = {"acme": "acme-search-key", "globex": "globex-search-key"}
CONFIG = f"""
auth:
  enabled: true
  api_keys: ["acme={KEYS['acme']}", "globex={KEYS['globex']}"]
processing:
  buffer: {{flush_interval_seconds: 0}}
  flush_size_messages: 1
"""
T0 = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z
SERVICES = ["checkout", "payments", "search"]
SEVERITIES = [("INFO", 9), ("WARN", 13), ("ERROR", 17)]
ROUTES = ["/cart", "/pay", "/find"]
RECORDS = 240


def log_request(tenant: str):
    """OTLP JSON logs of a tenant over two hours: services, severities, routes and bodies vary."""
    resources = []
    for s, service in enumerate(SERVICES):
        records = []
        for i in range(s, RECORDS, len(SERVICES)):
            severity, number = SEVERITIES[i % 3]
            records.append({
                "timeUnixNano": str(T0 + i * 30_000_000_000 + 123_456_789),
                "severityText": severity, "severityNumber": number,
                "body": {"stringValue": f"{tenant} {service} request {i}" + (" timeout" if i % 7 == 0 else "")},
                "attributes": [{"key": "http.route", "value": {"stringValue": ROUTES[i % 3]}},
                               {"key": "seq", "value": {"intValue": str(i)}}],
            })
        resources.append({"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
                          "scopeLogs": [{"logRecords": records}]})
    return {"resourceLogs": resources}


def post(url: str, body, headers=None, timeout: float = 30.0):
    """(status, body bytes, headers) of a POST."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


# The fixed query set: time, service, severity and attribute filters, LIKE on bodies, GROUP BY with
# time buckets, ORDER BY ... LIMIT. Results hold no timestamps as such (the oracle's Python client
# would need pytz for them): times go through epoch_us.
QUERIES = [
    "SELECT count(*) AS n FROM logs",
    "SELECT Body FROM logs WHERE Timestamp >= TIMESTAMPTZ '2023-11-14 22:43:20+00' "
    "AND Timestamp < TIMESTAMPTZ '2023-11-14 23:13:20+00' ORDER BY Body",
    "SELECT ServiceName, count(*) AS n FROM logs GROUP BY ServiceName ORDER BY ServiceName",
    "SELECT Body FROM logs WHERE ServiceName = 'payments' AND SeverityText = 'ERROR' ORDER BY Body",
    "SELECT SeverityText, count(*) FROM logs WHERE SeverityNumber >= 13 GROUP BY 1 ORDER BY 1",
    "SELECT Body FROM logs WHERE LogAttributes['http.route'] = '/cart' AND LogAttributes['seq'] < '5' ORDER BY Body",
    "SELECT count(*) FROM logs WHERE Body LIKE '%timeout%'",
    "SELECT Body FROM logs WHERE Body ILIKE '%CHECKOUT request 1%' ORDER BY Body",
    "SELECT epoch_us(time_bucket(INTERVAL '10 minutes', Timestamp)) AS bucket, count(*) AS n, "
    "count(DISTINCT ServiceName) FROM logs GROUP BY bucket ORDER BY bucket",
    "SELECT epoch_us(date_trunc('hour', Timestamp)) AS h, SeverityText, count(*) FROM logs "
    "GROUP BY ALL ORDER BY ALL",
    "SELECT Body, epoch_us(Timestamp) FROM logs ORDER BY Timestamp DESC, Body LIMIT 5",
    "SELECT ServiceName, max(epoch_us(Timestamp)) - min(epoch_us(Timestamp)) FROM logs "
    "WHERE SeverityText <> 'INFO' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 2",
    "WITH errors AS (SELECT * FROM logs WHERE SeverityText = 'ERROR') "
    "SELECT LogAttributes['http.route'] AS route, count(*) FROM errors GROUP BY route ORDER BY route",
    "SELECT tenant, signal, count(*) FROM logs GROUP BY ALL",
]


def oracle(lake: Path, tenant: str, sql: str):
    """DuckDB from the venv over every Parquet file of the tenant, as the lake holds them. The
    times are made TIMESTAMPTZ (microseconds, rounded down) as OpenWit's implicit cast does where a
    function has no nanosecond overload: Python's DuckDB cannot register that cast, and the query set
    compares times to whole seconds only."""
    micros = "make_timestamp(epoch_ns({0}) // 1000)::TIMESTAMPTZ AS {0}"
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"""CREATE VIEW logs AS SELECT * REPLACE ({micros.format('Timestamp')},
            {micros.format('ObservedTimestamp')})
            FROM read_parquet('{lake}/tenant={tenant}/signal=logs/**/*.parquet',
            hive_partitioning = true, hive_types = {{'tenant': VARCHAR, 'signal': VARCHAR, 'date': DATE, 'hour': INTEGER}})""")
        return [list(r) for r in con.execute(sql).fetchall()]


@pytest.fixture
def search_node(openwit, tmp_path):
    node = openwit("all", extra_yaml=CONFIG, storage_yaml="rotation_max_file_age_seconds: 1",
                   listener_yaml={"search": "max_result_rows: 1000, query_timeout_ms: 1500"})
    port = node.ports["search"]
    for tenant, key in KEYS.items():
        status, answer, _ = post(f"http://127.0.0.1:{node.ports['http']}/v1/logs", log_request(tenant),
                                 headers={"Authorization": f"Bearer {key}"})
        assert status == 200, answer
    data = tmp_path / "data"

    def landed():
        rows = {}
        for f in metastore_files(data):
            rows[f["tenant"]] = rows.get(f["tenant"], 0) + f["row_count"]
        return rows == {"acme": RECORDS, "globex": RECORDS}

    wait_for(landed, what="both tenants' records in the lake")
    node.search = f"http://127.0.0.1:{port}/v1/query"
    node.lake = data / "lake"
    return node


def query(node, tenant, body, headers=None):
    status, answer, hdrs = post(node.search, body, headers={"Authorization": f"Bearer {KEYS[tenant]}",
                                                            **(headers or {})})
    return status, (json.loads(answer) if hdrs.get("Content-Type", "").startswith("application/json") else answer), hdrs


def test_fixed_queries_match_duckdb_over_the_tenants_files(search_node):
    for tenant in KEYS:
        for sql in QUERIES:
            status, answer, _ = query(search_node, tenant, {"sql": sql})
            assert status == 200, (sql, answer)
            expected = oracle(search_node.lake, tenant, sql)
            assert answer["rows"] == expected, sql
            assert answer["truncated"] is False
    # Columns carry their types; stats say what was read.
    status, answer, _ = query(search_node, "acme", {"sql": "SELECT Timestamp, Body, count(*) OVER () AS n FROM logs "
                                                           "ORDER BY Timestamp LIMIT 1"})
    assert status == 200, answer
    assert answer["columns"] == [{"name": "Timestamp", "type": "timestamp[ns, tz=UTC]"},
                                 {"name": "Body", "type": "string"}, {"name": "n", "type": "int64"}]
    # Nanoseconds kept (DuckDB 2.0 reads timestamp[ns, UTC] as TIMESTAMPTZ_NS).
    assert answer["rows"] == [["2023-11-14T22:13:20.123456789Z", "acme checkout request 0 timeout", RECORDS]]
    stats = answer["stats"]
    assert stats["files_considered"] == stats["files_read"] >= 1 and stats["files_pruned"] == 0
    assert stats["bytes_in_files"] > 0 and stats["elapsed_ms"] > 0 and stats["rows_returned"] == 1


def test_start_and_end_prune_files_and_limit_cuts(search_node):
    total = sum(f["row_count"] for f in metastore_files(search_node.lake.parent) if f["tenant"] == "acme")
    # After every record: nothing is read at all.
    status, answer, _ = query(search_node, "acme", {"sql": "SELECT count(*) FROM logs", "start": "2023-11-16T00:00:00Z"})
    assert status == 200, answer
    assert answer["rows"] == [[0]]
    assert answer["stats"]["files_read"] == 0 and answer["stats"]["files_pruned"] == answer["stats"]["files_considered"]
    status, answer, _ = query(search_node, "acme", {"sql": "SELECT count(*) FROM logs", "start": T0, "end": T0 + 10**15})
    assert answer["rows"] == [[total]]
    status, answer, headers = query(search_node, "acme", {"sql": "SELECT Body FROM logs", "limit": 7})
    assert status == 200 and len(answer["rows"]) == 7 and answer["truncated"] is True
    assert headers["X-OpenWit-Truncated"] == "true"
    # A huge result stops at search.max_result_rows, flagged.
    status, answer, _ = query(search_node, "acme", {"sql": "SELECT range FROM range(1000000)"})
    assert status == 200 and len(answer["rows"]) == 1000 and answer["truncated"] is True


def test_arrow_stream_answer(search_node):
    status, answer, headers = query(search_node, "globex",
                                    {"sql": "SELECT ServiceName, count(*) AS n FROM logs GROUP BY 1 ORDER BY 1"},
                                    headers={"Accept": "application/vnd.apache.arrow.stream"})
    assert status == 200
    assert headers["Content-Type"] == "application/vnd.apache.arrow.stream"
    table = ipc.open_stream(answer).read_all()
    assert table.to_pylist() == [{"ServiceName": s, "n": RECORDS // 3} for s in SERVICES]
    assert json.loads(headers["X-OpenWit-Stats"])["rows_returned"] == 3


def test_tenants_are_confined_and_escapes_refused(search_node):
    for tenant, other in (("acme", "globex"), ("globex", "acme")):
        status, answer, _ = query(search_node, tenant, {"sql": "SELECT DISTINCT tenant FROM logs"})
        assert answer["rows"] == [[tenant]]
        status, answer, _ = query(search_node, tenant, {"sql": f"SELECT count(*) FROM logs WHERE Body LIKE '{other}%'"})
        assert answer["rows"] == [[0]]
        # The other tenant's files exist, but no SQL reaches them.
        other_file = next(search_node.lake.glob(f"tenant={other}/**/*.parquet"))
        attempts = [
            f"SELECT * FROM read_parquet('{other_file}')",
            f"SELECT * FROM read_parquet('{search_node.lake}/**/*.parquet')",
            "SELECT * FROM read_csv('/etc/passwd')",
            "COPY (SELECT * FROM logs) TO '/tmp/openwit-e2e-escape.csv'",
            "ATTACH '/tmp/openwit-e2e-escape.db' AS x",
            "INSTALL httpfs", "LOAD httpfs", "SET threads = 64", "PRAGMA database_list",
            "SELECT 1; SELECT 2",
        ]
        for sql in attempts:
            status, answer, _ = query(search_node, tenant, {"sql": sql})
            assert status == 403, (sql, answer)
            assert answer["kind"] == "refused" and answer["error"]
    # The tenant comes from the key only.
    status, answer, _ = query(search_node, "acme", {"sql": "SELECT 1", "tenant": "globex"})
    assert status == 400 and "tenant" in answer["error"]
    assert post(search_node.search, {"sql": "SELECT 1"})[0] == 401
    assert post(search_node.search, {"sql": "SELECT 1"}, headers={"Authorization": "Bearer nope"})[0] == 401
    assert not Path("/tmp/openwit-e2e-escape.csv").exists()


def test_bad_queries_get_clear_errors_and_the_node_stays_up(search_node):
    cases = [
        ({"sql": "SELEC Body FROM logs"}, 400, "syntax error"),
        ({"sql": "SELECT NoSuchColumn FROM logs"}, 400, "NoSuchColumn"),
        ({"sql": "SELECT * FROM no_such_table"}, 400, "no_such_table"),
        ({"nosql": 1}, 400, "sql"),
        ({"sql": "SELECT 1", "start": "yesterday"}, 400, "RFC 3339"),
        ({"sql": "SELECT sum(hash(x.range * y.range)) FROM range(1000000) x, range(1000000) y"}, 408,
         "search.query_timeout_ms"),
    ]
    for body, code, words in cases:
        status, answer, _ = query(search_node, "acme", body)
        assert status == code, (body, answer)
        assert words.lower() in answer["error"].lower(), (body, answer)
    assert post(search_node.search, b"not json", headers={"Authorization": f"Bearer {KEYS['acme']}"})[0] == 400
    assert http_get(search_node.admin + "/health")[0] == 200
    status, answer, _ = query(search_node, "acme", {"sql": "SELECT count(*) FROM logs"})
    assert status == 200 and answer["rows"] == [[RECORDS]]
    assert search_node.search.rsplit("/v1", 1)[0] in search_node.output() and "/v1/query" in search_node.output()
    # Counted in the node's registry, served at /metrics: five 400s above and "not json"; one 408.
    assert metric_value(search_node.admin, 'search_queries{outcome="bad_query"}') == 6
    assert metric_value(search_node.admin, 'search_queries{outcome="timeout"}') == 1
    assert metric_value(search_node.admin, 'search_queries{outcome="ok"}') >= 1
