"""Run localglobus: a threaded WSGI server on LOCALGLOBUS_HOST:LOCALGLOBUS_PORT."""

from __future__ import annotations

import logging
import signal

from werkzeug.serving import make_server

from localglobus.app import create_app
from localglobus.config import Settings


def serve(settings: Settings) -> None:
    """Serve until SIGINT/SIGTERM; running tasks stay in the state and resume next start."""
    logging.basicConfig(level=logging.INFO, format="localglobus %(levelname)s %(message)s")
    app = create_app(settings)
    server = make_server(settings.host, settings.port, app, threaded=True)

    def _terminate(*_args):
        # serve_forever() runs on this (main) thread: calling server.shutdown() here would
        # wait for the loop it interrupts and hang. Leave the loop the way Ctrl-C does.
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    print(f"localglobus listening on {settings.base_url} (state in {settings.home})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        state = app.extensions["localglobus"]
        if state.engine is not None:
            state.engine.stop()
        server.server_close()
