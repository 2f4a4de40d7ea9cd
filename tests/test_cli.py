#!/usr/bin/env python3
"""CLI tests: run the built lstore binary on small stores and check stdout,
stderr and the exit code (spec/CLI.md). Usage: test_cli.py PATH/TO/lstore"""
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

from support import NOT_STORES, corpus_dirs

LSTORE = None
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "testdata", "sample")
CORPUS = os.environ.get("LSTORE_CORPUS", os.path.join(ROOT, "..", "shared", "corpus"))


def run(*args, env=None, stdin=None):
    e = dict(os.environ)
    e.pop("NO_COLOR", None)
    if env:
        e.update(env)
    p = subprocess.run([LSTORE, *args], capture_output=True, env=e, timeout=60, input=stdin)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def ndjson(text):
    # Lines end at "\n" only: a text may hold U+2028 or U+0085, which str.splitlines() also splits at.
    return [json.loads(line) for line in text.split("\n") if line.strip()]


class Tmp(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lstore-cli-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def copy_sample(self, name="store"):
        dst = os.path.join(self.tmp, name)
        shutil.copytree(SAMPLE, dst)
        return dst

    def assert_one_error_line(self, err, *needles):
        lines = [l for l in err.splitlines() if l.strip()]
        self.assertTrue(lines and lines[0].startswith("lstore: "), err)
        self.assertLessEqual(len(lines), 2, err)  # the error, and at most a hint
        for n in needles:
            self.assertIn(n, lines[0])


class LsTest(Tmp):
    def test_summary_text(self):
        rc, out, err = run("ls", SAMPLE)
        self.assertEqual(rc, 0, err)
        self.assertEqual(err, "")
        self.assertIn("12 nodes, 4 ref docs, 16 metadata entries", out)
        self.assertIn("vector_store", out)
        self.assertIn("12 x 8", out)

    def test_summary_json_fields(self):
        rc, out, err = run("ls", SAMPLE, "--json")
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(len(lines), 1)
        s = json.loads(lines[0])
        self.assertEqual(s["dialect"], "python")
        self.assertEqual(s["era"], "0.12+")
        self.assertEqual(s["docstore"], {"nodes": 12, "ref_docs": 4, "metadata": 16})
        self.assertEqual([(i["type"], i["nodes"]) for i in s["indexes"]], [("vector_store", 12)])
        vs = {v["namespace"]: v for v in s["vector_stores"]}
        self.assertEqual((vs["default"]["vectors"], vs["default"]["dim"], vs["default"]["metadata"]), (12, 8, True))
        self.assertEqual((vs["image"]["vectors"], vs["image"]["dim"]), (0, None))
        self.assertEqual(s["graph"], {"subjects": 0, "triplets": 0})
        self.assertIsNone(s["property_graph"])
        self.assertEqual(s["problems"], [])

    def test_global_option_before_subcommand(self):
        self.assertEqual(run("--json", "ls", SAMPLE)[1], run("ls", SAMPLE, "--json")[1])

    def test_listings_are_ndjson_with_ids(self):
        expect = {"nodes": 12, "docs": 4, "indexes": 1, "vectors": 12, "graph": 0, "files": 5}
        for what, n in expect.items():
            rc, out, err = run("ls", SAMPLE, what, "--format", "ndjson")
            self.assertEqual(rc, 0, err)
            rows = ndjson(out)
            self.assertEqual(len(rows), n, what)
            for r in rows:
                self.assertIn("id", r)
        rows = ndjson(run("ls", SAMPLE, "vectors", "--format", "ndjson")[1])
        self.assertTrue(all(r["dim"] == 8 and r["namespace"] == "default" for r in rows))
        docs = ndjson(run("ls", SAMPLE, "docs", "--format", "ndjson")[1])
        self.assertEqual(sum(d["nodes"] for d in docs), 12)
        cols = {(r["file"], r["id"]): r["entries"] for r in ndjson(run("ls", SAMPLE, "collections", "--format", "ndjson")[1])}
        self.assertEqual(cols[("docstore.json", "docstore/data")], 12)
        self.assertEqual(cols[("default__vector_store.json", "embedding_dict")], 12)
        self.assertEqual(cols[("image__vector_store.json", "embedding_dict")], 0)

    def test_json_listing_is_one_array(self):
        # --json (= --format json) is exactly one JSON document: the listing's records in one array
        for what in ("nodes", "docs", "graph"):
            rc, out, err = run("ls", SAMPLE, what, "--json")
            self.assertEqual(rc, 0, err)
            self.assertEqual(json.loads(out), ndjson(run("ls", SAMPLE, what, "--format", "ndjson")[1]), what)
        self.assertEqual(json.loads(run("ls", SAMPLE, "graph", "--json")[1]), [])

    def test_table_output(self):
        rc, out, _ = run("ls", SAMPLE, "nodes")
        self.assertEqual(rc, 0)
        self.assertTrue(out.startswith("ID"))
        self.assertEqual(len(out.splitlines()), 13)

    def test_several_stores(self):
        ts = os.path.join(ROOT, "testdata", "ts-basic")
        rc, out, err = run("ls", SAMPLE, ts, "--json")
        self.assertEqual(rc, 0, err)
        summaries = json.loads(out)  # one document: an array of the summaries
        self.assertEqual([s["location"] for s in summaries], [SAMPLE, ts])
        self.assertEqual([s["dialect"] for s in summaries], ["python", "ts"])
        self.assertEqual(ndjson(run("ls", SAMPLE, ts, "--format", "ndjson")[1]), summaries)
        # WHAT after the stores; every record names its store
        for fmt, parse in (("ndjson", ndjson), ("json", json.loads)):
            rc, out, err = run("ls", SAMPLE, ts, "nodes", "--format", fmt)
            self.assertEqual(rc, 0, err)
            rows = parse(out)
            self.assertEqual(sum(r["location"] == SAMPLE for r in rows), 12)
            self.assertEqual(sum(r["location"] == ts for r in rows), 2)
        rows = list(csv.DictReader(io.StringIO(run("ls", SAMPLE, ts, "nodes", "--format", "csv")[1])))
        self.assertEqual([r["location"] for r in rows], [SAMPLE] * 12 + [ts] * 2)
        # one store that cannot be read: its error line, the others listed, exit 3
        missing = os.path.join(self.tmp, "missing")
        rc, out, err = run("ls", SAMPLE, missing, ts, "indexes")
        self.assertEqual(rc, 3)
        self.assertIn(f"lstore: ls: {missing}: cannot open store", err)
        self.assertIn("==> " + ts + " <==", out)
        self.assertIn("idx-1", out)
        # a store among several that fails never prints its password
        secret = "redis://u:s3cr3t-pw@127.0.0.1:1/0"
        for args in (["ls", SAMPLE, secret], ["validate", SAMPLE, secret, "--format", "json"]):
            rc, out, err = run(*args)
            self.assertEqual(rc, 3, err)
            self.assertNotIn("s3cr3t-pw", out + err)
        # a store named like a listing is reached as a path
        rc, out, err = run("ls", SAMPLE, "nodez")
        self.assertEqual(rc, 2)
        self.assertIn("did you mean 'nodes'?", err)

    def test_default_store_is_storage(self):
        shutil.copytree(SAMPLE, os.path.join(self.tmp, "storage"))
        p = subprocess.run([LSTORE, "ls", "--json"], capture_output=True, cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["docstore"]["nodes"], 12)
        p = subprocess.run([LSTORE, "ls", "indexes", "--format", "ndjson"], capture_output=True, cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(ndjson(p.stdout.decode())[0]["type"], "vector_store")
        p = subprocess.run([LSTORE, "ls"], capture_output=True, cwd=os.path.join(self.tmp, "storage"))
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"no ./storage", p.stderr)

    def test_colour(self):
        _, out, _ = run("ls", SAMPLE, "--color", "always")
        self.assertIn("\033[", out)
        _, out, _ = run("ls", SAMPLE, "--color", "never")
        self.assertNotIn("\033[", out)
        _, out, _ = run("ls", SAMPLE, env={"NO_COLOR": "1"})
        self.assertNotIn("\033[", out)

    def test_diagnoses(self):
        store = self.copy_sample()
        os.rename(os.path.join(store, "default__vector_store.json"), os.path.join(store, "vector_store.json"))
        os.remove(os.path.join(store, "image__vector_store.json"))
        with open(os.path.join(store, "big.json"), "w") as f:
            f.write("version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 123\n")
        s = json.loads(run("ls", store, "--json")[1])
        msgs = " | ".join(p["message"] for p in s["problems"])
        self.assertIn("legacy name; LlamaIndex 0.11.3 and later will not load it", msgs)
        self.assertIn("Git LFS pointer", msgs)
        os.remove(os.path.join(store, "docstore.json"))
        s = json.loads(run("ls", store, "--json")[1])
        self.assertTrue(any(p["severity"] == "error" and "docstore.json is missing" in p["message"] for p in s["problems"]))

    def test_faiss_binary_is_recognised(self):
        store = self.copy_sample()
        with open(os.path.join(store, "default__vector_store.json"), "wb") as f:
            f.write(b"IxF2" + (384).to_bytes(4, "little") + (336).to_bytes(8, "little") + b"\0" * 40)
        rc, out, err = run("ls", store, "--json")
        self.assertEqual(rc, 0, err)
        msgs = " | ".join(p["message"] for p in json.loads(out)["problems"])
        self.assertIn("default__vector_store.json is a FAISS binary index (IndexFlatL2 d=384 n=336)", msgs)


class NotAStoreTest(Tmp):
    """Not a store is not a store: every command says so (exit 3) instead of
    answering about an empty store."""

    def test_folders_without_llamaindex_files(self):
        notes = os.path.join(self.tmp, "notes")
        os.makedirs(notes)
        with open(os.path.join(notes, "README.md"), "w") as f:
            f.write("# not a store\n")
        empty = os.path.join(self.tmp, "empty")
        os.makedirs(empty)
        for store, found in ((notes, "README.md"), (empty, "it is empty"), ("/etc", "files and no LlamaIndex file")):
            for args in (["ls", store], ["ls", store, "nodes"], ["get", store, "x"], ["query", store, "--vector", "[1]"],
                         ["diff", store, SAMPLE]):
                rc, out, err = run(*args)
                self.assertEqual(rc, 3, (args, out, err))
                self.assertIn("not a LlamaIndex store", err)
                self.assertIn(found, err)
        rc, out, _ = run("validate", notes, "--json")
        self.assertEqual(rc, 1)
        self.assertEqual([f["rule"] for f in json.loads(out)["findings"]], ["not-a-store"])

    def test_a_store_file_given_alone_has_no_missing_siblings(self):
        rc, out, err = run("ls", os.path.join(SAMPLE, "docstore.json"), "--json")
        self.assertEqual(rc, 0, err)
        rules = [p["rule"] for p in json.loads(out)["problems"]]
        self.assertNotIn("missing-index-store", rules)
        self.assertEqual(json.loads(out)["docstore"]["nodes"], 12)

    def test_notes_beside_a_chat_store_are_notes(self):
        shutil.copy(os.path.join(ROOT, "testdata", "chat", "chat_store.json"), self.tmp)
        for name in (".gitkeep", "notes.txt", "1.txt"):
            open(os.path.join(self.tmp, name), "w").close()
        os.makedirs(os.path.join(self.tmp, "chat_store"))
        rc, out, err = run("ls", self.tmp, "--json")
        self.assertEqual(rc, 0, err)
        problems = json.loads(out)["problems"]
        self.assertEqual({p["rule"] for p in problems}, {"unread-file"}, problems)
        self.assertTrue(all(p["severity"] == "info" for p in problems))
        rc, out, _ = run("validate", self.tmp, "--json")
        self.assertEqual(rc, 0, out)

    def test_a_damaged_file_a_command_needs_is_named(self):
        store = self.copy_sample()
        with open(os.path.join(store, "default__vector_store.json"), "w") as f:
            f.write("version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 123\n")
        rc, out, err = run("query", store, "--vector", "[1, 2]")
        self.assertEqual(rc, 3, err)
        self.assertIn("default__vector_store.json: is a Git LFS pointer to 123 bytes", err)
        self.assertIn("git lfs pull", err)
        # Not needed: the answer comes with one warning naming the file.
        rc, out, err = run("ls", store, "nodes")
        self.assertEqual(rc, 0, err)
        self.assertIn("warning: default__vector_store.json is a Git LFS pointer", err)
        # get cannot say "not found" when a file it would look in is unreadable.
        with open(os.path.join(store, "docstore.json"), "w") as f:
            f.write("version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 9\n")
        rc, out, err = run("get", store, "no-such-id")
        self.assertEqual(rc, 3, err)
        self.assertIn("cannot tell whether 'no-such-id' is there: default__vector_store.json", err)


class GetTest(Tmp):
    def node_id(self):
        return ndjson(run("ls", SAMPLE, "nodes", "--format", "ndjson")[1])[0]["id"]

    def test_get_field_paths(self):
        nid = self.node_id()
        node = json.load(open(os.path.join(SAMPLE, "docstore.json")))["docstore/data"][nid]["__data__"]
        meta = json.load(open(os.path.join(SAMPLE, "docstore.json")))["docstore/metadata"][nid]
        for field, want in (("metadata.author", node["metadata"]["author"]),
                            ("metadata.tags.0", node["metadata"]["tags"][0]),
                            ("relationships.1.node_id", node["relationships"]["1"]["node_id"]),
                            ("hash", meta["doc_hash"])):  # 0.12 keeps the hash in docstore/metadata only
            rc, out, err = run("get", SAMPLE, nid, "--field", field)
            self.assertEqual((rc, out), (0, want + "\n"), (field, err))
        rc, out, _ = run("get", SAMPLE, nid, "--field", "metadata.year", "--json")
        self.assertEqual(json.loads(out), node["metadata"]["year"])
        for missing in ("relationships.9", "metadata.tags.7", "metadata.author.x", "nope"):
            rc, out, err = run("get", SAMPLE, nid, "--field", missing)
            self.assertEqual((rc, out), (1, ""), missing)
            self.assertIn(f"has no field '{missing}'", err)

    def test_get_node_everything(self):
        nid = self.node_id()
        rc, out, err = run("get", SAMPLE, nid, "--json")
        self.assertEqual(rc, 0, err)
        g = json.loads(out)
        self.assertEqual(g["id"], nid)
        self.assertEqual(g["node"]["__data__"]["id_"], nid)
        self.assertIn("doc_hash", g["metadata"])
        self.assertEqual(len(g["vectors"][0]["embedding"]), 8)
        self.assertEqual(g["vectors"][0]["namespace"], "default")

    def test_fields_and_raw(self):
        nid = self.node_id()
        rc, text, _ = run("get", SAMPLE, nid, "--field", "text")
        self.assertEqual(rc, 0)
        data = json.loads(run("get", SAMPLE, nid, "--json")[1])["node"]["__data__"]
        self.assertEqual(text, data["text"] + "\n")
        rc, out, _ = run("get", SAMPLE, nid, "--field", "embedding")
        self.assertEqual(len(json.loads(out)), 8)
        rc, raw, _ = run("get", SAMPLE, nid, "--raw")
        first = raw.splitlines()[0]
        with open(os.path.join(SAMPLE, "docstore.json"), encoding="ascii") as f:
            self.assertIn(first, f.read())

    def test_missing_id_is_exit_1(self):
        rc, out, err = run("get", SAMPLE, "no-such-id")
        self.assertEqual(rc, 1)
        self.assertEqual(out, "")
        self.assert_one_error_line(err, "lstore: get:", "no-such-id")


class ErrorsTest(Tmp):
    def test_usage_errors_exit_2(self):
        # (ls SAMPLE bogus names a second store, which cannot be opened: exit 3)
        for args in ([], ["ls", SAMPLE, "nodez"], ["frobnicate"], ["ls", SAMPLE, "--nope"]):
            rc, out, err = run(*args)
            self.assertEqual(rc, 2, (args, err))
            self.assertEqual(out, "")
            self.assertTrue(err.startswith("lstore: "), err)

    def test_missing_store_exit_3(self):
        rc, out, err = run("ls", os.path.join(self.tmp, "nope"))
        self.assertEqual(rc, 3)
        self.assert_one_error_line(err, "lstore: ls:", "nope")

    def test_truncated_file_names_file_and_place(self):
        store = self.copy_sample()
        path = os.path.join(store, "docstore.json")
        with open(path, "rb") as f:
            data = f.read()
        for cut in (len(data) // 2, len(data) - 1, 1):
            with open(path, "wb") as f:
                f.write(data[:cut])
            rc, out, err = run("ls", store)
            self.assertEqual(rc, 3, err)
            self.assertEqual(out, "")
            self.assert_one_error_line(err, "docstore.json", "line 1, column")

    def test_not_json_store_file(self):
        store = self.copy_sample()
        with open(os.path.join(store, "index_store.json"), "w") as f:
            f.write('{"index_store/data": {"x": {"__type__": "vector_store", "__data__": "{not json"}}}')
        rc, _, err = run("ls", store)
        self.assertEqual(rc, 3)
        self.assert_one_error_line(err, "index_store.json", "__data__")

    def test_version_and_help(self):
        rc, out, _ = run("--version")
        self.assertEqual(rc, 0)
        self.assertRegex(out, r"lstore \d+\.\d+\.\d+")
        self.assertIn("backends: dir", out)
        rc, out, _ = run("--help")
        self.assertEqual(rc, 0)
        for opt in ("--json", "--color", "--quiet", "--verbose", "--version"):
            self.assertIn(opt, out)
        for sub in ("ls", "get", "convert"):
            rc, out, _ = run(sub, "--help")
            self.assertEqual(rc, 0)
            self.assertIn(f"lstore {sub}", out)


class ConvertTest(Tmp):
    def files(self, d):
        out = {}
        for root, _, names in os.walk(d):
            for n in names:
                p = os.path.join(root, n)
                with open(p, "rb") as f:
                    out[os.path.relpath(p, d)] = f.read()
        return out

    def test_round_trip_is_byte_identical(self):
        dst = os.path.join(self.tmp, "out")
        rc, out, err = run("convert", SAMPLE, dst)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.files(dst), self.files(SAMPLE))

    def test_refuses_non_empty_target_without_force(self):
        dst = os.path.join(self.tmp, "out")
        os.makedirs(dst)
        with open(os.path.join(dst, "keep.txt"), "w") as f:
            f.write("mine")
        rc, _, err = run("convert", SAMPLE, dst)
        self.assertEqual(rc, 3)
        self.assert_one_error_line(err, "not empty")
        self.assertEqual(os.listdir(dst), ["keep.txt"])
        rc, _, err = run("convert", SAMPLE, dst, "--force")
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.files(dst), self.files(SAMPLE))
        self.assertFalse([n for n in os.listdir(self.tmp) if "lstore-" in n])  # no staging left

    def test_dry_run_writes_nothing(self):
        dst = os.path.join(self.tmp, "out")
        rc, out, _ = run("convert", SAMPLE, dst, "--dry-run")
        self.assertEqual(rc, 0)
        self.assertIn("docstore.json", out)
        self.assertFalse(os.path.exists(dst))

    def test_failed_convert_leaves_target(self):
        src = self.copy_sample("src")
        with open(os.path.join(src, "docstore.json"), "w") as f:
            f.write('{"docstore/data": {')
        dst = os.path.join(self.tmp, "out")
        rc, _, _ = run("convert", src, dst)
        self.assertEqual(rc, 3)
        self.assertFalse(os.path.exists(dst))


class DiffTest(Tmp):
    def test_equal_is_exit_0_and_a_change_exit_1(self):
        rc, out, err = run("diff", SAMPLE, SAMPLE, "--json")
        self.assertEqual(rc, 0, err)
        d = json.loads(out)
        self.assertTrue(d["equal"])
        for key in ("added", "removed", "changed"):
            self.assertIn(key, d)
        store = self.copy_sample()
        path = os.path.join(store, "docstore.json")
        with open(path) as f:
            doc = json.load(f)
        first = next(iter(doc["docstore/data"]))
        doc["docstore/data"][first]["__data__"]["text"] = "new text"
        with open(path, "w") as f:
            json.dump(doc, f)
        rc, out, _ = run("diff", SAMPLE, store, "--json")
        self.assertEqual(rc, 1)
        d = json.loads(out)
        self.assertFalse(d["equal"])
        self.assertEqual(d["changed"]["nodes"][0]["id"], first)
        self.assertIn("text", d["changed"]["nodes"][0]["fields"])
        rc, out, _ = run("diff", SAMPLE, store, "--stat")
        self.assertEqual(rc, 1)
        self.assertRegex(out, r"nodes\s+\+0\s+-0\s+~1")
        rc, out, _ = run("diff", SAMPLE, store, "--text")
        self.assertIn("+new text", out)
        self.assertIn("@@", out)

    def test_bad_store_is_exit_3(self):
        self.assertEqual(run("diff", SAMPLE, os.path.join(self.tmp, "nope"))[0], 3)


class FinishTest(Tmp):
    def test_did_you_mean(self):
        cases = [(["lss", SAMPLE], "did you mean 'ls'?"), (["ls", SAMPLE, "--jsno"], "did you mean '--json'?"),
                 (["validate", SAMPLE, "--fail-of", "error"], "did you mean '--fail-on'?"),
                 (["ls", "--format", "csv", SAMPLE, "nodez"], "did you mean 'nodes'?"),
                 (["--format", "csv", "lss", SAMPLE], "unknown command 'lss'\nhint: did you mean 'ls'?")]
        for args, hint in cases:
            rc, out, err = run(*args)
            self.assertEqual(rc, 2)
            self.assertEqual(out, "")
            self.assertIn(hint, err)

    def test_parser_messages(self):
        # lstore alone: the usage on stderr, a usage error
        rc, out, err = run()
        self.assertEqual((rc, out), (2, ""))
        self.assertIn("Usage: lstore", err)
        self.assertIn("Subcommands:", err)
        # lstore help [CMD]: what --help prints
        rc, out, _ = run("help")
        self.assertEqual(rc, 0)
        self.assertIn("Subcommands:", out)
        rc, out, _ = run("help", "query")
        self.assertEqual((rc, out), (0, run("query", "--help")[1]))
        rc, out, err = run("help", "lss")
        self.assertEqual((rc, out), (2, ""))
        self.assertIn("unknown command 'lss'\nhint: did you mean 'ls'?", err)
        # an unknown option is named, not the word after it
        rc, out, err = run("ls", SAMPLE, "--output", "F")
        self.assertEqual((rc, out), (2, ""))
        self.assertIn("lstore: ls: unknown option '--output'", err)
        self.assertNotIn("not in", err)
        # no doubled prefixes
        for args in (["validate"], ["delete", SAMPLE], ["query", SAMPLE]):
            rc, _, err = run(*args)
            self.assertEqual(rc, 2)
            self.assertNotRegex(err, r"lstore: (\w+): \1:", args)

    def test_completions_cover_the_command_tree(self):
        rc, script, _ = run("completion", "bash")
        self.assertEqual(rc, 0)
        self.assertEqual(subprocess.run(["bash", "-n"], input=script.encode()).returncode, 0)
        for sub in ("ls", "get", "query", "validate", "diff", "delete", "put", "convert", "completion", "repair"):
            self.assertIn(sub, script)
            help_text = run(sub, "--help")[1]
            for opt in set(re.findall(r"(--[a-z][a-z-]+)", help_text)):
                self.assertIn(opt, script, f"{opt} of {sub}")
        self.assertIn("collections", script)
        rc, fish, _ = run("completion", "fish")
        self.assertIn("-n '__fish_seen_subcommand_from query' -l top-k", fish)
        self.assertIn("chat", script)  # every ls WHAT value, from the same list as the check
        self.assertIn('*:--format) vals="table json ndjson csv tsv"', script)
        self.assertIn('validate:--format) vals="text table json ndjson csv tsv github junit sarif"', script)
        rc, zsh, _ = run("completion", "zsh")
        self.assertTrue(zsh.startswith("#compdef lstore\n"))  # what autoloading from $fpath needs
        self.assertIn("ls) opts=(", zsh)
        if shutil.which("zsh"):
            self.assertEqual(subprocess.run(["zsh", "-n"], input=zsh.encode()).returncode, 0)
        else:
            print("SKIPPED: zsh -n on the zsh completion (no zsh)", file=sys.stderr)
        self.assertEqual(run("completion", "tcsh")[0], 2)


class ProgressTest(unittest.TestCase):
    def test_progress_only_on_a_terminal_with_a_summary(self):
        if not shutil.which("script"):
            self.skipTest("no script(1) for a terminal")
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, LSTORE_PROGRESS_DELAY="0")
            for cmd, label in ((["convert", SAMPLE, "sqlite:" + os.path.join(tmp, "a.db")], "convert"),
                               (["validate", SAMPLE], "validate " + SAMPLE),
                               (["query", SAMPLE, "--like", "e322713a-b21f-5f09-b933-d5c377b3eaee"], "query")):
                line = " ".join(cmd)
                p = subprocess.run(["script", "-qec", f"{LSTORE} {line}", "/dev/null"], capture_output=True, env=env,
                                   timeout=60)
                screen = p.stdout.decode().replace("\r", "\n")
                self.assertIn(label + " [", screen)  # the bar
                self.assertRegex(screen, re.escape(label) + r": [0-9.]+ (B|KiB|MiB) in [0-9.]+ s \(")  # the summary
                # stderr not a terminal: nothing but errors there.
                p = subprocess.run(["script", "-qec", f"{LSTORE} {line} --force 2>{tmp}/err" if cmd[0] == "convert"
                                    else f"{LSTORE} {line} 2>{tmp}/err", "/dev/null"], capture_output=True, env=env, timeout=60)
                with open(os.path.join(tmp, "err")) as f:
                    self.assertEqual(f.read(), "")
            # -q: no bar even on a terminal.
            p = subprocess.run(["script", "-qec", f"{LSTORE} -q validate {SAMPLE}", "/dev/null"], capture_output=True,
                               env=env, timeout=60)
            self.assertNotIn("validate " + SAMPLE + " [", p.stdout.decode())

    def test_verbose_says_what_was_read(self):
        rc, out, err = run("-v", "ls", SAMPLE, "--json")
        self.assertEqual(rc, 0)
        json.loads(out)  # stdout still only data
        self.assertRegex(err, r"lstore: read .*sample: 5 files, [0-9.]+ KiB, Python dialect, LlamaIndex 0\.12\+, in ")
        self.assertIn("lstore: ls: exit 0 after", err)
        self.assertEqual(run("ls", SAMPLE)[2], "")


class ManPagesTest(unittest.TestCase):
    def test_every_option_in_help_is_in_the_man_page(self):
        for sub in ("", "ls", "get", "convert", "delete", "put", "validate", "diff", "query", "completion", "repair"):
            page = os.path.join(ROOT, "man", f"lstore-{sub}.1" if sub else "lstore.1")
            self.assertTrue(os.path.exists(page), page)
            with open(page) as f:
                text = f.read().replace("\\-", "-")
            help_text = run(*([sub] if sub else []), "--help")[1]
            for opt in set(re.findall(r"(--[a-z][a-z-]+)", help_text)):
                self.assertIn(opt, text, f"{opt} of 'lstore {sub}' is not in {page}")

    def test_every_option_in_a_man_page_is_in_help(self):
        """The other way round: an option a page's OPTIONS section documents
        exists in that command's --help, or is one of lstore's global options."""
        global_help = run("--help")[1]
        for sub in ("", "ls", "get", "convert", "delete", "put", "validate", "diff", "query", "completion", "repair"):
            page = os.path.join(ROOT, "man", f"lstore-{sub}.1" if sub else "lstore.1")
            with open(page) as f:
                text = f.read().replace("\\-", "-")
            head = "\n.SH GLOBAL OPTIONS" if not sub else "\n.SH OPTIONS"
            options = text.split(head, 1)[1].split("\n.SH ", 1)[0] if head in text else ""
            documented = set(re.findall(r"^\.B[IR]? (--[a-z][a-z-]+)", options, re.M)) | set(
                re.findall(r"^\.B[IR]? -[a-z], (--[a-z][a-z-]+)", options, re.M))
            self.assertTrue(documented or sub == "completion", page)
            help_text = run(*([sub] if sub else []), "--help")[1]
            for opt in documented:
                self.assertTrue(re.search(re.escape(opt) + r"\b", help_text) or re.search(re.escape(opt) + r"\b", global_help),
                                f"{page} documents {opt}, which 'lstore {sub} --help' does not have")


    def test_every_kind_of_store_is_in_help_and_the_man_page(self):
        """lstore --help lists the stores from the backend table (registry.cpp);
        each of them is in lstore(1)'s STORES section, and both list the same ones."""
        help_text = run("--help")[1]
        self.assertIn("Stores (every command takes any of these):", help_text)
        listed = help_text.split("Stores (every command takes any of these):", 1)[1]
        schemes = re.findall(r"^  ([a-z]+:(?://)?|DIR)", listed, re.M)
        self.assertEqual(schemes, ["DIR", "sqlite:", "jsonl:", "redis://", "postgresql://"])
        with open(os.path.join(ROOT, "man", "lstore.1")) as f:
            section = f.read().split("\n.SH STORES", 1)[1].split("\n.SH ", 1)[0]
        documented = re.findall(r"^\.BI? ?([a-z]+:(?://)?|DIR)|^\.I (DIR)", section, re.M)
        self.assertEqual([a or b for a, b in documented], schemes)


class FormatTest(unittest.TestCase):
    def test_csv_tsv_ndjson(self):
        rows = list(csv.reader(io.StringIO(run("ls", SAMPLE, "nodes", "--format", "csv")[1])))
        self.assertEqual(rows[0], ["id", "type", "class", "ref_doc_id", "hash", "text_chars", "text"])  # the JSON keys
        self.assertEqual(len(rows), 13)
        listing = json.loads(run("ls", SAMPLE, "nodes", "--json")[1])
        self.assertEqual([r[0] for r in rows[1:]], [r["id"] for r in listing])
        self.assertEqual([int(r[5]) for r in rows[1:]], [r["text_chars"] for r in listing])  # typed, not "12 chars"
        tsv = run("--format", "tsv", "ls", SAMPLE, "docs")[1].splitlines()
        self.assertEqual(tsv[0].split("\t"), ["id", "nodes", "node_ids"])
        self.assertTrue(all(len(l.split("\t")) == 3 for l in tsv))
        self.assertEqual(json.loads(tsv[1].split("\t")[2]), json.loads(run("ls", SAMPLE, "docs", "--json")[1])[0]["node_ids"])
        # the summary: one record whose header is the summary's JSON keys, counts as numbers, no prose
        summary = list(csv.DictReader(io.StringIO(run("ls", SAMPLE, "--format", "csv")[1])))
        self.assertEqual(len(summary), 1)
        self.assertEqual(json.loads(summary[0]["docstore"]), {"nodes": 12, "ref_docs": 4, "metadata": 16})
        self.assertEqual(summary[0]["dialect"], "python")
        self.assertNotIn("\033", run("ls", SAMPLE, "nodes", "--format", "csv", "--color", "always")[1])
        self.assertEqual(run("ls", SAMPLE, "--format", "xml")[0], 2)

    def test_every_command_writes_records_in_csv(self):
        def records(*args):
            rc, out, err = run(*args)
            self.assertIn(rc, (0, 1), (args, err))
            rows = list(csv.reader(io.StringIO(out)))
            self.assertTrue(rows and all(len(r) == len(rows[0]) for r in rows), (args, out))
            return rows

        node = json.loads(run("ls", SAMPLE, "nodes", "--json")[1])[0]["id"]
        ref = json.loads(run("ls", SAMPLE, "docs", "--json")[1])[0]["id"]
        rows = records("get", SAMPLE, node, "--format", "csv")
        self.assertEqual(rows[0], ["part", "path", "value"])
        self.assertIn(["node", "__data__.id_", node], rows)
        text = json.loads(run("get", SAMPLE, node, "--json")[1])["node"]["__data__"]["text"]
        self.assertIn(["node", "__data__.text", text], rows)  # whole, not a preview
        self.assertEqual(records("ls", SAMPLE, "nodes", "--format", "csv")[1][6], text)
        rows = records("delete", SAMPLE, "--ref-doc", ref, "--dry-run", "--format", "csv")
        self.assertEqual(rows[0], ["action", "part", "id"])
        self.assertIn(["would remove", "docstore.json:docstore/ref_doc_info", ref], rows)
        legacy = os.path.join(ROOT, "testdata", "legacy-0.6")
        header = ["rule", "severity", "store", "file", "path", "message", "fixable"]
        for args in (["validate", legacy, "--format", "csv"], ["--format", "csv", "validate", legacy]):
            rows = records(*args)
            self.assertEqual(rows[0], header)
            self.assertIn("legacy-vector-store-name", [r[0] for r in rows[1:]])
            self.assertTrue(all(r[6] in ("true", "false") for r in rows[1:]))
        self.assertEqual(run("validate", legacy, "--format", "tsv")[1].splitlines()[0].split("\t"), header)
        with tempfile.TemporaryDirectory() as tmp:
            b = os.path.join(tmp, "b")
            shutil.copytree(SAMPLE, b)
            self.assertEqual(run("delete", b, "--ref-doc", ref)[0], 0)
            rows = list(csv.DictReader(io.StringIO(run("diff", SAMPLE, b, "--format", "csv")[1])))
            self.assertIn(("ref_docs", "removed", ref, "[]"), [(r["part"], r["change"], r["id"], r["fields"]) for r in rows])

    def test_tsv_escapes_tabs_and_line_breaks(self):
        with tempfile.TemporaryDirectory() as tmp:
            store = os.path.join(tmp, "s")
            shutil.copytree(SAMPLE, store)
            node = {"id": "tabbed", "text": "a\tb\nc\\d", "ref_doc_id": "d1", "embedding": [0.5] * 8}
            self.assertEqual(run("put", store, stdin=json.dumps(node).encode())[0], 0)
            lines = run("ls", store, "nodes", "--format", "tsv")[1].splitlines()
            self.assertEqual(len(lines), 14)  # one line per record: the line break is escaped
            row = [l for l in lines if l.startswith("tabbed\t")][0].split("\t")
            self.assertEqual(row[6], "a\\tb\\nc\\\\d")
            rows = list(csv.DictReader(io.StringIO(run("ls", store, "nodes", "--format", "csv")[1])))
            self.assertEqual([r["text"] for r in rows if r["id"] == "tabbed"], ["a\tb\nc\\d"])

    def test_tables_fit_the_terminal_and_never_cut_ids(self):
        if not shutil.which("script"):
            self.skipTest("no script(1) for a terminal")
        ids = [r["id"] for r in ndjson(run("ls", SAMPLE, "nodes", "--format", "ndjson")[1])]
        for cols in (50, 72, 120):
            p = subprocess.run(["script", "-qec", f"{LSTORE} ls {SAMPLE} nodes --color never", "/dev/null"],
                               capture_output=True, env=dict(os.environ, COLUMNS=str(cols)), timeout=60)
            text = p.stdout.decode().replace("\r", "")
            lines = [l for l in text.splitlines() if l]
            self.assertEqual(len(lines), 13, p.stdout)
            # ids are never cut (they are copied into the next command); texts are, and marked
            for i in ids:
                self.assertIn(i, text)
            self.assertTrue(any("\u2026" in l for l in lines))
            if cols >= 120:  # wide enough for the ids: the table fits
                self.assertTrue(all(len(l) <= cols for l in lines), (cols, lines))


class CorpusTest(unittest.TestCase):
    def test_ls_runs_on_every_corpus_store(self):
        if not os.path.isdir(os.path.join(CORPUS, "llamaindex-0.12")):
            print(f"SKIPPED: corpus CLI test (no corpus at {CORPUS})", file=sys.stderr)
            self.skipTest("no corpus")
        stores = corpus_dirs(with_not_stores=True)
        self.assertGreater(len(stores), 50)
        if os.environ.get("LSTORE_QUICK"):  # the sanitizer pass: every third store
            stores = stores[::3]
        for s in stores:
            for what in ([], ["nodes"], ["docs"], ["indexes"], ["vectors"], ["graph"], ["collections"], ["files"]):
                rc, out, err = run("ls", s, *what, "--format", "ndjson")
                if os.path.basename(s) in NOT_STORES:  # INDEX.md's negative samples (LangChain.js, networkx)
                    self.assertEqual((rc, out), (3, ""), (s, what, err))
                    self.assertIn("not a LlamaIndex store", err)
                    continue
                self.assertEqual(rc, 0, (s, what, err))
                ndjson(out)
                self.assertEqual(type(json.loads(run("ls", s, *what, "--json")[1])), list if what else dict)


if __name__ == "__main__":
    LSTORE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=1)
