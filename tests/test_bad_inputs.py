#!/usr/bin/env python3
"""The bad-input catalogue: malformed stores, each run through every command
that reads a store. Each must end with its documented exit code and one clear
stderr line naming the file, never a crash (signal), a hang (timeout) or a
write. Usage: test_bad_inputs.py PATH/TO/lstore"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

LSTORE = None
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "testdata", "sample")


def sample_bytes(name):
    with open(os.path.join(SAMPLE, name), "rb") as f:
        return f.read()


DOC = sample_bytes("docstore.json")
IDX = sample_bytes("index_store.json")
VEC = sample_bytes("default__vector_store.json")


def truncations(name, data, points):
    return [(f"{name} cut at {p}", {name: data[:p]}) for p in points]


def cases():
    """(label, {file: bytes or None to delete})"""
    c = []
    # Truncated at many points: inside strings, numbers, escapes, between records.
    c += truncations("docstore.json", DOC, [1, 2, 17, 100, 1000, DOC.find(b'\\u') + 3, len(DOC) // 3, len(DOC) // 2, len(DOC) - 2, len(DOC) - 1])
    c += truncations("default__vector_store.json", VEC, [5, VEC.find(b"[") + 4, len(VEC) // 2, len(VEC) - 1])
    c += truncations("index_store.json", IDX, [10, len(IDX) // 2, len(IDX) - 1])
    for name in ("docstore.json", "index_store.json", "default__vector_store.json", "graph_store.json"):
        c.append((f"{name} empty", {name: b""}))
        c.append((f"{name} whitespace", {name: b"   \n\t "}))
        c.append((f"{name} root is a list", {name: b"[1, 2, 3]"}))
        c.append((f"{name} root is a number", {name: b"42"}))
        c.append((f"{name} garbage", {name: b"\x00\x01\x02binary"}))
        c.append((f"{name} invalid UTF-8", {name: b'{"a\xff": {}}'}))
        c.append((f"{name} trailing garbage", {name: sample_bytes(name) + b" }"}))
        c.append((f"{name} 100000-deep nesting", {name: b'{"x": ' + b"[" * 100000 + b"]" * 100000 + b"}"}))
        c.append((f"{name} a directory", {name: "DIR"}))
        c.append((f"{name} symlink loop", {name: "LOOP"}))
        c.append((f"{name} no read permission", {name: "NOREAD"}))
    c.append(("BOM docstore", {"docstore.json": b"\xef\xbb\xbf" + DOC}))
    c.append(("Git LFS pointer", {"docstore.json": b"version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 5\n"}))
    c.append(("FAISS under .json", {"default__vector_store.json": b"IxF2\x08\x00\x00\x00\x0c" + b"\x00" * 40}))
    d = json.loads(DOC)
    first = next(iter(d["docstore/data"]))

    def doc_with(fn):
        x = json.loads(DOC)
        fn(x)
        return json.dumps(x).encode()

    c.append(("data collection is a list", {"docstore.json": doc_with(lambda x: x.__setitem__("docstore/data", [1]))}))
    c.append(("node is a string", {"docstore.json": doc_with(lambda x: x["docstore/data"].__setitem__(first, "x"))}))
    c.append(("node without __data__", {"docstore.json": doc_with(lambda x: x["docstore/data"].__setitem__(first, {"__type__": "1"}))}))
    c.append(("__data__ is a number", {"docstore.json": doc_with(lambda x: x["docstore/data"][first].__setitem__("__data__", 5))}))
    c.append(("__data__ string not JSON", {"docstore.json": doc_with(lambda x: x["docstore/data"][first].__setitem__("__data__", "{nope"))}))
    c.append(("unknown __type__", {"docstore.json": doc_with(lambda x: x["docstore/data"][first].__setitem__("__type__", "42"))}))
    c.append(("metadata is a list", {"docstore.json": doc_with(lambda x: x["docstore/data"][first]["__data__"].__setitem__("metadata", [1]))}))
    c.append(("text is a number", {"docstore.json": doc_with(lambda x: x["docstore/data"][first]["__data__"].__setitem__("text", 7))}))
    c.append(("relationships is a list", {"docstore.json": doc_with(lambda x: x["docstore/data"][first]["__data__"].__setitem__("relationships", []))}))
    c.append(("ref_doc_info without node_ids", {"docstore.json": doc_with(lambda x: x["docstore/ref_doc_info"].__setitem__(next(iter(x["docstore/ref_doc_info"])), {}))}))
    c.append(("duplicate keys", {"docstore.json": DOC[:-1] + b', "docstore/data": {}}'}))
    c.append(("lone surrogates", {"docstore.json": DOC.replace(b'"text": "', b'"text": "\\ud800 ', 1)}))
    c.append(("huge integer", {"docstore.json": DOC.replace(b'"start_char_idx": ', b'"start_char_idx": 123456789012345678901234567890, "x": ', 1)}))
    c.append(("NaN in embeddings", {"default__vector_store.json": VEC.replace(b"[", b"[NaN, ", 2)}))
    c.append(("Infinity in embeddings", {"default__vector_store.json": VEC.replace(b"[", b"[Infinity, ", 2)}))
    v = json.loads(VEC)
    vk = next(iter(v["embedding_dict"]))
    c.append(("embedding is a string", {"default__vector_store.json": json.dumps(dict(v, embedding_dict={vk: "x"})).encode()}))
    c.append(("embedding has strings", {"default__vector_store.json": json.dumps(dict(v, embedding_dict={vk: ["a", "b"]})).encode()}))
    c.append(("embedding_dict is a list", {"default__vector_store.json": json.dumps(dict(v, embedding_dict=[])).encode()}))
    c.append(("ragged embeddings", {"default__vector_store.json": json.dumps(dict(v, embedding_dict={**v["embedding_dict"], vk: [1.0]})).encode()}))
    i = json.loads(IDX)
    ik = next(iter(i["index_store/data"]))
    c.append(("index __data__ not JSON", {"index_store.json": json.dumps({"index_store/data": {ik: {"__type__": "vector_store", "__data__": "{"}}}).encode()}))
    c.append(("index __data__ a list", {"index_store.json": json.dumps({"index_store/data": {ik: {"__type__": "vector_store", "__data__": "[]"}}}).encode()}))
    c.append(("nodes_dict a list", {"index_store.json": json.dumps({"index_store/data": {ik: {"__type__": "vector_store", "__data__": json.dumps({"nodes_dict": []})}}}).encode()}))
    c.append(("index entry a string", {"index_store.json": json.dumps({"index_store/data": {ik: "x"}}).encode()}))
    c.append(("graph_dict a list", {"graph_store.json": b'{"graph_dict": [1]}'}))
    c.append(("graph triplet wrong", {"graph_store.json": b'{"graph_dict": {"a": [[1, 2, 3]]}}'}))
    c.append(("missing docstore", {"docstore.json": None}))
    c.append(("missing everything", {n: None for n in os.listdir(SAMPLE)}))
    return c


def make(base, files):
    store = os.path.join(base, "store")
    shutil.copytree(SAMPLE, store)
    for name, data in files.items():
        path = os.path.join(store, name)
        if os.path.lexists(path):
            os.remove(path)
        if data is None:
            continue
        if data == "DIR":
            os.mkdir(path)
        elif data == "LOOP":
            os.symlink(name, path)
        elif data == "NOREAD":
            shutil.copy(os.path.join(SAMPLE, name), path)
            os.chmod(path, 0)
        else:
            with open(path, "wb") as f:
                f.write(data)
    return store


def snapshot(d):
    out = {}
    for root, dirs, names in os.walk(d):
        for n in names:
            p = os.path.join(root, n)
            try:
                with open(p, "rb") as f:
                    out[os.path.relpath(p, d)] = f.read()
            except OSError:
                out[os.path.relpath(p, d)] = None
    return out


class BadInputs(unittest.TestCase):
    def test_catalogue(self):
        all_cases = cases()
        self.assertGreaterEqual(len(all_cases), 60)
        root_user = os.geteuid() == 0
        vec_json = json.dumps([0.1] * 8)
        for label, files in all_cases:
            with self.subTest(label):
                base = tempfile.mkdtemp(prefix="lstore-bad-")
                try:
                    store = make(base, files)
                    before = snapshot(store)
                    commands = [
                        (["ls", store], (0, 3)),
                        (["ls", store, "nodes"], (0, 3)),
                        (["ls", store, "vectors", "--json"], (0, 3)),
                        (["get", store, "some-id"], (1, 3)),
                        (["validate", store], (0, 1, 3)),
                        (["validate", store, "--format", "sarif"], (0, 1, 3)),
                        (["query", store, "--vector", vec_json], (0, 2, 3)),
                        (["diff", store, SAMPLE], (0, 1, 3)),
                        (["delete", store, "--ref-doc", "x", "--dry-run"], (1, 3)),
                        (["convert", store, os.path.join(base, "out"), "--dry-run"], (0, 3)),
                    ]
                    for args, allowed in commands:
                        p = subprocess.run([LSTORE, *args], capture_output=True, timeout=60)
                        err = p.stderr.decode("utf-8", "replace")
                        self.assertGreaterEqual(p.returncode, 0, f"{args[0]} killed by signal {-p.returncode}: {err}")
                        if root_user and "no read permission" in label:
                            allowed = allowed + (0, 1)  # root reads it anyway
                        self.assertIn(p.returncode, allowed, f"{args}: exit {p.returncode}: {err}")
                        if p.returncode == 3:
                            lines = [l for l in err.splitlines() if l.strip()]
                            self.assertTrue(lines and lines[0].startswith(f"lstore: {args[0]}: "), err)
                            self.assertLessEqual(len(lines), 2, err)
                        self.assertNotIn("terminate called", err)
                    self.assertEqual(snapshot(store), before, "a reading command wrote")
                finally:
                    for r, ds, fs in os.walk(base):
                        for n in fs:
                            try:
                                os.chmod(os.path.join(r, n), 0o644)
                            except OSError:
                                pass
                    shutil.rmtree(base, ignore_errors=True)
        print(f"{len(all_cases)} bad inputs x 10 commands", file=sys.stderr)


if __name__ == "__main__":
    LSTORE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=1)
