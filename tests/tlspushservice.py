"""A throwaway certificate authority for loopback HTTPS push services (not a
test module): the CA, certificates it signs (IP and DNS names, any validity),
and server contexts for tests/pushservice.py and bench/standin.py.

    ca = CA.make(tmp_path)                       # ca.bundle: the PEM to trust
    ctx = ca.server_context("127.0.0.1")         # for PushService(tls=ctx)
    ctx = ca.server_context("push.test", not_after=-1)   # expired yesterday
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["CA"]


def _name(text):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


def _pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@dataclass
class CA:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    folder: Path

    @classmethod
    def make(cls, folder, name="Unknot test CA") -> "CA":
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.timezone.utc)
        cert = (
            x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        ca = cls(key, cert, folder)
        (folder / "ca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return ca

    @property
    def bundle(self) -> str:
        """Path of this CA's certificate (PEM): what UNKNOT_PUSH_CA_BUNDLE names."""
        return str(self.folder / "ca.pem")

    def issue(self, *hosts: str, not_after: float = 30) -> tuple[Path, Path]:
        """(certificate chain file, key file) for ``hosts`` (IP addresses or
        DNS names), valid until ``not_after`` days from now (negative: expired)."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.timezone.utc)
        names = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        end = now + dt.timedelta(days=not_after)
        cert = (
            x509.CertificateBuilder().subject_name(_name(hosts[0])).issuer_name(self.cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(min(now, end) - dt.timedelta(days=2)).not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                           critical=False)
            .sign(self.key, hashes.SHA256())
        )
        stem = f"{hosts[0]}-{cert.serial_number:x}"
        chain, key_file = self.folder / f"{stem}.pem", self.folder / f"{stem}.key"
        chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(_pem(key))
        key_file.chmod(0o600)
        return chain, key_file

    def server_context(self, *hosts: str, not_after: float = 30, alpn=("http/1.1",)) -> ssl.SSLContext:
        """A server-side TLS context with a certificate for ``hosts``."""
        chain, key_file = self.issue(*hosts, not_after=not_after)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(chain, key_file)
        ctx.set_alpn_protocols(list(alpn))
        return ctx
