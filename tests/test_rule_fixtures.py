#!/usr/bin/env python3
"""The rule table (src/ops/rule_table.hpp) against what the tool does: every
rule's fixture makes lstore validate report that rule, and the table, the
`--list-rules` listing and the man page's rule list are the same rules.
    python3 tests/test_rule_fixtures.py build/lstore"""
import importlib.util
import json
import os
import re
import subprocess
import sys
import unittest

from support import CORPUS, ROOT, have_corpus

LSTORE = None
TABLE = os.path.join(ROOT, "src", "ops", "rule_table.hpp")


def table_rows():
    """(id, fixture) of every row of kRules, in order: a row is
    {"id", Severity::..., "group", "summary", "hint", "fixture"}, and the
    fixture is its last string."""
    with open(TABLE) as f:
        text = f.read()
    text = text[text.index("kRules[] = {"):]
    rows = []
    for m in re.finditer(r'\{"([a-z0-9-]+)", Severity::\w+,(.*?)"\},\n', text, re.S):
        strings = re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(2) + '"')
        rows.append((m.group(1), strings[-1]))
    return rows


def validate(path):
    p = subprocess.run([LSTORE, "validate", path, "--format", "json"], capture_output=True, timeout=120)
    return json.loads(p.stdout)["summary"]["by_rule"]


class RuleTableTest(unittest.TestCase):
    def test_table_is_the_listing(self):
        listed = json.loads(subprocess.run([LSTORE, "validate", "--list-rules", "--json"], capture_output=True,
                                           check=True).stdout)
        self.assertEqual([r for r, _ in table_rows()], [r["id"] for r in listed])

    def test_man_page_rule_list_is_generated_from_the_table(self):
        spec = importlib.util.spec_from_file_location("update_rules", os.path.join(ROOT, "man", "update-validate-rules.py"))
        update = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(update)
        with open(update.PAGE) as f:
            _, section, _ = update.split_page(f.read())
        self.assertEqual(section, update.render(update.listed_rules(LSTORE)),
                         "run python3 man/update-validate-rules.py build/lstore")

    def test_every_fixture_reports_its_rule(self):
        rows = table_rows()
        self.assertGreater(len(rows), 40)
        # A build without libfaiss says faiss-unchecked where the FAISS rules would be.
        no_faiss = "faiss-unchecked" in validate(os.path.join(ROOT, "testdata", "rules", "faiss-rows"))
        needs_faiss = {"faiss-unreadable", "faiss-rows", "faiss-multimodal", "faiss-empty-l2"}
        for rule, fixture in rows:
            with self.subTest(rule=rule, fixture=fixture):
                self.assertTrue(fixture, "every rule has a fixture or says why not")
                if fixture.startswith("none: "):
                    self.assertGreater(len(fixture), 20)
                    continue
                if fixture.startswith("corpus:"):
                    if not have_corpus():
                        self.skipTest("no shared corpus")
                    path = os.path.join(CORPUS, fixture[len("corpus:"):])
                    self.assertTrue(os.path.isdir(path), path)
                elif rule == "unreadable-store":
                    path = os.path.join(ROOT, fixture)
                    self.assertFalse(os.path.exists(path), "kept absent on purpose")
                else:
                    path = os.path.join(ROOT, fixture)
                    self.assertTrue(os.path.exists(path), path)
                expected = "faiss-unchecked" if no_faiss and rule in needs_faiss else rule
                self.assertIn(expected, validate(path))


if __name__ == "__main__":
    LSTORE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=1)
