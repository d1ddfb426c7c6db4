"""Persisted profiles: a returning user's browser, worked on as a copy so the original is never changed
unless the user asks for it (`--update-profile`)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from loginprobe.config.settings import Settings, Site
from loginprobe.evidence import Engine
from loginprobe.flows.engines import CACHE_PATHS, PROFILE_LOCKS

# Where the login took this profile when it last signed in: what a returning user opens next (their
# bookmark, the app's home page), unless the site names a `start_url`. Browsers ignore the file.
LANDING_FILE = "loginprobe-landing.json"


def remember_landing(copy: Path, url: str) -> None:
    """Keep the page the login landed on (origin and path only: a query may hold a code or token)."""
    parts = urlsplit(url)
    (copy / LANDING_FILE).write_text(
        json.dumps({"url": f"{parts.scheme}://{parts.netloc}{parts.path or '/'}"}), encoding="utf-8"
    )


def landing(copy: Path) -> str | None:
    """The page the profile's last login landed on, if it was remembered."""
    try:
        url = json.loads((copy / LANDING_FILE).read_text(encoding="utf-8")).get("url")
    except (OSError, ValueError, AttributeError):
        return None
    return url if isinstance(url, str) and url.startswith(("http://", "https://")) else None


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
