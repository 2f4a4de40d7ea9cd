#!/usr/bin/env python3
"""Safety trials of the writing commands: nothing outside the store is
touched, nothing in it that LlamaIndex does not own is dropped, and every
write is whole or not at all, also when a syscall fails or the process dies
at a chosen instant (tests/fault/fault_inject.c, preloaded).
Usage: test_safety.py PATH/TO/lstore PATH/TO/fault_inject.so"""
import json
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

LSTORE = None
SHIM = None
PRELOAD = None  # what LD_PRELOAD holds for a fault trial (see preload_for)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "testdata", "sample")


def preload_for(binary, shim):
    """The shim, behind the sanitizer runtimes the binary links (an ASan
    build refuses to start unless its runtime comes first)."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    runtimes = [line.split("=>")[1].split()[0] for line in out.splitlines()
                if "=>" in line and ("libasan" in line or "libubsan" in line) and "/" in line.split("=>")[1]]
    return ":".join(runtimes + [shim])


def run(*args, fault=None, timeout=60, env=None):
    e = dict(os.environ, **(env or {}))
    if fault is not None:
        e["LD_PRELOAD"] = PRELOAD
        e["LSTORE_FAULT"] = fault
    p = subprocess.run([LSTORE, *args], capture_output=True, timeout=timeout, env=e)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def files(d):
    """Every entry under d, links as ("link", target), files as bytes, dirs as "dir"."""
    out = {}
    for base, dirs, names in os.walk(d):
        for n in dirs + names:
            p = os.path.join(base, n)
            rel = os.path.relpath(p, d)
            if os.path.islink(p):
                out[rel] = ("link", os.readlink(p))
            elif os.path.isdir(p):
                out[rel] = "dir"
            elif stat.S_ISFIFO(os.lstat(p).st_mode):
                out[rel] = "fifo"
            else:
                with open(p, "rb") as f:
                    out[rel] = f.read()
    return out


def ref_docs(store):
    rc, out, err = run("ls", store, "docs", "--format", "ndjson")
    assert rc == 0, err
    return [json.loads(line)["id"] for line in out.splitlines()]


def node_count(store):
    rc, out, err = run("ls", store, "--json")
    assert rc == 0, err
    return json.loads(out)["docstore"]["nodes"]


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lstore-safety-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def copy(self, name="store"):
        dst = os.path.join(self.tmp, name)
        shutil.copytree(SAMPLE, dst)
        return dst

    def outside(self):
        """Everything in the temp dir but the store itself."""
        return sorted(n for n in os.listdir(self.tmp))


class SymlinkedStoreTest(Base):
    def test_write_through_a_link_goes_to_its_target_and_keeps_the_link(self):
        store = self.copy()
        link = os.path.join(self.tmp, "link")
        os.symlink(store, link)
        ref = ref_docs(store)[0]
        rc, _, err = run("delete", link, "--ref-doc", ref)
        self.assertEqual(rc, 0, err)
        self.assertTrue(os.path.islink(link))
        self.assertNotIn(ref, ref_docs(store))
        self.assertEqual(sorted(os.listdir(self.tmp)), ["link", "store"])

    def test_the_link_and_the_store_take_one_lock(self):
        store = self.copy()
        link = os.path.join(self.tmp, "link")
        os.symlink(store, link)
        # A writer of the store's own path holds its lock: one through the
        # link must see it.
        import fcntl
        lock = os.path.join(self.tmp, ".store.lstore.lock")
        with open(lock, "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            rc, _, err = run("delete", link, "--ref-doc", ref_docs(store)[1])
            self.assertEqual(rc, 3, err)
            self.assertIn("locked by another writer", err)


class BackupTargetTest(Base):
    def test_a_non_empty_backup_directory_is_refused(self):
        store = self.copy()
        before = files(store)
        backup = os.path.join(self.tmp, "keep")
        os.mkdir(backup)
        with open(os.path.join(backup, "precious.txt"), "w") as f:
            f.write("mine")
        rc, _, err = run("delete", store, "--ref-doc", ref_docs(store)[0], "--backup", backup)
        self.assertEqual(rc, 3, err)
        self.assertIn("not empty", err)
        self.assertEqual(files(backup), {"precious.txt": b"mine"})
        self.assertEqual(files(store), before)

    def test_a_file_as_backup_target_is_refused(self):
        store = self.copy()
        target = os.path.join(self.tmp, "file")
        with open(target, "w") as f:
            f.write("mine")
        rc, _, err = run("put", store, "--collection", "docstore/metadata", "--key", "k", "--value", "{}",
                         "--backup", target)
        self.assertEqual(rc, 3, err)
        with open(target) as f:
            self.assertEqual(f.read(), "mine")

    def test_a_backup_inside_the_store_is_refused(self):
        store = self.copy()
        before = files(store)
        rc, _, err = run("delete", store, "--ref-doc", ref_docs(store)[0], "--backup", os.path.join(store, "bak"))
        self.assertEqual(rc, 2, err)
        self.assertEqual(files(store), before)

    def test_an_empty_backup_directory_gets_the_old_store(self):
        store = self.copy()
        before = files(store)
        backup = os.path.join(self.tmp, "empty")
        os.mkdir(backup)
        rc, _, err = run("delete", store, "--ref-doc", ref_docs(store)[0], "--backup", backup)
        self.assertEqual(rc, 0, err)
        self.assertEqual(files(backup), before)


class CarryOverTest(Base):
    def test_what_lstore_does_not_own_survives_a_write(self):
        store = self.copy()
        os.makedirs(os.path.join(store, ".git", "objects"))
        with open(os.path.join(store, ".git", "objects", "ab"), "wb") as f:
            f.write(b"object")
        os.makedirs(os.path.join(store, "sub"))
        with open(os.path.join(store, "sub", "notes.txt"), "w") as f:
            f.write("notes")
        os.symlink("nowhere", os.path.join(store, "dangling"))
        os.symlink(os.path.join(store, "sub"), os.path.join(store, "dirlink"))
        os.mkfifo(os.path.join(store, "pipe"))
        before = files(store)
        for cmd in (["delete", store, "--ref-doc", ref_docs(store)[0]],
                    ["put", store, "--collection", "docstore/metadata", "--key", "k", "--value", "{}"]):
            rc, _, err = run(*cmd, timeout=20)
            self.assertEqual(rc, 0, err)
            after = files(store)
            for name in (".git", ".git/objects", ".git/objects/ab", "sub", "sub/notes.txt", "dangling", "dirlink", "pipe"):
                self.assertEqual(after.get(name), before[name], name)


class ReaderDuringWriteTest(Base):
    def test_a_reader_sees_the_old_or_the_new_store_never_an_emptied_one(self):
        store = self.copy("thestore_dir")
        nodes = node_count(store)
        ref = ref_docs(store)[0]
        # The reader opens the store, then pauses 1.5 s: the writer swaps the
        # store in that window and empties the old directory.
        reader = subprocess.Popen([LSTORE, "ls", store, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=dict(os.environ, LD_PRELOAD=PRELOAD, LSTORE_FAULT="open@thestore_dir:1:pause-after"))
        time.sleep(0.3)
        rc, _, err = run("delete", store, "--ref-doc", ref)
        self.assertEqual(rc, 0, err)
        out, err = reader.communicate(timeout=30)
        self.assertEqual(reader.returncode, 0, err)
        summary = json.loads(out)
        self.assertIn(summary["docstore"]["nodes"], (nodes, node_count(store)))
        self.assertGreater(summary["docstore"]["nodes"], 0)


class ReadErrorTest(Base):
    def test_an_error_listing_the_store_fails_the_command(self):
        store = self.copy()
        backup = os.path.join(self.tmp, "backup")
        self.assertEqual(run("convert", store, backup)[0], 0)
        before = files(backup)
        rc, out, err = run("convert", store, backup, "--force", fault="readdir:1:EIO")
        self.assertEqual(rc, 3, out + err)
        self.assertIn("cannot list", err)
        self.assertEqual(files(backup), before)


class CraftedBackupTest(Base):
    def check_refused(self, source, out):
        rc, _, err = run("convert", source, out)
        self.assertEqual(rc, 3, err)
        self.assertIn("not a plain relative name", err)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "evil.json")))
        self.assertFalse(os.path.exists("/tmp/lstore-evil.json"))

    def test_jsonl_names_outside_the_target_are_refused(self):
        backup = os.path.join(self.tmp, "b.jsonl")
        self.assertEqual(run("convert", SAMPLE, "jsonl:" + backup)[0], 0)
        with open(backup) as f:
            lines = f.read().splitlines()
        for evil in ("../evil.json", "/tmp/lstore-evil.json", "a/../../evil.json", "x\u0000y"):
            crafted = [json.dumps(dict(json.loads(l), file=evil)) if '"file": "graph_store.json"' in l.replace('":"', '": "') else l
                       for l in lines]
            self.assertNotEqual(crafted, lines)
            with open(backup, "w") as f:
                f.write("\n".join(crafted) + "\n")
            self.check_refused("jsonl:" + backup, os.path.join(self.tmp, "out", "restored"))

    def test_sqlite_names_outside_the_target_are_refused(self):
        db = os.path.join(self.tmp, "b.db")
        self.assertEqual(run("convert", SAMPLE, "sqlite:" + db)[0], 0)
        for evil in ("../evil.json", "/tmp/lstore-evil.json"):
            with sqlite3.connect(db) as c:
                c.execute("UPDATE lstore_files SET name = ? WHERE name LIKE 'graph_store.json' OR name LIKE '%evil.json'", (evil,))
            self.check_refused("sqlite:" + db, os.path.join(self.tmp, "out", "restored"))


class LockFileTest(Base):
    def test_a_planted_symlink_is_never_written_through(self):
        store = self.copy()
        victim = os.path.join(self.tmp, "victim")
        with open(victim, "w") as f:
            f.write("precious")
        os.symlink(victim, os.path.join(self.tmp, ".store.lstore.lock"))
        rc, _, err = run("delete", store, "--ref-doc", ref_docs(store)[0])
        self.assertEqual(rc, 3, err)
        self.assertIn("symlink", err)
        with open(victim) as f:
            self.assertEqual(f.read(), "precious")

    def test_a_planted_hard_link_is_never_written_through(self):
        store = self.copy()
        victim = os.path.join(self.tmp, "victim")
        with open(victim, "w") as f:
            f.write("precious")
        os.link(victim, os.path.join(self.tmp, ".store.lstore.lock"))
        rc, _, err = run("delete", store, "--ref-doc", ref_docs(store)[0])
        self.assertEqual(rc, 3, err)
        with open(victim) as f:
            self.assertEqual(f.read(), "precious")

    def test_the_lock_file_is_removed_on_release(self):
        store = self.copy()
        self.assertEqual(run("delete", store, "--ref-doc", ref_docs(store)[0])[0], 0)
        self.assertEqual(os.listdir(self.tmp), ["store"])


class FallbackSwapTest(Base):
    """Filesystems without RENAME_EXCHANGE: renameat2 fails (EINVAL) and the
    store is swapped by two renames; the process is killed between them."""

    def test_killed_between_the_renames_the_next_writer_rolls_back(self):
        store = self.copy()
        refs = ref_docs(store)
        before = files(store)
        rc, _, err = run("delete", store, "--ref-doc", refs[0], fault="renameat2:1:EINVAL,rename:1:kill-after")
        self.assertEqual(rc, -signal.SIGKILL, err)
        self.assertFalse(os.path.exists(store))
        rc, _, err = run("ls", store)
        self.assertEqual(rc, 3)
        self.assertIn("interrupted", err)
        # The next writer puts the old store back, then does its own write.
        rc, _, err = run("delete", store, "--ref-doc", refs[1])
        self.assertEqual(rc, 0, err)
        self.assertEqual(ref_docs(store), [r for r in refs if r != refs[1]])
        self.assertEqual(os.listdir(self.tmp), ["store"])
        self.assertNotEqual(files(store), before)

    def test_killed_after_the_renames_the_next_writer_finishes(self):
        store = self.copy()
        refs = ref_docs(store)
        rc, _, err = run("delete", store, "--ref-doc", refs[0], fault="renameat2:1:EINVAL,rename:2:kill-after")
        self.assertEqual(rc, -signal.SIGKILL, err)
        self.assertEqual(ref_docs(store), refs[1:])
        self.assertEqual(run("delete", store, "--ref-doc", refs[1])[0], 0)
        self.assertEqual(ref_docs(store), refs[2:])
        self.assertEqual(os.listdir(self.tmp), ["store"])

    def test_the_fallback_works_when_not_killed(self):
        store = self.copy()
        refs = ref_docs(store)
        rc, _, err = run("delete", store, "--ref-doc", refs[0], fault="renameat2:1:EINVAL")
        self.assertEqual(rc, 0, err)
        self.assertEqual(ref_docs(store), refs[1:])
        self.assertEqual(os.listdir(self.tmp), ["store"])


class AfterTheSwapTest(Base):
    def test_an_interrupt_after_the_swap_is_success(self):
        store = self.copy()
        refs = ref_docs(store)
        rc, out, err = run("delete", store, "--ref-doc", refs[0], fault="renameat2:1:int-after")
        self.assertEqual(rc, 0, err)
        self.assertEqual(ref_docs(store), refs[1:])

    def test_an_fsync_error_after_the_swap_is_a_warning(self):
        store = self.copy()
        refs = ref_docs(store)
        counts = os.path.join(self.tmp, "counts")
        probe = self.copy("probe")
        rc, _, err = run("delete", probe, "--ref-doc", refs[0], env={"LD_PRELOAD": PRELOAD, "LSTORE_FAULT_COUNTS": counts})
        self.assertEqual(rc, 0, err)
        with open(counts) as f:
            n = dict(line.split() for line in f)["fsync"]
        rc, _, err = run("delete", store, "--ref-doc", refs[0], fault=f"fsync:{n}:EIO")
        self.assertEqual(rc, 0, err)
        self.assertIn("warning", err)
        self.assertIn("fsync", err)
        self.assertEqual(ref_docs(store), refs[1:])


class SpecialFileTest(Base):
    def test_a_fifo_never_hangs_a_command(self):
        fifo = os.path.join(self.tmp, "fifo")
        os.mkfifo(fifo)
        for store in (fifo, "sqlite:" + fifo, "jsonl:" + fifo):
            rc, _, err = run("ls", store, timeout=10)
            self.assertEqual(rc, 3, f"{store}: {err}")
        store = self.copy()
        os.mkfifo(os.path.join(store, "extra"))
        rc, _, err = run("ls", store, timeout=10)
        self.assertEqual(rc, 0, err)
        os.remove(os.path.join(store, "docstore.json"))
        os.mkfifo(os.path.join(store, "docstore.json"))
        rc, _, err = run("delete", store, "--node", "x", timeout=10)
        self.assertEqual(rc, 3, err)
        self.assertIn("docstore.json", err)


class LongNameTest(Base):
    def test_a_store_with_a_250_character_name_can_be_written(self):
        store = self.copy("s" * 250)
        refs = ref_docs(store)
        rc, _, err = run("delete", store, "--ref-doc", refs[0])
        self.assertEqual(rc, 0, err)
        self.assertEqual(ref_docs(store), refs[1:])
        self.assertEqual(os.listdir(self.tmp), ["s" * 250])


class ClaimsTest(Base):
    def test_wait_takes_only_a_plain_number_of_seconds(self):
        store = self.copy()
        for bad in ("inf", "1e300", "1e16", "-5", "nan", "1e3"):
            rc, _, err = run("delete", store, "--node", "x", "--wait", bad)
            self.assertEqual(rc, 2, f"--wait {bad}: {err}")
            self.assertIn("--wait", err)
        self.assertEqual(run("delete", store, "--ref-doc", ref_docs(store)[0], "--wait", "0.5")[0], 0)

    def test_an_empty_embedding_blob_is_read_without_undefined_behaviour(self):
        db = os.path.join(self.tmp, "s.db")
        self.assertEqual(run("convert", SAMPLE, "sqlite:" + db)[0], 0)
        with sqlite3.connect(db) as c:
            n = c.execute("UPDATE lstore_entries SET value = x'' WHERE rowid = (SELECT min(rowid) FROM lstore_entries "
                          "WHERE typeof(value) = 'blob')").rowcount
        self.assertEqual(n, 1)
        # lstore never packs an empty list, so the BLOB is damage: a clean
        # error naming the file, and no undefined behaviour on the way there.
        for cmd in (["ls", "sqlite:" + db], ["validate", "sqlite:" + db], ["convert", "sqlite:" + db, os.path.join(self.tmp, "o")]):
            rc, _, err = run(*cmd)
            self.assertIn(rc, (1, 3), err)
            self.assertIn("default__vector_store.json", err)
            self.assertNotIn("runtime error", err)

    def test_output_that_cannot_be_written_is_an_error(self):
        with open("/dev/full", "w") as full:
            p = subprocess.run([LSTORE, "ls", SAMPLE, "nodes"], stdout=full, stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 3)
        self.assertIn("standard output", p.stderr.decode())
        # A reader that goes away early ends the command quietly.
        p = subprocess.Popen([LSTORE, "ls", SAMPLE, "nodes", "--format", "ndjson"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        p.stdout.read(1)
        p.stdout.close()
        self.assertEqual(p.wait(timeout=30), 0)
        self.assertEqual(p.stderr.read(), b"")

    def test_put_refuses_embeddings_a_query_could_not_use(self):
        store = self.copy()
        before = files(store)
        for embedding in ("[1, 2]", "[NaN, 0, 0, 0, 0, 0, 0, 1]", "[1e400, 0, 0, 0, 0, 0, 0, 1]"):
            rec = '{"id": "p", "text": "t", "embedding": %s}' % embedding
            p = subprocess.run([LSTORE, "put", store], input=rec.encode(), capture_output=True)
            self.assertEqual(p.returncode, 3, f"{embedding}: {p.stderr.decode()}")
            self.assertIn("embedding", p.stderr.decode())
            self.assertEqual(files(store), before)

    def corrupt(self, store, token):
        """Puts `token` into the metadata of the docstore's third entry."""
        p = os.path.join(store, "docstore.json")
        with open(p) as f:
            s = f.read()
        i = -1
        for _ in range(3):
            i = s.index('"metadata": {', i + 1)
        i += len('"metadata": {')
        with open(p, "w") as f:
            f.write(s[:i] + '"zz": ' + token + (", " if s[i] != "}" else "") + s[i:])

    def test_numbers_json_load_refuses_are_refused_everywhere(self):
        for token in ("1.", "00.5", "01", "+1", ".5", "1" * 4301, "// c"):
            store = self.copy("n")
            self.corrupt(store, token)
            before = files(store)
            rc, out, err = run("validate", store, "--format", "json")
            self.assertNotEqual(rc, 0, f"validate passed {token[:10]}")
            for cmd in (["convert", store, os.path.join(self.tmp, "out")],
                        ["delete", store, "--ref-doc", ref_docs(SAMPLE)[0]],
                        ["put", store, "--collection", "docstore/metadata", "--key", "k", "--value", "{}"]):
                rc, out, err = run(*cmd)
                self.assertEqual(rc, 3, f"{cmd[0]} carried {token[:10]}: {out} {err}")
                self.assertIn("docstore.json", err)
                self.assertEqual(files(store), before)
                self.assertFalse(os.path.exists(os.path.join(self.tmp, "out")))
            shutil.rmtree(store)
        # What json.load does accept still reads.
        store = self.copy("ok")
        self.corrupt(store, "1E400")
        self.assertEqual(run("convert", store, os.path.join(self.tmp, "out"))[0], 0)

    def test_diff_is_linear_in_metadata_keys_and_blind_to_their_order(self):
        a, b = self.copy("a"), self.copy("b")
        for store, changed in ((a, False), (b, True)):
            p = os.path.join(store, "docstore.json")
            with open(p) as f:
                d = json.load(f)
            node = next(iter(d["docstore/data"]))
            md = {f"k{i}": i for i in range(160000)}
            if changed:
                md["k5"] = -1
                md = dict(reversed(list(md.items())))
            d["docstore/data"][node]["__data__"]["metadata"] = md
            with open(p, "w") as f:
                json.dump(d, f)
        # Over 100 s before, about 1 s now: the timeout guards a hang, it times nothing.
        rc, out, err = run("diff", a, b, "--json", timeout=60)
        self.assertEqual(rc, 1, err)
        self.assertEqual(json.loads(out)["changed"]["nodes"], [{"id": node, "fields": ["metadata.k5"]}])

    def test_utf16_and_utf32_store_files_read_as_llamaindex_reads_them(self):
        nodes = node_count(SAMPLE)
        for enc in ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le"):
            store = self.copy(enc)
            p = os.path.join(store, "docstore.json")
            with open(p, encoding="utf-8") as f:
                text = f.read()
            with open(p, "wb") as f:
                f.write(text.encode(enc))
            self.assertEqual(node_count(store), nodes, enc)
            rc, out, err = run("validate", store)
            self.assertEqual(rc, 0, out + err)
            ref = ref_docs(store)[0]
            rc, _, err = run("delete", store, "--ref-doc", ref)
            self.assertEqual(rc, 0, err)
            self.assertIn("written as UTF-8", err)
            with open(p, "rb") as f:
                data = json.loads(f.read().decode("utf-8"))  # now UTF-8, as LlamaIndex writes it
            self.assertNotIn(ref, data["docstore/ref_doc_info"])
            shutil.rmtree(store)

    def test_every_message_names_its_input_once(self):
        store = self.copy()
        p = subprocess.run([LSTORE, "put", store], input=b"", capture_output=True)
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stderr.decode().splitlines()[0], "lstore: put: standard input: no records to put")
        rc, _, err = run("put", store, self.tmp)
        self.assertEqual(rc, 3)
        self.assertIn(f"{self.tmp}: is a directory", err)
        self.assertNotIn("basic_filebuf", err)
        p = subprocess.run([LSTORE, "put", store], input=b'{"id": "a", "text": "t", "embedding": [1]}', capture_output=True)
        self.assertIn("standard input:", p.stderr.decode())
        self.assertIn("(record 1)", p.stderr.decode())
        # An index struct whose __data__ string is not JSON: the file and the entry.
        ix = self.copy("ix")
        p = os.path.join(ix, "index_store.json")
        with open(p) as f:
            d = json.load(f)
        key = next(iter(d["index_store/data"]))
        d["index_store/data"][key]["__data__"] = '{"index_id": "x", bad'
        with open(p, "w") as f:
            json.dump(d, f)
        rc, _, err = run("delete", ix, "--ref-doc", ref_docs(ix)[0])
        self.assertEqual(rc, 3)
        self.assertIn(f"index_store.json: __data__ is not valid JSON", err)
        self.assertIn(f"index_store/data.{key}.__data__", err)
        for args in (["query", store, "--top-k", "-1", "--like", "x"], ["validate", store, "--max", "1e9"]):
            rc, _, err = run(*args)
            self.assertEqual(rc, 2)
            self.assertIn("must be a whole number", err)
            self.assertLess(len(err.splitlines()[0]), 100)

    def test_control_characters_never_reach_the_terminal_raw(self):
        store = self.copy()
        rec = json.dumps({"id": "evil\x1b]0;owned\x07\x1b[2J\u009b31m", "text": "t\x1b[31m\u009dx",
                          "metadata": {"k": "\x1b[1m"}, "embedding": [0.5, 0, 0, 0, 0, 0, 0, 1]})
        p = subprocess.run([LSTORE, "put", store], input=rec.encode(), capture_output=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        for what in ("nodes", "docs", "vectors"):
            rc, out, err = run("ls", store, what)
            self.assertEqual(rc, 0, err)
            self.assertNotIn("\x1b", out + err)
            self.assertNotIn("\u009b", out)
            self.assertNotIn("\u009d", out)
        self.assertIn("evil\\x1b]0;owned", run("ls", store, "nodes")[1])
        # Data formats keep the bytes as they are.
        self.assertIn("evil\x1b]0;owned", "".join(json.loads(l)["id"] for l in run("ls", store, "nodes", "--format", "ndjson")[1].split("\n") if l))

    def test_a_corrupt_byte_in_a_later_entry_is_never_carried(self):
        store = self.copy()
        p = os.path.join(store, "docstore.json")
        with open(p, "rb") as f:
            s = f.read()
        i = s.rindex(b'"text": "') + 12  # inside the last node's text
        with open(p, "wb") as f:
            f.write(s[:i] + b"\x01" + s[i + 1:])
        before = files(store)
        # The place named is the faulty byte itself, where Python's json.load
        # points (not the start of the entry), with the entry's key path.
        with self.assertRaises(json.JSONDecodeError) as python:
            json.loads(files(store)["docstore.json"].decode())
        for cmd in (["convert", store, os.path.join(self.tmp, "out")],
                    ["delete", store, "--ref-doc", ref_docs(SAMPLE)[0]],
                    ["validate", store]):
            rc, out, err = run(*cmd)
            self.assertEqual(rc, 3 if cmd[0] != "validate" else 1, err)
            self.assertIn(f"byte {python.exception.pos}", out + err)
            self.assertIn("docstore/data.", out + err)
            self.assertEqual(files(store), before)


class IoErrorTrialsTest(Base):
    """An I/O error (EIO, ENOSPC) or a SIGKILL at the k-th call of each libc
    function a write makes, as SQLite tests itself: every run leaves the
    old store (exit 3) or the new one (exit 0), and the next writer finds a
    clean store. The quick mode tries the first, second, middle and last call of
    each function; LSTORE_CRASH_TRIALS >= 100 (the README's long mode) tries
    every call."""

    CALLS = ("open", "openat", "read", "pread", "write", "pwrite", "fsync", "rename", "renameat2", "link", "linkat",
             "mkdir", "unlink", "readdir", "copy_file_range", "close")

    def test_every_io_error_leaves_the_old_or_the_new_store(self):
        long_mode = int(os.environ.get("LSTORE_CRASH_TRIALS", "24")) >= 100
        pristine = self.copy("pristine")
        os.makedirs(os.path.join(pristine, "sub"))  # something to carry over
        with open(os.path.join(pristine, "sub", "notes.txt"), "w") as f:
            f.write("notes")
        ref = ref_docs(pristine)[0]
        old = files(pristine)
        counts = os.path.join(self.tmp, "counts")
        work = os.path.join(self.tmp, "w")
        shutil.copytree(pristine, os.path.join(work, "store"))
        rc, _, err = run("delete", os.path.join(work, "store"), "--ref-doc", ref,
                         env={"LD_PRELOAD": PRELOAD, "LSTORE_FAULT_COUNTS": counts})
        self.assertEqual(rc, 0, err)
        new = files(os.path.join(work, "store"))
        with open(counts) as f:
            n = {c: int(k) for c, k in (line.split() for line in f)}
        tally = {"old": 0, "new": 0, "killed": 0}
        for call in self.CALLS:
            ks = range(1, n[call] + 1) if long_mode else sorted({1, 2, (n[call] + 1) // 2, n[call]} & set(range(1, n[call] + 1)))
            for k in ks:
                for errno_name in ("EIO", "ENOSPC", "kill"):
                    shutil.rmtree(work)
                    store = os.path.join(work, "store")
                    shutil.copytree(pristine, store)
                    rc, out, err = run("delete", store, "--ref-doc", ref, fault=f"{call}:{k}:{errno_name}")
                    what = f"{call}:{k}:{errno_name} -> exit {rc}: {err}"
                    self.assertNotIn("runtime error", err, what)
                    state = files(store)
                    if errno_name == "kill":  # SIGKILL just before the call
                        self.assertEqual(rc, -signal.SIGKILL, what)
                        self.assertIn(state, (old, new), what)
                        tally["killed"] += 1
                    else:
                        self.assertIn(rc, (0, 3), what)
                        self.assertEqual(state, new if rc == 0 else old, what)
                        tally["new" if rc == 0 else "old"] += 1
                    # The next writer cleans up whatever was left beside.
                    rc2, _, err2 = run("delete", store, "--ref-doc", ref)
                    self.assertIn(rc2, (0, 1), f"after {what}: {err2}")
                    self.assertEqual(files(store), new, what)
                    self.assertEqual(os.listdir(work), ["store"], what)
        print(f"\nI/O error trials ({'every call' if long_mode else 'sampled calls'}): {tally['old'] + tally['new']} "
              f"errors injected, {tally['old']} refused with the old store intact, {tally['new']} completed; "
              f"{tally['killed']} SIGKILLs at a call, each leaving the old or the new store", file=sys.stderr)


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("runuser"), "needs root (to act as another user) and runuser")
class OwnershipTest(Base):
    """A user's store, written by that user and by root."""

    def setUp(self):
        super().setUp()
        os.chmod(self.tmp, 0o777)
        self.store = self.copy()
        for base, dirs, names in os.walk(self.store):
            for n in dirs + names + [""]:
                os.chown(os.path.join(base, n), 65534, 65534)

    def test_a_read_only_file_is_not_gone_round(self):
        os.chmod(os.path.join(self.store, "docstore.json"), 0o444)
        before = files(self.store)
        p = subprocess.run(["runuser", "-u", "nobody", "--", LSTORE, "delete", self.store, "--ref-doc", ref_docs(self.store)[0]],
                           capture_output=True)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("read-only", p.stderr.decode())
        self.assertEqual(files(self.store), before)

    def test_root_keeps_the_users_ownership_and_leaves_no_lock(self):
        rc, _, err = run("delete", self.store, "--ref-doc", ref_docs(self.store)[0])
        self.assertEqual(rc, 0, err)
        for base, dirs, names in os.walk(self.store):
            for n in dirs + names + [""]:
                st = os.lstat(os.path.join(base, n))
                self.assertEqual((st.st_uid, st.st_gid), (65534, 65534), os.path.join(base, n))
        self.assertEqual(os.listdir(self.tmp), ["store"])
        # And the user can still write it.
        p = subprocess.run(["runuser", "-u", "nobody", "--", LSTORE, "delete", self.store, "--ref-doc", ref_docs(self.store)[0]],
                           capture_output=True)
        self.assertEqual(p.returncode, 0, p.stderr)


if __name__ == "__main__":
    LSTORE = os.path.abspath(sys.argv.pop(1))
    SHIM = os.path.abspath(sys.argv.pop(1))
    PRELOAD = preload_for(LSTORE, SHIM)
    unittest.main(verbosity=2)
