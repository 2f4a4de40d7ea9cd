#!/usr/bin/env python3
"""Writes the lstore diff fixtures of this directory (see README.md).

Each fixture is a small store; `node/` is the base, and every `node-<field>/`
is that store with one field of node N1 (or N2) changed. Run it from anywhere:
it rewrites the fixtures next to itself, byte for byte the same each time."""
import base64
import copy
import hashlib
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATE = "{metadata_str}\n\n{content}"


def py_hash(text, metadata):
    """TextNode.hash: sha256 of the text and the metadata dict's repr (FORMAT.md §3.5)."""
    return hashlib.sha256((text + str(metadata)).encode("utf-8", "surrogatepass")).hexdigest()


DOC_HASH = "7145727f16405e278241b0b1946254b15f68ca14a4e4707067da3e125a2fba20"  # D1, FORMAT.md Appendix A


def related(node_id, node_type=None, metadata=None, hash_=None):
    return {"node_id": node_id, "node_type": node_type, "metadata": metadata or {}, "hash": hash_,
            "class_name": "RelatedNodeInfo"}


def text_node(id_, text, metadata, start, end, relationships, embedding=None, extra=None):
    """A TextNode's __data__ in LlamaIndex 0.12.35's field order (FORMAT.md §3.3)."""
    data = {"id_": id_, "embedding": embedding, "metadata": metadata, "excluded_embed_metadata_keys": [],
            "excluded_llm_metadata_keys": [], "relationships": relationships,
            "metadata_template": "{key}: {value}", "metadata_separator": "\n", "text": text,
            "mimetype": "text/plain", "start_char_idx": start, "end_char_idx": end, "metadata_seperator": "\n",
            "text_template": TEMPLATE}
    data.update(extra or {})
    data["class_name"] = "TextNode"
    return data


def base_nodes():
    """FORMAT.md Appendix A's two nodes; N2 also holds an inline embedding, a
    float in its metadata and a field LlamaIndex does not know."""
    source = lambda: related("D1", "4", {"file_name": "a.txt"}, DOC_HASH)  # noqa: E731 (one per node)
    n1_md = {"file_name": "a.txt"}
    n2_md = {"file_name": "a.txt", "version": 2.0}
    n1 = text_node("N1", "Hello", n1_md, 0, 5, {"1": source(), "3": related("N2")})
    n2 = text_node("N2", "world", n2_md, 6, 11, {"1": source(), "2": related("N1")}, embedding=[0.6, 1e-05],
                   extra={"custom": {"origin": {"page": 3}}})
    return {"N1": n1, "N2": n2}


def python_docstore(nodes):
    meta = {"D1": {"doc_hash": DOC_HASH}}
    for id_, n in nodes.items():
        meta[id_] = {"doc_hash": py_hash(n["text"], n["metadata"]), "ref_doc_id": "D1"}
    data = {id_: {"__data__": n, "__type__": "1"} for id_, n in nodes.items()}
    refs = {"D1": {"node_ids": list(nodes), "metadata": {"file_name": "a.txt"}}}
    return {"docstore/metadata": meta, "docstore/data": data, "docstore/ref_doc_info": refs}


def write(name, files):
    d = os.path.join(HERE, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for fname, content in files.items():
        with open(os.path.join(d, fname), "wb") as f:
            f.write(content if isinstance(content, bytes) else content.encode("utf-8"))


def python_store(nodes):
    return {"docstore.json": json.dumps(python_docstore(nodes))}


# One field of one node changed per fixture: (fixture, node, field, new value).
CHANGES = [
    ("node-start_char_idx", "N1", "start_char_idx", 1),
    ("node-end_char_idx", "N1", "end_char_idx", 6),
    ("node-text_template", "N1", "text_template", "{content}"),
    ("node-metadata_template", "N1", "metadata_template", "{key}={value}"),
    ("node-metadata_seperator", "N1", "metadata_seperator", " | "),
    ("node-excluded_embed_metadata_keys", "N1", "excluded_embed_metadata_keys", ["file_name"]),
    ("node-excluded_llm_metadata_keys", "N1", "excluded_llm_metadata_keys", ["file_name"]),
    ("node-mimetype", "N1", "mimetype", "text/markdown"),
    ("node-embedding", "N2", "embedding", [0.6, 2e-05]),
    ("node-id_", "N1", "id_", "N1-renamed"),
]


def ts_node_hash(type_word, node):
    """LlamaIndex.TS's hash (FORMAT.md §9): base64 sha256 of the type, the char
    indexes and the content with its metadata."""
    md = node["metadata"]
    md_str = node["metadataSeparator"].join(f"{k}: {js_str(md[k])}" for k in sorted(md))
    content = (md_str.strip() + "\n\n" + node["text"]).strip()
    start, end = node.get("startCharIdx", "undefined"), node.get("endCharIdx", "undefined")
    h = hashlib.sha256(f"type={type_word}startCharIdx={start} endCharIdx={end}{content}".encode())
    return base64.b64encode(h.digest()).decode()


def js_str(v):
    return ("%d" % v if float(v).is_integer() else repr(v)) if isinstance(v, (int, float)) else str(v)


def ts_store(nodes, keep_zero_start=True):
    """The base nodes as LlamaIndex.TS writes them (camelCase, __data__ a JSON
    string, compact JSON.stringify). With keep_zero_start=False, a 0
    startCharIdx is left out, as the splitter's output has it."""
    data, meta = {}, {"D1": {"docHash": "pesgpW8T/BtlrSQ/mx+X+/IP54/UcsGcEQWxJRVxQx4="}}
    for id_, n in nodes.items():
        rels = {}
        for code, r in n["relationships"].items():
            word = {"1": "SOURCE", "2": "PREVIOUS", "3": "NEXT"}[code]
            info = {"nodeId": r["node_id"], "metadata": r["metadata"], "hash": ""}
            if r["node_type"] == "4":
                info["nodeType"] = "DOCUMENT"
            rels[word] = info
        t = {"id_": n["id_"]}
        if n["embedding"] is not None:
            t["embedding"] = n["embedding"]
        t.update({"metadata": n["metadata"], "excludedEmbedMetadataKeys": [], "excludedLlmMetadataKeys": [],
                  "relationships": rels, "text": n["text"], "textTemplate": ""})
        if n["start_char_idx"] or keep_zero_start:
            t["startCharIdx"] = n["start_char_idx"]
        t["endCharIdx"] = n["end_char_idx"]
        t["metadataSeparator"] = "\n"
        for k in n:
            if k == "custom":
                t[k] = n[k]
        t["type"] = "TEXT"
        t["hash"] = ts_node_hash("TEXT", t)
        data[id_] = {"__data__": json.dumps(t, separators=(",", ":"), ensure_ascii=False), "__type__": "TEXT"}
        meta[id_] = {"docHash": t["hash"], "refDocId": "D1"}
    refs = {"D1": {"nodeIds": list(nodes), "extraInfo": {}}}
    doc = {"docstore/data": data, "docstore/metadata": meta, "docstore/ref_doc_info": refs}
    return {"doc_store.json": json.dumps(doc, separators=(",", ":"), ensure_ascii=False)}


def respelled(nodes):
    """The same store with every key order reversed, floats spelled another
    way and pretty-printed: equal by meaning."""
    def reverse(v):
        if isinstance(v, dict):
            return {k: reverse(x) for k, x in reversed(list(v.items()))}
        if isinstance(v, list):
            return [reverse(x) for x in v]
        return v
    text = json.dumps(reverse(python_docstore(nodes)), indent=2)
    return {"docstore.json": text.replace("1e-05", "0.00001").replace("0.6,", "6e-1,")}


def main():
    nodes = base_nodes()
    write("node", python_store(nodes))
    for fixture, node_id, field, value in CHANGES:
        changed = copy.deepcopy(nodes)
        changed[node_id][field] = value
        write(fixture, python_store(changed))
    changed = copy.deepcopy(nodes)
    changed["N1"]["relationships"]["1"]["hash"] = "0" * 64
    write("node-relationship-hash", python_store(changed))
    changed = copy.deepcopy(nodes)
    changed["N2"]["custom"]["origin"]["page"] = 4
    write("node-unknown-field", python_store(changed))
    changed = copy.deepcopy(nodes)
    changed["N2"]["metadata"]["version"] = 2  # an int where Python had a float
    write("node-int-for-float", python_store(changed))
    write("node-respelled", respelled(nodes))
    write("ts", ts_store(nodes))
    write("ts-no-zero-start", ts_store(nodes, keep_zero_start=False))
    # Files the model does not hold.
    kv = {"data": {"k1": {"a": 1, "b": [1, 2]}, "k2": {"c": "x"}}}
    faiss = b"IxF2" + bytes(range(64))
    write("files", dict(python_store(nodes), **{"faiss.index": faiss, "notes.txt": "kept beside the store\n",
                                                 "kvstore.json": json.dumps(kv)}))
    kv_respelled = {"data": {"k2": {"c": "x"}, "k1": {"b": [1, 2], "a": 1}}}
    write("files-changed", dict(python_store(nodes), **{"faiss.index": faiss[:-1] + b"\xff", "extra.bin": b"\x00\x01",
                                                         "kvstore.json": json.dumps(kv_respelled, indent=1)}))
    kv_changed = copy.deepcopy(kv)
    kv_changed["data"]["k1"]["b"] = [1, 3]
    write("files-kv", dict(python_store(nodes), **{"faiss.index": faiss, "notes.txt": "kept beside the store\n",
                                                    "kvstore.json": json.dumps(kv_changed)}))


if __name__ == "__main__":
    main()
