#!/usr/bin/env python3
"""CLI tests of lstore repair: each fault validate can report and repair can fix
is planted into a copy of testdata/sample or a corpus store, then checked: the
plan (--dry-run, writing nothing), the result validating clean of the rule,
a second run changing nothing, untouched entries keeping their bytes,
--backup, --only, --json and sqlite:. Usage: test_repair.py PATH/TO/lstore"""
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import CORPUS, ROOT, corpus_dirs, read_bytes, tree  # noqa: E402

LSTORE = None
SAMPLE = os.path.join(ROOT, "testdata", "sample")
MULTI = os.path.join(CORPUS, "llamaindex-0.12", "multi", "persist")
LEGACY_WILD = os.path.join(CORPUS, "wild", "ChanBong__steamlit-noticeboard__storage")
FIXABLE = ["ref-doc-dangling-node", "index-dangling-node", "vector-without-node", "vector-not-indexed",
           "legacy-vector-store-name"]


def run(*args, timeout=300):
    import subprocess
    p = subprocess.run([LSTORE, *args], capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def save(path, data):
    # json.dump's defaults are what LlamaIndex's persist writes, so an
    # entry's bytes are json.dumps(key) + ": " + json.dumps(value).
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f)


def entry_bytes(key, value):
    return (json.dumps(key) + ": " + json.dumps(value)).encode()


def findings(store, *rules):
    args = ["validate", store, "--json"] + [a for r in rules for a in ("--rule", r)]
    rc, out, err = run(*args)
    assert rc in (0, 1), err
    return json.loads(out)["findings"]


def index_data(index_entry):
    return json.loads(index_entry["__data__"])


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lstore-repair-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def copy(self, src=SAMPLE, name="store"):
        dst = os.path.join(self.tmp, name)
        shutil.copytree(src, dst)
        return dst

    def assert_repaired(self, store, rules, plan_ids=()):
        """--dry-run names the ids and writes nothing; the repair then leaves no
        finding of `rules`; a second run says nothing to repair and writes nothing."""
        before = tree(store)
        rc, out, err = run("repair", store, "--dry-run")
        self.assertEqual(rc, 0, out + err)
        for rule in rules:
            self.assertIn(rule + ": would ", out)
        for i in plan_ids:
            self.assertIn(i, out)
        self.assertEqual(tree(store), before, "--dry-run wrote")
        rc, out, err = run("repair", store)
        self.assertEqual(rc, 0, out + err)
        for rule in rules:
            self.assertIn(rule + ": ", out)
        self.assertEqual([f for f in findings(store, *FIXABLE) if f["severity"] == "error" or f["rule"] in rules], [])
        after = tree(store)
        rc, out, err = run("repair", store)
        self.assertEqual((rc, out.strip()), (0, "nothing to repair"), err)
        self.assertEqual(tree(store), after, "a second repair wrote")
        return out


class RefDocTest(Base):
    def test_dangling_node_ids_go_and_an_emptied_ref_doc_goes_too(self):
        store = self.copy()
        path = os.path.join(store, "docstore.json")
        d = load(path)
        info = d["docstore/ref_doc_info"]
        first = next(iter(info))
        info[first]["node_ids"].append("ghost-node-1")
        info["ghost-doc"] = {"node_ids": ["ghost-node-2"], "metadata": {}}
        d["docstore/metadata"]["ghost-doc"] = {"doc_hash": "x"}
        save(path, d)
        self.assertEqual(len(findings(store, "ref-doc-dangling-node")), 2)
        self.assert_repaired(store, ["ref-doc-dangling-node"], ["ghost-node-1", "ghost-node-2"])
        got = load(path)
        self.assertNotIn("ghost-doc", got["docstore/ref_doc_info"])
        self.assertNotIn("ghost-doc", got["docstore/metadata"])
        self.assertNotIn("ghost-node-1", got["docstore/ref_doc_info"][first]["node_ids"])
        # Every entry repair did not touch keeps its bytes; the other files too.
        raw = read_bytes(path)
        for coll, entries in d.items():
            for k, v in entries.items():
                if k not in (first, "ghost-doc"):
                    self.assertIn(entry_bytes(k, v), raw, f"{coll}.{k} changed")
        for name in ("index_store.json", "default__vector_store.json"):
            self.assertEqual(read_bytes(os.path.join(store, name)), read_bytes(os.path.join(SAMPLE, name)))


class IndexTest(Base):
    def test_dangling_nodes_dict_entry_goes(self):
        store = self.copy()
        path = os.path.join(store, "index_store.json")
        original = read_bytes(path)
        d = load(path)
        (key, entry), = d["index_store/data"].items()
        data = index_data(entry)
        data["nodes_dict"]["ghost-node"] = "ghost-node"
        entry["__data__"] = json.dumps(data)
        save(path, d)
        self.assertEqual(len(findings(store, "index-dangling-node")), 1)
        self.assert_repaired(store, ["index-dangling-node"], ["ghost-node"])
        # __data__ is written as LlamaIndex's to_json() writes it: the store is as it was.
        self.assertEqual(read_bytes(path), original)

    @unittest.skipUnless(os.path.isdir(MULTI), "corpus not found")
    def test_a_delete_that_stopped_after_the_docstore_is_finished_as_lstore_delete(self):
        # Several index types (vector, list, keyword table, tree) reference the
        # node; its docstore entries are gone, everything else still names it.
        half = self.copy(MULTI, "half")
        whole = self.copy(MULTI, "whole")
        d = load(os.path.join(half, "docstore.json"))
        node = next(k for k, v in d["docstore/data"].items() if v["__type__"] == "1" and k in d["docstore/metadata"]
                    and any(k in r["node_ids"] and len(r["node_ids"]) > 1 for r in d["docstore/ref_doc_info"].values()))
        del d["docstore/data"][node]
        del d["docstore/metadata"][node]
        save(os.path.join(half, "docstore.json"), d)
        rules = {f["rule"] for f in findings(half, *FIXABLE)}
        self.assertTrue({"ref-doc-dangling-node", "index-dangling-node", "vector-without-node"} <= rules, rules)
        rc, out, err = run("repair", half)
        self.assertEqual(rc, 0, out + err)
        rc, out, err = run("delete", whole, "--node", node)
        self.assertEqual(rc, 0, out + err)
        for name in ("index_store.json", "default__vector_store.json"):
            self.assertEqual(read_bytes(os.path.join(half, name)), read_bytes(os.path.join(whole, name)), name)
        self.assertEqual(load(os.path.join(half, "docstore.json")), load(os.path.join(whole, "docstore.json")))
        self.assertEqual([f for f in findings(half, *FIXABLE)], [])


class VectorTest(Base):
    def test_a_vector_without_node_or_index_goes(self):
        store = self.copy()
        path = os.path.join(store, "default__vector_store.json")
        original = read_bytes(path)
        v = load(path)
        some = next(iter(v["embedding_dict"]))
        v["embedding_dict"]["ghost-vec"] = v["embedding_dict"][some]
        v["text_id_to_ref_doc_id"]["ghost-vec"] = "ghost-doc"
        v["metadata_dict"]["ghost-vec"] = {}
        save(path, v)
        rules = sorted(f["rule"] for f in findings(store, *FIXABLE))
        self.assertEqual(rules, ["vector-not-indexed", "vector-without-node"])
        self.assert_repaired(store, ["vector-without-node"], ["ghost-vec"])
        self.assertEqual(read_bytes(path), original)

    def test_a_node_missing_from_nodes_dict_is_re_attached(self):
        store = self.copy()
        path = os.path.join(store, "index_store.json")
        original = read_bytes(path)
        d = load(path)
        (key, entry), = d["index_store/data"].items()
        data = index_data(entry)
        last = list(data["nodes_dict"])[-1]
        del data["nodes_dict"][last]
        entry["__data__"] = json.dumps(data)
        save(path, d)
        self.assertEqual([f["rule"] for f in findings(store, *FIXABLE)], ["vector-not-indexed"])
        self.assert_repaired(store, ["vector-not-indexed"], [last])
        # nodes_dict[id] = id at the end, as VectorStoreIndex adds it: the original bytes.
        self.assertEqual(read_bytes(path), original)

    @unittest.skipUnless(os.path.isdir(MULTI), "corpus not found")
    def test_several_vector_indexes_leave_the_choice_to_the_user(self):
        store = self.copy(MULTI)
        path = os.path.join(store, "index_store.json")
        d = load(path)
        # A second vector index: which one a vector belongs to is not known.
        entries = d["index_store/data"]
        vec = entries["vector_index"]
        entries["vector_index_2"] = {"__type__": "vector_store", "__data__": json.dumps(
            dict(index_data(vec), index_id="vector_index_2", nodes_dict={}))}
        data = index_data(vec)
        gone = list(data["nodes_dict"])[-1]
        del data["nodes_dict"][gone]
        vec["__data__"] = json.dumps(data)
        save(path, d)
        before = tree(store)
        rc, out, err = run("repair", store, "--only", "vector-not-indexed")
        self.assertEqual(rc, 1, out + err)
        self.assertIn("2 vector indexes", out)
        self.assertEqual(tree(store), before)


class LegacyNameTest(Base):
    def test_vector_store_json_is_renamed_bytes_unchanged(self):
        store = self.copy()
        os.rename(os.path.join(store, "default__vector_store.json"), os.path.join(store, "vector_store.json"))
        self.assertEqual([f["rule"] for f in findings(store, *FIXABLE)], ["legacy-vector-store-name"])
        self.assert_repaired(store, ["legacy-vector-store-name"], ["vector_store.json"])
        self.assertEqual(tree(store), tree(SAMPLE))

    def test_a_git_lfs_pointer_is_left_and_said(self):
        store = self.copy()
        os.remove(os.path.join(store, "default__vector_store.json"))
        with open(os.path.join(store, "vector_store.json"), "w") as f:
            f.write("version https://git-lfs.github.com/spec/v1\noid sha256:" + "0" * 64 + "\nsize 1234\n")
        before = tree(store)
        rc, out, err = run("repair", store)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("Git LFS pointer", out)
        self.assertEqual(tree(store), before)

    @unittest.skipUnless(os.path.isdir(LEGACY_WILD), "corpus not found")
    def test_a_wild_0_8_store(self):
        store = self.copy(LEGACY_WILD)
        os.remove(os.path.join(store, "PROVENANCE.json"))
        before = tree(store)
        rc, out, err = run("repair", store, "--only", "legacy-vector-store-name")
        self.assertEqual(rc, 0, out + err)
        after = tree(store)
        self.assertEqual(after.pop("default__vector_store.json"), before.pop("vector_store.json"))
        self.assertEqual(after, before)


class ContractTest(Base):
    def plant(self):
        store = self.copy()
        path = os.path.join(store, "docstore.json")
        d = load(path)
        next(iter(d["docstore/ref_doc_info"].values()))["node_ids"].append("ghost-node")
        save(path, d)
        return store

    def test_backup_keeps_the_store_as_it_was(self):
        store = self.plant()
        before = tree(store)
        backup = os.path.join(self.tmp, "backup")
        rc, out, err = run("repair", store, "--backup", backup)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(tree(backup), before)
        self.assertNotEqual(tree(store), before)

    def test_only_limits_the_repairs(self):
        store = self.plant()
        os.rename(os.path.join(store, "default__vector_store.json"), os.path.join(store, "vector_store.json"))
        rc, out, err = run("repair", store, "--only", "legacy-vector-store-name")
        self.assertEqual(rc, 0, out + err)
        self.assertNotIn("ref-doc-dangling-node", out)
        self.assertEqual([f["rule"] for f in findings(store, *FIXABLE)], ["ref-doc-dangling-node"])

    def test_usage(self):
        store = self.plant()
        self.assertEqual(run("repair", store, "--only", "hash-mismatch")[0], 2)  # a rule without a repair
        self.assertEqual(run("repair", store, "--only", "no-such-rule")[0], 2)
        self.assertEqual(run("repair", os.path.join(self.tmp, "nowhere"))[0], 3)

    def test_json_plan_names_every_id(self):
        store = self.plant()
        rc, out, err = run("repair", store, "--dry-run", "--json")
        self.assertEqual(rc, 0, err)
        o = json.loads(out)
        self.assertTrue(o["dry_run"])
        (step,) = o["repairs"]
        self.assertEqual((step["rule"], step["count"], step["ids"], step["left"]), ("ref-doc-dangling-node", 1, ["ghost-node"], 0))
        self.assertEqual(list(o["changed"]), ["docstore.json:docstore/ref_doc_info"])

    def test_validate_marks_fixable_findings(self):
        store = self.plant()
        path = os.path.join(store, "default__vector_store.json")
        v = load(path)
        next(iter(v["embedding_dict"].values()))[0] = float("nan")
        save(path, v)
        fixable = {f["rule"]: f["fixable"] for f in findings(store)}
        self.assertEqual(fixable.get("ref-doc-dangling-node"), True)
        self.assertEqual(fixable.get("non-finite-vector"), False)

    def test_through_sqlite(self):
        store = self.plant()
        db = os.path.join(self.tmp, "s.db")
        rc, out, err = run("convert", store, "sqlite:" + db)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(len(findings("sqlite:" + db, "ref-doc-dangling-node")), 1)
        rc, out, err = run("repair", "sqlite:" + db)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(findings("sqlite:" + db, *FIXABLE), [])
        self.assertEqual(run("repair", "sqlite:" + db)[1].strip(), "nothing to repair")


@unittest.skipUnless(os.path.isdir(CORPUS), "corpus not found")
class CorpusTest(Base):
    def test_every_corpus_store_repairs_to_a_fixed_point(self):
        """Whatever a real store needs (wild ones have dangling references),
        repair leaves no fixable error it could fix, and a second run changes nothing."""
        for src in corpus_dirs():
            with self.subTest(store=os.path.relpath(src, CORPUS)):
                store = self.copy(src, "c")
                rc, out, err = run("repair", store)
                self.assertIn(rc, (0, 1, 3), out + err)
                if rc == 3:  # not loadable as a whole (LFS pointers, FAISS): nothing written
                    self.assertEqual(tree(store), tree(src))
                else:
                    after = tree(store)
                    rc2, out2, err2 = run("repair", store)
                    self.assertEqual(rc2, rc, out2 + err2)
                    if rc == 0:
                        self.assertEqual(out2.strip(), "nothing to repair")
                    self.assertEqual(tree(store), after)
                shutil.rmtree(store)


if __name__ == "__main__":
    LSTORE = os.path.abspath(sys.argv.pop(1))
    unittest.main()
