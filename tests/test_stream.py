"""Streamed reads (issue #20) answer exactly as the loaded model does: `ls`
(the summary) on every testdata and corpus store, on generated stores whose
collections are too large to be kept whole, and on the odd shapes the stream
hands back to the loaded path (duplicate keys, non-object entries, broken
entries). LSTORE_NO_STREAM=1 forces the loaded path. validate's own new paths are
compared with the old ones the same way (ValidateOldPathsTest)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402

LSTORE = None
ROOT = support.ROOT
# The sanitizer pass (LSTORE_QUICK) generates one layout, not both: the same
# code paths at half the cost.
QUICK_LAYOUTS = ("nodes",) if os.environ.get("LSTORE_QUICK") else ("documents", "nodes")


def run(args, streamed, extra_env=None):
    env = dict(os.environ)
    env.pop("LSTORE_NO_STREAM", None)
    if not streamed:
        env["LSTORE_NO_STREAM"] = "1"
    env.update(extra_env or {})
    p = subprocess.run([LSTORE] + args, capture_output=True, env=env)
    return p.returncode, p.stdout, p.stderr


class StreamedLsTest(unittest.TestCase):
    def same(self, args):
        self.assertEqual(run(args, True), run(args, False), " ".join(args))

    def same_summary(self, store):
        for fmt in ("table", "json", "csv"):
            self.same(["ls", store, "--format", fmt])

    def ids_of(self, store):
        """A few ids the store holds (read by the loaded path), and one it does not."""
        ids = ["no-such-id"]
        for what, n in (("nodes", 3), ("docs", 1), ("vectors", 2), ("indexes", 1)):
            rc, out, _ = run(["ls", store, what, "--format", "json"], False)
            if rc == 0:
                ids += [r["id"] for r in json.loads(out)[:n]]
        return ids

    def same_get(self, store):
        # The stream only finds the entry; the output options are the loaded
        # path's own code, so they are tried on the first id alone.
        for n, i in enumerate(self.ids_of(store)):
            for extra in ([], ["--format", "json"]) + ((["--raw"], ["--field", "text"]) if n == 1 else ()):
                self.same(["get", store, i] + extra)

    def test_get_every_store(self):
        stores, _ = support.corpus_stores()
        for s in stores:
            with self.subTest(store=s):
                self.same_get(s)

    def test_every_store(self):
        stores, _ = support.corpus_stores()
        stores += [os.path.join(support.CORPUS, "wild", d) for d in sorted(support.NOT_STORES)
                   if os.path.isdir(os.path.join(support.CORPUS, "wild", d))]
        stores += [os.path.join(ROOT, "testdata", "chat", "chat_store.json"),
                   os.path.join(ROOT, "testdata", "kv", "kvstore.json")]
        for s in stores:
            with self.subTest(store=s):
                self.same_summary(s)

    def gen(self, tmp, nodes, layout="documents"):
        d = os.path.join(tmp, "gen-%d-%s" % (nodes, layout))
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gen_store.py"), d, "--nodes", str(nodes),
                        "--dim", "4", "--layout", layout, "--quiet"], check=True)
        return d

    def test_large_collections(self):
        with tempfile.TemporaryDirectory() as tmp:
            for layout in QUICK_LAYOUTS:
                d = self.gen(tmp, 1500, layout)
                self.same_summary(d)
                self.same_get(d)
                _, out, _ = run(["ls", d, "--format", "json"], True)
                self.assertEqual(json.loads(out)["docstore"]["nodes"], 1500)

    def edited(self, tmp, name, edit):
        """A generated store with one file rewritten by edit(text) -> text."""
        d = self.gen(tmp, 1200)
        e = os.path.join(tmp, name)
        shutil.copytree(d, e)
        for f in os.listdir(e):
            p = os.path.join(e, f)
            with open(p, encoding="utf-8") as fh:
                text = fh.read()
            new = edit(f, text)
            if new != text:
                with open(p, "w", encoding="utf-8") as fh:
                    fh.write(new)
        return e

    def test_shapes_handed_back(self):
        with tempfile.TemporaryDirectory() as tmp:
            # A duplicate key late in a large collection: LlamaIndex sees the last.
            def dup(f, t):
                if f != "docstore.json":
                    return t
                j = json.loads(t)
                first = next(iter(j["docstore/data"]))
                return t.replace('"docstore/ref_doc_info": {', '"docstore/ref_doc_info": {"%s": {"node_ids": []}, ' % first)
            e = self.edited(tmp, "dup", dup)
            self.same_summary(e)
            self.same_get(e)

            # An embedding of another dimension, late in the file.
            def mixed(f, t):
                if f != "default__vector_store.json":
                    return t
                i = t.rindex("]")
                i = t.rindex("]", 0, i)
                return t[:i] + ", 0.5" + t[i:]
            self.same_summary(self.edited(tmp, "mixed", mixed))

            # A non-object entry late in a large docstore collection, and a
            # truncated file: the loaded path's error, word for word.
            def scalar(f, t):
                return t.replace('"docstore/ref_doc_info": {', '"docstore/ref_doc_info": {"zz": 3, ') if f == "docstore.json" else t
            self.same_summary(self.edited(tmp, "scalar", scalar))

            def cut(f, t):
                return t[: len(t) // 2] if f == "docstore.json" else t
            self.same_summary(self.edited(tmp, "cut", cut))

            def bad_entry(f, t):
                return t.replace('"docstore/ref_doc_info": {', '"docstore/ref_doc_info": {"zz": [1, 2,, 3], ') if f == "docstore.json" else t
            e = self.edited(tmp, "bad", bad_entry)
            self.same_summary(e)
            for i in ("zz", "no-such-id"):
                self.same(["get", e, i])

            # A large KV side file whose last entry is not an object.
            def kv(f, t):
                if f != "docstore.json":
                    return t
                return t
            e = self.edited(tmp, "kv", kv)
            entries = ", ".join('"k%d": {"v": %d}' % (i, i) for i in range(1500))
            with open(os.path.join(e, "extra.json"), "w") as fh:
                fh.write('{"coll": {%s, "last": 7}}' % entries)
            with open(os.path.join(e, "extra_kv.json"), "w") as fh:
                fh.write('{"coll": {%s}}' % entries)
            self.same_summary(e)

    def test_large_index_struct(self):
        """An index store over 1 MiB is read in windows by its own reader
        (src/core/stream_index_store.cpp): the same summary as the loaded
        model, and the same answer where it hands the file back."""
        with tempfile.TemporaryDirectory() as tmp:
            d = self.gen(tmp, 15000, "nodes")
            self.assertGreater(os.path.getsize(os.path.join(d, "index_store.json")), 1 << 20)
            self.same_summary(d)
            self.same_get(d)
            _, out, _ = run(["ls", d, "--format", "json"], True)
            self.assertEqual(json.loads(out)["indexes"][0]["nodes"], 15000)

            def index_store(edit):
                def f(name, t):
                    return edit(t) if name == "index_store.json" else t
                return f
            # A duplicate node id (two entries to count), an escaped one, a
            # non-ASCII byte outside the struct, a list struct, a cut file,
            # a trailing comma inside the struct: each read as the model reads it.
            edits = {
                "dup": lambda t: t.replace('\\"nodes_dict\\": {', '\\"nodes_dict\\": {\\"a\\": \\"a\\", \\"a\\": \\"b\\", ', 1),
                "escaped": lambda t: t.replace('\\"nodes_dict\\": {', '\\"nodes_dict\\": {\\"\\\\u00e9\\": \\"a\\", ', 1),
                "utf8": lambda t: t[:-1] + ', "note": "caf\u00e9"}',
                "list": lambda t: t.replace('"__type__": "vector_store"', '"__type__": "list"', 1).replace('nodes_dict', 'nodes', 1),
                "cut": lambda t: t[: len(t) // 2],
                "comma": lambda t: t.replace('}, \\"doc_id_dict', ',}, \\"doc_id_dict', 1),
            }
            if os.environ.get("LSTORE_QUICK"):  # the sanitizer pass: the reader's own edge cases
                edits = {k: edits[k] for k in ("dup", "escaped", "cut")}
            for name, edit in edits.items():
                with self.subTest(edit=name):
                    e = self.edited_from(d, os.path.join(tmp, name), index_store(edit))
                    self.same_summary(e)

    def edited_from(self, src, dst, edit):
        shutil.copytree(src, dst)
        p = os.path.join(dst, "index_store.json")
        with open(p, encoding="utf-8") as fh:
            text = fh.read()
        new = edit("index_store.json", text)
        self.assertNotEqual(new, text)
        with open(p, "w", encoding="utf-8") as fh:
            fh.write(new)
        return dst


def late_bracket(vector_file_text):
    """The end of an embedding in the last quarter of embedding_dict."""
    end = vector_file_text.index('"text_id_to_ref_doc_id"')
    return vector_file_text.index("]", end * 3 // 4)


class SplitLsTest(unittest.TestCase):
    """ls reads a large file on two cores (outline.cpp's Split) through a
    mapping (mapped_file.hpp): with every file split (LSTORE_SPLIT_BYTES=64),
    mapped or read with pread() (LSTORE_NO_MMAP=1), at the default and a tiny
    window, every summary and get is the loaded path's, byte for byte
    (LSTORE_SPLIT_WAIT=1: the scan from the start waits for the other thread,
    which it would otherwise outrun on a small file)."""

    ENVS = ({"LSTORE_SPLIT_BYTES": "64", "LSTORE_SPLIT_WAIT": "1"},
            {"LSTORE_SPLIT_BYTES": "64", "LSTORE_SPLIT_WAIT": "1", "LSTORE_NO_MMAP": "1"},
            {"LSTORE_SPLIT_BYTES": "64", "LSTORE_STREAM_WINDOW": "64"})

    def same(self, args):
        want = run(args, False)
        for env in self.ENVS:
            self.assertEqual(run(args, True, env), want, " ".join(args) + " " + str(env))

    def test_every_store(self):
        stores, _ = support.corpus_stores()
        for s in stores:
            with self.subTest(store=s):
                self.same(["ls", s, "--format", "json"])

    def test_generated_and_edited(self):
        with tempfile.TemporaryDirectory() as tmp:
            for layout in QUICK_LAYOUTS:
                d = os.path.join(tmp, "gen-" + layout)
                subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gen_store.py"), d, "--nodes", "3000",
                                "--dim", "4", "--layout", layout, "--quiet"], check=True)
                for fmt in ("table", "json"):
                    self.same(["ls", d, "--format", fmt])
                _, out, _ = run(["ls", d, "nodes", "--format", "json"], False)
                for i in [r["id"] for r in json.loads(out)[1500:1503]]:
                    self.same(["get", d, i])
            # Faults in the second half of the large files: the loaded path's answer.
            base = os.path.join(tmp, "gen-" + QUICK_LAYOUTS[0])
            edits = {
                "dup": ("docstore.json", lambda t: t[:t.rindex(', "', 0, len(t) * 3 // 4)] + ', "' +
                        next(iter(json.loads(t)["docstore/data"])) + '": {"x": 1}' + t[t.rindex(', "', 0, len(t) * 3 // 4):]),
                # (in the last quarter of embedding_dict: the nodes layout
                # has no array past a quarter of the file)
                "mixed": ("default__vector_store.json", lambda t: t[:late_bracket(t)] + ", 0.5" + t[late_bracket(t):]),
                "cut": ("default__vector_store.json", lambda t: t[: len(t) * 3 // 4]),
                "bad": ("docstore.json", lambda t: t[:t.index(', "', len(t) * 3 // 4)] + ", 1,, 2" +
                        t[t.index(', "', len(t) * 3 // 4):]),
            }
            for name, (f, edit) in edits.items():
                with self.subTest(edit=name):
                    e = os.path.join(tmp, name)
                    shutil.copytree(base, e)
                    with open(os.path.join(e, f), encoding="utf-8") as fh:
                        text = fh.read()
                    new = edit(text)
                    self.assertNotEqual(new, text)
                    with open(os.path.join(e, f), "w", encoding="utf-8") as fh:
                        fh.write(new)
                    self.same(["ls", e, "--format", "json"])


class ValidateOldPathsTest(unittest.TestCase):
    """validate reads a Python vector_store struct without its DOM, and
    verifying accepts a text over 1 MiB with the strict scanner; with
    LSTORE_NO_STREAM=1 both take the old way (the DOM, simdjson). Every
    report, in two formats, is the same either way."""

    def same_validate(self, store):
        for fmt in ("json", "text"):
            args = ["validate", store, "--format", fmt, "--all"]
            self.assertEqual(run(args, True), run(args, False), " ".join(args))

    def test_every_store_and_rule_fixture(self):
        stores, _ = support.corpus_stores()
        rules = os.path.join(ROOT, "testdata", "rules")
        stores += [os.path.join(rules, d) for d in sorted(os.listdir(rules)) if os.path.isdir(os.path.join(rules, d))]
        for s in stores:
            with self.subTest(store=s):
                self.same_validate(s)

    def test_index_structs(self):
        with tempfile.TemporaryDirectory() as tmp:
            base = os.path.join(tmp, "gen")
            subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gen_store.py"), base, "--nodes", "1200",
                            "--dim", "4", "--quiet"], check=True)
            with open(os.path.join(base, "index_store.json"), encoding="utf-8") as f:
                text = f.read()
            envelope = json.loads(text)
            (struct_id, entry), = envelope["index_store/data"].items()
            data = entry["__data__"]
            nodes = json.loads(data)["nodes_dict"]
            first = next(iter(nodes))

            def with_data(new_data):
                e = json.loads(text)
                e["index_store/data"][struct_id]["__data__"] = new_data
                return json.dumps(e)

            def edit_nodes(fn):
                d = json.loads(data)
                fn(d["nodes_dict"])
                return with_data(json.dumps(d))

            variants = {
                "as-generated": text,
                # ids the docstore lacks (index-dangling-node), nodes left out (node-not-indexed)
                "dangling": edit_nodes(lambda nd: [nd.pop(k) for k in list(nd)[::5]] and nd.update(
                    {"ghost-%d" % i: "ghost-%d" % (i % 2) for i in range(4)})),
                "value-not-a-string": edit_nodes(lambda nd: nd.update({first: [nd[first]]})),
                "duplicate-key": with_data(data.replace('"nodes_dict": {', '"nodes_dict": {"%s": "x", ' % first, 1)),
                "escaped-id": with_data(data.replace('"%s"' % first, '"\\u00%02x%s"' % (ord(first[0]), first[1:]), 1)),
                "data-not-json": with_data(data[:-1]),
                "list-type": text.replace('"__type__": "vector_store"', '"__type__": "list"', 1),
                # over 1 MiB: the scanner accepts it; and one with a bad byte the parser reports
                "large": edit_nodes(lambda nd: nd.update({"pad-%d" % i: "p" * 100 for i in range(12000)})),
                "large-bad": text.replace('{"index_store/data": {', '{"pad": "%s\x01", "index_store/data": {' % ("p" * (1 << 20)), 1),
            }
            for name, new in variants.items():
                with self.subTest(variant=name):
                    d = os.path.join(tmp, name)
                    shutil.copytree(base, d)
                    with open(os.path.join(d, "index_store.json"), "w", encoding="utf-8") as f:
                        f.write(new)
                    self.same_validate(d)
            # the variants do what they are for
            rc, out, _ = run(["validate", os.path.join(tmp, "dangling"), "--format", "json"], True)
            rules = json.loads(out)["summary"]["by_rule"]
            self.assertEqual(rules.get("index-dangling-node"), 2, out)
            self.assertGreater(rules.get("node-not-indexed", 0), 0, out)
            rc, out, _ = run(["validate", os.path.join(tmp, "large-bad"), "--format", "json"], True)
            self.assertIn("parse-error", json.loads(out)["summary"]["by_rule"], out)


if __name__ == "__main__":
    LSTORE = os.path.abspath(sys.argv.pop(1))
    unittest.main()
