#!/usr/bin/env python3
"""CLI tests of the file backends: sqlite:FILE and jsonl:FILE (plain, .zst,
and - for stdin/stdout). Every corpus store goes dir -> backend -> dir and
must come back byte for byte; every command works on a backend store.
Usage: test_backends.py PATH/TO/lstore"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest

from support import (CHAT_012, CHAT_FIXTURE, CORPUS, ROOT, chat_messages, corpus_stores, persist_dir_with_chat, read_bytes,
                     tree)

LSTORE = None
SAMPLE = os.path.join(ROOT, "testdata", "sample")


def run(*args, timeout=300, stdin=None):
    p = subprocess.run([LSTORE, *args], capture_output=True, timeout=timeout, input=stdin)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lstore-backends-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def convert(self, *args, expect=0):
        rc, out, err = run("convert", *args)
        self.assertEqual(rc, expect, (args, out, err))
        return out, err


class RoundTripTest(Base):
    def test_every_store_round_trips_byte_for_byte(self):
        stores, have_corpus = corpus_stores()
        if not have_corpus:
            print(f"SKIPPED: backend round trips of the corpus (no corpus at {CORPUS}); testdata only", file=sys.stderr)
        checked = 0
        for store in stores:
            for target in ("sqlite:" + self.path("s.db"), "jsonl:" + self.path("s.jsonl"),
                           "jsonl:" + self.path("s.jsonl.zst")):
                with self.subTest(store=store, target=target):
                    back = self.path("back")
                    self.convert(store, target, "--force")
                    self.convert(target, back)
                    self.assertEqual(tree(store), tree(back))
                    shutil.rmtree(back)
                    checked += 1
        self.assertGreaterEqual(checked, 3 * len(stores))

    def test_shipped_sqlite_sample_is_the_sample_dir(self):
        back = self.path("back")
        self.convert(os.path.join(ROOT, "testdata", "sample.db"), back)
        self.assertEqual(tree(SAMPLE), tree(back))

    def test_listings_are_the_same_from_every_backend(self):
        db = self.path("s.db")
        self.convert(SAMPLE, "sqlite:" + db)
        for what in ("nodes", "docs", "indexes", "vectors", "collections"):
            a = run("ls", SAMPLE, what, "--format", "ndjson")
            b = run("ls", "sqlite:" + db, what, "--format", "ndjson")
            c = run("ls", db, what, "--format", "ndjson")  # an existing SQLite file needs no scheme
            self.assertEqual(a[0], 0)
            self.assertEqual(a[1], b[1], what)
            self.assertEqual(a[1], c[1], what)

    def test_stdin_and_stdout_streams(self):
        p1 = subprocess.run([LSTORE, "convert", SAMPLE, "jsonl:-"], capture_output=True, check=True)
        first = json.loads(p1.stdout.splitlines()[0])
        self.assertEqual(first["lstore"], 1)
        self.assertEqual(json.loads(p1.stdout.splitlines()[-1])["end"], True)
        back = self.path("back")
        p2 = subprocess.run([LSTORE, "convert", "jsonl:-", back], input=p1.stdout, capture_output=True)
        self.assertEqual(p2.returncode, 0, p2.stderr)
        self.assertEqual(tree(SAMPLE), tree(back))

    def test_embeddings_are_packed_float64(self):
        db = self.path("s.db")
        self.convert(SAMPLE, "sqlite:" + db)
        con = sqlite3.connect(db)
        rows = con.execute("SELECT typeof(value), length(value) FROM lstore_entries "
                           "WHERE file='default__vector_store.json' AND collection='embedding_dict'").fetchall()
        con.close()
        self.assertEqual(len(rows), 12)
        self.assertEqual(set(rows), {("blob", 8 * 8)})  # 12 vectors of 8 float64s

    def test_verify(self):
        out, _ = self.convert(SAMPLE, "sqlite:" + self.path("s.db"), "--verify", "--json")
        self.assertIs(json.loads(out)["verified"], True)


class CommandsOnBackendsTest(Base):
    def test_diff_dir_against_its_copy_is_empty(self):
        db = self.path("s.db")
        self.convert(SAMPLE, "sqlite:" + db)
        rc, out, err = run("diff", SAMPLE, "sqlite:" + db, "--stat")
        self.assertEqual(rc, 0, out + err)

    def test_get_query_validate(self):
        db = "sqlite:" + self.path("s.db")
        self.convert(SAMPLE, db)
        node = json.loads(run("ls", SAMPLE, "nodes", "--format", "ndjson")[1].split("\n")[0])["id"]
        self.assertEqual(run("get", SAMPLE, node, "--json")[1], run("get", db, node, "--json")[1])
        rc, out, err = run("validate", db)
        self.assertEqual(rc, 0, out + err)
        q = ["--vector", json.dumps([0.1] * 8), "--top-k", "3", "--json"]
        expected = run("query", SAMPLE, *q)
        self.assertEqual(expected[0], 0, expected[2])
        self.assertEqual(len(json.loads(expected[1])["results"]), 3)
        self.assertEqual(expected[1], run("query", db, *q)[1])

    def test_delete_and_put_write_what_they_write_on_a_directory(self):
        d = self.path("dir")
        shutil.copytree(SAMPLE, d)
        db = "sqlite:" + self.path("s.db")
        jl = "jsonl:" + self.path("s.jsonl")
        self.convert(d, db)
        self.convert(d, jl)
        ref = json.loads(run("ls", d, "docs", "--format", "ndjson")[1].split("\n")[0])["id"]
        for store in (d, db, jl):
            rc, out, err = run("delete", store, "--ref-doc", ref)
            self.assertEqual(rc, 0, (store, err))
        for store in (db, jl):
            back = self.path("back")
            self.convert(store, back)
            self.assertEqual(tree(d), tree(back), store)
            shutil.rmtree(back)

    def test_backup_of_a_backend_store(self):
        db = "sqlite:" + self.path("s.db")
        self.convert(SAMPLE, db)
        ref = json.loads(run("ls", SAMPLE, "docs", "--format", "ndjson")[1].split("\n")[0])["id"]
        rc, _, err = run("delete", db, "--ref-doc", ref, "--backup", "jsonl:" + self.path("before.jsonl"))
        self.assertEqual(rc, 0, err)
        back = self.path("back")
        self.convert("jsonl:" + self.path("before.jsonl"), back)
        self.assertEqual(tree(SAMPLE), tree(back))


class RefusalTest(Base):
    def test_non_empty_target_needs_force(self):
        db = self.path("s.db")
        self.convert(SAMPLE, "sqlite:" + db)
        before = read_bytes(db)
        _, err = self.convert(os.path.join(ROOT, "testdata", "pretty"), "sqlite:" + db, expect=3)
        self.assertIn("not empty", err)
        self.assertEqual(read_bytes(db), before)
        self.convert(os.path.join(ROOT, "testdata", "pretty"), "sqlite:" + db, "--force")

    def test_foreign_sqlite_database_is_never_replaced(self):
        db = self.path("other.db")
        con = sqlite3.connect(db)
        con.execute("CREATE TABLE t (x)")
        con.commit()
        con.close()
        before = read_bytes(db)
        rc, _, err = run("ls", "sqlite:" + db)
        self.assertEqual(rc, 3)
        self.assertIn("not an lstore store", err)
        _, err = self.convert(SAMPLE, "sqlite:" + db, "--force", expect=3)
        self.assertEqual(read_bytes(db), before)

    def test_corrupt_inputs_fail_with_one_line(self):
        garbage = self.path("garbage.db")
        with open(garbage, "wb") as f:
            f.write(b"SQLite format 3\0" + b"\xff" * 5000)
        cut = self.path("cut.jsonl")
        p = subprocess.run([LSTORE, "convert", SAMPLE, "jsonl:-"], capture_output=True, check=True)
        with open(cut, "wb") as f:
            f.write(b"\n".join(p.stdout.splitlines()[:-3]) + b"\n")
        notjsonl = self.path("x.jsonl")
        with open(notjsonl, "w") as f:
            f.write('{"hello": 1}\n')
        for store, words in (("sqlite:" + garbage, "SQLite"), (garbage, "SQLite"), ("jsonl:" + cut, "cut short"),
                             ("jsonl:" + notjsonl, "not an lstore JSONL"),
                             ("sqlite:" + self.path("missing.db"), "no such file")):
            for cmd in (["ls", store], ["validate", store], ["convert", store, self.path("out")]):
                rc, out, err = run(*cmd)
                self.assertEqual(rc, 3, (cmd, err))
                self.assertEqual(len(err.strip().splitlines()), 1, err)
                self.assertIn(words, err)
                self.assertFalse(os.path.exists(self.path("out")))

    def test_dry_run_writes_nothing(self):
        out, _ = self.convert(SAMPLE, "sqlite:" + self.path("s.db"), "--dry-run")
        self.assertIn("docstore.json", out)
        self.assertEqual(os.listdir(self.tmp), [])


# SQLiteChatStore's table, as SQLAlchemy 2.0 creates it (corpus backends/sqlite/chat.json).
CHAT_DDL = [
    'CREATE TABLE data_chatstore (\n\tid INTEGER NOT NULL, \n\t"key" VARCHAR NOT NULL, \n\tvalue JSON NOT NULL, \n\tPRIMARY KEY (id)\n)',
    "CREATE INDEX ix_data_chatstore_id ON data_chatstore (id)",
    'CREATE INDEX ix_data_chatstore_key ON data_chatstore ("key")',
]


def chat_rows(db):
    with sqlite3.connect(db) as c:
        return c.execute('SELECT id, "key", value FROM data_chatstore ORDER BY id').fetchall()


def chat_ddl(db):
    with sqlite3.connect(db) as c:
        return [r[0] for r in c.execute("SELECT sql FROM sqlite_master WHERE tbl_name = 'data_chatstore' ORDER BY name")]


class ChatSqliteTest(Base):
    """The chat store as LlamaIndex's SQLiteChatStore keeps it: data_chatstore,
    one row per message, value json.dumps(message.model_dump(mode="json"))."""

    def expected_rows(self, chat):
        rows = []
        for key, msgs in chat_messages(chat).items():
            for m in msgs:
                rows.append((len(rows) + 1, key, json.dumps(m)))
        return rows

    def test_rows_are_what_sqlitechatstore_writes(self):
        db = self.path("chat.db")
        self.convert(CHAT_FIXTURE, "sqlite:" + db)
        self.assertEqual(chat_rows(db), self.expected_rows(CHAT_FIXTURE))
        self.assertEqual(chat_ddl(db), CHAT_DDL)
        back = self.path("back")
        self.convert("sqlite:" + db, back)
        self.assertEqual(read_bytes(os.path.join(back, "chat_store.json")), read_bytes(CHAT_FIXTURE))
        golden = os.path.join(CORPUS, "backends", "sqlite", "chat.json")
        if not os.path.exists(golden):
            print("SKIPPED: SQLiteChatStore golden rows (no corpus)", file=sys.stderr)
            return
        with open(golden) as f:
            g = json.load(f)
        db = self.path("corpus.db")
        self.convert(CHAT_012, "sqlite:" + db)
        self.assertEqual(chat_rows(db), [(r["id"], r["key"], r["value"]) for r in g["tables"]["data_chatstore"]["rows"]])
        self.assertEqual(sorted(chat_ddl(db)), sorted(x["sql"] for x in g["sqlite_master"]))

    def test_persist_dir_with_chats_round_trips_and_sees_llamaindex_edits(self):
        d = persist_dir_with_chat(self.tmp, SAMPLE)
        db = self.path("s.db")
        self.convert(d, "sqlite:" + db)
        back = self.path("back")
        self.convert("sqlite:" + db, back)
        self.assertEqual(tree(d), tree(back))
        # What SQLiteChatStore.add_message and delete_messages do to the rows.
        msg = {"role": "user", "additional_kwargs": {}, "blocks": [{"block_type": "text", "text": "neu \u00fc"}]}
        with sqlite3.connect(db) as c:
            c.execute('INSERT INTO data_chatstore ("key", value) VALUES (?, ?)', ("carol", json.dumps(msg)))
            c.execute("DELETE FROM data_chatstore WHERE \"key\" = 'alice'")
        # The same edits made by lstore on the directory.
        for cmd in (["put", d, "--chat", "carol", "--message", json.dumps(msg)], ["delete", d, "--chat", "alice"]):
            rc, out, err = run(*cmd)
            self.assertEqual(rc, 0, (cmd, err))
        shutil.rmtree(back)
        self.convert("sqlite:" + db, back)
        self.assertEqual(tree(d), tree(back))

    def llamaindex_db(self):
        """A database as SQLiteChatStore.from_params(database=...) leaves it."""
        golden = os.path.join(CORPUS, "backends", "sqlite", "chat.sqlite")
        db = self.path("chat.sqlite")
        if os.path.exists(golden):
            shutil.copy(golden, db)
            os.chmod(db, 0o644)
            return db, CHAT_012
        with sqlite3.connect(db) as c:
            for sql in CHAT_DDL:
                c.execute(sql)
            for _, key, value in self.expected_rows(CHAT_FIXTURE):
                c.execute('INSERT INTO data_chatstore ("key", value) VALUES (?, ?)', (key, value))
        return db, CHAT_FIXTURE

    def test_reads_and_edits_sqlitechatstores_own_database(self):
        db, source = self.llamaindex_db()
        for key in chat_messages(source):
            rc, out, err = run("get", db, key, "--json")
            self.assertEqual(rc, 0, err)
            self.assertEqual(json.loads(out), json.loads(run("get", source, key, "--json")[1]))
        back = self.path("back")
        self.convert(db, back)
        self.assertEqual(read_bytes(os.path.join(back, "chat_store.json")), read_bytes(source))
        # Edited in place: the rows change, no lstore table appears.
        key = next(iter(chat_messages(source)))
        before = chat_rows(db)
        rc, _, err = run("put", db, "--chat", key, "--message", '{"role": "user", "content": "one more"}')
        self.assertEqual(rc, 0, err)
        rows = chat_rows(db)
        self.assertEqual(len(rows), len(before) + 1)
        last = [value for _, k, value in rows if k == key][-1]
        self.assertEqual(json.loads(last)["blocks"], [{"block_type": "text", "text": "one more"}])
        with sqlite3.connect(db) as c:
            names = sorted(r[0] for r in c.execute("SELECT name FROM sqlite_master"))
        self.assertEqual(names, ["data_chatstore", "ix_data_chatstore_id", "ix_data_chatstore_key"])

    def test_a_whole_store_is_never_written_into_a_chat_database(self):
        db, _ = self.llamaindex_db()
        before = read_bytes(db)
        rc, _, err = run("convert", SAMPLE, db, "--force")
        self.assertEqual(rc, 3, err)
        self.assertIn("only a chat store", err)
        self.assertEqual(read_bytes(db), before)
        rc, _, err = run("convert", CHAT_FIXTURE, db)
        self.assertEqual(rc, 3, err)
        self.assertIn("not empty", err)
        self.assertEqual(read_bytes(db), before)


if __name__ == "__main__":
    LSTORE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=1)
