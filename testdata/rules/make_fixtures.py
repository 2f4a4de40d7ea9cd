#!/usr/bin/env python3
"""Writes testdata/rules/<rule-id>/: for each validate rule that no other
fixture triggers, a small store that breaks exactly that rule (others may
fire too). Each is testdata/sample cut down to its first source document and
changed as the rule's recipe below says; the FAISS ones start from the
corpus's FAISS stores (../shared/corpus/backends/faiss). src/ops/rule_table.hpp
names these folders in its fixture column; tests/test_rule_fixtures.py checks
each one reports its rule. testdata/rules/no-such-store, the fixture of
unreadable-store, is kept absent on purpose. Run from the repository root:
    python3 testdata/rules/make_fixtures.py"""
import json
import os
import shutil

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "testdata", "rules")
SAMPLE = os.path.join(ROOT, "testdata", "sample")
FAISS = os.path.join(os.path.dirname(ROOT), "shared", "corpus", "backends", "faiss")


def load(name):
    with open(os.path.join(SAMPLE, name)) as f:
        return json.load(f)


def small_store():
    """testdata/sample's first source document, its nodes and their vectors."""
    doc, idx, vs = load("docstore.json"), load("index_store.json"), load("default__vector_store.json")
    ref = next(iter(doc["docstore/ref_doc_info"]))
    nodes = doc["docstore/ref_doc_info"][ref]["node_ids"]
    keep = set(nodes) | {ref}
    doc = {"docstore/metadata": {k: v for k, v in doc["docstore/metadata"].items() if k in keep},
           "docstore/data": {k: v for k, v in doc["docstore/data"].items() if k in keep},
           "docstore/ref_doc_info": {ref: doc["docstore/ref_doc_info"][ref]}}
    (iid, entry), = idx["index_store/data"].items()
    data = json.loads(entry["__data__"])
    data["nodes_dict"] = {k: v for k, v in data["nodes_dict"].items() if k in keep}
    entry["__data__"] = json.dumps(data)
    vs = {k: {n: e for n, e in v.items() if n in keep} for k, v in vs.items()}
    return {"docstore.json": doc, "index_store.json": idx, "default__vector_store.json": vs,
            "graph_store.json": {"graph_dict": {}},
            "image__vector_store.json": load("image__vector_store.json")}


def index_data(store):
    entry = next(iter(store["index_store.json"]["index_store/data"].values()))
    return entry, json.loads(entry["__data__"])


def set_index_data(store, data):
    entry, _ = index_data(store)
    entry["__data__"] = json.dumps(data)


def first_node(store):
    return next(iter(store["docstore.json"]["docstore/data"]))


def write(rule, store, raw=None):
    d = os.path.join(OUT, rule)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for name, value in store.items():
        with open(os.path.join(d, name), "w") as f:
            f.write(raw[name] if raw and name in raw else json.dumps(value))


def recipe(rule):
    """The store for `rule`, changed from small_store()."""
    s = small_store()
    node = first_node(s)
    doc, vs = s["docstore.json"], s["default__vector_store.json"]
    raw = {}
    if rule == "parse-error":  # persist killed halfway through the docstore
        raw["docstore.json"] = json.dumps(doc)[:700]
    elif rule == "empty-file":
        raw["index_store.json"] = ""
    elif rule == "unknown-type-code":
        doc["docstore/data"][node]["__type__"] = "99"
    elif rule == "unreadable-node-type":
        doc["docstore/data"][node]["__type__"] = "5"
    elif rule == "bad-index-data":
        index_data(s)[0]["__data__"] = "{not json"
    elif rule == "unknown-index-type":
        index_data(s)[0]["__type__"] = "no_such_index"
    elif rule == "node-without-metadata":
        del doc["docstore/metadata"][node]
    elif rule == "ref-doc-mismatch":
        doc["docstore/metadata"][node]["ref_doc_id"] = "another-document"
    elif rule == "ref-doc-dangling-node":
        next(iter(doc["docstore/ref_doc_info"].values()))["node_ids"].append("deleted-node")
    elif rule == "index-dangling-node":
        _, data = index_data(s)
        data["nodes_dict"]["deleted-node"] = "deleted-node"
        set_index_data(s, data)
    elif rule == "vector-without-node":
        vs["embedding_dict"]["deleted-node"] = vs["embedding_dict"][node]
    elif rule == "vector-not-indexed":
        _, data = index_data(s)
        del data["nodes_dict"][node]
        set_index_data(s, data)
    elif rule == "vector-ref-doc-mismatch":
        vs["text_id_to_ref_doc_id"][node] = "another-document"
    elif rule == "metadata-dict-mismatch":
        vs["metadata_dict"][node]["title"] = "not the node's title"
    elif rule == "mixed-dimensions":
        vs["embedding_dict"][node] = vs["embedding_dict"][node] + [0.5]
    elif rule == "non-finite-vector":
        vs["embedding_dict"][node][0] = float("nan")
    elif rule == "zero-vector":
        vs["embedding_dict"][node] = [0.0] * len(vs["embedding_dict"][node])
    elif rule == "graph-shape":
        s["graph_store.json"] = {"graph_dict": {"subject": "not a list of [relation, object] pairs"}}
    elif rule == "chat-store":
        with open(os.path.join(ROOT, "testdata", "chat", "chat_store.json")) as f:
            chat = json.load(f)
        chat["store"]["alice"][0]["role"] = "no-such-role"
        s["chat_store.json"] = chat
    elif rule == "missing-docstore":
        del s["docstore.json"]
    elif rule == "missing-index-store":
        del s["index_store.json"]
    elif rule == "missing-vector-store":
        del s["default__vector_store.json"]
    elif rule == "not-a-store":  # a folder of something else
        s = {"notes.txt": None}
        raw["notes.txt"] = "not a persist dir\n"
    elif rule == "unread-file":
        s["notes.txt"] = None
        raw["notes.txt"] = "kept beside the store\n"
    elif rule == "lfs-pointer":  # cloned without git lfs pull
        raw["docstore.json"] = ("version https://git-lfs.github.com/spec/v1\n"
                                "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
                                "size 12345\n")
    elif rule == "bad-shape":
        doc["docstore/data"][node]["__data__"]["metadata"] = ["not", "an", "object"]
    elif rule == "multiple-indexes":
        entries = s["index_store.json"]["index_store/data"]
        (iid, entry), = entries.items()
        data = json.loads(entry["__data__"])
        data["index_id"] = "second-index"
        entries["second-index"] = {"__type__": entry["__type__"], "__data__": json.dumps(data)}
    elif rule == "duplicate-node":  # the same text and metadata under a second id
        copy = json.loads(json.dumps(doc["docstore/data"][node]))
        copy["__data__"]["id_"] = "copy-of-" + node
        doc["docstore/data"]["copy-of-" + node] = copy
        doc["docstore/metadata"]["copy-of-" + node] = doc["docstore/metadata"][node]
    elif rule == "metadata-dict-missing":  # vectors from LlamaIndex < 0.8.29
        del vs["metadata_dict"]
    elif rule == "ref-doc-duplicate-ids":
        ids = next(iter(doc["docstore/ref_doc_info"].values()))["node_ids"]
        ids.append(ids[0])
    else:
        raise KeyError(rule)
    return s, raw


def faiss(rule):
    """The FAISS fixtures, from the corpus's FAISS stores."""
    d = os.path.join(OUT, rule)
    shutil.rmtree(d, ignore_errors=True)
    src = os.path.join(FAISS, "empty" if rule == "faiss-unreadable" else "image-ip", "persist")
    shutil.copytree(src, d)
    for name in os.listdir(d):
        os.chmod(os.path.join(d, name), 0o644)
    os.chmod(d, 0o755)
    index = os.path.join(d, "index_store.json")
    if rule == "faiss-unreadable":  # truncated by a crash while FAISS wrote it
        path = os.path.join(d, "default__vector_store.json")
        with open(path, "rb") as f:
            head = f.read(20)
        with open(path, "wb") as f:
            f.write(head)
    elif rule == "faiss-rows":  # a row number the index does not have
        with open(index) as f:
            idx = json.load(f)
        entry = next(iter(idx["index_store/data"].values()))
        data = json.loads(entry["__data__"])
        data["nodes_dict"]["99"] = next(iter(data["nodes_dict"].values()))
        entry["__data__"] = json.dumps(data)
        with open(index, "w") as f:
            json.dump(idx, f)
    elif rule == "faiss-multimodal":  # the image namespace over FAISS too
        shutil.copyfile(os.path.join(d, "default__vector_store.json"), os.path.join(d, "image__vector_store.json"))


RULES = ["parse-error", "empty-file", "unknown-type-code", "unreadable-node-type", "bad-index-data",
         "unknown-index-type", "node-without-metadata", "ref-doc-mismatch", "ref-doc-dangling-node",
         "index-dangling-node", "vector-without-node", "vector-not-indexed", "vector-ref-doc-mismatch",
         "metadata-dict-mismatch", "mixed-dimensions", "non-finite-vector", "zero-vector", "graph-shape",
         "chat-store", "missing-docstore", "missing-index-store", "missing-vector-store", "not-a-store",
         "unread-file", "lfs-pointer", "bad-shape", "multiple-indexes", "duplicate-node", "metadata-dict-missing",
         "ref-doc-duplicate-ids"]

if __name__ == "__main__":
    for rule in RULES:
        store, raw = recipe(rule)
        write(rule, store, raw)
    for rule in ("faiss-unreadable", "faiss-rows", "faiss-multimodal"):
        faiss(rule)
