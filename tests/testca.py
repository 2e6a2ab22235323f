"""A certificate authority of the test's own (openssl): server certificates for the
names a test host reaches on this machine's side of its link (the stand-ins for
Papertrail and New Relic's download site). A test host trusts it with
``NamespaceHost(extra_ca=<dir>/ca.pem)``."""

from __future__ import annotations

import subprocess
from pathlib import Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(work: Path) -> Path:
    """<work>/ca.pem and ca.key: a CA good for two days. Returns ca.pem."""
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=matra test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign",
        cwd=work,
    )  # fmt: skip
    return work / "ca.pem"


def issue(work: Path, name: str, dns: str) -> tuple[Path, Path]:
    """<work>/<name>.pem and <name>.key: a server certificate for ``dns`` from the CA."""
    (work / f"{name}.ext").write_text(
        f"subjectAltName=DNS:{dns}\nextendedKeyUsage=serverAuth\n"
        "keyUsage=critical,digitalSignature\n"
    )
    _openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={dns}",
        cwd=work,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-out", f"{name}.pem", "-extfile", f"{name}.ext",
        cwd=work,
    )  # fmt: skip
    return work / f"{name}.pem", work / f"{name}.key"
