"""`orchjobs ca issue-server-cert`: a TLS server certificate from the orchestrator CA, good for `orchjobs serve` at
once and trusted by whoever trusts `orchjobs ca export`."""

import ipaddress
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.api.test_agent_session import registration
from tests.live import ADMIN, API_HEADERS, free_port, read_log, server_environment, stop


def orchjobs(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "orchjobs", *arguments]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=60)


def test_the_issued_server_certificate_serves_tls_trusted_through_the_exported_ca(
    database_url: str, tmp_path: Path
) -> None:
    env = server_environment(database_url, tmp_path)
    cert, key, ca = tmp_path / "server.pem", tmp_path / "server.key", tmp_path / "orchestrator-ca.pem"

    issued = orchjobs(env, "ca", "issue-server-cert", "--host", "localhost", "--host", "127.0.0.1",
                      "--out-cert", str(cert), "--out-key", str(key))  # fmt: skip
    assert issued.returncode == 0, issued.stdout + issued.stderr
    assert orchjobs(env, "ca", "export", str(ca)).returncode == 0

    certificate, authority = (
        x509.load_pem_x509_certificate(cert.read_bytes()),
        x509.load_pem_x509_certificate(ca.read_bytes()),
    )
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]
    certificate.verify_directly_issued_by(authority)
    assert key.stat().st_mode & 0o777 == 0o600

    port = free_port()
    command = [
        sys.executable, "-m", "orchjobs", "serve", "--host", "127.0.0.1", "--port", str(port),
        "--ssl-certfile", str(cert), "--ssl-keyfile", str(key), "--ssl-ca-certs", str(ca), "--client-cert", "optional",
    ]  # fmt: skip
    trust = ssl.create_default_context(cafile=str(ca))
    with (tmp_path / "server.log").open("w+b") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            for base_url in (f"https://127.0.0.1:{port}", f"https://localhost:{port}"):
                response = answer_over_tls(process, base_url, trust, log)
                assert response.status_code == 200, response.text
            # Presented as a client certificate it is refused (no clientAuth usage): it makes no one an orchestrator.
            holder = ssl.create_default_context(cafile=str(ca))
            holder.load_cert_chain(str(cert), str(key))
            with (
                httpx.Client(base_url=f"https://127.0.0.1:{port}", verify=holder) as client,
                pytest.raises(httpx.TransportError),
            ):
                client.post("/KeyfactorAgents/Session/Register", json=registration())
        finally:
            stop(process)


def answer_over_tls(process: subprocess.Popen[bytes], base_url: str, trust: ssl.SSLContext, log) -> httpx.Response:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"orchjobs serve exited with status {process.returncode}:\n{read_log(log)}")
        try:
            url = f"{base_url}/KeyfactorAPI/Status/Endpoints"
            return httpx.get(url, headers=API_HEADERS, auth=ADMIN, verify=trust, timeout=2)
        except httpx.ConnectError as exc:
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                raise
            time.sleep(0.1)
    pytest.fail(f"orchjobs serve did not answer over TLS within 20 s:\n{read_log(log)}")


@pytest.mark.parametrize("host", ["web 01", "-bad-.example.com", "a..b"])
def test_a_host_that_is_no_dns_name_nor_address_is_refused_and_nothing_is_written(
    database_url: str, tmp_path: Path, host: str
) -> None:
    env = server_environment(database_url, tmp_path)

    issued = orchjobs(env, "ca", "issue-server-cert", "--host", host,
                      "--out-cert", str(tmp_path / "s.pem"), "--out-key", str(tmp_path / "s.key"))  # fmt: skip

    assert issued.returncode == 1
    assert "is neither a DNS name nor an IP address" in issued.stdout
    assert not (tmp_path / "s.pem").exists() and not (tmp_path / "s.key").exists()
