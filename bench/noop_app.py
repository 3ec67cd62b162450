"""The ingest baseline: a Flask app whose POST route does nothing and answers 200 ``{}``, under
the same waitress settings as ``aura-uplink serve`` (webhook/serve.py): threads, body cap, ident.

    python -m bench.noop_app --threads 8 --max-body-bytes 4096

Listens on 127.0.0.1 on a free port and prints ``listening on http://127.0.0.1:PORT`` (as serve
logs it); SIGTERM/SIGINT stop it.
"""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType
from typing import Any

from flask import Flask, jsonify
from waitress.server import create_server


def create_app() -> Flask:
    app = Flask("noop")

    @app.post("/sigfox/uplink")
    def uplink() -> Any:
        return jsonify({}), 200

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify(status="ok"), 200

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--max-body-bytes", type=int, default=16384)
    args = parser.parse_args()
    server = create_server(
        create_app(),
        host="127.0.0.1",
        port=0,
        threads=args.threads,
        max_request_body_size=args.max_body_bytes + 1,
        ident="aura-uplink",
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"noop listening on http://127.0.0.1:{server.effective_port}", flush=True)
    try:
        server.run()
    finally:
        server.close()
        server.task_dispatcher.shutdown(timeout=5)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
