"""Persisted profiles: a returning user's browser, worked on as a copy so the original is never changed
unless the user asks for it (`--update-profile`)."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

from loginprobe.config.settings import Settings, Site
from loginprobe.evidence import Engine
from loginprobe.flows.engines import CACHE_PATHS, PROFILE_LOCKS


def profile_root(settings: Settings, site: Site, engine: Engine) -> Path:
    """Where the persisted profile of this site and engine lives."""
    base = site.profile if site.profile is not None else settings.profiles_dir / site.name
    return base.expanduser() / engine


def exists(root: Path) -> bool:
    return root.is_dir() and any(root.iterdir())


def ignore_locks(folder: str, names: list[str]) -> set[str]:
    """Skip lock files and sockets a running browser leaves behind."""
    skipped = set()
    for name in names:
        if name in PROFILE_LOCKS:
            skipped.add(name)
            continue
        try:
            mode = os.lstat(os.path.join(folder, name)).st_mode
        except OSError:
            skipped.add(name)
            continue
        if stat.S_ISSOCK(mode) or stat.S_ISFIFO(mode):
            skipped.add(name)
    return skipped


def working_copy(root: Path, workdir: Path) -> Path:
    """A private copy of the profile to run on."""
    dest = Path(tempfile.mkdtemp(prefix="profile-", dir=workdir))
    shutil.copytree(root, dest, symlinks=True, ignore=ignore_locks, dirs_exist_ok=True)
    return dest


def strip_cache(copy: Path, engine: Engine) -> list[str]:
    """Remove the HTTP cache, service workers and Cache API from a profile copy; returns what went."""
    removed = []
    for pattern in CACHE_PATHS[engine]:
        for path in copy.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(str(path.relative_to(copy)))
    return removed


def commit(copy: Path, root: Path) -> None:
    """Make `copy` the profile at `root`, swapping whole folders so a crash never leaves half a profile."""
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}-new-", dir=root.parent))
    shutil.copytree(copy, staging, symlinks=True, ignore=ignore_locks, dirs_exist_ok=True)
    old = root.with_name(f".{root.name}-old-{os.getpid()}")
    if root.exists():
        os.replace(root, old)
    os.replace(staging, root)
    shutil.rmtree(old, ignore_errors=True)
