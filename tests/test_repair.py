#!/usr/bin/env python3
"""CLI tests of lstore repair: each fault validate can report and repair can fix
is planted into a copy of testdata/sample or a corpus store, then checked: the
plan (--dry-run, writing nothing), the result validating clean of the rule,
a second run changing nothing, untouched entries keeping their bytes,
--backup, --only, --json and sqlite:. Usage: test_repair.py PATH/TO/lstore"""
import json
import os
import re
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
SUMMARY_WILD = os.path.join(CORPUS, "wild", "biphan380__doc_summary_index__index")
FIXABLE = ["parse-error", "node-without-metadata", "ref-doc-dangling-node", "index-dangling-node", "vector-without-node", "vector-not-indexed",
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


class MetadataTest(Base):
    def test_missing_metadata_and_ref_doc_info_entries_are_rebuilt_as_add_documents_writes_them(self):
        store = self.copy()
        path = os.path.join(store, "docstore.json")
        d = load(path)
        info = d["docstore/ref_doc_info"]
        # One node loses its metadata entry (its ref doc stays); a whole ref
        # doc loses its ref_doc_info entry and its nodes' metadata entries.
        lone = next(r for r in info.values() if len(r["node_ids"]) > 1)["node_ids"][0]
        gone_ref, gone_info = next((k, v) for k, v in info.items() if lone not in v["node_ids"])
        original = {k: d["docstore/metadata"][k] for k in [lone] + gone_info["node_ids"]}
        for k in original:
            del d["docstore/metadata"][k]
        for r in info.values():
            if lone in r["node_ids"]:
                r["node_ids"].remove(lone)
        del info[gone_ref]
        save(path, d)
        self.assertEqual(len(findings(store, "node-without-metadata")), len(original))
        self.assert_repaired(store, ["node-without-metadata"], [lone])
        got = load(path)
        for k, v in original.items():
            self.assertEqual(got["docstore/metadata"][k], v, k)  # the hash LlamaIndex computed, recomputed
        self.assertEqual(got["docstore/ref_doc_info"][gone_ref]["node_ids"], gone_info["node_ids"])
        self.assertIn(lone, next(r for r in got["docstore/ref_doc_info"].values() if lone in r["node_ids"])["node_ids"])
        self.assertEqual(findings(store, "hash-mismatch", "ref-doc-mismatch", "node-without-metadata"), [])


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

    def two_vector_indexes(self, split):
        """MULTI with a second vector index and one node dropped from the first's
        nodes_dict; with `split`, the node's ref doc's other nodes move to the second."""
        store = self.copy(MULTI)
        path = os.path.join(store, "index_store.json")
        d = load(path)
        ref_docs = load(os.path.join(store, "docstore.json"))["docstore/ref_doc_info"]
        entries = d["index_store/data"]
        vec = entries["vector_index"]
        data = index_data(vec)
        gone = next(n for r in ref_docs.values() for n in r["node_ids"] if len(r["node_ids"]) > 2 and n in data["nodes_dict"])
        siblings = next(r["node_ids"] for r in ref_docs.values() if gone in r["node_ids"])
        moved = {n: n for n in siblings if n != gone} if split else {}
        if split:  # one sibling moves: the ref doc sits in both indexes
            first = next(iter(moved))
            moved = {first: first}
            del data["nodes_dict"][first]
        entries["vector_index_2"] = {"__type__": "vector_store", "__data__": json.dumps(
            dict(index_data(vec), index_id="vector_index_2", nodes_dict=moved))}
        del data["nodes_dict"][gone]
        vec["__data__"] = json.dumps(data)
        save(path, d)
        return store, path, gone

    @unittest.skipUnless(os.path.isdir(MULTI), "corpus not found")
    def test_several_vector_indexes_re_attach_where_the_ref_doc_sits(self):
        store, path, gone = self.two_vector_indexes(split=False)
        rc, out, err = run("repair", store, "--only", "vector-not-indexed")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("to index vector_index's nodes_dict", out)
        data = index_data(load(path)["index_store/data"]["vector_index"])
        self.assertEqual(data["nodes_dict"].get(gone), gone)
        self.assertEqual(index_data(load(path)["index_store/data"]["vector_index_2"])["nodes_dict"], {})
        self.assertEqual(findings(store, "vector-not-indexed"), [])

    @unittest.skipUnless(os.path.isdir(MULTI), "corpus not found")
    def test_several_vector_indexes_with_the_ref_doc_in_both_leave_the_choice_to_the_user(self):
        store, path, gone = self.two_vector_indexes(split=True)
        before = tree(store)
        rc, out, err = run("repair", store, "--only", "vector-not-indexed")
        self.assertEqual(rc, 1, out + err)
        self.assertIn("2 vector indexes", out)
        self.assertIn("1 finding left", out)
        self.assertEqual(tree(store), before)


class SalvageTest(Base):
    """A store file cut short (a crash during persist) is salvaged to its last
    complete entry; the other repairs then drop what pointed at the lost part."""

    def cuts(self, raw, collection):
        """Offsets inside `collection`'s third and last entries: in its key, in a
        string, in a number, in an embedding array, and just after the ', '
        before it."""
        start = raw.index(json.dumps(collection).encode())
        keys = list(json.loads(raw)[collection])
        third = start + raw[start:].index(json.dumps(keys[2]).encode() + b": ")
        last = start + raw[start:].index(json.dumps(keys[-1]).encode() + b": ")
        out = {"between entries": third, "in a key": third + 5, "in the last entry": last + len(keys[-1]) + 8}
        entry = raw[third:raw.index(json.dumps(keys[3]).encode() + b": ", third)]
        if b'": "' in entry[40:]:
            out["in a string"] = third + 40 + entry[40:].index(b'": "') + 10
        m = re.search(rb"\d\.\d{6}", entry)
        if m:
            out["in a number"] = third + m.start() + 4
        if collection == "embedding_dict":
            out["in an embedding"] = third + entry.index(b"[") + 40
        return out

    def check_salvage(self, src, name, collection):
        original = read_bytes(os.path.join(src, name))
        for where, at in self.cuts(original, collection).items():
            with self.subTest(file=name, cut=where):
                store = self.copy(src, "cut-" + where.replace(" ", "-"))
                path = os.path.join(store, name)
                with open(path, "wb") as f:
                    f.write(original[:at])
                self.assertEqual([f["rule"] for f in findings(store, "parse-error")], ["parse-error"])
                rc, plan, err = run("repair", store, "--dry-run")
                self.assertEqual(rc, 0, plan + err)
                self.assertIn("parse-error: would salvage " + name, plan)
                rc, out, err = run("repair", store, "--json")
                self.assertEqual(rc, 0, out + err)
                report = json.loads(out)
                salvage = [r for r in report["repairs"] if r["rule"] == "parse-error" and r["action"].startswith("salvaged")]
                self.assertEqual(len(salvage), 1, out)
                # json.load (what LlamaIndex reads it with) accepts the result.
                got = load(path)
                self.assertIn(collection, got)
                # No error validate has a repair for is left, and a second run changes nothing.
                self.assertEqual([f for f in findings(store, *FIXABLE, "parse-error") if f["severity"] == "error"], [])
                after = tree(store)
                rc, out2, err = run("repair", store)
                self.assertEqual((rc, out2.strip()), (0, "nothing to repair"), err)
                self.assertEqual(tree(store), after)
                # Every entry kept is the original's bytes (unless a later repair rewrote it).
                # Per part ("docstore.json:docstore/metadata"; an index struct's own part lists node ids).
                rewritten = {(p.split(":", 1)[1] if ":" in p else p, i) for kind in ("changed", "added")
                             for p, ids in report[kind].items() for i in ids}
                rewritten |= {("index_store/data", i) for kind in ("changed", "added") for p, ids in report[kind].items()
                              if p.endswith(":index_store/data") for i in ids}
                whole = json.loads(original)
                kept = 0
                raw = read_bytes(path)
                for coll, entries in got.items():
                    if not isinstance(entries, dict):
                        continue
                    for k, v in entries.items():
                        if (coll, k) in rewritten:
                            continue
                        self.assertEqual(v, whole[coll][k], f"{coll}.{k}")
                        self.assertIn(entry_bytes(k, v), original, f"{coll}.{k} changed bytes")
                        self.assertIn(entry_bytes(k, v), raw)
                        kept += 1
                if where != "between entries":
                    self.assertGreater(kept, 0)
                # The lost entries the other stores name are listed.
                lost = [k for k in whole[collection] if k not in got[collection]]
                self.assertTrue(lost)
                if name == "docstore.json":
                    # Metadata entries rebuilt after a cut are the ones LlamaIndex wrote.
                    for k, v in got.get("docstore/metadata", {}).items():
                        self.assertEqual(v, whole["docstore/metadata"][k], k)
                if name == "docstore.json" and "docstore/ref_doc_info" in whole:
                    # ref_doc_info, cut away whole or in part, lists the nodes kept as the original did.
                    info = got.get("docstore/ref_doc_info", {})
                    kept_nodes = set(got["docstore/data"])
                    for ref, r in whole["docstore/ref_doc_info"].items():
                        if set(r["node_ids"]) & kept_nodes and collection != "docstore/ref_doc_info":
                            self.assertEqual(info[ref]["node_ids"], [n for n in r["node_ids"] if n in kept_nodes], ref)
                            self.assertEqual(info[ref]["metadata"], r["metadata"], ref)
                if collection == "embedding_dict":
                    # Every vector kept has its text_id_to_ref_doc_id and
                    # metadata_dict entries back, equal to what LlamaIndex wrote,
                    # keys in its order (validate's metadata-dict-missing is not left).
                    for part in ("text_id_to_ref_doc_id", "metadata_dict"):
                        self.assertEqual(sorted(got[part]), sorted(got["embedding_dict"]), part)
                        for k, v in got[part].items():
                            self.assertEqual(v, whole[part][k], f"{part}.{k}")
                            if isinstance(v, dict):
                                self.assertEqual(list(v), list(whole[part][k]), f"{part}.{k} key order")
                if name == "docstore.json":
                    named = set(salvage[0]["ids"])
                    self.assertTrue(set(lost) & named, (lost, named))
                    self.assertTrue(named <= set(lost) | set(whole["docstore/data"]) - set(got["docstore/data"]))
                shutil.rmtree(store)

    def test_docstore(self):
        self.check_salvage(SAMPLE, "docstore.json", "docstore/data")

    def test_vector_store(self):
        self.check_salvage(SAMPLE, "default__vector_store.json", "embedding_dict")

    def test_a_vector_store_cut_in_text_id_to_ref_doc_id_comes_back_byte_for_byte(self):
        # The sample's vectors all have docstore nodes: what the cut lost of
        # text_id_to_ref_doc_id, and metadata_dict whole, is rebuilt from them
        # as SimpleVectorStore.add wrote it, so the file is the original again.
        store = self.copy()
        path = os.path.join(store, "default__vector_store.json")
        original = read_bytes(path)
        at = original.index(b'"text_id_to_ref_doc_id"') + 300
        with open(path, "wb") as f:
            f.write(original[:at])
        rc, out, err = run("repair", store)
        self.assertEqual(rc, 0, out + err)
        self.assertRegex(out, r"re-created [1-9]\d* text_id_to_ref_doc_id entries")
        self.assertIn("re-created 12 metadata_dict entries", out)
        self.assertEqual(read_bytes(path), original)
        self.assertEqual(findings(store), [])

    @unittest.skipUnless(os.path.isdir(MULTI), "corpus not found")
    def test_corpus_docstore(self):
        self.check_salvage(MULTI, "docstore.json", "docstore/data")

    @unittest.skipUnless(os.path.isdir(MULTI), "corpus not found")
    def test_corpus_vector_store(self):
        self.check_salvage(MULTI, "default__vector_store.json", "embedding_dict")

    @unittest.skipUnless(os.path.isdir(MULTI), "corpus not found")
    def test_index_store_cut_between_index_structs(self):
        store = self.copy(MULTI)
        path = os.path.join(store, "index_store.json")
        original = read_bytes(path)
        structs = load(path)["index_store/data"]
        second = list(structs)[1]
        at = original.index(json.dumps(second).encode() + b": ") + 30
        with open(path, "wb") as f:
            f.write(original[:at])
        rc, out, err = run("repair", store)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("parse-error: salvaged index_store.json", out)
        got = load(path)["index_store/data"]
        self.assertEqual(list(got), list(structs)[:1])
        self.assertIn(entry_bytes(list(structs)[0], structs[list(structs)[0]]), read_bytes(path))
        self.assertEqual(run("repair", store)[1].strip(), "nothing to repair")

    def test_a_damaged_entry_in_the_middle_goes_alone(self):
        # Not a truncation: a stray byte inside one node (as a bad disk
        # sector leaves it); that node goes, every other entry stays as it was.
        store = self.copy()
        path = os.path.join(store, "docstore.json")
        original = read_bytes(path)
        at = original.index(b'"docstore/data"') + 2000
        with open(path, "wb") as f:
            f.write(original[:at] + b"\x00" + original[at + 1:])
        rc, out, err = run("repair", store)
        self.assertEqual(rc, 0, out + err)
        self.assertRegex(out, r"parse-error: (removed 1 damaged entry |salvaged docstore.json .*dropped 1 damaged entry)")
        got = load(path)
        whole = json.loads(original)
        (gone,) = set(whole["docstore/data"]) - set(got["docstore/data"])
        self.assertEqual(list(got["docstore/data"]), [k for k in whole["docstore/data"] if k != gone])
        self.assertIn(gone, out.splitlines()[0])
        for k, v in got["docstore/data"].items():
            self.assertIn(entry_bytes(k, v), original)
        self.assertEqual(got["docstore/metadata"], whole["docstore/metadata"])
        self.assertEqual([f for f in findings(store) if f["fixable"]], [])
        self.assertEqual(run("repair", store)[1].strip(), "nothing to repair")

    def test_an_undecodable_byte_in_one_vector_drops_that_vector(self):
        store = self.copy()
        path = os.path.join(store, "default__vector_store.json")
        original = read_bytes(path)
        whole = json.loads(original)
        third = list(whole["embedding_dict"])[2]
        at = original.index(json.dumps(third).encode() + b": [") + len(third) + 10
        with open(path, "wb") as f:
            f.write(original[:at] + b"\xff" + original[at + 1:])
        rc, out, err = run("repair", store)
        self.assertEqual(rc, 0, out + err)
        got = load(path)
        self.assertEqual(list(got["embedding_dict"]), [k for k in whole["embedding_dict"] if k != third])
        self.assertEqual(got["metadata_dict"], {k: v for k, v in whole["metadata_dict"].items()})
        self.assertEqual([f for f in findings(store) if f["fixable"] and f["severity"] == "error"], [])

    def test_backup_keeps_the_cut_file_as_it_was(self):
        store = self.copy()
        path = os.path.join(store, "docstore.json")
        with open(path, "wb") as f:
            f.write(read_bytes(os.path.join(SAMPLE, "docstore.json"))[:15000])
        before = tree(store)
        backup = os.path.join(self.tmp, "backup")
        rc, out, err = run("repair", store, "--backup", backup)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(tree(backup), before)
        self.assertNotEqual(read_bytes(path), before["docstore.json"])

    def test_a_file_without_a_complete_root_is_left_and_said(self):
        store = self.copy()
        with open(os.path.join(store, "docstore.json"), "wb") as f:
            f.write(b'  \n  "docstore/data": {')
        before = tree(store)
        rc, out, err = run("repair", store)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("restore it from a backup", out)
        self.assertEqual(tree(store), before)


    @unittest.skipUnless(os.path.isdir(CORPUS), "corpus not found")
    def test_wild_docstores_cut_short(self):
        """Real stores of every era (pretty-printed ones too), their docstore cut
        at 60%: salvaged, json.load accepts it, nothing fixable is left."""
        done = 0
        for src in corpus_dirs():
            path = os.path.join(src, "docstore.json")
            if "wild" not in src or not os.path.isfile(path) or os.path.getsize(path) < 2000:
                continue
            try:
                whole = load(path)
            except ValueError:
                continue
            with self.subTest(store=os.path.basename(src)):
                store = self.copy(src, "w")
                original = read_bytes(path)
                with open(os.path.join(store, "docstore.json"), "wb") as f:
                    f.write(original[:len(original) * 6 // 10])
                rc, out, err = run("repair", store)
                self.assertIn(rc, (0, 1), out + err)
                self.assertIn("parse-error: salvaged docstore.json", out)
                got = load(os.path.join(store, "docstore.json"))
                for coll, entries in got.items():
                    if isinstance(entries, dict) and isinstance(whole.get(coll), dict):
                        for k in entries:
                            self.assertIn(k, whole[coll])
                self.assertEqual([f["rule"] for f in findings(store) if f["fixable"] and f["severity"] == "error"], [])
                after = tree(store)
                self.assertEqual(run("repair", store)[0], rc)
                self.assertEqual(tree(store), after)
                shutil.rmtree(store)
                done += 1
        self.assertGreater(done, 5)


class DocumentSummaryTest(Base):
    def test_a_summary_whose_summary_node_is_gone_goes_with_its_mappings(self):
        store = self.copy()
        path = os.path.join(store, "index_store.json")
        d = load(path)
        nodes = list(load(os.path.join(store, "docstore.json"))["docstore/data"])
        real, ghost = nodes[0], "ghost-summary"
        data = {"index_id": "summary", "summary": None,
                "summary_id_to_node_ids": {real: [nodes[1]], ghost: [nodes[2], nodes[3]]},
                "node_id_to_summary_id": {nodes[1]: real, nodes[2]: ghost, nodes[3]: ghost},
                "doc_id_to_summary_id": {"doc-a": real, "doc-b": ghost}}
        d["index_store/data"]["summary"] = {"__type__": "document_summary", "__data__": json.dumps(data)}
        save(path, d)
        self.assertEqual([f["rule"] for f in findings(store, "index-dangling-node")], ["index-dangling-node"])
        rc, out, err = run("repair", store, "--only", "index-dangling-node")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("1 document summary whose summary node the docstore lacks (its nodes stay", out)
        got = index_data(load(path)["index_store/data"]["summary"])
        self.assertEqual(got["summary_id_to_node_ids"], {real: [nodes[1]]})
        self.assertEqual(got["node_id_to_summary_id"], {nodes[1]: real})
        self.assertEqual(got["doc_id_to_summary_id"], {"doc-a": real})
        self.assertEqual(findings(store, "index-dangling-node"), [])
        self.assertEqual(run("repair", store, "--only", "index-dangling-node")[1].strip(), "nothing to repair")


    @unittest.skipUnless(os.path.isdir(SUMMARY_WILD), "corpus not found")
    def test_a_real_document_summary_index_loses_a_summary_node(self):
        store = self.copy(SUMMARY_WILD)
        os.remove(os.path.join(store, "PROVENANCE.json"))
        path = os.path.join(store, "docstore.json")
        d = load(path)
        (iid, entry), = load(os.path.join(store, "index_store.json"))["index_store/data"].items()
        data = index_data(entry)
        summary, summarised = next(iter(data["summary_id_to_node_ids"].items()))
        for coll in ("docstore/data", "docstore/metadata"):
            d[coll].pop(summary, None)
        for r in d.get("docstore/ref_doc_info", {}).values():
            if summary in r["node_ids"]:
                r["node_ids"].remove(summary)
        save(path, d)
        self.assertIn("index-dangling-node", {f["rule"] for f in findings(store)})
        rc, out, err = run("repair", store)
        self.assertEqual(rc, 0, out + err)
        got = index_data(load(os.path.join(store, "index_store.json"))["index_store/data"][iid])
        self.assertNotIn(summary, got["summary_id_to_node_ids"])
        self.assertEqual(len(got["summary_id_to_node_ids"]), len(data["summary_id_to_node_ids"]) - 1)
        self.assertFalse(set(summarised) & set(got["node_id_to_summary_id"]))
        self.assertNotIn(summary, got["doc_id_to_summary_id"].values())
        self.assertNotIn(summary, load(os.path.join(store, "default__vector_store.json"))["embedding_dict"])
        for n in summarised:  # the summarised nodes stay in the docstore
            self.assertIn(n, load(path)["docstore/data"])
        self.assertEqual([f for f in findings(store) if f["fixable"]], [])
        self.assertEqual(run("repair", store)[1].strip(), "nothing to repair")


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

    def plant_everywhere(self):
        """A store with a fault for each repair that works on every backend:
        a dangling ref_doc_info id, a dangling nodes_dict entry, an orphan vector."""
        store = self.plant()
        path = os.path.join(store, "index_store.json")
        d = load(path)
        (key, entry), = d["index_store/data"].items()
        data = index_data(entry)
        data["nodes_dict"]["ghost-indexed"] = "ghost-indexed"
        entry["__data__"] = json.dumps(data)
        save(path, d)
        path = os.path.join(store, "default__vector_store.json")
        v = load(path)
        v["embedding_dict"]["ghost-vec"] = next(iter(v["embedding_dict"].values()))
        v["text_id_to_ref_doc_id"]["ghost-vec"] = "ghost-doc"
        v["metadata_dict"]["ghost-vec"] = {}
        save(path, v)
        return store

    def repaired_through(self, uri):
        """The planted store converted to `uri`, repaired there, and read back:
        the same bytes as the folder repaired in place."""
        store = self.plant_everywhere()
        rc, out, err = run("convert", store, uri, "--force")
        self.assertEqual(rc, 0, out + err)
        rules = sorted({f["rule"] for f in findings(uri, *FIXABLE)})
        self.assertEqual(rules, ["index-dangling-node", "ref-doc-dangling-node", "vector-not-indexed", "vector-without-node"])
        rc, out, err = run("repair", uri)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(findings(uri, *FIXABLE), [])
        self.assertEqual(run("repair", uri)[1].strip(), "nothing to repair")
        rc, out, err = run("repair", store)
        self.assertEqual(rc, 0, out + err)
        back = os.path.join(self.tmp, "back")
        shutil.rmtree(back, ignore_errors=True)
        rc, out, err = run("convert", uri, back)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(tree(back), tree(store))

    def test_through_sqlite(self):
        self.repaired_through("sqlite:" + os.path.join(self.tmp, "s.db"))

    def test_through_redis(self):
        import test_redis
        if not test_redis.REDIS_SERVER or not test_redis.REDIS_CLI:
            print("SKIPPED: repair through redis (no redis-server)", file=sys.stderr)
            self.skipTest("no redis-server")
        test_redis.LSTORE = LSTORE
        server = test_redis.Server()
        try:
            self.repaired_through(server.uri(3))
        finally:
            server.stop()

    def test_through_postgres(self):
        import test_postgres
        if not test_postgres.PG_BIN or not test_postgres.PSQL:
            print("SKIPPED: repair through postgres (no initdb)", file=sys.stderr)
            self.skipTest("no initdb")
        server = test_postgres.Server()
        try:
            self.repaired_through(server.uri(query="?schema=repair"))
        finally:
            server.remove()


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
                    # Repaired: no finding with a repair is left; otherwise each one left is said.
                    left = {f["rule"] for f in findings(store) if f["fixable"]}
                    if rc == 0:
                        self.assertEqual(left, set(), out)
                    for rule in left:
                        self.assertRegex(out, rule + r": .*\n  \d+ findings? left: ")
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
