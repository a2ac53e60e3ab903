"""Issue #13 ("Fresh"): a record is searchable within search.freshness_seconds (5 by default) of its
ack while it is still in a storage node's active file (the default rotation is 5 minutes), in one
process and with the search role in another process than storage; once its file rotates and is
published, each record is still found exactly once, also while files rotate under the queries."""
import json
import threading
import time
import urllib.error
import urllib.request
import uuid

from conftest import metastore_files

KEYS = {"acme": "acme-fresh-key", "globex": "globex-fresh-key"}
CONFIG = f"""
auth:
  enabled: true
  api_keys: ["acme={KEYS['acme']}", "globex={KEYS['globex']}"]
"""
FRESHNESS_SECONDS = 5  # search.freshness_seconds's default


def post(url: str, body: dict, key: str):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def send_logs(node, tenant: str, run: str, first: int, n: int):
    """n OTLP/HTTP JSON log records of `tenant` stamped now; returns when they are acked."""
    now = time.time_ns()
    records = [{"timeUnixNano": str(now + i), "severityText": "INFO",
                "body": {"stringValue": f"{tenant} {run} record {first + i}"}} for i in range(n)]
    body = {"resourceLogs": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "fresh"}}]},
                              "scopeLogs": [{"logRecords": records}]}]}
    status, answer = post(f"http://127.0.0.1:{node.ports['http']}/v1/logs", body, KEYS[tenant])
    assert status == 200, answer


def query(node, tenant: str, sql: str, **fields):
    status, answer = post(f"http://127.0.0.1:{node.ports['search']}/v1/query", {"sql": sql, **fields}, KEYS[tenant])
    assert status == 200, answer
    return answer


def counts(node, tenant: str, run: str):
    """[all rows, distinct bodies] of the run's records of `tenant`, and the answer's stats."""
    answer = query(node, tenant, f"SELECT count(*), count(DISTINCT Body) FROM logs WHERE Body LIKE '{tenant} {run} %'")
    return answer["rows"][0], answer["stats"]


def wait_searchable(node, tenant: str, run: str, n: int, acked: float):
    """Polls until the n records are found; they must be within FRESHNESS_SECONDS of the ack."""
    while True:
        found, stats = counts(node, tenant, run)
        if found == [n, n]:
            return stats
        assert found[0] <= n, f"records counted twice: {found}"
        assert time.monotonic() - acked < FRESHNESS_SECONDS, f"not searchable {FRESHNESS_SECONDS} s after the ack: {found}"
        time.sleep(0.1)


def published_rows(data, tenant: str) -> int:
    return sum(f["row_count"] for f in metastore_files(data) if f["tenant"] == tenant)


def test_acked_records_are_searchable_before_their_file_is_published(openwit, tmp_path):
    node = openwit("all", extra_yaml=CONFIG)
    run = uuid.uuid4().hex[:8]
    hours = {time.strftime("%Y-%m-%d %H", time.gmtime())}
    send_logs(node, "acme", run, 0, 50)
    acked = time.monotonic()
    send_logs(node, "globex", run, 0, 7)
    stats = wait_searchable(node, "acme", run, 50, acked)
    assert published_rows(tmp_path / "data", "acme") == 0  # still in the active file: nothing in the lake yet
    assert stats["fresh_rows"] >= 50 and stats["fresh_batches"] >= 1
    assert stats["fresh_sources_unreachable"] == 0 and stats["files_read"] == 0
    # The partition columns read as the lake's will: the tenant's, the date and hour (UTC) the
    # storage node opened the file.
    hours.add(time.strftime("%Y-%m-%d %H", time.gmtime()))
    answer = query(node, "acme", f"SELECT DISTINCT tenant, signal, CAST(date AS VARCHAR), hour FROM logs "
                                 f"WHERE Body LIKE 'acme {run} %'")
    assert len(answer["rows"]) == 1 and answer["rows"][0][:2] == ["acme", "logs"], answer
    assert f"{answer['rows'][0][2]} {answer['rows'][0][3]:02d}" in hours, answer
    # Another tenant sees its own fresh records and none of acme's.
    assert wait_searchable(node, "globex", run, 7, time.monotonic())["fresh_rows"] >= 7
    assert counts(node, "globex", run)[0] == [7, 7]
    assert query(node, "globex", "SELECT count(*) FROM logs WHERE Body LIKE 'acme %'")["rows"] == [[0]]
    # start/end leave out fresh batches as they leave out files.
    later = query(node, "acme", "SELECT count(*) FROM logs", start=time.time_ns() + 3600 * 10**9)
    assert later["rows"] == [[0]] and later["stats"]["fresh_batches"] == 0

    # A rotation: a clean stop finalizes and publishes every active file; each record once, now
    # from the lake.
    assert node.stop() == 0
    assert published_rows(tmp_path / "data", "acme") == 50
    node.start()
    found, stats = counts(node, "acme", run)
    assert found == [50, 50]
    assert stats["files_read"] >= 1 and stats["fresh_rows"] == 0
    # New records after the restart are fresh again, the published ones still counted once.
    send_logs(node, "acme", run, 50, 20)
    wait_searchable(node, "acme", run, 70, time.monotonic())


def test_each_record_is_found_once_while_files_rotate_under_the_queries(openwit, tmp_path):
    # Files rotate and are published every second or so while records keep coming: queries keep
    # meeting files on their way from active to stable to the lake. Each answer holds every record
    # acked before it was asked, none twice, and none that was not sent yet.
    node = openwit("all", extra_yaml=CONFIG, storage_yaml="rotation_max_file_age_seconds: 1")
    run = uuid.uuid4().hex[:8]
    sent = {"started": 0, "acked": 0}
    acks = []  # (when, records acked by then)
    stop = threading.Event()
    failures = []

    def sender():
        while not stop.is_set():
            first = sent["started"]
            sent["started"] += 20
            try:
                send_logs(node, "acme", run, first, 20)
            except AssertionError as e:  # reported by the main thread
                failures.append(e)
                return
            sent["acked"] = first + 20
            acks.append((time.monotonic(), first + 20))
            time.sleep(0.05)

    thread = threading.Thread(target=sender)
    thread.start()
    answers, files_fresh = 0, 0
    try:
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and not failures:
            asked = time.monotonic()
            due = max((n for when, n in list(acks) if when < asked - FRESHNESS_SECONDS), default=0)
            (rows, distinct), stats = counts(node, "acme", run)
            started = sent["started"]
            assert rows == distinct, f"answer {answers}: {rows} rows, {distinct} distinct: some counted twice"
            assert due <= rows <= started, f"answer {answers}: {rows} rows, {due} acked {FRESHNESS_SECONDS} s " \
                                           f"before the query, {started} sent"
            answers += 1
            files_fresh += stats["files_fresh"]
    finally:
        stop.set()
        thread.join()
    assert not failures, failures
    wait_searchable(node, "acme", run, sent["acked"], time.monotonic())
    deadline = time.monotonic() + 10
    while published_rows(tmp_path / "data", "acme") < sent["acked"]:
        assert time.monotonic() < deadline, "rotation never published everything"
        time.sleep(0.2)
    assert counts(node, "acme", run)[0] == [sent["acked"]] * 2
    assert answers > 10
    print(f"{answers} answers, {sent['acked']} records, {files_fresh} lake files left out as fresh")


def test_search_in_another_process_asks_the_storage_node(openwit, tmp_path):
    storage = openwit("gateway,ingest,storage", extra_yaml=CONFIG)
    search = openwit("search", extra_yaml=CONFIG, storage_endpoint=f"127.0.0.1:{storage.ports['flight']}")
    run = uuid.uuid4().hex[:8]
    send_logs(storage, "acme", run, 0, 30)
    stats = wait_searchable(search, "acme", run, 30, time.monotonic())
    assert stats["fresh_rows"] >= 30 and published_rows(tmp_path / "data", "acme") == 0
    # The storage node down: the query still answers, with what the lake has, and says so.
    assert storage.stop() == 0  # publishes its files on the way out
    found, stats = counts(search, "acme", run)
    assert found == [30, 30] and stats["fresh_sources_unreachable"] == 1


def test_a_trace_sent_with_the_sdk_is_found_by_tempo_and_jaeger_before_publication(openwit, tmp_path):
    from sdk_traces import CONFIG as TRACES_CONFIG
    from sdk_traces import get, send_trace

    node = openwit("all", extra_yaml=TRACES_CONFIG)  # the default rotation: 5 minutes
    trace_id, sent = send_trace(node.ports["http"], "acme", "checkout")
    acked = time.monotonic()
    base = f"http://127.0.0.1:{node.ports['search']}"
    hex_id = f"{trace_id:032x}"
    # Each span was its own request: one may be visible a moment before the other (an ack means the
    # WAL has it; the storage node's file gets it just after), so the bound is on the whole trace.
    while True:
        status, body, _ = get(f"{base}/tempo/api/traces/{hex_id}", "acme")
        assert status in (200, 404), body
        spans = [s for b in json.loads(body)["batches"] for ss in b["scopeSpans"] for s in ss["spans"]] \
            if status == 200 else []
        if sorted(s["name"] for s in spans) == sorted(sent):
            break
        assert len(spans) < len(sent), body
        assert time.monotonic() - acked < FRESHNESS_SECONDS, f"the whole trace is not found within the bound: {body}"
        time.sleep(0.1)
    assert not any(f["signal"] == "traces" for f in metastore_files(tmp_path / "data"))  # none published yet
    status, body, _ = get(f"{base}/jaeger/api/traces/{hex_id}", "acme")
    assert status == 200, body
    assert len(json.loads(body)["data"][0]["spans"]) == 2
    # Another tenant does not find it.
    assert get(f"{base}/tempo/api/traces/{hex_id}", "globex")[0] == 404

    # After a restart (a clean stop publishes every file), Tempo and Jaeger find it in the lake, once.
    assert node.stop() == 0
    assert any(f["signal"] == "traces" for f in metastore_files(tmp_path / "data"))
    node.start()
    status, body, _ = get(f"{base}/tempo/api/traces/{hex_id}", "acme")
    assert status == 200, body
    names = [s["name"] for b in json.loads(body)["batches"] for ss in b["scopeSpans"] for s in ss["spans"]]
    assert sorted(names) == sorted(sent)
    status, body, _ = get(f"{base}/jaeger/api/traces/{hex_id}", "acme")
    assert status == 200 and len(json.loads(body)["data"][0]["spans"]) == 2, body
