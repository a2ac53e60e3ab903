"""Grafana's Jaeger data source against the real binary: a trace sent with the OpenTelemetry SDK is
found through /jaeger/api/services, operations and traces (as Grafana asks: service, tags as JSON,
start and end in microseconds) and comes back from /jaeger/api/traces/{id} in Jaeger's JSON model,
every span, tag, log and reference; a tenant never sees another's trace."""
import json
import urllib.parse

from conftest import metastore_files, wait_for
from sdk_traces import CONFIG, get, send_trace


def tags_of(kvs):
    return {kv["key"]: kv["value"] for kv in kvs}


def test_jaeger_services_search_and_trace_by_id(openwit, tmp_path):
    node = openwit("all", extra_yaml=CONFIG, storage_yaml="rotation_max_file_age_seconds: 1")
    trace_id, sent = send_trace(node.ports["http"], "acme", "checkout")
    globex_id, _ = send_trace(node.ports["http"], "globex", "billing")
    wait_for(lambda: sum(f["row_count"] for f in metastore_files(tmp_path / "data") if f["signal"] == "traces") == 4,
             what="both traces in the lake")
    base = f"http://127.0.0.1:{node.ports['search']}/jaeger"
    hex_id = f"{trace_id:032x}"

    def answer(path, tenant="acme", status=200):
        got, body, headers = get(f"{base}{path}", tenant)
        assert got == status, body
        assert headers["Content-Type"] == "application/json"
        return json.loads(body)

    # What the data source's health check and its search form ask first.
    services = answer("/api/services")
    assert services["data"] == ["checkout"] and services["total"] == 1 and services["errors"] is None
    assert answer("/api/services", "globex")["data"] == ["billing"]
    assert sorted(answer("/api/services/checkout/operations")["data"]) == ["POST /checkout", "charge card"]
    assert answer("/api/operations?service=checkout&spanKind=client")["data"] == [
        {"name": "charge card", "spanKind": "client"}]

    # The search as Grafana sends it: the range in microseconds, tags as a JSON object.
    root_sent, child_sent = sent["POST /checkout"], sent["charge card"]
    query = urllib.parse.urlencode({
        "service": "checkout", "operation": "", "tags": json.dumps({"http.status_code": "502"}),
        "minDuration": "", "maxDuration": "", "limit": 20,
        "start": root_sent.start_time // 1000 - 60_000_000, "end": root_sent.end_time // 1000 + 60_000_000})
    (found,) = answer(f"/api/traces?{query}")["data"]
    assert found["traceID"] == hex_id
    assert answer("/api/traces?service=checkout&operation=charge+card&minDuration=1h")["data"] == []
    errors = answer("/api/traces?service=checkout&tags=%7B%22error%22%3A%22true%22%7D")["data"]
    assert [t["traceID"] for t in errors] == [hex_id]

    # The trace by id is the one the search found, in Jaeger's model.
    (trace,) = answer(f"/api/traces/{hex_id}")["data"]
    assert trace == found
    ((process_id, process),) = trace["processes"].items()
    assert process["serviceName"] == "checkout"
    assert tags_of(process["tags"])["deployment.environment"] == "e2e"
    spans = {s["operationName"]: s for s in trace["spans"]}
    assert set(spans) == {"POST /checkout", "charge card"}
    root, child = spans["POST /checkout"], spans["charge card"]
    for span, want in ((root, root_sent), (child, child_sent)):
        assert span["traceID"] == hex_id and span["processID"] == process_id
        assert span["spanID"] == f"{want.context.span_id:016x}"
        assert span["startTime"] == want.start_time // 1000, "microseconds"
        assert span["duration"] == (want.end_time - want.start_time) // 1000
        tags = tags_of(span["tags"])
        assert tags["otel.scope.name"] == "shop.checkout" and tags["otel.scope.version"] == "1.2.3"
        assert tags["otel.status_code"] == "ERROR" and tags["error"] is True
    assert tags_of(root["tags"])["span.kind"] == "server" and tags_of(child["tags"])["span.kind"] == "client"
    assert tags_of(root["tags"])["http.route"] == "/checkout"
    assert tags_of(child["tags"])["otel.status_description"] == "card declined"
    assert child["references"] == [{"refType": "CHILD_OF", "traceID": hex_id, "spanID": root["spanID"]}]
    assert root["references"] == [{"refType": "FOLLOWS_FROM", "traceID": f"{0x1234:032x}", "spanID": f"{0x5678:016x}"}]
    (log,) = root["logs"]
    assert log["timestamp"] == root_sent.events[0].timestamp // 1000
    assert tags_of(log["fields"]) == {"event": "cart.loaded", "items": "3"}

    # Tenants stay apart, unknown ids are 404 in Jaeger's error shape, bad parameters 400, no key 401.
    assert answer(f"/api/traces/{hex_id}", "globex", status=404) == {
        "data": None, "total": 0, "limit": 0, "offset": 0, "errors": [{"code": 404, "msg": "trace not found"}]}
    assert answer("/api/traces?service=checkout", "globex")["data"] == []
    assert answer(f"/api/traces/{globex_id:032x}", "globex")["data"][0]["traceID"] == f"{globex_id:032x}"
    assert "'service'" in answer("/api/traces", status=400)["errors"][0]["msg"]
    assert "'minDuration'" in answer("/api/traces?service=checkout&minDuration=soon", status=400)["errors"][0]["msg"]
    assert get(f"{base}/api/services", "")[0] == 401
    assert node.stop() == 0
