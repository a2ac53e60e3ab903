#!/usr/bin/env python3
"""End-to-end gateway benchmark (issue #4): OTLP in, WAL ack.

Runs `openwit all` on free loopback ports (sync_on_write true, default batching, data in a temp
dir under build/bench-work, which is on the real disk, not tmpfs) and drives it with telemetrygen
logs, OTLP/gRPC and OTLP/HTTP, for each worker count. The peer in the same run is otlp2parquet 0.12
(OTLP/HTTP only, no WAL, no fsync) under the same telemetrygen --otlp-http load.

Figures are read from the servers, not from the client: OpenWit's /metrics (ingest.records.accepted
= records in the fsync'd short WAL, i.e. acked; batch.size_bytes; ack.latency), the rows of the
Parquet files otlp2parquet wrote (pyarrow), peak RSS (VmHWM) and CPU (/proc/<pid>/stat) of each
process. Each case gets a fresh server process and data dir, so VmHWM is the case's own peak.

    .venv/bin/python bench/gateway_bench.py --workers 1,4,8 --seconds 20
"""
import argparse
import collections
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))
from loopback import free_port, http_get  # noqa: E402  (shared with the e2e tests)

ROOT = Path(__file__).resolve().parents[1]
CLK_TCK = os.sysconf("SC_CLK_TCK")
TELEMETRYGEN_BATCH = 100  # telemetrygen's default --batch-size: records per export request


def say(msg: str) -> None:
    print(f"[gateway-bench] {msg}", flush=True)


# --- /proc ---------------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def thread_cpu(pid: int) -> dict:
    """CPU seconds per thread name (digits folded: 'grpcpp_sync_ser' x8 -> one row)."""
    out = collections.Counter()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            text = (task / "stat").read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        out[re.sub(r"[0-9]+", "N", name)] += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


def status_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def vm_hwm_mib(pid: int) -> float:
    return status_mib(pid, "VmHWM")


# --- Prometheus text ------------------------------------------------------------------------------
def parse_metrics(text: str) -> dict:
    """{name: value} for unlabelled samples, {name: {le: count}} for *_bucket."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)', line)
        if not m:
            continue
        name, labels, value = m.group(1), m.group(2) or "", float(m.group(3))
        if name.endswith("_bucket"):
            le = re.search(r'le="([^"]+)"', labels).group(1)
            out.setdefault(name, {})[float("inf") if le == "+Inf" else float(le)] = value
        elif not labels:
            out[name] = out.get(name, 0.0) + value
        else:
            out[name] = out.get(name, 0.0) + value  # sum over label sets
    return out


def metric_delta(before: dict, after: dict, name: str) -> float:
    return after.get(name, 0.0) - before.get(name, 0.0)


def quantile(before: dict, after: dict, hist: str, q: float):
    """q-quantile of a histogram's delta (linear within a bucket), seconds; None when empty."""
    b, a = before.get(hist + "_bucket", {}), after.get(hist + "_bucket", {})
    buckets = sorted((le, a[le] - b.get(le, 0.0)) for le in a)
    if not buckets or buckets[-1][1] <= 0:
        return None
    target, prev_le, prev_count = q * buckets[-1][1], 0.0, 0.0
    for le, count in buckets:
        if count >= target:
            if le == float("inf"):
                return prev_le
            if count == prev_count:
                return le
            return prev_le + (le - prev_le) * (target - prev_count) / (count - prev_count)
        prev_le, prev_count = le, count
    return prev_le


# --- processes -----------------------------------------------------------------------------------
class Procs:
    """Every child started here; stopped (TERM, then KILL) on exit, on error and on a signal."""

    def __init__(self):
        self.children = []
        self.dirs = []

    def start(self, argv, **kw) -> subprocess.Popen:
        p = subprocess.Popen(argv, **kw)
        self.children.append(p)
        return p

    def tempdir(self, base: Path, prefix: str) -> Path:
        base.mkdir(parents=True, exist_ok=True)
        d = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
        self.dirs.append(d)
        return d

    @staticmethod
    def stop(p: subprocess.Popen, timeout: float = 20.0) -> None:
        if p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            say(f"pid {p.pid} ({Path(p.args[0]).name}) ignored SIGTERM for {timeout:.0f} s: SIGKILL")
            p.kill()
            p.wait()

    def cleanup(self, keep: bool = False) -> None:
        for p in reversed(self.children):
            self.stop(p, timeout=10)
        self.children.clear()
        if not keep:
            for d in self.dirs:
                shutil.rmtree(d, ignore_errors=True)
            self.dirs.clear()


def wait_until(pred, timeout: float, what: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before it was ready:\n{tail(log)}")
        if pred():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} not ready after {timeout:.0f} s:\n{tail(log)}")


def tail(path: Path, n: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def run_telemetrygen(args, procs: Procs, endpoint: str, http: bool, workers: int, log: Path,
                     server_pid: int, sample) -> dict:
    """Runs one telemetrygen load to completion; returns its wall time, CPU and the server's
    per-thread CPU and a mid-run `top` line, sampled while it runs."""
    argv = [args.telemetrygen, "logs", "--otlp-endpoint", endpoint, "--otlp-insecure",
            "--workers", str(workers), "--rate", "0", "--duration", f"{args.seconds}s"]
    if http:
        argv.append("--otlp-http")
    if args.batch_size:
        argv += ["--batch-size", str(args.batch_size)]
    server_cpu0, threads0 = cpu_seconds(server_pid), thread_cpu(server_pid)
    samples = []
    # Peak RSS counts the page cache pages a process maps (OpenWit maps an active file while it
    # turns it into Parquet); the anonymous part is its own memory. Sampled: a peak may be missed.
    peak_anon = status_mib(server_pid, "RssAnon")
    t0 = time.monotonic()
    with open(log, "w") as lf:
        p = procs.start(argv, stdout=lf, stderr=subprocess.STDOUT)
        top = ""
        while True:
            try:
                _, status, rusage = os.wait4(p.pid, os.WNOHANG)
            except ChildProcessError:
                status, rusage = 0, None
                break
            if _:
                break
            now = time.monotonic() - t0
            samples.append((now, sample()))
            peak_anon = max(peak_anon, status_mib(server_pid, "RssAnon"))
            if not top and now > args.seconds / 2:
                top = subprocess.run(["top", "-b", "-n1", "-w", "200", "-p", f"{server_pid},{p.pid}"],
                                     capture_output=True, text=True).stdout
            time.sleep(0.5)
        p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        raise RuntimeError(f"telemetrygen exited with {p.returncode}:\n{tail(log)}")
    text = log.read_text(errors="replace")
    generated = sum(int(x) for x in re.findall(r'"logs":\s*(\d+)', text))
    threads1 = thread_cpu(server_pid)
    return {
        "wall_s": wall,
        "client_cpu_s": (rusage.ru_utime + rusage.ru_stime) if rusage else None,
        "client_says_records": generated,
        "server_cpu_s": cpu_seconds(server_pid) - server_cpu0,
        "server_threads_cpu_s": {k: round(threads1[k] - threads0.get(k, 0.0), 2) for k in threads1
                                 if threads1[k] - threads0.get(k, 0.0) >= 0.05},
        "samples": samples,
        "top": top,
        "peak_anon_mib": peak_anon,
    }


# --- the two servers -----------------------------------------------------------------------------
def openwit_case(args, procs: Procs, http: bool, workers: int) -> dict:
    work = procs.tempdir(args.work, "openwit-gbench-")
    ports = {k: free_port() for k in ("admin", "grpc", "http", "ingest", "flight", "search", "control")}
    config = work / "openwit.yaml"
    config.write_text(f"""\
node: {{id: gbench-{ports['admin']}, data_dir: ./data}}
admin: {{bind: 127.0.0.1, port: {ports['admin']}}}
grpc: {{bind: 127.0.0.1, port: {ports['grpc']}}}
http: {{bind: 127.0.0.1, port: {ports['http']}}}
ingest: {{listen: {{bind: 127.0.0.1, port: {ports['ingest']}}}, endpoints: ["127.0.0.1:{ports['ingest']}"]}}
storage: {{flight: {{bind: 127.0.0.1, port: {ports['flight']}}}, endpoints: ["127.0.0.1:{ports['flight']}"]}}
search: {{bind: 127.0.0.1, port: {ports['search']}}}
control: {{listen: {{bind: 127.0.0.1, port: {ports['control']}}}}}
processing: {{wal: {{dir: ./data/wal, sync_on_write: true}}}}
""" + (f"ingestion: {{batching: {{batch_timeout_ms: {args.batch_timeout_ms}}}}}\n" if args.batch_timeout_ms else ""))
    log = work / "openwit.log"
    with open(log, "w") as lf:
        p = procs.start([args.openwit, "all", "--config", str(config)], cwd=work, stdout=lf,
                        stderr=subprocess.STDOUT)
    admin = f"http://127.0.0.1:{ports['admin']}"
    wait_until(lambda: http_get(admin + "/health", 1)[0] == 200, 60, "openwit", p, log)

    def scrape():
        status, body = http_get(admin + "/metrics", 5)
        if status != 200:
            raise RuntimeError(f"GET {admin}/metrics answered {status}")
        return parse_metrics(body)

    before = scrape()
    endpoint = f"127.0.0.1:{ports['http'] if http else ports['grpc']}"
    run = run_telemetrygen(args, procs, endpoint, http, workers, work / "telemetrygen.log", p.pid,
                           lambda: scrape().get("ingest_records_accepted", 0.0))
    after = scrape()
    hwm = vm_hwm_mib(p.pid)
    procs.stop(p)
    if p.returncode not in (0, -signal.SIGTERM):
        say(f"warning: openwit exited with {p.returncode} at stop:\n{tail(log)}")
    accepted = metric_delta(before, after, "ingest_records_accepted")
    # Steady rate: from the first sample after 2 s to the last sample taken while the client ran.
    steady = None
    s = [(t, v) for t, v in run["samples"] if t >= 2.0]
    if len(s) >= 2 and s[-1][0] > s[0][0]:
        steady = (s[-1][1] - s[0][1]) / (s[-1][0] - s[0][0])
    batches = metric_delta(before, after, "batch_created")
    bulk_bytes = metric_delta(before, after, "batch_size_bytes_sum")
    return {
        "server": "openwit", "protocol": "http" if http else "grpc", "workers": workers,
        "records": accepted,
        "records_per_s": accepted / run["wall_s"],
        "steady_records_per_s": steady,
        "validated": metric_delta(before, after, "event_ingest_validated"),
        "rejected": metric_delta(before, after, "event_ingest_rejected"),
        "duplicates": metric_delta(before, after, "dedup_duplicates"),
        "buffer_full": metric_delta(before, after, "buffer_full"),
        "http_rejected": metric_delta(before, after, "otlp_http_rejected"),
        "bulk_batches": batches,
        "records_per_batch": accepted / batches if batches else None,
        "bulk_bytes": bulk_bytes,
        "mb_per_s": bulk_bytes / run["wall_s"] / 1e6,
        "bytes_per_record": bulk_bytes / accepted if accepted else None,
        "ack_p50_ms": _ms(quantile(before, after, "ack_latency", 0.50)),
        "ack_p99_ms": _ms(quantile(before, after, "ack_latency", 0.99)),
        "wal_groups": metric_delta(before, after, "wal_write_latency_count"),
        "wal_p99_ms": _ms(quantile(before, after, "wal_write_latency", 0.99)),
        "peak_rss_mib": hwm,
        **{k: run[k] for k in ("wall_s", "client_cpu_s", "client_says_records", "server_cpu_s",
                               "server_threads_cpu_s", "top", "peak_anon_mib")},
    }


def otlp2parquet_case(args, procs: Procs, workers: int) -> dict:
    work = procs.tempdir(args.work, "otlp2parquet-gbench-")
    run_dir, out_dir = work / "cwd", work / "out"
    run_dir.mkdir()
    port = free_port()
    log = work / "otlp2parquet.log"
    env = dict(os.environ, OTLP2PARQUET_LISTEN_ADDR=f"127.0.0.1:{port}")
    with open(log, "w") as lf:
        # Never -p: it binds 0.0.0.0. The empty cwd keeps it from picking up a stray config file.
        p = procs.start([args.otlp2parquet, "-o", str(out_dir)], cwd=run_dir, env=env, stdout=lf,
                        stderr=subprocess.STDOUT)
    wait_until(lambda: port_open(port), 60, "otlp2parquet", p, log)
    run = run_telemetrygen(args, procs, f"127.0.0.1:{port}", True, workers, work / "telemetrygen.log",
                           p.pid, lambda: 0.0)
    hwm = vm_hwm_mib(p.pid)
    procs.stop(p)  # it may flush buffered rows at shutdown: count after it stopped
    import pyarrow.parquet as pq

    files = list(out_dir.rglob("*.parquet"))
    rows, unreadable = 0, 0
    for f in files:
        # A file it was writing when stopped may be empty or footless: not counted, but reported.
        try:
            rows += pq.ParquetFile(f).metadata.num_rows
        except Exception:  # noqa: BLE001
            unreadable += 1
    size = sum(f.stat().st_size for f in files)
    return {
        "server": "otlp2parquet", "protocol": "http", "workers": workers,
        "records": rows, "records_per_s": rows / run["wall_s"], "files": len(files), "parquet_bytes": size,
        "unreadable_files": unreadable,
        "peak_rss_mib": hwm,
        **{k: run[k] for k in ("wall_s", "client_cpu_s", "client_says_records", "server_cpu_s",
                               "server_threads_cpu_s", "top", "peak_anon_mib")},
    }


def _ms(seconds):
    return None if seconds is None else seconds * 1000


# --- report --------------------------------------------------------------------------------------
def fmt(v, digits=0):
    if v is None:
        return "n/a"
    return f"{v:,.{digits}f}"


def report(results: list, args) -> str:
    peer = {r["workers"]: r for r in results if r["server"] == "otlp2parquet"}
    lines = [
        "| server | protocol | workers | records/s | ratio to otlp2parquet | MB/s OTLP | ack p50 | ack p99 "
        "| mean request latency | server CPU | client CPU | peak RSS | peak anon RSS |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ratio = (r["records_per_s"] / peer[r["workers"]]["records_per_s"]
                 if r["server"] == "openwit" and r["workers"] in peer and peer[r["workers"]]["records_per_s"]
                 else None)
        # Closed loop: each worker has one request of `batch` records in flight (Little's law).
        reqs_per_s = r["records_per_s"] / (args.batch_size or TELEMETRYGEN_BATCH)
        mean_ms = r["workers"] / reqs_per_s * 1000 if reqs_per_s else None
        lines.append(
            f"| {r['server']} | {r['protocol']} | {r['workers']} | {fmt(r['records_per_s'])} "
            f"| {fmt(ratio, 2) if ratio else '-'} | {fmt(r.get('mb_per_s'), 1)} "
            f"| {fmt(r.get('ack_p50_ms'), 2) + ' ms' if r.get('ack_p50_ms') is not None else 'n/a'} "
            f"| {fmt(r.get('ack_p99_ms'), 2) + ' ms' if r.get('ack_p99_ms') is not None else 'n/a'} "
            f"| {fmt(mean_ms, 1)} ms "
            f"| {r['server_cpu_s'] / r['wall_s'] * 100:.0f}% "
            f"| {(r['client_cpu_s'] or 0) / r['wall_s'] * 100:.0f}% "
            f"| {r['peak_rss_mib']:,.0f} MiB | {r.get('peak_anon_mib', 0):,.0f} MiB |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", default="1,4,8", help="telemetrygen worker counts, comma-separated")
    ap.add_argument("--seconds", type=int, default=20, help="telemetrygen --duration of each case")
    ap.add_argument("--protocols", default="grpc,http", help="OpenWit's OTLP transports to drive")
    ap.add_argument("--batch-size", type=int, default=0,
                    help=f"telemetrygen --batch-size (records per request); 0 = its default, {TELEMETRYGEN_BATCH}")
    ap.add_argument("--batch-timeout-ms", type=int, default=0,
                    help="OpenWit's ingestion.batching.batch_timeout_ms; 0 = the default (100 ms)")
    ap.add_argument("--no-peer", action="store_true", help="skip otlp2parquet")
    ap.add_argument("--openwit", default=str(ROOT / "build/release/openwit"))
    ap.add_argument("--telemetrygen", default=str(ROOT / "build/tools/telemetrygen"))
    ap.add_argument("--otlp2parquet", default=str(ROOT / "build/tools/otlp2parquet/bin/otlp2parquet"))
    ap.add_argument("--work", type=Path, default=ROOT / "build/bench-work",
                    help="parent of the per-case temp dirs (must be a real disk: fsync is measured)")
    ap.add_argument("--json", type=Path, help="also write every figure (and per-thread CPU) here")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs (logs, data) for a look")
    args = ap.parse_args()
    # Children run in their temp dirs: every path they get must be absolute.
    args.work = args.work.resolve()
    args.openwit, args.telemetrygen, args.otlp2parquet = (
        str(Path(t).resolve()) for t in (args.openwit, args.telemetrygen, args.otlp2parquet))
    workers = [int(w) for w in args.workers.split(",")]
    protocols = [p.strip() for p in args.protocols.split(",") if p.strip()]
    for tool, hint in ((args.openwit, "make build"), (args.telemetrygen, "make bench-setup"),
                       (args.otlp2parquet, "make bench-setup")):
        if not os.access(tool, os.X_OK) and not (tool == args.otlp2parquet and args.no_peer):
            say(f"ERROR: {tool} missing: run `{hint}` first")
            return 2

    procs = Procs()

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    results = []
    rc = 0
    try:
        for n in workers:
            for proto in protocols:
                say(f"openwit all, OTLP/{proto.upper()}, {n} telemetrygen worker(s), {args.seconds} s ...")
                r = openwit_case(args, procs, proto == "http", n)
                results.append(r)
                say(f"  {r['records_per_s']:,.0f} records/s acked (client counted {r['client_says_records']:,}, "
                    f"server {r['records']:,.0f}; duplicates {r['duplicates']:,.0f}, rejected {r['rejected']:,.0f}, "
                    f"buffer_full {r['buffer_full']:,.0f}), {r['records_per_batch'] or 0:,.0f} records a bulk batch, "
                    f"server CPU {r['server_cpu_s'] / r['wall_s'] * 100:.0f}%, "
                    f"client CPU {(r['client_cpu_s'] or 0) / r['wall_s'] * 100:.0f}%")
                procs.cleanup(keep=args.keep)
            if not args.no_peer:
                say(f"otlp2parquet, OTLP/HTTP, {n} telemetrygen worker(s), {args.seconds} s ...")
                r = otlp2parquet_case(args, procs, n)
                results.append(r)
                say(f"  {r['records_per_s']:,.0f} records/s in Parquet (client counted {r['client_says_records']:,}, "
                    f"rows {r['records']:,}, {r['files']:,} files, {r['unreadable_files']} unreadable), server CPU "
                    f"{r['server_cpu_s'] / r['wall_s'] * 100:.0f}%")
                procs.cleanup(keep=args.keep)
    except KeyboardInterrupt as e:
        say(f"interrupted ({e}): stopping processes, removing temp dirs")
        rc = 130
    except Exception as e:  # noqa: BLE001: report, clean up, fail
        say(f"ERROR: {e}")
        rc = 1
    finally:
        procs.cleanup(keep=args.keep)
    if not results:
        return rc
    if rc:
        say("the cases measured before the failure:")
    print()
    print(report(results, args))
    print()
    for r in results:
        top_threads = sorted(r["server_threads_cpu_s"].items(), key=lambda kv: -kv[1])[:8]
        print(f"{r['server']} {r['protocol']} w={r['workers']}: CPU s by thread: "
              + ", ".join(f"{k} {v:.1f}" for k, v in top_threads))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1, default=str))
        say(f"figures: {args.json}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
