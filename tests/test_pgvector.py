#!/usr/bin/env python3
"""CLI tests of the pgvector target (postgresql://...?vectors=pgvector&table=NAME)
against a real pgvector: PGlite's socket server (PostgreSQL 18 + pgvector
0.8.7 compiled to WASM, npm packages installed into the build directory).
Checks the tables lstore writes against the PGVectorStore goldens in
shared/corpus/backends/pgvector (DDL, indexes, every row's text, metadata_
bytes, node_id, embedding), the way back to a folder store, and refusals.
Skipped, with the reason, without node/npm/psql or when npm cannot install.
Usage: test_pgvector.py PATH/TO/lstore"""
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

from support import CORPUS, free_port, have_corpus, read_bytes, wait_for

LSTORE = None
GOLDEN = os.path.join(CORPUS, "backends", "pgvector")
SOURCES = os.path.join(CORPUS, "llamaindex-0.12")
PACKAGES = ["@electric-sql/pglite@0.5.14", "@electric-sql/pglite-socket@0.2.17",
            "@electric-sql/pglite-pgvector@0.0.15"]
SERVER = None
PORT = None
PSQL = shutil.which("psql")


def skip(reason):
    print(f"SKIPPED: pgvector tests ({reason})", file=sys.stderr)
    raise unittest.SkipTest(reason)


def setUpModule():
    global SERVER, PORT
    if not have_corpus():
        skip("no corpus")
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm or not PSQL:
        skip("node, npm or psql not installed")
    deps = os.path.join(os.path.dirname(LSTORE), "pgvector-deps")
    server = os.path.join(deps, "node_modules", "@electric-sql", "pglite-socket", "dist", "scripts", "server.js")
    if not os.path.exists(server):
        os.makedirs(deps, exist_ok=True)
        p = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", deps, *PACKAGES],
                           capture_output=True, timeout=600)
        if p.returncode != 0 or not os.path.exists(server):
            skip(f"npm install of PGlite failed: {p.stderr.decode().strip().splitlines()[-1:]}")
    PORT = free_port()
    SERVER = subprocess.Popen([node, server, "-p", str(PORT), "-e", "@electric-sql/pglite-pgvector:vector"],
                              cwd=deps, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def listening():
        if SERVER.poll() is not None:
            raise AssertionError("pglite-server exited: " + SERVER.stderr.read().decode()[-2000:])
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
            return True
        except OSError:
            return False
    wait_for(listening, "PGlite's socket server", timeout=180)


def tearDownModule():
    if SERVER:
        SERVER.terminate()
        SERVER.wait(timeout=30)


def uri(params="table=llamaindex"):
    return f"postgresql://postgres@127.0.0.1:{PORT}/postgres?sslmode=disable&vectors=pgvector&{params}"


def run(*args, timeout=300):
    """lstore; again when PGlite refused the connection because it was still
    closing the previous one (it serves one at a time; real servers do not)."""
    for attempt in range(50):
        p = subprocess.run([LSTORE, *args], capture_output=True, timeout=timeout)
        err = p.stderr.decode()
        if "cannot connect to PostgreSQL" not in err or "closed the connection" not in err:
            break
        time.sleep(0.1)
    return p.returncode, p.stdout.decode(), err


def psql(sql):
    """One statement's rows as text (PGlite takes one connection at a time)."""
    p = subprocess.run([PSQL, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d",
                        f"postgresql://postgres@127.0.0.1:{PORT}/postgres?sslmode=disable", "-c", sql],
                       capture_output=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError(p.stderr.decode())
    return p.stdout.decode().rstrip("\n")


def psql_json(sql):
    out = psql(sql)
    return json.loads(out) if out else None


def reset_database():
    psql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")


def table_rows(table, hybrid=False):
    extra = ", text_search_tsv::text AS text_search_tsv" if hybrid else ""
    return psql_json("SELECT json_agg(row_to_json(t) ORDER BY id) FROM (SELECT id, text, metadata_::text AS metadata_, "
                     f"node_id, embedding::text AS embedding{extra} FROM {table}) t") or []


def table_shape(table):
    schema, name = table.split(".")
    cols = psql_json("SELECT json_agg(json_build_array(column_name, format_type(a.atttypid, a.atttypmod), is_nullable, "
                     "is_generated, generation_expression) ORDER BY ordinal_position) FROM information_schema.columns c "
                     "JOIN pg_attribute a ON a.attrelid = (quote_ident(c.table_schema) || '.' || quote_ident(c.table_name))::regclass "
                     f"AND a.attname = c.column_name WHERE table_schema = '{schema}' AND table_name = '{name}'")
    idx = psql_json(f"SELECT json_agg(indexdef ORDER BY indexname) FROM pg_indexes WHERE schemaname = '{schema}' "
                    f"AND tablename = '{name}'")
    return cols, idx


def golden_shape(t):
    cols = [[c["name"], c["format_type"], c["is_nullable"], c["is_generated"], c["generation_expression"]]
            for c in t["columns"]]
    return cols, sorted((i["definition"] for i in t["indexes"]), key=lambda d: d.split()[2 if "UNIQUE" not in d else 3])


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def float32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


class PgVectorTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lstore-pgvector-")
        reset_database()

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def convert_case(self, case, params="table=llamaindex", golden=None):
        golden = golden or case
        want = load_json(os.path.join(GOLDEN, golden + ".json"))
        if case == "empty":
            params += "&embed_dim=16"  # an empty store records no dimension (the golden's came from the queries)
        rc, out, err = run("convert", os.path.join(SOURCES, case, "persist"), uri(params))
        self.assertEqual(rc, 0, err)
        return want, err

    def check_tables(self, want, hybrid=False):
        for table, t in want["tables"].items():
            got_rows = table_rows(table, hybrid)
            self.assertEqual(len(got_rows), t["row_count"], table)
            for got, row in zip(got_rows, t["rows"]):
                for col in row:
                    self.assertEqual(got[col], row[col], f"{table} id {row['id']} {col}")
            cols, idx = table_shape(table)
            gcols, gidx = golden_shape(t)
            self.assertEqual(cols, gcols, table)
            self.assertEqual(sorted(idx), sorted(gidx), table)

    def test_cases_write_the_goldens_rows(self):
        for case in ("vector", "multi", "image", "empty"):
            with self.subTest(case=case):
                reset_database()
                want, err = self.convert_case(case)
                self.check_tables(want)
                # Only the namespaces with vectors (and the default one) have a table.
                tables = psql("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables "
                              "WHERE schemaname = 'public' AND tablename LIKE 'data_llamaindex%'")
                self.assertEqual(tables.split(","), sorted(t.split(".")[1] for t in want["tables"]))
                # The float32 loss is said, with counts.
                if case != "empty":
                    n = want["namespaces"]["default"]["count"]
                    self.assertIn(f"{n} of {n} embeddings of default__vector_store.json are float32", err)

    def test_hybrid_and_jsonb_variants(self):
        want, _ = self.convert_case("vector", "table=llamaindex&hybrid_search=true&text_search_config=english",
                                    "vector-hybrid")
        self.check_tables(want, hybrid=True)
        reset_database()
        want, _ = self.convert_case("vector", "table=llamaindex&use_jsonb=true", "vector-jsonb")
        self.check_tables(want)

    def test_table_name_is_lower_cased_and_hnsw_index_made(self):
        rc, _, err = run("convert", os.path.join(SOURCES, "vector", "persist"),
                         uri("table=My_Table&hnsw_m=16&hnsw_ef_construction=64"))
        self.assertEqual(rc, 0, err)
        self.assertEqual(psql("SELECT count(*) FROM public.data_my_table"), "12")
        idx = psql("SELECT indexdef FROM pg_indexes WHERE indexname = 'data_my_table_embedding_idx'")
        self.assertIn("USING hnsw (embedding vector_cosine_ops) WITH (m='16', ef_construction='64')", idx)

    def test_back_to_a_folder(self):
        for case in ("vector", "multi", "image", "empty"):
            with self.subTest(case=case):
                reset_database()
                self.convert_case(case)
                src = os.path.join(SOURCES, case, "persist")
                dst = os.path.join(self.tmp, case)
                rc, _, err = run("convert", uri("table=llamaindex" + ("&embed_dim=16" if case == "empty" else "")), dst)
                self.assertEqual(rc, 0, err)
                self.assertEqual(sorted(os.listdir(dst)), sorted(os.listdir(src)))
                for name in os.listdir(src):
                    if not name.endswith("__vector_store.json"):
                        self.assertEqual(read_bytes(os.path.join(dst, name)), read_bytes(os.path.join(src, name)), name)
                        continue
                    a, b = load_json(os.path.join(src, name)), load_json(os.path.join(dst, name))
                    self.assertEqual(list(b["embedding_dict"]), list(a["embedding_dict"]), name)
                    for k, v in a["embedding_dict"].items():
                        self.assertEqual(b["embedding_dict"][k], [float32(x) for x in v], f"{name} {k}")
                    self.assertEqual(b["text_id_to_ref_doc_id"], a["text_id_to_ref_doc_id"], name)
                    self.assertEqual(b["metadata_dict"], a["metadata_dict"], name)
                rc, out, err = run("validate", dst)
                self.assertEqual(rc, 0, out + err)

    def query(self, f, q, *extra):
        args = ["query", uri(), "--vector", json.dumps(f["query_embedding"]), "--top-k", str(q["top_k"]), "--json",
                *extra]
        if q["filters"] is not None:
            args += ["--filters", json.dumps(q["filters"])]
        if q["mode"] != "default":
            args += ["--mode", q["mode"]]
        return run(*args)

    def test_query_runs_in_the_server_as_pgvectorstore(self):
        """Every query of query_<case>.json: PGVectorStore's ids (tied ones as a set) and
        similarities within 2e-7, its refusals refused; node_ids, which it ignores, not passed."""
        checked = refused = 0
        for case in ("vector", "multi", "image"):
            reset_database()
            self.convert_case(case)
            want = load_json(os.path.join(GOLDEN, f"query_{case}.json"))
            meta = load_json(os.path.join(SOURCES, case, "persist", "default__vector_store.json"))["metadata_dict"]
            for fname, f in want["files"].items():
                if f.get("namespace", "default") != "default":
                    continue
                for q in f.get("queries", []):
                    label = f"{case} {fname} {q['name']}"
                    rc, out, err = self.query(f, q, "--with-metadata")
                    if q["name"].startswith("eq_author_with_quote") or q["name"].startswith("contains_value_with"):
                        # PGVectorStore's pasted SQL breaks on the quote; bound, it is a value.
                        self.assertEqual(rc, 0, label + err)
                        hits = json.loads(out)["results"]
                        flt = q["filters"]["filters"][0]
                        if flt["operator"] == "==":
                            match = [k for k, m in meta.items() if m.get(flt["key"]) == flt["value"]]
                            self.assertEqual(len(hits), min(len(match), q["top_k"]), label)
                            self.assertTrue(all(h["metadata"][flt["key"]] == flt["value"] for h in hits), label)
                        else:
                            self.assertEqual(hits, [], label)
                        continue
                    if "ids" not in q:
                        self.assertIn(rc, (2, 3), label + err)
                        self.assertEqual(len(err.strip().splitlines()), 1, label + err)
                        refused += 1
                        continue
                    self.assertEqual(rc, 0, label + err)
                    hits = json.loads(out)["results"]
                    ids = [h["id"] for h in hits]
                    if q["has_ties"]:
                        self.assertEqual(sorted(ids), sorted(q["ids"]), label)
                    else:
                        self.assertEqual(ids, q["ids"], label)
                    for h, sim in zip(sorted(hits, key=lambda h: -h["score"]), sorted(q["similarities"], reverse=True)):
                        self.assertAlmostEqual(h["score"], sim, delta=2e-7, msg=label)
                    checked += 1
        self.assertGreater(checked, 100)
        self.assertGreater(refused, 20)

    def insert_golden_table(self, case="vector", extra_rows=()):
        """The golden's DDL and rows, inserted as they are (no lstore tables, no docstore or
        index store tables): what a VectorStoreIndex built on PGVectorStore alone leaves."""
        want = load_json(os.path.join(GOLDEN, case + ".json"))
        with open(os.path.join(GOLDEN, case + ".schema.sql"), encoding="utf-8") as f:
            # Not its psql meta-commands, nor its empty search_path (PGlite's one session keeps settings).
            ddl = "\n".join(l for l in f.read().splitlines()
                            if not l.startswith("\\") and not l.startswith("--") and "search_path" not in l)
        psql("CREATE EXTENSION IF NOT EXISTS vector; " + ddl)

        def lit(v):
            return "NULL" if v is None else "'" + str(v).replace("'", "''") + "'"
        rows = want["tables"]["public.data_llamaindex"]["rows"] + list(extra_rows)
        psql("INSERT INTO public.data_llamaindex (id, text, metadata_, node_id, embedding) VALUES " +
             ", ".join(f"({r['id']}, {lit(r['text'])}, {lit(r['metadata_'])}, {lit(r['node_id'])}, "
                       f"{lit(r['embedding'])})" for r in rows))
        return rows

    def test_reads_a_table_pgvectorstore_wrote(self):
        """A table PGVectorStore wrote alone comes back as the folder store LlamaIndex persists
        after VectorStoreIndex(nodes) over a SimpleVectorStore: the corpus case's files, but for
        what the table does not keep (the float64 digits, the Documents' doc_hash records, the
        index id), each said in a note with its count."""
        self.insert_golden_table()
        dst = os.path.join(self.tmp, "back")
        rc, _, err = run("convert", uri(), dst)
        self.assertEqual(rc, 0, err)
        src_dir = os.path.join(SOURCES, "vector", "persist")
        self.assertEqual(sorted(os.listdir(dst)), sorted(os.listdir(src_dir)))
        for name in ("graph_store.json", "image__vector_store.json"):
            self.assertEqual(read_bytes(os.path.join(dst, name)), read_bytes(os.path.join(src_dir, name)), name)
        src = load_json(os.path.join(src_dir, "default__vector_store.json"))
        got = load_json(os.path.join(dst, "default__vector_store.json"))
        self.assertEqual(list(got["embedding_dict"]), list(src["embedding_dict"]))
        for k, v in src["embedding_dict"].items():
            self.assertEqual(got["embedding_dict"][k], [float32(x) for x in v], k)
        self.assertEqual(got["text_id_to_ref_doc_id"], src["text_id_to_ref_doc_id"])
        self.assertEqual(got["metadata_dict"], src["metadata_dict"])
        # docstore.json: every node and ref_doc_info entry as persisted, in add_documents'
        # collection order; docstore/metadata has the nodes' records, not the Documents'.
        want_doc = load_json(os.path.join(src_dir, "docstore.json"))
        got_doc = load_json(os.path.join(dst, "docstore.json"))
        self.assertEqual(list(got_doc), ["docstore/data", "docstore/metadata", "docstore/ref_doc_info"])
        self.assertEqual(list(got_doc["docstore/data"].items()), list(want_doc["docstore/data"].items()))
        self.assertEqual(list(got_doc["docstore/ref_doc_info"].items()),
                         list(want_doc["docstore/ref_doc_info"].items()))
        nodes = list(want_doc["docstore/data"])
        self.assertEqual(list(got_doc["docstore/metadata"].items()),
                         [(n, want_doc["docstore/metadata"][n]) for n in nodes])
        documents = [k for k in want_doc["docstore/metadata"] if k not in want_doc["docstore/data"]]
        self.assertEqual(len(documents), len(want_doc["docstore/ref_doc_info"]))
        # index_store.json: one vector_store IndexDict over the nodes, id -> id.
        want_idx = load_json(os.path.join(src_dir, "index_store.json"))["index_store/data"]
        got_idx = load_json(os.path.join(dst, "index_store.json"))["index_store/data"]
        self.assertEqual(len(got_idx), 1)
        (index_id, entry), = got_idx.items()
        (_, want_entry), = want_idx.items()
        self.assertEqual(entry["__type__"], "vector_store")
        data, want_data = json.loads(entry["__data__"]), json.loads(want_entry["__data__"])
        self.assertEqual(data["index_id"], index_id)
        self.assertEqual({k: v for k, v in data.items() if k != "index_id"},
                         {k: v for k, v in want_data.items() if k != "index_id"})
        # One note per kind of loss, with its count.
        self.assertIn("12 embeddings of public.data_llamaindex are float32", err)
        self.assertIn(f"the doc_hash records of the {len(documents)} source documents", err)
        self.assertIn(f"new id {index_id}", err)
        self.assertEqual(len([l for l in err.splitlines() if "note:" in l]), 3, err)
        # LlamaIndex's files: validate passes, and query answers the golden ids.
        rc, out, verr = run("validate", dst)
        self.assertEqual(rc, 0, out + verr)
        checked = 0
        for i in range(5):
            golden = load_json(os.path.join(SOURCES, "vector", "expected", f"query_default_{i}.json"))
            for q in golden["queries"]:
                if q["filters"] is not None or q["mode"] != "default" or q["node_ids"] or q["has_ties"]:
                    continue
                rc, out, qerr = run("query", dst, "--vector", json.dumps(golden["query_embedding"]),
                                    "--top-k", str(q["top_k"]), "--json")
                self.assertEqual(rc, 0, qerr)
                self.assertEqual([h["id"] for h in json.loads(out)["results"]], q["ids"], f"{i} {q['name']}")
                checked += 1
        self.assertGreater(checked, 5)
        # --strict refuses those losses before writing anything.
        strict_dst = os.path.join(self.tmp, "strict")
        rc, _, err = run("convert", "--strict", uri(), strict_dst)
        self.assertEqual(rc, 1, err)
        self.assertIn("--strict", err)
        self.assertFalse(os.path.exists(strict_dst))

    def test_rows_without_node_id_are_counted(self):
        """Rows with a NULL node_id have no key in a SimpleVectorStore: left out, and said."""
        rows = self.insert_golden_table()
        psql(f"INSERT INTO public.data_llamaindex (id, text, metadata_, node_id, embedding) SELECT 100, text, metadata_, "
             f"NULL, embedding FROM public.data_llamaindex WHERE id = {rows[0]['id']}")
        dst = os.path.join(self.tmp, "back")
        rc, _, err = run("convert", uri(), dst)
        self.assertEqual(rc, 0, err)
        self.assertIn("1 row of public.data_llamaindex has no node_id (NULL): left out", err)
        self.assertEqual(len(load_json(os.path.join(dst, "default__vector_store.json"))["embedding_dict"]), 12)
        self.assertEqual(len(load_json(os.path.join(dst, "docstore.json"))["docstore/data"]), 12)
        # Every command says it, not only convert: a listing would otherwise be silently partial.
        for args in (("ls",), ("ls", "nodes"), ("validate",)):
            rc, _, err = run(args[0], uri(), *args[1:])
            self.assertIn(rc, (0, 1), err)
            self.assertIn("warning: ", err)
            self.assertIn("has no node_id (NULL): left out", err)

    def test_refusals(self):
        src = os.path.join(SOURCES, "vector", "persist")
        rc, _, err = run("convert", src, f"postgresql://postgres@127.0.0.1:{PORT}/postgres?table=x")
        self.assertEqual(rc, 2, err)
        self.assertIn("add vectors=pgvector", err)
        rc, _, err = run("convert", src, uri("table=llamaindex&hnsw_m=16"))
        self.assertEqual(rc, 2, err)
        self.assertIn("hnsw_ef_construction", err)
        # --strict: the float32 rounding is a loss, refused before anything is written (exit 1).
        rc, _, err = run("convert", "--strict", src, uri())
        self.assertEqual(rc, 1, err)
        self.assertIn("float32", err)
        self.assertIn("--strict", err)
        self.assertEqual(psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), "0")
        # A table with rows is a non-empty target: refused, nothing written, unless --force.
        self.assertEqual(run("convert", src, uri())[0], 0)
        psql("DELETE FROM public.data_llamaindex WHERE id > 3")
        rc, _, err = run("convert", src, uri())
        self.assertEqual(rc, 3, err)
        self.assertIn("not empty", err)
        self.assertEqual(psql("SELECT count(*) FROM public.data_llamaindex"), "3")
        rc, _, err = run("convert", "--force", src, uri())
        self.assertEqual(rc, 0, err)
        self.assertEqual(psql("SELECT count(*) FROM public.data_llamaindex"), "12")
        # A vector without a docstore node cannot be a row: one error line naming it, nothing written.
        broken = os.path.join(self.tmp, "orphan")
        shutil.copytree(src, broken)
        vs = load_json(os.path.join(broken, "default__vector_store.json"))
        vs["embedding_dict"]["orphan-id"] = [0.5] * 16
        with open(os.path.join(broken, "default__vector_store.json"), "w", encoding="utf-8") as f:
            json.dump(vs, f)
        reset_database()
        rc, _, err = run("convert", broken, uri())
        self.assertEqual(rc, 3, err)
        self.assertIn("embedding_dict[orphan-id]", err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertEqual(psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), "0")


if __name__ == "__main__":
    LSTORE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
