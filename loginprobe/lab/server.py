"""The embedded lab: a small real web site on 127.0.0.1 whose switches make its logins fail the way
real servers do. `loginprobe demo` and the tests use it; nothing in the diagnosis may read its state.

    with Lab() as lab:
        lab.apply(password_rotated=True)
        ...  # probe lab.app_url

Four Werkzeug servers, each on its own port: the app (`app_url`, http://127.0.0.1:<port>), an OpenID
provider on another origin and another site (`idp_url`, http://localhost:<port>), a caching reverse
proxy in front of the app (`cache_url`) and a forward HTTP proxy (`proxy_url`). Their shared state
(clock, secrets, tokens, sessions) is `LabState` in state.py.
"""

from __future__ import annotations

from types import TracebackType

from loginprobe.lab.app import LabApp
from loginprobe.lab.idp import IdentityProvider
from loginprobe.lab.intermediaries import CachingProxy, ForwardProxy
from loginprobe.lab.state import API_AUDIENCE, SESSION_COOKIE, SESSION_LIFETIME_S, LabState, Session
from loginprobe.lab.wsgi import ServerThread

__all__ = ["API_AUDIENCE", "SESSION_COOKIE", "SESSION_LIFETIME_S", "Lab", "Session"]


class Lab(LabState):
    """The lab site and its intermediaries; a context manager that starts and stops the servers."""

    def __init__(self) -> None:
        super().__init__()
        self._servers: list[ServerThread] = []

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> Lab:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> None:
        if self._servers:
            raise RuntimeError("the lab is already running")
        app = ServerThread(LabApp(self), "app")
        idp = ServerThread(IdentityProvider(self), "idp")
        cache = ServerThread(CachingProxy(self, upstream_port=app.port), "cache")
        proxy = ServerThread(ForwardProxy(self), "proxy")
        self._urls = {
            "app": f"http://127.0.0.1:{app.port}",
            # Another host name: another origin and, for SameSite, another site than 127.0.0.1.
            "idp": f"http://localhost:{idp.port}",
            "cache": f"http://127.0.0.1:{cache.port}",
            "proxy": f"http://127.0.0.1:{proxy.port}",
        }
        self._servers = [app, idp, cache, proxy]
        for server in self._servers:
            server.start()

    def close(self) -> None:
        servers, self._servers = self._servers, []
        for server in servers:
            server.stop()
