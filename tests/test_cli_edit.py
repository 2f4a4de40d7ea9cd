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
    return [r["id"] for r in map(json.loads, run("ls", store, "docs", "--json")[1].splitlines())]


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lstore-edit-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def copy(self, src=SAMPLE, name="store"):
        dst = os.path.join(self.tmp, name)
        shutil.copytree(src, dst)
        return dst


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


class ScaleTest(Base):
    """A store large enough for a write to take a while: killed at random
    instants, the store is always exactly the old or the new one."""

    @classmethod
    def setUpClass(cls):
        cls.big = tempfile.mkdtemp(prefix="lstore-big-")
        cls.store = os.path.join(cls.big, "persist")
        subprocess.run([sys.executable, GEN, cls.store, "--nodes", "3000", "--dim", "128", "--seed", "7",
                        "--docs", "300", "--quiet"], check=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.big, ignore_errors=True)

    def test_sigkill_leaves_old_or_new(self):
        ref, other = ref_docs(self.store)[5], ref_docs(self.store)[6]
        old = snapshot(self.store)
        ref_store = self.copy(self.store, "reference")
        t0 = time.monotonic()
        self.assertEqual(run("delete", ref_store, "--ref-doc", ref)[0], 0)
        duration = time.monotonic() - t0
        new = snapshot(ref_store)
        self.assertNotEqual(old, new)
        rng = random.Random(1)
        outcomes = {"old": 0, "new": 0}
        for trial in range(TRIALS):
            work = self.copy(self.store, f"t{trial}")
            p = subprocess.Popen([LSTORE, "delete", work, "--ref-doc", ref], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0, duration * 1.2))
            p.send_signal(signal.SIGKILL)
            p.wait()
            got = snapshot(work)
            self.assertIn(got, (old, new), f"trial {trial}: a mix of old and new")
            outcomes["old" if got == old else "new"] += 1
            # The next writer cleans up what the killed one left and succeeds.
            if got == old:
                self.assertEqual(run("delete", work, "--ref-doc", ref)[0], 0)
                self.assertEqual(snapshot(work), new)
            self.assertEqual(run("delete", work, "--ref-doc", other)[0], 0)
            leftovers = [n for n in os.listdir(self.tmp) if n.startswith(f".t{trial}.lstore-")]
            self.assertEqual(leftovers, [], "staging directory left behind")
            shutil.rmtree(work)
        print(f"crash trials: {outcomes}", file=sys.stderr)

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
