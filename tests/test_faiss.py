#!/usr/bin/env python3
"""FAISS vector stores (spec/VECTOR_STORES.md §2) against the goldens of
corpus/backends/faiss: convert --vectors faiss|faiss-ip writes LlamaIndex's
persist dir byte for byte, query returns FaissVectorStore's ids and values,
--vectors simple goes back. No faiss import: bytes and JSON only.
Usage: test_faiss.py PATH/TO/lstore"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

from support import CORPUS

LSTORE = None
FAISS = os.path.join(CORPUS, "backends", "faiss")
CASES = ("vector", "multi", "image", "empty")


def run(*args):
    p = subprocess.run([LSTORE, *args], capture_output=True, timeout=300)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def read(p):
    with open(p, "rb") as f:
        return f.read()


def source(case):
    return os.path.join(CORPUS, "llamaindex-0.12", case, "persist")


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


class Base(unittest.TestCase):
    def setUp(self):
        if not os.path.isdir(FAISS):
            print(f"SKIPPED: {self.id()} (no FAISS goldens at {FAISS})", file=sys.stderr)
            raise unittest.SkipTest("no corpus")
        rc, out, _ = run("--version")
        if "faiss" not in out.lower():
            print(f"SKIPPED: {self.id()} (lstore built without FAISS)", file=sys.stderr)
            raise unittest.SkipTest("built without FAISS")
        self.tmp = tempfile.mkdtemp(prefix="lstore-faiss-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


class ConvertToFaiss(Base):
    def test_every_case_is_written_byte_for_byte(self):
        for case in CASES:
            for suffix, vectors in (("", "faiss"), ("-ip", "faiss-ip")):
                with self.subTest(case=case + suffix):
                    dst = os.path.join(self.tmp, case + suffix)
                    extra = ["--dim", "16"] if case == "empty" else []
                    rc, _, err = run("convert", source(case), dst, "--vectors", vectors, *extra)
                    self.assertEqual(rc, 0, err)
                    golden = os.path.join(FAISS, case + suffix, "persist")
                    self.assertEqual(sorted(os.listdir(dst)), sorted(os.listdir(golden)))
                    for name in os.listdir(golden):
                        self.assertEqual(read(os.path.join(dst, name)), read(os.path.join(golden, name)), name)

    def test_every_loss_is_said(self):
        rc, _, err = run("convert", source("multi"), os.path.join(self.tmp, "m"), "--vectors", "faiss")
        self.assertEqual(rc, 0, err)
        self.assertIn("8 vectors stored as float32 (largest change 2.69e-08)", err)
        self.assertIn("3 other indexes not carried", err)
        self.assertIn("2 nodes of other indexes or namespaces not carried", err)
        self.assertIn("8 docstore/metadata entries (document hashes) not carried", err)
        rc, _, err = run("convert", source("image"), os.path.join(self.tmp, "i"), "--vectors", "faiss")
        self.assertIn("namespace 'image': 3 vectors not migrated", err)

    def test_strict_refuses_a_lossy_migration(self):
        dst = os.path.join(self.tmp, "s")
        rc, _, err = run("convert", source("vector"), dst, "--vectors", "faiss", "--strict")
        self.assertEqual(rc, 1, err)
        self.assertFalse(os.path.exists(dst) and os.listdir(dst))

    def test_an_empty_store_needs_a_dimension(self):
        dst = os.path.join(self.tmp, "e")
        rc, _, err = run("convert", source("empty"), dst, "--vectors", "faiss")
        self.assertEqual(rc, 2, err)
        self.assertIn("give --dim", err)
        self.assertFalse(os.path.exists(dst) and os.listdir(dst))

    def test_dim_must_match_the_vectors(self):
        rc, _, err = run("convert", source("vector"), os.path.join(self.tmp, "d"), "--vectors", "faiss", "--dim", "8")
        self.assertEqual(rc, 2, err)
        self.assertIn("16 dimensions, not 8", err)


class Query(Base):
    def check_case(self, case):
        golden = json.load(open(os.path.join(FAISS, case, "expected", "query.json")))
        store = os.path.join(FAISS, case, "persist")
        for qname, q in golden["files"].items():
            vec = json.dumps(q["query_embedding"])
            for r in q["vector_store_query"]:
                with self.subTest(case=case, query=qname, top_k=r["top_k"], filters=r.get("filters")):
                    if "filters" in r:  # FaissVectorStore raises ValueError on any filter
                        self.assertEqual(r["query_error"]["error"], "ValueError")
                        rc, _, err = run("query", store, "--vector", vec, "--filter", "category == \"news\"")
                        self.assertEqual(rc, 2, err)
                        self.assertIn("Metadata filters not implemented for Faiss yet", err)
                        continue
                    rc, out, err = run("--json", "query", store, "--vector", vec, "--top-k", str(r["top_k"]))
                    if "query_error" in r:  # the retriever's KeyError on an empty IndexFlatL2
                        self.assertEqual(rc, 3, err)
                        self.assertIn("KeyError: '0'", err)
                        continue
                    self.assertEqual(rc, 0, err)
                    hits = json.loads(out)["results"]
                    self.assertEqual([h["id"] for h in hits], r["node_ids"])
                    for h, want in zip(hits, r["similarities"]):
                        self.assertAlmostEqual(h["score"], want, delta=1e-7)

    def test_l2_and_ip_match_faiss_vector_store(self):
        for case in CASES:
            self.check_case(case)
            self.check_case(case + "-ip")

    def test_filters_are_refused_as_faiss_vector_store_does(self):
        store = os.path.join(FAISS, "vector", "persist")
        rc, _, err = run("query", store, "--vector", json.dumps([0.1] * 16), "--filter", "year == 2015")
        self.assertEqual(rc, 2, err)
        self.assertIn("metadata filters are not implemented for FAISS", err)

    def test_wrong_dimension_is_a_usage_error(self):
        rc, _, err = run("query", os.path.join(FAISS, "vector", "persist"), "--vector", "[1, 2]")
        self.assertEqual(rc, 2, err)
        self.assertIn("2 dimensions, the FAISS index 16", err)

    def test_like_uses_the_stored_float32_vector(self):
        store = os.path.join(FAISS, "vector", "persist")
        node = "883a303e-76da-458c-94da-f9827bf8e063"
        rc, out, err = run("--json", "query", store, "--like", node, "--top-k", "1")
        self.assertEqual(rc, 0, err)
        hit = json.loads(out)["results"][0]
        self.assertEqual(hit["id"], node)
        self.assertEqual(hit["score"], 0.0)  # squared L2 to itself


class BackToSimple(Base):
    def test_roundtrip_gives_the_float32_of_the_source(self):
        for case in ("vector", "multi", "image", "empty-ip"):
            with self.subTest(case=case):
                dst = os.path.join(self.tmp, case)
                rc, _, err = run("convert", os.path.join(FAISS, case, "persist"), dst, "--vectors", "simple")
                self.assertEqual(rc, 0, err)
                src = json.load(open(os.path.join(source(case.replace("-ip", "")), "default__vector_store.json")))
                got = json.load(open(os.path.join(dst, "default__vector_store.json")))
                self.assertEqual(list(got["embedding_dict"]), list(src["embedding_dict"]))
                for k, v in got["embedding_dict"].items():
                    self.assertEqual(v, [f32(x) for x in src["embedding_dict"][k]], k)
                self.assertEqual(got["text_id_to_ref_doc_id"], src["text_id_to_ref_doc_id"])
                self.assertEqual(list(got["metadata_dict"].items()), list(src["metadata_dict"].items()))
                faiss_dir = os.path.join(FAISS, case, "persist")
                self.assertEqual(read(os.path.join(dst, "docstore.json")), read(os.path.join(faiss_dir, "docstore.json")))
                if case != "empty-ip":
                    self.assertIn(f"{len(got['embedding_dict'])} vectors widened", err)
        # vector: one index, so the index store is the source's again, byte for byte.
        self.assertEqual(read(os.path.join(self.tmp, "vector", "index_store.json")),
                         read(os.path.join(source("vector"), "index_store.json")))

    def test_a_simple_store_is_not_a_faiss_one(self):
        rc, _, err = run("convert", source("vector"), os.path.join(self.tmp, "x"), "--vectors", "simple")
        self.assertEqual(rc, 2, err)
        self.assertIn("not a FAISS index", err)


class LsGetValidate(Base):
    def test_ls_gives_count_dim_type_and_metric(self):
        for case, kind, metric in (("vector", "IndexFlatL2", "l2"), ("vector-ip", "IndexFlatIP", "ip")):
            rc, out, err = run("--json", "ls", os.path.join(FAISS, case, "persist"))
            self.assertEqual(rc, 0, err)
            v = json.loads(out)["vector_stores"][0]
            self.assertEqual((v["namespace"], v["vectors"], v["dim"], v["faiss_type"], v["metric"]),
                             ("default", 12, 16, kind, metric))

    def test_get_gives_the_row_through_nodes_dict(self):
        rc, out, err = run("--json", "get", os.path.join(FAISS, "multi", "persist"), "da2e7b7b-1c61-4e18-90eb-03f292e2fa5d")
        self.assertEqual(rc, 0, err)
        found = [v for v in json.loads(out)["vectors"] if "faiss_row" in v]
        self.assertEqual(len(found), 1, out)
        self.assertEqual(found[0]["faiss_row"], 2)
        src = json.load(open(os.path.join(source("multi"), "default__vector_store.json")))["embedding_dict"]
        self.assertEqual(found[0]["embedding"], [f32(x) for x in src["da2e7b7b-1c61-4e18-90eb-03f292e2fa5d"]])

    def findings(self, store):
        rc, out, err = run("--json", "validate", store)
        return rc, json.loads(out)["findings"]

    def test_the_goldens_have_no_faiss_error(self):
        for case in CASES:
            rc, found = self.findings(os.path.join(FAISS, case, "persist"))
            rules = {f["rule"] for f in found}
            self.assertFalse({"faiss-rows", "faiss-unreadable", "faiss-multimodal"} & rules, case)
            self.assertEqual("faiss-empty-l2" in rules, case == "empty", case)
        rc, found = self.findings(os.path.join(FAISS, "empty-ip", "persist"))
        self.assertNotIn("faiss-empty-l2", {f["rule"] for f in found})

    def test_rows_without_a_node_are_found(self):
        d = os.path.join(self.tmp, "rows")
        shutil.copytree(os.path.join(FAISS, "vector", "persist"), d)
        p = os.path.join(d, "index_store.json")
        text = read(p).decode()
        # drop row 11 from nodes_dict, as a crash between the two writes would
        text = text.replace(', \\"11\\": \\"298b6b26-3720-4b95-974d-294e9db1ff64\\"', "")
        with open(p, "w") as f:
            f.write(text)
        rc, found = self.findings(d)
        rows = [f for f in found if f["rule"] == "faiss-rows"]
        self.assertEqual(len(rows), 1, found)
        self.assertIn("holds 12 rows, nodes_dict maps 11: 1 row without a node (first 11", rows[0]["message"])
        self.assertEqual(rc, 1)

    def test_a_multimodal_index_over_faiss_is_found(self):
        d = os.path.join(self.tmp, "mm")
        shutil.copytree(os.path.join(FAISS, "image", "persist"), d)
        p = os.path.join(d, "index_store.json")
        text = read(p).decode().replace('"__type__": "vector_store"', '"__type__": "multimodal"')
        with open(p, "w") as f:
            f.write(text)
        rc, found = self.findings(d)
        self.assertIn("faiss-multimodal", {f["rule"] for f in found})


class Diff(Base):
    def test_diff_names_what_differs_in_the_index(self):
        rc, out, err = run("diff", os.path.join(FAISS, "vector", "persist"), os.path.join(FAISS, "vector-ip", "persist"))
        self.assertEqual(rc, 1, err)
        self.assertIn("~ default__vector_store.json: index type, metric", out)
        d = os.path.join(self.tmp, "v")
        shutil.copytree(os.path.join(FAISS, "vector", "persist"), d)
        p = os.path.join(d, "default__vector_store.json")
        data = bytearray(read(p))
        data[45:49] = struct.pack("<f", 0.5)  # row 0's first value
        with open(p, "wb") as f:
            f.write(bytes(data))
        rc, out, err = run("diff", os.path.join(FAISS, "vector", "persist"), d)
        self.assertEqual(rc, 1, err)
        self.assertIn("~ default__vector_store.json: vectors", out)
        rc, out, err = run("diff", os.path.join(FAISS, "vector", "persist"), os.path.join(FAISS, "vector", "persist"))
        self.assertEqual(rc, 0, err)


class BadInput(Base):
    def test_truncated_index_is_one_error_line(self):
        d = os.path.join(self.tmp, "t")
        shutil.copytree(os.path.join(FAISS, "vector", "persist"), d)
        p = os.path.join(d, "default__vector_store.json")
        data = read(p)
        with open(p, "wb") as f:
            f.write(data[:100])
        rc, _, err = run("query", d, "--vector", json.dumps([0.1] * 16))
        self.assertEqual(rc, 3, err)
        errors = [l for l in err.splitlines() if l.startswith("lstore: query:")]
        self.assertEqual(len(errors), 1, err)
        self.assertIn("default__vector_store.json", errors[0])
        before = read(p)
        rc, _, err = run("convert", d, os.path.join(self.tmp, "out"), "--vectors", "simple")
        self.assertEqual(rc, 3, err)
        self.assertEqual(read(p), before)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "out")) and os.listdir(os.path.join(self.tmp, "out")))
        # ls names the unreadable index as validate does, not just leaves its namespace out.
        rc, out, err = run("ls", d, "--json")
        problems = json.loads(out)["problems"]
        self.assertIn(("faiss-unreadable", "error"), [(p["rule"], p["severity"]) for p in problems], out)
        rc, out, err = run("validate", d, "--json")
        self.assertIn("faiss-unreadable", [f["rule"] for f in json.loads(out)["findings"]], out)


if __name__ == "__main__":
    LSTORE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=1)
