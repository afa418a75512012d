"""The HTTP front: routing by the discovery documents, the request log, and the test-only
control paths under /__contract/.

Control paths (never part of a Google API):
  GET  /__contract/requests  every request so far: [{method, path, query, body, status}]
  POST /__contract/reset     forget all resources, operations and the request log
  POST /__contract/config    {"polls": N}: reads an operation answers before DONE
  POST /__contract/settle    finish every operation still running (time passes)
  POST /__contract/fail-next {"code": C, "message": M}: the next operation started ends
                             DONE with that error, and what its request did is undone
  GET  /__contract/health    200 once the server serves
"""

import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import discovery, images
from .compute import Compute
from .functions import Functions
from .errors import ApiError, invalid, not_found
from .scheduler import Scheduler
from .sqladmin import SqlAdmin
from .store import Store

MAX_BODY = 4 * 1024 * 1024
# Cloud Scheduler and Cloud SQL Admin both serve /v1/projects/...: jobs live under a location.
_SCHEDULER_PATH = re.compile(r"^/v1/projects/[^/]+/locations/[^/]+/jobs(/|$)")


class App:
    """Everything one server holds; handlers run under its store's lock."""

    def __init__(self, polls=2, documents=None, images_toml=None):
        compute_api, sql_api = discovery.load(documents)
        self.compute_api, self.sql_api = compute_api, sql_api
        self.store = Store(polls)
        imgs = images.load(images_toml) if images_toml else images.load()
        self.compute = Compute(compute_api, self.store, imgs)
        self.sqladmin = SqlAdmin(sql_api, self.store)
        self.scheduler_api = discovery.load_scheduler(documents)
        self.scheduler = Scheduler(self.scheduler_api, self.store)
        self.functions_api = discovery.load_functions(documents)
        self.functions = Functions(self.functions_api, self.store)

    def dispatch(self, method, path, query, raw, base_url):
        """(status, JSON body) for one API request."""
        if path.startswith("/compute/v1/"):
            api, handler = self.compute_api, self.compute
        elif path.startswith("/v2/projects/"):
            api, handler = self.functions_api, self.functions
        elif _SCHEDULER_PATH.match(path):
            api, handler = self.scheduler_api, self.scheduler
        elif path.startswith("/v1/projects/"):
            api, handler = self.sql_api, self.sqladmin
        else:
            raise not_found(f"The requested URL {path} was not found on this server.")
        found = api.route(method, path)
        if found is None:
            raise not_found(f"The requested URL {path} was not found on this server.")
        resource, name, mdoc, params = found
        if mdoc is None:
            raise ApiError(405, "methodNotAllowed", f"Method {method} is not allowed for {path}.")
        for key, value in params.items():
            params[key] = urllib.parse.unquote(value)
            # Path parameters are held to the pattern the document gives them (Compute
            # gives one for project, zone and resource names).
            pattern = mdoc.get("parameters", {}).get(key, {}).get("pattern")
            if pattern and not re.fullmatch(pattern, params[key]):
                raise invalid(f"Invalid value for field '{key}': '{params[key]}'. Must be a match of regex '{pattern}'")
        flat = {}
        for key, values in query.items():
            if len(values) > 1:
                raise invalid(f"Invalid value for field '{key}': repeated.")
            flat[key] = values[0]
        api.check_query(mdoc, flat)
        body = None
        if "request" in mdoc:
            if not raw:
                body = {}
            else:
                try:
                    body = json.loads(raw)
                except (ValueError, UnicodeDecodeError) as e:
                    raise invalid(f"Invalid JSON payload received. {e}")
        elif raw and raw.strip() not in (b"", b"{}"):
            raise invalid("Invalid JSON payload received. This method takes no request body.")
        with self.store.lock:
            return handler.handle(resource, name, params, flat, body, base_url)


def make_handler(app):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "gcp-contract-server"

        def log_message(self, fmt, *args):  # the request log is served, not printed
            pass

        def _send(self, status, body):
            data = json.dumps(body, indent=1).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _serve(self, method):
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self.close_connection = True  # the unread body must not be taken for a request
                self._send(413, ApiError(413, "invalid", "Request body too large.").body())
                return
            raw = self.rfile.read(length) if length else b""
            if url.path.startswith("/__contract/"):
                self._control(method, url.path, raw)
                return
            host = self.headers.get("Host") or ""
            if not re.fullmatch(r"[^:/]+:[0-9]+|\[[^]]+\]:[0-9]+", host):
                # Links must reach this server: a Host without our port (some clients
                # leave it out) gets the bound address instead.
                host = "%s:%d" % self.server.server_address[:2]
            base_url = f"http://{host}"
            try:
                status, body = app.dispatch(method, url.path, query, raw, base_url)
            except ApiError as e:
                status, body = e.code, e.body()
            except Exception as e:  # a server bug: answer it loudly, never hang the client
                status, body = 500, ApiError(500, "backendError", f"contract server bug: {e!r}", "INTERNAL").body()
            try:
                logged = json.loads(raw) if raw else None
            except ValueError:
                logged = raw.decode("utf-8", "replace")
            with app.store.lock:
                app.store.requests.append(
                    {"method": method, "path": url.path, "query": {k: v if len(v) > 1 else v[0] for k, v in query.items()},
                     "body": logged, "status": status}
                )
            self._send(status, body)

        def _control(self, method, path, raw):
            with app.store.lock:
                if method == "GET" and path == "/__contract/requests":
                    self._send(200, {"requests": list(app.store.requests)})
                elif method == "GET" and path == "/__contract/health":
                    self._send(200, {"ok": True})
                elif method == "POST" and path == "/__contract/reset":
                    app.store.reset()
                    self._send(200, {"ok": True})
                elif method == "POST" and path == "/__contract/config":
                    try:
                        cfg = json.loads(raw or b"{}")
                        polls = int(cfg["polls"])
                        if polls < 0:
                            raise ValueError(polls)
                    except (ValueError, KeyError, TypeError) as e:
                        self._send(400, invalid(f"config wants {{\"polls\": N >= 0}}: {e}").body())
                        return
                    app.store.polls = polls
                    self._send(200, {"polls": polls})
                elif method == "POST" and path == "/__contract/settle":
                    # Time passes: every operation still running finishes, as the cloud
                    # finishes what it accepted even when the client that asked is gone.
                    settled = 0
                    for op in list(app.store.operations.values()):
                        if not op.complete:
                            op.finish()
                            settled += 1
                    self._send(200, {"settled": settled})
                elif method == "POST" and path == "/__contract/fail-next":
                    try:
                        cfg = json.loads(raw or b"{}")
                        failure = {"code": str(cfg["code"]), "message": str(cfg["message"])}
                    except (ValueError, KeyError, TypeError) as e:
                        self._send(400, invalid(f"fail-next wants {{\"code\": C, \"message\": M}}: {e}").body())
                        return
                    app.store.fail_next = failure
                    self._send(200, failure)
                else:
                    self._send(404, not_found(f"no control path {method} {path}").body())

        def do_GET(self):
            self._serve("GET")

        def do_POST(self):
            self._serve("POST")

        def do_PUT(self):
            self._serve("PUT")

        def do_PATCH(self):
            self._serve("PATCH")

        def do_DELETE(self):
            self._serve("DELETE")

    return Handler


def serve(host, port, app):
    """Bind (port 0: any free port), and return the server; call serve_forever on it."""
    httpd = ThreadingHTTPServer((host, port), make_handler(app))
    httpd.daemon_threads = True
    return httpd


def start_in_thread(app, host="127.0.0.1"):
    """A server on a free port in a daemon thread (for the Python unit tests)."""
    httpd = serve(host, 0, app)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd
