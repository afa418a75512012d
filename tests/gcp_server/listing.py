"""Compute list answers: `filter` (the two syntaxes Compute accepts) and page tokens."""

import base64
import fnmatch
import re

from .errors import ApiError, invalid

MAX_RESULTS = 500


def page(items, query, kind, id_path, self_link):
    """One page of `items` (sorted by name) as Compute answers a list call."""
    items = sorted(items, key=lambda r: r.get("name", ""))
    if query.get("filter"):
        match = compile_filter(query["filter"])
        items = [r for r in items if match(r)]
    try:
        size = int(query.get("maxResults", MAX_RESULTS))
    except ValueError:
        raise invalid(f"Invalid value for field 'maxResults': '{query['maxResults']}'.")
    if not 0 <= size <= MAX_RESULTS:
        raise invalid(f"Invalid value for field 'maxResults': '{size}'. Must be less than or equal to 500.")
    size = size or MAX_RESULTS
    start = 0
    if query.get("pageToken"):
        start = _decode_token(query["pageToken"])
    body = {"kind": kind, "id": id_path, "selfLink": self_link}
    chunk = items[start : start + size]
    if chunk:
        body["items"] = chunk  # Compute leaves `items` out of an empty page
    if start + size < len(items):
        body["nextPageToken"] = base64.urlsafe_b64encode(f"offset:{start + size}".encode()).decode()
    return body


def _decode_token(token):
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        if not text.startswith("offset:"):
            raise ValueError(text)
        return int(text[len("offset:") :])
    except (ValueError, UnicodeDecodeError):
        raise invalid(f"Invalid value for field 'pageToken': '{token}'. Invalid page token.")


def _field(resource, path):
    value = resource
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


# `name eq 'regex'` / `labels.env ne prod`, optionally several in parentheses.
_REGEX_TERM = re.compile(r"\s*\(?\s*([A-Za-z_][A-Za-z0-9_.-]*)\s+(eq|ne)\s+('([^']*)'|\"([^\"]*)\"|(\S+))\s*\)?\s*")
# `name = "x"`, `labels.env != prod`, `name : inst-*`, joined by spaces or AND.
_EXPR_TERM = re.compile(r"\s*\(?\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*(=|!=|:)\s*(\"([^\"]*)\"|'([^']*)'|([^\s()]+))\s*\)?\s*")


def compile_filter(text):
    """A predicate for a Compute filter; 400 for a filter Compute would reject, 501 for
    syntax Compute accepts that this server does not implement (OR, comparisons)."""
    if re.search(r"\bOR\b", text) or re.search(r"[<>]", text):
        raise ApiError(501, "notImplemented", f"the contract server does not implement this filter: {text}")
    terms = []
    rest = text.strip()
    regex_form = re.search(r"\s(eq|ne)\s", rest) is not None
    pattern = _REGEX_TERM if regex_form else _EXPR_TERM
    while rest:
        m = pattern.match(rest)
        if not m:
            raise invalid(f"Invalid value for field 'filter': '{text}'. Invalid list filter expression.")
        value = next(g for g in m.groups()[3:] if g is not None)
        if m.groups()[5] is not None and m.group(0).lstrip().startswith("(") and value.endswith(")"):
            value = value[:-1]  # a bare value took the closing parenthesis
        terms.append((m.group(1), m.group(2), value))
        rest = rest[m.end() :]
        if rest.startswith("AND "):
            rest = rest[4:]

    def match(resource):
        for field, op, value in terms:
            actual = _field(resource, field)
            shown = "" if actual is None else (str(actual).lower() if isinstance(actual, bool) else str(actual))
            if op in ("eq", "ne"):
                hit = re.fullmatch(value, shown) is not None if actual is not None else False
                if hit != (op == "eq"):
                    return False
            elif op == "=":
                if actual is None or not fnmatch.fnmatchcase(shown, value):
                    return False
            elif op == "!=":
                if actual is not None and fnmatch.fnmatchcase(shown, value):
                    return False
            else:  # `:` has: the field is present (`*`) or matches
                if actual is None or (value != "*" and not fnmatch.fnmatchcase(shown, value)):
                    return False
        return True

    return match
