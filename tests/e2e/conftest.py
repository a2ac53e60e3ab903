"""Fixtures that run the real openwit binary on loopback, on free ports, in a temp dir."""
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("OPENWIT_BIN", str(ROOT / "build" / "release" / "openwit"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 2.0):
    """(status, body) of a GET; status 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


def run_cli(*args, cwd=None, env=None):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=60, cwd=cwd, env=env)


class OpenWit:
    """One openwit process with its own config and working directory."""

    def __init__(self, workdir: Path, role: str = "all", extra_yaml: str = ""):
        self.workdir = workdir
        self.role = role
        self.ports = {k: free_port() for k in ("admin", "grpc", "http", "ingest", "flight", "search", "control")}
        self.config = workdir / f"openwit-{role.replace(',', '-')}.yaml"
        self.config.write_text(
            f"""
node: {{id: "{role}-{self.ports['admin']}", data_dir: ./data}}
admin: {{bind: 127.0.0.1, port: {self.ports['admin']}}}
grpc: {{bind: 127.0.0.1, port: {self.ports['grpc']}}}
http: {{bind: 127.0.0.1, port: {self.ports['http']}}}
ingest: {{listen: {{bind: 127.0.0.1, port: {self.ports['ingest']}}}}}
storage: {{flight: {{bind: 127.0.0.1, port: {self.ports['flight']}}}}}
search: {{bind: 127.0.0.1, port: {self.ports['search']}}}
{extra_yaml.replace('CONTROL_PORT', str(self.ports['control']))}
"""
            + ("" if "control:" in extra_yaml else f"control: {{listen: {{bind: 127.0.0.1, port: {self.ports['control']}}}}}\n")
        )
        self.proc = None
        self.log = workdir / f"{role.replace(',', '-')}.log"

    @property
    def admin(self) -> str:
        return f"http://127.0.0.1:{self.ports['admin']}"

    def start(self, wait: bool = True):
        self._logf = open(self.log, "w")
        self.proc = subprocess.Popen(
            [BIN, self.role, "--config", str(self.config)],
            cwd=self.workdir, stdout=self._logf, stderr=subprocess.STDOUT,
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

    def make(role="all", extra_yaml="", wait=True):
        node = OpenWit(tmp_path, role, extra_yaml)
        started.append(node)
        return node.start(wait=wait)

    yield make
    for node in started:
        if node.proc and node.proc.poll() is None:
            node.proc.kill()
            node.proc.wait()
