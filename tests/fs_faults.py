"""Real file-system faults for the health tests (tests/test_health.py), made honestly.

The tests may run as root (they do in this project's container), and root ignores file modes:
``chmod 0555`` stops nobody. So:

* a **full disk** is a real, tiny tmpfs filled to its last block (``mount`` needs
  CAP_SYS_ADMIN: root here; elsewhere those cases are skipped, saying why);
* a **read-only filesystem** is that tmpfs remounted read-only (Linux refuses to remount while
  a file on it is open for writing, so only before the service starts);
* **no write permission** is a mode that really binds the service: as root, the service runs
  without CAP_DAC_OVERRIDE (the capability that lets root ignore modes), as a service user
  would; as any other user, ``chmod`` is enough. (Running it as ``nobody`` is no option here:
  the interpreter lives under /root, mode 0700.)

Every helper undoes what it did (unmounts, restores modes).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

IS_ROOT = os.geteuid() == 0

# Linux capabilities that let root ignore file modes, and prctl's "drop from bounding set".
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH, _CAP_FOWNER = 1, 2, 3
_PR_CAPBSET_DROP = 24


# -- a real small filesystem --------------------------------------------------------------------


@functools.cache
def can_mount() -> bool:
    """Mounting a tmpfs works here (root with CAP_SYS_ADMIN and a ``mount`` binary)."""
    if not IS_ROOT or shutil.which("mount") is None:
        return False
    probe = Path(tempfile.mkdtemp(prefix="aura-mount-probe-"))
    try:
        done = _run("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe))
        if done.returncode != 0:
            return False
        _run("umount", str(probe))
        return True
    finally:
        probe.rmdir()


MOUNT_SKIP = "needs root with CAP_SYS_ADMIN to mount a tmpfs (a real, small filesystem)"


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "4m") -> Iterator[Path]:
    """A real tmpfs of ``size`` mounted at ``path`` (created), unmounted afterwards."""
    path.mkdir(parents=True, exist_ok=True)
    done = _run("mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path))
    assert done.returncode == 0, done.stderr
    try:
        yield path
    finally:
        if _run("umount", str(path)).returncode != 0:
            _run("umount", "-l", str(path))  # something still open: detach it anyway


def remount_read_only(path: Path) -> None:
    done = _run("mount", "-o", "remount,ro", str(path))
    assert done.returncode == 0, done.stderr


def fill(directory: Path) -> Path:
    """Write a file in ``directory`` until its filesystem has no block left (ENOSPC)."""
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as handle:
        for size in (65536, 512):  # big steps, then the bytes a big step could not place
            with contextlib.suppress(OSError):
                while handle.write(b"\0" * size):
                    pass
    assert os.statvfs(directory).f_bavail == 0, "the filesystem still has room"
    return filler


# -- file modes that bind -----------------------------------------------------------------------


def _drop_mode_bypass() -> None:
    """In the child, before exec: drop the capabilities that let root ignore file modes from
    the bounding set; the program exec'd then runs bound by modes, as a service user is."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH, _CAP_FOWNER):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def bound_by_modes() -> Callable[[], None] | None:
    """A ``preexec_fn`` for a child that must obey file modes: as root, it keeps uid 0 but
    loses CAP_DAC_OVERRIDE and its siblings; as anyone else, None (modes bind us already)."""
    return _drop_mode_bypass if IS_ROOT else None


@functools.cache
def modes_skip_reason() -> str | None:
    """Why file modes cannot be made to bind a child here, or None."""
    if not IS_ROOT:
        return None
    with tempfile.TemporaryDirectory() as name:
        locked = Path(name) / "locked"
        locked.write_text("")
        locked.chmod(0o444)
        try:
            done = subprocess.run(
                ["sh", "-c", f"echo x > {locked}"],
                preexec_fn=_drop_mode_bypass,
                capture_output=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as error:
            return f"cannot drop CAP_DAC_OVERRIDE here: {error}"
    if done.returncode == 0:
        return "as root, dropping CAP_DAC_OVERRIDE did not make file modes bind"
    return None


@contextlib.contextmanager
def read_only_modes(*paths: Path) -> Iterator[None]:
    """Each path, and the files directly in each directory, lose their write bits; they get
    them back afterwards."""
    entries = [p for path in paths for p in ([path, *path.iterdir()] if path.is_dir() else [path])]
    modes = {p: p.stat().st_mode & 0o777 for p in entries}
    for path, mode in modes.items():
        path.chmod(mode & ~0o222)
    try:
        yield
    finally:
        for path, mode in modes.items():
            with contextlib.suppress(FileNotFoundError):
                path.chmod(mode)


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
