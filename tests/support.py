"""What the CLI test scripts share: where the corpus is, which stores it holds,
a directory's files as bytes, a free loopback port, running lstore with its
stderr on a terminal, and every command lstore has (for the password tests)."""
import json
import os
import pty
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.environ.get("LSTORE_CORPUS", os.path.join(ROOT, "..", "shared", "corpus"))


def have_corpus():
    return os.path.isdir(os.path.join(CORPUS, "llamaindex-0.12"))


# corpus/wild/INDEX.md's negative samples (LangChain.js, networkx): no
# LlamaIndex file in them, so every command refuses them (exit 3).
NOT_STORES = {"alainkaiser__langchain-talk__ROOT", "arvog494__llm_genai_project__src"}


def corpus_dirs(with_not_stores=False):
    """Every store of the corpus: llamaindex-0.12/0.10 persist dirs, TS and wild
    stores (and the negative samples when asked)."""
    stores = []
    if not have_corpus():
        return stores
    for era in ("llamaindex-0.12", "llamaindex-0.10"):
        for case in sorted(os.listdir(os.path.join(CORPUS, era))):
            p = os.path.join(CORPUS, era, case, "persist")
            if os.path.isdir(p):
                stores.append(p)
    for group in ("llamaindex-ts", "wild"):
        for case in sorted(os.listdir(os.path.join(CORPUS, group))):
            p = os.path.join(CORPUS, group, case)
            if os.path.isdir(p) and (with_not_stores or case not in NOT_STORES):
                stores.append(p)
    return stores


def corpus_stores():
    """The persist dirs of testdata/ (not fuzz/ inputs, not diff/'s or rules/'s fixtures, not the SQLite sample),
    then every corpus store; and whether the corpus was there. With
    LSTORE_QUICK=1 (the sanitizer pass of .ci/run, where every run is slow)
    only every sixth corpus store: the same code paths, a sixth of the time."""
    stores = [os.path.join(ROOT, "testdata", d) for d in sorted(os.listdir(os.path.join(ROOT, "testdata")))
              if os.path.isdir(os.path.join(ROOT, "testdata", d)) and d not in ("fuzz", "diff", "rules")]
    corpus = corpus_dirs()
    if os.environ.get("LSTORE_QUICK"):
        corpus = corpus[::6]
    return stores + corpus, have_corpus()


def tree(d):
    """Every file under d: relative name -> bytes."""
    out = {}
    for base, _, files in os.walk(d):
        for f in files:
            p = os.path.join(base, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, d)] = fh.read()
    return out


def read_bytes(p):
    with open(p, "rb") as f:
        return f.read()


def wait_for(done, what, timeout=120):
    """Polls until done() is true; fails naming `what` after `timeout` seconds
    (rather than after a fixed number of tries: a loaded machine only takes
    longer, and a race against it is a flaky test)."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for {what} after {timeout} s")
        time.sleep(0.005)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# A chat store made for these tests in LlamaIndex 0.12's form (json.dumps of
# the model: unicode escaped, a float, an assistant message with no blocks,
# a key with a slash and a space), and the corpus' chat stores of both eras.
CHAT_FIXTURE = os.path.join(ROOT, "testdata", "chat", "chat_store.json")
CHAT_012 = os.path.join(CORPUS, "chat-and-kv", "llamaindex-0.12", "chat_store.json")
CHAT_010 = os.path.join(CORPUS, "chat-and-kv", "llamaindex-0.10", "chat_store.json")


# A standalone SimpleKVStore file made for these tests (json.dumps, two
# collections, one with a slash and a space), and the corpus' 0.12 one.
KV_FIXTURE = os.path.join(ROOT, "testdata", "kv", "kvstore.json")
KV_012 = os.path.join(CORPUS, "chat-and-kv", "llamaindex-0.12", "kvstore.json")


def kv_collections(path):
    """collection -> {key: value} of a KV file, in file order."""
    with open(path) as f:
        return json.load(f)


def chat_messages(path):
    """key -> messages (dicts, in order) of a chat_store.json of either era."""
    with open(path) as f:
        root = json.load(f)
    if isinstance(root, str):  # 0.10: a JSON string holding the JSON
        root = json.loads(root)
    return root["store"]


def persist_dir_with_chat(tmp, sample):
    """A copy of `sample` with the chat fixture beside its files."""
    d = os.path.join(tmp, "with-chat")
    shutil.copytree(sample, d)
    shutil.copy(CHAT_FIXTURE, os.path.join(d, "chat_store.json"))
    return d


def run_on_terminal(argv, env=None, stdin=None, timeout=300):
    """Runs argv with stderr on a pseudo-terminal (so progress bars are drawn)
    and stdout on a pipe: (exit code, stdout, what the terminal showed)."""
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=slave, env=env)
    finally:
        os.close(slave)
    shown = []

    def read_terminal():  # beside communicate(), so a full terminal never blocks the child
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child, the terminal's last writer, is gone
                break
            if not data:
                break
            shown.append(data)

    reader = threading.Thread(target=read_terminal, daemon=True)
    reader.start()
    try:
        out, _ = p.communicate(stdin, timeout=timeout)
    finally:
        reader.join(timeout)
        os.close(master)
    return p.returncode, out.decode(errors="replace"), b"".join(shown).decode(errors="replace")



def run_as(variant, lstore, args, env=None, stdin=None):
    """lstore run plainly ("plain"), with -v ("verbose"), or with -v and its
    stderr on a terminal, progress bars drawn at once ("terminal"):
    (exit code, stdout, stderr)."""
    env = dict(os.environ if env is None else env)
    if variant == "terminal":
        env["LSTORE_PROGRESS_DELAY"] = "0"
        return run_on_terminal([lstore, *args, "-v"], env=env, stdin=stdin)
    p = subprocess.run([lstore, *args, *(["-v"] if variant == "verbose" else [])], input=stdin, capture_output=True,
                       env=env, timeout=300)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


VALIDATE_FORMATS = ("text", "table", "json", "ndjson", "csv", "tsv", "github", "junit", "sarif")
PUT_NODE = json.dumps({"id": "pw-put", "text": "t", "ref_doc_id": "pw-doc", "embedding": [0.5] * 8}).encode()


def first_id(lstore, store, what):
    listing = subprocess.run([lstore, "ls", store, what, "--format", "ndjson"], capture_output=True, check=True, timeout=300)
    return json.loads(listing.stdout.decode().split("\n")[0])["id"]


def every_command(lstore, store, findings, sample, scratch):
    """Every command of lstore, in its output formats, on `store` (a URI
    holding testdata/sample, which is `sample`) and `findings` (a URI holding
    testdata/pretty, which validate warns about, so that every validate
    format names the store): [(arguments, stdin, exit code)]. `store` is
    written to with --dry-run only; `scratch` (a directory made here) gets
    copies."""
    os.makedirs(scratch)
    node, ref = first_id(lstore, sample, "nodes"), first_id(lstore, sample, "docs")
    vector = json.dumps([0.1] * 8)
    cases = [(["ls", store], None, 0), (["ls", store, "--json"], None, 0), (["ls", store, "--format", "csv"], None, 0)]
    cases += [(["ls", store, what], None, 0)
              for what in ("nodes", "docs", "indexes", "vectors", "graph", "collections", "chat", "files")]
    cases += [(["get", store, node], None, 0), (["get", store, node, "--json"], None, 0),
              (["get", store, node, "--format", "tsv"], None, 0), (["get", store, node, "--field", "text"], None, 0),
              (["get", store, "no-such-id"], None, 1), (["get", store, "no-such-id", "--json"], None, 1),
              (["get", store, node, "--field", "no-such-field"], None, 1)]
    cases += [(["validate", findings, store, "--format", f], None, 0) for f in VALIDATE_FORMATS]
    cases += [(["validate", findings, "--fail-on", "warning"], None, 1),
              (["--format", "csv", "validate", findings], None, 0), (["validate", findings, "--json"], None, 0)]
    cases += [(["query", store, "--vector", vector], None, 0), (["query", store, "--vector", vector, "--json"], None, 0),
              (["query", store, "--like", node, "--format", "csv"], None, 0),
              (["query", store, "--like", "no-such-id"], None, 1)]
    cases += [(["diff", sample, store], None, 0), (["diff", store, findings], None, 1),
              (["diff", store, findings, "--json"], None, 1), (["diff", store, findings, "--stat"], None, 1),
              (["diff", store, findings, "--format", "csv", "--text"], None, 1)]
    cases += [(["convert", store, os.path.join(scratch, "dir")], None, 0),
              (["convert", store, "sqlite:" + os.path.join(scratch, "copy.db"), "--verify"], None, 0),
              (["convert", store, "jsonl:" + os.path.join(scratch, "copy.jsonl"), "--json"], None, 0),
              (["convert", store, "jsonl:-"], None, 0), (["convert", sample, store], None, 3),
              (["convert", sample, store, "--dry-run"], None, 0),
              (["convert", sample, store, "--dry-run", "--json"], None, 0)]
    cases += [(["repair", store, "--dry-run"], None, 0), (["repair", store, "--dry-run", "--json"], None, 0)]
    cases += [(["delete", store, "--ref-doc", ref, "--dry-run"], None, 0),
              (["delete", store, "--ref-doc", ref, "--dry-run", "--json"], None, 0),
              (["delete", store, "--node", node, "--dry-run", "--format", "csv"], None, 0),
              (["delete", store, "--ref-doc", "no-such-doc", "--dry-run"], None, 1),
              (["put", store, "--dry-run"], PUT_NODE, 0), (["put", store, "--dry-run", "--json"], PUT_NODE, 0)]
    return cases


def every_write(lstore, store, sample, scratch):
    """The writing commands really writing to `store` (holding testdata/sample,
    which is `sample`; it does again at the end): [(arguments, stdin, exit
    code)], to be run in order. `scratch` (a directory) gets a backup."""
    ref = first_id(lstore, sample, "docs")
    return [(["delete", store, "--ref-doc", ref, "--backup", os.path.join(scratch, "backup")], None, 0),
            (["delete", store, "--ref-doc", ref, "--json"], None, 1),
            (["put", store], PUT_NODE, 0), (["put", store, "--json"], PUT_NODE, 0),
            (["convert", sample, store, "--force", "--verify"], None, 0)]


def assert_never_shown(test, lstore, secrets, variant, cases, env=None):
    """Runs `cases` ([(arguments, stdin, exit code)]) as `variant` (see
    run_as): each exits as expected and prints none of `secrets`. Returns
    everything they printed."""
    shown = []
    for args, stdin, expect in cases:
        rc, out, err = run_as(variant, lstore, args, env=env, stdin=stdin)
        test.assertEqual(rc, expect, (variant, args, err[-3000:]))
        for secret in secrets:
            test.assertNotIn(secret, out + err, (variant, args))
        shown.append(out + err)
    return "".join(shown)


def vector_namespaces(ls_json):
    """(namespace, dim) of each vector store with vectors, from `ls --format json`'s output."""
    return [(v["namespace"], v["dim"]) for v in json.loads(ls_json).get("vector_stores") or []
            if v.get("vectors") and isinstance(v.get("dim"), int)]


class QueryScratch(unittest.TestCase):
    """A scratch directory per test (self.tmp), and query vectors written there as files."""
    scratch_prefix = "lstore-query-"

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix=self.scratch_prefix)
        self.n = 0

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def tied_store(self, nodes=2000):
        """A generated store whose vectors come in families: exact copies,
        copies scaled (the same cosine), and copies moved by less than the
        int8 screen's error (1e-3 of one element) or the streamed search's
        (1e-9 and less)."""
        d = os.path.join(self.tmp, "tied-%d" % nodes)
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gen_store.py"), d, "--nodes", str(nodes), "--dim",
                        "48", "--layout", "nodes", "--quiet"], check=True)
        path = os.path.join(d, "default__vector_store.json")
        with open(path) as f:
            data = json.load(f)
        emb = data["embedding_dict"]
        ids = list(emb)
        rnd = random.Random(5)
        for i, k in enumerate(ids):
            base = emb[ids[i - i % 8]]
            kind = i % 8
            if kind in (1, 2):
                emb[k] = list(base)
            elif kind == 3:
                emb[k] = [x * 3 for x in base]
            elif kind in (4, 5, 6):
                v = list(base)
                v[rnd.randrange(len(v))] += rnd.choice([1e-3, -1e-3, 1e-6, 1e-9, 1e-12, -1e-15])
                emb[k] = v
        with open(path, "w") as f:
            f.write(json.dumps(data))
        return d, emb, ids

    def vector_file(self, vec):
        self.n += 1
        p = os.path.join(self.tmp, "q%d.json" % self.n)
        with open(p, "w") as f:
            json.dump(vec, f)
        return p
