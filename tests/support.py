"""What the CLI test scripts share: where the corpus is, which stores it holds,
a directory's files as bytes, a free loopback port."""
import json
import os
import shutil
import socket

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.environ.get("LSTORE_CORPUS", os.path.join(ROOT, "..", "shared", "corpus"))


def have_corpus():
    return os.path.isdir(os.path.join(CORPUS, "llamaindex-0.12"))


def corpus_dirs():
    """Every store of the corpus: llamaindex-0.12/0.10 persist dirs, TS and wild stores."""
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
            if os.path.isdir(p):
                stores.append(p)
    return stores


def corpus_stores():
    """The persist dirs of testdata/ (not fuzz/ inputs, not the SQLite sample),
    then every corpus store; and whether the corpus was there. With
    LSTORE_QUICK=1 (the sanitizer pass of .ci/run, where every run is slow)
    only every sixth corpus store: the same code paths, a sixth of the time."""
    stores = [os.path.join(ROOT, "testdata", d) for d in sorted(os.listdir(os.path.join(ROOT, "testdata")))
              if os.path.isdir(os.path.join(ROOT, "testdata", d)) and d != "fuzz"]
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
