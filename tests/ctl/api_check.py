#!/usr/bin/python3
"""Check recorded condod exchanges against docs/api.yaml (OpenAPI 3.1).

EXCHANGES is a directory of what tests/ctl/run.sh recorded: X.meta (method,
path, status and content type, a line each) and X.body, the reply.  Every exchange must match a path of the
description (literal segments before {parameters}), a method it lists, a
status that method lists, and, for JSON replies, the reply's schema.
Prints one line per problem and a summary; exit status 1 on any problem.
   api_check.py docs/api.yaml EXCHANGES-DIR
Debian's python3-yaml and python3-jsonschema (scripts/deps.sh)."""
import glob
import json
import os
import sys

import jsonschema
import yaml


def match(spec_paths, path):
    segs = path.split("?")[0].strip("/").split("/")
    best = None
    for tmpl in spec_paths:
        t = tmpl.strip("/").split("/")
        if len(t) != len(segs):
            continue
        literal = 0
        for a, b in zip(t, segs):
            if a.startswith("{"):
                continue
            if a != b:
                break
            literal += 1
        else:
            if best is None or literal > best[0]:
                best = (literal, tmpl)
    return best[1] if best else None


def main():
    spec = yaml.safe_load(open(sys.argv[1]))
    problems = checked = 0
    resolver = jsonschema.RefResolver.from_schema(spec)
    metas = sorted(glob.glob(os.path.join(sys.argv[2], "*.meta")))
    for meta in metas:
        method, path, status, ctype = open(meta).read().split("\n")[:4]
        ex = {"method": method, "path": path, "status": int(status), "type": ctype,
              "body": open(meta[:-5] + ".body", errors="replace").read()}
        where = "%s %s -> %s" % (ex["method"], ex["path"], ex["status"])
        tmpl = match(spec["paths"], ex["path"])
        op = spec["paths"].get(tmpl, {}).get(ex["method"].lower()) if tmpl else None
        if tmpl is None and ex["status"] == 404:
            checked += 1  # no such path: 404 is the answer
            continue
        if op is None:
            print("undocumented: %s (no %s)" % (where, "method" if tmpl else "path"))
            problems += 1
            continue
        resp = op["responses"].get(str(ex["status"]))
        if resp is None and ex["status"] in (401, 429) and spec.get("security"):
            # every request may fail authentication or hit its limit
            resp = {"$ref": "#/components/responses/Error"}
        if resp is None:
            print("undocumented status: %s (%s lists %s)" % (where, tmpl, sorted(op["responses"])))
            problems += 1
            continue
        if "$ref" in resp:
            resp = spec["components"]["responses"][resp["$ref"].split("/")[-1]]
        content = resp.get("content", {})
        ctype = ex["type"].split(";")[0].strip()
        if ctype not in content:
            print("unexpected content type %s: %s" % (ctype, where))
            problems += 1
            continue
        if ctype == "application/json":
            try:
                body = json.loads(ex["body"])
                jsonschema.Draft202012Validator(content[ctype]["schema"],
                                                resolver=resolver).validate(body)
            except (ValueError, jsonschema.ValidationError) as e:
                print("reply does not match: %s: %s" % (where, str(e).splitlines()[0]))
                problems += 1
                continue
        checked += 1
    print("api-check: %d exchanges match docs/api.yaml, %d problems" % (checked, problems))
    return 1 if problems else 0


sys.exit(main())
