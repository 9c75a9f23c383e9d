"""Errors: JSON ``{"error", "message"}`` under /api, a helpful page elsewhere."""
from flask import jsonify, render_template, request
from werkzeug.exceptions import HTTPException


MESSAGES = {
    404: "There is no such API call. See /api/openapi.json.",
    405: "This API call does not take that method.",
    413: "The request body is too large.",
    429: "Too many requests ({}). Please wait a little and try again.",
}


class ApiError(Exception):
    """A 4xx answer with a machine code and a human sentence."""

    def __init__(self, status, code, message, headers=None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def json_error(status, code, message, headers=None):
    response = jsonify(error=code, message=message)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def init_app(app):
    @app.errorhandler(ApiError)
    def api_error(e):
        return json_error(e.status, e.code, e.message, e.headers)

    @app.errorhandler(HTTPException)
    def http_error(e):
        if request.path.startswith("/api/"):
            code = (e.name or "error").lower().replace(" ", "_")
            headers = dict(e.get_headers()) if e.code == 405 else {}
            headers.pop("Content-Type", None)
            message = MESSAGES.get(e.code, e.description or e.name)
            return json_error(e.code, code, message.format(e.description), headers)
        if e.code == 404:
            return render_template("404.html"), 404
        return e

    @app.errorhandler(Exception)
    def unexpected(e):
        app.logger.exception("unhandled error")
        if request.path.startswith("/api/"):
            return json_error(500, "internal", "Something went wrong on our side. Please try again.")
        return "Something went wrong on our side. Please try again.", 500
