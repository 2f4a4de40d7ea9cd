#!/usr/bin/env python3
"""Generate a synthetic LlamaIndex 0.12.35 persist directory, deterministically.

    python3 bench/gen_store.py OUT_DIR --nodes N --dim D [--seed S] [--docs M]
                               [--layout documents|nodes] [--quiet]

Writes docstore.json, index_store.json, default__vector_store.json,
image__vector_store.json and graph_store.json byte-compatible with what
llama-index-core 0.12.35 `StorageContext.persist()` writes (see
shared/spec/FORMAT.md sections 2.2, 3, 4, 5 and Appendix A): Python json.dumps
defaults (", " / ": ", ensure_ascii, float repr, no trailing newline), insertion
key order, 0.12.35 TextNode field order, the index store's `__data__` as a JSON
string.

Layouts (--layout):
  documents (default) -- what `VectorStoreIndex.from_documents(docs)` with the
      default SentenceSplitter leaves (like corpus case `vector`):
      docstore/metadata first (one {"doc_hash"} record per source Document,
      0.12.28+ Document hash, then one {"doc_hash", "ref_doc_id"} record per
      node), then docstore/data, then docstore/ref_doc_info.  Nodes are
      overlapping chunks of the document text with code-point start/end
      offsets; SOURCE carries the document's metadata and hash, PREVIOUS the
      previous node's metadata and hash, NEXT an empty metadata and the hash of
      the next node's text with empty metadata (the splitter's quirk).
  nodes -- what `VectorStoreIndex(nodes)` leaves for nodes built by hand
      (like corpus case `big`, the "scale generator"): docstore/data first,
      then docstore/metadata (nodes only, no Document records), then
      docstore/ref_doc_info; SOURCE/PREVIOUS/NEXT without hashes; node
      metadata file_name/category/year/page/score.
      `--layout nodes --nodes 200 --dim 32 --docs 20 --seed 1234` has the
      same structure as shared/corpus/llamaindex-0.12/big/persist.

Output is streamed record by record: memory stays flat (one document's nodes
at a time) whatever N is.  Each output file is written sequentially; the
generator re-derives the documents once per collection from per-document
seeded RNGs instead of buffering anything.  Only Python's stdlib is used.
"""

import argparse
import array
import hashlib
import json
import math
import os
import random
import sys
import time
import uuid

# ---------------------------------------------------------------------------
# vocabulary

ASCII_WORDS = (
    "ancient batch bright buffer builds cache careful checks chunk coffee cosine counts delete "
    "dimension document embedding engine filter finds garden golden graph harbor index insert "
    "keeps keyword lantern latency library load memory merges metadata modern mountain node "
    "northern overlap parser persist query quiet rank rapid reads replica retrieval river schema "
    "score search shard signal silver similarity simple sorts splits storage store stream summary "
    "table token tree update vector window writes"
).split()
# non-ASCII words: Latin-1, other BMP scripts and astral code points (emoji,
# which json.dumps writes as a UTF-16 surrogate pair of \u escapes)
UNICODE_WORDS = [
    "caf\u00e9", "na\u00efve", "Z\u00fcrich", "gr\u00f6\u00dfe", "donn\u00e9es", "se\u00f1al",
    "\u00c5ngstr\u00f6m", "\u03b4\u03b5\u03b4\u03bf\u03bc\u03ad\u03bd\u03b1",
    "\u65e5\u672c\u8a9e", "\u691c\u7d22", "\u30d9\u30af\u30c8\u30eb", "\u0432\u0435\u043a\u0442\u043e\u0440",
    "\U0001f600", "\U0001f680", "r\u00e9sum\u00e9\u2728",
]
# tokens exercising JSON string escapes (quote, backslash, tab, slash)
ODD_WORDS = ['"quoted"', "back\\slash", "tab\there", "a/b", "it's"]

CATEGORIES = ["news", "blog", "paper", "memo", "wiki"]
TAGS = ["ml", "ops", "db", "ui", "ai", "\u65e5\u672c", "caf\u00e9", "infra"]
AUTHORS = [
    "Ada Lovelace", "Alan Turing", "Zo\u00eb \u00c5ngstr\u00f6m", "\u674e\u96f7 \U0001f600",
    "Jos\u00e9 M\u00fcller", "Brian O'Brien", 'Ann "Annie" O\'Neil', "Grace Hopper",
]
RATIOS = [1e-05, 2.5e-07, 1e16, 0.1, 123456789.125, -0.0, 1e22, 3.0]

NS_ROOT = uuid.UUID("6f1c2a52-6c1e-4c1b-9d87-4c5e3c2b1a00")


def word(rng):
    r = rng.random()
    if r < 0.04:
        return UNICODE_WORDS[int(rng.random() * len(UNICODE_WORDS))]
    if r < 0.045:
        return ODD_WORDS[int(rng.random() * len(ODD_WORDS))]
    return ASCII_WORDS[int(rng.random() * len(ASCII_WORDS))]


# ---------------------------------------------------------------------------
# LlamaIndex hashes (FORMAT.md 3.5)

def sha256_hex(s):
    return hashlib.sha256(s.encode("utf-8", "surrogatepass")).hexdigest()


def text_node_hash(text, metadata):
    """TextNode.hash: sha256(text + str(metadata)) -- str of a dict is its repr."""
    return sha256_hex(text + repr(metadata))


def document_hash(text, metadata, separator="\n"):
    """Document.hash in 0.12.28+: metadata string, then the text resource hash."""
    parts = []
    mstr = separator.join(f"{k}: {v}" for k, v in metadata.items())
    if mstr:
        parts.append(mstr)
    if text:  # an empty text means no text_resource at all
        parts.append(sha256_hex(text))
    return sha256_hex("-".join(parts))


# ---------------------------------------------------------------------------
# model objects (one document and its nodes at a time)

class Node:
    __slots__ = ("index", "id", "text", "metadata", "start", "end", "rels", "hash", "ref")


class Doc:
    __slots__ = ("index", "id", "text", "metadata", "hash", "nodes")


def related(node_id, node_type, metadata, hash_):
    return {"node_id": node_id, "node_type": node_type, "metadata": metadata,
            "hash": hash_, "class_name": "RelatedNodeInfo"}


class Generator:
    def __init__(self, n_nodes, dim, seed, n_docs, layout):
        self.n = n_nodes
        self.dim = dim
        self.seed = seed
        self.m = n_docs
        self.layout = layout
        self.ns = uuid.uuid5(NS_ROOT, f"lstore-gen/{seed}/{layout}")
        self.index_id = str(uuid.uuid5(self.ns, "index"))

    # node range of document j: [j*N//M, (j+1)*N//M)
    def node_range(self, j):
        return j * self.n // self.m, (j + 1) * self.n // self.m

    def docs(self):
        for j in range(self.m):
            yield self.make_doc(j)

    def make_doc(self, j):
        rng = random.Random(f"lstore/{self.seed}/{self.layout}/doc/{j}")
        lo, hi = self.node_range(j)
        d = Doc()
        d.index = j
        d.id = str(uuid.uuid5(self.ns, f"doc-{j}"))
        if self.layout == "nodes":
            self._fill_nodes_layout(d, rng, lo, hi)
        else:
            self._fill_documents_layout(d, rng, lo, hi)
        return d

    # -- layout "nodes": mirrors the corpus `big` case -----------------------
    def _fill_nodes_layout(self, d, rng, lo, hi):
        j = d.index
        d.metadata = {"file_name": f"file_{j:06d}.txt", "category": CATEGORIES[j % 5],
                      "year": 2000 + j % 25}
        d.text = None
        d.hash = None
        nodes = []
        for k, i in enumerate(range(lo, hi)):
            nd = Node()
            nd.index = i
            nd.id = str(uuid.uuid5(self.ns, f"node-{i}"))
            nd.ref = d.id
            nw = 36 + int(rng.random() * 27)
            nd.text = " ".join(word(rng) for _ in range(nw))
            nd.metadata = dict(d.metadata)
            nd.metadata["page"] = k
            nd.metadata["score"] = round(rng.random(), 4)
            nd.start = 0
            nd.end = len(nd.text)
            nd.hash = text_node_hash(nd.text, nd.metadata)
            nodes.append(nd)
        for k, nd in enumerate(nodes):
            rels = {"1": related(d.id, "4", d.metadata, None)}
            if k > 0:
                rels["2"] = related(nodes[k - 1].id, "1", {}, None)
            if k + 1 < len(nodes):
                rels["3"] = related(nodes[k + 1].id, "1", {}, None)
            nd.rels = rels
        d.nodes = nodes

    # -- layout "documents": from_documents + SentenceSplitter ---------------
    def _doc_metadata(self, rng, j):
        ntitle = 2 + int(rng.random() * 3)
        title = " ".join(word(rng) for _ in range(ntitle)).capitalize()
        ntags = 1 + int(rng.random() * 3)
        md = {
            "file_name": f"doc_{j:06d}.txt",
            "title": title,
            "category": CATEGORIES[j % 5],
            "author": AUTHORS[int(rng.random() * len(AUTHORS))],
            "year": 1990 + j % 35,
            "pages": 1 + int(rng.random() * 500),
            "score": round(rng.random(), 4),
            "published": rng.random() < 0.5,
            "tags": [TAGS[int(rng.random() * len(TAGS))] for _ in range(ntags)],
        }
        if j % 7 == 3:
            md["ratio"] = RATIOS[(j // 7) % len(RATIOS)]
        if j % 13 == 6:
            md["reviewer"] = None
        return md

    def _sentence(self, rng):
        nw = 5 + int(rng.random() * 10)
        s = " ".join(word(rng) for _ in range(nw))
        return s[:1].upper() + s[1:] + ".!?;."[int(rng.random() * 5)]

    def _fill_documents_layout(self, d, rng, lo, hi):
        j = d.index
        d.metadata = self._doc_metadata(rng, j)
        count = hi - lo
        # sentences of the document, grouped into chunks of 180..440 chars;
        # node k (k > 0) also repeats the last sentence of chunk k-1 (overlap)
        sents, seps, bounds = [], [], []
        for _ in range(count):
            a = len(sents)
            target = 180 + int(rng.random() * 260)
            size = 0
            while size < target:
                s = self._sentence(rng)
                sents.append(s)
                seps.append("\n\n" if rng.random() < 0.1 else " ")
                size += len(s) + 1
            bounds.append((a, len(sents)))
        if seps:
            seps[-1] = ""
        offs, pos = [], 0
        for s, sep in zip(sents, seps):
            offs.append(pos)
            pos += len(s) + len(sep)
        d.text = "".join(s + sep for s, sep in zip(sents, seps))
        d.hash = document_hash(d.text, d.metadata)
        nodes = []
        for k, (a, b) in enumerate(bounds):
            nd = Node()
            nd.index = lo + k
            nd.id = str(uuid.uuid5(self.ns, f"node-{lo + k}"))
            nd.ref = d.id
            first = a - 1 if k > 0 else a
            nd.start = offs[first]
            nd.end = offs[b - 1] + len(sents[b - 1])
            nd.text = d.text[nd.start:nd.end]
            nd.metadata = dict(d.metadata)
            nd.hash = text_node_hash(nd.text, nd.metadata)
            nodes.append(nd)
        for k, nd in enumerate(nodes):
            rels = {"1": related(d.id, "4", d.metadata, d.hash)}
            if k > 0:
                p = nodes[k - 1]
                rels["2"] = related(p.id, "1", p.metadata, p.hash)
            if k + 1 < len(nodes):
                nx = nodes[k + 1]
                # the splitter links NEXT before that node gets its metadata
                rels["3"] = related(nx.id, "1", {}, text_node_hash(nx.text, {}))
            nd.rels = rels
        d.nodes = nodes

    # -- embeddings ----------------------------------------------------------
    def embedding(self, i):
        """Deterministic unit vector (float32-representable values, like
        numpy embeddings turned into Python floats)."""
        rng = random.Random(f"lstore/{self.seed}/emb/{i}")
        r = rng.random
        v = [r() - 0.5 for _ in range(self.dim)]
        norm = math.sqrt(math.fsum(x * x for x in v)) or 1.0
        return array.array("f", [x / norm for x in v]).tolist()


# ---------------------------------------------------------------------------
# serialisation

D = json.dumps  # default separators (", ", ": "), ensure_ascii=True


def node_data(nd):
    """0.12.35 TextNode.to_dict() key order (FORMAT.md 3.3)."""
    return {
        "id_": nd.id,
        "embedding": None,
        "metadata": nd.metadata,
        "excluded_embed_metadata_keys": [],
        "excluded_llm_metadata_keys": [],
        "relationships": nd.rels,
        "metadata_template": "{key}: {value}",
        "metadata_separator": "\n",
        "text": nd.text,
        "mimetype": "text/plain",
        "start_char_idx": nd.start,
        "end_char_idx": nd.end,
        "metadata_seperator": "\n",
        "text_template": "{metadata_str}\n\n{content}",
        "class_name": "TextNode",
    }


class Out:
    """Buffered writer counting bytes."""

    def __init__(self, path):
        self.f = open(path, "w", encoding="ascii", newline="", buffering=1 << 20)
        self.bytes = 0

    def w(self, s):
        self.f.write(s)
        self.bytes += len(s)

    def close(self):
        self.f.close()


class Progress:
    def __init__(self, quiet, total):
        self.quiet = quiet
        self.total = total
        self.t0 = time.time()
        self.last = 0.0

    def __call__(self, label, done):
        if self.quiet:
            return
        now = time.time()
        if now - self.last >= 2.0 or done == self.total:
            self.last = now
            sys.stderr.write(f"\r  {label}: {done}/{self.total}  ({now - self.t0:.1f}s)   ")
            if done == self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()


class Fragment:
    """The items of one collection written by one part: `k: v, k: v` (or any
    pre-serialised items joined by ", "), without the braces around them."""

    def __init__(self, path):
        self.path = path
        self.f = open(path, "w", encoding="ascii", newline="", buffering=1 << 20)
        self.count = 0

    def item(self, text):
        if self.count:
            self.f.write(", ")
        self.f.write(text)
        self.count += 1

    def pair(self, k, v):
        self.item(k + ": " + v)

    def close(self):
        self.f.close()


# The collections every node (or document) contributes an item to, in the
# order their items are written into the store files.
FRAGMENTS = ("doc_meta", "node_meta", "data", "ref_doc_info", "nodes_dict",
             "embedding_dict", "text_id_to_ref_doc_id", "metadata_dict")


def esc(s):
    """A JSON string's inside: __data__ is JSON text escaped again by the
    outer dump, and escaping works code point by code point, so escaping the
    inner text piece by piece is exact."""
    return D(s)[1:-1]


def write_part(g, docs, frag_dir, progress=None):
    """Generates documents `docs` once and writes each one's items into one
    fragment file per collection (each document used to be re-derived once
    per collection: five times the work). Returns {name: item count}."""
    fr = {name: Fragment(os.path.join(frag_dir, name)) for name in FRAGMENTS}
    done = 0
    for j in docs:
        d = g.make_doc(j)
        if g.layout == "documents":
            fr["doc_meta"].pair(D(d.id), D({"doc_hash": d.hash}))
        if d.nodes:
            fr["ref_doc_info"].pair(D(d.id), D({"node_ids": [nd.id for nd in d.nodes],
                                                 "metadata": d.nodes[0].metadata}))
        for nd in d.nodes:
            nid = D(nd.id)
            ref = D(nd.ref)
            fr["node_meta"].pair(nid, D({"doc_hash": nd.hash, "ref_doc_id": nd.ref}))
            fr["data"].pair(nid, D({"__data__": node_data(nd), "__type__": "1"}))
            fr["nodes_dict"].item(esc(nid + ": " + nid))
            fr["embedding_dict"].pair(nid, D(g.embedding(nd.index)))
            fr["text_id_to_ref_doc_id"].pair(nid, ref)
            m = dict(nd.metadata)
            m["_node_type"] = "TextNode"
            m["document_id"] = nd.ref
            m["doc_id"] = nd.ref
            m["ref_doc_id"] = nd.ref
            fr["metadata_dict"].pair(nid, D(m))
            done += 1
            if progress and done % 1000 == 0:
                progress("nodes", done)
    for f in fr.values():
        f.close()
    return {name: f.count for name, f in fr.items()}


def _write_part_job(args):
    (n, dim, seed, n_docs, layout), lo, hi, frag_dir = args
    return write_part(Generator(n, dim, seed, n_docs, layout), range(lo, hi), frag_dir)


class Assembler:
    """Writes a store file from fragments: the parts' fragments of one
    collection joined by ", " in part order."""

    def __init__(self, path, part_dirs, counts):
        self.out = Out(path)
        self.part_dirs = part_dirs
        self.counts = counts  # per part: {name: count}

    def w(self, s):
        self.out.w(s)

    def has(self, *names):
        return any(c[name] for c in self.counts for name in names)

    def items(self, *names):
        """The items of `names` (one collection made of several fragments,
        in that order), without braces."""
        first = True
        for name in names:
            for part_dir, c in zip(self.part_dirs, self.counts):
                if not c[name]:
                    continue
                if not first:
                    self.w(", ")
                first = False
                path = os.path.join(part_dir, name)
                with open(path, "r", encoding="ascii", newline="") as f:
                    while True:
                        chunk = f.read(1 << 22)
                        if not chunk:
                            break
                        self.w(chunk)
                os.remove(path)  # joined once: the disk holds the store about once, not twice

    def map(self, *names):
        self.w("{")
        self.items(*names)
        self.w("}")

    def close(self):
        self.out.close()
        return self.out.bytes


def generate(out_dir, n, dim, seed, n_docs, layout, quiet=False, jobs=1):
    g = Generator(n, dim, seed, n_docs, layout)
    os.makedirs(out_dir, exist_ok=True)
    t0 = time.time()
    sizes = {}

    # ---- every document once, into fragments (in parallel parts with --jobs;
    # the parts split the documents into contiguous ranges, so the bytes are
    # the same for any number of jobs)
    frag_root = os.path.join(out_dir, ".gen-fragments")
    os.makedirs(frag_root, exist_ok=True)
    jobs = max(1, min(jobs, n_docs or 1))
    bounds = [(k * n_docs // jobs, (k + 1) * n_docs // jobs) for k in range(jobs)]
    part_dirs = [os.path.join(frag_root, str(k)) for k in range(jobs)]
    for d in part_dirs:
        os.makedirs(d, exist_ok=True)
    if jobs == 1:
        counts = [write_part(g, range(0, n_docs), part_dirs[0], Progress(quiet, n))]
    else:
        import multiprocessing
        spec = (n, dim, seed, n_docs, layout)
        with multiprocessing.Pool(jobs) as pool:
            counts = pool.map(_write_part_job, [(spec, lo, hi, d) for (lo, hi), d in zip(bounds, part_dirs)])
    if not quiet:
        sys.stderr.write(f"  generated {n} nodes in {jobs} part(s) ({time.time() - t0:.1f}s)\n")

    # ---- docstore.json: a KV-store object; empty collections are never
    # created (0.12.35)
    a = Assembler(os.path.join(out_dir, "docstore.json"), part_dirs, counts)
    if layout == "documents":
        collections = [("docstore/metadata", ("doc_meta", "node_meta")), ("docstore/data", ("data",)),
                       ("docstore/ref_doc_info", ("ref_doc_info",))]
    else:
        collections = [("docstore/data", ("data",)), ("docstore/metadata", ("node_meta",)),
                       ("docstore/ref_doc_info", ("ref_doc_info",))]
    a.w("{")
    first = True
    for name, frags in collections:
        if not a.has(*frags):
            continue
        if not first:
            a.w(", ")
        first = False
        a.w(D(name) + ": ")
        a.map(*frags)
    a.w("}")
    sizes["docstore.json"] = a.close()

    # ---- index_store.json: __data__ is the IndexDict's to_json() string
    a = Assembler(os.path.join(out_dir, "index_store.json"), part_dirs, counts)
    a.w('{"index_store/data": {' + D(g.index_id) + ': {"__type__": "vector_store", "__data__": "')
    a.w(esc('{"index_id": ' + D(g.index_id) + ', "summary": null, "nodes_dict": {'))
    a.items("nodes_dict")
    a.w(esc('}, "doc_id_dict": {}, "embeddings_dict": {}}'))
    a.w('"}}}')
    sizes["index_store.json"] = a.close()

    # ---- default__vector_store.json
    a = Assembler(os.path.join(out_dir, "default__vector_store.json"), part_dirs, counts)
    a.w('{"embedding_dict": ')
    a.map("embedding_dict")
    a.w(', "text_id_to_ref_doc_id": ')
    a.map("text_id_to_ref_doc_id")
    a.w(', "metadata_dict": ')
    a.map("metadata_dict")
    a.w("}")
    sizes["default__vector_store.json"] = a.close()

    for d in part_dirs:
        for name in FRAGMENTS:
            if os.path.exists(os.path.join(d, name)):  # an empty fragment is never joined
                os.remove(os.path.join(d, name))
        os.rmdir(d)
    os.rmdir(frag_root)

    # ---- constant files
    for name, text in (("image__vector_store.json",
                        '{"embedding_dict": {}, "text_id_to_ref_doc_id": {}, "metadata_dict": {}}'),
                       ("graph_store.json", '{"graph_dict": {}}')):
        with open(os.path.join(out_dir, name), "w", encoding="ascii", newline="") as f:
            f.write(text)
        sizes[name] = len(text)
    return sizes, time.time() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--nodes", type=int, required=True, help="number of TextNodes (N)")
    ap.add_argument("--dim", type=int, required=True, help="embedding dimension (D)")
    ap.add_argument("--seed", type=int, default=1234, help="RNG seed (default 1234, as corpus `big`)")
    ap.add_argument("--docs", type=int, default=None,
                    help="number of source documents (default ceil(N/10); nodes split evenly)")
    ap.add_argument("--layout", choices=("documents", "nodes"), default="documents",
                    help="documents: from_documents layout (default); nodes: like corpus `big`")
    ap.add_argument("--jobs", type=int, default=1,
                    help="generate in this many processes (same bytes for any number)")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    if a.nodes < 0:
        ap.error("--nodes must be >= 0")
    if a.dim < 1:
        ap.error("--dim must be >= 1")
    docs = a.docs if a.docs is not None else (a.nodes + 9) // 10
    if a.nodes == 0:
        docs = 0
    elif not 1 <= docs <= a.nodes:
        ap.error("--docs must be between 1 and --nodes")
    sizes, secs = generate(a.out_dir, a.nodes, a.dim, a.seed, docs, a.layout, a.quiet, a.jobs)
    if not a.quiet:
        total = sum(sizes.values())
        sys.stderr.write(f"wrote {a.out_dir}: N={a.nodes} D={a.dim} docs={docs} seed={a.seed} "
                         f"layout={a.layout}, {total} bytes in {secs:.1f}s\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
