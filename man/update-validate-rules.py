#!/usr/bin/env python3
"""Rewrites the RULES list of man/lstore-validate.1 from the rule table the
built tool prints (src/ops/validate_rules.cpp is the one source):
    python3 man/update-validate-rules.py build/lstore"""
import json
import os
import subprocess
import sys

lstore = sys.argv[1] if len(sys.argv) > 1 else "build/lstore"
page = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lstore-validate.1")
listing = subprocess.run([lstore, "validate", "--list-rules", "--format", "ndjson"], capture_output=True, text=True, check=True)
rules = [json.loads(line) for line in listing.stdout.splitlines() if line.strip()]
lines, group = [], None
for r in rules:
    if r["group"] != group:
        group = r["group"]
        lines.append(".SS " + group)
    summary = r["summary"][0].upper() + r["summary"][1:]
    lines += [".TP", ".B " + r["id"], f"({r['severity']}) {summary}. Fix: {r['hint']}."]
section = ("\n".join(lines) + "\n").replace("\\", "\\\\").replace("-", "\\-")
text = open(page).read()
start, end = text.index(".SS structure"), text.index(".SH EXIT STATUS")
open(page, "w").write(text[:start] + section + text[end:])
