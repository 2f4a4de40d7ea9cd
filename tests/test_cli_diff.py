#!/usr/bin/env python3
"""CLI tests of lstore diff on the fixtures of testdata/diff (README.md there):
every field of a node is compared and named, key order and number spelling
are not changes, files the model does not hold are compared byte for byte,
and convert --verify proves a copy between backends equal with that
comparison. Usage: test_cli_diff.py PATH/TO/lstore"""
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from support import ROOT, corpus_stores

LSTORE = None
FIXTURES = os.path.join(ROOT, "testdata", "diff")
BASE = os.path.join(FIXTURES, "node")

# Fixture -> (node, the field diff names), one changed field each.
ONE_FIELD = {
    "node-start_char_idx": ("N1", "start_char_idx"),
    "node-end_char_idx": ("N1", "end_char_idx"),
    "node-text_template": ("N1", "text_template"),
    "node-metadata_template": ("N1", "metadata_template"),
    "node-metadata_seperator": ("N1", "metadata_seperator"),
    "node-excluded_embed_metadata_keys": ("N1", "excluded_embed_metadata_keys"),
    "node-excluded_llm_metadata_keys": ("N1", "excluded_llm_metadata_keys"),
    "node-mimetype": ("N1", "mimetype"),
    "node-embedding": ("N2", "embedding"),
    "node-id_": ("N1", "id_"),
    "node-relationship-hash": ("N1", "relationships.1.hash"),
    "node-unknown-field": ("N2", "custom.origin.page"),
}


def run(*args, timeout=300):
    p = subprocess.run([LSTORE, *args], capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def fixture(name):
    return os.path.join(FIXTURES, name)


def changes(out):
    """part -> {id: fields} of diff --json's output, only the parts with changes."""
    d = json.loads(out)
    return {part: {c["id"]: c["fields"] for c in cs} for part, cs in d["changed"].items() if cs}


class FieldTest(unittest.TestCase):
    def test_each_changed_field_is_named_with_exit_1(self):
        for name, (node, field) in ONE_FIELD.items():
            with self.subTest(name):
                rc, out, err = run("diff", BASE, fixture(name), "--json")
                self.assertEqual(rc, 1, err)
                self.assertFalse(json.loads(out)["equal"])
                self.assertEqual(changes(out), {"nodes": {node: [field]}})
                rc, out, _ = run("diff", BASE, fixture(name))
                self.assertEqual(rc, 1)
                self.assertIn(f"~ {node}: {field}", out)

    def test_quiet_is_the_exit_status_only(self):
        other = fixture("node-start_char_idx")
        for flag in ("-q", "--quiet"):
            self.assertEqual(run("diff", BASE, BASE, flag)[:2], (0, ""))
            self.assertEqual(run("diff", BASE, other, flag)[:2], (1, ""))
            self.assertEqual(run("diff", BASE, other, flag, "--json")[:2], (1, ""))

    def test_brief_is_the_answer_only(self):
        other = fixture("node-start_char_idx")
        self.assertEqual(run("diff", BASE, BASE, "--brief")[:2], (0, ""))
        rc, out, _ = run("diff", BASE, other, "--brief")
        self.assertEqual((rc, out), (1, f"{BASE} and {other} differ\n"))
        rc, out, _ = run("diff", BASE, other, "--brief", "--json")
        self.assertEqual((rc, json.loads(out)), (1, {"equal": False, "a": BASE, "b": other}))

    def test_csv_names_the_field(self):
        rc, out, _ = run("diff", BASE, fixture("node-excluded_llm_metadata_keys"), "--format", "csv")
        self.assertEqual(rc, 1)
        rows = list(csv.DictReader(io.StringIO(out)))  # the header is the JSON field names
        self.assertEqual([(r["part"], r["change"], r["id"], json.loads(r["fields"])) for r in rows],
                         [("nodes", "changed", "N1", ["excluded_llm_metadata_keys"])])

    def test_equal_stores_say_equal(self):
        rc, out, _ = run("diff", BASE, BASE)
        self.assertEqual((rc, out), (0, "equal\n"))  # not a table of zeros
        rc, out, _ = run("diff", BASE, BASE, "--json")
        d = json.loads(out)
        self.assertTrue(d["equal"])
        self.assertEqual({k: d[k] for k in ("added", "removed", "changed")},
                         {k: {p: [] for p in d[k]} for k in ("added", "removed", "changed")})
        self.assertTrue(d["added"])  # the parts are still named
        self.assertEqual(run("diff", BASE, BASE, "--format", "ndjson")[1], "")
        self.assertEqual(run("diff", BASE, BASE, "--format", "csv")[1].splitlines()[0].split(","),
                         ["part", "change", "id", "fields", "max_abs_diff", "cosine", "old_dim", "new_dim"])

    def test_key_order_and_number_spelling_are_no_change(self):
        for other in ("node-respelled", "ts"):  # reordered, 0.00001, pretty; TS: camelCase, 2 for 2.0
            with self.subTest(other):
                for a, b in ((BASE, fixture(other)), (fixture(other), BASE)):
                    rc, out, err = run("diff", a, b, "--json")
                    self.assertEqual(rc, 0, out + err)
                    self.assertTrue(json.loads(out)["equal"])

    def test_an_int_for_a_python_float_is_a_change(self):
        rc, out, _ = run("diff", BASE, fixture("node-int-for-float"), "--json")
        self.assertEqual(rc, 1)
        self.assertEqual(changes(out)["nodes"], {"N2": ["metadata.version", "hash"]})

    def test_what_ts_left_out_is_named(self):
        rc, out, _ = run("diff", BASE, fixture("ts-no-zero-start"), "--json")
        self.assertEqual(rc, 1)
        self.assertEqual(changes(out), {"nodes": {"N1": ["start_char_idx"]}})

    def test_tolerance_covers_inline_embeddings(self):
        self.assertEqual(run("diff", BASE, fixture("node-embedding"), "--tolerance", "1e-4")[0], 0)


class FilesTest(unittest.TestCase):
    def test_files_are_compared_byte_for_byte(self):
        rc, out, err = run("diff", fixture("files"), fixture("files-changed"), "--json")
        self.assertEqual(rc, 1, err)
        d = json.loads(out)
        self.assertEqual(d["added"]["files"], ["extra.bin"])
        self.assertEqual(d["removed"]["files"], ["notes.txt"])
        self.assertEqual(changes(out), {"files": {"faiss.index": ["bytes"]}})  # kvstore.json: reordered only
        rc, out, _ = run("diff", fixture("files"), fixture("files-kv"), "--json")
        self.assertEqual(rc, 1)
        self.assertEqual(changes(out), {"files": {"kvstore.json": ["data.k1"]}})
        self.assertEqual(run("diff", fixture("files"), fixture("files"))[0], 0)
        rc, out, _ = run("diff", fixture("files"), BASE, "--json")  # the same store without them
        self.assertEqual(rc, 1)
        self.assertEqual(json.loads(out)["removed"]["files"], ["faiss.index", "kvstore.json", "notes.txt"])


class VerifyTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lstore-cli-diff-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def verify(self, src, dst, *extra):
        rc, out, err = run("convert", src, dst, "--force", "--verify", "--json", *extra)
        self.assertEqual(rc, 0, (src, dst, out, err))
        self.assertTrue(json.loads(out)["verified"], (src, dst))

    def test_fixtures_verify_through_every_file_backend(self):
        for name in ["node", "files", "ts", *ONE_FIELD]:
            for dst in ("sqlite:" + os.path.join(self.tmp, name + ".db"), "jsonl:" + os.path.join(self.tmp, name + ".jsonl"),
                        os.path.join(self.tmp, name)):
                with self.subTest(name=name, dst=dst):
                    self.verify(fixture(name), dst)

    def test_every_store_verifies_through_sqlite(self):
        """The full-field comparison still finds a same-dialect copy equal."""
        stores, have_corpus = corpus_stores()
        if not have_corpus:
            print("SKIPPED: convert --verify of the corpus (no corpus); testdata only", file=sys.stderr)
        for store in stores:
            with self.subTest(store=store):
                self.verify(store, "sqlite:" + os.path.join(self.tmp, "s.db"))


if __name__ == "__main__":
    LSTORE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=1)
