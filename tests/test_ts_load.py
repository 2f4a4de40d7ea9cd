#!/usr/bin/env python3
"""A store lstore converts to the TS dialect loads in LlamaIndex.TS itself
(npm package llamaindex 0.12.1, installed from the npm registry into the
build directory on first use), and its vector store and retriever return
what lstore query returns. Skipped, with the reason, without node/npm or
when the package cannot be installed. Usage: test_ts_load.py PATH/TO/lstore"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

LSTORE = None
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.environ.get("LSTORE_CORPUS", os.path.join(ROOT, "..", "shared", "corpus"))
PACKAGE = "llamaindex@0.12.1"
DEPS = None


def setUpModule():
    global DEPS
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        print("SKIPPED: LlamaIndex.TS load test (node/npm not installed)", file=sys.stderr)
        raise unittest.SkipTest("no npm")
    DEPS = os.path.join(os.path.dirname(LSTORE), "ts-deps")
    if not os.path.isdir(os.path.join(DEPS, "node_modules", "llamaindex")):
        os.makedirs(DEPS, exist_ok=True)
        p = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", DEPS, PACKAGE],
                           capture_output=True, timeout=600)
        if p.returncode != 0:
            print(f"SKIPPED: LlamaIndex.TS load test (npm install {PACKAGE} failed: "
                  f"{p.stderr.decode().strip().splitlines()[-1:]})", file=sys.stderr)
            raise unittest.SkipTest("npm install failed")
    shutil.copy(os.path.join(ROOT, "tests", "ts_load.mjs"), os.path.join(DEPS, "ts_load.mjs"))


def ts_load(store, vector):
    p = subprocess.run(["node", os.path.join(DEPS, "ts_load.mjs"), store, json.dumps(vector)],
                       capture_output=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError(p.stderr.decode()[-2000:])
    return json.loads(p.stdout)


class TsLoadTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lstore-tsload-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def check(self, src, dim):
        ts = os.path.join(self.tmp, "ts-" + os.path.basename(os.path.dirname(src.rstrip("/"))))
        p = subprocess.run([LSTORE, "convert", src, ts, "--dialect", "ts"], capture_output=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        vector = [((i * 7) % 5 - 2) / 3.0 for i in range(dim)]
        seen = ts_load(ts, vector)
        nodes = [json.loads(l) for l in subprocess.run([LSTORE, "ls", src, "nodes", "--format", "ndjson"],
                                                       capture_output=True, check=True).stdout.splitlines()]
        self.assertEqual(seen["nodes"], len(nodes))
        q = subprocess.run([LSTORE, "query", src, "--vector", json.dumps(vector), "--top-k", "3", "--json"],
                           capture_output=True, check=True)
        ours = json.loads(q.stdout)["results"]
        self.assertEqual(seen["ids"], [r["id"] for r in ours])
        for a, b in zip(seen["similarities"], [r["score"] for r in ours]):
            self.assertAlmostEqual(a, b, places=9)
        self.assertEqual([r[0] for r in seen["retrieved"]], [r["id"] for r in ours])
        self.assertTrue(all(r[2] > 0 for r in seen["retrieved"]))  # nodes came with their text

    def test_sample(self):
        self.check(os.path.join(ROOT, "testdata", "sample"), 8)

    def test_corpus_vector_case(self):
        src = os.path.join(CORPUS, "llamaindex-0.12", "vector", "persist")
        if not os.path.isdir(src):
            print(f"SKIPPED: LlamaIndex.TS load of the corpus vector case (no corpus at {CORPUS})", file=sys.stderr)
            self.skipTest("no corpus")
        dim = len(next(iter(json.load(open(os.path.join(src, "default__vector_store.json")))["embedding_dict"].values())))
        self.check(src, dim)


if __name__ == "__main__":
    LSTORE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=1)
