#!/usr/bin/env python3
"""CLI tests of chat stores and standalone KV files (FORMAT.md Appendix C2):
lstore's reading equals what LlamaIndex read back (corpus expected.json),
every BaseChatStore operation, KV entries, validate, diff, --upgrade.
Usage: test_chat.py PATH/TO/lstore"""
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
CHAT = os.path.join(CORPUS, "chat-and-kv")

# Made by hand in the 0.12 form, for when the corpus is absent.
OWN_CHAT = ('{"store": {"a": [{"role": "user", "additional_kwargs": {}, "blocks": [{"block_type": "text", "text": "hi"}]}, '
            '{"role": "assistant", "additional_kwargs": {"n": 1}, "blocks": [{"block_type": "text", "text": "hello"}]}]}, '
            '"class_name": "SimpleChatStore"}')


def run(*args, timeout=60):
    p = subprocess.run([LSTORE, *args], capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def read(p):
    with open(p, "rb") as f:
        return f.read()


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lstore-chat-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def corpus(self):
        if not os.path.isdir(CHAT):
            print(f"SKIPPED: chat-and-kv corpus checks (no corpus at {CORPUS})", file=sys.stderr)
            self.skipTest("no corpus")

    def copy(self, src, name):
        dst = os.path.join(self.tmp, name)
        shutil.copy(src, dst)
        return dst

    def own_chat(self):
        p = os.path.join(self.tmp, "chat_store.json")
        with open(p, "w") as f:
            f.write(OWN_CHAT)
        return p

    def ok(self, *args):
        rc, out, err = run(*args)
        self.assertEqual(rc, 0, (args, out, err))
        return out

    def messages(self, store, key):
        return json.loads(self.ok("get", store, key, "--json"))["chat"]


class ReadTest(Base):
    def test_reading_equals_what_llamaindex_read(self):
        self.corpus()
        for era in ("llamaindex-0.10", "llamaindex-0.12"):
            expected = json.loads(read(os.path.join(CHAT, era, "expected.json")))
            store = os.path.join(CHAT, era, "chat_store.json")
            keys = [json.loads(l)["id"] for l in self.ok("ls", store, "chat", "--format", "ndjson").split("\n") if l]
            self.assertEqual(keys, list(expected["chat_store"]))
            for key, msgs in expected["chat_store"].items():
                self.assertEqual(self.messages(store, key), msgs, (era, key))
            kv = os.path.join(CHAT, era, "kvstore.json")
            colls = {json.loads(l)["id"]: json.loads(l)["entries"] for l in self.ok("ls", kv, "collections", "--format", "ndjson").splitlines()}
            self.assertEqual(colls, {c: len(v) for c, v in expected["kvstore"].items()})
            for coll, entries in expected["kvstore"].items():
                for key, value in entries.items():
                    self.assertEqual(json.loads(self.ok("get", kv, key, "--json"))["kv:" + coll], value)

    def test_summary_and_table(self):
        store = self.own_chat()
        out = self.ok("ls", store)
        self.assertIn("1 key, 2 messages (assistant 1, user 1)", out)
        self.assertNotIn("missing", out)
        table = self.ok("get", store, "a")
        self.assertIn("hello", table)
        self.assertIn('{"n":1}', table)
        summary = json.loads(self.ok("ls", store, "--json"))
        self.assertEqual(summary["chat_stores"][0]["messages"], 2)

    def test_chat_store_inside_a_persist_dir(self):
        d = os.path.join(self.tmp, "persist")
        shutil.copytree(os.path.join(ROOT, "testdata", "sample"), d)
        with open(os.path.join(d, "chat_store.json"), "w") as f:
            f.write(OWN_CHAT)
        self.assertIn("chat_store.json (0.12): 1 key, 2 messages", self.ok("ls", d))
        self.assertEqual(self.messages(d, "a")[0]["content"], "hi")
        # and it travels with the store through every file backend, unchanged
        for target in ("sqlite:" + os.path.join(self.tmp, "s.db"), "jsonl:" + os.path.join(self.tmp, "s.jsonl")):
            back = os.path.join(self.tmp, "back")
            self.ok("convert", d, target)
            self.ok("convert", target, back)
            self.assertEqual(read(os.path.join(back, "chat_store.json")), OWN_CHAT.encode())
            shutil.rmtree(back)


class EditTest(Base):
    def test_noop_edits_give_the_same_bytes(self):
        self.corpus()
        for era in ("llamaindex-0.10", "llamaindex-0.12"):
            src = os.path.join(CHAT, era, "chat_store.json")
            store = self.copy(src, era + ".json")
            self.ok("put", store, "--chat", "user-2", "--message", '{"role": "user", "content": "x"}')
            self.assertNotEqual(read(store), read(src))
            self.ok("delete", store, "--chat", "user-2", "--last")
            self.assertEqual(read(store), read(src), era)
            kv = self.copy(os.path.join(CHAT, era, "kvstore.json"), era + "-kv.json")
            self.ok("put", kv, "--collection", "data", "--key", "new", "--value", '{"a": 1}')
            self.ok("delete", kv, "--collection", "data", "--key", "new")
            self.assertEqual(read(kv), read(os.path.join(CHAT, era, "kvstore.json")), era)

    def test_every_operation(self):
        store = self.own_chat()
        # add_message at the end and at a position
        self.ok("put", store, "--chat", "a", "--message", '{"role": "user", "content": "third"}')
        self.ok("put", store, "--chat", "a", "--message", '{"role": "system", "content": "first"}', "--at", "0")
        self.assertEqual([m["content"] for m in self.messages(store, "a")], ["first", "hi", "hello", "third"])
        stored = json.loads(read(store))["store"]["a"][0]
        self.assertEqual(stored, {"role": "system", "additional_kwargs": {}, "blocks": [{"block_type": "text", "text": "first"}]})
        # set_messages on a new key
        self.ok("put", store, "--chat", "b", "--replace", "--message", '{"role": "user", "content": "one"}',
                "--message", '{"role": "assistant", "blocks": []}')
        self.assertEqual([m["content"] for m in self.messages(store, "b")], ["one", None])
        # delete_message, delete_last_message, delete_messages
        self.ok("delete", store, "--chat", "a", "--message", "1")
        self.assertEqual([m["content"] for m in self.messages(store, "a")], ["first", "hello", "third"])
        self.ok("delete", store, "--chat", "a", "--last")
        self.assertEqual([m["content"] for m in self.messages(store, "a")], ["first", "hello"])
        self.ok("delete", store, "--chat", "b")
        self.assertEqual(run("get", store, "b")[0], 1)
        # refusals
        rc, _, err = run("delete", store, "--chat", "nope")
        self.assertEqual(rc, 1, err)
        rc, _, err = run("delete", store, "--chat", "a", "--message", "9")
        self.assertEqual(rc, 1, err)
        before = read(store)
        rc, _, err = run("put", store, "--chat", "a", "--message", "{not json")
        self.assertEqual(rc, 2, err)
        rc, _, err = run("put", store, "--chat", "a", "--message", '{"content": "no role"}')
        self.assertEqual(rc, 2, err)
        self.assertEqual(read(store), before)
        # --dry-run changes nothing
        self.ok("put", store, "--chat", "a", "--message", '{"role": "user", "content": "x"}', "--dry-run")
        self.assertEqual(read(store), before)
        self.assertEqual(run("validate", store)[0], 0)

    def test_0_10_messages_stay_0_10(self):
        self.corpus()
        store = self.copy(os.path.join(CHAT, "llamaindex-0.10", "chat_store.json"), "c.json")
        self.ok("put", store, "--chat", "user-1", "--message", '{"role": "user", "blocks": [{"block_type": "text", "text": "b"}]}')
        inner = json.loads(json.loads(read(store)))
        self.assertEqual(inner["store"]["user-1"][-1], {"role": "user", "content": "b", "additional_kwargs": {}})


class CheckTest(Base):
    def test_validate_finds_bad_messages(self):
        p = os.path.join(self.tmp, "chat_store.json")
        with open(p, "w") as f:
            f.write('{"store": {"k": [{"role": "robot", "additional_kwargs": [], "blocks": [{"block_type": "text"}, '
                    '{"block_type": "hologram"}]}, 7]}, "class_name": "SimpleChatStore"}')
        rc, out, err = run("validate", p, "--json")
        self.assertEqual(rc, 1, err)
        found = json.loads(out)["findings"]
        paths = {f["path"] for f in found if f["rule"] == "chat-store"}
        for want in ("store.k[0].role", "store.k[0].additional_kwargs", "store.k[0].blocks[0].text",
                     "store.k[0].blocks[1]", "store.k[1]"):
            self.assertIn(want, paths)

    def test_diff_per_key(self):
        a = self.own_chat()
        b = self.copy(a, "b.json")
        self.ok("put", b, "--chat", "a", "--message", '{"role": "user", "content": "more"}')
        self.ok("put", b, "--chat", "new", "--message", '{"role": "user", "content": "x"}')
        rc, out, err = run("diff", a, b, "--json")
        self.assertEqual(rc, 1, err)
        d = json.loads(out)
        self.assertEqual(d["added"]["chat"], ["new"])
        self.assertEqual(d["changed"]["chat"][0]["fields"], ["+1 message"])
        self.assertEqual(run("diff", a, a)[0], 0)

    def test_upgrade_0_10_gives_llamaindex_0_12_bytes(self):
        self.corpus()
        out = os.path.join(self.tmp, "up")
        self.ok("convert", os.path.join(CHAT, "llamaindex-0.10", "chat_store.json"), out, "--upgrade")
        self.assertEqual(os.listdir(out), ["chat_store.json"])
        self.assertEqual(read(os.path.join(out, "chat_store.json")), read(os.path.join(CHAT, "llamaindex-0.12", "chat_store.json")))
        rc, _, _ = run("diff", os.path.join(CHAT, "llamaindex-0.10", "chat_store.json"), os.path.join(out, "chat_store.json"))
        self.assertEqual(rc, 0)


if __name__ == "__main__":
    LSTORE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=1)
