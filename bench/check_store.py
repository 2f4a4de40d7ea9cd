#!/usr/bin/env python3
"""Check a persist dir made by gen_store.py (stdlib only; loads everything).

    python3 bench/check_store.py STORE_DIR [--like REF_DIR] [--no-bytes]

Checks:
  * JSON dialect: every file is ASCII, has no trailing newline and equals
    json.dumps(json.load(file)) byte for byte (Python's own writer).
  * docstore invariants: every node of docstore/data is in docstore/metadata
    (doc_hash = recomputed TextNode hash, ref_doc_id = SOURCE id), listed in
    ref_doc_info[ref].node_ids, in the index's nodes_dict (key == value), in
    embedding_dict (unit vector of the same dimension everywhere), in
    text_id_to_ref_doc_id and in metadata_dict (node metadata + _node_type,
    document_id, doc_id, ref_doc_id); no extra ids anywhere; same order.
  * Document records (docstore/metadata keys that are not nodes): the 0.12.28+
    Document hash recomputed from the text rebuilt out of the nodes' char
    offsets; equal to the SOURCE relationship hashes when those are set.
  * PREVIOUS/NEXT relationships point at the neighbour node.
  * --like REF_DIR: the "shape" of each file (collection order, key order of
    every record, value types) equals that of REF_DIR (e.g. the corpus `big`).
Also verifies the hash helpers against FORMAT.md Appendix A.
"""

import argparse
import hashlib
import json
import math
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_store import document_hash, text_node_hash  # noqa: E402

FILES = ["docstore.json", "index_store.json", "default__vector_store.json",
         "image__vector_store.json", "graph_store.json"]

errors = []


def err(msg):
    errors.append(msg)
    if len(errors) <= 30:
        print("FAIL:", msg)


def check_appendix_a():
    # FORMAT.md Appendix A / 3.5 examples
    assert text_node_hash("Hello", {"file_name": "a.txt"}) == \
        "03c2c82cbba59aae92592a892bb27cb1006cd1a76189c7dc8c72f48c56d86172"
    assert document_hash("Hello world", {"file_name": "a.txt"}) == \
        "7145727f16405e278241b0b1946254b15f68ca14a4e4707067da3e125a2fba20"
    assert document_hash("abc", {}) == hashlib.sha256(
        hashlib.sha256(b"abc").hexdigest().encode()).hexdigest()
    assert document_hash("", {}) == hashlib.sha256(b"").hexdigest()


def load(store, check_bytes):
    objs = {}
    for name in FILES:
        path = os.path.join(store, name)
        with open(path, "rb") as f:
            raw = f.read()
        obj = json.loads(raw)
        objs[name] = obj
        if check_bytes:
            if raw.endswith(b"\n"):
                err(f"{name}: trailing newline")
            if any(b > 0x7F for b in raw):
                err(f"{name}: non-ASCII byte")
            if json.dumps(obj).encode("ascii") != raw:
                err(f"{name}: not byte-identical to json.dumps(json.load(file))")
    return objs


def check_invariants(o):
    ds = o["docstore.json"]
    data = ds.get("docstore/data", {})
    meta = ds.get("docstore/metadata", {})
    rdi = ds.get("docstore/ref_doc_info", {})
    vs = o["default__vector_store.json"]
    emb, t2r, mdd = vs["embedding_dict"], vs["text_id_to_ref_doc_id"], vs["metadata_dict"]
    if o["image__vector_store.json"] != {"embedding_dict": {}, "text_id_to_ref_doc_id": {}, "metadata_dict": {}}:
        err("image__vector_store.json not empty")
    if o["graph_store.json"] != {"graph_dict": {}}:
        err("graph_store.json")
    ix = o["index_store.json"]["index_store/data"]
    if len(ix) != 1:
        err(f"{len(ix)} indexes")
    (iid, env), = ix.items()
    if list(env) != ["__type__", "__data__"] or env["__type__"] != "vector_store" or not isinstance(env["__data__"], str):
        err("index envelope")
    idx = json.loads(env["__data__"])
    if list(idx) != ["index_id", "summary", "nodes_dict", "doc_id_dict", "embeddings_dict"] or idx["index_id"] != iid:
        err("index struct keys")
    nd = idx["nodes_dict"]

    node_ids = list(data)
    pos = {i: k for k, i in enumerate(node_ids)}
    for name, coll in (("nodes_dict", nd), ("embedding_dict", emb), ("text_id_to_ref_doc_id", t2r),
                       ("metadata_dict", mdd)):
        if list(coll) != node_ids:
            err(f"{name} ids differ from docstore/data ids (or order)")
    if any(k != v for k, v in nd.items()):
        err("nodes_dict key != value")
    node_meta_ids = [k for k in meta if k in data]
    if node_meta_ids != node_ids:
        err("docstore/metadata node records differ from docstore/data ids (or order)")
    doc_records = [k for k in meta if k not in data]

    dims = set()
    listed = {}
    for ref, info in rdi.items():
        if list(info) != ["node_ids", "metadata"]:
            err(f"ref_doc_info {ref} keys")
        for i in info["node_ids"]:
            if i in listed:
                err(f"{i} listed twice in ref_doc_info")
            listed[i] = ref
    doc_text = {}
    doc_meta = {}
    source_hash = {}
    first_meta = {}
    for i, env in data.items():
        if list(env) != ["__data__", "__type__"] or env["__type__"] != "1":
            err(f"{i}: envelope")
        n = env["__data__"]
        if n["id_"] != i or n["class_name"] != "TextNode":
            err(f"{i}: id_/class_name")
        rels = n["relationships"]
        ref = rels["1"]["node_id"]
        h = text_node_hash(n["text"], n["metadata"])
        m = meta.get(i)
        if m != {"doc_hash": h, "ref_doc_id": ref}:
            err(f"{i}: docstore/metadata record {m} != hash {h} ref {ref}")
        if listed.get(i) != ref:
            err(f"{i}: not in ref_doc_info[{ref}]")
        first_meta.setdefault(ref, n["metadata"])
        if t2r.get(i) != ref:
            err(f"{i}: text_id_to_ref_doc_id")
        exp = dict(n["metadata"])
        exp.update({"_node_type": "TextNode", "document_id": ref, "doc_id": ref, "ref_doc_id": ref})
        if mdd.get(i) != exp or list(mdd.get(i, {})) != list(exp):
            err(f"{i}: metadata_dict entry")
        v = emb.get(i)
        if v is None:
            err(f"{i}: no embedding")
        else:
            dims.add(len(v))
            if not all(isinstance(x, float) for x in v):
                err(f"{i}: non-float in embedding")
            if abs(math.fsum(x * x for x in v) - 1.0) > 1e-5:
                err(f"{i}: embedding not unit")
        if n["end_char_idx"] - n["start_char_idx"] != len(n["text"]):
            err(f"{i}: char offsets vs text length")
        # rebuild the document text from the node offsets
        buf = doc_text.setdefault(ref, {})
        buf[n["start_char_idx"]] = n["text"]
        doc_meta.setdefault(ref, rels["1"]["metadata"])
        source_hash.setdefault(ref, set()).add(rels["1"]["hash"])
        for code, key in (("2", -1), ("3", +1)):
            if code in rels:
                j = pos[i] + key
                if not 0 <= j < len(node_ids) or node_ids[j] != rels[code]["node_id"]:
                    err(f"{i}: relationship {code} is not the neighbour")
                tgt = data.get(rels[code]["node_id"])
                if tgt is None:
                    err(f"{i}: relationship {code} dangling")
                elif rels[code]["hash"] is not None:
                    t = tgt["__data__"]
                    ok = {text_node_hash(t["text"], t["metadata"]), text_node_hash(t["text"], {})}
                    if rels[code]["hash"] not in ok:
                        err(f"{i}: relationship {code} hash")
    for ref, info in rdi.items():
        if info["metadata"] != first_meta.get(ref):
            err(f"ref_doc_info {ref}: metadata is not the first node's")
    if len(dims) > 1:
        err(f"mixed dims {dims}")
    for ref in doc_records:
        if set(meta[ref]) != {"doc_hash"}:
            err(f"document record {ref} keys")
        if ref not in doc_text:
            err(f"document record {ref} has no nodes")
            continue
        pieces = sorted(doc_text[ref].items())
        text = ""
        for start, t in pieces:
            if start > len(text):
                err(f"{ref}: gap in rebuilt text")
            text = text[:start] + t
        h = document_hash(text, doc_meta[ref])
        if h != meta[ref]["doc_hash"]:
            err(f"document {ref}: hash mismatch")
        if source_hash[ref] != {h}:
            err(f"document {ref}: SOURCE hashes {source_hash[ref]}")
    return {"nodes": len(data), "ref_docs": len(rdi), "doc_records": len(doc_records),
            "dim": dims.pop() if dims else 0, "collections": list(ds)}


# ---- shape comparison -------------------------------------------------------
MAPS = {"docstore/data", "docstore/metadata", "docstore/ref_doc_info", "index_store/data",
        "embedding_dict", "text_id_to_ref_doc_id", "metadata_dict", "nodes_dict"}


def shape(v, path, acc):
    if isinstance(v, dict):
        if path.split(".")[-1] in MAPS:
            for x in v.values():
                shape(x, path + ".*", acc)
            return
        acc.add((path, "{" + ",".join(v) + "}"))
        for k, x in v.items():
            shape(x, path + "." + k, acc)
    elif isinstance(v, list):
        acc.add((path, "list"))
        for x in v:
            shape(x, path + "[]", acc)
    elif isinstance(v, str) and path.endswith("__data__"):
        acc.add((path, "json-string"))
        shape(json.loads(v), path + "<json>", acc)
    else:
        acc.add((path, type(v).__name__))


def file_shape(obj):
    acc = set()
    shape(obj, "", acc)
    return acc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("store")
    ap.add_argument("--like", help="reference persist dir to compare shapes with")
    ap.add_argument("--no-bytes", action="store_true", help="skip the byte-identity check")
    a = ap.parse_args()
    check_appendix_a()
    o = load(a.store, not a.no_bytes)
    summary = check_invariants(o)
    print("summary:", summary)
    if a.like:
        ref = load(a.like, False)
        for name in FILES:
            s1, s2 = file_shape(o[name]), file_shape(ref[name])
            if name == "docstore.json" and list(o[name]) != list(ref[name]):
                err(f"{name}: collection order {list(o[name])} vs {list(ref[name])}")
            for x in sorted(s1 - s2):
                err(f"{name}: only here: {x}")
            for x in sorted(s2 - s1):
                err(f"{name}: only in reference: {x}")
        print("shape comparison with", a.like, "done")
    if errors:
        print(f"{len(errors)} problem(s)")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
