"""Closed doors: the internal ports (bulk ingest, Arrow Flight, control) take calls from the cluster's
own nodes only, proven by the cluster token; an outside caller gets UNAUTHENTICATED and writes
nothing. Real clients: a Python gRPC client, pyarrow's Flight client, the processes themselves."""
import json
import urllib.request

import grpc
import pyarrow as pa
import pyarrow.flight as flight
import pytest

from conftest import (CLUSTER_TOKEN, SEND_NOW, bulk_client, control_stubs, http_get, lake_bodies, log_batch,
                      metric_value, run_cli, wait_for)

LOG_JSON = {"resourceLogs": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}]},
    "scopeLogs": [{"logRecords": [{"timeUnixNano": "1700000000000000000", "body": {"stringValue": "BODY"}}]}],
}]}


def post_log(port: int, body: str):
    data = json.dumps(LOG_JSON).replace("BODY", body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/logs", data=data, method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def flight_put(port: int, batch_id: str, values, token=None):
    """One DoPut of a batch with `batch_id` as storage expects it; returns storage's confirmation."""
    client = flight.connect(f"grpc+tcp://127.0.0.1:{port}")
    headers = [(b"x-openwit-cluster-token", token.encode())] if token is not None else []
    options = flight.FlightCallOptions(headers=headers, timeout=10)
    batch = pa.record_batch({"v": pa.array(values, pa.int64())})
    try:
        writer, reader = client.do_put(flight.FlightDescriptor.for_path("acme", "logs"), batch.schema, options=options)
        writer.write_with_metadata(batch, pa.py_buffer(batch_id.encode()))
        writer.done_writing()
        confirmed = reader.read()
        writer.close()
        return confirmed.to_pybytes() if confirmed is not None else None
    finally:
        client.close()


def lake_values(lake):
    import pyarrow.parquet as pq

    return sorted(v for f in sorted(lake.rglob("*.parquet")) for v in pq.read_table(f).column("v").to_pylist())


def test_bulk_ingest_refuses_callers_without_the_cluster_token(openwit, tmp_path):
    node = openwit("all", extra_yaml=SEND_NOW)
    port = node.ports["ingest"]
    for token in (None, "not-the-cluster-token"):
        with pytest.raises(grpc.RpcError) as refused:
            bulk_client(port, token=token).Submit(log_batch(f"outsider-{token}", ["written past the gateway"]), timeout=10)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "x-openwit-cluster-token" in refused.value.details()
    assert metric_value(node.admin, "cluster_auth_refused") == 2
    assert metric_value(node.admin, "ingest_records_accepted") == 0
    # The cluster's own caller (the token of its config) is served.
    ack = bulk_client(port).Submit(log_batch("member-1", ["sent by a gateway of the cluster"]), timeout=30)
    assert ack.accepted_records == 1
    assert node.stop() == 0
    assert lake_bodies(tmp_path / "data" / "lake") == ["sent by a gateway of the cluster"]


def test_flight_refuses_do_put_without_the_cluster_token_and_the_registry_stays_untouched(openwit, tmp_path):
    storage = openwit("storage")
    port = storage.ports["flight"]
    for token in (None, "not-the-cluster-token"):
        with pytest.raises(flight.FlightUnauthenticatedError, match="cluster token"):
            flight_put(port, "ingest-1:w1:7", [666, 667], token=token)
    assert metric_value(storage.admin, "cluster_auth_refused") == 2
    assert metric_value(storage.admin, "storage_rows_appended") == 0
    # The same batch id from the cluster is stored: the refused calls left no trace in the batch
    # registry (else it would be confirmed as a replay and never stored).
    assert flight_put(port, "ingest-1:w1:7", [1, 2, 3], token=CLUSTER_TOKEN) == b"ingest-1:w1:7"
    assert metric_value(storage.admin, "storage_batches_duplicate") == 0
    assert metric_value(storage.admin, "storage_rows_appended") == 3
    assert storage.stop() == 0
    assert lake_values(tmp_path / "data" / "lake") == [1, 2, 3]


def test_control_refuses_registrations_without_the_cluster_token(openwit):
    control = openwit("control")
    pb, pb_grpc = control_stubs()
    stub = pb_grpc.ControlStub(grpc.insecure_channel(f"127.0.0.1:{control.ports['control']}"))
    intruder = pb.RegisterRequest(node=pb.NodeInfo(node_id="intruder", roles=["storage"]))
    for call in (lambda md: stub.Register(intruder, timeout=10, metadata=md),
                 lambda md: stub.Heartbeat(pb.HeartbeatRequest(node_id="intruder"), timeout=10, metadata=md),
                 lambda md: stub.ListNodes(pb.ListNodesRequest(), timeout=10, metadata=md)):
        for metadata in ([], [("x-openwit-cluster-token", "not-the-cluster-token")]):
            with pytest.raises(grpc.RpcError) as refused:
                call(metadata)
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    nodes = json.loads(http_get(control.admin + "/v1/nodes")[1])["nodes"]
    assert "intruder" not in {n["node_id"] for n in nodes}
    stub.Register(intruder, timeout=10, metadata=[("x-openwit-cluster-token", CLUSTER_TOKEN)])
    nodes = json.loads(http_get(control.admin + "/v1/nodes")[1])["nodes"]
    assert "intruder" in {n["node_id"] for n in nodes}


def test_a_cluster_of_processes_sharing_one_token(openwit, tmp_path):
    """gateway -> ingest -> storage as three processes registered with a fourth, the control node,
    one of them reading the token from cluster.token_file; a gateway with another token is refused."""
    token_file = tmp_path / "cluster-token"
    token_file.write_text(CLUSTER_TOKEN + "\n")
    control = openwit("control")
    join = f'control: {{endpoint: "127.0.0.1:{control.ports["control"]}", heartbeat_interval_ms: 200}}\n'
    storage = openwit("storage", extra_yaml=join + f"cluster: {{token_file: {token_file}}}\n")
    ingest = openwit("ingest", extra_yaml=join + SEND_NOW, storage_endpoint=f"127.0.0.1:{storage.ports['flight']}")
    gateway = openwit("gateway", extra_yaml=join, ports={"ingest": ingest.ports["ingest"]})

    def members():
        nodes = json.loads(http_get(control.admin + "/v1/nodes")[1])["nodes"]
        return {n["node_id"] for n in nodes if n["healthy"]}

    expected = {f"{role}-{node.ports['admin']}" for role, node in
                (("storage", storage), ("ingest", ingest), ("gateway", gateway))}
    wait_for(lambda: expected <= members(), timeout=20, what="every process to register")

    assert post_log(gateway.ports["http"], "through the cluster") == (200, "{}")
    wait_for(lambda: metric_value(ingest.admin, "ingest_records_stored") >= 1, what="storage to confirm")

    # A gateway of another cluster (another token) reaches the ingest port but is refused.
    stranger = openwit("gateway", extra_yaml=join + 'cluster: {token: "the-token-of-another-cluster"}\n',
                       ports={"ingest": ingest.ports["ingest"]})
    status, body = post_log(stranger.ports["http"], "from a stranger")
    assert status == 503 and "wrong cluster token" in body
    assert metric_value(ingest.admin, "cluster_auth_refused") >= 1
    assert metric_value(control.admin, "cluster_auth_refused") >= 1  # its registration too
    assert f"gateway-{stranger.ports['admin']}" not in members()

    for node in (stranger, gateway, ingest, storage, control):
        assert node.stop() == 0
    assert lake_bodies(tmp_path / "data" / "lake") == ["through the cluster"]


@pytest.mark.parametrize("role,why", [
    ("gateway", "the gateway sends to ingest nodes of other processes"),
    ("ingest", "the ingest node serves gateways of other processes"),
    ("storage", "the storage node serves ingest nodes of other processes"),
    ("control", "the control node serves the registrations of other processes"),
])
def test_a_process_of_a_cluster_without_a_token_refuses_to_start(openwit, role, why):
    node = openwit(role, extra_yaml="cluster: {}\n", wait=False)
    assert node.proc.wait(timeout=30) == 1
    assert f"cluster.token is not set, but {why}" in node.output()


def test_all_without_a_token_works_and_keeps_its_internal_ports_to_itself(openwit, tmp_path):
    node = openwit("all", extra_yaml="cluster: {}\n" + SEND_NOW)
    assert "a random token guards the internal ports" in node.output()
    assert post_log(node.ports["http"], "no setup needed") == (200, "{}")
    with pytest.raises(grpc.RpcError) as refused:
        bulk_client(node.ports["ingest"]).Submit(log_batch("guess", ["a guessed token"]), timeout=10)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(flight.FlightUnauthenticatedError):
        flight_put(node.ports["flight"], "guess:1", [1], token=CLUSTER_TOKEN)
    assert node.stop() == 0
    assert lake_bodies(tmp_path / "data" / "lake") == ["no setup needed"]


def test_an_internal_port_on_a_public_address_needs_a_token(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("ingest:\n  listen: {bind: 0.0.0.0, port: 7001}\n")
    r = run_cli("config", "check", str(config))
    assert r.returncode == 1
    assert 'line 2: ingest.listen.bind: "0.0.0.0" is not a loopback address' in r.stderr
    assert "set cluster.token" in r.stderr
    config.write_text("environment: production\ncluster: {token: " + CLUSTER_TOKEN + "}\n"
                      "storage:\n  flight: {bind: 10.1.2.3}\n")
    r = run_cli("config", "check", str(config))
    assert r.returncode == 0, r.stderr
    assert 'WARNING: line 4: storage.flight.bind: "10.1.2.3" is not a loopback address' in r.stderr
    assert CLUSTER_TOKEN not in r.stdout  # a secret: masked in the effective configuration
