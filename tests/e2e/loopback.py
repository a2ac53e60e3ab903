"""Loopback helpers shared by the end-to-end tests, their peer fixtures and bench/gateway_bench.py."""
import random
import socket
import urllib.error
import urllib.request


def _ports_below_ephemeral_range() -> range:
    """Ports the kernel never hands to outgoing connections: a port taken from the ephemeral range
    and released can be the source port of any client connection by the time a server binds it
    (a CI run lost a node to that)."""
    try:
        low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return range(max(1024, low - 12000), low)


_handed_out = set()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now, below the ephemeral range, never handed out twice by
    this process."""
    candidates = _ports_below_ephemeral_range()
    for _ in range(1000):
        port = random.choice(candidates)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port on 127.0.0.1 in {candidates}")


def http_get(url: str, timeout: float = 2.0):
    """(status, body) of a GET; status 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""
