"""``python -m ccw.local.serve``: run llama.cpp's HTTP server on 127.0.0.1 until SIGTERM.

``ccw local start`` runs this detached, with its output in the log file. xllamacpp's
``Server`` listens from its own threads as long as the object lives, so this process only
holds it and waits for a signal.
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
import threading
from typing import Any

from ccw.local.model import MODEL_NAME

EXIT_PORT_IN_USE = 3
EXIT_FAILED = 1


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ccw.local.serve")
    parser.add_argument("--model", required=True, help="path of the GGUF file")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--context-size", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--temperature", type=float, default=0.2)
    return parser.parse_args(argv)


def _params(args: argparse.Namespace) -> Any:
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.model_alias = {MODEL_NAME}
    params.n_ctx = args.context_size
    params.n_parallel = 1
    params.port = args.port
    params.hostnames = ["127.0.0.1"]
    params.offline = True
    # llama.cpp allows every browser origin by default; only its own origin may read answers.
    params.cors_origins = f"http://127.0.0.1:{args.port}"
    params.cors_origins_explicit = True
    params.cors_credentials = False
    params.ui = False
    params.sampling.temp = args.temperature
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    return params


def port_in_use(port: int) -> bool:
    """True when something listens on 127.0.0.1:port (a bind test that ignores TIME_WAIT)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    import xllamacpp

    try:
        server = xllamacpp.Server(_params(args))
    except RuntimeError as exc:
        if port_in_use(args.port):
            print(f"ccw.local.serve: port {args.port} is already in use", flush=True)
            return EXIT_PORT_IN_USE
        print(f"ccw.local.serve: the server did not start: {exc}", flush=True)
        return EXIT_FAILED
    print(f"ccw.local.serve: serving {MODEL_NAME} on {server.listening_address}", flush=True)
    while not stop.is_set():
        stop.wait(1.0)
    del server
    print("ccw.local.serve: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
