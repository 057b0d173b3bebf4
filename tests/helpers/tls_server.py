"""A real server with TLS on: a certificate made by ``chat cert``'s code and a config turning it on."""

from __future__ import annotations

from pathlib import Path

from chat.server.certificate import write_pair
from tests.helpers.server_process import ServerProcess


def write_config(path: Path, tls_port: int = 0, registration_timeout: float = 60.0) -> Path:
    """A config with TLS on (the pair in ``<data_dir>/tls``); port 0 picks a free TLS port."""
    path.write_text(
        "tls:\n"
        "  cert: tls/cert.pem\n"
        "  key: tls/key.pem\n"
        f"  port: {tls_port}\n"
        f"limits:\n  registration_timeout: {registration_timeout}\n",
        encoding="utf-8",
    )
    return path


def start_tls_server(tmp_path: Path, registration_timeout: float = 60.0) -> ServerProcess:
    """Certificate in ``tmp_path/data/tls``, config in ``tmp_path/tls.yaml``; started."""
    data_dir = tmp_path / "data"
    if not (data_dir / "tls" / "cert.pem").exists():
        write_pair(data_dir / "tls", ["localhost", "127.0.0.1"])
    config = write_config(tmp_path / "tls.yaml", registration_timeout=registration_timeout)
    return ServerProcess(data_dir, extra_args=("--config", str(config))).start()
