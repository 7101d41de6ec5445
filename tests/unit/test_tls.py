"""The --tls server certificate: signed by the data dir's CA, naming the loopback names and the
product host names that root-domain clients use (cvm.localcvm.test, cvm.localhost)."""

from __future__ import annotations

import ssl

from cryptography import x509

from localcvm.tls import ensure_server_cert


def _names(cert_path) -> set[str]:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(v) for v in san.get_values_for_type(x509.IPAddress)} | set(san.get_values_for_type(x509.DNSName))


def test_server_certificate_names_the_product_host_names(tmp_path):
    cert, key, ca = ensure_server_cert(tmp_path, "127.0.0.1")
    assert {"localhost", "127.0.0.1", "::1", "*.localhost", "*.localcvm.test"} <= _names(cert)
    # a TLS client that trusts the CA accepts the certificate for a product host name
    ctx = ssl.create_default_context(cafile=str(ca))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(str(cert), str(key))
    import socket
    import threading

    a, b = socket.socketpair()
    done = threading.Thread(target=lambda: server.wrap_socket(a, server_side=True).close(), daemon=True)
    done.start()
    client = ctx.wrap_socket(b, server_hostname="cvm.localcvm.test")  # raises if the name is not covered
    client.close()
    done.join(10)


def test_a_certificate_that_names_everything_is_kept(tmp_path):
    cert, _key, _ca = ensure_server_cert(tmp_path, "127.0.0.1")
    first = cert.read_bytes()
    again, _key, _ca = ensure_server_cert(tmp_path, "127.0.0.1")
    assert again.read_bytes() == first  # nothing missing: kept
