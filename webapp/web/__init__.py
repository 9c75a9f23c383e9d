"""The request path: pages, the JSON API, assets and the worker script, OpenAPI, errors, security headers, rate limits, health."""
