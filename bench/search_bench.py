#!/usr/bin/env python3
"""Search benchmark (issue #13): a query set and trace-by-id through OpenWit's search role, against
DuckDB in the venv reading the same lake files in the same run, and the freshness delay (ack to
first visible) while the node ingests at half the rate it just sustained.

The lake is OpenWit's own: the reference corpus (../shared/bench/corpus.py) sent over OTLP/HTTP to
`openwit all` on free loopback ports (sync_on_write on), published as Parquet. Every query's rows
are checked equal to DuckDB's before any time counts. Times are medians (and p95) over --repeat
runs measured at the client (the HTTP round trip on a kept-alive connection, as Grafana keeps its
own, up to the whole body read) beside the server's elapsed_ms; the oracle gets the same thread
count as a search query (search.threads) and DuckDB's defaults otherwise.

    .venv/bin/python bench/search_bench.py --logs-requests 2000 --traces-requests 400   # 1M logs, 200k spans
    .venv/bin/python bench/search_bench.py --logs-requests 22300 --traces-requests 4000 # 10M, 2M in the lake
"""
import argparse
import http.client
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))
from gateway_bench import Procs, cpu_seconds, tail, vm_hwm_mib, wait_until  # noqa: E402
from loopback import free_port, http_get  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CORPUS_PY = ROOT.parent / "shared" / "bench" / "corpus.py"

# The query set: filters on time, service, severity and attributes, LIKE on bodies, GROUP BY with
# time buckets, ORDER BY ... LIMIT. {t0} and {t1} are a window inside the corpus.
QUERIES = {
    "count": "SELECT count(*) FROM logs",
    "by_service": "SELECT ServiceName, count(*) AS n FROM logs GROUP BY 1 ORDER BY 1",
    "errors_by_service": "SELECT ServiceName, count(*) FROM logs WHERE SeverityText = 'ERROR' GROUP BY 1 ORDER BY 1",
    "attribute": "SELECT count(*) FROM logs WHERE LogAttributes['http.route'] = '/api/checkout'",
    "like_body": "SELECT count(*) FROM logs WHERE Body LIKE '%circuit breaker open%'",
    "time_window": "SELECT count(*) FROM logs WHERE Timestamp >= '{t0}' "
                   "AND Timestamp < '{t1}' AND ServiceName = 'checkout'",
    "minute_buckets": "SELECT epoch_ns(Timestamp) // 60000000000 AS m, count(*) FROM logs "
                      "WHERE SeverityNumber >= 13 GROUP BY 1 ORDER BY 1",
    "latest_errors": "SELECT epoch_ns(Timestamp), ServiceName, Body FROM logs WHERE SeverityText = 'ERROR' "
                     "ORDER BY Timestamp DESC, Body LIMIT 100",
    "slow_spans": "SELECT SpanName, count(*), max(Duration) FROM spans WHERE Duration > 100000000 "
                  "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20",
}


def say(msg: str) -> None:
    print(f"[search-bench] {msg}", flush=True)


def corpus(path: Path, signal: str, requests: int) -> list:
    manifest = path / "manifest.json"
    if not manifest.exists() or json.loads(manifest.read_text()).get("files") != requests:
        say(f"writing the {signal} corpus: {requests} requests into {path}")
        subprocess.run([sys.executable, str(CORPUS_PY), str(path), "--signal", signal, "--requests", str(requests)],
                       check=True)
    return sorted(path.glob(f"{signal}-*.pb"))


def post_all(port: int, route: str, files: list, senders: int) -> tuple:
    """POSTs every file (OTLP protobuf) with `senders` keep-alive connections; (seconds, sender CPU s)."""
    chunks = [files[i::senders] for i in range(senders)]
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)

    def send(chunk):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for f in chunk:
            conn.request("POST", route, body=f.read_bytes(), headers={"Content-Type": "application/x-protobuf"})
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                raise RuntimeError(f"POST {route} {f.name}: {r.status} {body[:200]!r}")
        conn.close()

    t0 = time.monotonic()
    with ThreadPoolExecutor(senders) as pool:
        list(pool.map(send, chunks))
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    return time.monotonic() - t0, (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)


_query_conns = {}


def query(port: int, sql: str, **extra) -> tuple:
    """One POST /v1/query on a kept-alive connection (as Grafana's data sources keep theirs)."""
    body = json.dumps({"sql": sql, "limit": 100000, **extra}).encode()
    conn = _query_conns.get(port)
    if conn is None:
        conn = _query_conns[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    t0 = time.monotonic()
    conn.request("POST", "/v1/query", body=body, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    elapsed = time.monotonic() - t0
    if r.status != 200:
        raise RuntimeError(f"{sql}: {r.status} {data[:500]!r}")
    return elapsed, json.loads(data)


def published(data: Path, signal: str) -> tuple:
    with sqlite3.connect(data / "metastore.sqlite") as db:
        rows = db.execute("SELECT uri, row_count FROM lake_files WHERE signal = ?", (signal,)).fetchall()
    return [u[len("file://"):] for u, _ in rows], sum(n for _, n in rows)


def normal(rows) -> list:
    """Rows as comparable text (DuckDB's Python values and the API's JSON differ in form only)."""
    def cell(v):
        if hasattr(v, "isoformat"):
            return v.isoformat()
        if isinstance(v, float):
            return f"{v:.6g}"
        return str(v)
    return [[cell(c) for c in row] for row in rows]


def stats(xs: list) -> dict:
    xs = sorted(xs)
    return {"median_ms": round(statistics.median(xs) * 1000, 1),
            "p95_ms": round(xs[min(len(xs) - 1, int(len(xs) * 0.95))] * 1000, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--openwit", default=str(ROOT / "build/release/openwit"))
    ap.add_argument("--work", type=Path, default=ROOT / "build/bench-work")
    ap.add_argument("--corpus", type=Path, default=ROOT / "build/search-corpus")
    ap.add_argument("--logs-requests", type=int, default=2000, help="500 logs each")
    ap.add_argument("--traces-requests", type=int, default=400, help="500 spans each")
    ap.add_argument("--senders", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1, help="search.threads, and the oracle's")
    ap.add_argument("--fresh-seconds", type=float, default=30, help="length of the freshness run")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    import duckdb

    # The last tenth of the logs corpus is kept back for the freshness run's load.
    logs = corpus(args.corpus / "logs", "logs", args.logs_requests)
    traces = corpus(args.corpus / "traces", "traces", args.traces_requests)
    held_back = logs[len(logs) * 9 // 10:]
    logs = logs[:len(logs) * 9 // 10]

    procs = Procs()
    try:
        work = procs.tempdir(args.work, "openwit-sbench-")
        ports = {k: free_port() for k in ("admin", "grpc", "http", "ingest", "flight", "search", "control")}
        (work / "openwit.yaml").write_text(f"""\
node: {{id: sbench, data_dir: ./data}}
admin: {{bind: 127.0.0.1, port: {ports['admin']}}}
grpc: {{bind: 127.0.0.1, port: {ports['grpc']}}}
http: {{bind: 127.0.0.1, port: {ports['http']}}}
ingest: {{listen: {{bind: 127.0.0.1, port: {ports['ingest']}}}}}
storage: {{flight: {{bind: 127.0.0.1, port: {ports['flight']}}}, rotation_max_file_age_seconds: 10}}
search: {{bind: 127.0.0.1, port: {ports['search']}, threads: {args.threads}, memory_limit_mb: 4096,
  max_result_rows: 100000, query_timeout_ms: 300000}}
control: {{listen: {{bind: 127.0.0.1, port: {ports['control']}}}}}
processing: {{wal: {{dir: ./data/wal, sync_on_write: true}}}}
""")
        log = work / "openwit.log"
        with open(log, "w") as lf:
            node = procs.start([args.openwit, "all", "--config", str(work / "openwit.yaml")], cwd=work, stdout=lf,
                               stderr=subprocess.STDOUT)
        wait_until(lambda: http_get(f"http://127.0.0.1:{ports['admin']}/health", 1)[0] == 200, 60, "openwit", node,
                   log)
        data = work / "data"
        total_logs, total_spans = 500 * len(logs), 500 * len(traces)

        # 1. The load, as fast as the node takes it.
        cpu0 = cpu_seconds(node.pid)
        seconds, sender_cpu = post_all(ports["http"], "/v1/logs", logs, args.senders)
        rate = total_logs / seconds
        say(f"{total_logs:,} logs acked in {seconds:.1f} s: {rate:,.0f}/s (server CPU {cpu_seconds(node.pid) - cpu0:.1f} s, "
            f"sender CPU {sender_cpu:.1f} s)")
        t_seconds, _ = post_all(ports["http"], "/v1/traces", traces, args.senders)
        say(f"{total_spans:,} spans acked in {t_seconds:.1f} s")
        wait_until(lambda: published(data, "logs")[1] == total_logs and published(data, "traces")[1] == total_spans,
                   600, "publication of every record", node, log)
        log_files, _ = published(data, "logs")
        span_files, _ = published(data, "traces")
        lake_bytes = sum(os.path.getsize(f) for f in log_files + span_files)
        say(f"published: {len(log_files)} log files, {len(span_files)} span files, {lake_bytes / 2**20:.0f} MiB")

        # 2. The query set, OpenWit against DuckDB over the same files.
        oracle = duckdb.connect()
        oracle.execute(f"SET threads = {args.threads}")
        hive = "hive_partitioning = true, hive_types = {'tenant': VARCHAR, 'signal': VARCHAR, 'date': DATE, 'hour': INTEGER}"
        oracle.execute(f"CREATE VIEW logs AS SELECT * FROM read_parquet({log_files!r}, {hive})")
        oracle.execute(f"CREATE VIEW spans AS SELECT * FROM read_parquet({span_files!r}, {hive})")
        t_min, t_max = oracle.execute("SELECT min(epoch_ns(Timestamp)), max(epoch_ns(Timestamp)) FROM logs").fetchone()
        def iso(ns):
            return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + f".{ns % 10**9 // 1000:06d}Z"

        window = {"t0": iso(t_min + (t_max - t_min) // 3), "t1": iso(t_min + (t_max - t_min) // 2)}
        results = []
        for name, template in QUERIES.items():
            sql = template.format(**window)
            _, answer = query(ports["search"], sql)  # warm (and checked)
            want = oracle.execute(sql).fetchall()
            if normal(answer["rows"]) != normal(want):
                raise RuntimeError(f"{name}: OpenWit and DuckDB disagree:\n{answer['rows'][:5]}\n{want[:5]}")
            ours, server, theirs = [], [], []
            for _ in range(args.repeat):
                t, answer = query(ports["search"], sql)
                ours.append(t)
                server.append(answer["stats"]["elapsed_ms"] / 1000)
                t0 = time.monotonic()
                oracle.execute(sql).fetchall()
                theirs.append(time.monotonic() - t0)
            row = {"query": name, "openwit": stats(ours), "openwit_server": stats(server), "duckdb": stats(theirs),
                   "ratio": round(statistics.median(ours) / statistics.median(theirs), 2),
                   "files_read": answer["stats"]["files_read"]}
            results.append(row)
            say(f"{name:18} openwit {row['openwit']['median_ms']:8.1f} ms (server {row['openwit_server']['median_ms']:8.1f})"
                f"  duckdb {row['duckdb']['median_ms']:8.1f} ms  x{row['ratio']}")

        # 3. Trace by id: Tempo's API against DuckDB's lookup of the same spans.
        ids = [r[0] for r in oracle.execute(
            "SELECT DISTINCT lower(hex(TraceId)) FROM spans USING SAMPLE 20 ROWS (reservoir, 1)").fetchall()]
        ours, theirs = [], []
        tempo = http.client.HTTPConnection("127.0.0.1", ports["search"], timeout=300)
        for hex_id in ids:
            t0 = time.monotonic()
            tempo.request("GET", f"/tempo/api/traces/{hex_id}")
            r = tempo.getresponse()
            body = r.read()
            ours.append(time.monotonic() - t0)
            if r.status != 200:
                raise RuntimeError(f"trace {hex_id}: {r.status} {body[:300]!r}")
            spans = sum(len(ss["spans"]) for b in json.loads(body)["batches"] for ss in b["scopeSpans"])
            t0 = time.monotonic()
            # Like Tempo's answer: every column of the trace's spans, as Arrow (no Python objects).
            want = oracle.sql(f"SELECT * FROM spans WHERE TraceId = unhex('{hex_id}')").to_arrow_table().num_rows
            theirs.append(time.monotonic() - t0)
            if spans != want:
                raise RuntimeError(f"trace {hex_id}: {spans} spans from Tempo's API, {want} in the lake")
        trace_row = {"query": "trace_by_id", "openwit": stats(ours), "duckdb": stats(theirs),
                     "ratio": round(statistics.median(ours) / statistics.median(theirs), 2)}
        say(f"trace_by_id        openwit {trace_row['openwit']['median_ms']:8.1f} ms  duckdb "
            f"{trace_row['duckdb']['median_ms']:8.1f} ms  x{trace_row['ratio']}")

        # 4. Freshness at half the rate above: markers sent beside the held-back load, polled by
        # time range (the corpus is older than them, so its files are pruned).
        from opentelemetry.proto.collector.logs.v1 import logs_service_pb2

        stop = threading.Event()
        load_done = {}

        def load():
            started = time.monotonic()
            conn = http.client.HTTPConnection("127.0.0.1", ports["http"], timeout=120)
            interval = 500 / (rate / 2)
            next_at, sent = time.monotonic(), 0
            for f in held_back:
                if stop.is_set():
                    break
                next_at += interval
                conn.request("POST", "/v1/logs", body=f.read_bytes(), headers={"Content-Type": "application/x-protobuf"})
                r = conn.getresponse()
                r.read()
                sent += 500
                time.sleep(max(0.0, next_at - time.monotonic()))
            load_done["records"] = sent
            load_done["seconds"] = round(time.monotonic() - started, 1)

        acked, seen = {}, {}

        def markers():
            conn = http.client.HTTPConnection("127.0.0.1", ports["http"], timeout=60)
            i = 0
            while not stop.is_set():
                req = logs_service_pb2.ExportLogsServiceRequest()
                rec = req.resource_logs.add().scope_logs.add().log_records.add()
                rec.time_unix_nano = time.time_ns()
                rec.body.string_value = f"fresh-marker-{i}"
                conn.request("POST", "/v1/logs", body=req.SerializeToString(),
                             headers={"Content-Type": "application/x-protobuf"})
                r = conn.getresponse()
                r.read()
                if r.status == 200:
                    acked[f"fresh-marker-{i}"] = time.monotonic()
                i += 1
                time.sleep(0.2)

        threads = [threading.Thread(target=load), threading.Thread(target=markers)]
        started_ns = time.time_ns()
        for t in threads:
            t.start()
        deadline = time.monotonic() + args.fresh_seconds
        while time.monotonic() < deadline:
            _, answer = query(ports["search"], "SELECT Body FROM logs WHERE Body LIKE 'fresh-marker-%'",
                              start=started_ns - 10**9)
            now = time.monotonic()
            for (body,) in answer["rows"]:
                seen.setdefault(body, now)
            time.sleep(0.05)
        stop.set()
        for t in threads:
            t.join()
        delays = sorted(seen[m] - acked[m] for m in acked if m in seen)
        missing = [m for m in acked if m not in seen and acked[m] < deadline - 6]
        fresh = {"markers": len(acked), "seen": len(delays), "missing_after_6s": len(missing),
                 "load_records_per_s": round(rate / 2), "load_records_sent": load_done.get("records"),
                 "load_seconds": load_done.get("seconds"),
                 "p50_ms": round(delays[len(delays) // 2] * 1000) if delays else None,
                 "p99_ms": round(delays[min(len(delays) - 1, int(len(delays) * 0.99))] * 1000) if delays else None,
                 "max_ms": round(delays[-1] * 1000) if delays else None}
        say(f"freshness at {fresh['load_records_per_s']:,} logs/s: {fresh}")
        report = {"logs": total_logs, "spans": total_spans, "ingest_logs_per_s": round(rate),
                  "lake_files": len(log_files) + len(span_files), "lake_mib": round(lake_bytes / 2**20),
                  "threads": args.threads, "queries": results + [trace_row], "freshness": fresh,
                  "openwit_peak_rss_mib": round(vm_hwm_mib(node.pid))}
        print(json.dumps(report, indent=1))
        Procs.stop(node)
        return 0
    except Exception:
        if "log" in locals():
            say(f"openwit's log ends:\n{tail(log)}")
        raise
    finally:
        procs.cleanup(keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
