"""Grafana's Loki data source against the real binary (issue #13): logs sent with the OpenTelemetry
SDK by two tenants are found through /loki/api/v1/query_range within search.freshness_seconds of
their ack, before any file rotates (streams with exact nanosecond timestamps, line and attribute
filters), listed by labels, label values and series, counted by count_over_time and sum by as
Python counts them, and the data source's health check answers 2; LogQL outside the subset gets
400 naming it; a tenant never sees another's logs."""
import json
import time
import urllib.parse
import uuid

from conftest import metastore_files
from sdk_traces import CONFIG, KEYS, get

FRESHNESS_SECONDS = 5  # search.freshness_seconds's default


def send_logs(http_port: int, tenant: str, service: str, lines):
    """`lines` ([(severity, message, attributes)]) through the SDK's Logs API and OTLP/HTTP log
    exporter, each stamped with time.time_ns() (every digit significant). Returns the SDK's records
    once every one is acked."""
    from opentelemetry._logs import LogRecord, SeverityNumber
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
    from opentelemetry.sdk.resources import Resource

    provider = LoggerProvider(resource=Resource.create({"service.name": service, "deployment.environment": "e2e"}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter(
        endpoint=f"http://127.0.0.1:{http_port}/v1/logs", headers={"Authorization": f"Bearer {KEYS[tenant]}"})))
    memory = InMemoryLogRecordExporter()
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    logger = provider.get_logger("shop.checkout", "1.2.3")
    for severity, message, attributes in lines:
        logger.emit(LogRecord(timestamp=time.time_ns(), severity_text=severity, severity_number=SeverityNumber[severity],
                              body=message, attributes=attributes))
    provider.shutdown()
    return [getattr(data, "log_record", data) for data in memory.get_finished_logs()]


def test_loki_data_source(openwit, tmp_path):
    node = openwit("all", extra_yaml=CONFIG)  # rotation stays at its 5 minutes: the logs are fresh
    run = uuid.uuid4().hex[:8]
    acme = send_logs(node.ports["http"], "acme", "checkout", [
        ("ERROR", f"{run} payment failed order=1", {"http.route": "/pay", "http.status_code": 502}),
        ("INFO", f"{run} payment ok order=2", {"http.route": "/pay", "http.status_code": 200}),
        ("WARN", f"{run} slow cart order=3", {"http.route": "/cart"}),
    ])
    acme += send_logs(node.ports["http"], "acme", "frontend", [("INFO", f"{run} GET / ok", {})])
    acked = time.monotonic()
    globex = send_logs(node.ports["http"], "globex", "billing", [("ERROR", f"{run} globex secret invoice", {})])
    stamps = [r.timestamp for r in acme + globex]
    start, end = min(stamps) - 60 * 10**9, max(stamps) + 60 * 10**9
    base = f"http://127.0.0.1:{node.ports['search']}/loki/api/v1"

    def answer(path, params=None, tenant="acme", status=200):
        url = f"{base}{path}" + ("?" + urllib.parse.urlencode(params) if params else "")
        got, body, headers = get(url, tenant)
        assert got == status, (url, body)
        assert headers["Content-Type"].startswith("application/json")
        return json.loads(body)

    def streams(query, tenant="acme", **more):
        body = answer("/query_range", {"query": query, "start": start, "end": end, "limit": 1000, **more}, tenant)
        assert body["status"] == "success" and body["data"]["resultType"] == "streams"
        return body["data"]["result"]

    def lines(query, tenant="acme"):
        return sorted(v[1] for s in streams(query, tenant) for v in s["values"])

    # Fresh: every line found within the bound, though no file rotated yet.
    while len(lines(f'{{service_name=~".+"}} |= "{run}"')) < 4:
        assert time.monotonic() - acked < FRESHNESS_SECONDS, "not searchable within search.freshness_seconds"
        time.sleep(0.1)
    assert not [f for f in metastore_files(tmp_path / "data") if f["signal"] == "logs"]

    # Streams as Loki's: labels (service_name, level, resource attributes with "_"), the Body, the
    # SDK's timestamps to the nanosecond, newest first.
    checkout = streams('{service_name="checkout"}')
    by_level = {s["stream"]["level"]: s for s in checkout}
    assert set(by_level) == {"error", "info", "warn"}
    error = by_level["error"]
    assert error["stream"]["service_name"] == "checkout"
    assert error["stream"]["deployment_environment"] == "e2e"
    assert error["stream"]["telemetry_sdk_language"] == "python"
    assert error["values"] == [[str(acme[0].timestamp), f"{run} payment failed order=1"]]
    sent = {r.body: r.timestamp for r in acme}
    for s in checkout:
        for ts, line in s["values"]:
            assert int(ts) == sent[line]
    every = [v for s in streams(f'{{service_name=~".+"}} |= "{run}"') for v in s["values"]]
    forward = [v for s in streams(f'{{service_name=~".+"}} |= "{run}"', direction="forward", limit=1)
               for v in s["values"]]
    assert forward == [[str(min(r.timestamp for r in acme)), min(acme, key=lambda r: r.timestamp).body]]
    assert len(every) == 4

    # Line filters, chained; attribute filters over the log's attributes; severity matchers.
    assert lines('{service_name="checkout"} |= "payment" != "ok"') == [f"{run} payment failed order=1"]
    assert lines('{service_name=~"check.*"} |~ "order=[23]"') == [f"{run} payment ok order=2", f"{run} slow cart order=3"]
    assert lines('{service_name="checkout"} !~ "pay"') == [f"{run} slow cart order=3"]
    assert lines('{service_name="checkout"} | http_route="/pay"') == [f"{run} payment failed order=1",
                                                                      f"{run} payment ok order=2"]
    assert lines('{service_name="checkout"} | http_status_code >= 500') == [f"{run} payment failed order=1"]
    assert lines('{level="ERROR"}') == [f"{run} payment failed order=1"]

    # Labels, values, series.
    window = {"start": start, "end": end}
    names = answer("/labels", window)["data"]
    assert {"service_name", "level", "deployment_environment", "telemetry_sdk_name"} <= set(names)
    assert answer("/label/service_name/values", window)["data"] == ["checkout", "frontend"]
    assert answer("/label/level/values", {**window, "query": '{service_name="checkout"}'})["data"] == [
        "error", "info", "warn"]
    series = answer("/series", {**window, "match[]": '{service_name="frontend"}'})["data"]
    assert [(s["service_name"], s["level"]) for s in series] == [("frontend", "info")]

    # Metric queries as Grafana's volume histogram sends them, against Python's count.
    step = 10 * 10**9
    grid = [start + k * step for k in range((end - start) // step + 1)]

    def expected(records, key, window_ns):
        series = {}
        for k, t in enumerate(grid):
            for r in records:
                if t - window_ns < r.timestamp <= t:
                    group = series.setdefault(key(r), {})
                    group[k] = group.get(k, 0) + 1
        return {group: [[(grid[k] // 1_000_000) / 1000, str(n)] for k, n in sorted(points.items())]
                for group, points in series.items()}

    def matrix(query):
        body = answer("/query_range", {"query": query, "start": start, "end": end, "step": "10000ms"})
        assert body["data"]["resultType"] == "matrix", body
        return body["data"]["result"]

    volume = matrix('sum by (level, detected_level) (count_over_time({service_name=~".+"} | drop __error__[10s]))')
    assert {(s["metric"]["level"], s["metric"]["detected_level"]): s["values"] for s in volume} == {
        (level, level): values
        for level, values in expected(acme, lambda r: r.severity_text.lower(), 10 * 10**9).items()}
    total = matrix('sum(count_over_time({service_name="checkout"}[30s]))')
    assert [(s["metric"], s["values"]) for s in total] == [
        ({}, values) for values in expected(acme[:3], lambda r: "all", 30 * 10**9).values()]
    instant = answer("/query", {"query": 'sum by (service_name) (count_over_time({service_name=~".+"}[1h]))',
                                "time": end})["data"]
    assert instant["resultType"] == "vector"
    assert {s["metric"]["service_name"]: s["value"][1] for s in instant["result"]} == {"checkout": "3", "frontend": "1"}

    # The data source's health check, as Grafana sends it (time.Unix(4, 0) in nanoseconds: ten
    # digits, which Loki reads as seconds).
    health = answer("/query", {"query": "vector(1)+vector(1)", "time": 4_000_000_000, "direction": "backward"})
    assert health["data"]["result"] == [{"metric": {}, "value": [4_000_000_000, "2"]}]

    # Outside the subset: 400 naming what and where.
    bad = answer("/query_range", {"query": '{service_name="checkout"} | json', "start": start, "end": end},
                 status=400)
    assert bad["status"] == "error"
    assert "parse error at line 1, col 29: json is not supported" in bad["message"], bad
    bad = answer("/query_range", {"query": '{service_name=~"("}', "start": start, "end": end}, status=400)
    assert "invalid regex" in bad["message"], bad

    # Tenants: each sees its own logs only, through every endpoint.
    assert lines('{service_name=~".+"}', "globex") == [f"{run} globex secret invoice"]
    assert lines('{service_name="billing"}') == []
    assert lines('{service_name=~".+"} |= "secret"') == []
    assert answer("/label/service_name/values", window, "globex")["data"] == ["billing"]
    assert [s["service_name"] for s in answer("/series", {**window, "match[]": '{service_name=~".+"}'},
                                              "globex")["data"]] == ["billing"]
    got, _, _ = get(f"{base}/labels", "")
    assert got == 401

    # After a restart (a clean stop publishes every file), the same lines come from the lake, once.
    before = lines(f'{{service_name=~".+"}} |= "{run}"')
    assert node.stop() == 0
    assert [f for f in metastore_files(tmp_path / "data") if f["signal"] == "logs"]
    node.start()
    assert lines(f'{{service_name=~".+"}} |= "{run}"') == before
    assert lines('{service_name=~".+"}', "globex") == [f"{run} globex secret invoice"]
