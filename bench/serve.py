"""The app on a real loopback socket for the front-end benchmarks."""
import tempfile
import threading
from pathlib import Path

from werkzeug.serving import make_server

from webapp import create_app


class Server:
    def __init__(self):
        self.dir = tempfile.TemporaryDirectory(prefix="unknot-bench-")
        path = Path(self.dir.name)
        self.app = create_app({
            "TESTING": True, "SCHEDULER": "off",
            "DATABASE_URL": f"sqlite:///{path / 'bench.sqlite'}",
            "VAPID_PRIVATE_KEY": str(path / "vapid.pem"),
        })
        self.port = 0
        self.server = None

    def start(self):
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"
