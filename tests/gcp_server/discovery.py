"""Google's discovery documents: the routes of each API and a validator for request bodies.

Discovery schemas are not JSON Schema; the validator walks `schemas` by `$ref`, `type`,
`enum`, `items`, `additionalProperties` and `format`, and rejects what Google's front end
rejects: unknown fields, wrong JSON types, values outside an enum. It also rejects fields
the document marks output-only (`[Output Only]` in a Compute description, `readOnly` in
Cloud SQL's): the real APIs often ignore them silently, and a client that sends them has
misread the API, which is what a contract test should catch.
"""

import importlib.util
import json
import re
from pathlib import Path

from .errors import invalid

# Query parameters every Google API accepts besides a method's own.
_INT_FORMATS = {"int32", "uint32"}
_LONG_FORMATS = {"int64", "uint64"}


def documents_dir():
    """The discovery documents shipped in google-api-python-client (not imported: only its files)."""
    spec = importlib.util.find_spec("googleapiclient")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "gcp_server: google-api-python-client is not installed "
            "(scripts/emulators.sh install_gcp_contract_server installs it)"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "discovery_cache" / "documents"


# System parameters that exist only in their `$` form (no bare query name).
DOLLAR_ONLY_SYSTEM_PARAMS = {"$apiVersion", "$ct", "$.xgafv"}


class Api:
    """One discovery document: its routes and schemas."""

    def __init__(self, doc, prefix, output_only):
        self.doc = doc
        self.name = doc["name"]
        self.schemas = doc["schemas"]
        self.global_params = set(doc.get("parameters", {}))
        self._output_only = output_only
        self.routes = []  # (http method, compiled path regex, resource, method name, method doc)
        # Nested resources (Cloud Scheduler's projects.locations.jobs) are named by their
        # innermost key ("jobs").
        pending = list(doc["resources"].items())
        while pending:
            resource, rdoc = pending.pop(0)
            pending.extend(rdoc.get("resources", {}).items())
            for name, mdoc in rdoc.get("methods", {}).items():
                path = prefix + mdoc.get("flatPath", mdoc["path"])
                pattern = re.sub(r"\{\+?([A-Za-z0-9_]+)\}", r"(?P<\1>[^/]+)", re.escape(path).replace(r"\{", "{").replace(r"\}", "}"))
                self.routes.append(
                    (mdoc["httpMethod"], re.compile("^/" + pattern + "$"), resource, name, mdoc)
                )

    def route(self, http_method, path):
        """(resource, method, method doc, path params) of the method serving this request, or
        None; a path that exists under another HTTP method gives ("", "", None, {})."""
        other = False
        for verb, rx, resource, name, mdoc in self.routes:
            m = rx.match(path)
            if m:
                if verb == http_method:
                    return resource, name, mdoc, m.groupdict()
                other = True
        return ("", "", None, {}) if other else None

    def check_query(self, mdoc, query):
        """Unknown query parameters are rejected, as Google's front end does."""
        allowed = {k for k, p in mdoc.get("parameters", {}).items() if p.get("location") == "query"}
        for key in query:
            # Google's system parameters (cloud.google.com/apis/docs/system-parameters):
            # the discovery document's, also with a `$` prefix (`$alt`), and those only the
            # `$` form names, such as `$apiVersion`, which google-cloud-rust sends.
            system = (
                key in self.global_params
                or key in DOLLAR_ONLY_SYSTEM_PARAMS
                or (key.startswith("$") and key[1:] in self.global_params)
            )
            if key not in allowed and not system:
                raise invalid(
                    f'Invalid JSON payload received. Unknown name "{key}": Cannot bind query parameter. '
                    f"Field '{key}' could not be found in request message."
                )

    def is_output_only(self, prop):
        return self._output_only(prop)

    def validate(self, schema_name, value, where="resource"):
        """Validate `value` against schema `schema_name`; raises ApiError (400) on the first fault."""
        self._check({"$ref": schema_name}, value, where)

    def _check(self, prop, value, where):
        if "$ref" in prop:
            schema = self.schemas[prop["$ref"]]
            if schema.get("type") == "object" and "properties" in schema:
                self._object(schema, value, where)
                return
            prop = schema
        kind = prop.get("type")
        if kind == "any" or kind is None:
            return
        if kind == "object":
            if "properties" in prop:
                self._object(prop, value, where)
                return
            if not isinstance(value, dict):
                raise _type_error(where, "TYPE_MESSAGE", value)
            inner = prop.get("additionalProperties")
            for k, v in value.items():
                if inner is not None:
                    self._check(inner, v, f"{where}[{k}]")
            return
        if kind == "array":
            if not isinstance(value, list):
                raise _type_error(where, "TYPE_MESSAGE", value, "Starting an object on a scalar field")
            for i, item in enumerate(value):
                self._check(prop.get("items", {}), item, f"{where}[{i}]")
            return
        if kind == "boolean":
            if not isinstance(value, bool):
                raise _type_error(where, "TYPE_BOOL", value)
            return
        if kind == "integer":
            if isinstance(value, bool) or not _is_integer(value):
                raise _type_error(where, "TYPE_INT32", value)
            return
        if kind == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise _type_error(where, "TYPE_DOUBLE", value)
            return
        if kind == "string":
            fmt = prop.get("format")
            if fmt in _LONG_FORMATS:
                # Google takes 64-bit integers as JSON strings or numbers.
                if isinstance(value, bool) or not _is_integer(value):
                    raise _type_error(where, "TYPE_INT64", value)
                if fmt == "uint64" and int(value) < 0:
                    raise _type_error(where, "TYPE_UINT64", value)
                return
            if "enum" in prop and isinstance(value, int) and not isinstance(value, bool):
                # proto3 JSON takes an enum's number too (google-cloud-rust sends numbers).
                if not 0 <= value < len(prop["enum"]):
                    raise invalid(f"Invalid value at '{where}' (TYPE_ENUM), {value}")
                return
            if not isinstance(value, str):
                raise _type_error(where, "TYPE_STRING", value)
            if "enum" in prop and value not in prop["enum"]:
                raise invalid(f"Invalid value at '{where}' (TYPE_ENUM), \"{value}\"")
            return
        raise invalid(f"Invalid value at '{where}': unsupported discovery type {kind}")

    def _object(self, schema, value, where):
        if not isinstance(value, dict):
            raise _type_error(where, "TYPE_MESSAGE", value, "Starting an object on a scalar field")
        props = schema.get("properties", {})
        for key, v in value.items():
            if key not in props:
                raise invalid(
                    f'Invalid JSON payload received. Unknown name "{key}" at \'{where}\': Cannot find field.'
                )
            prop = props[key]
            if self.is_output_only(prop):
                raise invalid(
                    f"Invalid value for field '{where}.{key}': the field is output only "
                    f"and cannot be set by a request."
                )
            if v is None:
                continue  # JSON null: the field is unset
            self._check(prop, v, f"{where}.{key}")


def _is_integer(value):
    if isinstance(value, int):
        return True
    return isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value) is not None


def _type_error(where, type_name, value, detail=None):
    shown = json.dumps(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return invalid(
        f"Invalid value at '{where}' ({type_name}), {shown}" + (f": {detail}" if detail else "")
    )


def compute_output_only(prop):
    return "[Output Only]" in prop.get("description", "")


def sqladmin_output_only(prop):
    return bool(prop.get("readOnly"))


def load(directory=None):
    """The Compute Engine v1 and Cloud SQL Admin v1 documents as (compute, sqladmin)."""
    d = Path(directory) if directory else documents_dir()
    with open(d / "compute.v1.json", encoding="utf-8") as f:
        compute = Api(json.load(f), "compute/v1/", compute_output_only)
    with open(d / "sqladmin.v1.json", encoding="utf-8") as f:
        sqladmin = Api(json.load(f), "", sqladmin_output_only)
    return compute, sqladmin


def scheduler_output_only(prop):
    return bool(prop.get("readOnly"))


def load_scheduler(directory=None):
    """The Cloud Scheduler v1 document (output-only fields carry `readOnly`)."""
    d = Path(directory) if directory else documents_dir()
    with open(d / "cloudscheduler.v1.json", encoding="utf-8") as f:
        return Api(json.load(f), "", scheduler_output_only)


def load_functions(directory=None):
    """The Cloud Functions v2 document (output-only fields carry `readOnly`)."""
    d = Path(directory) if directory else documents_dir()
    with open(d / "cloudfunctions.v2.json", encoding="utf-8") as f:
        return Api(json.load(f), "", scheduler_output_only)
