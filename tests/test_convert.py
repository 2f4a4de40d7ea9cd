#!/usr/bin/env python3
"""CLI tests of convert's rewrites: --dialect python|ts and --upgrade.
Usage: test_convert.py PATH/TO/lstore"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from support import NOT_STORES

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
            # --verify compares every field by meaning: what TS cannot hold is
            # named by a note, and then verify says DIFFERENT (exit 1).
            rc, out, err = run("convert", src, ts, "--dialect", "ts", "--verify")
            noted = "lstore: convert: note: " in err
            self.assertEqual(rc, 1 if noted else 0, (src, out, err))
            self.assertIn("DIFFERENT" if noted else "verified", out)
            if noted:
                fields = run("diff", src, ts, "--json")[1]
                self.assertIn("template", fields)  # the 0.12 vector case: a custom template TS does not apply
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
            self.assertEqual(rc, 1 if noted else 0, out + err)

    def test_what_ts_cannot_hold_is_named(self):
        need_corpus("Python -> TS notes")
        src = os.path.join(CORPUS, "llamaindex-0.12", "multi", "persist")
        _, err = self.convert(src, self.out("ts"), "--dialect", "ts")
        self.assertIn("1 tree indexes LlamaIndex.TS cannot load", err)

    def test_bad_dialect_is_a_usage_error(self):
        rc, _, err = run("convert", os.path.join(TESTDATA, "sample"), self.out("x"), "--dialect", "rust")
        self.assertEqual(rc, 2)
        self.assertFalse(os.path.exists(self.out("x")))


def load_exact(path):
    """A JSON file as json.load reads it, floats kept as their spelling (0.0
    and 0 differ), NaN and Infinity as tokens; None when it is not JSON."""
    try:
        with open(path, "rb") as f:
            return json.loads(f.read(), parse_float=lambda t: ("float", t), parse_constant=lambda t: ("const", t))
    except (ValueError, UnicodeDecodeError):
        return None


def store_json(d):
    """The store files of a directory by role: docstore, index store, graph
    stores, vector stores by namespace (vector_store.json is the default one)."""
    out = {}
    for name in os.listdir(d):
        if not name.endswith(".json") or name == "PROVENANCE.json":
            continue
        v = load_exact(os.path.join(d, name))
        if v is None:
            continue
        role = name
        if name.endswith("vector_store.json"):
            role = "vector:" + (name.split("__")[0] if "__" in name else "default")
        out[role] = v
    return out


def differences(a, b, path):
    """Paths where b differs from a; an index store's string __data__ is compared as JSON."""
    if isinstance(a, str) and isinstance(b, str) and a != b and a[:1] == "{" and b[:1] == "{":
        try:
            a, b = json.loads(a, parse_float=lambda t: ("float", t)), json.loads(b, parse_float=lambda t: ("float", t))
        except ValueError:
            pass
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in a:
            out += differences(a[k], b[k], path + [k]) if k in b else [path + [k]]
        # what the way back adds is only an empty collection LlamaIndex writes anyway
        out += [path + [k] for k in b if k not in a and b[k] not in ({}, [])]
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, path + [i])]
    return [] if a == b else [path]


def python_corpus_stores():
    stores = sorted(glob.glob(os.path.join(CORPUS, "*", "*", "persist")))
    stores += sorted(p for p in glob.glob(os.path.join(CORPUS, "wild", "*")) if os.path.isdir(p))
    # TS stores go the other way (test_ts_round_trip_through_python_is_byte_exact);
    # the negative samples are no stores (every command refuses them).
    return [s for s in stores if not os.path.exists(os.path.join(s, "doc_store.json"))
            and os.path.basename(s) not in NOT_STORES]


class RoundTripTest(Base):
    def test_python_to_ts_and_back_keeps_everything_or_names_it(self):
        need_corpus("Python -> TS -> Python round trip of the corpus")
        stores = python_corpus_stores()
        self.assertGreater(len(stores), 40)
        compared = 0
        for i, src in enumerate(stores):
            ts, back = self.out(f"{i}-ts"), self.out(f"{i}-py")
            _, err1 = self.convert(src, ts, "--dialect", "ts")
            _, err2 = self.convert(ts, back, "--dialect", "python")
            lines = [l for l in (err1 + err2).splitlines() if not l.startswith("lstore: warning: ")]  # damaged files
            notes = [l for l in lines if l.startswith("lstore: convert: note: ")]
            self.assertEqual(len(notes), len(lines), (src, err1 + err2))
            before, after = store_json(src), store_json(back)
            unnamed = []
            for role, value in before.items():
                diffs = differences(value, after[role], [role]) if role in after else [[role]]
                # a difference is named when a note names its entry (the key
                # below the collection) or its file
                for d in diffs:
                    names = [str(x) for x in d[:3]] + [role]
                    if not any(n in note for n in names[2:3] + [role] for note in notes):
                        unnamed.append(d)
            self.assertEqual(unnamed[:5], [], (src, notes))
            # and lstore's own full-field comparison agrees: what TS cannot
            # hold (the notes) rides along and comes back, so equal.
            rc, out, _ = run("diff", src, back)
            self.assertEqual(rc, 0, (src, out, notes))
            compared += 1
        print(f"round trip: {compared} corpus stores compared", file=sys.stderr)

    def test_nan_store_converts_as_json_stringify_writes_it(self):
        need_corpus("NaN metadata to TS")
        for era in ("llamaindex-0.12", "llamaindex-0.10"):
            src = os.path.join(CORPUS, era, "nan", "persist")
            ts, back = self.out(era + "-ts"), self.out(era + "-py")
            _, err = self.convert(src, ts, "--dialect", "ts")  # was SIGSEGV
            self.assertIn("NaN or Infinity in metadata, written as null", err)
            text = read(os.path.join(ts, "doc_store.json")).decode()
            doc = json.loads(text, parse_constant=lambda t: self.fail(f"{t} in a TS file"))
            nodes = [json.loads(v["__data__"]) for v in doc["docstore/data"].values()]
            md = next(n["metadata"] for n in nodes if "x" in n["metadata"] and n["metadata"]["x"] is None)
            self.assertEqual((md["y"], md["z"]), (None, None))
            json.loads(read(os.path.join(ts, "vector_store.json")), parse_constant=lambda t: self.fail(t))
            self.convert(ts, back, "--dialect", "python")
            self.assertEqual(read(os.path.join(src, "docstore.json")).count(b"NaN"),
                             read(os.path.join(back, "docstore.json")).count(b"NaN"))

    def test_an_entry_changed_in_ts_is_taken_from_ts(self):
        need_corpus("set-aside entries used only while TS leaves them alone")
        src = os.path.join(CORPUS, "llamaindex-0.12", "nan", "persist")
        ts, back = self.out("ts"), self.out("py")
        self.convert(src, ts, "--dialect", "ts")
        path = os.path.join(ts, "doc_store.json")
        doc = json.loads(read(path))
        changed = next(k for k, v in doc["docstore/data"].items() if '"x":null' in v["__data__"])
        node = json.loads(doc["docstore/data"][changed]["__data__"])
        node["text"] = "edited in TS"
        doc["docstore/data"][changed]["__data__"] = json.dumps(node, separators=(",", ":"))
        with open(path, "w") as f:
            json.dump(doc, f, separators=(",", ":"))
        _, err = self.convert(ts, back, "--dialect", "python")
        self.assertIn("changed in TS since lstore wrote them", err)
        self.assertIn(changed, err)
        data = json.loads(read(os.path.join(back, "docstore.json")), parse_constant=str)["docstore/data"]
        self.assertEqual(data[changed]["__data__"]["text"], "edited in TS")
        self.assertIsNone(data[changed]["__data__"]["metadata"]["x"])  # what TS holds

    def test_strict_refuses_a_loss_and_writes_nothing(self):
        need_corpus("--strict")
        src = os.path.join(CORPUS, "llamaindex-0.12", "multi", "persist")
        rc, _, err = run("convert", src, self.out("ts"), "--dialect", "ts", "--strict")
        self.assertEqual(rc, 1, err)  # spec/CLI.md: a loss under --strict is exit 1
        self.assertIn("tree indexes LlamaIndex.TS cannot load", err)
        self.assertIn("--strict", err)
        self.assertFalse(os.path.exists(self.out("ts")))
        # nothing to name: --strict writes as without it
        self.convert(os.path.join(CORPUS, "llamaindex-0.12", "big", "persist"), self.out("big"), "--dialect", "ts",
                     "--strict")
        self.assertTrue(os.path.exists(os.path.join(self.out("big"), "doc_store.json")))


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

    def test_document_without_class_name_gets_it(self):
        need_corpus("upgrade of a type 4 node without class_name")
        src = os.path.join(CORPUS, "wild", "ZhangWei88__chatgpt__storage")
        up = self.out("up")
        self.convert(src, up, "--upgrade")
        doc = json.loads(read(os.path.join(up, "docstore.json")))
        docs = [v for v in doc["docstore/data"].values() if v["__type__"] == "4"]
        self.assertTrue(docs)
        for d in docs:
            self.assertEqual(list(d["__data__"])[-1], "class_name")  # appended, as to_dict does
            self.assertEqual(d["__data__"]["class_name"], "Document")

    def test_stores_llamaindex_cannot_load_are_refused(self):
        need_corpus("upgrade refusal of unloadable wild stores")
        for case, file, why in (
                ("0xmakerr__pythiagpt__storage-all_pyth_repos", "docstore.json", "Git LFS pointer"),
                ("calnfynn__KISSKI-RAG-4-IPCC__faiss_index", "default__vector_store.json", "binary FAISS index"),
                ("AbhigaelCarranza__chat_Bluetooth__storage", "vector_store.json", "binary FAISS index"),
                # no LlamaIndex file at all: refused by every command, before --upgrade looks
                ("alainkaiser__langchain-talk__ROOT", "docstore.json (LangChain.js docstore", "not a LlamaIndex store"),
                ("arvog494__llm_genai_project__src", "graph_store.json (networkx", "not a LlamaIndex store"),
                ("Anxinhe01__OceanFishre__storage", "Anxinhe01__OceanFishre__storage", "no docstore.json"),
                ("run-llama__llama_index__docs-examples-index_structs-knowledge_graph-storage", "storage",
                 "no docstore.json")):
            rc, _, err = run("convert", os.path.join(CORPUS, "wild", case), self.out(case), "--upgrade")
            self.assertEqual(rc, 3, (case, err))
            self.assertEqual(len(err.splitlines()[0:1]), 1, err)
            self.assertIn(file, err.splitlines()[0], case)
            self.assertIn(why, err.splitlines()[0], case)
            self.assertFalse(os.path.exists(self.out(case)))

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
