"""The HTTP front: ARM's checks before routing (Authorization, subscription id,
api-version), routing by path, the request log, and the test-only control paths under
/__contract/.

api-version: every stable version the resource provider publishes is accepted (the table
and its source are in api_versions.py), but a body is always validated against the pinned
version's schema, the only one a fixture holds: a property newer than the pinned version is
rejected as unknown (a known limit).

Control paths (never part of ARM; no Authorization needed):
  GET  /__contract/requests  every request so far: [{method, path, query, headers, body, status}]
  POST /__contract/reset     forget all groups, resources, operations and the request log
  POST /__contract/config    {"polls": N, "pageSize": M, "subscriptionName": S}: reads an
                             operation answers before it completes; list page size; the
                             displayName of every subscription (any key may be left out)
  POST /__contract/settle    finish every operation still running (time passes)
  POST /__contract/fail-next {"code": C, "message": M[, "status": S]}: the next long-running
                             operation started fails with that error (its resource is left
                             Failed; a failed delete leaves it as it was)
  GET  /__contract/health    200 once the server serves
"""

import json
import re
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import api_versions
from .arm import Ctx, Engine, normalize_location
from .errors import ArmError, bad_request, not_found
from .resources import Groups, Subscriptions
from .schema import SCHEMAS_DIR, Schemas
from .servicebus import ServiceBus
from .storage import AZURITE_KEY, Storage
from .store import Store

MAX_BODY = 4 * 1024 * 1024
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Request headers the log keeps (the Authorization header only by its scheme).
_LOGGED_HEADERS = ("content-type", "if-match", "if-none-match", "x-ms-client-request-id", "user-agent")


class App:
    """Everything one server holds; handlers run under its store's lock."""

    def __init__(self, polls=2, page_size=5, storage_key=AZURITE_KEY, blob_endpoint=None, queue_endpoint=None,
                 schemas_dir=SCHEMAS_DIR):
        self.schemas = Schemas(schemas_dir)
        self.store = Store(polls, page_size)
        self.engine = Engine(self)
        self.groups = Groups(self)
        self.subscriptions = Subscriptions(self)
        self.storage = Storage(self, storage_key, blob_endpoint, queue_endpoint)
        self.servicebus = ServiceBus(self)
        self.provider_actions = {
            ("microsoft.storage", "checknameavailability"): self.storage.check_name_availability,
        }
        for module in (self.storage, self.servicebus):
            for rtype in module.types():
                self.engine.register(rtype)
        for extra in _optional_modules():
            module = extra(self)
            for rtype in module.types():
                self.engine.register(rtype)
            self.provider_actions.update(getattr(module, "provider_actions", {}))

    def api_version_for(self, namespace):
        """(canonical namespace, pinned api-version), or 400 for a namespace not served."""
        found = self.schemas.api_versions.get(namespace.lower())
        if found is None:
            raise bad_request("InvalidResourceNamespace", f"The resource namespace '{namespace}' is invalid.")
        return found

    def dispatch(self, method, path, query, headers, raw, base_url):
        """(status, body or None, extra headers) for one ARM request."""
        auth = headers.get("authorization")
        if not auth:
            raise ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
        if not re.fullmatch(r"Bearer \S+", auth.strip()):
            raise ArmError(401, "AuthenticationFailed",
                           "Authentication failed. The 'Authorization' header is provided in an invalid format.")
        parts = [urllib.parse.unquote(p) for p in path.split("/") if p]
        if len(parts) < 2 or parts[0].lower() != "subscriptions":
            raise not_found("NotFound", f"No HTTP resource was found that matches the request URI '{path}'.")
        sub, rest = parts[1], parts[2:]
        if not _GUID.fullmatch(sub):
            raise bad_request("InvalidSubscriptionId", f"The provided subscription identifier '{sub}' is malformed or invalid.")
        sub = sub.lower()
        if not rest:
            # Subscriptions_Get: its own document and api-version (resources.py).
            _only(method, "GET")
            ctx = Ctx(self, method, sub, query, None, base_url, query.get("api-version"))
            with self.store.lock:
                return self.subscriptions.get(ctx, sub)
        lower = [p.lower() for p in rest]
        if len(rest) >= 2 and lower[0] == "providers":
            namespace = rest[1]
        elif len(rest) >= 4 and lower[0] == "resourcegroups" and lower[2] == "providers":
            namespace = rest[3]
        else:
            namespace = "Microsoft.Resources"
        canonical, pinned = self.api_version_for(namespace)
        version = query.get("api-version")
        if version is None:
            raise bad_request("MissingApiVersionParameter",
                              "The api-version query parameter (?api-version=) is required for all requests.")
        body = None
        if raw:
            try:
                body = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as e:
                raise bad_request("InvalidRequestFormat", f"Cannot parse the request body as JSON: {e}.")
        self.check_api_version(canonical, pinned, version, rest, lower, body)
        ctx = Ctx(self, method, sub, query, body, base_url, version)
        ctx.path = path
        with self.store.lock:
            return self.route(ctx, method, canonical, rest, lower)

    def check_api_version(self, namespace, pinned, version, rest, lower, body):
        """Any stable api-version the RP publishes (api_versions.py) is served; the body is
        still validated against the pinned version's schema. A malformed version is 400
        InvalidApiVersionParameter; a well-formed one the RP does not have is ARM's
        InvalidApiVersionParameter for its own Microsoft.Resources and the RP's
        NoRegisteredProviderFound for the others (a namespace api_versions.py does not list
        yet keeps to its pinned version and the InvalidApiVersionParameter answer)."""
        supported = api_versions.accepted(namespace, pinned)
        if version in supported:
            return
        listed = ", ".join(sorted(supported, reverse=True))
        if (namespace == "Microsoft.Resources" or namespace not in api_versions.STABLE
                or not api_versions.well_formed(version)):
            raise bad_request(
                "InvalidApiVersionParameter",
                f"The api-version '{version}' is invalid. The supported versions are '{listed}'.",
            )
        types = [p for i, p in enumerate(rest) if i % 2 == 0][2:] if lower[0] == "resourcegroups" else rest[2:3]
        location = body.get("location") if isinstance(body, dict) else None
        raise bad_request(
            "NoRegisteredProviderFound",
            f"No registered resource provider found for location '{normalize_location(location) or 'global'}' and API "
            f"version '{version}' for type '{'/'.join(types) or namespace}'. The supported api-versions are '{listed}'.",
        )

    def route(self, ctx, method, namespace, rest, lower):
        engine = self.engine
        n = len(rest)
        if n == 1 and lower[0] == "resourcegroups":
            _only(method, "GET")
            return self.groups.list(ctx)
        if n == 2 and lower[0] == "resourcegroups":
            return self.groups.handle(ctx, method, rest[1])
        if n == 1 and lower[0] == "resources":
            _only(method, "GET")
            return self.groups.list_resources(ctx)
        if n == 3 and lower[0] == "resourcegroups" and lower[2] == "resources":
            _only(method, "GET")
            return self.groups.list_resources(ctx, rest[1])
        if n == 2 and lower[0] == "operationresults":
            _only(method, "GET")
            ctx.api_version = ctx.query["api-version"]
            return engine.read_operation(ctx, "Microsoft.Resources", rest[1], "operationresults")
        if n >= 3 and lower[0] == "providers":
            tail, ltail = rest[2:], lower[2:]
            if len(tail) == 4 and ltail[0] == "locations" and ltail[2] in ("operationstatuses", "operationresults"):
                _only(method, "GET")
                return engine.read_operation(ctx, namespace, tail[3], ltail[2])
            if len(tail) == 1:
                action = self.provider_actions.get((namespace.lower(), ltail[0]))
                if action is not None:
                    _only(method, "POST")
                    return action(ctx)
                rtype = engine.lookup(namespace, tail)
                if rtype is not None:
                    _only(method, "GET")
                    return engine.list_by_subscription(ctx, rtype)
            raise self.unknown_type(ctx, namespace, tail)
        if n >= 5 and lower[0] == "resourcegroups" and lower[2] == "providers":
            ctx.rg_path = rest[1]
            segs = rest[4:]
            types, names = segs[0::2], segs[1::2]
            if len(segs) % 2 == 0:
                rtype = engine.lookup(namespace, types)
                if rtype is None:
                    raise self.unknown_type(ctx, namespace, types)
                if method == "PUT":
                    return engine.put(ctx, rtype, names)
                if method == "GET":
                    return engine.get(ctx, rtype, names)
                if method == "PATCH":
                    return engine.patch(ctx, rtype, names)
                if method == "DELETE":
                    return engine.delete(ctx, rtype, names)
                raise _method(method)
            rtype = engine.lookup(namespace, types)
            if rtype is not None:
                _only(method, "GET")
                return engine.list_children(ctx, rtype, names)
            owner = engine.lookup(namespace, types[:-1])
            if owner is not None and (method == "POST" or types[-1].lower() in owner.actions):
                return engine.action(ctx, owner, names, types[-1])
            raise self.unknown_type(ctx, namespace, types)
        raise not_found("NotFound", f"No HTTP resource was found that matches the request URI '{ctx.path}'.")

    def unknown_type(self, ctx, namespace, types):
        return bad_request(
            "InvalidResourceType",
            f"The resource type '{'/'.join(types)}' could not be found in the namespace '{namespace}' for api version "
            f"'{ctx.api_version}'.",
        )


def _optional_modules():
    """The namespaces beyond the core three (each a module of this package)."""
    found = []
    for name, cls in (("flexible", "Postgres"), ("flexible", "MySql"), ("network", "Network"),
                      ("compute", "Compute"), ("web", "Web"), ("cdn", "Cdn")):
        try:
            module = __import__(f"{__package__}.{name}", fromlist=[cls])
        except ModuleNotFoundError as e:
            if e.name != f"{__package__}.{name}":
                raise
            continue
        found.append(getattr(module, cls))
    return found


def _only(method, *allowed):
    if method not in allowed:
        raise _method(method)


def _method(method):
    return ArmError(405, "MethodNotAllowed", f"The requested resource does not support http method '{method}'.")


def make_handler(app):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "azure-contract-server"

        def log_message(self, fmt, *args):  # the request log is served, not printed
            pass

        def _send(self, status, body, headers=None, head=False):
            data = b"" if body is None else json.dumps(body, indent=1).encode()
            self.send_response(status)
            if body is not None:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-ms-request-id", str(uuid.uuid4()))
            client_id = self.headers.get("x-ms-client-request-id")
            if client_id:
                self.send_header("x-ms-client-request-id", client_id)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if not head:
                self.wfile.write(data)

        def _serve(self, method):
            url = urllib.parse.urlsplit(self.path)
            query = {}
            for k, v in urllib.parse.parse_qsl(url.query, keep_blank_values=True):
                query.setdefault(k, v)
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self.close_connection = True  # the unread body must not be taken for a request
                self._send(413, ArmError(413, "RequestEntityTooLarge", "The request body is too large.").body())
                return
            raw = self.rfile.read(length) if length else b""
            if url.path.startswith("/__contract/"):
                self._control(method, url.path, raw)
                return
            host = self.headers.get("Host") or ""
            if not re.fullmatch(r"[^:/]+:[0-9]+|\[[^]]+\]:[0-9]+", host):
                host = "%s:%d" % self.server.server_address[:2]
            base_url = f"http://{host}"
            headers = {k.lower(): v for k, v in self.headers.items()}
            extra = {}
            try:
                status, body, extra = app.dispatch(method, url.path, query, headers, raw, base_url)
            except ArmError as e:
                status, body = e.status, e.body()
            except Exception as e:  # a server bug: answer it loudly, never hang the client
                status, body = 500, ArmError(500, "InternalServerError", f"contract server bug: {e!r}").body()
            try:
                logged = json.loads(raw) if raw else None
            except ValueError:
                logged = raw.decode("utf-8", "replace")
            kept = {k: headers[k] for k in _LOGGED_HEADERS if k in headers}
            if "authorization" in headers:
                kept["authorization"] = headers["authorization"].split(" ", 1)[0]
            with app.store.lock:
                app.store.requests.append(
                    {"method": method, "path": url.path, "query": query, "headers": kept, "body": logged, "status": status}
                )
            self._send(status, body, extra, head=(method == "HEAD"))

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
                        polls = int(cfg.get("polls", app.store.polls))
                        size = int(cfg.get("pageSize", app.store.page_size))
                        name = str(cfg.get("subscriptionName", app.store.subscription_name))
                        if polls < 0 or size < 1 or not name:
                            raise ValueError((polls, size, name))
                    except (ValueError, TypeError, AttributeError) as e:
                        self._send(400, bad_request("InvalidConfig", f"config wants {{\"polls\": N >= 0, \"pageSize\": M >= 1}}: {e}").body())
                        return
                    app.store.polls, app.store.page_size = polls, size
                    app.store.subscription_name = name
                    self._send(200, {"polls": polls, "pageSize": size, "subscriptionName": name})
                elif method == "POST" and path == "/__contract/settle":
                    settled = 0
                    for op in list(app.store.operations.values()):
                        if not op.complete:
                            op.finish()
                            settled += 1
                    self._send(200, {"settled": settled})
                elif method == "POST" and path == "/__contract/fail-next":
                    try:
                        cfg = json.loads(raw or b"{}")
                        failure = {"code": str(cfg["code"]), "message": str(cfg["message"]),
                                   "status": int(cfg.get("status", 400))}
                    except (ValueError, KeyError, TypeError) as e:
                        self._send(400, bad_request("InvalidConfig", f"fail-next wants {{\"code\": C, \"message\": M}}: {e}").body())
                        return
                    app.store.fail_next = failure
                    self._send(200, failure)
                else:
                    self._send(404, not_found("NotFound", f"no control path {method} {path}").body())

        def do_GET(self):
            self._serve("GET")

        def do_HEAD(self):
            self._serve("HEAD")

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
