"""Test certificates made with the openssl command line: one CA, leaf certificates for 127.0.0.1."""
import shutil
import socket
import ssl
import subprocess
from pathlib import Path


class CertAuthority:
    def __init__(self, directory: Path):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.pem = self.dir / "ca.pem"
        self._run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                  "-subj", "/CN=openwit-e2e-ca", "-keyout", self.dir / "ca.key", "-out", self.pem)
        (self.dir / "leaf.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")

    def leaf(self, name: str, cn: str):
        """(cert, key) paths of a new certificate for 127.0.0.1 whose common name is `cn`."""
        cert, key, csr = self.dir / f"{name}.pem", self.dir / f"{name}.key", self.dir / f"{name}.csr"
        self._run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", f"/CN={cn}",
                  "-keyout", key, "-out", csr)
        self._run("x509", "-req", "-days", "2", "-in", csr, "-CA", self.pem, "-CAkey", self.dir / "ca.key",
                  "-CAcreateserial", "-extfile", self.dir / "leaf.ext", "-out", cert)
        return cert, key

    @staticmethod
    def _run(*args):
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


def install(cert: Path, key: Path, served_cert: Path, served_key: Path):
    """Replaces the served pair as a certificate manager does: new files renamed over the old ones."""
    for src, dst in ((key, served_key), (cert, served_cert)):
        tmp = dst.with_suffix(dst.suffix + ".new")
        shutil.copyfile(src, tmp)
        tmp.rename(dst)


def served_common_name(port: int, ca: Path, alpn=None) -> str:
    """The common name of the certificate a new TLS connection to 127.0.0.1:port is shown (verified
    against `ca`)."""
    ctx = ssl.create_default_context(cafile=str(ca))
    if alpn:
        ctx.set_alpn_protocols(alpn)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            subject = dict(x[0] for x in tls.getpeercert()["subject"])
            return subject["commonName"]
