#!/usr/bin/env python3
"""convert streams a plain copy (issue #20): the large files go entry by entry
from the source into sqlite:, jsonl: or a directory, and what is written is
what the loaded path writes (LSTORE_NO_STREAM=1), byte for byte, with the
same exit code, stdout and stderr: on every testdata and corpus store, on
generated stores whose collections are too large to be kept whole, and on
the shapes the stream hands back to the loaded path (duplicate keys, an
entry that is not JSON, bytes around the entries that are not UTF-8).
Usage: test_convert_stream.py PATH/TO/lstore"""
import atexit
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402

LSTORE = None
ROOT = support.ROOT


# Generated stores shared by tests, and where they are.
SHARED = {}
# Extra environment of every run (a test sets it for its own runs).
EXTRA_ENV = {}


def run(args, streamed, cwd=None):
    env = dict(os.environ)
    env.pop("LSTORE_NO_STREAM", None)
    env.update(EXTRA_ENV)
    if not streamed:
        env["LSTORE_NO_STREAM"] = "1"
    p = subprocess.Popen([LSTORE] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd)
    out, err = p.communicate(timeout=600)
    return p.returncode, out, err


# Runs argv and prints its peak RSS in KiB. A child keeps the peak of the
# process it was forked from (ru_maxrss survives execve), so the measured run
# is forked from this small interpreter, not from the test's own.
PEAK_RSS = """import os, subprocess, sys
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, usage = os.wait4(p.pid, 0)
sys.exit(os.waitstatus_to_exitcode(status)) if status else print(usage.ru_maxrss)
"""


def peak_rss_kb(args, streamed):
    """Peak RSS of one run of lstore."""
    env = dict(os.environ)
    env.pop("LSTORE_NO_STREAM", None)
    if not streamed:
        env["LSTORE_NO_STREAM"] = "1"
    out = subprocess.run([sys.executable, "-c", PEAK_RSS, LSTORE] + args, env=env, capture_output=True, check=True)
    return int(out.stdout)


def sqlite_rows(path):
    """Every row of every table, in table and rowid order (lstore's version
    string included: both runs are the same binary)."""
    con = sqlite3.connect(path)
    try:
        return list(con.iterdump())
    finally:
        con.close()


def written(target):
    """What a convert wrote at target: the rows of a database, the bytes of a
    file, every file of a directory; None when nothing is there."""
    path = target.split(":", 1)[1] if target.startswith(("sqlite:", "jsonl:")) else target
    if not os.path.exists(path):
        return None
    if target.startswith("sqlite:"):
        return sqlite_rows(path)
    if os.path.isdir(path):
        return support.tree(path)
    return support.read_bytes(path)


class ConvertCase(unittest.TestCase):
    """Converts a store both ways (streamed and loaded) and compares."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lstore-convert-stream-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)
        EXTRA_ENV.clear()

    def both(self, store, target_kind, extra=()):
        """Converts store both ways into fresh targets; returns (streamed, loaded)
        as (exit code, stdout, stderr with the target's name made equal, written)."""
        results = []
        for streamed in (True, False):
            name = os.path.join(self.tmp, "out-%s-%d" % (target_kind, streamed))
            shutil.rmtree(name, ignore_errors=True)
            if os.path.exists(name + ".db"):
                os.remove(name + ".db")
            target = {"sqlite": "sqlite:" + name + ".db", "jsonl": "jsonl:" + name + ".jsonl",
                      "zst": "jsonl:" + name + ".jsonl.zst", "dir": name, "stdout": "jsonl:-"}[target_kind]
            rc, out, err = run(["convert", store, target] + list(extra), streamed)
            data = out if target_kind == "stdout" else written(target)
            if target_kind != "stdout" and os.path.exists(target.split(":", 1)[-1]):
                p = target.split(":", 1)[-1]
                shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)
            text = (out + err).replace(name.encode(), b"TARGET")
            results.append((rc, text, data))
        return results

    def same(self, store, kinds=("sqlite", "jsonl", "dir"), extra=()):
        for kind in kinds:
            s, l = self.both(store, kind, extra)
            self.assertEqual(s[0], l[0], "%s -> %s: exit code" % (store, kind))
            self.assertEqual(s[1], l[1], "%s -> %s: output" % (store, kind))
            self.assertTrue(s[2] == l[2], "%s -> %s: what was written differs" % (store, kind))
        return s

    def gen_shared(self, nodes):
        """A generated store kept for the other tests (read only)."""
        if nodes not in SHARED:
            if "dir" not in SHARED:
                SHARED["dir"] = tempfile.mkdtemp(prefix="lstore-convert-stream-shared-")
                atexit.register(shutil.rmtree, SHARED["dir"], True)
            d = os.path.join(SHARED["dir"], "gen-%d" % nodes)
            subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gen_store.py"), d, "--nodes", str(nodes),
                            "--dim", "2", "--quiet"], check=True)
            SHARED[nodes] = d
        return SHARED[nodes]

    def gen(self, nodes, layout, dim=4):
        d = os.path.join(self.tmp, "gen-%d-%s-%d" % (nodes, layout, dim))
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gen_store.py"), d, "--nodes", str(nodes),
                        "--dim", str(dim), "--layout", layout, "--quiet"], check=True)
        return d


class StreamedConvertTest(ConvertCase):
    def test_every_store(self):
        stores, _ = support.corpus_stores()
        stores += [os.path.join(support.CORPUS, "wild", d) for d in sorted(support.NOT_STORES)
                   if os.path.isdir(os.path.join(support.CORPUS, "wild", d))]
        for s in stores:
            with self.subTest(store=s):
                self.same(s)

    def test_single_files_and_stdout(self):
        for s in (os.path.join(ROOT, "testdata", "sample"), os.path.join(ROOT, "testdata", "pretty"),
                  os.path.join(ROOT, "testdata", "kv", "kvstore.json"),
                  os.path.join(ROOT, "testdata", "sample", "docstore.json")):
            with self.subTest(store=s):
                self.same(s, kinds=("stdout", "zst", "sqlite"))
        self.same(os.path.join(ROOT, "testdata", "sample"), kinds=("sqlite", "dir"), extra=["--dry-run"])
        self.same(os.path.join(ROOT, "testdata", "sample"), kinds=("sqlite",), extra=["--strict"])

    def test_generated_stores(self):
        for layout in ("documents", "nodes"):
            d = self.gen(1500, layout)
            with self.subTest(layout=layout):
                rc, text, _ = self.same(d, kinds=("sqlite", "jsonl", "dir", "stdout"))
                self.assertEqual(rc, 0, text)

    def odd_copy(self, name, edit, file="docstore.json"):
        """A copy of a generated store with one file's bytes edited."""
        src = self.gen(1500, "documents")
        d = os.path.join(self.tmp, name)
        shutil.copytree(src, d)
        p = os.path.join(d, file)
        data = support.read_bytes(p)
        with open(p, "wb") as f:
            f.write(edit(data))
        return d

    def test_odd_shapes(self):
        # Odd spacing between some entries and around the root's members, an
        # escaped key: the layout's exceptions and gaps, streamed.
        def spaced(b):
            b = b.replace(b'"}, "', b'"},\n  "', 7)
            return b.replace(b'{"docstore/metadata": {"', b'{ "docstore/metadata" :{ "\\u0041', 1)
        d = self.odd_copy("spaced", spaced)
        rc, text, _ = self.same(d, kinds=("sqlite", "jsonl", "dir"))
        self.assertEqual(rc, 0, text)

    def test_fallbacks(self):
        # A duplicate key (the last one is what LlamaIndex loads), an entry
        # late in a collection that is not JSON (refused, naming file and
        # place), a key that is not UTF-8.
        def duplicate(b):
            head = b'{"docstore/metadata": {'
            first = json.loads(b)["docstore/metadata"]
            k = next(iter(first))
            entry = (json.dumps(k) + ": " + json.dumps(first[k]) + ", ").encode()
            return head + entry + b[len(head):]
        def not_json(b):
            i = b.rindex(b'"text": "') + len(b'"text": "')
            return b[:i] + b'\\x' + b[i + 2:]
        def latin1_key(b):
            i = b.rindex(b'"doc_hash"')
            i = b.rindex(b'"', 0, b.rindex(b'": {', 0, i)) + 1
            return b[:i] + b"\xe9" + b[i + 1:]
        for name, edit, ok in (("dup", duplicate, True), ("bad", not_json, False), ("latin1", latin1_key, None)):
            d = self.odd_copy(name, edit)
            with self.subTest(case=name):
                rc, text, _ = self.same(d, kinds=("sqlite", "jsonl", "dir", "stdout"))
                if ok is not None:
                    self.assertEqual(rc == 0, ok, text)
                if ok is False:
                    self.assertIn(b"docstore.json", text)

    def test_bad_embedding(self):
        # Late in embedding_dict, a number that is not JSON: sqlite: packs
        # embeddings and checks those that do not pack while it writes (the
        # temporary file is then dropped), jsonl: checks them before.
        def bad_number(b):
            j = b.rindex(b"]", 0, b.index(b'"text_id_to_ref_doc_id"'))
            return b[:j] + b", 1.0.0" + b[j:]
        d = self.odd_copy("badvec", bad_number, "default__vector_store.json")
        for kind in ("sqlite", "jsonl", "stdout"):
            rc, text, data = self.same(d, kinds=(kind,))
            self.assertEqual(rc, 3, text)
            self.assertIn(b"default__vector_store.json", text)
            self.assertIsNone(data if kind != "stdout" else (data or None))

    def test_entries_larger_than_the_window(self):
        # With a 4 KiB read window the index struct (every node id in one
        # string, 126 KB here) and a few docstore entries go in pieces: checked
        # as they pass, written in pieces (raw into jsonl:), and the same bytes.
        EXTRA_ENV["LSTORE_STREAM_WINDOW"] = "4096"
        for layout in ("documents", "nodes"):
            d = self.gen(1500, layout)
            self.assertGreater(os.path.getsize(os.path.join(d, "index_store.json")), 20 * 4096)
            with self.subTest(layout=layout):
                rc, text, _ = self.same(d, kinds=("sqlite", "jsonl", "dir", "stdout"))
                self.assertEqual(rc, 0, text)
        # A struct that is not strict JSON (NaN in it): refused by the check in
        # pieces, so the store is read whole, as before.
        def nan_struct(b):
            return b.replace(b'"__type__": "vector_store"', b'"__type__": "vector_store", "x": NaN', 1)
        d = self.odd_copy("nan", nan_struct, "index_store.json")
        rc, text, _ = self.same(d, kinds=("sqlite", "jsonl", "dir"))
        self.assertEqual(rc, 0, text)

    def test_large_json_value(self):
        # An index struct over 1 MiB (14,000 nodes): sqlite: keeps it as a
        # BLOB of its bytes, written in pieces through a blob handle; the same
        # rows from the loaded path, and the way back gives the files back.
        d = self.gen_shared(14000)
        self.assertGreater(os.path.getsize(os.path.join(d, "index_store.json")), 1 << 20)
        for window in ("4096", None):
            EXTRA_ENV.clear()
            if window:
                EXTRA_ENV["LSTORE_STREAM_WINDOW"] = window
            with self.subTest(window=window):
                rc, text, _ = self.same(d, kinds=("sqlite", "jsonl"))
                self.assertEqual(rc, 0, text)
        db = os.path.join(self.tmp, "large.db")
        rc, _, err = run(["convert", d, "sqlite:" + db], True)
        self.assertEqual(rc, 0, err)
        con = sqlite3.connect(db)
        kinds = con.execute("SELECT typeof(value), length(value) FROM lstore_entries WHERE file = 'index_store.json'").fetchall()
        # Record format 2 (a reader of format 1 would take the BLOB for float64s: it refuses the file).
        formats = (con.execute("PRAGMA user_version").fetchone()[0],
                   con.execute("SELECT value FROM lstore_store WHERE key = 'format'").fetchone()[0])
        con.close()
        self.assertEqual([k for k, _ in kinds], ["blob"])
        self.assertGreater(kinds[0][1], 1 << 20)
        self.assertEqual(formats, (2, "2"))
        small = os.path.join(self.tmp, "small.db")
        rc, _, err = run(["convert", os.path.join(ROOT, "testdata", "sample"), "sqlite:" + small], True)
        self.assertEqual(rc, 0, err)
        con = sqlite3.connect(small)
        self.assertEqual(con.execute("PRAGMA user_version").fetchone()[0], 1)  # no BLOB of JSON: format 1
        con.close()
        for streamed in (True, False):
            back = os.path.join(self.tmp, "back-%d" % streamed)
            rc, _, err = run(["convert", "sqlite:" + db, back], streamed)
            self.assertEqual(rc, 0, err)
            self.assertEqual(support.tree(back), support.tree(d))

    def test_value_over_the_sqlite_limit(self):
        # SQLite's limit on a value (SQLITE_MAX_LENGTH, 1e9 by default; lowered
        # here): one error line naming the file and the key, exit 3, nothing left.
        d = self.gen_shared(14000)
        EXTRA_ENV["LSTORE_SQLITE_MAX_LENGTH"] = str(1 << 20)
        db = os.path.join(self.tmp, "over.db")
        for streamed in (True, False):
            rc, out, err = run(["convert", d, "sqlite:" + db], streamed)
            self.assertEqual(rc, 3, err)
            self.assertEqual(out, b"")
            lines = err.decode().strip().splitlines()
            self.assertEqual(len(lines), 1, err)
            self.assertIn("index_store.json: index_store/data[", lines[0])
            self.assertIn("SQLITE_MAX_LENGTH", lines[0])
            self.assertEqual(os.listdir(self.tmp).count("over.db"), 0)
            self.assertEqual([f for f in os.listdir(self.tmp) if f.startswith(".over.db") or "over.db" in f], [])

    def test_memory_is_bounded(self):
        # The stream holds one entry at a time; the loaded path every entry's
        # outline: a store of 20,000 nodes already tells them apart.
        with open(LSTORE, "rb") as f:
            if b"__asan_init" in f.read():
                # ASan's shadow memory and quarantine, not the entries, make the peak there.
                raise unittest.SkipTest("built with AddressSanitizer")
        d = self.gen(20000, "documents", dim=32)
        db = os.path.join(self.tmp, "m.db")
        peaks = []
        for streamed in (True, False):
            if os.path.exists(db):
                os.remove(db)
            peaks.append(peak_rss_kb(["convert", d, "sqlite:" + db], streamed))
        self.assertLess(peaks[0], peaks[1] * 0.8, "peak RSS streamed %d KiB, loaded %d KiB" % tuple(peaks))


class WayBackTest(ConvertCase):
    """The way back (sqlite:FILE or jsonl:FILE -> a directory, and between
    the two): each file rebuilt from the records is counted from its
    temporary file and written entry by entry, not read into the model; the
    same bytes (every file of the target tree), exit code and messages as
    the loaded path, on backups of every testdata and corpus store, of
    generated stores (one with an index struct kept as a BLOB), and on
    damaged backups."""

    def backups(self, store, tag):
        """store in sqlite: and jsonl: (as convert writes them), or None when
        convert refuses the store."""
        db = os.path.join(self.tmp, "%s.db" % tag)
        jl = os.path.join(self.tmp, "%s.jsonl" % tag)
        rc1, _, _ = run(["convert", store, "sqlite:" + db], True)
        rc2, _, _ = run(["convert", store, "jsonl:" + jl], True)
        return ("sqlite:" + db if rc1 == 0 else None), ("jsonl:" + jl if rc2 == 0 else None)

    def back_both_ways(self, db, jl, across=True):
        """db and jl back to a directory (and, across, into each other's kind)."""
        if db:
            self.same(db, kinds=("dir", "jsonl") if across else ("dir",))
        if jl:
            self.same(jl, kinds=("dir", "sqlite") if across else ("dir",))

    def test_every_store(self):
        stores, _ = support.corpus_stores()
        made = 0
        for i, s in enumerate(stores):
            with self.subTest(store=s):
                db, jl = self.backups(s, "b%d" % i)
                made += bool(db) + bool(jl)
                self.back_both_ways(db, jl, across=False)  # (across: the generated stores below)
        self.assertGreater(made, 10)

    def test_generated_stores(self):
        for layout in ("documents", "nodes"):
            d = self.gen(1500, layout)
            db, jl = self.backups(d, layout)
            with self.subTest(layout=layout):
                self.back_both_ways(db, jl)
                for src in (db, jl):
                    back = os.path.join(self.tmp, "back-" + layout)
                    rc, _, err = run(["convert", src, back], True)
                    self.assertEqual(rc, 0, err)
                    self.assertEqual(support.tree(back), support.tree(d))
                    shutil.rmtree(back)
                # Commands that read a backup for a summary stream it too.
                with open(os.path.join(d, "docstore.json")) as f:
                    ident = next(iter(json.load(f)["docstore/data"]))
                for args in (["ls", db], ["ls", jl, "--json"], ["get", db, ident], ["get", jl, ident]):
                    s, l = run(args, True), run(args, False)
                    self.assertEqual(s, l, args)
                    self.assertEqual(s[0], 0, s)

    def test_large_json_value(self):
        # An index struct over 1 MiB: a BLOB in sqlite:, read back in pieces
        # through a blob handle, and the same files both ways.
        d = self.gen_shared(14000)
        db, jl = self.backups(d, "large")
        con = sqlite3.connect(db.split(":", 1)[1])
        kinds = con.execute("SELECT typeof(value) FROM lstore_entries WHERE file = 'index_store.json'").fetchall()
        con.close()
        self.assertEqual(kinds, [("blob",)])
        self.back_both_ways(db, jl)
        for src in (db, jl):  # jsonl: holds the struct on one line of over 1 MiB
            back = os.path.join(self.tmp, "back")
            rc, _, err = run(["convert", src, back], True)
            self.assertEqual(rc, 0, err)
            self.assertEqual(support.tree(back), support.tree(d))
            shutil.rmtree(back)

    def damaged(self, db, sql):
        """A copy of the database db with sql run on it."""
        out = os.path.join(self.tmp, "damaged-%d.db" % len(os.listdir(self.tmp)))
        shutil.copy(db.split(":", 1)[1], out)
        con = sqlite3.connect(out)
        con.execute(sql)
        con.commit()
        con.close()
        return "sqlite:" + out

    def assert_refused(self, src, naming):
        s = self.same(src, kinds=("dir", "jsonl" if src.startswith("sqlite:") else "sqlite"))
        self.assertEqual(s[0], 3, s[1])
        self.assertIsNone(s[2])  # nothing written
        lines = s[1].decode().strip().splitlines()
        self.assertEqual(len(lines), 1, s[1])
        self.assertIn(naming, lines[0])

    def test_damaged_backups(self):
        d = self.gen(1500, "documents")
        db, jl = self.backups(d, "dmg")
        # A row whose JSON is cut short; an index struct BLOB cut short.
        bad_row = self.damaged(db, "UPDATE lstore_entries SET value = '{\"__data__\": ' "
                                   "WHERE rowid = (SELECT max(rowid) FROM lstore_entries WHERE file = 'docstore.json')")
        self.assert_refused(bad_row, "docstore.json")
        large = self.backups(self.gen_shared(14000), "dmg-large")[0]
        bad_blob = self.damaged(large, "UPDATE lstore_entries SET value = CAST(substr(value, 1, length(value) - 9) AS BLOB) "
                                       "WHERE file = 'index_store.json'")
        self.assert_refused(bad_blob, "index_store.json")
        # A file name that leads out of the target.
        for name in ("../evil.json", "/tmp/evil.json"):
            unsafe = self.damaged(db, "UPDATE lstore_files SET name = '%s' WHERE name = 'docstore.json'" % name)
            self.assert_refused(unsafe, "not a plain relative name")
            self.assertFalse(os.path.exists(os.path.join(self.tmp, "evil.json")))
        # A truncated stream (cut in the middle of an entry line), a line that is not JSON.
        data = support.read_bytes(jl.split(":", 1)[1])
        cut = os.path.join(self.tmp, "cut.jsonl")
        with open(cut, "wb") as f:
            f.write(data[:len(data) * 2 // 3])
        self.assert_refused("jsonl:" + cut, "line ")
        lines = data.split(b"\n")
        i = next(k for k in range(len(lines) - 1, 0, -1) if lines[k].startswith(b'{"k":'))
        lines[i] = lines[i][:-20] + b"}"
        broken = os.path.join(self.tmp, "broken.jsonl")
        with open(broken, "wb") as f:
            f.write(b"\n".join(lines))
        self.assert_refused("jsonl:" + broken, "jsonl:")

    def test_memory_is_bounded(self):
        with open(LSTORE, "rb") as f:
            if b"__asan_init" in f.read():
                raise unittest.SkipTest("built with AddressSanitizer")
        d = self.gen(20000, "documents", dim=32)
        db, _ = self.backups(d, "mem")
        peaks = []
        for streamed in (True, False):
            back = os.path.join(self.tmp, "back-%d" % streamed)
            peaks.append(peak_rss_kb(["convert", db, back], streamed))
        self.assertLess(peaks[0], peaks[1] * 0.8, "peak RSS streamed %d KiB, loaded %d KiB" % tuple(peaks))


if __name__ == "__main__":
    LSTORE = os.path.abspath(sys.argv.pop(1))
    unittest.main()
