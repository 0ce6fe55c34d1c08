"""A throwaway PostgreSQL cluster for the test session: ``initdb`` in a temporary folder,
``postgres`` on a free port on 127.0.0.1 (and a socket in that folder), stopped at the
end. PostgreSQL refuses to run as root, so as root it runs as ``nobody`` (the folder
made theirs). Each test gets a database of its own (``fresh_database``).

Under ``CI=true`` a test that needs PostgreSQL fails when the server cannot start;
elsewhere it is skipped with the reason.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

#: A password on purpose: tests check it never shows where it must not.
PASSWORD = "pg-Secret-5up3r-hunter2"
USER = "flux2"


def _bin_dir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    folder: Path
    port: int
    bin: Path
    started_in: float

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def fresh_database(self) -> str:
        """A new, empty database; its URL (with the password)."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


class _State:
    cluster: Cluster | None = None
    error: str | None = None
    lock = threading.Lock()
    stop_cmd: list[str] | None = None
    run_as: str | None = None


def _run(cmd: list[str], user: str | None, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, user=user, capture_output=True, text=True, timeout=120, check=False,
                          **kw)  # type: ignore[call-overload]


def cluster() -> Cluster:
    """The session's cluster, started on first use; raises RuntimeError with the reason."""
    with _State.lock:
        if _State.cluster is not None:
            return _State.cluster
        if _State.error is not None:
            raise RuntimeError(_State.error)
        try:
            _State.cluster = _start()
        except Exception as exc:
            _State.error = f"PostgreSQL could not start: {exc}"
            raise RuntimeError(_State.error) from exc
        return _State.cluster


def _unprivileged_user() -> str:
    """``nobody``, or a system user made for the purpose where there is none."""
    import pwd

    for name in ("nobody", "flux2pg"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    done = _run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "flux2pg"], None)
    if done.returncode:
        raise RuntimeError(f"no unprivileged user to run PostgreSQL as: {done.stderr.strip()}")
    return "flux2pg"


def _start() -> Cluster:
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise RuntimeError("psycopg is not installed (pip install 'flux2-widgets[postgres]')") from exc
    bin_dir = _bin_dir()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL server binaries (apt-get install -y postgresql; `make test` "
                           "installs it when run as root)")
    began = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="flux2-pg-"))
    user = _unprivileged_user() if os.geteuid() == 0 else None
    if user:
        shutil.chown(folder, user)
        folder.chmod(0o700)
    data = folder / "data"
    pwfile = folder / "pw"
    pwfile.write_text(PASSWORD)
    if user:
        shutil.chown(pwfile, user)
    done = _run([str(bin_dir / "initdb"), "-D", str(data), "-U", USER, "--pwfile", str(pwfile),
                 "--auth=scram-sha-256", "-E", "UTF8", "--no-sync", "--locale=C"], user, cwd=folder)
    if done.returncode:
        raise RuntimeError(f"initdb failed: {done.stderr.strip()[-500:]}")
    port = _free_port()
    options = (f"-p {port} -h 127.0.0.1 -k {folder} -F -c max_connections=200 -c shared_buffers=32MB "
               "-c synchronous_commit=on -c fsync=off")
    done = _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"),
                 "-w", "-t", "60", "start"], user, cwd=folder)
    if done.returncode:
        log = (folder / "log").read_text(errors="replace")[-800:] if (folder / "log").exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()[-300:]} {log}")
    _State.stop_cmd = [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
    _State.run_as = user
    atexit.register(stop)
    return Cluster(folder, port, bin_dir, time.perf_counter() - began)


def stop() -> None:
    """Stop the session's cluster and remove its folder (idempotent)."""
    with _State.lock:
        found, _State.cluster = _State.cluster, None
        cmd, _State.stop_cmd = _State.stop_cmd, None
    if cmd is not None:
        _run(cmd, _State.run_as)
    if found is not None:
        shutil.rmtree(found.folder, ignore_errors=True)
