#!/usr/bin/env python3
"""CLI tests of convert's rewrites: --dialect python|ts and --upgrade.
Usage: test_convert.py PATH/TO/lstore"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

LSTORE = None
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTDATA = os.path.join(ROOT, "testdata")
CORPUS = os.environ.get("LSTORE_CORPUS", os.path.join(ROOT, "..", "shared", "corpus"))


def run(*args, timeout=300):
    p = subprocess.run([LSTORE, *args], capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def read(p):
    with open(p, "rb") as f:
        return f.read()


def need_corpus(test):
    if not os.path.isdir(os.path.join(CORPUS, "llamaindex-ts")):
        print(f"SKIPPED: {test} (no corpus at {CORPUS})", file=sys.stderr)
        raise unittest.SkipTest("no corpus")


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lstore-convert-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def out(self, name):
        return os.path.join(self.tmp, name)

    def convert(self, *args, expect=0):
        rc, out, err = run("convert", *args)
        self.assertEqual(rc, expect, (args, out, err))
        return out, err

    def validate_clean(self, store):
        rc, out, err = run("validate", store, "--json")
        self.assertEqual(rc, 0, out + err)


class DialectTest(Base):
    def test_ts_stores_to_python_mean_the_same(self):
        need_corpus("TS -> Python conversion of the corpus")
        ts_dir = os.path.join(CORPUS, "llamaindex-ts")
        cases = [c for c in sorted(os.listdir(ts_dir)) if os.path.isdir(os.path.join(ts_dir, c))]
        self.assertGreaterEqual(len(cases), 4)
        for case in cases:
            src = os.path.join(ts_dir, case)
            py = self.out(case + "-py")
            self.convert(src, py, "--dialect", "python", "--verify")
            self.assertTrue(os.path.exists(os.path.join(py, "docstore.json")))
            self.assertTrue(os.path.exists(os.path.join(py, "default__vector_store.json")))
            self.validate_clean(py)
            # diff by meaning across dialects: equal (exit 0)
            rc, out, err = run("diff", src, py)
            self.assertEqual(rc, 0, out + err)
            ls = json.loads(run("ls", py, "--json")[1])
            self.assertEqual(ls["dialect"] if "dialect" in ls else "python", "python")

    def test_ts_round_trip_through_python_is_byte_exact(self):
        need_corpus("TS -> Python -> TS round trip")
        for case in ("vector-basic", "vector-deleted-ref-doc"):
            src = os.path.join(CORPUS, "llamaindex-ts", case)
            py, back = self.out(case + "-py"), self.out(case + "-ts")
            self.convert(src, py, "--dialect", "python")
            self.convert(py, back, "--dialect", "ts")
            for f in ("doc_store.json", "index_store.json", "vector_store.json"):
                self.assertEqual(read(os.path.join(src, f)), read(os.path.join(back, f)), (case, f))

    def test_python_to_ts(self):
        stores = [os.path.join(TESTDATA, "sample")]
        if os.path.isdir(os.path.join(CORPUS, "llamaindex-0.12")):
            stores += [os.path.join(CORPUS, "llamaindex-0.12", c, "persist") for c in ("vector", "big")]
        for src in stores:
            ts = self.out(os.path.basename(os.path.dirname(src)) + "-ts")
            self.convert(src, ts, "--dialect", "ts", "--verify")
            self.assertEqual(sorted(f for f in os.listdir(ts) if f.endswith(".json") and f != "PROVENANCE.json"),
                             ["doc_store.json", "index_store.json", "vector_store.json"])
            doc = json.loads(read(os.path.join(ts, "doc_store.json")))
            first = next(iter(doc["docstore/data"].values()))
            self.assertIsInstance(first["__data__"], str)  # TS wraps the node in a JSON string
            self.assertEqual(first["__type__"], "TEXT")
            node = json.loads(first["__data__"])
            self.assertEqual(len(node["hash"]), 44)  # base64 SHA-256
            idx = json.loads(read(os.path.join(ts, "index_store.json")))
            self.assertEqual(list(idx), ["docstore/data"])
            self.assertEqual(next(iter(idx["docstore/data"].values()))["type"], "simple_dict")
            self.validate_clean(ts)
            rc, out, err = run("diff", src, ts)
            self.assertEqual(rc, 0, out + err)

    def test_what_ts_cannot_hold_is_named(self):
        need_corpus("Python -> TS notes")
        src = os.path.join(CORPUS, "llamaindex-0.12", "multi", "persist")
        _, err = self.convert(src, self.out("ts"), "--dialect", "ts")
        self.assertIn("cannot load a tree index", err)

    def test_bad_dialect_is_a_usage_error(self):
        rc, _, err = run("convert", os.path.join(TESTDATA, "sample"), self.out("x"), "--dialect", "rust")
        self.assertEqual(rc, 2)
        self.assertFalse(os.path.exists(self.out("x")))


class UpgradeTest(Base):
    def test_legacy_06_store(self):
        src = os.path.join(TESTDATA, "legacy-0.6")
        up = self.out("up")
        self.convert(src, up, "--upgrade", "--verify")
        self.assertEqual(sorted(os.listdir(up)), ["default__vector_store.json", "docstore.json", "graph_store.json",
                                                  "image__vector_store.json", "index_store.json"])
        self.validate_clean(up)
        doc = json.loads(read(os.path.join(up, "docstore.json")))
        n1 = doc["docstore/data"]["n1"]["__data__"]
        self.assertEqual(n1["id_"], "n1")
        self.assertEqual(n1["metadata"], {"file": "a.txt", "page": 1})
        self.assertEqual(n1["relationships"]["1"]["node_id"], "d1")
        self.assertEqual((n1["start_char_idx"], n1["end_char_idx"]), (0, 11))
        self.assertEqual(doc["docstore/ref_doc_info"]["d1"]["node_ids"], ["n1", "n2"])
        self.assertEqual(doc["docstore/metadata"]["n1"]["ref_doc_id"], "d1")
        idx = json.loads(read(os.path.join(up, "index_store.json")))
        self.assertIsInstance(idx["index_store/data"]["i1"]["__data__"], str)
        vs = json.loads(read(os.path.join(up, "default__vector_store.json")))
        self.assertEqual(vs["text_id_to_ref_doc_id"], {"n1": "d1", "n2": "d1"})
        self.assertEqual(vs["metadata_dict"]["n1"]["ref_doc_id"], "d1")
        # Queries with a metadata filter work on the upgraded store.
        rc, out, err = run("query", up, "--vector", "[1, 0, 0]", "--top-k", "2", "--filter", "page == 1", "--json")
        self.assertEqual(rc, 0, err)
        self.assertEqual([r["id"] for r in json.loads(out)["results"]], ["n1"])

    def test_current_store_is_unchanged(self):
        for src in [os.path.join(TESTDATA, "sample")] + (
                [os.path.join(CORPUS, "llamaindex-0.10", "vector", "persist")] if os.path.isdir(CORPUS) else []):
            up = self.out("up-" + os.path.basename(os.path.dirname(src)))
            self.convert(src, up, "--upgrade")
            for f in os.listdir(src):
                self.assertEqual(read(os.path.join(src, f)), read(os.path.join(up, f)), (src, f))

    def test_wild_old_stores_validate_after_upgrade(self):
        need_corpus("upgrade of wild 0.6-0.8 stores")
        for case in ("ktny__study-llamaindex__storage", "malo21st__nenkin_san__BX2000_DB",
                     "MrDarkness117__GPTProject__storage", "ZhangWei88__chatgpt__storage"):
            up = self.out(case)
            self.convert(os.path.join(CORPUS, "wild", case), up, "--upgrade", "--verify")
            self.validate_clean(up)

    def test_save_to_disk_file_is_refused(self):
        need_corpus("upgrade refusal of a 0.5 save_to_disk file")
        rc, _, err = run("convert", os.path.join(CORPUS, "wild", "run-llama__llama_index__examples-vector_indices"),
                         self.out("x"), "--upgrade")
        self.assertEqual(rc, 3)
        self.assertIn("save_to_disk", err)
        self.assertFalse(os.path.exists(self.out("x")))


if __name__ == "__main__":
    LSTORE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=1)
