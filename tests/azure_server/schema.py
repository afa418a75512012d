"""Azure's OpenAPI (swagger 2.0) definitions, as kept under schemas/, and a strict validator.

Each fixture schemas/<namespace>.json holds trimmed copies of the spec documents of one
namespace (and of the common types they refer to), keyed by their path in the
Azure/azure-rest-api-specs repository, so a `$ref` such as
`../../../../../common-types/resource-management/v1/types.json#/definitions/Resource`
resolves exactly as it does in the repository.

The validator rejects what a strict reading of the document rejects: properties the
definition does not name (swagger leaves `additionalProperties` unset: here that means
none are allowed, which is how a contract test catches a misspelt or misplaced property;
`x-ms-client-flatten` is an SDK-side convenience, so the wire shape checked is the nested
one), `readOnly` properties sent by the client, missing `required` ones, wrong JSON
types (no string for a number or a boolean), `enum` values (compared case-insensitively,
as ARM does), `pattern`, `minLength`/`maxLength`, `minimum`/`maximum`/`multipleOf`, and
the `duration` (ISO 8601) and `date-time` formats. `allOf` and `$ref` are resolved, and a
polymorphic value (`discriminator`) is checked against the subtype it names.
A `$ref` to a definition the fixture leaves out is answered 501: the client sent
something the contract server was not given the schema of.
"""

import datetime
import json
import posixpath
import re
from pathlib import Path

from .errors import ArmError, bad_request, invalid_content, not_implemented

SCHEMAS_DIR = Path(__file__).resolve().parent / "schemas"

_DURATION = re.compile(
    r"P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?"
    r"(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?"
)
_INT32 = (-(2**31), 2**31 - 1)


def duration_seconds(text):
    """Seconds of an ISO 8601 duration (years and months taken as 365 and 30 days), or None."""
    m = re.fullmatch(
        r"P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?"
        r"(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?",
        text or "",
    )
    if not m or text in ("P", "PT") or text.endswith("T"):
        return None
    y, mo, w, d, h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    return (((y * 365 + mo * 30 + w * 7 + d) * 24 + h) * 60 + mi) * 60 + s


def _date_time_ok(text):
    try:
        datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return True
    except ValueError:
        return False


class Schemas:
    """Every fixture under `directory`: its documents by repository path, and the
    api-version each namespace pins."""

    def __init__(self, directory=SCHEMAS_DIR):
        self.documents = {}
        self.api_versions = {}
        self.sources = {}
        for path in sorted(Path(directory).glob("*.json")):
            with open(path, encoding="utf-8") as f:
                fixture = json.load(f)
            namespace = path.stem
            self.api_versions[namespace.lower()] = (namespace, fixture["apiVersion"])
            self.sources[namespace] = fixture["_source"]
            for doc_path, doc in fixture["documents"].items():
                known = self.documents.setdefault(doc_path, {"definitions": {}, "parameters": {}})
                known["definitions"].update(doc.get("definitions", {}))
                known["parameters"].update(doc.get("parameters", {}))

    def document(self, suffix):
        """The path of the one document whose path ends with `suffix`."""
        hits = [p for p in self.documents if p.endswith("/" + suffix) or p == suffix]
        if len(hits) != 1:
            raise KeyError(f"{suffix}: {len(hits)} documents match")
        return hits[0]

    def parameter(self, doc_suffix, name):
        return self.documents[self.document(doc_suffix)]["parameters"][name]

    def definition(self, doc_suffix, name):
        """A definition of a document, as the fixture holds it (for answers built to it)."""
        return self.documents[self.document(doc_suffix)]["definitions"][name]

    def _resolve(self, doc, ref):
        """(document path, schema) that `ref`, written in document `doc`, names."""
        file_part, _, pointer = ref.partition("#")
        target = doc
        if file_part:
            target = posixpath.normpath(posixpath.join(posixpath.dirname(doc), file_part))
        parts = [p for p in pointer.split("/") if p]
        if len(parts) != 2 or parts[0] != "definitions":
            raise not_implemented(f"unsupported $ref {ref} in {doc}")
        definitions = self.documents.get(target, {}).get("definitions", {})
        if parts[1] not in definitions:
            raise not_implemented(
                f"the schema fixture leaves out {target}#/definitions/{parts[1]}; add it from the "
                "spec to send this property"
            )
        return target, definitions[parts[1]], parts[1]

    def validate(self, doc_suffix, definition, value, open_enums=()):
        """Validate a request body against `definition` of the document ending in
        `doc_suffix`; raises ArmError (400) at the first fault. `open_enums`: paths of
        properties whose enum the provider does not enforce (the document lists a frozen
        subset, as Compute's vmSize); the caller checks those itself."""
        doc = self.document(doc_suffix)
        self._open = set(open_enums)
        self._check(doc, {"$ref": f"#/definitions/{definition}"}, value, "")

    # --- the walk --------------------------------------------------------------------

    def _flatten(self, doc, schema):
        """The properties (name -> (doc, schema)), required names and additionalProperties
        of `schema` with its allOf merged in."""
        props, required, additional = {}, set(), None
        for part in schema.get("allOf", []):
            pdoc, pschema = doc, part
            if "$ref" in part:
                pdoc, pschema, _ = self._resolve(doc, part["$ref"])
            p, r, a = self._flatten(pdoc, pschema)
            props.update(p)
            required |= r
            additional = additional if a is None else (pdoc, a)
        for name, prop in schema.get("properties", {}).items():
            props[name] = (doc, prop)
        required |= set(schema.get("required", []))
        if "additionalProperties" in schema:
            additional = (doc, schema["additionalProperties"])
        return props, required, additional

    def _check(self, doc, schema, value, where, type_name=None):
        read_only = bool(schema.get("readOnly"))
        while "$ref" in schema:
            doc, target, type_name = self._resolve(doc, schema["$ref"])
            extra = {k: v for k, v in schema.items() if k not in ("$ref", "description")}
            schema = {**target, **extra} if extra else target
            read_only = read_only or bool(schema.get("readOnly"))
        if read_only and where:
            raise invalid_content(f"The property '{where}' is read-only and cannot be set by a request. Path '{where}'", where)
        if "discriminator" in schema and isinstance(value, dict):
            doc, schema, type_name = self._polymorphic(doc, schema, value, where, type_name)
        kind = schema.get("type")
        if kind is None and ("properties" in schema or "allOf" in schema):
            kind = "object"
        if kind is None:
            return
        if kind == "object":
            self._object(doc, schema, value, where, type_name)
        elif kind == "array":
            if not isinstance(value, list):
                raise _convert(value, "array", where)
            for i, item in enumerate(value):
                if item is None:
                    continue
                self._check(doc, schema.get("items", {}), item, f"{where}[{i}]")
        elif kind == "boolean":
            if not isinstance(value, bool):
                raise _convert(value, "System.Boolean", where)
        elif kind in ("integer", "number"):
            self._number(schema, value, where, kind)
        elif kind == "string":
            self._string(schema, value, where)
        elif kind == "file":
            return
        else:
            raise not_implemented(f"unsupported swagger type {kind} at '{where}'")

    def _polymorphic(self, doc, schema, value, where, type_name):
        """The subtype a polymorphic value names by its discriminator: the definition of the
        same document that extends `type_name` (allOf) with that `x-ms-discriminator-value`
        (else its own name). A value the base's enum allows but the fixture has no subtype
        for is answered 501; one it does not allow fails on the base's enum."""
        field = schema["discriminator"]
        tag = value.get(field)
        if not isinstance(tag, str) or type_name is None:
            return doc, schema, type_name
        base_ref = f"#/definitions/{type_name}"
        for name, sub in self.documents.get(doc, {}).get("definitions", {}).items():
            extends = any(part.get("$ref") == base_ref for part in sub.get("allOf", []))
            if extends and str(sub.get("x-ms-discriminator-value", name)).lower() == tag.lower():
                return doc, sub, name
        allowed = ((schema.get("properties") or {}).get(field) or {}).get("enum") or []
        if tag.lower() in {str(a).lower() for a in allowed}:
            path = f"{where}.{field}" if where else field
            raise not_implemented(
                f"the schema fixture leaves out the {type_name} subtype '{tag}' ({path}); add it from the spec to send it"
            )
        return doc, schema, type_name

    def _object(self, doc, schema, value, where, type_name):
        if not isinstance(value, dict):
            raise _convert(value, type_name or "object", where)
        props, required, additional = self._flatten(doc, schema)
        free_form = not props and additional is None and "properties" not in schema and "allOf" not in schema
        for key, v in value.items():
            path = f"{where}.{key}" if where else key
            if key in props:
                if v is not None:  # JSON null: the property is not set
                    pdoc, prop = props[key]
                    self._check(pdoc, prop, v, path)
            elif additional is not None and additional[1] is not False:
                adoc, aschema = additional
                if v is not None and isinstance(aschema, dict):
                    self._check(adoc, aschema, v, path)
            elif not free_form:
                raise invalid_content(
                    f"Could not find member '{key}' on object of type '{type_name or 'object'}'. Path '{path}'", path
                )
        for name in sorted(required):
            if value.get(name) is None:
                path = f"{where}.{name}" if where else name
                if name == "location" and not where:
                    raise bad_request("LocationRequired", "The location property is required for this definition.")
                raise invalid_content(f"Required property '{name}' not found in JSON. Path '{path}'", path)

    def _number(self, schema, value, where, kind):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _convert(value, "System.Int32" if kind == "integer" else "System.Double", where)
        if kind == "integer":
            if isinstance(value, float) and not value.is_integer():
                raise _convert(value, "System.Int32", where)
            if schema.get("format") == "int32" and not _INT32[0] <= value <= _INT32[1]:
                raise _convert(value, "System.Int32", where)
        if "minimum" in schema and value < schema["minimum"]:
            raise _range(where, value, f"greater than or equal to {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise _range(where, value, f"less than or equal to {schema['maximum']}")
        step = schema.get("multipleOf")
        if step and (value / step) != int(value / step):
            raise _range(where, value, f"a multiple of {step}")

    def _string(self, schema, value, where):
        if not isinstance(value, str):
            raise _convert(value, "System.String", where)
        if "enum" in schema and where not in getattr(self, "_open", ()):
            allowed = schema["enum"]
            if value.lower() not in {str(e).lower() for e in allowed}:
                raise invalid_content(
                    f"Requested value '{value}' was not found. The allowed values are: {', '.join(map(str, allowed))}. Path '{where}'",
                    where,
                )
        if "minLength" in schema and len(value) < schema["minLength"]:
            raise _range(where, value, f"at least {schema['minLength']} characters long")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise _range(where, value, f"at most {schema['maxLength']} characters long")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            raise invalid_content(f"The value '{value}' does not match the pattern '{schema['pattern']}'. Path '{where}'", where)
        fmt = schema.get("format")
        if fmt == "duration" and not _DURATION.fullmatch(value):
            raise _convert(value, "System.TimeSpan", where)
        if fmt == "date-time" and not _date_time_ok(value):
            raise _convert(value, "System.DateTime", where)


def _convert(value, type_name, where):
    shown = json.dumps(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return invalid_content(f"Error converting value {shown} to type '{type_name}'. Path '{where}'", where)


def _range(where, value, what):
    return ArmError(
        400,
        "InvalidRequestContent",
        f"The request content was invalid: the value {json.dumps(value)} of '{where}' must be {what}.",
        where,
    )
