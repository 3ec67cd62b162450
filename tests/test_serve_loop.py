"""waitress's loop under ``serve`` (webhook/serve_loop.py): :class:`QuietChannel` is not watched
for writing while a handler thread holds its output, and every answer still arrives whole.

A real waitress server on 127.0.0.1 with the channel class ``serve`` installs; real sockets."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import requests
from waitress.server import create_server

from webhook.serve_loop import QuietChannel, SignalLoop

WATERMARK = 16 * 1024 * 1024  # waitress's outbuf_high_watermark: past it a handler waits


def sized_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """Answers ``/<n>`` with n bytes, written in 1 MB parts (so large answers stream)."""
    size = int(environ["PATH_INFO"].strip("/") or 0)
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(size))])  # fmt: skip
    part = 1024 * 1024
    return [bytes([n % 251]) * min(part, size - n * part) for n in range(-(-size // part))]


@contextlib.contextmanager
def quiet_server() -> Iterator[Any]:
    server = create_server(sized_app, host="127.0.0.1", port=0, threads=4)
    server.channel_class = QuietChannel
    loop, stop = SignalLoop(server), threading.Event()

    def turn() -> None:
        while not stop.is_set():
            loop._turn(0.05)

    thread = threading.Thread(target=turn, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join(5)
        server.close()
        server.task_dispatcher.shutdown(timeout=5)


def test_a_channel_whose_handler_holds_the_output_is_not_watched_for_writing() -> None:
    with quiet_server() as server:
        ours, theirs = socket.socketpair()
        try:
            channel = QuietChannel(server, ours, ("127.0.0.1", 1), server.adj, map={})
            channel.total_outbufs_len = 10  # an answer waiting to be sent
            channel.requests = [object()]  # while its request is being handled
            held, release = threading.Event(), threading.Event()

            def handler() -> None:
                with channel.outbuf_lock:
                    held.set()
                    release.wait(5)

            thread = threading.Thread(target=handler)
            thread.start()
            held.wait(5)
            assert not channel.writable()  # the handler sends it and wakes the loop after
            release.set()
            thread.join(5)
            assert channel.writable()  # the lock is free: the loop may flush
            channel.requests = []
            assert channel.writable()  # no handler: waitress's own rule
            channel.total_outbufs_len = 0
            assert not channel.writable()
            channel.will_close = True
            assert channel.writable()
        finally:
            theirs.close()
            ours.close()


def test_answers_small_and_past_the_watermark_arrive_whole_on_one_connection() -> None:
    with quiet_server() as server, requests.Session() as session:
        url = f"http://127.0.0.1:{server.effective_port}"
        for size in (0, 1, 200, 70_000, 3 * 1024 * 1024, WATERMARK + 3 * 1024 * 1024, 17):
            answer = session.get(f"{url}/{size}", timeout=30)
            assert answer.status_code == 200
            assert len(answer.content) == size
            assert answer.content == b"".join(sized_app({"PATH_INFO": f"/{size}"}, _ignore))


def test_many_keep_alive_clients_each_get_their_own_answers() -> None:
    with quiet_server() as server:
        url = f"http://127.0.0.1:{server.effective_port}"
        failures: list[str] = []

        def client(n: int) -> None:
            with requests.Session() as session:
                for k in range(40):
                    size = 100 + n * 40 + k
                    answer = session.get(f"{url}/{size}", timeout=10)
                    if len(answer.content) != size:
                        failures.append(f"client {n} request {k}: {len(answer.content)} bytes")

        threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert failures == []


def _ignore(*_args: Any) -> None:
    return None
