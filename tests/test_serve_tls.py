"""`convo serve --tls-cert --tls-key` against a certificate made here (a private CA and a
server certificate for 127.0.0.1 and localhost): the official twilio library and `convo
login --server https://…` both trust it through the usual environment variables."""

from __future__ import annotations

import datetime
import http.client
import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cli_helpers import convo
from server_helpers import raw_request, server_env, start_server


def _name(text: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA certificate, and a server certificate and key signed by it: (ca, cert, key)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("convo test CA"))
          .issuer_name(_name("convo test CA")).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("127.0.0.1"))
            .issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    paths[2].chmod(0o600)
    return paths


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    ca, cert, key = make_certificates(folder)
    server = start_server(folder / "tls.db", "--tls-cert", str(cert), "--tls-key", str(key))
    server.ca = ca
    yield server
    assert server.stop() == 0, server.log()


def test_it_serves_https_and_says_so(tls_server):
    assert tls_server.url.startswith("https://127.0.0.1:")
    # Plain HTTP to the TLS port is no request at all.
    with pytest.raises((OSError, http.client.HTTPException)):
        raw_request(tls_server.url.replace("https", "http"), "GET", "/v1/Conversations",
                    auth=tls_server.auth)
    assert "plain HTTP" not in tls_server.log()


def test_the_twilio_library_works_over_it_trusting_the_certificate(tls_server, monkeypatch):
    from twilio.rest import Client

    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_server.ca))  # requests' own variable
    client = Client(tls_server.account_sid, tls_server.auth_token)
    client.edge = client.region = None
    client.conversations.base_url = tls_server.url
    v1 = client.conversations.v1
    created = v1.conversations.create(friendly_name="over TLS")
    assert created.url == f"{tls_server.url}/v1/Conversations/{created.sid}"
    v1.conversations(created.sid).messages.create(author="alice", body="encrypted on the wire")
    assert [m.body for m in v1.conversations(created.sid).messages.list()] == \
        ["encrypted on the wire"]


def test_convo_logs_in_over_it_trusting_the_certificate(tls_server, real_keyring, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_server.ca))  # httpx honours it
    logged = convo("login", "--profile", "secure", "--server", tls_server.url, "--account-sid",
                   tls_server.account_sid, "--identity", "alice",
                   stdin=tls_server.auth_token + "\n")
    assert (logged.code, logged.out) == (0, ""), logged.err
    created = convo("--profile", "secure", "create", "--unique-name", "tls-room", "--json")
    assert created.code == 0, created.err
    assert convo("--profile", "secure", "join", "tls-room").code == 0
    assert convo("--profile", "secure", "send", "tls-room", "hello").code == 0
    assert convo("--profile", "secure", "messages", "tls-room").out.endswith("\thello\n")
    convo("profiles", "remove", "secure")


def test_without_trusting_the_certificate_convo_refuses_it(tls_server, real_keyring, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    result = convo("login", "--profile", "untrusted", "--server", tls_server.url,
                   "--account-sid", tls_server.account_sid, stdin=tls_server.auth_token + "\n")
    assert result.code == 1 and result.out == ""
    assert "certificate verify failed" in result.err and result.err.count("\n") == 1
    assert "; to trust a private CA, set SSL_CERT_FILE to its certificate" in result.err


def test_bad_certificate_files_are_one_line_and_exit_2(tmp_path):
    _, cert, key = make_certificates(tmp_path)
    (tmp_path / "other").mkdir()
    other_key = make_certificates(tmp_path / "other")[2]
    for args, words in (
        (["--tls-cert", str(cert)], "--tls-cert and --tls-key go together"),
        (["--tls-cert", str(tmp_path / "none.pem"), "--tls-key", str(key)], "no such file"),
        (["--tls-cert", str(cert), "--tls-key", str(other_key)], "cannot use them"),
        (["--tls-cert", str(key), "--tls-key", str(key)], "cannot use them"),
    ):
        result = convo("serve", "--port", "0", "--db", str(tmp_path / "x.db"), *args)
        assert (result.code, result.out) == (2, ""), result.err
        assert words in result.err and result.err.count("\n") == 1


def test_plain_http_beyond_loopback_warns_of_credentials_in_clear(tmp_path):
    server = start_server(tmp_path / "open.db", "--host", "0.0.0.0", env=server_env())
    try:
        # Bound to every interface, URLs name the address a connection came in on, never
        # a Host header's.
        local = server.url.replace("0.0.0.0", "127.0.0.1")
        status, _, body = raw_request(local, "POST", "/v1/Conversations", b"",
                                      {"Host": "evil.example"}, auth=server.auth)
        assert status == 201 and body["url"].startswith(f"{local}/v1/Conversations/CH")
        assert "warning: plain HTTP on 0.0.0.0: the account's credentials (HTTP Basic) " \
               "and every message cross the network in clear" in server.log()
    finally:
        assert server.stop() == 0
