#!/usr/bin/env python3
"""CLI tests of the Redis backend against private redis-server processes
(loopback, free ports, temp dirs; stopped afterwards). Checks the byte-exact
round trip of every store, LlamaIndex's own hash layout (against the goldens
in shared/corpus/backends/redis), reading what LlamaIndex wrote, locking,
passwords never shown, and a server that goes away.
Usage: test_redis.py PATH/TO/lstore"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

from support import (CHAT_010, CHAT_012, CHAT_FIXTURE, CORPUS, KV_012, KV_FIXTURE, ROOT, assert_never_shown, chat_messages,
                     corpus_stores, every_command, every_write, free_port, kv_collections, persist_dir_with_chat, read_bytes,
                     tree, wait_for)

LSTORE = None
SAMPLE = os.path.join(ROOT, "testdata", "sample")
PRETTY = os.path.join(ROOT, "testdata", "pretty")
GEN = os.path.join(ROOT, "bench", "gen_store.py")
REDIS_SERVER = shutil.which("redis-server")
REDIS_CLI = shutil.which("redis-cli")


def run(*args, timeout=300, env=None):
    p = subprocess.run([LSTORE, *args], capture_output=True, timeout=timeout, env=env)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


class Server:
    """A redis-server of our own in a temp dir."""

    def __init__(self, *extra):
        self.dir = tempfile.mkdtemp(prefix="lstore-redis-")
        self.port = free_port()
        self.extra = list(extra)
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir, "--save", "",
             "--daemonize", "no", *self.extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def cli(self, *args, password=None):
        cmd = [REDIS_CLI, "-p", str(self.port)]
        env = dict(os.environ)
        if password:
            env["REDISCLI_AUTH"] = password
        return subprocess.run(cmd + list(args), capture_output=True, env=env, check=True).stdout.decode()

    def uri(self, db=0, query=""):
        return f"redis://127.0.0.1:{self.port}/{db}{query}"


SERVER = None


def setUpModule():
    global SERVER
    if not REDIS_SERVER or not REDIS_CLI:
        print("SKIPPED: redis backend tests (no redis-server: install redis-server)", file=sys.stderr)
        raise unittest.SkipTest("no redis-server")
    SERVER = Server()


def tearDownModule():
    if SERVER:
        SERVER.stop()


class Base(unittest.TestCase):
    db = 1

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lstore-redis-test-")
        SERVER.cli("-n", str(self.db), "FLUSHDB")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def convert(self, *args, expect=0):
        rc, out, err = run("convert", *args)
        self.assertEqual(rc, expect, (args, out, err))
        return out, err

    def keys(self, db=None):
        return sorted(SERVER.cli("-n", str(self.db if db is None else db), "--scan").split())

    def back_file(self, name):
        """The bytes of file `name` of this database's store, converted back into a directory."""
        back = tempfile.mkdtemp(dir=self.tmp)
        os.rmdir(back)
        self.convert(SERVER.uri(self.db), back)
        return read_bytes(os.path.join(back, name))

    def backend_golden(self, name):
        """corpus/backends/redis/NAME.json, or None (said) without the corpus."""
        p = os.path.join(CORPUS, "backends", "redis", name + ".json")
        if not os.path.exists(p):
            print(f"SKIPPED: checks against {p} (no corpus)", file=sys.stderr)
            return None
        with open(p) as f:
            return json.load(f)


class RoundTripTest(Base):
    def test_every_store_round_trips_byte_for_byte(self):
        stores, have_corpus = corpus_stores()
        if not have_corpus:
            print(f"SKIPPED: redis round trips of the corpus (no corpus at {CORPUS}); testdata only", file=sys.stderr)
        for store in stores:
            with self.subTest(store=store):
                back = os.path.join(self.tmp, "back")
                self.convert(store, SERVER.uri(self.db), "--force")
                self.convert(SERVER.uri(self.db), back)
                self.assertEqual(tree(store), tree(back))
                shutil.rmtree(back)

    def test_namespace(self):
        self.convert(SAMPLE, SERVER.uri(self.db, "?namespace=team"))
        keys = self.keys()
        for k in ("team/doc", "team/metadata", "team/ref_doc_info", "team/index", "lstore/team/store"):
            self.assertIn(k, keys)
        self.assertNotIn("docstore/doc", keys)
        back = os.path.join(self.tmp, "back")
        self.convert(SERVER.uri(self.db, "?namespace=team"), back)
        self.assertEqual(tree(SAMPLE), tree(back))
        rc, _, err = run("ls", SERVER.uri(self.db))
        self.assertEqual(rc, 3)
        self.assertIn("no LlamaIndex store here", err)


class LlamaIndexLayoutTest(Base):
    def golden(self, case):
        p = os.path.join(CORPUS, "backends", "redis", case + ".json")
        if not os.path.exists(p):
            print(f"SKIPPED: redis layout check against {p} (no corpus)", file=sys.stderr)
            self.skipTest("no corpus")
        with open(p) as f:
            return json.load(f)

    def test_hashes_are_what_llamaindex_writes(self):
        for case in ("vector", "multi"):
            g = self.golden(case)
            SERVER.cli("-n", str(self.db), "FLUSHDB")
            self.convert(os.path.join(CORPUS, "llamaindex-0.12", case, "persist"), SERVER.uri(self.db))
            native = [k for k in self.keys() if not k.startswith("lstore/")]
            self.assertEqual(sorted(native), sorted(g["keys"]))
            for key, info in g["keys"].items():
                fields = info["fields_sorted"]
                self.assertEqual(int(SERVER.cli("-n", str(self.db), "HLEN", key)), len(fields))
                for field, value in fields.items():
                    stored = subprocess.run([REDIS_CLI, "-p", str(SERVER.port), "-n", str(self.db), "--raw", "HGET", key, field],
                                            capture_output=True, check=True).stdout.decode()[:-1]
                    self.assertEqual(stored, value, (case, key, field))

    def test_reads_what_llamaindex_wrote(self):
        for case in ("vector", "multi"):
            g = self.golden(case)
            SERVER.cli("-n", str(self.db), "FLUSHDB")
            for key, info in g["keys"].items():
                for field, value in info["fields_sorted"].items():
                    subprocess.run([REDIS_CLI, "-p", str(SERVER.port), "-n", str(self.db), "-x", "HSET", key, field],
                                   input=value.encode(), capture_output=True, check=True)
            persist = os.path.join(CORPUS, "llamaindex-0.12", case, "persist")
            for what in ("nodes", "docs", "indexes"):
                a = sorted(run("ls", persist, what, "--format", "ndjson")[1].splitlines())
                rc, out, err = run("ls", SERVER.uri(self.db), what, "--format", "ndjson")
                self.assertEqual(rc, 0, err)
                self.assertEqual(a, sorted(out.splitlines()), (case, what))
            node = json.loads(run("ls", persist, "nodes", "--format", "ndjson")[1].split("\n")[0])["id"]
            from_dir = json.loads(run("get", persist, node, "--json")[1])
            from_dir.pop("vectors")  # LlamaIndex keeps vectors elsewhere; the Redis store has none
            self.assertEqual(from_dir, json.loads(run("get", SERVER.uri(self.db), node, "--json")[1]))


class CommandsTest(Base):
    def test_get_query_validate_diff(self):
        uri = SERVER.uri(self.db)
        self.convert(SAMPLE, uri)
        node = json.loads(run("ls", SAMPLE, "nodes", "--format", "ndjson")[1].split("\n")[0])["id"]
        self.assertEqual(run("get", SAMPLE, node, "--json")[1], run("get", uri, node, "--json")[1])
        self.assertEqual(run("validate", uri)[0], 0)
        q = ["--vector", json.dumps([0.1] * 8), "--top-k", "3", "--json"]
        expected = run("query", SAMPLE, *q)
        self.assertEqual(expected[0], 0, expected[2])
        self.assertEqual(len(json.loads(expected[1])["results"]), 3)
        self.assertEqual(expected[1], run("query", uri, *q)[1])
        self.assertEqual(run("diff", SAMPLE, uri)[0], 0)

    def test_delete_writes_what_it_writes_on_a_directory(self):
        d = os.path.join(self.tmp, "dir")
        shutil.copytree(SAMPLE, d)
        uri = SERVER.uri(self.db)
        self.convert(d, uri)
        ref = json.loads(run("ls", d, "docs", "--format", "ndjson")[1].split("\n")[0])["id"]
        for store in (d, uri):
            rc, _, err = run("delete", store, "--ref-doc", ref)
            self.assertEqual(rc, 0, err)
        back = os.path.join(self.tmp, "back")
        self.convert(uri, back)
        self.assertEqual(tree(d), tree(back))
        self.assertEqual([k for k in self.keys() if "/staging/" in k], [])

    def test_non_empty_target_needs_force(self):
        uri = SERVER.uri(self.db)
        self.convert(SAMPLE, uri)
        _, err = self.convert(os.path.join(ROOT, "testdata", "pretty"), uri, expect=3)
        self.assertIn("not empty", err)
        back = os.path.join(self.tmp, "back")
        self.convert(uri, back)
        self.assertEqual(tree(SAMPLE), tree(back))

    def test_held_lock(self):
        uri = SERVER.uri(self.db)
        self.convert(SAMPLE, uri)
        SERVER.cli("-n", str(self.db), "SET", "lstore/lock", "4242.7", "PX", "60000")
        ref = json.loads(run("ls", SAMPLE, "docs", "--format", "ndjson")[1].split("\n")[0])["id"]
        rc, _, err = run("delete", uri, "--ref-doc", ref)
        self.assertEqual(rc, 3)
        self.assertIn("locked by another writer", err)
        self.assertIn("4242", err)
        SERVER.cli("-n", str(self.db), "DEL", "lstore/lock")
        self.assertEqual(run("delete", uri, "--ref-doc", ref)[0], 0)


class ChatTest(Base):
    """The chat store as LlamaIndex's RedisChatStore keeps it: one list per
    chat key, named by the key, RPUSH'd json.dumps(message.dict())."""

    def lrange(self, key):
        out = subprocess.run([REDIS_CLI, "-p", str(SERVER.port), "-n", str(self.db), "--raw", "LRANGE", key, "0", "-1"],
                             capture_output=True, check=True).stdout.decode()
        return out.splitlines()  # json.dumps escapes every newline inside a message

    def rpush(self, key, *values):
        for v in values:
            subprocess.run([REDIS_CLI, "-p", str(SERVER.port), "-n", str(self.db), "-x", "RPUSH", key],
                           input=v.encode(), capture_output=True, check=True)

    def test_lists_are_what_redischatstore_writes(self):
        chats = [CHAT_FIXTURE] + [p for p in (CHAT_012, CHAT_010) if os.path.exists(p)]
        if len(chats) == 1:
            print("SKIPPED: RedisChatStore lists of the corpus chat stores (no corpus)", file=sys.stderr)
        for chat in chats:
            with self.subTest(chat=chat):
                SERVER.cli("-n", str(self.db), "FLUSHDB")
                self.convert(chat, SERVER.uri(self.db))
                msgs = chat_messages(chat)
                keys = SERVER.cli("-n", str(self.db), "--scan").splitlines()
                self.assertEqual(sorted(k for k in keys if not k.startswith("lstore/")), sorted(msgs))
                for key, m in msgs.items():
                    self.assertEqual(self.lrange(key), [json.dumps(x) for x in m], key)
                self.assertEqual(self.back_file("chat_store.json"), read_bytes(chat))
        g = self.backend_golden("chat")
        if g:
            SERVER.cli("-n", str(self.db), "FLUSHDB")
            self.convert(CHAT_012, SERVER.uri(self.db))
            for key, info in g["keys"].items():
                self.assertEqual(self.lrange(key), info["lrange"], key)
                self.assertEqual(SERVER.cli("-n", str(self.db), "TYPE", key).strip(), info["type"])

    def test_reads_what_llamaindex_wrote(self):
        source = CHAT_012 if os.path.exists(CHAT_012) else CHAT_FIXTURE
        for key, m in sorted(chat_messages(source).items()):
            self.rpush(key, *[json.dumps(x) for x in m])
        self.rpush("jobs", "not a chat message", "{}")  # another program's list: not a chat key
        rc, out, err = run("ls", SERVER.uri(self.db), "chat", "--format", "ndjson")
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(json.loads(line)["id"] for line in out.split("\n") if line), sorted(chat_messages(source)))
        for key in chat_messages(source):
            self.assertEqual(json.loads(run("get", SERVER.uri(self.db), key, "--json")[1]),
                             json.loads(run("get", source, key, "--json")[1]))
        back = os.path.join(self.tmp, "back")
        self.convert(SERVER.uri(self.db), back)
        got = read_bytes(os.path.join(back, "chat_store.json"))
        if list(chat_messages(source)) == sorted(chat_messages(source)):
            self.assertEqual(got, read_bytes(source))  # what SimpleChatStore.persist writes
        self.assertEqual(json.loads(got)["store"], chat_messages(source))
        # A write keeps the other program's list.
        key = sorted(chat_messages(source))[0]
        rc, _, err = run("delete", SERVER.uri(self.db), "--chat", key, "--last")
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.lrange("jobs"), ["not a chat message", "{}"])
        self.assertEqual(len(self.lrange(key)), len(chat_messages(source)[key]) - 1)

    def test_changes_llamaindex_makes_are_seen(self):
        d = persist_dir_with_chat(self.tmp, SAMPLE)
        self.convert(d, SERVER.uri(self.db))
        back = os.path.join(self.tmp, "back")
        self.convert(SERVER.uri(self.db), back)
        self.assertEqual(tree(d), tree(back))
        # What RedisChatStore.add_message and delete_messages do.
        msg = {"role": "user", "additional_kwargs": {}, "blocks": [{"block_type": "text", "text": "noch eine \u00fc"}]}
        self.rpush("bob/session 2", json.dumps(msg))
        SERVER.cli("-n", str(self.db), "DEL", "alice")
        for cmd in (["put", d, "--chat", "bob/session 2", "--message", json.dumps(msg)], ["delete", d, "--chat", "alice"]):
            rc, _, err = run(*cmd)
            self.assertEqual(rc, 0, (cmd, err))
        shutil.rmtree(back)
        self.convert(SERVER.uri(self.db), back)
        self.assertEqual(tree(d), tree(back))


class KvTest(Base):
    """A standalone KV file as LlamaIndex's RedisKVStore keeps it: one hash per
    collection, named by the collection, values json.dumps."""

    def hget(self, key, field):
        return subprocess.run([REDIS_CLI, "-p", str(SERVER.port), "-n", str(self.db), "--raw", "HGET", key, field],
                              capture_output=True, check=True).stdout.decode()[:-1]

    def test_hashes_are_what_rediskvstore_writes(self):
        files = [KV_FIXTURE] + ([KV_012] if os.path.exists(KV_012) else [])
        for kv in files:
            with self.subTest(kv=kv):
                SERVER.cli("-n", str(self.db), "FLUSHDB")
                self.convert(kv, SERVER.uri(self.db))
                for coll, entries in kv_collections(kv).items():
                    self.assertEqual(SERVER.cli("-n", str(self.db), "TYPE", coll).strip(), "hash")
                    self.assertEqual(int(SERVER.cli("-n", str(self.db), "HLEN", coll)), len(entries))
                    for key, value in entries.items():
                        self.assertEqual(self.hget(coll, key), json.dumps(value))
                self.assertEqual(self.back_file("kvstore.json"), read_bytes(kv))
        g = self.backend_golden("kvstore")
        if g:
            SERVER.cli("-n", str(self.db), "FLUSHDB")
            self.convert(KV_012, SERVER.uri(self.db))
            for coll, info in g["keys"].items():
                for field, value in info["fields_sorted"].items():
                    self.assertEqual(self.hget(coll, field), value)

    def test_changes_llamaindex_makes_are_seen(self):
        d = os.path.join(self.tmp, "d")
        os.mkdir(d)
        shutil.copy(KV_FIXTURE, os.path.join(d, "kvstore.json"))
        self.convert(d, SERVER.uri(self.db))
        # What RedisKVStore.put and delete do: HSET and HDEL on the collection's hash.
        subprocess.run([REDIS_CLI, "-p", str(SERVER.port), "-n", str(self.db), "-x", "HSET", "team/a b", "k3"],
                       input=json.dumps({"added": "by llamaindex"}).encode(), capture_output=True, check=True)
        SERVER.cli("-n", str(self.db), "HDEL", "data", "cfg")
        for cmd in (["put", d, "--collection", "team/a b", "--key", "k3", "--value", json.dumps({"added": "by llamaindex"})],
                    ["delete", d, "--collection", "data", "--key", "cfg"]):
            rc, _, err = run(*cmd)
            self.assertEqual(rc, 0, (cmd, err))
        back = os.path.join(self.tmp, "back")
        self.convert(SERVER.uri(self.db), back)
        self.assertEqual(tree(d), tree(back))


class PasswordTest(unittest.TestCase):
    SECRET = "s3cr3t-Pw-never-shown"

    def test_password_is_never_printed(self):
        server = Server("--requirepass", self.SECRET)
        try:
            good = f"redis://:{self.SECRET}@127.0.0.1:{server.port}/0"
            bad = f"redis://:wrong-{self.SECRET}@127.0.0.1:{server.port}/0"
            outputs = []
            for args, env, expect in (
                    (["convert", SAMPLE, good, "--json"], None, 0),
                    (["ls", good], None, 0),
                    (["ls", good, "--json"], None, 0),
                    (["ls", bad], None, 3),
                    (["ls", f"redis://127.0.0.1:{server.port}/0"], dict(os.environ, REDISCLI_AUTH=self.SECRET), 0),
                    (["ls", f"redis://127.0.0.1:{server.port}/0"], dict(os.environ, REDISCLI_AUTH="wrong" + self.SECRET), 3),
                    (["convert", SAMPLE, good], None, 3),  # not empty
                    (["validate", good, "--format", "json"], None, 0),
                    (["ls", f"redis://:{self.SECRET}@127.0.0.1:1/0"], None, 3)):
                rc, out, err = run(*args, env=env)
                self.assertEqual(rc, expect, (args, err))
                outputs.append(out + err)
            for text in outputs:
                self.assertNotIn(self.SECRET, text)
                self.assertNotIn("never-shown", text)
        finally:
            server.stop()


class PasswordEverywhereTest(unittest.TestCase):
    """Every command, in every output format, plainly, with -v and with its
    progress bar on a terminal, against a server that wants a password with
    a raw '@' and ':' in it (the default user's, and a named ACL user's):
    the password is in nothing lstore prints (spec/CLI.md)."""
    SECRET = "Rd@s3cr3t:pw-never-shown"
    PIECES = (SECRET, "s3cr3t", "never-shown")

    def test_every_command(self):
        server = Server("--requirepass", self.SECRET, "--user", "pwuser", "on", ">" + self.SECRET, "~*", "&*", "+@all")
        tmp = tempfile.mkdtemp(prefix="lstore-redis-pw-")
        try:
            for user in ("", "pwuser"):
                with self.subTest(user=user):
                    server.cli("FLUSHALL", password=self.SECRET)
                    base = f"redis://{user}:{self.SECRET}@127.0.0.1:{server.port}"
                    store, findings = base + "/0", base + "/1?namespace=pretty"
                    scratch = os.path.join(tmp, user or "default")
                    check = lambda variant, cases, env=None: assert_never_shown(  # noqa: E731
                        self, LSTORE, self.PIECES, variant, cases, env)
                    check("terminal", [(["convert", SAMPLE, store], None, 0), (["convert", PRETTY, findings], None, 0)])
                    for variant in ("plain", "verbose", "terminal"):
                        shown = check(variant, every_command(LSTORE, store, findings, SAMPLE, os.path.join(scratch, variant)))
                        if variant == "verbose":
                            self.assertIn("lstore: read redis://", shown)  # -v's notes name the store
                        if variant == "terminal":
                            self.assertIn("] 100%", shown)  # the bar was drawn
                            self.assertIn("validate redis://", shown)
                    check("terminal", every_write(LSTORE, store, SAMPLE, scratch))
                    wrong = f"redis://{user}:wrong-{self.SECRET}@127.0.0.1:{server.port}/0"
                    check("plain", [
                        (["ls", wrong], None, 3), (["validate", wrong, "--format", "junit"], None, 3),
                        (["get", f"redis://{user}:{self.SECRET}@127.0.0.1:{free_port()}/0", "x"], None, 3),
                        (["ls", store + "?bogus=1"], None, 2), (["ls", base + "/x"], None, 2),
                        (["diff", SAMPLE, SAMPLE, store], None, 2)])  # a usage error quoting the argument
            # The password from the environment.
            env = dict(os.environ, REDISCLI_AUTH=self.SECRET)
            store, findings = f"redis://127.0.0.1:{server.port}/0", f"redis://127.0.0.1:{server.port}/1?namespace=pretty"
            assert_never_shown(self, LSTORE, self.PIECES, "terminal",
                               every_command(LSTORE, store, findings, SAMPLE, os.path.join(tmp, "env")), env)
        finally:
            server.stop()
            shutil.rmtree(tmp, ignore_errors=True)


class ServerGoneTest(unittest.TestCase):
    def test_unreachable(self):
        port = free_port()
        for args in (["ls", f"redis://127.0.0.1:{port}"], ["convert", SAMPLE, f"redis://127.0.0.1:{port}"]):
            start = time.time()
            rc, out, err = run(*args)
            self.assertEqual(rc, 3, err)
            self.assertEqual(len(err.strip().splitlines()), 1, err)
            self.assertIn("cannot connect to Redis", err)  # the engine named, as mid-command
            self.assertLess(time.time() - start, 10)

    def test_server_killed_during_convert_leaves_the_old_store(self):
        tmp = tempfile.mkdtemp(prefix="lstore-redis-big-")
        server = Server("--appendonly", "yes", "--appendfsync", "always")
        try:
            big = os.path.join(tmp, "big")
            subprocess.run([sys.executable, GEN, big, "--nodes", "6000", "--dim", "64", "--quiet"], check=True)
            uri = server.uri(0)
            self.assertEqual(run("convert", SAMPLE, uri)[0], 0)
            before = int(server.cli("DBSIZE"))
            p = subprocess.Popen([LSTORE, "convert", big, uri, "--force"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            # Once the writer has staged something (its lock key and more),
            # every write is paused: its next one, at the latest the MULTI/EXEC
            # that swaps the staged keys in, waits. Staging keys still there
            # then mean it is stuck mid-write, however loaded the machine.
            wait_for(lambda: p.poll() is not None or int(server.cli("DBSIZE")) > before + 1, "the writer's staging keys")
            server.cli("CLIENT", "PAUSE", "600000", "WRITE")
            staging = server.cli("--scan", "--pattern", "lstore/staging/*").split()
            back = os.path.join(tmp, "back")
            if staging:
                server.kill()
                _, err = p.communicate(timeout=60)
                self.assertEqual(p.returncode, 3, err)
                self.assertEqual(len(err.decode().strip().splitlines()), 1, err)
                self.assertIn("Redis connection lost", err.decode())
                server.start()  # reloads its append-only file
                self.assertEqual(run("convert", uri, back)[0], 0)
                self.assertEqual(tree(SAMPLE), tree(back))
            else:  # the swap was done before the pause: the new store is in
                print("note: the big convert swapped its keys in before the pause", file=sys.stderr)
                server.cli("CLIENT", "UNPAUSE")
                _, err = p.communicate(timeout=60)
                self.assertEqual(p.returncode, 0, err)
                self.assertEqual(run("convert", uri, back)[0], 0)
                self.assertEqual(tree(big), tree(back))
            # The reader is killed once it has sent a command: exit 3 naming
            # Redis and nothing written, or (it was done reading) exit 0 and
            # the whole store written.
            self.assertEqual(run("convert", big, uri, "--force")[0], 0)
            out_dir = os.path.join(tmp, "out")
            p = subprocess.Popen([LSTORE, "convert", uri, out_dir], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            reading = lambda: any(not f.startswith(("cmd=client|list", "cmd=NULL"))  # noqa: E731
                                  for f in server.cli("CLIENT", "LIST").split() if f.startswith("cmd="))
            wait_for(lambda: p.poll() is not None or reading(), "the reader's first command")
            server.kill()
            _, err = p.communicate(timeout=60)
            if p.returncode == 0:
                self.assertEqual(tree(big), tree(out_dir))
            else:
                self.assertEqual(p.returncode, 3, err)
                self.assertEqual(len(err.decode().strip().splitlines()), 1, err)
                self.assertIn("Redis", err.decode())
                self.assertFalse(os.path.exists(out_dir))
        finally:
            server.stop()
            shutil.rmtree(tmp, ignore_errors=True)

if __name__ == "__main__":
    LSTORE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=1)
