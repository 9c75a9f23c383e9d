"""gzip for text responses when the browser accepts it (phones on slow
networks; the first-visit budget for /guide/calf is counted compressed)."""
import gzip
from functools import lru_cache

from flask import request

TEXT_TYPES = ("text/", "application/json", "application/manifest+json", "image/svg+xml")
MIN_SIZE = 512


@lru_cache(maxsize=64)
def _compressed(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def init_app(app):
    @app.after_request
    def compress(response):
        if (
            response.status_code != 200
            or "gzip" not in request.headers.get("Accept-Encoding", "")
            or "Content-Encoding" in response.headers
            or not response.mimetype.startswith(TEXT_TYPES)
        ):
            return response
        response.headers.add("Vary", "Accept-Encoding")
        response.direct_passthrough = False
        data = response.get_data()
        if len(data) < MIN_SIZE:
            return response
        # Static files and pages repeat: keep their compressed bytes.
        body = _compressed(data) if request.path.startswith("/static/") else gzip.compress(data, 6, mtime=0)
        response.set_data(body)
        response.headers["Content-Encoding"] = "gzip"
        return response
