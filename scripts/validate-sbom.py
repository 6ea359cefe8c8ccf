#!/usr/bin/env python3
"""Reads a CycloneDX JSON document on stdin and checks it with the CycloneDX project's own
Python library (PyPI's cyclonedx-python-lib; `make test-tools` installs it into
target/sbom-venv): its strict JSON validator against the CycloneDX 1.5 schema, then every
component's package URL read back by packageurl-python (the reference implementation)
must be the same text, that is, in its canonical form. Prints each component as one JSON
line {"name", "version", "purl", "type", "purl_name", "purl_version"}; a document that fails
either check exits non-zero with the reasons."""

import json
import sys

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packageurl import PackageURL

text = sys.stdin.read()
errors = JsonStrictValidator(SchemaVersion.V1_5).validate_str(text, all_errors=True)
if errors:
    for error in errors:
        reason = getattr(error.data, "message", error)
        where = "/".join(str(p) for p in getattr(error.data, "absolute_path", []))
        print(f"schema: {reason} (at /{where})", file=sys.stderr)
    sys.exit(1)

document = json.loads(text)
failed = False
for component in document.get("components", []):
    purl = component.get("purl", "")
    try:
        parsed = PackageURL.from_string(purl)
    except ValueError as error:
        print(f"purl {purl!r}: {error}", file=sys.stderr)
        failed = True
        continue
    if parsed.to_string() != purl:
        print(f"purl {purl!r} is not canonical: {parsed.to_string()!r}", file=sys.stderr)
        failed = True
    print(json.dumps({
        "name": component["name"],
        "version": component.get("version"),
        "purl": purl,
        "type": parsed.type,
        "purl_name": parsed.name,
        "purl_version": parsed.version,
    }))
sys.exit(1 if failed else 0)
