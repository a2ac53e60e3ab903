"""Grafana's Tempo data source against the real binary: a trace sent with the OpenTelemetry SDK
comes back from /tempo/api/traces/{id} as OTLP that the opentelemetry-proto classes parse, with
every span, attribute, event and link; search by tags, duration and TraceQL, tag names and values; a
tenant never sees another's trace."""
import json
import urllib.parse

from opentelemetry.proto.trace.v1 import trace_pb2

from conftest import metastore_files, wait_for
from sdk_traces import CONFIG, get, send_trace


def test_tempo_trace_by_id_search_and_tags(openwit, tmp_path):
    node = openwit("all", extra_yaml=CONFIG, storage_yaml="rotation_max_file_age_seconds: 1")
    trace_id, sent = send_trace(node.ports["http"], "acme", "checkout")
    globex_id, _ = send_trace(node.ports["http"], "globex", "billing")
    wait_for(lambda: sum(f["row_count"] for f in metastore_files(tmp_path / "data") if f["signal"] == "traces") == 4,
             what="both traces in the lake")
    base = f"http://127.0.0.1:{node.ports['search']}/tempo"
    hex_id = f"{trace_id:032x}"

    assert get(f"{base}/api/echo", "acme")[1] == b"echo"
    status, body, headers = get(f"{base}/api/traces/{hex_id}", "acme", accept="application/protobuf")
    assert status == 200, body
    assert headers["Content-Type"] == "application/protobuf"
    data = trace_pb2.TracesData.FromString(body)  # tempopb.Trace is TracesData on the wire
    (resource,) = data.resource_spans
    attributes = {kv.key: kv.value.string_value for kv in resource.resource.attributes}
    assert attributes["service.name"] == "checkout" and attributes["deployment.environment"] == "e2e"
    (scope,) = resource.scope_spans
    assert (scope.scope.name, scope.scope.version) == ("shop.checkout", "1.2.3")
    got = {s.name: s for s in scope.spans}
    assert set(got) == {"POST /checkout", "charge card"}
    for name, want in sent.items():
        span = got[name]
        assert span.trace_id == trace_id.to_bytes(16, "big")
        assert span.span_id == want.context.span_id.to_bytes(8, "big")
        assert span.start_time_unix_nano == want.start_time, "nanoseconds kept"
        assert span.end_time_unix_nano == want.end_time
        assert {kv.key: kv.value.string_value for kv in span.attributes} == {
            k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in want.attributes.items()}
    root, child = got["POST /checkout"], got["charge card"]
    assert child.parent_span_id == root.span_id and root.parent_span_id == b""
    assert root.kind == trace_pb2.Span.SPAN_KIND_SERVER and child.kind == trace_pb2.Span.SPAN_KIND_CLIENT
    assert child.status.code == trace_pb2.Status.STATUS_CODE_ERROR and child.status.message == "card declined"
    (event,) = root.events
    assert event.name == "cart.loaded" and event.time_unix_nano == sent["POST /checkout"].events[0].timestamp
    assert {kv.key: kv.value.string_value for kv in event.attributes} == {"items": "3"}
    (link,) = root.links
    assert link.trace_id == (0x1234).to_bytes(16, "big") and link.span_id == (0x5678).to_bytes(8, "big")
    assert {kv.key: kv.value.string_value for kv in link.attributes} == {"link.reason": "retry-of"}

    # OTLP JSON otherwise, ids as hex.
    status, body, _ = get(f"{base}/api/traces/{hex_id}", "acme")
    assert status == 200
    spans = json.loads(body)["batches"][0]["scopeSpans"][0]["spans"]
    assert {s["traceId"] for s in spans} == {hex_id}

    # Tenants stay apart, unknown ids are 404, no key is 401.
    assert get(f"{base}/api/traces/{hex_id}", "globex")[0] == 404
    assert get(f"{base}/api/traces/{globex_id:032x}", "globex")[0] == 200
    assert get(f"{base}/api/traces/{'f' * 32}", "acme")[0] == 404
    assert get(f"{base}/api/traces/{hex_id}", "")[0] == 401

    # Search: by tags (logfmt), by duration; what Grafana's search form sends.
    def search(query, tenant="acme"):
        status, body, _ = get(f"{base}/api/search?{query}", tenant)
        assert status == 200, body
        return json.loads(body)["traces"]

    (found,) = search("tags=service.name%3Dcheckout+http.route%3D%2Fcheckout&limit=20")
    assert found["traceID"] == hex_id and found["rootServiceName"] == "checkout"
    assert found["rootTraceName"] == "POST /checkout"
    assert found["startTimeUnixNano"] == str(sent["POST /checkout"].start_time)
    assert search("tags=payment.provider%3Dacmepay")[0]["traceID"] == hex_id
    assert search("tags=service.name%3Dbilling") == []  # globex's
    assert search("minDuration=1h") == []
    assert [t["traceID"] for t in search("")] == [hex_id]

    # TraceQL, as the search builder writes it: the trace and its matching spans.
    def traceql(q, tenant="acme", extra=""):
        return search("q=" + urllib.parse.quote(q, safe="") + extra, tenant)

    (found,) = traceql('{resource.service.name="checkout" && span.http.status_code >= 500 && kind = server}')
    assert found["traceID"] == hex_id
    (span,) = found["spanSet"]["spans"]
    root = sent["POST /checkout"]
    assert span["spanID"] == f"{root.context.span_id:016x}" and span["name"] == "POST /checkout"
    assert span["startTimeUnixNano"] == str(root.start_time)
    assert span["durationNanos"] == str(root.end_time - root.start_time)
    assert traceql('{status = error && name =~ "charge.*"}')[0]["spanSet"]["matched"] == 1
    assert traceql('{span.retry = true} && {.payment.provider = "acmepay"}')[0]["spanSet"]["matched"] == 2
    assert traceql('{.payment.provider = "acmepay" && span.retry = true}') == []  # not on one span
    assert traceql('{duration > 1h}') == []
    assert traceql('{resource.service.name="billing"}') == []  # globex's
    assert traceql('{}', tenant="globex")[0]["traceID"] == f"{globex_id:032x}"
    status, body, _ = get(f"{base}/api/search?q=" + urllib.parse.quote("{} | count() > 1", safe=""), "acme")
    assert status == 400 and b"pipelines" in body, body

    status, body, _ = get(f"{base}/api/search/tags", "acme")
    names = json.loads(body)["tagNames"]
    assert {"service.name", "http.route", "payment.provider", "deployment.environment"} <= set(names)
    status, body, _ = get(f"{base}/api/search/tag/service.name/values", "acme")
    assert json.loads(body)["tagValues"] == ["checkout"]
    status, body, _ = get(f"{base}/api/v2/search/tag/span.http.route/values", "acme")
    assert json.loads(body)["tagValues"] == [{"type": "string", "value": "/checkout"}]
    assert node.stop() == 0
