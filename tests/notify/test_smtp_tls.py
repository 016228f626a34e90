"""SMTP over STARTTLS and implicit TLS, with login, against a real aiosmtpd server holding a
certificate made here (issue 17); the lab's CA is named by ``ca_file``, and a server whose
certificate is not trusted is refused."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from labgpu.core.notify import events as ev
from labgpu.core.notify.events import Delivery
from labgpu.core.notify.messages import render
from labgpu.services.notify.channels import ChannelError, SmtpChannel
from labgpu.services.notify.config import NotifyConfig
from tests.helpers.notify_receivers import Mailbox, free_port


def certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def allow(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    return AuthResult(success=data.login == b"lab" and data.password == b"pw")


@pytest.fixture(params=["starttls", "tls"])
def tls_smtp(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, Mailbox, int, Path]]:
    cert, key = certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    box, port = Mailbox(), free_port()
    if request.param == "starttls":
        controller = Controller(
            box, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
            authenticator=allow,
        )  # fmt: skip
    else:
        controller = Controller(
            box, hostname="127.0.0.1", port=port, ssl_context=context, authenticator=allow,
            server_hostname="127.0.0.1", auth_require_tls=False,  # the whole session is TLS
        )  # fmt: skip
    controller.start()
    try:
        yield request.param, box, port, cert
    finally:
        controller.stop()


def test_mail_over_tls_with_login(tls_smtp: tuple[str, Mailbox, int, Path]) -> None:
    security, box, port, cert = tls_smtp
    config = NotifyConfig(
        smtp_host="127.0.0.1", smtp_port=port, security=security, smtp_user="lab",
        smtp_password="pw", ca_file=str(cert), sender="gpus@lab.test",
    )  # fmt: skip
    channel = SmtpChannel(config)
    delivery = Delivery(7, ev.EMAIL, "kim@lab.test", "kim", ev.TEST, {"user": "kim"}, "", 0)
    channel.send(delivery, render(ev.TEST, {"user": "kim"}, ""))
    channel.close()
    (mail,) = box.mails
    assert mail["Message-ID"] == "<delivery-7@labgpu>"
    assert mail["To"] == "kim@lab.test"
    untrusted = SmtpChannel(NotifyConfig(smtp_host="127.0.0.1", smtp_port=port, security=security))
    with pytest.raises(ChannelError, match="CERTIFICATE_VERIFY_FAILED") as info:
        untrusted.send(delivery, render(ev.TEST, {"user": "kim"}, ""))
    assert info.value.broken
    assert len(box.mails) == 1
