#!/usr/bin/env python3
"""Rewrites the RULES list of man/lstore-validate.1 from the rule table the
built tool prints (src/ops/rule_table.hpp is the one source):
    python3 man/update-validate-rules.py build/lstore
With --check, changes nothing and exits 1 when the page's list differs
(tests/test_rule_fixtures.py checks so)."""
import json
import os
import subprocess
import sys

PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lstore-validate.1")


def listed_rules(lstore):
    listing = subprocess.run([lstore, "validate", "--list-rules", "--format", "ndjson"], capture_output=True, text=True,
                             check=True)
    return [json.loads(line) for line in listing.stdout.splitlines() if line.strip()]


def render(rules):
    """The page's rule list (from .SS structure up to .SH EXIT STATUS)."""
    lines, group = [], None
    for r in rules:
        if r["group"] != group:
            group = r["group"]
            lines.append(".SS " + group)
        summary = r["summary"][0].upper() + r["summary"][1:]
        lines += [".TP", ".B " + r["id"], f"({r['severity']}) {summary}. Fix: {r['hint']}."]
    return ("\n".join(lines) + "\n").replace("\\", "\\\\").replace("-", "\\-")


def split_page(text):
    start, end = text.index(".SS structure"), text.index(".SH EXIT STATUS")
    return text[:start], text[start:end], text[end:]


def main(argv):
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    lstore = args[0] if args else "build/lstore"
    with open(PAGE) as f:
        head, section, tail = split_page(f.read())
    wanted = render(listed_rules(lstore))
    if check:
        if section != wanted:
            print(f"{PAGE}: the rule list differs from the rule table; run python3 man/update-validate-rules.py {lstore}")
            return 1
        return 0
    with open(PAGE, "w") as f:
        f.write(head + wanted + tail)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
