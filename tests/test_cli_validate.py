#!/usr/bin/env python3
"""CLI tests of lstore validate: exit codes, and the json, github, junit and
sarif outputs checked against what their readers require. Usage:
test_cli_validate.py PATH/TO/lstore"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

LSTORE = None
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "testdata", "sample")


def run(*args):
    p = subprocess.run([LSTORE, *args], capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


class ValidateCli(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lstore-validate-")
        self.broken = os.path.join(self.tmp, "broken")
        shutil.copytree(SAMPLE, self.broken)
        with open(os.path.join(self.broken, "docstore.json"), "rb") as f:
            data = f.read()
        with open(os.path.join(self.broken, "docstore.json"), "wb") as f:
            f.write(data[: len(data) // 2])  # truncated, as by a crash during persist
        vs = os.path.join(self.broken, "default__vector_store.json")
        with open(vs) as f:
            v = json.load(f)
        v["embedding_dict"][next(iter(v["embedding_dict"]))][0] = 0.0
        first = next(iter(v["embedding_dict"]))
        v["embedding_dict"][first] = [0.0] * len(v["embedding_dict"][first])
        with open(vs, "w") as f:
            json.dump(v, f)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_an_unreadable_store_is_its_finding_and_the_others_are_checked(self):
        missing = os.path.join(self.tmp, "no-such-store")
        rc, out, err = run("validate", SAMPLE, missing, self.broken, "--format", "json")
        self.assertEqual(rc, 3, err)  # a store could not be read: exit 3, after the whole report
        findings = json.loads(out)["findings"]
        self.assertEqual({f["store"] for f in findings}, {missing, self.broken})
        gone = [f for f in findings if f["store"] == missing]
        self.assertEqual([(f["rule"], f["severity"]) for f in gone], [("unreadable-store", "error")])
        self.assertIn("No such file or directory", gone[0]["message"])
        self.assertEqual(json.loads(out)["summary"]["stores"], 3)
        rc, out, _ = run("validate", SAMPLE, missing, "--format", "junit")
        self.assertEqual(rc, 3)
        self.assertEqual(len(ET.fromstring(out).findall("testsuite")), 2)

    def test_invalid_utf8_anywhere_is_one_parse_error_with_its_byte(self):
        # json.load of a file opened as UTF-8 raises on it: the store does not load.
        for where in ("first", "last"):
            store = os.path.join(self.tmp, "u8-" + where)
            shutil.copytree(SAMPLE, store)
            path = os.path.join(store, "docstore.json")
            data = open(path, "rb").read()
            at = (data.find(b'"text": "') if where == "first" else data.rfind(b'"text": "')) + 12
            open(path, "wb").write(data[:at] + b"\xc3\x28" + data[at:])
            rc, out, err = run("validate", store, "--format", "json")
            self.assertEqual(rc, 1, err)
            findings = json.loads(out)["findings"]
            self.assertEqual([(f["rule"], f["file"]) for f in findings], [("parse-error", "docstore.json")], findings)
            self.assertIn("invalid UTF-8", findings[0]["message"])
            self.assertIn(f"byte {at}", findings[0]["path"] + findings[0]["message"])

    def test_clean_store_exit_0(self):
        rc, out, err = run("validate", SAMPLE)
        self.assertEqual(rc, 0, err)
        self.assertIn("0 errors, 0 warnings", out)

    def test_findings_exit_1_and_text_report(self):
        rc, out, err = run("validate", self.broken)
        self.assertEqual(rc, 1, err)
        self.assertIn("parse-error", out)
        self.assertRegex(out, r"unexpected end of file inside docstore/data\.\S+ after \d+ complete entries")
        self.assertRegex(out, r"line 1, column \d+, byte \d+")
        self.assertIn("hint:", out)

    def test_fail_on_warning(self):
        store = os.path.join(self.tmp, "warn")
        shutil.copytree(SAMPLE, store)
        os.rename(os.path.join(store, "default__vector_store.json"), os.path.join(store, "vector_store.json"))
        self.assertEqual(run("validate", store)[0], 0)
        self.assertEqual(run("validate", store, "--fail-on", "warning")[0], 1)

    def test_json_format(self):
        rc, out, _ = run("validate", self.broken, SAMPLE, "--format", "json")
        self.assertEqual(rc, 1)
        d = json.loads(out)
        self.assertEqual(d["summary"]["stores"], 2)
        self.assertGreaterEqual(d["summary"]["errors"], 1)
        for f in d["findings"]:
            self.assertEqual(set(f) >= {"rule", "severity", "file", "path", "message"}, True)
            self.assertIn(f["severity"], ("error", "warning", "info"))
        rules = {f["rule"] for f in d["findings"]}
        self.assertIn("parse-error", rules)
        self.assertIn("zero-vector", rules)
        self.assertEqual(run("validate", self.broken, SAMPLE, "--json")[1], out)  # --json is --format json

    def test_github_format(self):
        rc, out, _ = run("validate", self.broken, "--format", "github")
        self.assertEqual(rc, 1)
        lines = out.splitlines()
        self.assertTrue(lines)
        for line in lines:
            self.assertRegex(line, r"^::(error|warning|notice) file=[^,:]+,title=[a-z-]+::.+$")
            self.assertNotIn("\n", line)
        # lstore repair fixes a parse-error (salvage), not a zero vector.
        self.assertIn("[fixable: lstore repair]", next(l for l in lines if "title=parse-error" in l))
        self.assertNotIn("fixable", next(l for l in lines if "title=zero-vector" in l))

    def test_text_format_marks_fixable_rules(self):
        out = run("validate", self.broken)[1]
        self.assertIn("parse-error (1), fixable: lstore repair", out)
        self.assertRegex(out, r"zero-vector \(\d+\)\n")

    def test_junit_format(self):
        rc, out, _ = run("validate", self.broken, SAMPLE, "--format", "junit")
        self.assertEqual(rc, 1)
        root = ET.fromstring(out)
        self.assertEqual(root.tag, "testsuites")
        suites = root.findall("testsuite")
        self.assertEqual(len(suites), 2)
        total = sum(int(s.get("tests")) for s in suites)
        self.assertEqual(int(root.get("tests")), total)
        failures = [c for s in suites for c in s.findall("testcase") if c.find("failure") is not None]
        self.assertEqual(int(root.get("failures")), len(failures))
        self.assertIn("parse-error", [c.get("name") for c in failures])
        parse = next(c for c in failures if c.get("name") == "parse-error")
        self.assertIn("(fixable: lstore repair)", parse.find("failure").get("message"))
        self.assertEqual(int(suites[1].get("failures")), 0)  # the clean sample
        for c in suites[0].findall("testcase"):
            self.assertTrue(c.get("classname") and c.get("name"))

    def test_sarif_format(self):
        rc, out, _ = run("validate", self.broken, "--format", "sarif")
        self.assertEqual(rc, 1)
        s = json.loads(out)
        self.assertEqual(s["version"], "2.1.0")
        self.assertIn("$schema", s)
        run0 = s["runs"][0]
        driver = run0["tool"]["driver"]
        self.assertEqual(driver["name"], "lstore")
        ids = {r["id"] for r in driver["rules"]}
        self.assertIn("parse-error", ids)
        for r in driver["rules"]:
            self.assertIn(r["defaultConfiguration"]["level"], ("error", "warning", "note"))
            self.assertTrue(r["shortDescription"]["text"])
        self.assertTrue(run0["results"])
        for res in run0["results"]:
            self.assertIn(res["ruleId"], ids)
            self.assertIn(res["level"], ("error", "warning", "note"))
            self.assertTrue(res["message"]["text"])
            self.assertTrue(res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
            self.assertEqual(res["properties"]["fixable"], res["ruleId"] == "parse-error", res["ruleId"])
        fixable = {r["id"] for r in driver["rules"] if r["properties"]["fixable"]}
        self.assertIn("index-dangling-node", fixable)
        self.assertNotIn("zero-vector", fixable)

    def test_rule_selection_and_usage(self):
        rc, out, _ = run("validate", self.broken, "--rule", "zero-vector", "--format", "json")
        self.assertEqual({f["rule"] for f in json.loads(out)["findings"]}, {"zero-vector"})
        self.assertEqual(rc, 0)  # a warning only
        rc, out, _ = run("validate", self.broken, "--skip", "parse-error", "--skip", "zero-vector", "--format", "json")
        self.assertNotIn("parse-error", {f["rule"] for f in json.loads(out)["findings"]})
        rc, _, err = run("validate", self.broken, "--rule", "no-such-rule")
        self.assertEqual(rc, 2, err)
        self.assertIn("no-such-rule", err)
        self.assertEqual(run("validate")[0], 2)
        self.assertEqual(run("validate", os.path.join(self.tmp, "nope"))[0], 3)

    def sample_with_vectors(self, name, edit):
        """A copy of the sample whose vector file is edit(the parsed file) -> its new text."""
        store = os.path.join(self.tmp, name)
        shutil.copytree(SAMPLE, store)
        vs = os.path.join(store, "default__vector_store.json")
        with open(vs) as f:
            text = edit(json.load(f))
        with open(vs, "w") as f:
            f.write(text)
        return store

    def test_many_findings_stay_readable(self):
        def zeros(v):
            for k in v["embedding_dict"]:
                v["embedding_dict"][k] = [0.0] * len(v["embedding_dict"][k])
            return json.dumps(v)
        store = self.sample_with_vectors("many", zeros)
        out = run("validate", store, "--max", "3")[1]
        self.assertIn("zero-vector (12)", out)
        self.assertIn("... and 9 more", out)
        self.assertEqual(out.count("is all zeros"), 3)
        self.assertEqual(run("validate", store, "--all")[1].count("is all zeros"), 12)

    def test_vector_numbers_are_read_as_json_loads_reads_them(self):
        # Each embedding of the sample written as raw text, one per case, so
        # the tokens stay as written (json.dump would print 1e308 as 1e+308).
        with open(os.path.join(SAMPLE, "default__vector_store.json")) as f:
            v = json.load(f)
        ids = list(v["embedding_dict"])
        dim = len(v["embedding_dict"][ids[0]])
        pad = ", ".join(["0.5"] * (dim - 1))
        cases = {
            ids[0]: "[1e308, %s]" % pad,                 # the largest decade of doubles: finite
            ids[1]: "[%s, %s]" % ("9" * 400, pad),       # 400 digits: a Python int, not an overflow
            ids[2]: "[1e400, %s]" % pad,                 # float('1e400') is inf
            ids[3]: "[%s.5, %s]" % ("9" * 400, pad),     # a float past 1.8e308 without an exponent: inf
            ids[4]: "[%s]" % ", ".join(["1e-400"] * dim),  # float('1e-400') is 0.0: all zeros
            ids[5]: "[-1E+308, %s]" % pad,               # finite too
            ids[6]: "[%s.0e99, %s]" % ("9" * 250, pad),  # 1e349 with a two-digit exponent: inf
            ids[7]: "[0.%s1e-99, %s]" % ("0" * 230, pad),  # 1e-330 is 0.0, but 0.5 is not: no finding
        }
        def raw_numbers(v):
            text = json.dumps(v)
            for node_id, raw in cases.items():
                old = json.dumps({node_id: v["embedding_dict"][node_id]})[1:-1]
                self.assertIn(old, text)
                text = text.replace(old, json.dumps(node_id) + ": " + raw)
            return text
        store = self.sample_with_vectors("numbers", raw_numbers)
        with open(os.path.join(store, "default__vector_store.json")) as f:
            self.assertEqual(len(json.load(f)["embedding_dict"]), len(ids))  # still what json.load reads
        rc, out, err = run("validate", store, "--format", "json")
        findings = json.loads(out)["findings"]
        by_rule = {}
        for f in findings:
            by_rule.setdefault(f["rule"], set()).add(f["path"].rsplit(".", 1)[-1])
        self.assertEqual(by_rule.get("non-finite-vector"), {ids[2], ids[3], ids[6]}, out)
        self.assertEqual(by_rule.get("zero-vector"), {ids[4]}, out)
        self.assertEqual(set(by_rule), {"non-finite-vector", "zero-vector"}, out)
        self.assertEqual(rc, 0, err)  # both are warnings

    def test_every_rule_is_in_the_man_page(self):
        with open(os.path.join(ROOT, "man", "lstore-validate.1")) as f:
            page = f.read().replace("\\-", "-")
        rules = json.loads(run("validate", "--list-rules", "--json")[1])  # one array
        self.assertGreater(len(rules), 20)
        for rule in rules:
            self.assertIn(rule["id"], page)


if __name__ == "__main__":
    LSTORE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=1)
