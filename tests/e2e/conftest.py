"""Fixtures that run the real openwit binary on loopback, on free ports, in a temp dir."""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from loopback import free_port, http_get  # noqa: F401  (tests import them from here)
from peers import minio, postgres  # noqa: F401  (real PostgreSQL and MinIO fixtures)

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("OPENWIT_BIN", str(ROOT / "build" / "release" / "openwit"))
# Every process a test starts shares this cluster token (cluster.token), as the processes of one
# cluster must; the internal ports refuse calls without it.
CLUSTER_TOKEN = "e2e-cluster-token-5f0c2a9d41b7"


def run_cli(*args, cwd=None, env=None):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=60, cwd=cwd, env=env)


class OpenWit:
    """One openwit process with its own config and working directory."""

    def __init__(self, workdir: Path, role: str = "all", extra_yaml: str = "", storage_endpoint: str = "",
                 ports: dict = None, storage_yaml: str = "", listener_yaml: dict = None):
        self.workdir = workdir
        self.role = role
        self.ports = {k: free_port() for k in ("admin", "grpc", "http", "ingest", "flight", "search", "control")}
        self.ports.update(ports or {})
        storage_endpoint = storage_endpoint or f"127.0.0.1:{self.ports['flight']}"
        self.config = workdir / f"openwit-{role.replace(',', '-')}.yaml"
        # More entries of the admin, grpc, http or search block, e.g. {"http": "tls: {enabled: true, ...}"}.
        more = {k: ", " + v for k, v in (listener_yaml or {}).items()}
        self.config.write_text(
            f"""
node: {{id: "{role}-{self.ports['admin']}", data_dir: ./data}}
admin: {{bind: 127.0.0.1, port: {self.ports['admin']}{more.get('admin', '')}}}
grpc: {{bind: 127.0.0.1, port: {self.ports['grpc']}{more.get('grpc', '')}}}
http: {{bind: 127.0.0.1, port: {self.ports['http']}{more.get('http', '')}}}
ingest: {{listen: {{bind: 127.0.0.1, port: {self.ports['ingest']}}}, endpoints: ["127.0.0.1:{self.ports['ingest']}"]}}
storage: {{flight: {{bind: 127.0.0.1, port: {self.ports['flight']}}}, endpoints: ["{storage_endpoint}"]{', ' + storage_yaml if storage_yaml else ''}}}
search: {{bind: 127.0.0.1, port: {self.ports['search']}{more.get('search', '')}}}
{extra_yaml.replace('CONTROL_PORT', str(self.ports['control']))}
"""
            + ("" if "control:" in extra_yaml else f"control: {{listen: {{bind: 127.0.0.1, port: {self.ports['control']}}}}}\n")
            + ("" if "cluster:" in extra_yaml else f"cluster: {{token: {CLUSTER_TOKEN}}}\n")
            # Test records carry fixed 2023 times: a default 30-day retention would let the janitor
            # delete them at a restart.
            + ("" if "janitor:" in extra_yaml else "janitor: {retention_days: 0}\n")
        )
        self.proc = None
        self.log = workdir / f"{role.replace(',', '-')}.log"

    @property
    def admin(self) -> str:
        return f"http://127.0.0.1:{self.ports['admin']}"

    def start(self, wait: bool = True, preexec_fn=None):
        self._logf = open(self.log, "a")
        self.proc = subprocess.Popen(
            [BIN, self.role, "--config", str(self.config)],
            cwd=self.workdir, stdout=self._logf, stderr=subprocess.STDOUT, preexec_fn=preexec_fn,
        )
        if wait:
            self.wait_healthy()
        return self

    def wait_healthy(self, timeout: float = 60.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"openwit {self.role} exited with {self.proc.returncode}:\n{self.output()}")
            status, body = http_get(self.admin + "/health", timeout=1)
            if status == 200:
                return json.loads(body)
            time.sleep(0.1)
        raise AssertionError(f"openwit {self.role} not healthy after {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def kill(self):
        """SIGKILL: no chance to flush, sync or say goodbye."""
        self.proc.kill()
        self.proc.wait()
        self._logf.close()

    def stop(self, sig=signal.SIGTERM, timeout: float = 20.0) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"openwit {self.role} did not stop within {timeout}s on {sig}")
        finally:
            self._logf.close()


@pytest.fixture
def openwit(tmp_path):
    """Factory: openwit(role, extra_yaml) -> started OpenWit; all are stopped at the end."""
    started = []

    def make(role="all", extra_yaml="", wait=True, storage_endpoint="", preexec_fn=None, ports=None, storage_yaml="",
             listener_yaml=None):
        """storage_yaml: more entries of the storage block, e.g. 'rotation_max_file_age_seconds: 1';
        listener_yaml: more entries of the admin/grpc/http/search blocks, e.g. {"http": "tls: {...}"}."""
        node = OpenWit(tmp_path, role, extra_yaml, storage_endpoint, ports, storage_yaml, listener_yaml)
        started.append(node)
        return node.start(wait=wait, preexec_fn=preexec_fn)

    yield make
    for node in started:
        if node.proc and node.proc.poll() is None:
            node.proc.kill()
            node.proc.wait()


# --- gRPC clients of our own services ------------------------------------------------------------
# Stubs are generated at test time from proto/ (never committed); OTLP's Python classes come from
# the opentelemetry-proto package.
_STUBS = None


def stubs():
    """(ingest_pb2, ingest_pb2_grpc) generated from proto/openwit/ingest.proto."""
    global _STUBS
    if _STUBS is None:
        import importlib
        import sys
        import tempfile

        from grpc_tools import protoc

        out = Path(tempfile.mkdtemp(prefix="openwit-stubs-"))
        rc = protoc.main([
            "protoc", f"-I{ROOT / 'proto'}", f"-I{ROOT / 'build' / 'otlp-proto'}",
            f"--python_out={out}", f"--grpc_python_out={out}", str(ROOT / "proto" / "openwit" / "ingest.proto"),
            str(ROOT / "proto" / "openwit" / "control.proto"),
        ])
        assert rc == 0, "protoc failed on proto/openwit/ingest.proto or control.proto"
        sys.path.insert(0, str(out))
        _STUBS = (importlib.import_module("openwit.ingest_pb2"), importlib.import_module("openwit.ingest_pb2_grpc"))
    return _STUBS


def control_stubs():
    """(control_pb2, control_pb2_grpc) generated from proto/openwit/control.proto."""
    import importlib

    stubs()
    return importlib.import_module("openwit.control_pb2"), importlib.import_module("openwit.control_pb2_grpc")


def log_batch(batch_id: str, bodies, tenant: str = "acme", service: str = "checkout"):
    """A BulkBatch of log records with the given bodies (one record each)."""
    pb, _ = stubs()
    from opentelemetry.proto.common.v1 import common_pb2
    from opentelemetry.proto.logs.v1 import logs_pb2

    batch = pb.BulkBatch(batch_id=batch_id, tenant=tenant, signal=pb.SIGNAL_LOGS)
    rl = batch.resource_logs.add()
    rl.resource.attributes.append(common_pb2.KeyValue(key="service.name", value=common_pb2.AnyValue(string_value=service)))
    sl = rl.scope_logs.add()
    sl.scope.name = "e2e"
    for i, body in enumerate(bodies):
        rec = sl.log_records.add()
        rec.time_unix_nano = 1_700_000_000_000_000_000 + i
        rec.severity_number = logs_pb2.SEVERITY_NUMBER_INFO
        rec.severity_text = "INFO"
        rec.body.string_value = body
        rec.attributes.append(common_pb2.KeyValue(key="seq", value=common_pb2.AnyValue(int_value=i)))
    return batch


def with_metadata(channel, metadata):
    """The channel with `metadata` (a list of (key, value)) added to every unary call."""
    import grpc

    class AddMetadata(grpc.UnaryUnaryClientInterceptor):
        def intercept_unary_unary(self, continuation, details, request):
            details = details._replace(metadata=list(details.metadata or []) + list(metadata))
            return continuation(details, request)

    return grpc.intercept_channel(channel, AddMetadata())


def bulk_client(port: int, token: str = CLUSTER_TOKEN):
    """A BulkIngest stub on the ingest port, sending `token` as the cluster token (None: no token)."""
    import grpc

    _, pb_grpc = stubs()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    if token is not None:
        channel = with_metadata(channel, [("x-openwit-cluster-token", token)])
    return pb_grpc.BulkIngestStub(channel)


def lake_bodies(lake_dir: Path, signal: str = "logs"):
    """Every Body in the lake's Parquet files (read with pyarrow, as any engine would)."""
    import pyarrow.parquet as pq

    bodies = []
    for f in sorted(Path(lake_dir).rglob("*.parquet")):
        if f"signal={signal}" in str(f):
            bodies.extend(pq.read_table(f, columns=["Body"]).column("Body").to_pylist())
    return bodies


# The ingest node sends each batch to storage at once (no buffering).
SEND_NOW = """
processing:
  buffer: {flush_interval_seconds: 0}
  flush_size_messages: 1
"""



def wait_for(predicate, timeout: float = 60.0, what: str = ""):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def metastore_files(data_dir: Path):
    """The rows of the embedded SQLite metastore under data_dir, as dicts."""
    import sqlite3

    path = Path(data_dir) / "metastore.sqlite"
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM lake_files ORDER BY uri")]


def assert_metastore_matches_lake(data_dir: Path):
    """Every Parquet file of the local lake is registered with its true row count, and nothing else is."""
    import pyarrow.parquet as pq

    lake = (Path(data_dir) / "lake").resolve()
    on_disk = {f"file://{f}": pq.ParquetFile(f).metadata.num_rows for f in lake.rglob("*.parquet")}
    registered = {r["uri"]: r["row_count"] for r in metastore_files(data_dir)}
    assert registered == on_disk


def metric_value(admin_url: str, name: str) -> float:
    """Sum of a metric's samples in /metrics (0 when absent)."""
    status, text = http_get(admin_url + "/metrics")
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total
