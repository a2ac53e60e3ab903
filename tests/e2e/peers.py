"""Real peers for end-to-end tests: a throwaway PostgreSQL cluster, a MinIO server and a Kafka broker.

Each runs on 127.0.0.1 with a free port and its own temp dir, is waited for until it answers, and is
stopped by PID at the end of the session (the temp dir is removed). A missing binary fails the test
that asks for the peer: `make setup` installs them (PostgreSQL from Debian, MinIO into build/tools,
Kafka's jars into build/kafka/lib).

Kafka: one KRaft node (broker and controller). The `kafka` fixture is module-scoped: one broker per
test module; give every test its own topics and group.
"""
import ctypes
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from loopback import free_port

ROOT = Path(__file__).resolve().parents[2]
MINIO_BIN = os.environ.get("OPENWIT_MINIO_BIN", str(ROOT / "build" / "tools" / "minio"))
START_TIMEOUT = 60.0
KAFKA_LIB = ROOT / "build" / "kafka" / "lib"
KAFKA_JVM_FLAGS = ["-Xms128m", "-Xmx512m", "-XX:MaxDirectMemorySize=256m", "-XX:TieredStopAtLevel=1",
                   "-XX:ActiveProcessorCount=2"]
KAFKA_CLUSTER_ID = "b3BlbndpdC1lMmUtMDAwMQ"  # fixed: a fresh log dir is formatted every run


def _stop(proc: subprocess.Popen, sig: int, timeout: float = 10.0):
    """Signal the process by PID, wait, then SIGKILL its process group if it is still there."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers (each peer leads its own group)
    except OSError:
        pass
    if proc.poll() is None:
        proc.wait(timeout=timeout)


_LIBC = ctypes.CDLL(None, use_errno=True)  # loaded here: the child of a fork may not import anything


def _die_with_parent():
    """preexec_fn: SIGKILL the peer if pytest dies without running its fixtures' teardown (runs after
    the uid change, which would clear it)."""
    _LIBC.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _tail(path: Path, n: int = 4000) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return text[-n:]


# --- PostgreSQL ----------------------------------------------------------------------------------

def _pg_bindir() -> Path:
    if os.environ.get("OPENWIT_PG_BINDIR"):
        bindir = Path(os.environ["OPENWIT_PG_BINDIR"])
        if not (bindir / "postgres").exists():
            pytest.fail(f"OPENWIT_PG_BINDIR={bindir} has no postgres binary")
        return bindir
    dirs = sorted((p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "postgres").exists()),
                  key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else -1)
    if not dirs:
        pytest.fail("PostgreSQL not found in /usr/lib/postgresql/*/bin: install the Debian package "
                    "`postgresql` (make setup)")
    return dirs[-1]


@dataclass
class PostgresServer:
    host: str
    port: int
    user: str
    db: str
    dsn: str  # libpq connection string: "host=127.0.0.1 port=... user=openwit dbname=postgres"
    url: str  # the same as a URL: postgresql://openwit@127.0.0.1:port/postgres
    dir: Path
    bindir: Path
    _created: set = field(default_factory=set)

    def dsn_for(self, dbname: str) -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname={dbname}"

    def psql(self, sql: str, dbname: str = None) -> str:
        """Run SQL with psql (unaligned, tuples only); its stdout. Fails the test on error."""
        r = subprocess.run(
            [str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-d", self.dsn_for(dbname or self.db), "-c", sql],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            pytest.fail(f"psql failed ({r.returncode}) on {sql!r}:\n{r.stderr}")
        return r.stdout

    def create_database(self, name: str) -> str:
        """CREATE DATABASE name (a plain identifier); its dsn."""
        self.psql(f'CREATE DATABASE "{name}"')
        return self.dsn_for(name)


def _start_postgres():
    bindir = _pg_bindir()
    as_user = {}
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        pw = pwd.getpwnam("postgres")
        as_user = dict(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
    # /tmp, not $TMPDIR or pytest's tmp_path: the `postgres` user must be able to enter it.
    base = Path(tempfile.mkdtemp(prefix="openwit-pg-", dir="/tmp"))
    if as_user:
        os.chown(base, as_user["user"], as_user["group"])
    proc = None
    try:
        common = dict(cwd=base, stdin=subprocess.DEVNULL, stderr=subprocess.STDOUT, **as_user)
        data = base / "data"
        with open(base / "initdb.log", "w") as log:
            r = subprocess.run([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "openwit", "-E",
                                "UTF8", "--locale=C", "--no-sync"], stdout=log, timeout=120, **common)
        if r.returncode != 0:
            pytest.fail(f"initdb exited with {r.returncode}:\n{_tail(base / 'initdb.log')}")
        log_path = base / "postgres.log"
        for attempt in range(3):  # a free port can be taken between the probe and the bind
            port = free_port()
            with open(log_path, "a") as log:
                proc = subprocess.Popen(
                    [str(bindir / "postgres"), "-D", str(data), "-k", str(base), "-h", "127.0.0.1", "-p", str(port),
                     "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
                    stdout=log, start_new_session=True, preexec_fn=_die_with_parent, **common)
            deadline = time.time() + START_TIMEOUT
            while time.time() < deadline and proc.poll() is None:
                ready = subprocess.run([str(bindir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port),
                                        "-U", "openwit", "-d", "postgres", "-t", "2"], stdin=subprocess.DEVNULL)
                if ready.returncode == 0:
                    return proc, PostgresServer(
                        host="127.0.0.1", port=port, user="openwit", db="postgres",
                        dsn=f"host=127.0.0.1 port={port} user=openwit dbname=postgres",
                        url=f"postgresql://openwit@127.0.0.1:{port}/postgres", dir=base, bindir=bindir)
                time.sleep(0.05)
            if proc.poll() is not None and attempt < 2:
                continue
            pytest.fail(f"postgres did not accept connections on 127.0.0.1:{port} (exit {proc.poll()}):\n"
                        f"{_tail(log_path)}")
    except BaseException:
        if proc is not None:
            _stop(proc, signal.SIGQUIT)
        shutil.rmtree(base, ignore_errors=True)
        raise

@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server for the session: .dsn, .host, .port, .user, .db, .url, psql(), create_database()."""
    t0 = time.time()
    proc, server = _start_postgres()
    print(f"[postgres] ready on 127.0.0.1:{server.port} in {time.time() - t0:.2f} s")
    try:
        yield server
    finally:
        _stop(proc, signal.SIGQUIT)  # immediate shutdown: the postmaster ends its children
        shutil.rmtree(server.dir, ignore_errors=True)


# --- MinIO ---------------------------------------------------------------------------------------

@dataclass
class MinioServer:
    endpoint: str  # "127.0.0.1:<port>"
    access_key: str
    secret_key: str
    region: str
    bucket: str  # created at start, empty
    dir: Path

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}"

    def filesystem(self):
        """A pyarrow.fs.S3FileSystem on this server (path-style, http)."""
        from pyarrow import fs

        return fs.S3FileSystem(access_key=self.access_key, secret_key=self.secret_key, region=self.region,
                               endpoint_override=self.endpoint, scheme="http", force_virtual_addressing=False,
                               allow_bucket_creation=True, allow_bucket_deletion=True)

    def create_bucket(self, name: str) -> str:
        self.filesystem().create_dir(name)
        return name


def _health(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/minio/health/live", timeout=1) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


@pytest.fixture(scope="session")
def minio():
    """A MinIO server for the session: .endpoint, .access_key, .secret_key, .region, .bucket, filesystem()."""
    if not os.access(MINIO_BIN, os.X_OK):
        pytest.fail(f"MinIO binary {MINIO_BIN} not found: run `make setup` (go install of MinIO into build/tools)")
    t0 = time.time()
    base = Path(tempfile.mkdtemp(prefix="openwit-minio-"))
    (base / "data").mkdir()
    access_key, secret_key = "openwit-test", "openwit-test-secret"
    env = dict(os.environ, MINIO_ROOT_USER=access_key, MINIO_ROOT_PASSWORD=secret_key, MINIO_BROWSER="off",
               MINIO_UPDATE="off", MINIO_REGION="us-east-1", HOME=str(base))
    log_path = base / "minio.log"
    proc = None
    try:
        for attempt in range(3):
            port = free_port()
            with open(log_path, "a") as log:
                proc = subprocess.Popen(
                    [MINIO_BIN, "server", "--quiet", "--address", f"127.0.0.1:{port}",
                     "--console-address", f"127.0.0.1:{free_port()}", str(base / "data")],
                    cwd=base, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True, preexec_fn=_die_with_parent)
            deadline = time.time() + START_TIMEOUT
            while time.time() < deadline and proc.poll() is None and _health(port) != 200:
                time.sleep(0.05)
            if proc.poll() is None and _health(port) == 200:
                break
            if proc.poll() is not None and attempt < 2:
                continue
            pytest.fail(f"minio did not answer /minio/health/live on 127.0.0.1:{port} "
                        f"(exit {proc.poll()}):\n{_tail(log_path)}")
        server = MinioServer(endpoint=f"127.0.0.1:{port}", access_key=access_key, secret_key=secret_key,
                             region="us-east-1", bucket="openwit-test", dir=base)
        server.create_bucket(server.bucket)
        print(f"[minio] ready on {server.endpoint} in {time.time() - t0:.2f} s")
        yield server
    finally:
        if proc is not None:
            _stop(proc, signal.SIGTERM)
        shutil.rmtree(base, ignore_errors=True)


# --- Kafka ---------------------------------------------------------------------------------------

class KafkaBroker:
    """A one-node KRaft Kafka in `workdir`; `bootstrap` is its 127.0.0.1:port."""

    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self.port = free_port()
        self.controller_port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.proc = None
        self.log = self.workdir / "kafka.log"

    def _java(self, main: str, *args):
        java = shutil.which("java")
        if not java:
            pytest.fail("java not found: run `make setup` (openjdk-17-jdk-headless)")
        return [java, *KAFKA_JVM_FLAGS, "-cp", f"{KAFKA_LIB}/*",
                f"-Dlog4j2.configurationFile={self.workdir / 'log4j2.properties'}", main, *args]

    def start(self, timeout: float = 60.0):
        if not any(KAFKA_LIB.glob("kafka_2.13-*.jar")):
            pytest.fail(f"no Kafka jars in {KAFKA_LIB}: run `make setup`")
        data = self.workdir / "data"
        props = self.workdir / "server.properties"
        props.write_text(f"""
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{self.controller_port}
listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs={data}
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
default.replication.factor=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.flush.interval.messages=1000000
""")
        (self.workdir / "log4j2.properties").write_text(
            "rootLogger.level=WARN\nrootLogger.appenderRef.stdout.ref=STDOUT\n"
            "appender.stdout.type=Console\nappender.stdout.name=STDOUT\n"
            "appender.stdout.layout.type=PatternLayout\nappender.stdout.layout.pattern=[%d] %p %m (%c)%n\n")
        with open(self.log, "a") as logf:
            fmt = subprocess.run(self._java("kafka.tools.StorageTool", "format", "-t", KAFKA_CLUSTER_ID, "-c", str(props)),
                                 stdout=logf, stderr=subprocess.STDOUT, timeout=120)
        assert fmt.returncode == 0, f"kafka StorageTool format failed:\n{self.log.read_text()}"
        self._logf = open(self.log, "a")
        self.proc = subprocess.Popen(self._java("kafka.Kafka", str(props)), cwd=self.workdir,
                                     stdout=self._logf, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float):
        from confluent_kafka.admin import AdminClient

        deadline = time.time() + timeout
        admin = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 0})
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"kafka exited with {self.proc.returncode}:\n{self.log.read_text()[-5000:]}")
            try:
                md = admin.list_topics(timeout=1)
                if md.brokers:
                    return
            except Exception:
                pass
            time.sleep(0.2)
        raise AssertionError(f"kafka not ready after {timeout}s:\n{self.log.read_text()[-5000:]}")

    def create_topic(self, name: str, partitions: int = 1):
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
        futures[name].result(30)
        deadline = time.time() + 30
        while time.time() < deadline:  # metadata propagates to the (only) broker asynchronously
            t = admin.list_topics(topic=name, timeout=5).topics.get(name)
            if t is not None and t.error is None and len(t.partitions) == partitions:
                return
            time.sleep(0.1)
        raise AssertionError(f"topic {name} not visible")

    def producer(self, **conf):
        from confluent_kafka import Producer

        return Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 5, **conf})

    def committed(self, group: str, topic: str, partitions: int = 1) -> dict:
        """{partition: committed offset} of `group` (-1001 when nothing is committed)."""
        from confluent_kafka import Consumer, TopicPartition

        from confluent_kafka import KafkaException

        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": group, "enable.auto.commit": False})
        try:
            deadline = time.time() + 30
            while True:  # the group coordinator may still be loading (NOT_COORDINATOR): retry
                try:
                    tps = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
                    return {tp.partition: tp.offset for tp in tps}
                except KafkaException:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.2)
        finally:
            c.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self._logf.close()


@pytest.fixture(scope="module")
def kafka():
    """One KRaft broker for the test module; yields the KafkaBroker (its `bootstrap` address)."""
    workdir = Path(tempfile.mkdtemp(prefix="openwit-kafka-"))
    broker = KafkaBroker(workdir)
    try:
        broker.start()
        yield broker
    finally:
        broker.stop()
        if os.environ.get("OPENWIT_KEEP_KAFKA_DIR") is None:
            shutil.rmtree(workdir, ignore_errors=True)
