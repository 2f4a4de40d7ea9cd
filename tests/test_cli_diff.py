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


def run_env(args, streamed):
    """rc, stdout, stderr of lstore args, streamed (narrowed) or with LSTORE_NO_STREAM=1."""
    env = dict(os.environ)
    env.pop("LSTORE_NO_STREAM", None)
    if not streamed:
        env["LSTORE_NO_STREAM"] = "1"
    p = subprocess.run([LSTORE, *args], capture_output=True, env=env, timeout=300)
    return p.returncode, p.stdout, p.stderr


# Every way diff prints its answer.
FORMATS = [[], ["--stat"], ["--text", "--all"], ["--max", "2"], ["--json"], ["--format", "ndjson"],
           ["--format", "csv"], ["--format", "tsv"], ["--brief"], ["-q"]]
NARROWED_NOT = "read whole"  # what -v says when the narrowed read hands over to the whole stores


class NarrowedDiffTest(unittest.TestCase):
    """diff reads directory stores narrowed to the entries that may differ
    (src/ops/diff_stream.cpp: a hash of every entry's key and bytes, then
    only those entries read again); LSTORE_NO_STREAM=1 compares the stores
    read whole. Both print the same bytes with the same exit code."""

    def same(self, a, b, formats=FORMATS, narrowed=True):
        for f in formats:
            args = ["diff", a, b, *f]
            self.assertEqual(run_env(args, True), run_env(args, False), " ".join(args))
        if narrowed is not None:
            # -v says when the narrowed read gave up: it must not have, unless expected.
            _, _, err = run_env(["diff", a, b, "-v", "--stat"], True)
            self.assertEqual(NARROWED_NOT not in err.decode(), narrowed, (a, b, err))

    def test_fixtures(self):
        names = sorted(n for n in os.listdir(FIXTURES) if os.path.isdir(fixture(n)))
        for n in names:
            with self.subTest(fixture=n):
                # Every format on a few; the rest in the two that carry every field.
                full = n in ("node-embedding", "node-respelled", "node-metadata_template", "ts")
                self.same(BASE, fixture(n), FORMATS if full else [["--text", "--all"], ["--json"]])
                self.same(fixture(n), BASE, [["--json"]], narrowed=None)
        self.same(fixture("files"), fixture("files-changed"))

    def test_corpus_pairs(self):
        stores, _ = corpus_stores()
        stores = [s for s in stores if os.path.isdir(s)]
        for x, y in zip(stores, stores[1:]):
            with self.subTest(a=x, b=y):
                self.same(x, y, [["--json"], ["--text", "--all"]], narrowed=None)
                self.same(y, x, [["--json"]], narrowed=None)

    def test_generated_pairs(self):
        """Seeded changes in a generated store with collections too large
        for the summary's sample: added, removed and changed entries, numbers
        spelt otherwise, keys in another order, a duplicate key, an entry
        that does not decode."""
        with tempfile.TemporaryDirectory() as tmp:
            base = os.path.join(tmp, "base")
            subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gen_store.py"), base, "--nodes", "1500",
                            "--dim", "4", "--quiet"], check=True)
            with open(os.path.join(base, "docstore.json"), encoding="utf-8") as fh:
                doc = json.load(fh)
            node_ids = list(doc["docstore/data"])
            ref_id = next(iter(doc["docstore/ref_doc_info"]))

            def edited(name, edit):
                d = os.path.join(tmp, name)
                shutil.copytree(base, d)
                changed = False
                for f in sorted(os.listdir(d)):
                    p = os.path.join(d, f)
                    with open(p, encoding="utf-8") as fh:
                        text = fh.read()
                    new = edit(f, text)
                    if new != text:
                        changed = True
                        with open(p, "w", encoding="utf-8") as fh:
                            fh.write(new)
                self.assertTrue(changed, name)
                return d

            def in_file(name, fn):
                return lambda f, t: fn(t) if f == name else t

            # Removed: one ref doc deleted as LlamaIndex deletes it.
            deleted = os.path.join(tmp, "deleted")
            shutil.copytree(base, deleted)
            rc, _, err = run_env(["delete", deleted, "--ref-doc", ref_id, "-q"], True)
            self.assertEqual(rc, 0, err)
            # Added: a node put in.
            added = os.path.join(tmp, "added")
            shutil.copytree(base, added)
            nd = os.path.join(tmp, "n.ndjson")
            with open(nd, "w") as fh:
                fh.write(json.dumps({"id": "new-node", "text": "hello", "ref_doc_id": "new-doc",
                                     "embedding": [0.1, 0.2, 0.3, 0.4]}) + "\n")
            rc, _, err = run_env(["put", added, nd, "-q"], True)
            self.assertEqual(rc, 0, err)
            victim = node_ids[700]
            pairs = {
                "deleted": deleted,
                "added": added,
                # Changed: a node's text, an embedding's value, a metadata value.
                "text": edited("text", in_file("docstore.json", lambda t: t.replace(
                    '"id_": "%s"' % victim, '"id_": "%s", "extra": 1' % victim, 1))),
                "embedding": edited("embedding", in_file("default__vector_store.json", lambda t: respell(t, victim, 9.5))),
                "dimension": edited("dimension", in_file("default__vector_store.json", lambda t: t.replace(
                    '"%s": [' % victim, '"%s": [9.5, ' % victim, 1))),
                # Numbers spelt otherwise (0.25 -> 2.5e-01 is one float): no change.
                "respelled": edited("respelled", in_file("default__vector_store.json", lambda t: respell(t, victim))),
                # Keys in another order in one node: no change.
                "reordered": edited("reordered", in_file("docstore.json", lambda t: reorder(t, victim))),
            }
            for name, d in pairs.items():
                with self.subTest(pair=name):
                    self.same(base, d, FORMATS if name in ("deleted", "embedding") else [["--text", "--all"], ["--json"]])
                    self.same(d, base, [["--json"]], narrowed=None)
            # One side a model read whole (SQLite), the other streamed: the
            # model's collections are narrowed alike.
            db = "sqlite:" + os.path.join(tmp, "deleted.db")
            rc, _, err = run_env(["convert", deleted, db, "-q"], True)
            self.assertEqual(rc, 0, err)
            self.same(base, db, [["--text", "--all"], ["--json"]])
            self.same(db, pairs["text"], [["--json"]])
            rc, out, _ = run_env(["diff", base, pairs["respelled"], "--json"], True)
            self.assertNotEqual(pairs["respelled"], base)
            self.assertEqual((rc, json.loads(out)["equal"]), (0, True))
            rc, out, _ = run_env(["diff", base, pairs["reordered"], "--json"], True)
            self.assertEqual((rc, json.loads(out)["equal"]), (0, True))
            rc, out, _ = run_env(["diff", base, pairs["deleted"], "--json"], True)
            self.assertEqual(json.loads(out)["removed"]["ref_docs"], [ref_id])

            # Handed over to the whole stores: a duplicate key (the same
            # answer), an entry that does not decode where it differs (the
            # same error, naming its place in the whole file).
            dup = edited("dup", in_file("docstore.json", lambda t: t.replace(
                '"docstore/ref_doc_info": {', '"docstore/ref_doc_info": {"%s": {"node_ids": []}, ' % ref_id, 1)))
            self.same(base, dup, [[], ["--json"]], narrowed=False)
            bad = edited("bad", in_file("docstore.json", lambda t: t.replace(
                '"id_": "%s"' % victim, '"id_": "%s", "bad": [1, 2,, 3]' % victim, 1)))
            self.same(base, bad, [[], ["--json"]], narrowed=False)
            self.assertEqual(run_env(["diff", base, bad], True)[0], 3)


def respell(text, node_id, first=None):
    """The embedding of node_id with each number written another way that
    json.loads reads as the same float (and its first number `first`, if given)."""
    start = text.index('"%s": [' % node_id) + len('"%s": [' % node_id)
    end = text.index("]", start)
    nums = [float(x) for x in text[start:end].split(",")]
    if first is not None:
        nums[0] = first
    return text[:start] + ", ".join("%.17e" % x for x in nums) + text[end:]


def reorder(text, node_id):
    """The docstore entry of node_id with its __data__'s keys reversed."""
    key = '"%s": ' % node_id
    start = text.index(key, text.index('"docstore/data"')) + len(key)
    entry, end = json.JSONDecoder().raw_decode(text, start)
    entry["__data__"] = dict(reversed(list(entry["__data__"].items())))
    return text[:start] + json.dumps(entry) + text[end:]


if __name__ == "__main__":
    LSTORE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=1)
