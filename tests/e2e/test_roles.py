"""Every role starts, answers /health and /metrics, registers with control, and stops cleanly."""
import json
import signal
import time

import pytest

from conftest import http_get


def test_all_serves_health_and_metrics_and_stops_on_sigterm(openwit):
    node = openwit("all")
    status, body = http_get(node.admin + "/health")
    assert status == 200
    health = json.loads(body)
    assert health["status"] == "ok"
    assert set(health["roles"]) == {"gateway", "ingest", "storage", "indexer", "search", "control", "janitor"}
    status, metrics = http_get(node.admin + "/metrics")
    assert status == 200
    assert "# TYPE openwit_build_info gauge" in metrics
    assert http_get(node.admin + "/nope")[0] == 404
    # The banner says where everything is.
    out = node.output()
    assert f"http://127.0.0.1:{node.ports['admin']}/health" in out
    assert f"127.0.0.1:{node.ports['control']}" in out
    assert node.stop(signal.SIGTERM) == 0
    assert "stopped" in node.output()


def test_sigint_stops_too(openwit):
    node = openwit("all")
    assert node.stop(signal.SIGINT) == 0


@pytest.mark.parametrize("role", ["gateway", "ingest", "storage", "indexer", "search", "control", "janitor"])
def test_each_role_alone_serves_health(openwit, role):
    node = openwit(role)
    health = node.wait_healthy()
    assert health["roles"] == [role]
    assert http_get(node.admin + "/metrics")[0] == 200
    assert node.stop() == 0


def test_roles_register_with_the_control_node(openwit):
    control = openwit("control")
    ingest = openwit("ingest,storage", extra_yaml=f"control: {{endpoint: \"127.0.0.1:{control.ports['control']}\", heartbeat_interval_ms: 200}}")
    deadline = time.time() + 20
    while time.time() < deadline:
        nodes = json.loads(http_get(control.admin + "/v1/nodes")[1])["nodes"]
        members = {n["node_id"]: n for n in nodes}
        node_id = f"ingest,storage-{ingest.ports['admin']}"
        if node_id in members:
            assert members[node_id]["healthy"] is True
            assert members[node_id]["roles"] == ["storage", "ingest"] or set(members[node_id]["roles"]) == {"ingest", "storage"}
            assert members[node_id]["endpoints"]["health"].endswith("/health")
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"ingest never registered: {nodes}\n{ingest.output()}")
    assert ingest.stop() == 0
    assert control.stop() == 0


def test_invalid_config_refuses_to_start(openwit, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("processing:\n  buffer:\n    max_size_bytes: lots\n")
    from conftest import run_cli
    r = run_cli("all", "--config", str(bad))
    assert r.returncode == 1
    assert "line 3: processing.buffer.max_size_bytes: expected an integer" in r.stderr


def test_port_in_use_is_a_clear_error(openwit, tmp_path):
    first = openwit("all")
    second = openwit("all", wait=False)
    # Point the second node's admin port at the first's.
    second.proc.kill(); second.proc.wait()
    text = second.config.read_text().replace(f"port: {second.ports['admin']}", f"port: {first.ports['admin']}")
    second.config.write_text(text)
    from conftest import run_cli
    r = run_cli("all", "--config", str(second.config), cwd=tmp_path)
    assert r.returncode == 1
    assert f"admin: cannot listen on 127.0.0.1:{first.ports['admin']}" in r.stdout + r.stderr


def test_health_says_starting_until_every_role_serves(openwit):
    # An object store that refuses connections: the storage role spends seconds in the S3 client's
    # retries before it gives up, and meanwhile /health must not claim the node is up.
    node = openwit("storage", wait=False, storage_yaml='object_store: {uri: "s3://lake/x", '
                   'endpoint_override: "127.0.0.1:1", access_key_id: k, secret_access_key: s}')
    seen = set()
    while node.proc.poll() is None:
        status, body = http_get(node.admin + "/health", timeout=1)
        if status:
            seen.add((status, json.loads(body)["status"]))
        time.sleep(0.05)
    assert seen == {(503, "starting")}
    assert node.proc.returncode == 1
    assert "cannot start: object store s3://lake/x: cannot reach bucket lake" in node.output()
