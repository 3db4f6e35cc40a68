"""
Check one `mig --json` document (stdin) against the JSON Schema of its
command in SCHEMA_DIR (schema/<command>.json, schema/mig.json when it names
no command), and that it carries an error exactly when the run failed.
Run with /usr/bin/python3 so Debian's python3-jsonschema is the one used.

usage: json_valid.py SCHEMA_DIR EXIT_STATUS < document
"""
import json
import os
import sys

try:
    import jsonschema
except ImportError:
    sys.exit("python3-jsonschema is missing: run scripts/deps.sh --test")


def main():
    schema_dir, rc = sys.argv[1], int(sys.argv[2])
    text = sys.stdin.read()
    try:
        doc = json.loads(text)
    except ValueError as e:
        sys.exit("not one JSON document (%s): %r" % (e, text[:300]))
    if not isinstance(doc, dict):
        sys.exit("the document is not an object")
    name = doc.get("command")
    path = os.path.join(schema_dir, (name if isinstance(name, str) else "mig") + ".json")
    if not os.path.exists(path):
        sys.exit("no schema for command %r (%s)" % (name, path))
    with open(path) as f:
        schema = json.load(f)
    cls = jsonschema.Draft202012Validator
    cls.check_schema(schema)
    errors = sorted(cls(schema).iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        sys.exit("%s: %s" % (os.path.basename(path), "; ".join(
            "at /%s: %s" % ("/".join(map(str, e.path)), e.message) for e in errors[:5])))
    if ("error" in doc) != (rc != 0):
        sys.exit("exit status %d but the document %s an error" % (rc, "has" if "error" in doc else "lacks"))
    if rc != 0 and doc["error"]["exit"] != rc:
        sys.exit("error.exit is %d, the exit status %d" % (doc["error"]["exit"], rc))


main()
