"""The client verifies the server's TLS certificate; a store's own CA is named in
SHOWROOM_CA_BUNDLE. A real uvicorn server speaks HTTPS here with a certificate of a test CA."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import threading
import time

import pytest

from sync import client


def _certificates(directory):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def name(text):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("Showroom test CA"))
        .issuer_name(name("Showroom test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (directory / "ca.pem").write_bytes(ca.public_bytes(pem))
    (directory / "server.pem").write_bytes(cert.public_bytes(pem))
    (directory / "server.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return directory / "ca.pem", directory / "server.pem", directory / "server.key"


@pytest.fixture
def https_server(tmp_path, server):
    import uvicorn

    ca, cert, key = _certificates(tmp_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        server.app, host="127.0.0.1", port=port, log_level="warning",
        ssl_certfile=str(cert), ssl_keyfile=str(key),
    )  # fmt: skip
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running.started, "the HTTPS server did not start"
    yield f"https://127.0.0.1:{port}", ca
    running.should_exit = True
    thread.join(10)


def test_an_untrusted_certificate_stops_enrolment_at_once(
    https_server, server, new_laptop, monkeypatch
):
    url, _ca = https_server
    monkeypatch.delenv(client.CA_BUNDLE_ENV, raising=False)
    laptop = new_laptop("a")
    sleeps = []
    with pytest.raises(client.CertificateUntrusted) as raised:
        client.enroll(laptop, url, server.code(), "前台", sleep=sleeps.append)
    assert sleeps == []  # not retried: a certificate does not fix itself
    assert client.CA_BUNDLE_ENV in raised.value.message("en")


def test_the_stores_own_ca_bundle_makes_the_certificate_trusted(
    https_server, server, new_laptop, monkeypatch
):
    url, ca = https_server
    monkeypatch.setenv(client.CA_BUNDLE_ENV, str(ca))
    laptop = new_laptop("a")
    result = client.enroll(laptop, url, server.code(), "前台")
    assert result.dealer_id == server.dealer_id
    summary = client.SyncClient(laptop).sync()
    assert summary.checksum_ok is True


def test_a_missing_ca_bundle_is_named(https_server, server, new_laptop, monkeypatch, tmp_path):
    url, _ca = https_server
    monkeypatch.setenv(client.CA_BUNDLE_ENV, str(tmp_path / "nowhere.pem"))
    from showroom.errors import ValidationError

    with pytest.raises(ValidationError) as raised:
        client.enroll(new_laptop("a"), url, server.code(), "前台")
    assert raised.value.field == "ca_bundle"
