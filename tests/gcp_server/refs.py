"""Compute resource names and references (full URLs, partial URLs, and the forms between)."""

import re

from .errors import invalid, not_found

# The RFC 1035 label Compute requires of resource names.
NAME = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

_GLOBAL_REF = re.compile(
    r"^(?:.*/compute/(?:v1|beta|alpha)/)?(?:projects/(?P<project>[^/]+)/)?global/(?P<collection>[A-Za-z]+)/(?P<name>[^/]+)$"
)
_IMAGE_FAMILY = re.compile(
    r"^(?:.*/compute/(?:v1|beta|alpha)/)?(?:projects/(?P<project>[^/]+)/)?global/images/family/(?P<family>[^/]+)$"
)
_MACHINE_TYPE = re.compile(
    r"^(?:.*/compute/(?:v1|beta|alpha)/)?(?:projects/(?P<project>[^/]+)/)?zones/(?P<zone>[^/]+)/machineTypes/(?P<name>[^/]+)$"
)
# Machine type families and shapes Compute offers (the catalog uses e2-*); anything else
# is answered as Compute answers an unknown machine type.
_MACHINE_TYPE_NAME = re.compile(
    r"(e2-(micro|small|medium|(standard|highmem|highcpu)-(2|4|8|16|32))"
    r"|(n1|n2|n2d|c2|c2d|c3|t2d)-(standard|highmem|highcpu)-[0-9]{1,3})"
)


def check_name(name, field="resource.name"):
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise invalid(
            f"Invalid value for field '{field}': '{name}'. Must be a match of regex "
            "'(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'"
        )


def check_request_id(request_id):
    if not UUID.fullmatch(request_id) or set(request_id) <= {"0", "-"}:
        raise invalid(f"Invalid value for field 'requestId': '{request_id}'. Must be a valid UUID.")


def global_ref(value, project, collection, field):
    """The (project, name) a reference to a global `collection` resource names; 400 when it
    names something else."""
    m = _GLOBAL_REF.match(value) if isinstance(value, str) else None
    if not m or m.group("collection") != collection:
        raise invalid(f"Invalid value for field '{field}': '{value}'. The URL is malformed.")
    return m.group("project") or project, m.group("name")


def image_family_ref(value, field):
    m = _IMAGE_FAMILY.match(value) if isinstance(value, str) else None
    if m:
        return m.group("project"), m.group("family"), True
    m = _GLOBAL_REF.match(value) if isinstance(value, str) else None
    if m and m.group("collection") == "images":
        return m.group("project"), m.group("name"), False
    raise invalid(f"Invalid value for field '{field}': '{value}'. The URL is malformed.")


def machine_type(value, project, zone, field):
    """The machine type name a reference names, checked against the instance's zone."""
    m = _MACHINE_TYPE.match(value) if isinstance(value, str) else None
    if not m:
        raise invalid(f"Invalid value for field '{field}': '{value}'. The URL is malformed.")
    if m.group("zone") != zone:
        raise invalid(
            f"Invalid value for field '{field}': '{value}'. Machine type zone '{m.group('zone')}' "
            f"does not match the instance zone '{zone}'."
        )
    if (m.group("project") or project) != project:
        raise invalid(f"Invalid value for field '{field}': '{value}'. Cross-project machine types are not allowed.")
    if not _MACHINE_TYPE_NAME.fullmatch(m.group("name")):
        raise not_found(f"The resource 'projects/{project}/zones/{zone}/machineTypes/{m.group('name')}' was not found")
    return m.group("name")
