"""Key material for the local broker's TLS listeners, made with ``openssl``.

A certificate authority of its own, a broker certificate for 127.0.0.1 and localhost,
and a client certificate for mutual TLS, all signed by that CA, in one directory (mode
0700, every file 0600). They are made only when missing, so clients pointed at the CA
(``KAFKA_SSL_CA_FILE``) keep working across restarts; a new CA re-signs both
certificates. The broker reads ``broker.pem`` as a PEM keystore (its key, its
certificate and the CA) and trusts ``ca.pem`` for client certificates.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from shopstream.errors import ConfigurationError
from shopstream.localkafka.guard import write_private

_DAYS = 3650
_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
# Our own openssl configuration: the system's openssl.cnf differs between distributions.
_CONFIG = """\
[req]
distinguished_name = subject
prompt = no
[subject]
CN = {common_name}
[extensions]
{extensions}
"""
_CA_EXTENSIONS = """\
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash"""
_LEAF_EXTENSIONS = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = {usage}
authorityKeyIdentifier = keyid
subjectKeyIdentifier = hash"""
BROKER_NAMES = "IP:127.0.0.1,DNS:localhost"


@dataclass(frozen=True)
class TlsFiles:
    """Where the key material lives; ``ensure`` makes what is missing."""

    directory: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def broker_keystore(self) -> Path:
        return self.directory / "broker.pem"

    @property
    def client_cert(self) -> Path:
        return self.directory / "client.pem"

    @property
    def client_key(self) -> Path:
        return self.directory / "client.key"

    def ensure(self) -> TlsFiles:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.directory.chmod(0o700)
        new_ca = not (self.ca_cert.exists() and self.ca_key.exists())
        if new_ca:
            self._make_ca()
        if new_ca or not self.broker_keystore.exists():
            key, cert = self._make_leaf("localhost", "serverAuth", BROKER_NAMES)
            write_private(self.broker_keystore, key + cert + self.ca_cert.read_bytes())
        if new_ca or not (self.client_cert.exists() and self.client_key.exists()):
            key, cert = self._make_leaf("shopstream-client", "clientAuth")
            write_private(self.client_key, key)
            write_private(self.client_cert, cert)
        return self

    def _make_ca(self) -> None:
        with tempfile.TemporaryDirectory(dir=self.directory) as tmp:
            work = Path(tmp)
            config = _config(work, "shopstream local Kafka CA", _CA_EXTENSIONS)
            _openssl(
                "req", "-x509", "-new", *_KEY, "-config", config, "-extensions", "extensions",
                "-days", str(_DAYS), "-keyout", str(work / "key"), "-out", str(work / "cert"),
            )  # fmt: skip
            write_private(self.ca_key, (work / "key").read_bytes())
            write_private(self.ca_cert, (work / "cert").read_bytes())

    def _make_leaf(self, name: str, usage: str, alt_names: str = "") -> tuple[bytes, bytes]:
        """A new key and its certificate signed by the CA (PEM, the key as PKCS#8)."""
        extensions = _LEAF_EXTENSIONS.format(usage=usage)
        if alt_names:
            extensions += f"\nsubjectAltName = {alt_names}"
        with tempfile.TemporaryDirectory(dir=self.directory) as tmp:
            work = Path(tmp)
            config = _config(work, name, extensions)
            key, request, cert = work / "key", work / "csr", work / "cert"
            _openssl(
                "req", "-new", *_KEY, "-config", config,
                "-keyout", str(key), "-out", str(request),
            )  # fmt: skip
            _openssl(
                "x509", "-req", "-in", str(request), "-CA", str(self.ca_cert),
                "-CAkey", str(self.ca_key), "-set_serial", f"0x{secrets.token_hex(16)}",
                "-days", str(_DAYS), "-extfile", config, "-extensions", "extensions",
                "-out", str(cert),
            )  # fmt: skip
            return key.read_bytes(), cert.read_bytes()


def _config(work: Path, common_name: str, extensions: str) -> str:
    path = work / "openssl.cnf"
    path.write_text(_CONFIG.format(common_name=common_name, extensions=extensions))
    return str(path)


def _openssl(*args: str) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise ConfigurationError(
            "`openssl` was not found: the local broker's TLS listeners need it to make their "
            "certificates (Debian: apt-get install openssl)"
        )
    result = subprocess.run(  # noqa: S603 - our own arguments
        [openssl, *args], capture_output=True, text=True, check=False, umask=0o077
    )
    if result.returncode != 0:
        reason = "; ".join(result.stderr.strip().splitlines())
        raise ConfigurationError(f"openssl {args[0]} failed: {reason}")
