#!/usr/bin/env python3
"""CLI tests of the PostgreSQL backend against private PostgreSQL servers
(initdb into temp dirs, loopback, free ports; stopped afterwards). Checks the
byte-exact round trip of every store, LlamaIndex's own tables (against the
goldens in shared/corpus/backends/postgres), reading what LlamaIndex wrote,
the commands on a PostgreSQL store, refusals, locking, passwords never shown,
and a server that goes away.
Usage: test_postgres.py PATH/TO/lstore"""
import atexit
import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

from support import (CHAT_012, CHAT_FIXTURE, CORPUS, KV_012, KV_FIXTURE, ROOT, assert_never_shown, chat_messages,
                     corpus_stores, every_command, every_write, free_port, have_corpus, kv_collections,
                     persist_dir_with_chat, read_bytes, tree, wait_for)

LSTORE = None
SAMPLE = os.path.join(ROOT, "testdata", "sample")
PRETTY = os.path.join(ROOT, "testdata", "pretty")
GOLDEN = os.path.join(CORPUS, "backends", "postgres")


def find_bin():
    """The directory of initdb/pg_ctl: Debian's newest, else PATH."""
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0,
                    reverse=True):
        if os.path.exists(os.path.join(d, "initdb")) and os.path.exists(os.path.join(d, "pg_ctl")):
            return d
    initdb = shutil.which("initdb")
    return os.path.dirname(os.path.realpath(initdb)) if initdb and shutil.which("pg_ctl") else None


PG_BIN = find_bin()
PSQL = (os.path.join(PG_BIN, "psql") if PG_BIN and os.path.exists(os.path.join(PG_BIN, "psql")) else shutil.which("psql"))


def run(*args, timeout=300, env=None, stdin=None):
    p = subprocess.run([LSTORE, *args], capture_output=True, timeout=timeout, env=env, input=stdin)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def lock_key(schema):
    """The advisory-lock key lstore takes for a schema: FNV-1a 64 of "lstore:<schema>", signed."""
    h = 14695981039346656037
    for b in ("lstore:" + schema).encode():
        h = ((h ^ b) * 1099511628211) % 2**64
    return h - 2**64 if h >= 2**63 else h


def sql_str(s):
    return "'" + s.replace("'", "''") + "'"


class Server:
    """A PostgreSQL server of our own in a temp dir. initdb refuses to run as
    root, so as root the cluster belongs to an unprivileged user."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="lstore-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.prefix = []
        if os.geteuid() == 0:
            user = "postgres"
            try:
                pwd.getpwnam(user)
            except KeyError:
                user = "nobody"
            os.chown(self.dir, pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid)
            self.prefix = ["runuser", "-u", user, "--"]
        try:
            self.as_user("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8",
                         "--locale=C")
            self.start()
        except BaseException:
            self.remove()
            raise

    def as_user(self, tool, *args):
        p = subprocess.run(self.prefix + [os.path.join(PG_BIN, tool), *args], capture_output=True, timeout=120)
        if p.returncode != 0:
            raise RuntimeError(f"{tool} failed: {p.stdout.decode()} {p.stderr.decode()}")

    def start(self):
        opts = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off "
                "-c full_page_writes=off")
        self.as_user("pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w", "-t", "60", "-o", opts, "start")

    def stop(self):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            subprocess.run(self.prefix + [os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", "immediate", "-w", "stop"],
                           capture_output=True, timeout=60)

    def remove(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def psql(self, sql, db="postgres", user="postgres", env=None):
        """Runs SQL (from stdin, so it may be long) and returns psql's unaligned output."""
        p = subprocess.run([PSQL, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
                            "-U", user, "-d", db], input=sql.encode(), capture_output=True, timeout=120, env=env)
        if p.returncode != 0:
            raise RuntimeError(f"psql failed: {p.stderr.decode()}")
        return p.stdout.decode()

    def query_json(self, sql, db="postgres"):
        """The JSON value an SQL query returns in its one cell."""
        out = self.psql(sql, db)
        return json.loads(out) if out.strip() else None

    def create_db(self, name):
        self.psql(f"DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name};")

    def uri(self, db="postgres", query="", user="postgres"):
        return f"postgresql://{user}@127.0.0.1:{self.port}/{db}{query}"

    def password_role(self, user, password, db):
        """A role owning database `db` that must give `password` (SCRAM) over
        loopback TCP; returns once the server asks for it."""
        self.psql(f"DROP DATABASE IF EXISTS {db}; DROP ROLE IF EXISTS {user}; "
                  f"CREATE ROLE {user} LOGIN PASSWORD {sql_str(password)}; CREATE DATABASE {db} OWNER {user};")
        hba = os.path.join(self.data, "pg_hba.conf")
        with open(hba) as f:
            rules = f.read()
        with open(hba, "w") as f:
            f.write(f"host all {user} 127.0.0.1/32 scram-sha-256\n" + rules)
        self.psql("SELECT pg_reload_conf()")

        def asks_for_password():
            try:
                self.psql("SELECT 1", db, user, env=dict(os.environ, PGPASSWORD="wrong"))
            except RuntimeError as e:
                if "password" in str(e):
                    return True
                raise
            return False

        wait_for(asks_for_password, f"pg_hba.conf's rule for {user}")  # a reload is asynchronous


SERVER = None
SERVERS = []


def new_server():
    s = Server()
    SERVERS.append(s)
    return s


@atexit.register
def tearDownModule():
    """Stops every server (also when interrupted) and removes its dir."""
    while SERVERS:
        SERVERS.pop().remove()


def setUpModule():
    global SERVER
    if not PG_BIN or not PSQL:
        print("SKIPPED: postgres backend tests (no initdb: install postgresql)", file=sys.stderr)
        raise unittest.SkipTest("no initdb")
    SERVER = new_server()


class Base(unittest.TestCase):
    schemas = 0

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lstore-pg-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def fresh(self, extra=""):
        """The URI of a schema nothing was written to yet."""
        Base.schemas += 1
        return SERVER.uri(query=f"?schema=s{Base.schemas}{extra}")

    def convert(self, *args, expect=0):
        rc, out, err = run("convert", *args)
        self.assertEqual(rc, expect, (args, out, err))
        return out, err

    def back(self, uri):
        """Converts `uri` back into a new directory and returns its files."""
        d = tempfile.mkdtemp(dir=self.tmp)
        os.rmdir(d)
        self.convert(uri, d)
        return tree(d)

    def golden(self, case):
        p = os.path.join(GOLDEN, case + ".json")
        if not os.path.exists(p):
            print(f"SKIPPED: postgres layout check against {p} (no corpus)", file=sys.stderr)
            self.skipTest("no corpus")
        with open(p) as f:
            return json.load(f)

    def snapshot(self, schema, db="postgres"):
        """Every row of lstore's and LlamaIndex's tables in a schema, as text."""
        out = {}
        for t, order in (("data_docstore", "id"), ("data_indexstore", "id"), ("lstore_store", "key"),
                         ("lstore_files", "seq"), ("lstore_entries", "file, collection, seq")):
            out[t] = SERVER.psql(f"SELECT * FROM {schema}.{t} ORDER BY {order}", db)
        return out


class RoundTripTest(Base):
    def test_every_store_round_trips_byte_for_byte(self):
        stores, corpus = corpus_stores()
        if not corpus:
            print(f"SKIPPED: postgres round trips of the corpus (no corpus at {CORPUS}); testdata only", file=sys.stderr)
        for store in stores:
            with self.subTest(store=store):
                uri = self.fresh()
                self.convert(store, uri)
                self.assertEqual(tree(store), self.back(uri))

    def test_force_replaces_a_store(self):
        uri = self.fresh()
        self.convert(SAMPLE, uri)
        self.convert(PRETTY, uri, "--force")
        self.assertEqual(tree(PRETTY), self.back(uri))
        self.convert(SAMPLE, uri, "--force")
        self.assertEqual(tree(SAMPLE), self.back(uri))

    def test_namespace(self):
        uri = self.fresh("&namespace=team")
        schema = uri.split("schema=")[1].split("&")[0]
        self.convert(SAMPLE, uri)
        doc_ns = SERVER.psql(f"SELECT DISTINCT namespace FROM {schema}.data_docstore ORDER BY 1").split()
        self.assertEqual(doc_ns, ["team/data", "team/metadata", "team/ref_doc_info"])
        self.assertEqual(SERVER.psql(f"SELECT DISTINCT namespace FROM {schema}.data_indexstore").split(), ["team/data"])
        self.assertEqual(tree(SAMPLE), self.back(uri))
        plain = uri.split("&")[0]
        rc, _, err = run("ls", plain)
        self.assertEqual(rc, 3)
        self.assertIn("no LlamaIndex store here", err)
        # lstore's tables hold one store per schema: another namespace is refused, even with --force.
        rc, _, err = run("convert", SAMPLE, plain, "--force")
        self.assertEqual(rc, 3)
        self.assertIn("namespace team", err)

    def test_embeddings_are_float8_arrays(self):
        uri = self.fresh()
        schema = uri.split("schema=")[1]
        self.convert(SAMPLE, uri)
        rows = SERVER.psql(f"SELECT value IS NULL, array_length(embedding, 1) FROM {schema}.lstore_entries "
                           "WHERE file = 'default__vector_store.json' AND collection = 'embedding_dict'").split()
        self.assertEqual(rows, ["t|8"] * 12)

    def test_entries_postgres_json_refuses_stay_in_lstore_tables(self):
        nan = os.path.join(CORPUS, "llamaindex-0.12", "nan", "persist")
        if not os.path.isdir(nan):
            print("SKIPPED: NaN docstore check (no corpus)", file=sys.stderr)
            self.skipTest("no corpus")
        uri = self.fresh()
        schema = uri.split("schema=")[1]
        self.convert(nan, uri)
        self.assertEqual(SERVER.psql(f"SELECT rows_in FROM {schema}.lstore_files WHERE name = 'docstore.json'").strip(),
                         "lstore_entries")
        self.assertEqual(SERVER.psql(f"SELECT count(*) FROM {schema}.data_docstore").strip(), "0")
        self.assertEqual(SERVER.psql(f"SELECT count(*) FROM {schema}.data_indexstore").strip(), "1")
        self.assertEqual(tree(nan), self.back(uri))


class LlamaIndexLayoutTest(Base):
    def table_facts(self, db, table):
        q = lambda sql: SERVER.query_json(sql, db)  # noqa: E731
        columns = q("SELECT json_agg(json_build_object('name', column_name, 'ordinal_position', ordinal_position, "
                    "'data_type', data_type, 'udt_name', udt_name, 'is_nullable', is_nullable, 'column_default', "
                    "column_default, 'character_maximum_length', character_maximum_length) ORDER BY ordinal_position) "
                    f"FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '{table}'")
        constraints = q("SELECT json_agg(json_build_object('name', conname, 'type', contype, 'definition', "
                        f"pg_get_constraintdef(oid))) FROM pg_constraint WHERE conrelid = 'public.{table}'::regclass")
        indexes = q("SELECT json_agg(json_build_object('name', indexname, 'definition', indexdef)) FROM pg_indexes "
                    f"WHERE schemaname = 'public' AND tablename = '{table}'")
        rows = q("SELECT coalesce(json_agg(json_build_array(id, key, namespace, value::text) ORDER BY id), '[]') "
                 f"FROM public.{table}")
        return columns, constraints, indexes, rows

    def test_tables_are_what_llamaindex_writes(self):
        for case in ("vector", "multi"):
            g = self.golden(case)
            db = "layout_" + case
            SERVER.create_db(db)
            self.convert(os.path.join(CORPUS, g["source"]), SERVER.uri(db))
            for name, facts in g["tables"].items():
                table = name.split(".")[1]
                columns, constraints, indexes, rows = self.table_facts(db, table)
                by_name = lambda xs: sorted(xs, key=lambda x: x["name"])  # noqa: E731
                self.assertEqual(columns, facts["columns"], (case, table))
                self.assertEqual(by_name(constraints), by_name(facts["constraints"]), (case, table))
                self.assertEqual(by_name(indexes), by_name(facts["indexes"]), (case, table))
                # Same rows in the same order: ids follow the file's order, as LlamaIndex's copy did.
                want = [[r["id"], r["key"], r["namespace"], r["value"]] for r in facts["rows"]]
                self.assertEqual(rows, want, (case, table))

    def load_golden(self, case):
        """A fresh database with the tables and rows LlamaIndex wrote (its DDL from the .sql dump)."""
        g = self.golden(case)
        db = "li_" + case.replace("-", "_")
        SERVER.create_db(db)
        with open(os.path.join(GOLDEN, case + ".sql")) as f:
            ddl = "".join(l for l in f if not l.startswith("\\"))  # \restrict: psql 15.14+ only
        SERVER.psql(ddl, db)
        inserts = []
        for name, facts in g["tables"].items():
            for r in facts["rows"]:
                inserts.append(f"INSERT INTO {name} (key, namespace, value) VALUES "
                               f"({sql_str(r['key'])}, {sql_str(r['namespace'])}, {sql_str(r['value'])});")
        SERVER.psql("\n".join(inserts), db)
        return g, SERVER.uri(db)

    def test_reads_what_llamaindex_wrote(self):
        for case in ("vector", "multi", "vector-jsonb", "multi-jsonb"):
            g, uri = self.load_golden(case)
            persist = os.path.join(CORPUS, g["source"])
            rc, out, err = run("ls", uri, "--json")
            self.assertEqual(rc, 0, err)
            got, want = json.loads(out), json.loads(run("ls", persist, "--json")[1])
            self.assertEqual(got["docstore"], want["docstore"], case)
            self.assertEqual(got["indexes"], want["indexes"], case)
            ids = lambda text: sorted(json.loads(l)["id"] for l in text.split("\n") if l)  # noqa: E731
            for what in ("nodes", "docs", "indexes"):
                rc, out, err = run("ls", uri, what, "--format", "ndjson")
                self.assertEqual(rc, 0, err)
                self.assertEqual(ids(out), ids(run("ls", persist, what, "--format", "ndjson")[1]), (case, what))
            if case.endswith("jsonb"):
                continue  # jsonb reorders metadata keys: node hashes differ (README.md)
            for what in ("nodes", "docs"):
                self.assertEqual(sorted(run("ls", uri, what, "--format", "ndjson")[1].splitlines()),
                                 sorted(run("ls", persist, what, "--format", "ndjson")[1].splitlines()), (case, what))
            rc, out, err = run("diff", persist, uri, "--json")
            d = json.loads(out)
            for part in ("nodes", "metadata", "ref_docs", "indexes"):
                for change in ("added", "removed", "changed"):
                    self.assertEqual(d[change][part], [], (case, part, change))
            node = json.loads(run("ls", persist, "nodes", "--format", "ndjson")[1].split("\n")[0])["id"]
            from_dir = json.loads(run("get", persist, node, "--json")[1])
            from_dir.pop("vectors")  # LlamaIndex keeps vectors elsewhere; these tables have none
            self.assertEqual(from_dir, json.loads(run("get", uri, node, "--json")[1]))

    def test_writes_into_llamaindex_jsonb_tables(self):
        g, uri = self.load_golden("vector-jsonb")
        persist = os.path.join(CORPUS, g["source"])
        rc, _, err = run("convert", persist, uri)
        self.assertEqual(rc, 3)  # LlamaIndex's rows are there
        self.assertIn("not empty", err)
        self.convert(persist, uri, "--force")
        db = uri.rsplit("/", 1)[1]
        self.assertEqual(SERVER.psql("SELECT DISTINCT pg_typeof(value) FROM public.data_docstore", db).strip(), "jsonb")
        ids = lambda text: sorted(json.loads(l)["id"] for l in text.split("\n") if l)  # noqa: E731
        self.assertEqual(ids(run("ls", uri, "nodes", "--format", "ndjson")[1]), ids(run("ls", persist, "nodes", "--format", "ndjson")[1]))


class CommandsTest(Base):
    def test_ls_get_query_validate_diff(self):
        uri = self.fresh()
        self.convert(SAMPLE, uri)
        for what in ("nodes", "docs", "indexes", "vectors", "collections"):
            self.assertEqual(run("ls", SAMPLE, what, "--format", "ndjson")[1], run("ls", uri, what, "--format", "ndjson")[1], what)
        node = json.loads(run("ls", SAMPLE, "nodes", "--format", "ndjson")[1].split("\n")[0])["id"]
        self.assertEqual(run("get", SAMPLE, node, "--json")[1], run("get", uri, node, "--json")[1])
        rc, out, err = run("validate", uri)
        self.assertEqual(rc, 0, out + err)
        q = ["--vector", ",".join(["0.1"] * 8), "--top-k", "3", "--json"]
        self.assertEqual(run("query", SAMPLE, *q)[1], run("query", uri, *q)[1])
        rc, out, err = run("diff", SAMPLE, uri, "--stat")
        self.assertEqual(rc, 0, out + err)

    def test_delete_and_put_write_what_they_write_on_a_directory(self):
        d = os.path.join(self.tmp, "dir")
        shutil.copytree(SAMPLE, d)
        uri = self.fresh()
        self.convert(d, uri)
        ref = json.loads(run("ls", d, "docs", "--format", "ndjson")[1].split("\n")[0])["id"]
        node = {"id": "put-1", "text": "Put text \u00e9", "metadata": {"k": "v"}, "ref_doc_id": "doc-put",
                "embedding": [0.5, 0, 0, 0, 0, 0, 0, 1]}
        for store in (d, uri):
            rc, _, err = run("delete", store, "--ref-doc", ref)
            self.assertEqual(rc, 0, (store, err))
        self.assertEqual(tree(d), self.back(uri))
        for store in (d, uri):
            rc, _, err = run("put", store, stdin=json.dumps(node).encode())
            self.assertEqual(rc, 0, (store, err))
        self.assertEqual(tree(d), self.back(uri))
        self.assertEqual(json.loads(run("get", uri, "put-1", "--json")[1])["node"]["__data__"]["text"], "Put text \u00e9")

    def test_changes_llamaindex_makes_are_seen(self):
        uri = self.fresh()
        schema = uri.split("schema=")[1]
        self.convert(SAMPLE, uri)
        # What PostgresDocumentStore's upsert and delete do to the rows.
        SERVER.psql(f"INSERT INTO {schema}.data_docstore (key, namespace, value) SELECT 'added-by-llamaindex', namespace, "
                    f"value FROM {schema}.data_docstore WHERE namespace = 'docstore/data' ORDER BY id LIMIT 1; "
                    f"DELETE FROM {schema}.data_docstore WHERE id = (SELECT min(id) FROM {schema}.data_docstore "
                    "WHERE namespace = 'docstore/metadata');")
        got = json.loads(run("ls", uri, "--json")[1])["docstore"]
        self.assertEqual((got["nodes"], got["metadata"]), (13, 15))
        self.assertEqual(json.loads(run("ls", uri, "nodes", "--format", "ndjson")[1].rstrip("\n").split("\n")[-1])["id"], "added-by-llamaindex")

    def test_backup_to_and_from_postgres(self):
        uri, backup = self.fresh(), self.fresh()
        self.convert(SAMPLE, uri)
        ref = json.loads(run("ls", SAMPLE, "docs", "--format", "ndjson")[1].split("\n")[0])["id"]
        rc, _, err = run("delete", uri, "--ref-doc", ref, "--backup", backup)
        self.assertEqual(rc, 0, err)
        self.assertEqual(tree(SAMPLE), self.back(backup))


# PostgresChatStore's table as SQLAlchemy creates it (corpus backends/postgres/chat.json).
def chat_ddl(schema, element):
    return (f"CREATE TABLE {schema}.data_chatstore (id SERIAL NOT NULL, key VARCHAR NOT NULL, value {element}[], "
            f'PRIMARY KEY (id), CONSTRAINT "data_chatstore:unique_key" UNIQUE (key)); '
            f'CREATE INDEX "data_chatstore:idx_key" ON {schema}.data_chatstore (key);')


class ChatTest(Base):
    """The chat store as LlamaIndex's PostgresChatStore keeps it:
    data_chatstore, one row per key, value json[] of model_dump_json()."""

    def elements(self, schema):
        out = SERVER.psql(f"SELECT json_agg(json_build_array(t.key, e.v::text) ORDER BY t.id, e.n) FROM "
                          f"{schema}.data_chatstore t, unnest(t.value) WITH ORDINALITY AS e(v, n)")
        return [tuple(x) for x in json.loads(out)]

    def test_table_is_what_postgreschatstore_writes(self):
        uri = self.fresh()
        schema = uri.split("schema=")[1]
        self.convert(CHAT_FIXTURE, uri)
        want = [(k, m) for k, msgs in chat_messages(CHAT_FIXTURE).items() for m in msgs]
        self.assertEqual([(k, json.loads(v)) for k, v in self.elements(schema)], want)
        self.assertEqual(read_bytes(CHAT_FIXTURE), self.back(uri)["chat_store.json"])
        if not os.path.exists(os.path.join(GOLDEN, "chat.json")):
            print("SKIPPED: PostgresChatStore golden rows (no corpus)", file=sys.stderr)
            return
        g = self.golden("chat")["tables"]["public.data_chatstore"]
        uri = self.fresh()
        schema = uri.split("schema=")[1]
        self.convert(CHAT_012, uri)
        self.assertEqual(self.elements(schema), [(r["key"], v) for r in g["rows"] for v in r["value_elements"]])
        cols = SERVER.psql(f"SELECT column_name, udt_name, is_nullable FROM information_schema.columns WHERE "
                           f"table_schema = '{schema}' AND table_name = 'data_chatstore' ORDER BY ordinal_position")
        self.assertEqual(cols.split(), [f"{c['name']}|{c['udt_name']}|{c['is_nullable']}" for c in g["columns"]])
        cons = SERVER.psql(f"SELECT conname || '=' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
                           f"'{schema}.data_chatstore'::regclass ORDER BY conname")
        self.assertEqual(cons.splitlines(), sorted(f"{c['name']}={c['definition']}" for c in g["constraints"]))
        idx = SERVER.psql(f"SELECT indexname FROM pg_indexes WHERE schemaname = '{schema}' AND "
                          "tablename = 'data_chatstore' ORDER BY indexname")
        self.assertEqual(idx.splitlines(), sorted(i["name"] for i in g["indexes"]))

    def test_reads_what_llamaindex_wrote(self):
        for jsonb in (False, True):
            with self.subTest(jsonb=jsonb):
                uri = self.fresh()
                schema = uri.split("schema=")[1]
                name = "chat-jsonb" if jsonb else "chat"
                if os.path.exists(os.path.join(GOLDEN, name + ".json")):
                    source, rows = CHAT_012, [(r["key"], r["value"]) for r in self.golden(name)["tables"]["public.data_chatstore"]["rows"]]
                else:
                    source = CHAT_FIXTURE
                    rows = [(k, "{" + ",".join('"' + json.dumps(m).replace("\\", "\\\\").replace('"', '\\"') + '"' for m in msgs) + "}")
                            for k, msgs in chat_messages(source).items()]
                SERVER.psql(f"CREATE SCHEMA {schema}; " + chat_ddl(schema, "JSONB" if jsonb else "JSON") + "".join(
                    f"INSERT INTO {schema}.data_chatstore (key, value) VALUES ({sql_str(k)}, {sql_str(v)});" for k, v in rows))
                for key in chat_messages(source):
                    rc, out, err = run("get", uri, key, "--json")
                    self.assertEqual(rc, 0, err)
                    got, want = json.loads(out), json.loads(run("get", source, key, "--json")[1])
                    self.assertEqual(got, want)
                got = self.back(uri)["chat_store.json"]
                self.assertEqual(json.loads(got)["store"], chat_messages(source))
                if not jsonb:
                    self.assertEqual(got, read_bytes(source))  # what SimpleChatStore.persist writes

    def test_jsonb_table_keeps_the_file_byte_for_byte(self):
        uri = self.fresh()
        schema = uri.split("schema=")[1]
        SERVER.psql(f"CREATE SCHEMA {schema}; " + chat_ddl(schema, "JSONB"))
        self.convert(CHAT_FIXTURE, uri)
        self.assertEqual(SERVER.psql(f"SELECT DISTINCT pg_typeof(value) FROM {schema}.data_chatstore").strip(), "jsonb[]")
        self.assertEqual(read_bytes(CHAT_FIXTURE), self.back(uri)["chat_store.json"])

    def test_changes_llamaindex_makes_are_seen(self):
        d = persist_dir_with_chat(self.tmp, SAMPLE)
        uri = self.fresh()
        schema = uri.split("schema=")[1]
        self.convert(d, uri)
        self.assertEqual(tree(d), self.back(uri))
        # What PostgresChatStore.add_message (array_cat) and delete_messages do.
        msg = {"role": "user", "additional_kwargs": {}, "blocks": [{"block_type": "text", "text": "noch eine \u00fc"}]}
        SERVER.psql(f"UPDATE {schema}.data_chatstore SET value = array_cat(value, ARRAY[{sql_str(json.dumps(msg))}::json]) "
                    f"WHERE key = 'bob/session 2'; DELETE FROM {schema}.data_chatstore WHERE key = 'alice';")
        for cmd in (["put", d, "--chat", "bob/session 2", "--message", json.dumps(msg)], ["delete", d, "--chat", "alice"]):
            rc, _, err = run(*cmd)
            self.assertEqual(rc, 0, (cmd, err))
        self.assertEqual(tree(d), self.back(uri))
        # And lstore's own edit lands in LlamaIndex's row.
        rc, _, err = run("delete", uri, "--chat", "bob/session 2", "--last")
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.elements(schema)), 2)


class KvTest(Base):
    """A standalone KV file as LlamaIndex's PostgresKVStore keeps it:
    data_kvstore rows, namespace = the collection, value json.dumps."""

    def rows(self, schema):
        out = SERVER.psql(f"SELECT json_agg(json_build_array(id, key, namespace, value::text) ORDER BY id) "
                          f"FROM {schema}.data_kvstore")
        return [tuple(x) for x in json.loads(out)] if out.strip() else []

    def test_rows_are_what_postgreskvstore_writes(self):
        for kv in [KV_FIXTURE] + ([KV_012] if os.path.exists(KV_012) else []):
            with self.subTest(kv=kv):
                uri = self.fresh()
                schema = uri.split("schema=")[1]
                self.convert(kv, uri)
                want = [(k, coll, json.dumps(v)) for coll, entries in kv_collections(kv).items() for k, v in entries.items()]
                self.assertEqual([r[1:] for r in self.rows(schema)], want)
                self.assertEqual(read_bytes(kv), self.back(uri)["kvstore.json"])
        if not os.path.exists(os.path.join(GOLDEN, "kvstore.json")):
            print("SKIPPED: PostgresKVStore golden rows (no corpus)", file=sys.stderr)
            return
        g = self.golden("kvstore")["tables"]["public.data_kvstore"]
        uri = self.fresh()
        schema = uri.split("schema=")[1]
        self.convert(KV_012, uri)
        self.assertEqual(self.rows(schema), [(r["id"], r["key"], r["namespace"], r["value"]) for r in g["rows"]])
        idx = SERVER.psql(f"SELECT indexname FROM pg_indexes WHERE schemaname = '{schema}' AND "
                          "tablename = 'data_kvstore' ORDER BY indexname")
        self.assertEqual(idx.splitlines(), sorted(i["name"] for i in g["indexes"]))

    def test_reads_what_llamaindex_wrote(self):
        source = KV_012 if os.path.exists(KV_012) else KV_FIXTURE
        uri = self.fresh()
        schema = uri.split("schema=")[1]
        SERVER.psql(f"CREATE SCHEMA {schema}; CREATE TABLE {schema}.data_kvstore (id SERIAL NOT NULL, key VARCHAR NOT NULL, "
                    "namespace VARCHAR NOT NULL, value JSON, PRIMARY KEY (id), CONSTRAINT \"data_kvstore:unique_key_namespace\" "
                    "UNIQUE (key, namespace));" + "".join(
                        f"INSERT INTO {schema}.data_kvstore (key, namespace, value) VALUES ({sql_str(k)}, {sql_str(coll)}, "
                        f"{sql_str(json.dumps(v))});" for coll, entries in kv_collections(source).items() for k, v in entries.items()))
        rc, out, err = run("ls", uri, "collections", "--format", "ndjson")
        self.assertEqual(rc, 0, err)
        self.assertEqual([json.loads(l)["id"] for l in out.split("\n") if l], list(kv_collections(source)))
        self.assertEqual(self.back(uri)["kvstore.json"], read_bytes(source))  # what SimpleKVStore.persist writes

    def test_changes_llamaindex_makes_are_seen(self):
        d = os.path.join(self.tmp, "d")
        os.mkdir(d)
        shutil.copy(KV_FIXTURE, os.path.join(d, "kvstore.json"))
        uri = self.fresh()
        schema = uri.split("schema=")[1]
        self.convert(d, uri)
        value = json.dumps({"added": "by llamaindex"})
        SERVER.psql(f"INSERT INTO {schema}.data_kvstore (key, namespace, value) VALUES ('k3', 'team/a b', {sql_str(value)}); "
                    f"DELETE FROM {schema}.data_kvstore WHERE key = 'cfg' AND namespace = 'data';")
        for cmd in (["put", d, "--collection", "team/a b", "--key", "k3", "--value", value],
                    ["delete", d, "--collection", "data", "--key", "cfg"]):
            rc, _, err = run(*cmd)
            self.assertEqual(rc, 0, (cmd, err))
        self.assertEqual(tree(d), self.back(uri))


class RefusalTest(Base):
    def test_non_empty_target_needs_force(self):
        uri = self.fresh()
        schema = uri.split("schema=")[1]
        self.convert(SAMPLE, uri)
        before = self.snapshot(schema)
        _, err = self.convert(PRETTY, uri, expect=3)
        self.assertIn("not empty", err)
        self.assertIn("--force", err)
        self.assertEqual(self.snapshot(schema), before)
        self.assertEqual(tree(SAMPLE), self.back(uri))

    def test_a_failed_write_changes_nothing(self):
        uri = self.fresh()
        schema = uri.split("schema=")[1]
        self.convert(SAMPLE, uri)
        before = self.snapshot(schema)
        # A key PostgreSQL text cannot hold fails the write half way: rolled back.
        bad = os.path.join(self.tmp, "bad")
        shutil.copytree(SAMPLE, bad)
        with open(os.path.join(bad, "graph_store.json"), "w") as f:
            f.write('{"graph_dict": {"a\\u0000b": [["r", "o"]]}}')
        rc, _, err = run("convert", bad, uri, "--force")
        self.assertEqual(rc, 3, err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertEqual(self.snapshot(schema), before)

    def test_empty_schema(self):
        rc, out, err = run("ls", self.fresh())
        self.assertEqual(rc, 3)
        self.assertIn("no LlamaIndex store here", err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)

    def test_held_lock(self):
        uri = self.fresh()
        schema = uri.split("schema=")[1]
        self.convert(SAMPLE, uri)
        holder = subprocess.Popen([PSQL, "-X", "-q", "-h", "127.0.0.1", "-p", str(SERVER.port), "-U", "postgres"],
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            key = lock_key(schema) % 2**64
            holder.stdin.write(f"SELECT pg_advisory_lock({lock_key(schema)});\n".encode())
            holder.stdin.flush()
            wait_for(lambda: SERVER.psql(f"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
                                         f"classid = {key >> 32} AND objid = {key & 0xffffffff}").strip() != "0",
                     "psql's advisory lock")
            ref = json.loads(run("ls", SAMPLE, "docs", "--format", "ndjson")[1].split("\n")[0])["id"]
            rc, _, err = run("delete", uri, "--ref-doc", ref)
            self.assertEqual(rc, 3)
            self.assertIn("locked by another writer", err)
            self.assertIn("pid", err)
        finally:
            holder.stdin.close()
            holder.wait(timeout=30)
        # The server drops a lock of a session that ended a moment after psql exits: --wait for it.
        self.assertEqual(run("delete", uri, "--ref-doc", ref, "--wait", "60")[0], 0)


class PasswordTest(Base):
    SECRET = "s3cr3t-Pw-never-shown"

    def test_password_is_never_printed(self):
        SERVER.password_role("pwuser", self.SECRET, "pwdb")
        good = f"postgresql://pwuser:{self.SECRET}@127.0.0.1:{SERVER.port}/pwdb"
        bad = f"postgresql://pwuser:wrong-{self.SECRET}@127.0.0.1:{SERVER.port}/pwdb"
        bare = f"postgresql://pwuser@127.0.0.1:{SERVER.port}/pwdb"
        param = f"postgresql://pwuser@127.0.0.1:{SERVER.port}/pwdb?password={self.SECRET}&schema=public"
        env_good = dict(os.environ, PGPASSWORD=self.SECRET)
        env_bad = dict(os.environ, PGPASSWORD="wrong-" + self.SECRET)
        outputs = []
        for args, env, expect in (
                (["convert", SAMPLE, good, "--json"], None, 0),
                (["ls", good], None, 0),
                (["ls", good, "--json"], None, 0),
                (["ls", bad], None, 3),
                (["ls", bad], env_good, 3),
                (["ls", bare], env_good, 0),
                (["ls", bare], env_bad, 3),
                (["ls", param], None, 0),
                (["convert", SAMPLE, good], None, 3),  # not empty
                (["convert", SAMPLE, bare], env_good, 3),
                (["validate", good, "--format", "json"], None, 0),
                (["diff", SAMPLE, good, "--stat"], None, 0),
                (["ls", f"postgresql://pwuser:{self.SECRET}@127.0.0.1:{free_port()}/pwdb"], None, 3),
                (["ls", f"postgresql://pwuser:{self.SECRET}@127.0.0.1:{SERVER.port}/pwdb?bogus=1"], None, 3)):
            rc, out, err = run(*args, env=env)
            self.assertEqual(rc, expect, (args, err))
            if rc == 3:  # one line, and a hint at most
                self.assertLessEqual(len(err.strip().splitlines()), 2, err)
                self.assertTrue(err.startswith("lstore: "), err)
            outputs.append(out + err)
        self.assertIn("pwuser:***@127.0.0.1", outputs[1])
        for text in outputs:
            self.assertNotIn(self.SECRET, text)
            self.assertNotIn("never-shown", text)


class PasswordEverywhereTest(Base):
    """Every command, in every output format, plainly, with -v and with its
    progress bar on a terminal, against a server that wants a password: the
    password is in nothing lstore prints (spec/CLI.md). The password has a
    raw '@' and ':' in it, which a URI should escape but lstore takes as
    written (the user info ends at the last '@'); it is given in the URI,
    percent-escaped, as ?password= and in PGPASSWORD."""
    SECRET = "Pg@s3cr3t:pw-never-shown"
    PIECES = (SECRET, "s3cr3t", "never-shown", "Pg%40s3cr3t")

    def test_every_command(self):
        SERVER.password_role("pwall", self.SECRET, "pwalldb")
        hostpart = f"127.0.0.1:{SERVER.port}/pwalldb"
        check = lambda variant, cases, env=None: assert_never_shown(self, LSTORE, self.PIECES, variant, cases, env)  # noqa: E731
        store = f"postgresql://pwall:{self.SECRET}@{hostpart}"
        findings = store + "?schema=pretty"
        check("terminal", [(["convert", SAMPLE, store], None, 0), (["convert", PRETTY, findings], None, 0)])
        for variant in ("plain", "verbose", "terminal"):
            shown = check(variant, every_command(LSTORE, store, findings, SAMPLE, os.path.join(self.tmp, variant)))
            if variant == "verbose":
                self.assertIn("lstore: read postgresql://pwall:***@127.0.0.1", shown)  # -v's notes name the store
            if variant == "terminal":
                self.assertIn("] 100%", shown)  # the bar was drawn
                self.assertIn("validate postgresql://pwall:***@127.0.0.1", shown)
        check("terminal", every_write(LSTORE, store, SAMPLE, self.tmp))
        # The same password written other ways.
        escaped = f"postgresql://pwall:{self.SECRET.replace('@', '%40')}@{hostpart}"
        param = f"postgresql://pwall@{hostpart}?password={self.SECRET.replace('@', '%40')}"
        bare = f"postgresql://pwall@{hostpart}"
        env = dict(os.environ, PGPASSWORD=self.SECRET)
        for name, uri, env in (("escaped", escaped, None), ("param", param, None), ("env", bare, env)):
            with self.subTest(name):
                sep = "&" if "?" in uri else "?"
                check("terminal", every_command(LSTORE, uri, uri + sep + "schema=pretty", SAMPLE,
                                                os.path.join(self.tmp, name)), env)
        # Refused: a wrong password, no server, a bad parameter, a stray argument.
        wrong = f"postgresql://pwall:wrong-{self.SECRET}@{hostpart}"
        check("plain", [
            (["ls", wrong], None, 3), (["validate", wrong, "--format", "sarif"], None, 3),
            (["get", f"postgresql://pwall:{self.SECRET}@127.0.0.1:{free_port()}/pwalldb", "x"], None, 3),
            (["ls", store + "?bogus=1"], None, 3), (["ls", store + "?schema="], None, 2),
            (["diff", SAMPLE, SAMPLE, store], None, 2)])  # a usage error quoting the argument
        check("plain", [(["ls", bare], None, 3)], dict(os.environ, PGPASSWORD="wrong-" + self.SECRET))


class ServerGoneTest(Base):
    def test_stopped_server(self):
        server = new_server()
        uri = server.uri()
        self.convert(SAMPLE, uri)
        server.stop()
        for args in (["ls", uri], ["convert", uri, os.path.join(self.tmp, "out")], ["convert", SAMPLE, uri, "--force"]):
            start = time.time()
            rc, out, err = run(*args, timeout=60)
            self.assertEqual(rc, 3, err)
            self.assertEqual(len(err.strip().splitlines()), 1, err)
            self.assertIn("cannot connect to PostgreSQL", err)  # the engine named, as mid-transaction
            self.assertNotIn("Traceback", err)
            self.assertLess(time.time() - start, 10)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "out")))

    def test_server_stopped_during_convert_leaves_the_old_store(self):
        server = new_server()
        uri = server.uri()
        self.convert(SAMPLE, uri)
        # A session of ours holds a SHARE lock on data_docstore: lstore's
        # writer reads and empties its own tables, then waits there, inside its
        # transaction, for as long as we like. The server is stopped only then
        # (not after a guess at how long lstore takes to get there).
        holder = subprocess.Popen([PSQL, "-X", "-q", "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres"],
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            holder.stdin.write(b"BEGIN; LOCK TABLE public.data_docstore IN SHARE MODE;\n")
            holder.stdin.flush()
            wait_for(lambda: server.psql("SELECT count(*) FROM pg_locks WHERE relation = 'public.data_docstore'::regclass "
                                         "AND mode = 'ShareLock' AND granted").strip() != "0", "our SHARE lock")
            p = subprocess.Popen([LSTORE, "convert", PRETTY, uri, "--force"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            # lstore's writer is waiting for our lock and has written already (it has a transaction id).
            wait_for(lambda: p.poll() is not None or server.psql(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'lstore' AND wait_event_type = 'Lock' "
                "AND backend_xid IS NOT NULL").strip() != "0", "lstore's writer waiting for our lock")
            if p.poll() is not None:
                self.fail(f"lstore ended before the server stopped: {p.communicate()}")
            server.stop()
            _, err = p.communicate(timeout=60)
        finally:
            holder.stdin.close()
            holder.wait(timeout=60)
        server.start()
        self.assertEqual(p.returncode, 3, err)
        self.assertEqual(len(err.decode().strip().splitlines()), 1, err)
        self.assertIn("PostgreSQL error", err.decode())
        self.assertEqual(tree(SAMPLE), self.back(uri))

if __name__ == "__main__":
    LSTORE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=1)
