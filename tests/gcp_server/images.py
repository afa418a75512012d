"""The public images the catalog names (providers/core/catalog/images.toml, gcp column),
each answered as its family's newest image."""

import tomllib
import zlib
from pathlib import Path

CATALOG = Path(__file__).resolve().parents[2] / "providers" / "core" / "catalog" / "images.toml"


def load(path=CATALOG):
    """{(project, family): image body} for every gcp entry of the catalog."""
    with open(path, "rb") as f:
        catalog = tomllib.load(f)
    images = {}
    for entry in catalog.get("image", []):
        gcp = entry.get("gcp") or {}
        if "project" not in gcp or "family" not in gcp:
            continue  # `unavailable` on GCP
        project, family = gcp["project"], gcp["family"]
        name = f"{family}-v20261117"
        arch = "ARM64" if entry.get("architecture") in ("arm64", "aarch64") else "X86_64"
        images[(project, family)] = {
            "kind": "compute#image",
            "id": str(zlib.crc32(name.encode()) * 1000003 + 4_000_000_000_000_000_000),
            "name": name,
            "family": family,
            "description": entry.get("os", family),
            "status": "READY",
            "architecture": arch,
            "sourceType": "RAW",
            "diskSizeGb": "10",
            "archiveSizeBytes": "1073741824",
            "creationTimestamp": "2026-11-17T00:00:00.000-08:00",
            "selfLink": f"https://www.googleapis.com/compute/v1/projects/{project}/global/images/{name}",
            "licenses": [f"https://www.googleapis.com/compute/v1/projects/{project}/global/licenses/{family}"],
        }
    return images
