#!/usr/bin/env python3
"""CLI tests of `lstore query` (spec/CLI.md): the --json shape, the table,
--top-k / --like / --filter / --filters / --index / --mode, exit codes, the
warm cache, and corpus goldens reproduced through the command line.
Usage: test_cli_query.py PATH/TO/lstore"""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

LSTORE = None
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "testdata", "sample")
LEGACY = os.path.join(ROOT, "testdata", "legacy-0.6")
TS = os.path.join(ROOT, "testdata", "ts-basic")
CORPUS = os.environ.get("LSTORE_CORPUS", os.path.join(ROOT, "..", "shared", "corpus"))


def run(*args, env=None):
    e = dict(os.environ)
    e.pop("NO_COLOR", None)
    e.setdefault("LSTORE_CACHE_DIR", os.path.join(tempfile.gettempdir(), "lstore-cli-query-unused-cache"))
    if env:
        e.update(env)
    p = subprocess.run([LSTORE, *args], capture_output=True, env=e, timeout=120)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def sample_vectors():
    with open(os.path.join(SAMPLE, "default__vector_store.json")) as f:
        return json.load(f)


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(x * x for x in b))
    return dot / (na * nb)


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lstore-cli-query-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def query_json(self, *args, env=None):
        rc, out, err = run("query", *args, "--json", env=env)
        self.assertEqual(rc, 0, err)
        self.assertEqual(err, "")
        doc = json.loads(out)
        self.assertEqual(list(doc.keys()), ["results"])
        return doc["results"]

    def assert_refused(self, code, args, *needles):
        rc, out, err = run("query", *args)
        self.assertEqual(rc, code, f"{args}: {err}")
        self.assertEqual(out, "")
        lines = [l for l in err.splitlines() if l.strip()]
        self.assertTrue(lines and lines[0].startswith("lstore: query: "), err)
        self.assertLessEqual(len(lines), 2, err)
        for n in needles:
            self.assertIn(n, err)


class SampleTest(Base):
    def setUp(self):
        super().setUp()
        self.vs = sample_vectors()
        self.ids = list(self.vs["embedding_dict"])
        self.q = [0.3, -0.1, 0.2, 0.05, -0.4, 0.1, 0.0, 0.25]

    def expected(self, ids=None):
        """Cosine ranking computed here, independently of lstore."""
        ids = ids if ids is not None else self.ids
        sims = [(cosine(self.q, self.vs["embedding_dict"][i]), i) for i in ids]
        return sorted(sims, key=lambda x: x[0], reverse=True)

    def test_json_shape_and_default_top_k(self):
        res = self.query_json(SAMPLE, "--vector", json.dumps(self.q))
        self.assertEqual(len(res), 2)  # LlamaIndex's retriever default
        exp = self.expected()
        for r, (s, i) in zip(res, exp):
            self.assertEqual(set(r), {"rank", "id", "score", "ref_doc_id"})  # the fields spec/CLI.md names, and the rank
            self.assertEqual(r["id"], i)
            self.assertAlmostEqual(r["score"], s, places=12)
            self.assertEqual(r["ref_doc_id"], self.vs["text_id_to_ref_doc_id"][i])

    def test_top_k(self):
        self.assertEqual(len(self.query_json(SAMPLE, "--vector", json.dumps(self.q), "--top-k", "5")), 5)
        res = self.query_json(SAMPLE, "--vector", json.dumps(self.q), "--top-k", "0")
        self.assertEqual([r["id"] for r in res], [i for _, i in self.expected()])
        scores = [r["score"] for r in res]
        self.assertEqual(scores, sorted(scores, reverse=True))

    def test_like(self):
        target = self.ids[3]
        res = self.query_json(SAMPLE, "--like", target, "--top-k", "3")
        self.assertEqual(res[0]["id"], target)
        self.assertAlmostEqual(res[0]["score"], 1.0, places=12)

    def test_vector_file_forms(self):
        f1 = os.path.join(self.tmp, "q1.json")
        f2 = os.path.join(self.tmp, "q2.json")
        with open(f1, "w") as f:
            json.dump(self.q, f)
        with open(f2, "w") as f:
            json.dump({"query_embedding": self.q, "other": 1}, f)
        a = self.query_json(SAMPLE, "--vector-file", f1, "--top-k", "4")
        b = self.query_json(SAMPLE, "--vector-file", f2, "--top-k", "4")
        self.assertEqual(a, b)

    def test_filters(self):
        md = self.vs["metadata_dict"]
        want = [i for _, i in self.expected() if md[i]["year"] >= 1991 and md[i]["category"] == "blog"]
        self.assertEqual(len(want), 3)
        res = self.query_json(SAMPLE, "--vector", json.dumps(self.q), "--top-k", "0",
                              "--filter", "year >= 1991", "--filter", 'category == "blog"')
        self.assertEqual([r["id"] for r in res], want)
        # The same as a --filters object, and from a file.
        spec = {"filters": [{"key": "year", "value": 1991, "operator": ">="},
                            {"key": "category", "value": "blog", "operator": "=="}], "condition": "and"}
        self.assertEqual(self.query_json(SAMPLE, "--vector", json.dumps(self.q), "--top-k", "0",
                                         "--filters", json.dumps(spec)), res)
        path = os.path.join(self.tmp, "filters.json")
        with open(path, "w") as f:
            json.dump(spec, f)
        self.assertEqual(self.query_json(SAMPLE, "--vector", json.dumps(self.q), "--top-k", "0",
                                         "--filters", "@" + path), res)
        # --or
        want_or = [i for _, i in self.expected() if md[i]["year"] >= 1992 or md[i]["category"] == "blog"]
        self.assertEqual(len(want_or), 9)
        res_or = self.query_json(SAMPLE, "--vector", json.dumps(self.q), "--top-k", "0",
                                 "--filter", "year >= 1992", "--filter", 'category == "blog"', "--or")
        self.assertEqual([r["id"] for r in res_or], want_or)
        # top-k applies after the filters
        top2 = self.query_json(SAMPLE, "--vector", json.dumps(self.q), "--filter", "year >= 1992", "--or",
                               "--filter", 'category == "blog"')
        self.assertEqual([r["id"] for r in top2], want_or[:2])
        # `in` with a str value is a substring test in LlamaIndex 0.12
        res_in = self.query_json(SAMPLE, "--vector", json.dumps(self.q), "--top-k", "0",
                                 "--filter", 'category in "newsroom"')
        self.assertEqual([r["id"] for r in res_in], [i for _, i in self.expected() if md[i]["category"] == "news"])
        self.assertEqual(len(res_in), 3)
        # a filter before the store argument still takes one value
        self.assertEqual(self.query_json("--filter", 'category == "news"', SAMPLE, "--vector", json.dumps(self.q),
                                         "--top-k", "0"), res_in)

    def test_with_text_and_metadata(self):
        res = self.query_json(SAMPLE, "--vector", json.dumps(self.q), "--with-text", "--with-metadata")
        with open(os.path.join(SAMPLE, "docstore.json")) as f:
            ds = json.load(f)
        for r in res:
            self.assertEqual(r["text"], ds["docstore/data"][r["id"]]["__data__"]["text"])
            self.assertEqual(r["metadata"], self.vs["metadata_dict"][r["id"]])

    def test_table(self):
        rc, out, err = run("query", SAMPLE, "--vector", json.dumps(self.q), "--top-k", "3")
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["RANK", "ID", "SCORE", "REF", "DOC", "TEXT"])
        self.assertEqual(len(lines), 4)
        exp = self.expected()
        for n, line in enumerate(lines[1:]):
            cols = line.split()
            self.assertEqual(cols[0], str(n + 1))
            self.assertEqual(cols[1], exp[n][1])
            self.assertEqual(cols[2], f"{exp[n][0]:.6f}")
            self.assertEqual(cols[3], self.vs["text_id_to_ref_doc_id"][exp[n][1]])

    def test_zero_and_nan_query_vectors_score_nan(self):
        # numpy gives 0/0 = NaN; the order is then heapq's and CPython's sort's
        ids = list(self.vs["embedding_dict"])
        import heapq
        heap = []
        for i in ids:
            heapq.heappush(heap, (float("nan"), i))
            if len(heap) > 3:
                heapq.heappop(heap)
        want = [i for _, i in sorted(heap, key=lambda x: x[0], reverse=True)]
        res = self.query_json(SAMPLE, "--vector", json.dumps([0.0] * 8), "--top-k", "3")
        self.assertEqual([r["id"] for r in res], want)
        self.assertEqual([r["score"] for r in res], [None] * 3)  # NaN is null in JSON output

    def test_mmr(self):
        res = self.query_json(SAMPLE, "--vector", json.dumps(self.q), "--mode", "mmr", "--top-k", "3")
        self.assertEqual(len(res), 3)
        # first pick: the best cosine, scored threshold * cosine
        s, i = self.expected()[0]
        self.assertEqual(res[0]["id"], i)
        self.assertAlmostEqual(res[0]["score"], 0.5 * s, places=12)
        same = self.query_json(SAMPLE, "--vector", json.dumps(self.q), "--mode", "mmr", "--top-k", "3",
                               "--mmr-threshold", "0")
        self.assertEqual(res, same)  # 0 means 0.5

    def test_index(self):
        with open(os.path.join(SAMPLE, "index_store.json")) as f:
            index_id = next(iter(json.load(f)["index_store/data"]))
        res = self.query_json(SAMPLE, "--vector", json.dumps(self.q), "--index", index_id, "--top-k", "3")
        self.assertEqual([r["id"] for r in res], [i for _, i in self.expected()[:3]])
        self.assert_refused(2, [SAMPLE, "--vector", json.dumps(self.q), "--index", "nope"], "no index 'nope'")

    def test_usage_errors_exit_2(self):
        v = json.dumps(self.q)
        self.assert_refused(2, [SAMPLE, "--vector", v, "--filter", "year ~ 3"], "unknown operator")
        self.assert_refused(2, [SAMPLE, "--vector", v, "--filter", "category == news"], "JSON literal")
        self.assert_refused(2, [SAMPLE, "--vector", v, "--filter", "published == true"], "bool")
        self.assert_refused(2, [SAMPLE, "--vector", v, "--filters", "{not json"], "not JSON")
        self.assert_refused(2, [SAMPLE, "--vector", v, "--filter", "a == 1", "--filters", '{"filters": []}'])
        self.assert_refused(2, [SAMPLE, "--vector", v, "--or"], "--or")
        self.assert_refused(2, [SAMPLE], "exactly one of")
        self.assert_refused(2, [SAMPLE, "--vector", v, "--like", self.ids[0]], "exactly one of")
        self.assert_refused(2, [SAMPLE, "--vector", "[1, 2]"], "8")
        self.assert_refused(2, [SAMPLE, "--vector", '["a"]'], "numbers")
        self.assert_refused(2, [SAMPLE, "--vector", v, "--namespace", "nope"], "no vector store namespace 'nope'")
        self.assert_refused(2, [SAMPLE, "--vector", v, "--mmr-threshold", "0.3"], "mmr")
        rc, _, err = run("query", SAMPLE, "--vector", v, "--top-k", "-1")
        self.assertEqual(rc, 2, err)
        rc, _, err = run("query", SAMPLE, "--vector", v, "--mode", "svm")
        self.assertEqual(rc, 2, err)
        # LlamaIndex raises TypeError for int > str: so does lstore, naming it
        self.assert_refused(2, [SAMPLE, "--vector", v, "--filter", 'year > "2000"'], "TypeError",
                            "'>' not supported between instances of 'int' and 'str'")
        self.assert_refused(2, [SAMPLE, "--vector", v, "--filters",
                                '{"filters": [{"key": "year", "value": 1, "operator": "=="}], "condition": "not"}'],
                            "Invalid filter condition")

    def test_like_unknown_exit_1(self):
        self.assert_refused(1, [SAMPLE, "--like", "no-such-node"], "no-such-node")

    def test_store_without_metadata_dict_exit_3(self):
        # legacy-0.6 has embeddings and no metadata_dict: LlamaIndex refuses filters there.
        store = os.path.join(self.tmp, "legacy")
        shutil.copytree(LEGACY, store)
        self.assertEqual(len(self.query_json(store, "--vector", "[1, 0, 0]")), 2)
        self.assert_refused(3, [store, "--vector", "[1, 0, 0]", "--filter", 'a == "b"'],
                            "Cannot filter stores that were persisted without metadata")
        # also with an empty filter list, as in LlamaIndex
        self.assert_refused(3, [store, "--vector", "[1, 0, 0]", "--filters", '{"filters": []}'],
                            "without metadata")

    def test_ts_store(self):
        res = self.query_json(TS, "--vector", "[0.1, 0.2, 0.3]", "--with-text")
        self.assertEqual(len(res), 1)
        self.assertTrue(res[0]["text"])


class CacheTest(Base):
    def test_cache_written_only_when_asked_used_and_stale(self):
        store = os.path.join(self.tmp, "store")
        shutil.copytree(SAMPLE, store)
        cache_dir = os.path.join(self.tmp, "cache")
        env = {"LSTORE_CACHE_DIR": cache_dir}
        q = json.dumps([0.3, -0.1, 0.2, 0.05, -0.4, 0.1, 0.0, 0.25])
        cold = self.query_json(store, "--vector", q, "--top-k", "0", "--with-text", env=env)
        self.assertFalse(os.path.exists(cache_dir))  # never written without --cache
        first = self.query_json(store, "--vector", q, "--top-k", "0", "--with-text", "--cache", env=env)
        self.assertEqual(first, cold)
        caches = os.listdir(cache_dir)
        self.assertEqual(len(caches), 1)
        cache = os.path.join(cache_dir, caches[0])
        stamp = os.stat(cache).st_mtime_ns
        warm = self.query_json(store, "--vector", q, "--top-k", "0", "--with-text", "--cache", env=env)
        self.assertEqual(warm, cold)
        self.assertEqual(os.stat(cache).st_mtime_ns, stamp)  # fresh: read, not rewritten
        rc, table, err = run("query", store, "--vector", q, "--cache", env=env)
        self.assertEqual(rc, 0, err)
        self.assertIn(cold[0]["id"], table)
        # Another vector file with the same size and ids: the cache is stale and not used.
        path = os.path.join(store, "default__vector_store.json")
        with open(path) as f:
            data = json.load(f)
        first_id = next(iter(data["embedding_dict"]))
        data["embedding_dict"][first_id] = list(reversed(data["embedding_dict"][first_id]))
        with open(path, "w") as f:
            f.write(json.dumps(data))
        fresh_cold = self.query_json(store, "--vector", q, "--top-k", "0", env=env)
        self.assertNotEqual([r["score"] for r in fresh_cold], [r["score"] for r in cold])
        after = self.query_json(store, "--vector", q, "--top-k", "0", "--cache", env=env)
        self.assertEqual(after, fresh_cold)
        self.assertNotEqual(os.stat(cache).st_mtime_ns, stamp)  # rewritten
        # A corrupt cache is said, replaced, never trusted; the new one is read without a word.
        with open(cache, "r+b") as f:
            f.write(b"garbage!")
        rc, out, err = run("query", store, "--vector", q, "--top-k", "0", "--cache", "--json", env=env)
        self.assertEqual((rc, json.loads(out)["results"]), (0, fresh_cold), err)
        self.assertEqual(err, "lstore: warning: %s: not an lstore cache; rebuilding the cache from the store\n" % cache)
        self.assertEqual(self.query_json(store, "--vector", q, "--top-k", "0", "--cache", env=env), fresh_cold)


class CorpusTest(Base):
    def setUp(self):
        super().setUp()
        if not os.path.isdir(os.path.join(CORPUS, "llamaindex-0.12")):
            print(f"SKIPPED: corpus query CLI test (no corpus at {CORPUS})", file=sys.stderr)
            self.skipTest("no corpus")

    def golden_through_cli(self, era, case, name):
        golden = os.path.join(CORPUS, era, case, "expected", name)
        store = os.path.join(CORPUS, era, case, "persist")
        with open(golden) as f:
            g = json.load(f)
        checked = refused = 0
        for q in g["queries"]:
            if q.get("node_ids") is not None or q["top_k"] is None:
                continue
            args = [store, "--vector-file", golden, "--namespace", g["namespace"], "--top-k", str(q["top_k"])]
            if q["mode"] == "mmr":
                args += ["--mode", "mmr"]
            if q.get("filters") is not None:
                args += ["--filters", json.dumps(q["filters"])]
            if "query_error" in q or "construct_error" in q:
                rc, out, err = run("query", *args)
                self.assertIn(rc, (2, 3), f"{q['name']}: {err}")
                self.assertTrue(err.startswith("lstore: query: "), err)
                refused += 1
                continue
            res = self.query_json(*args)
            self.assertEqual([r["id"] for r in res], q["ids"], q["name"])
            for r, s in zip(res, q["similarities"]):
                self.assertLess(abs(r["score"] - s), 1e-9, q["name"])
            checked += 1
        return checked, refused

    def test_goldens_through_the_cli(self):
        c12, r12 = self.golden_through_cli("llamaindex-0.12", "vector", "query_default_4.json")
        c10, r10 = self.golden_through_cli("llamaindex-0.10", "vector", "query_default_0.json")
        self.assertGreater(c12, 40)
        self.assertGreater(r12, 5)
        self.assertGreater(c10, 10)
        self.assertGreater(r10, 40)

    def test_index_is_the_retriever(self):
        golden = os.path.join(CORPUS, "llamaindex-0.12", "vector", "expected", "query_default_0.json")
        store = os.path.join(CORPUS, "llamaindex-0.12", "vector", "persist")
        with open(golden) as f:
            g = json.load(f)
        with open(os.path.join(store, "index_store.json")) as f:
            index_id = next(iter(json.load(f)["index_store/data"]))
        for r in g["retriever"]:
            res = self.query_json(store, "--vector-file", golden, "--index", index_id, "--top-k", str(r["top_k"]))
            self.assertEqual([x["id"] for x in res], [n["id"] for n in r["nodes"]])


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_cli_query.py PATH/TO/lstore")
    LSTORE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=1)
