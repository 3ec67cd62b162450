"""How the service's waitress server holds connections, and the file descriptors that takes.

Idle or slow clients must not starve callbacks (issue #11: 98 silent sockets reached waitress's
default limit of 100, and every callback after them timed out). So the limit is high
(``[service] connection_limit``), silent sockets are closed after ``channel_timeout_s``, the
loop uses ``poll`` (``select`` cannot watch a descriptor numbered 1024 or more), and the process
raises its soft open-file limit so that many sockets fit beside SQLite's files.
"""

from __future__ import annotations

import logging
from typing import Any

from webhook.config import ServiceConfig

log = logging.getLogger("aura_uplink.serve")

# Descriptors besides the client sockets: stdio, the listening socket, waitress's wake-up pipe,
# AURA's connection pool, logs; plus per thread (waitress, delivery) SQLite's database and WAL
# files and a probe's. Generous: running out shows as refused connections and failed commits.
FD_MARGIN = 64
FDS_PER_THREAD = 3
# waitress counts its own listening socket and wake-up pipe against connection_limit.
WAITRESS_OWN_ENTRIES = 2


def fds_needed(config: ServiceConfig) -> int:
    """The open-file limit the configured ``connection_limit`` needs."""
    threads = config.threads + config.delivery.workers + 1
    return config.connection_limit + FD_MARGIN + FDS_PER_THREAD * threads


def waitress_options(
    config: ServiceConfig, *, connection_limit: int | None = None
) -> dict[str, Any]:
    """Keyword arguments for ``waitress.server.create_server``: used by ``serve`` and by the
    tests' in-process server alike. ``connection_limit`` overrides the configured one (when
    the open-file limit cannot fit it)."""
    limit = config.connection_limit if connection_limit is None else connection_limit
    return {
        "threads": config.threads,
        # waitress refuses a body of max_request_body_size bytes or more; ours may be that long.
        "max_request_body_size": config.max_body_bytes + 1,
        "connection_limit": limit + WAITRESS_OWN_ENTRIES,
        "channel_timeout": config.channel_timeout_s,
        # How often waitress looks for idle sockets: a quarter of the timeout (at most 10 s), so
        # a silent socket is gone within 1.25 x channel_timeout_s. A sweep is cheap.
        "cleanup_interval": max(1, min(10, config.channel_timeout_s // 4)),
        # select() fails on descriptors >= FD_SETSIZE (1024); poll() has no such ceiling.
        "asyncore_use_poll": True,
        "ident": "aura-uplink",
        # waitress drops X-Forwarded-* unless told not to; behind [service] trusted_proxies
        # proxies they reach the app, where ProxyFix believes that many (webhook/http/app.py).
        "clear_untrusted_proxy_headers": config.trusted_proxies == 0,
    }


def make_room_for_connections(config: ServiceConfig) -> int:
    """Raise the soft open-file limit toward the hard one so ``connection_limit`` sockets fit;
    returns the connection limit to use: the configured one, or, when the limit cannot be
    raised far enough, as many as fit (with a warning), so SQLite always has descriptors."""
    needed = fds_needed(config)
    soft = raise_open_file_limit(needed)
    if soft is None or soft >= needed:
        return config.connection_limit
    fitting = max(1, config.connection_limit - (needed - soft))
    log.warning(
        "open-file limit is %d, below the %d that service.connection_limit = %d needs:"
        " taking at most %d connections; raise it (ulimit -n, systemd LimitNOFILE=)",
        soft,
        needed,
        config.connection_limit,
        fitting,
    )
    return fitting


def raise_open_file_limit(needed: int) -> int | None:
    """Raise the soft RLIMIT_NOFILE to ``needed`` (never past the hard limit, never lower);
    returns the soft limit now in force, or None where there is no such limit (infinite, or
    not POSIX)."""
    try:
        import resource
    except ImportError:  # Windows: no RLIMIT_NOFILE
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return None
    if soft >= needed:
        return soft
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):  # e.g. macOS refuses more than OPEN_MAX
        return soft
    return target
