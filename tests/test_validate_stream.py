"""validate's streamed path (issue #20: compact per-node state instead of the
store model, src/ops/validate_stream.cpp) answers exactly as the loaded path:
the same stdout, stderr and exit code in every report format, on every
testdata store, every testdata/rules fixture, every corpus store and
generated stores with seeded defects. LSTORE_NO_STREAM=1 forces the loaded
path; LSTORE_TRACE_STREAM=1 makes validate say which path answered, so the
test also checks that the stream answers where it should (a clean store) and
hands back what it cannot be sure of (every defect)."""
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
FORMATS = ("text", "json", "ndjson", "csv", "tsv", "github", "junit", "sarif")


def run(args, streamed, trace=False):
    env = dict(os.environ)
    env.pop("LSTORE_NO_STREAM", None)
    env.pop("LSTORE_TRACE_STREAM", None)
    if not streamed:
        env["LSTORE_NO_STREAM"] = "1"
    if trace:
        env["LSTORE_TRACE_STREAM"] = "1"
    p = subprocess.run([LSTORE] + args, capture_output=True, env=env)
    return p.returncode, p.stdout, p.stderr


def paths_taken(stores):
    """Which path answered validate on each store: 'streamed' or 'loaded'."""
    _, _, err = run(["validate"] + stores + ["--format", "json"], True, trace=True)
    return [l.split(": ")[-1] for l in err.decode().splitlines() if l.startswith("lstore: validate: ")]


def path_taken(store):
    return paths_taken([store])[0]


class StreamedValidateTest(unittest.TestCase):
    def same(self, args):
        self.assertEqual(run(args, True), run(args, False), " ".join(args))

    def same_every_format(self, stores):
        # The sanitizer pass (LSTORE_QUICK) compares two formats: the
        # renderers are the loaded path's own, and every format ran above.
        for fmt in FORMATS[:2] if os.environ.get("LSTORE_QUICK") else FORMATS:
            self.same(["validate"] + stores + ["--format", fmt])
        self.same(["validate"] + stores + ["--rule", "multiple-indexes", "--rule", "vector-not-indexed"])
        self.same(["validate"] + stores + ["--skip", "multiple-indexes", "--fail-on", "warning", "--all"])

    def test_every_store(self):
        # All stores in one run per format and path (a report covers every
        # store given, in order): a difference in any one shows.
        stores, _ = support.corpus_stores()
        rules = os.path.join(ROOT, "testdata", "rules")
        stores += [os.path.join(rules, d) for d in sorted(os.listdir(rules)) if os.path.isdir(os.path.join(rules, d))]
        self.same_every_format(stores)
        taken = paths_taken(stores)
        self.assertEqual(len(taken), len(stores))
        # The clean stores of testdata and the corpus are the stream's.
        self.assertIn("streamed", taken)
        self.assertEqual(taken[stores.index(os.path.join(ROOT, "testdata", "sample"))], "streamed")

    def test_several_stores_and_bad_rule(self):
        sample = os.path.join(ROOT, "testdata", "sample")
        self.same(["validate", sample, os.path.join(ROOT, "testdata", "rules", "zero-vector"), sample])
        self.same(["validate", sample, "--rule", "no-such-rule"])
        self.same(["validate", os.path.join(ROOT, "testdata", "rules", "no-such-store"), sample])

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def gen(self, tmp, nodes, layout, dim=4):
        """A generated store (made once for all tests): over 1024 entries a
        collection, so that every one is streamed from its file."""
        d = os.path.join(self.tmp.name, "gen-%d-%s" % (nodes, layout))
        if not os.path.isdir(d):
            subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gen_store.py"), d, "--nodes", str(nodes),
                            "--dim", str(dim), "--layout", layout, "--docs", str(max(1, nodes // 10)), "--quiet"],
                           check=True)
        return d

    def edited(self, tmp, base, name, file, edit, text_edit=False):
        """A copy of `base` with `file` rewritten by edit(json) -> json (or text -> text)."""
        e = os.path.join(tmp, name)
        shutil.copytree(base, e)
        p = os.path.join(e, file)
        with open(p, encoding="utf-8") as fh:
            text = fh.read()
        new = edit(text) if text_edit else json.dumps(edit(json.loads(text)))
        with open(p, "w", encoding="utf-8") as fh:
            fh.write(new)
        return e

    def test_generated_stores(self):
        with tempfile.TemporaryDirectory() as tmp:
            # Large enough that every collection is streamed from its file.
            for layout in ("documents", "nodes"):
                d = self.gen(tmp, 1200, layout)
                self.assertEqual(path_taken(d), "streamed", layout)
                self.same_every_format([d])

    def test_seeded_defects(self):
        with tempfile.TemporaryDirectory() as tmp:
            base = self.gen(tmp, 1200, "nodes")
            doc = self.gen(tmp, 1200, "documents")

            def last(d):
                return list(d)[-1]

            def zero(j):
                k = last(j["embedding_dict"])
                j["embedding_dict"][k] = [0.0] * len(j["embedding_dict"][k])
                return j

            def nan(j):
                j["embedding_dict"][last(j["embedding_dict"])][1] = float("nan")
                return j

            def short(j):
                j["embedding_dict"][last(j["embedding_dict"])].pop()
                return j

            def no_metadata(j):
                del j["docstore/metadata"][last(j["docstore/data"])]
                return j

            def bad_hash(j):
                j["docstore/metadata"][last(j["docstore/data"])]["doc_hash"] = "0" * 64
                return j

            def same_hash(j):
                ids = list(j["docstore/data"])
                j["docstore/metadata"][ids[-1]]["doc_hash"] = j["docstore/metadata"][ids[0]]["doc_hash"]
                return j

            def unlisted(j):
                info = j["docstore/ref_doc_info"]
                del info[last(info)]
                return j

            def dangling_listed(j):
                info = j["docstore/ref_doc_info"]
                info[last(info)]["node_ids"].append("no-such-node")
                return j

            def repeated(j):
                info = j["docstore/ref_doc_info"]
                ids = info[last(info)]["node_ids"]
                ids.append(ids[0])
                return j

            def orphan_node(j):
                k = last(j["docstore/data"])
                j["docstore/data"]["orphan-" + k] = j["docstore/data"][k]
                return j

            def meta_ref(j):
                j["docstore/metadata"][last(j["docstore/data"])]["ref_doc_id"] = "another"
                return j

            def metadata_dict(j):
                j["metadata_dict"][last(j["metadata_dict"])]["year"] = 1850
                return j

            def vector_ref(j):
                j["text_id_to_ref_doc_id"][last(j["text_id_to_ref_doc_id"])] = "another"
                return j

            def stray_vector(j):
                k = last(j["embedding_dict"])
                j["embedding_dict"]["stray"] = j["embedding_dict"][k]
                return j

            def dangling_index(j):
                s = j["index_store/data"][last(j["index_store/data"])]
                data = json.loads(s["__data__"])
                data["nodes_dict"]["gone"] = "gone"
                s["__data__"] = json.dumps(data)
                return j

            def dup_key(t):
                return t.replace('{"embedding_dict": {', '{"embedding_dict": {"%s": [1, 2, 3, 4], ' % "stray", 1)

            def bad_text(t):
                return t.replace('"text": "', '"text": 3, "x": "', 1)

            def cut(t):
                return t[: len(t) - 100]

            cases = [
                ("zero", base, "default__vector_store.json", zero),
                ("nan", base, "default__vector_store.json", nan),
                ("short", base, "default__vector_store.json", short),
                ("no-metadata", base, "docstore.json", no_metadata),
                ("no-metadata-doc", doc, "docstore.json", no_metadata),
                ("bad-hash", base, "docstore.json", bad_hash),
                ("bad-hash-doc", doc, "docstore.json", bad_hash),
                ("same-hash", base, "docstore.json", same_hash),
                ("unlisted", base, "docstore.json", unlisted),
                ("dangling-listed", base, "docstore.json", dangling_listed),
                ("repeated", base, "docstore.json", repeated),
                ("orphan-node", base, "docstore.json", orphan_node),
                ("meta-ref", doc, "docstore.json", meta_ref),
                ("metadata-dict", base, "default__vector_store.json", metadata_dict),
                ("vector-ref", base, "default__vector_store.json", vector_ref),
                ("stray-vector", base, "default__vector_store.json", stray_vector),
                ("dangling-index", base, "index_store.json", dangling_index),
                ("dup-key", base, "default__vector_store.json", dup_key),
                ("bad-text", base, "docstore.json", bad_text),
                ("cut", base, "docstore.json", cut),
            ]
            text_edits = (dup_key, bad_text, cut)
            edited = [self.edited(tmp, b, name, file, edit, edit in text_edits) for name, b, file, edit in cases]
            # Each defect is a finding (or a parse error): the stream hands it back.
            self.assertEqual(paths_taken(edited), ["loaded"] * len(cases))
            _, out, _ = run(["validate"] + edited + ["--format", "json"], True)
            with_findings = {f["store"] for f in json.loads(out)["findings"]}
            self.assertEqual(sorted(with_findings), sorted(edited))
            self.same_every_format(edited)

    def test_large_index_store(self):
        """An index store over the 1 MiB window (read by stream_index_refs
        from its file, never held whole): a struct padded with whitespace,
        then edited in each way the windowed reader must follow or refuse;
        each compared byte for byte with the loaded path."""
        with tempfile.TemporaryDirectory() as tmp:
            base = self.gen(tmp, 1200, "nodes")

            def padded(edit_struct=None, edit_entry=None, ensure_ascii=True):
                def edit(text):
                    j = json.loads(text)
                    key = list(j["index_store/data"])[-1]
                    entry = j["index_store/data"][key]
                    data = json.loads(entry["__data__"])
                    # indent 600: about 1.4 MB of whitespace inside the struct's string
                    text = json.dumps(data, indent=600)
                    if edit_struct:
                        text = edit_struct(text, data)
                    entry["__data__"] = text
                    if edit_entry:
                        j["index_store/data"][key] = edit_entry(entry)
                    return json.dumps(j, ensure_ascii=ensure_ascii)
                return edit

            first = lambda data: next(iter(data["nodes_dict"]))  # noqa: E731

            def dup_key(t, data):
                k = first(data)
                return t.replace('"nodes_dict": {', '"nodes_dict": {"%s": "%s", ' % (k, data["nodes_dict"][k]), 1)

            def escaped_key(t, data):
                k = first(data)
                return t.replace('"%s":' % k, '"\\u%04x%s":' % (ord(k[0]), k[1:]), 1)

            def number_value(t, data):
                k = first(data)
                return t.replace('"%s": "%s"' % (k, data["nodes_dict"][k]), '"%s": 1' % k, 1)

            def syntax_error(t, data):
                return t.replace('"nodes_dict": {', '"nodes_dict": {,', 1)

            def camel(t, data):
                return t.replace('"nodes_dict"', '"nodesDict"', 1)

            def twice(t, data):
                return t[: t.rindex("}")] + ', "nodes_dict": {}}'

            def non_ascii(t, data):
                return t.replace("{", '{"note": "caf\u00e9", ', 1)

            def other_type(e):
                return {"__type__": "list", "__data__": e["__data__"]}

            def type_after(e):
                return {"__data__": e["__data__"], "__type__": e["__type__"]}

            cases = [
                # (name, edit, the stream answers)
                ("plain", padded(), True),
                ("dup-key", padded(dup_key), False),
                ("escaped-key", padded(escaped_key), False),
                ("number-value", padded(number_value), False),
                ("syntax-error", padded(syntax_error), False),
                ("nodesDict", padded(camel), False),
                ("twice", padded(twice), False),
                ("non-ascii-escaped", padded(non_ascii), False),
                ("non-ascii-utf8", padded(non_ascii, ensure_ascii=False), False),
                ("other-type", padded(edit_entry=other_type), False),
                ("type-after", padded(edit_entry=type_after), False),
            ]
            stores = [self.edited(tmp, base, name, "index_store.json", edit, True) for name, edit, _ in cases]
            for d in stores:
                self.assertGreater(os.path.getsize(os.path.join(d, "index_store.json")), 1 << 20)
            self.assertEqual(paths_taken(stores), ["streamed" if ok else "loaded" for _, _, ok in cases])
            for fmt in ("json", "text"):
                self.same(["validate"] + stores + ["--format", fmt])



if __name__ == "__main__":
    LSTORE = sys.argv.pop(1)
    unittest.main()
