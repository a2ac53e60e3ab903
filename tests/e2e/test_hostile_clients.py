"""Slow and hostile clients (issue #11) are cut off by configured limits while a well-behaved client
keeps being served: each test runs one kind of attacker beside a client that posts logs in a loop,
and checks that every one of that client's requests succeeds, and how fast."""
import http.client
import json
import socket
import threading
import time

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc

from test_otlp_http import LOG_JSON

HTTP_LIMITS = {"http": "request_timeout_ms: 2000, max_concurrent_requests: 64"}


class GoodClient(threading.Thread):
    """Posts one small OTLP/JSON log after another on a keep-alive connection (reconnecting when
    the server closes it) and records each answer's status and latency."""

    def __init__(self, port: int):
        super().__init__(daemon=True)
        self.port, self.statuses, self.latencies = port, [], []
        self.stop_at = None
        self.body = json.dumps(LOG_JSON).encode()

    def run(self):
        conn = None
        n = 0
        while time.time() < self.stop_at:
            n += 1
            body = self.body.replace(b"order placed", f"good {n}".encode())
            t0 = time.time()
            try:
                conn = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("POST", "/v1/logs", body, {"Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
                self.statuses.append(r.status)
            except OSError as e:
                self.statuses.append(repr(e))
                conn = None
            self.latencies.append(time.time() - t0)

    def serve_for(self, seconds: float):
        self.stop_at = time.time() + seconds
        self.start()
        self.join()
        lat = sorted(self.latencies)
        p99 = lat[int(len(lat) * 0.99)] if lat else None
        print(f"good client: {len(lat)} requests in {seconds}s, p50 {lat[len(lat) // 2] * 1000:.1f} ms, "
              f"p99 {p99 * 1000:.1f} ms")
        return p99


def assert_served(good: GoodClient, p99: float):
    failures = [s for s in good.statuses if s != 200]
    assert not failures, f"{len(failures)} of {len(good.statuses)} good requests failed: {failures[:5]}"
    assert len(good.statuses) >= 20, good.statuses
    assert p99 < 2.0, f"good client's p99 {p99:.3f} s"


def open_socket(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s


def closed_by_server(s: socket.socket, within: float) -> bool:
    """True when the server closes `s` (or answers and closes) within `within` seconds."""
    s.settimeout(within)
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def test_slow_clients_are_cut_off_and_others_are_served(openwit):
    """32 clients sending a request one byte every 0.2 s are each cut off at request_timeout_ms
    (2 s), while a good client is served throughout."""
    node = openwit("all", listener_yaml=HTTP_LIMITS)
    port = node.ports["http"]
    request = (b"POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: 100000\r\n\r\n" + b" " * 100000)
    slow = [open_socket(port) for _ in range(32)]
    cut = {}

    def drip(i, s):
        t0 = time.time()
        try:
            for byte in request:
                s.sendall(bytes([byte]))
                time.sleep(0.2)
        except OSError:
            pass
        cut[i] = time.time() - t0

    drippers = [threading.Thread(target=drip, args=(i, s), daemon=True) for i, s in enumerate(slow)]
    for t in drippers:
        t.start()
    good = GoodClient(port)
    assert_served(good, good.serve_for(6))
    for t in drippers:
        t.join(timeout=10)
    assert len(cut) == 32, "slow clients still connected after 10 s"
    assert max(cut.values()) < 6, cut
    assert node.proc.poll() is None


def test_idle_connections_do_not_lock_out_others(openwit):
    """2,000 connections that never send a byte against a limit of 64: the oldest idle ones are
    closed to make room, and a good client is served."""
    node = openwit("all", listener_yaml=HTTP_LIMITS)
    port = node.ports["http"]
    idle = []
    for _ in range(2000):
        idle.append(open_socket(port))
    good = GoodClient(port)
    assert_served(good, good.serve_for(4))
    # What was evicted was closed by the server, not left open.
    closed = sum(closed_by_server(s, 0.01) for s in idle[:100])
    assert closed == 100, closed
    for s in idle:
        s.close()
    assert node.proc.poll() is None


def test_idle_grpc_connections_and_streams_do_not_hurt_others(openwit):
    """1,000 TCP connections to the OTLP/gRPC port that never speak HTTP/2, and a gRPC client: it
    is served throughout."""
    node = openwit("all")
    idle = [open_socket(node.ports["grpc"]) for _ in range(1000)]
    grpc_good_client(node.ports["grpc"], 4, "beside silent connections")
    for s in idle:
        s.close()
    assert node.proc.poll() is None


def test_declared_huge_body_is_refused_at_once(openwit):
    node = openwit("all")
    s = open_socket(node.ports["http"])
    s.sendall(b"POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
              b"Content-Length: 2147483648\r\n\r\n" + b"\0" * 1024)
    s.settimeout(5)
    t0 = time.time()
    answer = s.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert time.time() - t0 < 2
    s.close()
    assert node.proc.poll() is None


EXPORT_LOGS = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"


def raw_h2_connection(port: int):
    """An HTTP/2 connection of our own (the h2 library): frames go out only when we say so, and
    nothing is read unless we read it."""
    import h2.config
    import h2.connection

    s = open_socket(port)
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    s.sendall(conn.data_to_send())
    return s, conn


def grpc_headers(port: int):
    return [(":method", "POST"), (":scheme", "http"), (":path", EXPORT_LOGS), (":authority", f"127.0.0.1:{port}"),
            ("content-type", "application/grpc"), ("te", "trailers")]


def grpc_frame(message: bytes) -> bytes:
    return b"\0" + len(message).to_bytes(4, "big") + message


def grpc_good_client(port: int, seconds: float, tag: str):
    latencies = []
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = logs_service_pb2_grpc.LogsServiceStub(channel)
        deadline = time.time() + seconds
        n = 0
        while time.time() < deadline:
            n += 1
            req = logs_service_pb2.ExportLogsServiceRequest()
            req.resource_logs.add().scope_logs.add().log_records.add().body.string_value = f"{tag} {n}"
            t0 = time.time()
            stub.Export(req, timeout=10)
            latencies.append(time.time() - t0)
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99)]
    print(f"gRPC good client: {len(latencies)} requests in {seconds}s, p50 {latencies[len(latencies) // 2] * 1000:.1f} ms, "
          f"p99 {p99 * 1000:.1f} ms")
    assert len(latencies) >= 20 and p99 < 2.0
    return len(latencies)


def test_grpc_client_that_never_reads_its_answers(openwit):
    """A client sends 2,000 Export calls on one connection and never reads a byte of the answers:
    a good client beside it is served, and the node's memory stays bounded."""
    node = openwit("all")
    port = node.ports["grpc"]
    s, conn = raw_h2_connection(port)
    req = logs_service_pb2.ExportLogsServiceRequest()
    req.resource_logs.add().scope_logs.add().log_records.add().body.string_value = "never read " + "x" * 200
    body = grpc_frame(req.SerializeToString())
    sent = 0
    s.settimeout(5)
    try:
        for i in range(2000):
            stream = conn.get_next_available_stream_id()
            conn.send_headers(stream, grpc_headers(port))
            conn.send_data(stream, body, end_stream=True)
            s.sendall(conn.data_to_send())
            sent += 1
    except Exception as e:  # the server may stop taking streams (flow control, stream limit)
        print(f"never-reading client stopped after {sent} calls: {e!r}")
    grpc_good_client(port, 4, "beside a client that never reads")
    assert node.proc.poll() is None
    s.close()


def test_thousands_of_open_grpc_streams(openwit):
    """8 connections each opening up to 1,000 Export streams that send headers and never a message:
    a good client is served beside them."""
    node = openwit("all")
    port = node.ports["grpc"]
    conns = []
    opened = 0
    for _ in range(8):
        s, conn = raw_h2_connection(port)
        for _ in range(1000):
            try:
                conn.send_headers(conn.get_next_available_stream_id(), grpc_headers(port))
                opened += 1
            except Exception:
                break
        s.sendall(conn.data_to_send())
        conns.append(s)
    print(f"{opened} streams left open")
    grpc_good_client(port, 4, "beside open streams")
    assert node.proc.poll() is None
    for s in conns:
        s.close()
