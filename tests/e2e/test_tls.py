"""TLS on every public listener (OTLP/HTTP, OTLP/gRPC, admin, search), checked with real TLS clients that
verify the server against a test CA (requests, the OpenTelemetry SDK's exporters, Python's ssl);
certificates replaced on disk serve new connections without a restart."""
import json
import logging
import subprocess
import time

import grpc
import pytest
import requests

from certs import CertAuthority, common_name_while_renewing, install, served_common_name
from conftest import BIN, lake_bodies, run_cli, wait_for

LOG_JSON = {"resourceLogs": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}]},
    "scopeLogs": [{"logRecords": [{"timeUnixNano": "1700000000000000000", "body": {"stringValue": "BODY"}}]}],
}]}


@pytest.fixture
def ca(tmp_path):
    ca = CertAuthority(tmp_path / "pki")
    first = ca.leaf("first", "first.openwit.test")
    ca.second = ca.leaf("second", "second.openwit.test")
    # The pair the server reads; tests replace it.
    ca.cert, ca.key = tmp_path / "pki" / "server.pem", tmp_path / "pki" / "server.key"
    install(*first, ca.cert, ca.key)
    return ca


def tls_yaml(ca, reload_seconds=1):
    return f'tls: {{enabled: true, cert_path: "{ca.cert}", key_path: "{ca.key}", reload_interval_seconds: {reload_seconds}}}'


def post_log(url, body, **kwargs):
    return requests.post(url, data=json.dumps(LOG_JSON).replace("BODY", body),
                         headers={"Content-Type": "application/json"}, timeout=30, **kwargs)


def test_otlp_http_over_tls_and_a_certificate_renewed_without_restart(openwit, ca, tmp_path):
    node = openwit("all", listener_yaml={"http": tls_yaml(ca)})
    port = node.ports["http"]
    assert f"https://127.0.0.1:{port}" in node.output()  # the banner says https
    url = f"https://127.0.0.1:{port}/v1/logs"
    r = post_log(url, "over https", verify=str(ca.pem))
    assert r.status_code == 200 and r.text == "{}"
    # Clear text to the TLS port, or a client that does not trust the certificate: no request served.
    with pytest.raises(requests.exceptions.ConnectionError):
        post_log(f"http://127.0.0.1:{port}/v1/logs", "in clear text")
    with pytest.raises(requests.exceptions.SSLError):
        post_log(url, "unverified")  # the system CAs do not know the test CA

    assert served_common_name(port, ca.pem) == "first.openwit.test"
    pid = node.proc.pid
    install(*ca.second, ca.cert, ca.key)
    wait_for(lambda: common_name_while_renewing(port, ca.pem) == "second.openwit.test", timeout=10,
             what="new connections to get the renewed certificate")
    assert node.proc.pid == pid and node.proc.poll() is None  # no restart
    assert post_log(url, "after the renewal", verify=str(ca.pem)).status_code == 200
    assert "TLS certificate" in node.output() and "reloaded" in node.output()

    # A large body still gets its 413 over TLS.
    big = requests.post(url, data=b"x" * (17 << 20), headers={"Content-Type": "application/x-protobuf"},
                        verify=str(ca.pem), timeout=30)
    assert big.status_code == 413
    assert node.stop() == 0
    assert sorted(lake_bodies(tmp_path / "data" / "lake")) == ["after the renewal", "over https"]


def test_sdk_http_exporter_with_certificate_file(openwit, ca, tmp_path, monkeypatch):
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
    from opentelemetry.sdk.resources import Resource

    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE win over the session's CA file that the
    # exporter sets from certificate_file (psf/requests#3829): without them, certificate_file applies.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    node = openwit("all", listener_yaml={"http": tls_yaml(ca)})
    provider = LoggerProvider(resource=Resource.create({"service.name": "sdk-https"}))
    exporter = OTLPLogExporter(endpoint=f"https://127.0.0.1:{node.ports['http']}/v1/logs",
                               certificate_file=str(ca.pem))
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = logging.getLogger("e2e.sdk.https")
    logger.propagate = False
    logger.addHandler(LoggingHandler(level=logging.INFO, logger_provider=provider))
    logger.setLevel(logging.INFO)
    logger.warning("sent over https by the SDK")
    provider.shutdown()
    assert node.stop() == 0
    assert lake_bodies(tmp_path / "data" / "lake") == ["sent over https by the SDK"]


def test_otlp_grpc_over_tls_and_a_certificate_renewed_without_restart(openwit, ca, tmp_path):
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
    from opentelemetry.sdk.resources import Resource

    node = openwit("all", listener_yaml={"grpc": tls_yaml(ca)})
    port = node.ports["grpc"]

    def send(body):
        credentials = grpc.ssl_channel_credentials(root_certificates=ca.pem.read_bytes())
        provider = LoggerProvider(resource=Resource.create({"service.name": "sdk-grpc-tls"}))
        provider.add_log_record_processor(SimpleLogRecordProcessor(
            OTLPLogExporter(endpoint=f"127.0.0.1:{port}", credentials=credentials)))
        logger = logging.getLogger(f"e2e.sdk.grpc-tls.{body}")
        logger.propagate = False
        logger.addHandler(LoggingHandler(level=logging.INFO, logger_provider=provider))
        logger.warning(body)
        provider.shutdown()

    send("over grpc tls")
    assert served_common_name(port, ca.pem, alpn=["h2"]) == "first.openwit.test"
    pid = node.proc.pid
    install(*ca.second, ca.cert, ca.key)
    wait_for(lambda: common_name_while_renewing(port, ca.pem, alpn=["h2"]) == "second.openwit.test", timeout=15,
             what="gRPC to serve the renewed certificate")
    assert node.proc.pid == pid and node.proc.poll() is None
    send("after the grpc renewal")
    # A client without TLS gets nothing.
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
    with pytest.raises(grpc.RpcError) as plain:
        logs_service_pb2_grpc.LogsServiceStub(grpc.insecure_channel(f"127.0.0.1:{port}")).Export(
            logs_service_pb2.ExportLogsServiceRequest(), timeout=5)
    assert plain.value.code() == grpc.StatusCode.UNAVAILABLE
    assert node.stop() == 0
    assert sorted(lake_bodies(tmp_path / "data" / "lake")) == ["after the grpc renewal", "over grpc tls"]


def test_admin_listener_over_tls(openwit, ca):
    node = openwit("all", listener_yaml={"admin": tls_yaml(ca)}, wait=False)
    base = f"https://127.0.0.1:{node.ports['admin']}"

    def healthy():
        try:
            return requests.get(base + "/health", verify=str(ca.pem), timeout=2).status_code == 200
        except requests.exceptions.ConnectionError:
            return False

    wait_for(healthy, timeout=60, what="/health over https")
    metrics = requests.get(base + "/metrics", verify=str(ca.pem), timeout=5)
    assert metrics.status_code == 200 and "openwit_build_info" in metrics.text
    assert node.stop() == 0


def test_search_api_over_tls(openwit, ca):
    node = openwit("all", listener_yaml={"search": tls_yaml(ca)})
    port = node.ports["search"]
    assert f"https://127.0.0.1:{port}" in node.output()  # the banner says https
    url = f"https://127.0.0.1:{port}/v1/query"
    query = {"sql": "SELECT 42 AS answer"}
    r = requests.post(url, json=query, verify=str(ca.pem), timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == [[42]]
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(f"http://127.0.0.1:{port}/v1/query", json=query, timeout=10)
    with pytest.raises(requests.exceptions.SSLError):
        requests.post(url, json=query, timeout=10)  # the system CAs do not know the test CA
    # The command line client: with the CA it trusts the node, without it refuses the certificate.
    cli = [BIN, "query", "SELECT 42 AS answer", "--format", "csv", "--url", f"https://127.0.0.1:{port}"]
    r = subprocess.run([*cli, "--cacert", str(ca.pem)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.splitlines() == ["answer", "42"], r.stderr
    r = subprocess.run(cli, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "certificate verify failed" in r.stderr, r.stderr
    assert node.stop() == 0


def test_production_warns_for_every_listener_that_carries_credentials(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("environment: production\n")
    r = run_cli("config", "check", str(config))
    assert r.returncode == 0
    for key, what in (("grpc", "OTLP/gRPC receiver"), ("http", "OTLP/HTTP receiver"), ("search", "search API")):
        assert f"WARNING: {key}.tls.enabled (default): TLS is disabled while environment is production: the {what}" in r.stderr
    assert "admin.tls" not in r.stderr
