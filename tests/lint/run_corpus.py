#!/usr/bin/env python3
"""The lint corpus: every case of tests/lint/<dialect>.sql becomes one
revision; `mig lint --offline --json` must report exactly the rule ids the
case expects at warning or error level (info findings are listed apart).

Case format (see tests/lint/README.md):
    -- case: what it shows
    -- expect: PG001 PG021        (or: none)
    -- transaction: false         (optional)
    -- info: PG001                (optional: findings expected at info level)
    -- lock_timeout: none         (optional, PostgreSQL: no SET lock_timeout before the case)
    -- phase: contract            (optional: the revision is marked -- mig:phase contract)
    CREATE INDEX ...;
"""
import json
import os
import subprocess
import sys
import tempfile

MINIMUM = {"postgres": 80, "mysql": 30, "sqlite": 10}


def parse(path):
    cases, cur = [], None
    for lineno, line in enumerate(open(path, encoding="utf-8"), 1):
        if line.startswith("-- case:"):
            cur = {"name": line[8:].strip(), "line": lineno, "expect": None, "info": set(),
                   "tx": True, "timeout": True, "contract": False, "sql": []}
            cases.append(cur)
        elif cur is None or (not cur["sql"] and not line.strip()):
            continue
        elif line.startswith("-- expect:") and not cur["sql"]:
            v = line[10:].split()
            cur["expect"] = set() if v == ["none"] else set(v)
        elif line.startswith("-- info:") and not cur["sql"]:
            cur["info"] = set(line[8:].split())
        elif line.startswith("-- transaction: false") and not cur["sql"]:
            cur["tx"] = False
        elif line.startswith("-- lock_timeout: none") and not cur["sql"]:
            cur["timeout"] = False
        elif line.startswith("-- phase: contract") and not cur["sql"]:
            cur["contract"] = True
        else:
            cur["sql"].append(line)
    return cases


def statements(sql):
    return sum(1 for s in sql.split(";") if s.strip() and not all(
        l.strip().startswith("--") or not l.strip() for l in s.splitlines()))


def main():
    mig, dialect, corpus = sys.argv[1], sys.argv[2], sys.argv[3]
    cases = parse(corpus)
    fails = []
    total = 0
    with tempfile.TemporaryDirectory() as d:
        os.mkdir(os.path.join(d, "versions"))
        with open(os.path.join(d, "mig.ini"), "w") as f:
            f.write("[mig]\nscript_location = .\ndriver = %s\n" % dialect)
            if dialect == "sqlite":
                f.write("[lint]\nsqlite_version = 3.22.0\n")
        for i, c in enumerate(cases):
            if c["expect"] is None:
                fails.append("%s:%d: case without '-- expect:'" % (corpus, c["line"]))
                continue
            sql = "".join(c["sql"])
            total += statements(sql)
            rev = "c%03d" % i
            with open(os.path.join(d, "versions", rev + "_case.sql"), "w") as f:
                f.write("-- mig:revision %s\n-- mig:down_revision none\n" % rev)
                if not c["tx"]:
                    f.write("-- mig:transaction false\n")
                if c["contract"]:
                    f.write("-- mig:phase contract\n")
                # PostgreSQL cases run with a lock_timeout (so PG021 speaks only where a case asks)
                pre = "SET lock_timeout = '2s';\n" if dialect == "postgres" and c["timeout"] else ""
                f.write("\n-- mig:upgrade\n%s%s\n-- mig:downgrade\nSELECT 1;\n" % (pre, sql))
        p = subprocess.run([mig, "-c", os.path.join(d, "mig.ini"), "lint", "--offline", "--json"],
                           capture_output=True, text=True, cwd=d)
        if p.returncode not in (0, 3):
            print("mig lint failed (exit %d): %s" % (p.returncode, p.stderr), file=sys.stderr)
            return 1
        doc = json.loads(p.stdout)
        found, info = {}, {}
        for f in doc["findings"]:
            into = info if f["level"] == "info" else found
            into.setdefault(f["revision"], set()).add(f["rule"])
        for i, c in enumerate(cases):
            if c["expect"] is None:
                continue
            rev = "c%03d" % i
            got = found.get(rev, set())
            if got != c["expect"]:
                fails.append("%s:%d: %s: expected %s, got %s" % (
                    corpus, c["line"], c["name"], sorted(c["expect"]) or "none", sorted(got) or "none"))
            if c["info"] and not c["info"] <= info.get(rev, set()):
                fails.append("%s:%d: %s: expected info %s, got %s" % (
                    corpus, c["line"], c["name"], sorted(c["info"]), sorted(info.get(rev, set()))))
    if total < MINIMUM[dialect]:
        fails.append("%s: %d statements, want at least %d" % (corpus, total, MINIMUM[dialect]))
    for f in fails:
        print("FAIL: " + f, file=sys.stderr)
    print("%s: %d cases, %d statements, %d failures" % (dialect, len(cases), total, len(fails)))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
