"""The command line's search client against the real binary: `openwit query` (table, csv, json;
the node's errors as they are), `openwit trace` (a trace sent with the SDK as a tree) and `openwit
tail` (records already there, then new ones as they land, each once)."""
import csv
import io
import json
import os
import signal
import subprocess
import threading
import time
import urllib.request

from conftest import BIN, metastore_files, wait_for
from sdk_traces import CONFIG, KEYS, send_trace


def send_logs(http_port: int, tenant: str, service: str, bodies):
    """OTLP JSON log records stamped now, one per body."""
    now = time.time_ns()
    records = [{"timeUnixNano": str(now + i * 1000), "severityText": "INFO", "body": {"stringValue": b}}
               for i, b in enumerate(bodies)]
    body = {"resourceLogs": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
                              "scopeLogs": [{"logRecords": records}]}]}
    req = urllib.request.Request(f"http://127.0.0.1:{http_port}/v1/logs", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json",
                                          "Authorization": f"Bearer {KEYS[tenant]}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 200


def cli(node, *args, key="acme", env=None):
    """(exit code, stdout, stderr) of `openwit ARGS` pointed at the node's search API."""
    flags = [] if env else ["--url", f"http://127.0.0.1:{node.ports['search']}", "--api-key", KEYS.get(key, key)]
    run = subprocess.run([BIN, *args, *flags], capture_output=True, text=True, timeout=60,
                         env={**os.environ, **(env or {})})
    return run.returncode, run.stdout, run.stderr


def lake_rows(data, signal_name):
    return sum(f["row_count"] for f in metastore_files(data) if f["signal"] == signal_name)


def test_query_trace_and_tail_from_the_command_line(openwit, tmp_path):
    node = openwit("all", extra_yaml=CONFIG, storage_yaml="rotation_max_file_age_seconds: 1")
    data = tmp_path / "data"
    tricky = 'said "hi", then\nleft'
    send_logs(node.ports["http"], "acme", "checkout", ["first", tricky])
    send_logs(node.ports["http"], "acme", "payments", ["paid"])
    send_logs(node.ports["http"], "globex", "checkout", ["globex only"])
    trace_id, _ = send_trace(node.ports["http"], "acme", "checkout")
    wait_for(lambda: lake_rows(data, "logs") == 4 and lake_rows(data, "traces") == 2, what="logs and trace in the lake")

    # A table: header, rule, rows; the figures on stderr.
    sql = "SELECT ServiceName, count(*) AS n FROM logs GROUP BY ServiceName ORDER BY ServiceName"
    code, out, err = cli(node, "query", sql)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["ServiceName", "n"] and set(lines[1]) <= {"-", " "}
    assert [line.split() for line in lines[2:]] == [["checkout", "2"], ["payments", "1"]]
    assert "2 rows" in err and "files read" in err

    # CSV keeps the body whole (quote, comma, newline); JSON is the API's answer.
    code, out, err = cli(node, "query", "SELECT Body FROM logs WHERE ServiceName = 'checkout' ORDER BY Body",
                         "--format", "csv")
    assert code == 0, err
    assert list(csv.reader(io.StringIO(out))) == [["Body"], ["first"], [tricky]]
    code, out, err = cli(node, "query", "SELECT Body FROM logs ORDER BY Body", "--format", "json", "--limit", "2")
    assert code == 0, err
    answer = json.loads(out)
    assert answer["rows"] == [["first"], ["paid"]] and answer["truncated"] is True

    # The address and key from the environment; the tenant's rows only.
    code, out, err = cli(node, "query", "SELECT Body FROM logs ORDER BY Body", "--format", "csv",
                         env={"OPENWIT_URL": f"http://127.0.0.1:{node.ports['search']}/",
                              "OPENWIT_API_KEY": KEYS["globex"]})
    assert code == 0, err
    assert out.splitlines() == ["Body", "globex only"]

    # The node's errors, as it gives them; a node that is not there; a usage error.
    code, out, err = cli(node, "query", "SELECT nope FROM logs")
    assert code == 1 and "HTTP 400" in err and "bad_query" in err and "nope" in err, err
    code, out, err = cli(node, "query", "SELECT 1", key="wrong-key")
    assert code == 1 and "HTTP 401" in err, err
    code, _, err = cli(node, "query", "SELECT 1", env={"OPENWIT_URL": "http://127.0.0.1:9"})
    assert code == 1 and "cannot reach the search node at http://127.0.0.1:9" in err, err
    code, _, err = cli(node, "query", "SELECT 1", "--format", "xml")
    assert code == 2 and "--format" in err

    # A trace as a tree: the child under its parent, its error shown.
    code, out, err = cli(node, "trace", f"{trace_id:032x}")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"trace {trace_id:032x}: 2 spans, 1 service"), out
    root = next(line for line in lines if "POST /checkout" in line)
    child = next(line for line in lines if "charge card" in line)
    assert lines.index(child) == lines.index(root) + 1 and child.endswith("[error]")
    assert child.index("checkout  charge card") == root.index("checkout  POST /checkout") + 2, out
    code, out, err = cli(node, "trace", f"{trace_id:032x}", key="globex")
    assert code == 1 and "HTTP 404" in err, err

    # tail: what is there already, then new records as they land, each once, until Ctrl-C.
    tail = subprocess.Popen([BIN, "tail", "--service", "checkout", "--since", "600", "--interval", "0.2",
                             "--url", f"http://127.0.0.1:{node.ports['search']}", "--api-key", KEYS["acme"]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    reader = threading.Thread(target=lambda: seen.extend(tail.stdout), daemon=True)
    reader.start()
    try:
        wait_for(lambda: any(line.rstrip().endswith("first") for line in seen), what="tail printing the first record")
        send_logs(node.ports["http"], "acme", "checkout", ["later one", "later two"])
        send_logs(node.ports["http"], "acme", "payments", ["not this service"])
        wait_for(lambda: any("later two" in line for line in seen), what="tail printing new records")
        time.sleep(1)  # a few more polls: nothing comes twice
    finally:
        tail.send_signal(signal.SIGINT)
        assert tail.wait(timeout=10) == 0, tail.stderr.read()
    reader.join(timeout=5)
    text = "".join(seen)
    # Bodies as they are (a stack trace keeps its lines); each record once, in time order.
    for body in ("  first\n", tricky, "later one", "later two"):
        assert text.count(body) == 1, (body, text)
    assert text.index("  first\n") < text.index("later one") < text.index("later two")
    assert "not this service" not in text and "globex" not in text
    assert all("  checkout  INFO  " in line for line in seen if "later" in line)
