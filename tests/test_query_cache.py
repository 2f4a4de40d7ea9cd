"""The warm query (`lstore query --cache`: the cache of ops/query_cache.cpp,
screened in int8 and re-scored in float64) answers exactly as the cold query
does: stdout and exit code byte for byte on every testdata and corpus store
with vectors, the first run (which writes the cache) and the second (which
reads it), and on generated stores full of ties and near-ties (vectors that
differ by less than the int8 screen's error, so the screen mis-orders them).
A damaged cache is found by its checksums: said in one warning line,
rebuilt, and the answer is still the cold one; so is a damaged header, a
file cut short or another version's cache."""
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402

LSTORE = None
# vector_cache.hpp's CacheHeader: magic, byte order, header size, then 24 u64/i64.
HEADER = struct.Struct("=8sII QQQqqQ QQQQ QQQ Q QQ QQ Q QQQ Q Q")
FIELDS = ("magic byte_order header_size dev ino size mtime_ns ctime_ns head_tail_hash rows dim stride block_rows "
          "name_off name_len name_sum rows_off strings_off strings_size order_off order_sum block_sums_off "
          "params_off codes_off data_off file_size header_sum").split()


def run(args, cache_dir=None):
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    env.pop("LSTORE_NO_STREAM", None)
    env["LSTORE_CACHE_DIR"] = cache_dir or os.path.join(tempfile.gettempdir(), "lstore-query-cache-unused")
    p = subprocess.run([LSTORE] + args, capture_output=True, env=env, timeout=300)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def namespaces(store):
    rc, out, _ = run(["ls", store, "--format", "json"])
    if rc != 0:
        return []
    return support.vector_namespaces(out)


def header(path):
    with open(path, "rb") as f:
        return dict(zip(FIELDS, HEADER.unpack(f.read(HEADER.size))))


class WarmQueryTest(support.QueryScratch):
    scratch_prefix = "lstore-query-cache-"

    def cache_dir(self):
        self.n += 1
        return os.path.join(self.tmp, "cache%d" % self.n)

    def same_warm(self, store, ns, vec, extra, fmt="json"):
        """Cold, the run that writes the cache and the one that reads it: one answer."""
        args = ["query", store, "--namespace", ns, "--vector-file", self.vector_file(vec), "--format", fmt] + extra
        cold = run(args)
        cache = self.cache_dir()
        for which in ("writes", "reads"):
            rc, out, err = run(args + ["--cache"], cache)
            self.assertEqual((rc, out), cold[:2], "%s: the run that %s the cache: %s" % (" ".join(args), which, err))
        return cold

    def test_every_store(self):
        stores, _ = support.corpus_stores()
        answered = 0
        for s in stores:
            for ns, dim in namespaces(s):
                with self.subTest(store=s, namespace=ns):
                    rnd = random.Random(dim)
                    vec = [rnd.uniform(-1, 1) for _ in range(dim)]
                    rc, _, _ = self.same_warm(s, ns, vec, ["--top-k", "3"], fmt="table")
                    answered += rc == 0
                    self.same_warm(s, ns, vec, ["--top-k", "1"])
                    self.same_warm(s, ns, vec, ["--top-k", "0", "--with-text"])
        self.assertGreater(answered, 0)

    def test_ties_and_near_ties(self):
        d, emb, ids = self.tied_store()
        rnd = random.Random(9)
        for q in (emb[ids[0]], emb[ids[5]], [x + 1e-4 for x in emb[ids[16]]], [rnd.gauss(0, 1) for _ in range(48)]):
            for k in ("1", "7", "40", "300"):
                rc, out, err = self.same_warm(d, "default", q, ["--top-k", k])
                self.assertEqual(rc, 0, err)
                self.assertEqual(len(json.loads(out)["results"]), int(k))

    def corrupted(self, store, args, damage):
        """Cold answer, a cache damaged by damage(path, header), then the warm run."""
        cold = run(args)
        cache = self.cache_dir()
        self.assertEqual(run(args + ["--cache"], cache)[:2], cold[:2])
        (name,) = os.listdir(cache)
        path = os.path.join(cache, name)
        damage(path, header(path))
        warm = run(args + ["--cache"], cache)
        self.assertEqual(warm[:2], cold[:2])
        again = run(args + ["--cache"], cache)  # rebuilt: read without a word
        self.assertEqual(again, (cold[0], cold[1], ""))
        return warm[2]

    def test_damaged_cache(self):
        d, emb, ids = self.tied_store()
        q = [x + 1e-4 for x in emb[ids[16]]]
        args = ["query", d, "--vector-file", self.vector_file(q), "--top-k", "5", "--json"]
        top = json.loads(run(args)[1])["results"][0]["id"]
        row = ids.index(top)

        def flip(path, offset):
            with open(path, "r+b") as f:
                f.seek(offset)
                b = f.read(1)
                f.seek(offset)
                f.write(bytes([b[0] ^ 0x10]))

        def one_warning(err, what):
            lines = err.splitlines()
            self.assertEqual(len(lines), 1, err)
            self.assertTrue(lines[0].startswith("lstore: warning: ") and what in lines[0], err)
            self.assertIn("rebuilding the cache", lines[0])

        # The top hit's float64 numbers, its screening codes, its id: each found.
        err = self.corrupted(d, args, lambda p, h: flip(p, h["data_off"] + row * h["dim"] * 8 + 3))
        one_warning(err, "the vector of row %d does not match its checksum" % row)
        seen = {}

        def codes(path, h):
            seen.update(h)
            flip(path, h["codes_off"] + row * h["stride"] + 1)

        err = self.corrupted(d, args, codes)
        one_warning(err, "screening block %d does not match its checksum" % (row // seen["block_rows"]))

        def id_byte(path, h):
            with open(path, "rb") as f:
                f.seek(h["rows_off"] + row * 32)
                (str_off,) = struct.unpack("=Q", f.read(8))
            flip(path, h["strings_off"] + str_off + 2)

        err = self.corrupted(d, args, id_byte)
        one_warning(err, "the id of row %d does not match its checksum" % row)
        # A damaged header, a cut file, another version's cache: each said, then rewritten.
        one_warning(self.corrupted(d, args, lambda p, h: flip(p, 40)), "the header does not match its checksum")
        err = self.corrupted(d, args, lambda p, h: os.truncate(p, h["data_off"] + 100))
        one_warning(err, "bytes where its header says %d (cut short or grown)" % seen["file_size"])
        one_warning(self.corrupted(d, args, lambda p, h: os.truncate(p, 10)), "cut short (10 bytes, not even a header)")

        def older(path, h):
            with open(path, "r+b") as f:
                f.write(b"LSVCACH2")

        one_warning(self.corrupted(d, args, older), "a version 2 cache (this lstore writes version 3)")
        # --like reads the row through the same checks.
        like = ["query", d, "--like", ids[3], "--top-k", "3", "--json"]
        err = self.corrupted(d, like, lambda p, h: flip(p, h["data_off"] + 3 * h["dim"] * 8 + 9))
        one_warning(err, "the vector of row 3 does not match its checksum")


if __name__ == "__main__":
    LSTORE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
