"""Real peers for the end-to-end tests (DESIGN.md, "Real peers"), each on 127.0.0.1 with free ports
in a temp dir, waited for until it answers, and stopped by PID.

Kafka: one KRaft node (broker and controller) from the jars scripts/setup.sh copies into
build/kafka/lib. Use the `kafka` fixture (module-scoped: one broker per test module; give every
test its own topics and group)."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KAFKA_LIB = ROOT / "build" / "kafka" / "lib"
KAFKA_JVM_FLAGS = ["-Xms128m", "-Xmx512m", "-XX:MaxDirectMemorySize=256m", "-XX:TieredStopAtLevel=1",
                   "-XX:ActiveProcessorCount=2"]
KAFKA_CLUSTER_ID = "b3BlbndpdC1lMmUtMDAwMQ"  # fixed: a fresh log dir is formatted every run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class KafkaBroker:
    """A one-node KRaft Kafka in `workdir`; `bootstrap` is its 127.0.0.1:port."""

    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self.port = _free_port()
        self.controller_port = _free_port()
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
