#!/usr/bin/env python3
"""CLI tests of the writing commands: lstore delete. Runs the built binary
(argv[1]); checks exit codes, atomicity under SIGKILL, locking and
concurrent writers. Usage: test_cli_edit.py PATH/TO/lstore"""
import fcntl
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

LSTORE = None
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "testdata", "sample")
GEN = os.path.join(ROOT, "bench", "gen_store.py")
CORPUS = os.environ.get("LSTORE_CORPUS", os.path.join(ROOT, "..", "shared", "corpus"))
PG = os.path.join(CORPUS, "llamaindex-0.12", "pg", "persist")
TRIALS = int(os.environ.get("LSTORE_CRASH_TRIALS", "24"))


def run(*args, timeout=120, stdin=None):
    p = subprocess.run([LSTORE, *args], capture_output=True, timeout=timeout, input=stdin)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def snapshot(d):
    """Every file of a store with its bytes and mode (lock/staging files beside it excluded)."""
    out = {}
    for name in sorted(os.listdir(d)):
        p = os.path.join(d, name)
        if os.path.isfile(p):
            with open(p, "rb") as f:
                out[name] = (f.read(), os.stat(p).st_mode & 0o7777)
    return out


def ref_docs(store):
    return [r["id"] for r in map(json.loads, run("ls", store, "docs", "--format", "ndjson")[1].splitlines())]


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lstore-edit-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def copy(self, src=SAMPLE, name="store"):
        dst = os.path.join(self.tmp, name)
        shutil.copytree(src, dst)
        return dst

    def sigkill_delete_trials(self, store, ref, other, trials, seed):
        """`delete --ref-doc ref` on copies of `store`, killed at random
        instants: each copy is the old store or the new one, and the next
        writers clean up what the killed one left and succeed."""
        old = snapshot(store)
        ref_store = self.copy(store, "reference")
        t0 = time.monotonic()
        self.assertEqual(run("delete", ref_store, "--ref-doc", ref)[0], 0)
        duration = time.monotonic() - t0
        new = snapshot(ref_store)
        self.assertNotEqual(old, new)
        rng = random.Random(seed)
        outcomes = {"old": 0, "new": 0}
        for trial in range(trials):
            work = self.copy(store, f"t{trial}")
            p = subprocess.Popen([LSTORE, "delete", work, "--ref-doc", ref], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0, duration * 1.2))
            p.send_signal(signal.SIGKILL)
            p.wait()
            got = snapshot(work)
            self.assertIn(got, (old, new), f"trial {trial}: a mix of old and new")
            outcomes["old" if got == old else "new"] += 1
            if got == old:
                self.assertEqual(run("delete", work, "--ref-doc", ref)[0], 0)
                self.assertEqual(snapshot(work), new)
            self.assertEqual(run("delete", work, "--ref-doc", other)[0], 0)
            leftovers = [n for n in os.listdir(self.tmp) if n.startswith(f".t{trial}.lstore-")]
            self.assertEqual(leftovers, [], "staging directory left behind")
            shutil.rmtree(work)
        print(f"crash trials: {outcomes}", file=sys.stderr)


class DeleteTest(Base):
    def test_delete_ref_doc(self):
        store = self.copy()
        refs = ref_docs(store)
        rc, out, err = run("delete", store, "--ref-doc", refs[0], "--json")
        self.assertEqual(rc, 0, err)
        report = json.loads(out)
        self.assertFalse(report["dry_run"])
        self.assertEqual(report["removed"]["docstore.json:docstore/ref_doc_info"], [refs[0]])
        self.assertEqual(ref_docs(store), refs[1:])
        s = json.loads(run("ls", store, "--json")[1])
        self.assertEqual(s["docstore"]["nodes"], s["vector_stores"][0]["vectors"])
        self.assertEqual(s["indexes"][0]["nodes"], s["docstore"]["nodes"])
        self.assertEqual(sorted(os.listdir(self.tmp)), ["store"])  # no staging, no lock file left

    def test_dry_run_changes_nothing(self):
        store = self.copy()
        before = snapshot(store)
        ref = ref_docs(store)[0]
        rc, out, err = run("delete", store, "--ref-doc", ref, "--dry-run")
        self.assertEqual(rc, 0, err)
        self.assertIn("would remove", out)
        self.assertIn("docstore.json:docstore/data", out)
        self.assertEqual(snapshot(store), before)

    def test_missing_id_is_exit_1_and_writes_nothing(self):
        store = self.copy()
        before = snapshot(store)
        for opt in ("--ref-doc", "--node"):
            rc, out, err = run("delete", store, opt, "no-such-id")
            self.assertEqual(rc, 1, err)
            self.assertEqual(out, "")
            self.assertIn("no-such-id", err.splitlines()[0])
        self.assertEqual(snapshot(store), before)

    def test_where_selects_ref_docs_by_metadata(self):
        store = self.copy()
        docs = json.loads(run("get", store, ref_docs(store)[0], "--json")[1])["ref_doc_info"]
        key, value = next((k, v) for k, v in docs["metadata"].items() if isinstance(v, str))
        expr = f"{key} == {json.dumps(value)}"
        rc, out, err = run("delete", store, "--where", expr, "--dry-run", "--json")
        self.assertEqual(rc, 0, err)
        chosen = json.loads(out)["ref_docs"]
        self.assertIn(ref_docs(store)[0], chosen)
        rc, _, err = run("delete", store, "--where", expr)
        self.assertEqual(rc, 0, err)
        self.assertFalse(set(chosen) & set(ref_docs(store)))
        self.assertEqual(run("delete", store, "--where", f"{key} == \"no such value\"")[0], 1)
        self.assertEqual(run("delete", store, "--where", "bad expression here !")[0], 2)

    def test_usage(self):
        store = self.copy()
        self.assertEqual(run("delete", store)[0], 2)
        self.assertEqual(run("delete", store, "--ref-doc", "a", "--node", "b")[0], 2)

    def test_modes_are_kept_and_backup_is_the_old_store(self):
        store = self.copy()
        os.chmod(os.path.join(store, "docstore.json"), 0o640)
        os.chmod(store, 0o750)
        before = snapshot(store)
        backup = os.path.join(self.tmp, "backup")
        rc, _, err = run("delete", store, "--ref-doc", ref_docs(store)[0], "--backup", backup)
        self.assertEqual(rc, 0, err)
        self.assertEqual(os.stat(os.path.join(store, "docstore.json")).st_mode & 0o777, 0o640)
        self.assertEqual(os.stat(store).st_mode & 0o777, 0o750)
        self.assertEqual({k: v[0] for k, v in snapshot(backup).items()}, {k: v[0] for k, v in before.items()})

    def test_held_lock_is_exit_3_naming_the_holder(self):
        store = self.copy()
        before = snapshot(store)
        lock = os.path.join(self.tmp, ".store.lstore.lock")
        with open(lock, "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            f.write("4242\n")
            f.flush()
            rc, _, err = run("delete", store, "--ref-doc", ref_docs(store)[0])
            self.assertEqual(rc, 3, err)
            self.assertIn("locked by another writer (pid 4242)", err)
            self.assertEqual(snapshot(store), before)
            # --wait: the lock is released while lstore waits.
            threading.Timer(0.5, lambda: fcntl.flock(f, fcntl.LOCK_UN)).start()
            rc, _, err = run("delete", store, "--ref-doc", ref_docs(store)[0], "--wait", "10")
            self.assertEqual(rc, 0, err)


def llamaindex_pg_delete(graph, node_id):
    """What PropertyGraphIndex._delete_node(node_id) does to the dict
    property_graph_store.json holds, in llama-index-core 0.12. BaseIndex.delete_nodes
    calls it for each id, and delete_ref_doc for each of the document's
    ref_doc_info node_ids (indices/base.py); it is one call of
    SimplePropertyGraphStore.delete(ids=[node_id]) (indices/property_graph/base.py):
      graph_stores/simple_labelled.py, delete(): get_triplets(ids=[node_id]), the
        triplets whose subject or object is node_id; graph.delete_triplet(t) for each;
        then get(ids=[node_id]) and graph.delete_node(n) for each.
      graph_stores/types.py, LabelledPropertyGraph.delete_triplet(): triplets.remove(
        (s, r, o)); del nodes[s] and nodes[o] when present; del the relation
        _get_relation_key() names, f"{s}_{r}_{o}", when present. delete_node():
        del nodes[id] when present.
    Nothing else: entities the chunk mentioned and the relations extracted from it
    (properties.triplet_source_id) stay. The triplets are a Python set (one entry
    per distinct triplet); the file's list order is kept here, as lstore keeps it.
    One departure, documented in lstore-delete(1): get_triplets() looks up the
    nodes of every triplet, so LlamaIndex raises KeyError once a triplet names a
    node an earlier call removed (the second chunk of a document: its chunks share
    the document's node). Triplets are matched by their ids here, so such a
    triplet goes as delete_triplet would have removed it."""
    for s, r, o in [t for t in graph["triplets"] if node_id in (t[0], t[2])]:
        if [s, r, o] not in graph["triplets"]:
            continue
        graph["triplets"] = [t for t in graph["triplets"] if t != [s, r, o]]
        graph["nodes"].pop(s, None)
        graph["nodes"].pop(o, None)
        graph["relations"].pop(f"{s}_{r}_{o}", None)
    graph["nodes"].pop(node_id, None)


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def pydantic_bytes(value):
    """model_dump_json's layout (SimplePropertyGraphStore.persist): compact, raw UTF-8."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def kv_bytes(value):
    """SimpleKVStore.persist's json.dump layout."""
    return json.dumps(value).encode()


@unittest.skipUnless(os.path.isdir(PG), "no corpus (property graph store)")
class PropertyGraphDeleteTest(Base):
    """delete on a PropertyGraphIndex store: the graph loses what LlamaIndex's
    delete_ref_doc / delete_nodes remove from it (llamaindex_pg_delete); there is
    no LlamaIndex-written golden for it, so the expected files are built here."""
    REF = "a09c2121-2683-56b0-874c-cb9e6f8f34d1"    # one chunk:
    CHUNK = "67bf711c-1f05-499b-988b-5fee77d9fdfc"  # its node, also a graph node

    def expected_files(self, store, chunks_of):
        """Every file of `store` after delete_ref_doc(ref, delete_from_docstore=True)
        of each document `ref` of `chunks_of` (ref -> its nodes), in order; the
        docstore side as in the corpus's `deleted` golden: nodes, their
        metadata, the hash record and the ref_doc_info entry."""
        graph = load_json(os.path.join(store, "property_graph_store.json"))
        docstore = load_json(os.path.join(store, "docstore.json"))
        for ref, chunks in chunks_of.items():
            for c in chunks:
                llamaindex_pg_delete(graph, c)
                docstore["docstore/data"].pop(c)
                docstore["docstore/metadata"].pop(c)
            docstore["docstore/metadata"].pop(ref)
            docstore["docstore/ref_doc_info"].pop(ref)
        want = {name: data for name, (data, _) in snapshot(store).items()}
        want["property_graph_store.json"] = pydantic_bytes(graph)
        want["docstore.json"] = kv_bytes(docstore)
        return want

    def test_files_are_as_llamaindex_writes_them(self):
        # --ref-doc deletes the document; --node its only chunk, with the same
        # result (docstore.delete_document drops a ref doc left without nodes).
        for args in (["--ref-doc", self.REF], ["--node", self.CHUNK]):
            with self.subTest(args=args):
                store = self.copy(PG, "pg-" + args[0].strip("-"))
                self.assertEqual(snapshot(store)["property_graph_store.json"][0],
                                 pydantic_bytes(load_json(os.path.join(store, "property_graph_store.json"))))
                want = self.expected_files(store, {self.REF: [self.CHUNK]})
                rc, out, err = run("delete", store, *args, "--json")
                self.assertEqual(rc, 0, err)
                got = {name: data for name, (data, _) in snapshot(store).items()}
                self.assertEqual(sorted(got), sorted(want))
                for name in want:
                    self.assertEqual(got[name], want[name], name)
                removed = json.loads(out)["removed"]
                self.assertEqual(removed["property_graph_store.json:nodes"], [self.CHUNK, self.REF])
                self.assertEqual(removed["property_graph_store.json:relations"], [f"{self.CHUNK}_SOURCE_{self.REF}"])
                self.assertEqual(removed["property_graph_store.json:triplets"],
                                 [json.dumps([self.CHUNK, "SOURCE", self.REF], separators=(",", ":"))])
                self.assertEqual(run("validate", store)[0], 0)

    def test_several_documents_at_once(self):
        store = self.copy(PG)
        docstore = load_json(os.path.join(store, "docstore.json"))
        chunks_of = {ref: info["node_ids"] for ref, info in docstore["docstore/ref_doc_info"].items()}
        del chunks_of[self.REF]  # three of the four documents
        want = self.expected_files(store, chunks_of)
        rc, out, err = run("delete", store, *[a for ref in chunks_of for a in ("--ref-doc", ref)], "--json")
        self.assertEqual(rc, 0, err)
        got = {name: data for name, (data, _) in snapshot(store).items()}
        for name in want:
            self.assertEqual(got[name], want[name], name)
        self.assertEqual(len(json.loads(out)["removed"]["property_graph_store.json:nodes"]), 6)

    def test_dry_run_names_the_graph_parts_and_changes_nothing(self):
        store = self.copy(PG)
        before = snapshot(store)
        rc, out, err = run("delete", store, "--ref-doc", self.REF, "--dry-run")
        self.assertEqual(rc, 0, err)
        for part, n in (("nodes", "2"), ("relations", "1"), ("triplets", "1")):
            self.assertRegex(out, rf"would remove\s+property_graph_store\.json:{part}\s+{n}\n")
        self.assertEqual(snapshot(store), before)

    def test_a_document_of_two_chunks(self):
        # A second chunk of REF, linked as ImplicitPathExtractor links chunks of
        # one document (SOURCE to the document, NEXT/PREVIOUS between them).
        # LlamaIndex 0.12 itself raises KeyError at the second chunk (its SOURCE
        # triplet names the document node the first call removed); lstore
        # removes what each call means to remove and leaves a graph that loads.
        store = self.copy(PG)
        second = "second-chunk-of-a09c"
        graph = load_json(os.path.join(store, "property_graph_store.json"))
        node = json.loads(json.dumps(graph["nodes"][self.CHUNK]))
        graph["nodes"][second] = node
        for s, r, o in ((second, "SOURCE", self.REF), (self.CHUNK, "NEXT", second), (second, "PREVIOUS", self.CHUNK)):
            graph["relations"][f"{s}_{r}_{o}"] = {"label": r, "source_id": s, "target_id": o, "properties": {}}
            graph["triplets"].append([s, r, o])
        with open(os.path.join(store, "property_graph_store.json"), "wb") as f:
            f.write(pydantic_bytes(graph))
        docstore = load_json(os.path.join(store, "docstore.json"))
        entry = json.loads(json.dumps(docstore["docstore/data"][self.CHUNK]))
        entry["__data__"]["id_"] = second
        docstore["docstore/data"][second] = entry
        docstore["docstore/metadata"][second] = docstore["docstore/metadata"][self.CHUNK]
        docstore["docstore/ref_doc_info"][self.REF]["node_ids"].append(second)
        with open(os.path.join(store, "docstore.json"), "wb") as f:
            f.write(kv_bytes(docstore))
        want = self.expected_files(store, {self.REF: [self.CHUNK, second]})
        rc, out, err = run("delete", store, "--ref-doc", self.REF, "--json")
        self.assertEqual(rc, 0, err)
        got = {name: data for name, (data, _) in snapshot(store).items()}
        for name in want:
            self.assertEqual(got[name], want[name], name)
        self.assertEqual(len(json.loads(out)["removed"]["property_graph_store.json:triplets"]), 4)
        self.assertEqual(run("validate", store)[0], 0)


class PutTest(Base):
    NODE = {"id": "put-1", "text": "Put text \u00e9", "metadata": {"k": "v"}, "ref_doc_id": "doc-put",
            "embedding": [0.5, 0, 0, 0, 0, 0, 0, 1]}

    def test_put_from_stdin_then_get(self):
        store = self.copy()
        rc, out, err = run("put", store, "--json", stdin=(json.dumps(self.NODE) + "\n").encode())
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["added"]["docstore.json:docstore/data"], ["put-1"])
        rc, out, err = run("get", store, "put-1", "--json")
        self.assertEqual(rc, 0, err)
        got = json.loads(out)
        self.assertEqual(got["node"]["__data__"]["text"], "Put text \u00e9")
        import hashlib
        want = hashlib.sha256(("Put text \u00e9" + repr({"k": "v"})).encode()).hexdigest()
        self.assertEqual(got["metadata"]["doc_hash"], want)
        self.assertEqual(got["vectors"][0]["embedding"], [0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0])
        self.assertIn("doc-put", ref_docs(store))

    def test_put_report_names_every_part_it_writes(self):
        store = self.copy()
        stdin = (json.dumps(self.NODE) + "\n").encode()
        rc, out, err = run("put", store, "--json", stdin=stdin)
        self.assertEqual(rc, 0, err)
        report = json.loads(out)
        vs, ds = "default__vector_store.json:", "docstore.json:docstore/"
        self.assertEqual(set(report["added"]), {vs + "embedding_dict", vs + "text_id_to_ref_doc_id", vs + "metadata_dict",
                                                ds + "data", ds + "metadata", ds + "ref_doc_info"})
        self.assertEqual(report["added"][ds + "ref_doc_info"], ["doc-put"])  # a new ref doc is added, not changed
        self.assertEqual(list(report["changed"]), ["index_store.json:index_store/data"])
        # The same node again: nothing changes, and the report says so.
        rc, out, err = run("put", store, "--json", stdin=stdin)
        self.assertEqual(rc, 0, err)
        self.assertEqual((json.loads(out)["added"], json.loads(out)["changed"]), ({}, {}))
        self.assertEqual(run("put", store, stdin=stdin)[1], "nothing to change\n")
        # A changed text: the node and its hash change, in place.
        rc, out, err = run("put", store, "--json", stdin=json.dumps(dict(self.NODE, text="other")).encode())
        changed = json.loads(out)["changed"]
        self.assertEqual(changed[ds + "data"], ["put-1"])
        self.assertEqual(changed[ds + "metadata"], ["put-1"])
        self.assertEqual(json.loads(out)["added"], {})

    def test_put_file_of_many_and_raw_entries(self):
        store = self.copy()
        path = os.path.join(self.tmp, "nodes.json")
        nodes = [dict(self.NODE, id=f"n{i}") for i in range(3)]
        with open(path, "w") as f:
            json.dump(nodes, f)
        self.assertEqual(run("put", store, path)[0], 0)
        self.assertEqual(json.loads(run("ls", store, "--json")[1])["docstore"]["nodes"], 15)
        rc, _, err = run("put", store, "--collection", "docstore/metadata", "--key", "raw", "--value", '{"doc_hash": "x"}')
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(run("get", store, "raw", "--json")[1])["metadata"], {"doc_hash": "x"})

    def test_put_into_a_ts_store(self):
        store = self.copy(os.path.join(ROOT, "testdata", "ts-basic"))
        node = {"id": "ts-2", "text": "Hallo", "metadata": {"k": 1}, "ref_doc_id": "d1", "embedding": [0, 1, 0]}
        rc, _, err = run("put", store, stdin=json.dumps(node).encode())
        self.assertEqual(rc, 0, err)
        got = json.loads(run("get", store, "ts-2", "--json")[1])
        import base64, hashlib
        want = base64.b64encode(hashlib.sha256(b"type=TEXTstartCharIdx=undefined endCharIdx=undefinedk: 1\n\nHallo").digest()).decode()
        self.assertEqual(got["metadata"], {"docHash": want, "refDocId": "d1"})
        with open(os.path.join(store, "doc_store.json"), encoding="utf-8") as f:
            raw = f.read()
        self.assertIn('"ts-2":{"__data__":"{\\"id_\\":\\"ts-2\\"', raw)  # JSON.stringify layout, __data__ a string

    def test_put_errors_write_nothing(self):
        store = self.copy()
        before = snapshot(store)
        cases = [
            ((json.dumps({"id": "x", "text": "t"}) + "\n").encode(), 3, "has no embedding"),
            (b"{not json\n", 3, "line 1"),
            (b"", 2, "no records"),
        ]
        for stdin, code, needle in cases:
            rc, out, err = run("put", store, stdin=stdin)
            self.assertEqual(rc, code, err)
            self.assertIn(needle, err)
        rc, _, err = run("put", store, "--index", "nope", stdin=json.dumps(self.NODE).encode())
        self.assertEqual(rc, 2, err)
        rc, _, err = run("put", store, "--collection", "docstore/metadata", "--key", "k", "--value", "[1]")
        self.assertEqual(rc, 2, err)
        rc, out, err = run("put", store, "--dry-run", stdin=json.dumps(self.NODE).encode())
        self.assertEqual(rc, 0, err)
        self.assertIn("would add", out)
        self.assertEqual(snapshot(store), before)


class GeneratedStoreBase(Base):
    """Tests over one store made by bench/gen_store.py with GEN_ARGS."""

    GEN_ARGS = ()

    @classmethod
    def setUpClass(cls):
        cls.big = tempfile.mkdtemp(prefix="lstore-gen-")
        cls.store = os.path.join(cls.big, "persist")
        subprocess.run([sys.executable, GEN, cls.store, *cls.GEN_ARGS, "--quiet"], check=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.big, ignore_errors=True)


class LargeStoreTest(GeneratedStoreBase):
    """A store over 64 MiB, where a write takes its large-store paths: the
    check of the carried values started before the edit (the precheck) and
    run beside the writes, two write lanes, writeback started as the copy
    goes, and the replaced files let go by a child after lstore exits."""

    GEN_ARGS = ("--nodes", "4000", "--dim", "768", "--seed", "11", "--docs", "400")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        size = sum(os.path.getsize(os.path.join(cls.store, n)) for n in os.listdir(cls.store))
        assert size > 64 << 20, size
        cls.refs = ref_docs(cls.store)

    def nodes_of(self, store, ref):
        return load_json(os.path.join(store, "docstore.json"))["docstore/ref_doc_info"][ref]["node_ids"]

    def expected_files(self, store, ref):
        """What delete_ref_doc(ref, delete_from_docstore=True) and persist() write."""
        nodes = self.nodes_of(store, ref)
        docstore = load_json(os.path.join(store, "docstore.json"))
        vectors = load_json(os.path.join(store, "default__vector_store.json"))
        index = load_json(os.path.join(store, "index_store.json"))
        for n in nodes:
            docstore["docstore/data"].pop(n)
            docstore["docstore/metadata"].pop(n)
            for part in ("embedding_dict", "text_id_to_ref_doc_id", "metadata_dict"):
                vectors[part].pop(n)
        docstore["docstore/metadata"].pop(ref)
        docstore["docstore/ref_doc_info"].pop(ref)
        for entry in index["index_store/data"].values():
            data = json.loads(entry["__data__"])
            for n in nodes:
                data["nodes_dict"].pop(n)
            entry["__data__"] = json.dumps(data)
        want = {name: data for name, (data, _) in snapshot(store).items()}
        want["docstore.json"] = kv_bytes(docstore)
        want["default__vector_store.json"] = json.dumps(vectors).encode()
        want["index_store.json"] = kv_bytes(index)
        return want

    def corrupt_embedding(self, store, node):
        """A number json.load refuses ("1.") in `node`'s embedding."""
        p = os.path.join(store, "default__vector_store.json")
        with open(p, "rb") as f:
            s = f.read()
        i = s.index(b'"%s": [' % node.encode()) + len(node) + 5
        j = s.index(b",", i)
        with open(p, "wb") as f:
            f.write(s[:i] + b"1." + s[j:])

    def test_delete_writes_what_llamaindex_would(self):
        store = self.copy(self.store, "d")
        ref = self.refs[len(self.refs) // 2]
        want = self.expected_files(store, ref)
        rc, out, err = run("delete", store, "--ref-doc", ref)
        self.assertEqual(rc, 0, err)
        got = {name: data for name, (data, _) in snapshot(store).items()}
        self.assertEqual(sorted(got), sorted(want))
        for name in want:
            self.assertEqual(got[name], want[name], name)
        self.assertEqual(run("validate", store)[0], 0)

    def test_a_bad_value_carried_is_refused_and_one_deleted_is_not(self):
        ref, other = self.refs[1], self.refs[-1]
        # Kept: the precheck refused it, and the error names it where json.load would.
        store = self.copy(self.store, "bad-kept")
        kept = self.nodes_of(store, other)[0]
        self.corrupt_embedding(store, kept)
        before = snapshot(store)
        with self.assertRaises(json.JSONDecodeError) as python:
            load_json(os.path.join(store, "default__vector_store.json"))
        rc, out, err = run("delete", store, "--ref-doc", ref)
        self.assertEqual(rc, 3, err)
        self.assertIn("default__vector_store.json", err)
        self.assertIn(f"embedding_dict.{kept} at ", err)
        self.assertIn(f"byte {python.exception.pos}", err)
        self.assertEqual(snapshot(store), before)
        # Deleted: what the edit removes is not carried, so it blocks nothing.
        store = self.copy(self.store, "bad-gone")
        self.corrupt_embedding(store, self.nodes_of(store, ref)[0])
        rc, out, err = run("delete", store, "--ref-doc", ref)
        self.assertEqual(rc, 0, err)
        self.assertEqual(run("validate", store)[0], 0)

    def test_the_replaced_files_are_let_go_and_nothing_else_is_held(self):
        store = self.copy(self.store, "h")
        marker = os.path.join(self.tmp, ".h.lstore-")
        p = subprocess.Popen([LSTORE, "delete", store, "--ref-doc", self.refs[2]], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        self.addCleanup(p.stdout.close)
        self.addCleanup(p.stderr.close)
        ours = {os.readlink(f"/proc/self/fd/{fd}") for fd in (p.stdout.fileno(), p.stderr.fileno())}
        self.assertEqual(p.wait(timeout=120), 0)

        def holders():
            """Processes that still map the replaced files, with their descriptors."""
            found = {}
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    with open(f"/proc/{pid}/maps") as f:
                        if marker not in f.read():
                            continue
                    found[pid] = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
                except OSError:
                    continue  # gone meanwhile
            return found

        # The child, if it has not finished yet: its first act is to close
        # every descriptor but its cue (it may not have been scheduled yet).
        deadline = time.monotonic() + 10
        while any(len(fds) > 1 for fds in holders().values()) and time.monotonic() < deadline:
            time.sleep(0.01)
        for pid, fds in holders().items():
            self.assertFalse(fds & ours, "the child holds lstore's stdout or stderr")
            self.assertTrue(all(fd.startswith("pipe:") for fd in fds), fds)
        # Its cue is lstore's exit: the files go at once.
        self.assertIn("removed", p.stdout.read().decode())
        deadline = time.monotonic() + 30
        while holders() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(holders(), {})
        self.assertEqual([n for n in os.listdir(self.tmp) if n.startswith(".h.")], [])
        # The lock is free: the next writer goes at once.
        self.assertEqual(run("delete", store, "--ref-doc", self.refs[3], "--wait", "0")[0], 0)

    def test_sigkill_leaves_old_or_new(self):
        self.sigkill_delete_trials(self.store, self.refs[7], self.refs[8], max(4, TRIALS // 3), seed=4)


class ScaleTest(GeneratedStoreBase):
    """A store large enough for a write to take a while: killed at random
    instants, the store is always exactly the old or the new one."""

    GEN_ARGS = ("--nodes", "3000", "--dim", "128", "--seed", "7", "--docs", "300")

    def test_sigkill_leaves_old_or_new(self):
        refs = ref_docs(self.store)
        self.sigkill_delete_trials(self.store, refs[5], refs[6], TRIALS, seed=1)

    def test_sigkill_during_put_leaves_old_or_new(self):
        node = {"id": "crash-node", "text": "t", "metadata": {}, "ref_doc_id": "crash-doc", "embedding": [0.1] * 128}
        data = (json.dumps(node) + "\n").encode()
        old = snapshot(self.store)
        ref_store = self.copy(self.store, "put-reference")
        t0 = time.monotonic()
        self.assertEqual(run("put", ref_store, stdin=data)[0], 0)
        duration = time.monotonic() - t0
        new = snapshot(ref_store)
        rng = random.Random(2)
        for trial in range(max(4, TRIALS // 2)):
            work = self.copy(self.store, f"p{trial}")
            p = subprocess.Popen([LSTORE, "put", work], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            p.stdin.write(data)
            p.stdin.close()
            time.sleep(rng.uniform(0, duration * 1.2))
            p.send_signal(signal.SIGKILL)
            p.wait()
            self.assertIn(snapshot(work), (old, new), f"trial {trial}: a mix of old and new")
            shutil.rmtree(work)

    def test_sigkill_during_convert_leaves_old_or_new(self):
        """convert --force into an existing SQLite store and into a directory,
        and delete on an SQLite store, killed at random instants."""
        sample = os.path.join(ROOT, "testdata", "sample")
        rng = random.Random(3)
        for kind in ("sqlite", "dir", "sqlite-delete"):
            work_dir = os.path.join(self.tmp, "c-" + kind)
            os.makedirs(work_dir)
            target = os.path.join(work_dir, "store.db" if kind != "dir" else "store")
            name = ("sqlite:" + target) if kind != "dir" else target
            if kind == "sqlite-delete":
                self.assertEqual(run("convert", self.store, name)[0], 0)
                cmd = ["delete", name, "--ref-doc", ref_docs(self.store)[3]]
            else:
                self.assertEqual(run("convert", sample, name)[0], 0)
                cmd = ["convert", self.store, name, "--force"]

            def state():
                back = os.path.join(self.tmp, "state")
                shutil.rmtree(back, ignore_errors=True)
                rc, _, err = run("convert", name, back)
                self.assertEqual(rc, 0, err)
                snap = snapshot(back)
                shutil.rmtree(back)
                return snap

            old = state()
            pristine = os.path.join(self.tmp, "pristine-" + kind)
            (shutil.copytree if kind == "dir" else shutil.copy)(target, pristine)
            t0 = time.monotonic()
            self.assertEqual(run(*cmd)[0], 0)
            duration = time.monotonic() - t0
            new = state()
            self.assertNotEqual(old, new)
            for trial in range(max(4, TRIALS // 3)):
                if kind == "dir":
                    shutil.rmtree(target)
                    shutil.copytree(pristine, target)
                else:
                    shutil.copy(pristine, target)
                p = subprocess.Popen([LSTORE, *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(rng.uniform(0, duration * 1.2))
                p.send_signal(signal.SIGKILL)
                p.wait()
                self.assertIn(state(), (old, new), f"{kind} trial {trial}: a mix of old and new")
            # The next writer removes what the killed ones left beside the store
            # (from the pristine store: the last trial may have finished its
            # delete, and a second delete of the same ref doc is exit 1).
            if kind == "sqlite-delete":
                shutil.copy(pristine, target)
            rc, _, err = run(*cmd)
            self.assertEqual(rc, 0, err)
            self.assertEqual([n for n in os.listdir(work_dir) if ".lstore-" in n and not n.endswith(".lock")], [])

    def test_concurrent_writers_lose_no_update(self):
        store = self.copy(self.store, "shared")
        refs = ref_docs(store)[:6]
        errors = []

        def writer(ids):
            for r in ids:
                rc, _, err = run("delete", store, "--ref-doc", r, "--wait", "60")
                if rc != 0:
                    errors.append(err)

        def reader(stop):
            while not stop.is_set():
                rc, out, err = run("ls", store, "--json")
                if rc != 0:
                    errors.append("reader: " + err)
                    continue
                s = json.loads(out)
                if s["docstore"]["nodes"] != s["vector_stores"][0]["vectors"]:
                    errors.append("torn read: " + out)

        stop = threading.Event()
        threads = [threading.Thread(target=writer, args=(refs[0::2],)), threading.Thread(target=writer, args=(refs[1::2],))]
        r = threading.Thread(target=reader, args=(stop,))
        r.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stop.set()
        r.join()
        self.assertEqual(errors, [])
        left = set(ref_docs(store))
        self.assertFalse(left & set(refs), "an update was lost")


if __name__ == "__main__":
    LSTORE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=1)
