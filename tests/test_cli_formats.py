#!/usr/bin/env python3
"""CLI tests of the output contract (lstore-json(5), lstore(1)): every command
in every --format read back by a real parser (Python's json and csv; TSV
unescaped and compared with the CSV; ElementTree and xmllint for JUnit; the
SARIF 2.1.0 schema through ajv, installed from npm into the build directory,
skipped with the reason when npm cannot), the same records in every format,
TERM=dumb, plurals, the progress bar's rate, stdout failures and closed pipes
in every format, completion through bash's own machinery, and the README tour
byte for byte. Usage: test_cli_formats.py PATH/TO/lstore"""
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
import xml.etree.ElementTree as ET

from support import ROOT, run_on_terminal

LSTORE = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else "build/lstore"
SAMPLE = os.path.join(ROOT, "testdata", "sample")
PRETTY = os.path.join(ROOT, "testdata", "pretty")  # validate warns about it
TS = os.path.join(ROOT, "testdata", "ts-basic")
FORMATS = ("table", "json", "ndjson", "csv", "tsv")
NODE = {"id": "fmt-node", "text": "one\ttwo\nthree", "ref_doc_id": "fmt-doc", "embedding": [0.25] * 8}


def env_without_colour(extra=None):
    e = dict(os.environ)
    e.pop("NO_COLOR", None)
    e.update(extra or {})
    return e


def run(*args, stdin=None, env=None):
    p = subprocess.run([LSTORE, *args], capture_output=True, input=stdin, env=env or env_without_colour(), timeout=120)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8")


def ndjson(text):
    # Lines end at "\n" only: a text may hold U+2028 or U+0085, which str.splitlines() also splits at.
    return [json.loads(line) for line in text.split("\n") if line]


def tsv_rows(text):
    """TSV records, their \\t \\n \\r \\\\ escapes undone."""
    unescape = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}
    rows = []
    for line in text.split("\n")[:-1]:
        rows.append([re.sub(r"\\(.)", lambda m: unescape[m.group(1)], cell) for cell in line.split("\t")])
    return rows


def same_value(cell, value):
    """A CSV / TSV cell holds this JSON value: a string whole, null empty,
    anything else as JSON."""
    if value is None:
        return cell == ""
    if isinstance(value, str):
        return cell == value
    return json.loads(cell) == value


class Fixture:
    """Stores for the commands to read: a copy of the sample with a node whose
    text holds a tab and a line break, and a copy with one ref doc deleted."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="lstore-formats-")
        self.store = os.path.join(self.tmp, "store")
        shutil.copytree(SAMPLE, self.store)
        rc, _, err = run("put", self.store, stdin=json.dumps(NODE).encode())
        assert rc == 0, err
        self.changed = os.path.join(self.tmp, "changed")
        shutil.copytree(self.store, self.changed)
        self.ref = json.loads(run("ls", SAMPLE, "docs", "--json")[1])[0]["id"]
        rc, _, err = run("delete", self.changed, "--ref-doc", self.ref)
        assert rc == 0, err
        self.node = json.loads(run("ls", SAMPLE, "nodes", "--json")[1])[0]["id"]

    def cases(self, fmt):
        """(kind, arguments, stdin, exit code): kind is what --format json
        prints: a listing (an array), an object, or a value."""
        s = self.store
        cases = [("object", ["ls", s], None, 0), ("listing", ["ls", s, TS], None, 0)]
        cases += [("listing", ["ls", s, what], None, 0)
                  for what in ("nodes", "docs", "indexes", "vectors", "graph", "collections", "chat", "files")]
        cases += [("listing", ["ls", s, TS, "nodes"], None, 0),
                  ("object", ["get", s, "fmt-node"], None, 0), ("value", ["get", s, "fmt-node", "--field", "metadata"], None, 0),
                  ("listing", ["validate", "--list-rules"], None, 0), ("object", ["validate", PRETTY, s], None, 0),
                  ("object", ["query", s, "--like", self.node, "--top-k", "3", "--with-metadata"], None, 0),
                  ("object", ["diff", s, self.changed], None, 1), ("object", ["diff", s, s], None, 0),
                  ("object", ["delete", s, "--ref-doc", self.ref, "--dry-run"], None, 0),
                  ("object", ["put", s, "--dry-run"], json.dumps(dict(NODE, id="fmt-2")).encode(), 0),
                  ("object", ["repair", s, "--dry-run"], None, 0),
                  ("object", ["convert", s, os.path.join(self.tmp, "copy"), "--force"], None, 0),
                  ("listing", ["convert", s, os.path.join(self.tmp, "never"), "--dry-run"], None, 0)]
        return cases


class EveryFormatTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fx = Fixture()
        cls.out = {}  # (args as a tuple, format) -> stdout
        for fmt in FORMATS:
            for kind, args, stdin, code in cls.fx.cases(fmt):
                rc, out, err = run(*args, "--format", fmt, stdin=stdin)
                cls.out[(tuple(args), fmt)] = (kind, rc, code, out, err)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.fx.tmp, ignore_errors=True)

    def each(self, fmt):
        for (args, f), (kind, rc, code, out, err) in self.out.items():
            if f == fmt:
                with self.subTest(args=args, format=fmt):
                    self.assertEqual(rc, code, err)
                    yield args, kind, out

    def test_json_is_one_document(self):
        for args, kind, out in self.each("json"):
            doc = json.loads(out)  # raises on a second document
            if kind == "listing":
                self.assertIsInstance(doc, list)
                self.assertTrue(all(isinstance(r, dict) for r in doc))
            elif kind == "object":
                self.assertIsInstance(doc, dict)

    def test_ndjson_is_one_object_a_line_and_json_holds_the_same_records(self):
        for args, kind, out in self.each("ndjson"):
            records = ndjson(out)
            if kind == "value":
                continue
            self.assertTrue(all(isinstance(r, dict) for r in records))
            doc = json.loads(self.out[(args, "json")][3])
            if kind == "listing":
                self.assertEqual(records, doc)
            elif args[0] == "validate":
                self.assertEqual(records, doc["findings"])
            elif args[0] == "query":
                self.assertEqual(records, doc["results"])
                self.assertEqual([r["rank"] for r in records], [1, 2, 3])
            elif args[0] == "diff":
                self.assertEqual(records, doc["differences"])
                self.assertEqual(len(records) > 0, not doc["equal"])
            elif args[0] == "ls":
                self.assertEqual(records, [doc])

    def test_csv_and_tsv_hold_the_ndjson_records_under_their_field_names(self):
        for args, kind, out in self.each("csv"):
            rows = list(csv.reader(io.StringIO(out, newline="")))
            self.assertTrue(rows, "a header row at least")
            header = rows[0]
            self.assertEqual(len(header), len(set(header)), header)
            self.assertTrue(all(len(r) == len(header) for r in rows), out)
            self.assertEqual(tsv_rows(self.out[(args, "tsv")][3]), rows)  # TSV: the same cells, escaped
            records = ndjson(self.out[(args, "ndjson")][3])
            if kind == "value":
                self.assertEqual(header, ["value"])
                self.assertTrue(same_value(rows[1][0], records[0]))
                continue
            self.assertEqual(len(rows) - 1, len(records), out)
            for row, record in zip(rows[1:], records):
                for k, v in record.items():
                    self.assertIn(k, header)
                    self.assertTrue(same_value(row[header.index(k)], v), (k, v, row[header.index(k)]))

    def test_texts_are_whole_in_csv_and_tsv(self):
        for fmt in ("csv", "tsv"):
            out = self.out[(("ls", self.fx.store, "nodes"), fmt)][3]
            rows = tsv_rows(out) if fmt == "tsv" else list(csv.reader(io.StringIO(out, newline="")))
            texts = [r[rows[0].index("text")] for r in rows[1:] if r[0] == "fmt-node"]
            self.assertEqual(texts, [NODE["text"]], fmt)
        self.assertEqual(sum(1 for line in self.out[(("ls", self.fx.store, "nodes"), "tsv")][3].splitlines()), 14)

    def test_tables_are_for_people(self):
        for args, kind, out in self.each("table"):
            self.assertTrue(out.strip(), args)
            self.assertNotIn("\033", out)
            self.assertNotIn("{\"", out.split("\n")[0] if args[0] != "get" else "")
        self.assertEqual(self.out[(("diff", self.fx.store, self.fx.store), "table")][3], "equal\n")

    def test_several_stores_in_json_are_one_array_with_locations(self):
        doc = json.loads(self.out[(("ls", self.fx.store, TS), "json")][3])
        self.assertEqual([d["location"] for d in doc], [self.fx.store, TS])
        rows = list(csv.DictReader(io.StringIO(self.out[(("ls", self.fx.store, TS, "nodes"), "csv")][3])))
        self.assertEqual(list(rows[0])[0], "location")
        self.assertEqual({r["location"] for r in rows}, {self.fx.store, TS})


class FindingFormatsTest(unittest.TestCase):
    def test_github(self):
        rc, out, _ = run("validate", PRETTY, "--format", "github")
        self.assertEqual(rc, 0)
        self.assertRegex(out, r"^::warning file=[^,]+,title=hash-mismatch::node a: ")

    def test_junit_parses(self):
        with tempfile.TemporaryDirectory() as tmp:
            broken = os.path.join(tmp, "broken")
            shutil.copytree(SAMPLE, broken)
            with open(os.path.join(broken, "docstore.json"), "w") as f:
                f.write('{"docstore/data": {"a": {"__type__": "1", "__data__": {"id_": "b", "text": "<&>"}}}')
            rc, out, _ = run("validate", broken, PRETTY, "--format", "junit", "--fail-on", "warning")
            self.assertEqual(rc, 1)
            root = ET.fromstring(out)
            self.assertEqual(root.tag, "testsuites")
            suites = root.findall("testsuite")
            self.assertEqual([s.get("name") for s in suites], [broken, PRETTY])
            failed = sum(int(s.get("failures")) for s in suites)
            self.assertEqual(int(root.get("failures")), failed)
            self.assertEqual(len(root.findall(".//failure")), failed)
            self.assertGreater(failed, 1)
            messages = [f.get("message") for f in root.findall(".//failure")]
            self.assertTrue(all(re.match(r"1 finding: |[0-9]+ findings: ", m) for m in messages), messages)
            if shutil.which("xmllint"):
                p = subprocess.run(["xmllint", "--noout", "-"], input=out.encode(), capture_output=True)
                self.assertEqual(p.returncode, 0, p.stderr)
            else:
                print("SKIPPED: xmllint check of the JUnit report (no xmllint)", file=sys.stderr)

    def test_sarif_is_valid_against_the_2_1_0_schema(self):
        rc, out, _ = run("validate", PRETTY, SAMPLE, "--format", "sarif")
        self.assertEqual(rc, 0)
        log = json.loads(out)
        self.assertEqual(log["version"], "2.1.0")
        self.assertEqual([r["ruleId"] for r in log["runs"][0]["results"]], ["hash-mismatch"])
        node, npm = shutil.which("node"), shutil.which("npm")
        if not node or not npm:
            self.skipTest("node or npm not installed: SARIF not checked against its schema")
        # @microsoft/jest-sarif ships the SARIF 2.1.0 schema and the ajv it checks it with.
        deps = os.path.join(os.path.dirname(LSTORE), "sarif-deps")
        schema = os.path.join(deps, "node_modules", "@microsoft", "jest-sarif", "lib", "schemas", "sarif-2.1.0-rtm.5.json")
        if not os.path.exists(schema):
            os.makedirs(deps, exist_ok=True)
            p = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--ignore-scripts", "--prefix", deps,
                                "@microsoft/jest-sarif@1.0.0-beta.0"], capture_output=True, timeout=600)
            if p.returncode != 0 or not os.path.exists(schema):
                reason = p.stderr.decode().strip().splitlines()[-1:]
                print(f"SKIPPED: SARIF schema check (npm install failed: {reason})", file=sys.stderr)
                self.skipTest(f"npm install failed: {reason}")
        check = """
const Ajv = require('ajv');
const ajv = new Ajv({schemaId: 'auto', allErrors: true});
ajv.addMetaSchema(require('ajv/lib/refs/json-schema-draft-04.json'));
const validate = ajv.compile(require(process.argv[1]));
let text = '';
process.stdin.on('data', d => text += d).on('end', () => {
  const log = JSON.parse(text);
  if (validate(log)) { console.log('valid'); return; }
  console.log(JSON.stringify(validate.errors)); process.exit(1);
});
"""
        for args in (["validate", PRETTY, SAMPLE, "--format", "sarif"], ["validate", SAMPLE, "--format", "sarif"]):
            sarif = run(*args)[1]
            p = subprocess.run([node, "-e", check, schema], input=sarif.encode(), capture_output=True, cwd=deps,
                               env=dict(os.environ, NODE_PATH=os.path.join(deps, "node_modules")))
            self.assertEqual((p.returncode, p.stdout.decode().strip()), (0, "valid"), p.stderr.decode())
        # the check can fail: a log without its version is refused
        broken = json.dumps(dict(log, version="9"))
        p = subprocess.run([node, "-e", check, schema], input=broken.encode(), capture_output=True, cwd=deps,
                           env=dict(os.environ, NODE_PATH=os.path.join(deps, "node_modules")))
        self.assertEqual(p.returncode, 1)


class TerminalTest(unittest.TestCase):
    def on_terminal(self, args, extra):
        """stdout and stderr both on one pseudo-terminal (script(1))."""
        if not shutil.which("script"):
            self.skipTest("no script(1) for a terminal")
        cmd = " ".join("'" + a.replace("'", "'\\''") + "'" for a in [LSTORE, *args])
        p = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, timeout=120,
                           env=env_without_colour(dict(extra, COLUMNS="100")))
        return p.stdout.decode("utf-8", "replace")

    def test_term_dumb_gets_no_escapes(self):
        for args in (["validate", PRETTY], ["ls", SAMPLE], ["ls", SAMPLE, "nodes"], ["diff", SAMPLE, PRETTY]):
            coloured = self.on_terminal(args, {"TERM": "xterm"})
            self.assertIn("\033[", coloured, args)  # the check below can fail
            self.assertNotIn("\033", self.on_terminal(args, {"TERM": "dumb"}), args)
            self.assertNotIn("\033", self.on_terminal(args, {"TERM": "xterm", "NO_COLOR": "1"}), args)
        with tempfile.TemporaryDirectory() as tmp:
            env = env_without_colour({"TERM": "dumb", "LSTORE_PROGRESS_DELAY": "0"})
            rc, _, shown = run_on_terminal([LSTORE, "convert", SAMPLE, os.path.join(tmp, "c")], env=env)
            self.assertEqual(rc, 0)
            self.assertIn("convert: ", shown)  # a bar was drawn, and its summary
            self.assertNotIn("\033", shown)

    def test_the_bar_and_the_summary_say_the_same_rate(self):
        with tempfile.TemporaryDirectory() as tmp:
            env = env_without_colour({"LSTORE_PROGRESS_DELAY": "0"})
            rc, _, shown = run_on_terminal([LSTORE, "convert", SAMPLE, os.path.join(tmp, "c")], env=env)
            self.assertEqual(rc, 0, shown)
            bars = re.findall(r"convert \[[#.]+\] +\d+%  .*? / .*?  ([0-9.]+ [KMG]?i?B/s)", shown)
            summary = re.search(r"convert: \S+ \S+ in [0-9.]+ s \(([0-9.]+ [KMG]?i?B/s)\)", shown)
            self.assertTrue(bars and summary, shown)
            self.assertEqual(bars[-1], summary.group(1))


class PluralTest(unittest.TestCase):
    SINGULAR_AS_PLURAL = re.compile(
        r"(?<![0-9.])1 (nodes|ref docs|metadata entries|errors|warnings|notes|files|findings|subjects|triplets|"
        r"keys|messages|bytes|kinds|relations)\b")

    def test_one_is_singular_in_every_message(self):
        with tempfile.TemporaryDirectory() as tmp:
            # the sample with one ref doc of one node left
            one = os.path.join(tmp, "one")
            shutil.copytree(SAMPLE, one)
            docs = json.loads(run("ls", one, "docs", "--json")[1])
            self.assertEqual(run("delete", one, "--ref-doc", *[d["id"] for d in docs[1:]])[0], 0)
            self.assertEqual(run("delete", one, "--node", *docs[0]["node_ids"][1:])[0], 0)
            texts = []
            for args in (["ls", one], ["validate", one], ["validate", PRETTY], ["put", one, "--dry-run"],
                         ["convert", one, os.path.join(tmp, "c"), "-v"], ["ls", one, "-v"],
                         ["convert", one, os.path.join(tmp, "d"), "--dry-run"]):
                rc, out, err = run(*args, stdin=json.dumps(dict(NODE, text="other")).encode())
                texts.append(out + err)
            joined = "\n".join(texts)
            self.assertIn("1 node, 1 ref doc, 2 metadata entries", joined)
            self.assertIn("vector_store  1 node\n", joined)
            self.assertIn("0 errors, 1 warning, 0 notes", joined)
            self.assertIsNone(self.SINGULAR_AS_PLURAL.search(joined), joined)


class StdoutTest(unittest.TestCase):
    ARGS = [["ls", SAMPLE], ["ls", SAMPLE, "nodes"], ["validate", PRETTY], ["query", SAMPLE, "--vector", "[" + ",".join(["0.1"] * 8) + "]"]]

    def test_a_full_disk_is_exit_3_with_one_line_in_every_format(self):
        if not os.path.exists("/dev/full"):
            self.skipTest("no /dev/full")
        for args in self.ARGS:
            for fmt in FORMATS + (("github", "junit", "sarif") if args[0] == "validate" else ()):
                with self.subTest(args=args, format=fmt), open("/dev/full", "w") as full:
                    p = subprocess.run([LSTORE, *args, "--format", fmt], stdout=full, stderr=subprocess.PIPE, timeout=60)
                    err = p.stderr.decode()
                    self.assertEqual(p.returncode, 3, err)
                    self.assertEqual(err.count("\n"), 1, err)
                    self.assertRegex(err, r"^lstore: \w+: cannot write to standard output: No space left on device\n$")

    def test_a_closed_pipe_ends_quietly_in_every_format(self):
        for args in self.ARGS:
            for fmt in FORMATS:
                with self.subTest(args=args, format=fmt):
                    r, w = os.pipe()
                    os.close(r)  # the reader is gone before lstore writes
                    p = subprocess.run([LSTORE, *args, "--format", fmt], stdout=w, stderr=subprocess.PIPE, timeout=60)
                    os.close(w)
                    self.assertEqual((p.returncode, p.stderr.decode()), (0, ""))


class BashCompletionTest(unittest.TestCase):
    """The generated script sourced into `bash --norc`, its function called
    as bash's completion calls it (from `complete -p lstore`)."""

    @classmethod
    def setUpClass(cls):
        if not shutil.which("bash"):
            raise unittest.SkipTest("no bash")
        cls.tmp = tempfile.mkdtemp(prefix="lstore-complete-")
        cls.script = os.path.join(cls.tmp, "lstore.bash")
        with open(cls.script, "w") as f:
            f.write(run("completion", "bash")[1])
        os.makedirs(os.path.join(cls.tmp, "my store"))
        os.makedirs(os.path.join(cls.tmp, "mystuff"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def complete(self, line):
        """COMPREPLY for the cursor at the end of `line`."""
        words = line.split(" ")
        prog = f"""
source {json.dumps(self.script)}
spec=$(complete -p lstore)
fn=${{spec##*-F }}; fn=${{fn%% *}}
COMP_LINE={json.dumps(line)}
COMP_POINT=${{#COMP_LINE}}
COMP_WORDS=({" ".join(json.dumps(w) for w in words)})
COMP_CWORD={len(words) - 1}
"$fn" lstore {json.dumps(words[-1])} {json.dumps(words[-2])}
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
        p = subprocess.run(["bash", "--norc", "--noprofile", "-c", prog], capture_output=True, cwd=self.tmp, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        return [w for w in p.stdout.decode().split("\n") if w]

    def test_option_values(self):
        self.assertEqual(self.complete("lstore validate x --format "),
                         ["text", "table", "json", "ndjson", "csv", "tsv", "github", "junit", "sarif"])
        self.assertEqual(self.complete("lstore validate x --format s"), ["sarif"])
        self.assertEqual(self.complete("lstore ls x --format "), ["table", "json", "ndjson", "csv", "tsv"])
        self.assertEqual(self.complete("lstore validate x --fail-on "), ["error", "warning"])
        self.assertEqual(self.complete("lstore convert a b --dialect "), ["python", "ts"])
        self.assertEqual(self.complete("lstore convert a b --vectors "), ["faiss", "faiss-ip", "simple"])
        self.assertEqual(self.complete("lstore query s --mode "), ["default", "mmr"])
        self.assertEqual(self.complete("lstore --color "), ["auto", "always", "never"])
        self.assertEqual(self.complete("lstore completion "), ["bash", "zsh", "fish"])

    def test_global_options_before_the_command(self):
        self.assertEqual(self.complete("lstore --format json l"), ["ls"])
        self.assertEqual(self.complete("lstore --json v"), ["validate"])
        self.assertIn("--format", self.complete("lstore --"))
        self.assertNotIn("--dry-run", self.complete("lstore --"))
        # after a global option and its value, the command's own options
        self.assertIn("--fail-on", self.complete("lstore --format csv validate x --"))

    def test_no_duplicates(self):
        for line in ("lstore --", "lstore ls x --", "lstore validate x --", "lstore delete x --"):
            got = self.complete(line)
            self.assertEqual(len(got), len(set(got)), (line, got))
            self.assertIn("--help", got)

    def test_names_with_spaces_stay_one_word(self):
        self.assertEqual(self.complete("lstore ls my"), ["my store", "mystuff"])
        self.assertIn("my store", self.complete("lstore validate --format csv "))
        self.assertIn("nodes", self.complete("lstore ls x n"))


class ManPageTest(unittest.TestCase):
    PAGES = sorted(os.listdir(os.path.join(ROOT, "man")))

    def text(self, name):
        with open(os.path.join(ROOT, name), encoding="utf-8") as f:
            return f.read().replace("\\-", "-")

    def test_every_reference_names_a_page_that_ships(self):
        shipped = {p for p in self.PAGES if re.fullmatch(r"lstore(-[a-z]+)?\.[15]", p)}
        self.assertIn("lstore-json.5", shipped)
        for name in ["README.md"] + ["man/" + p for p in shipped]:
            text = self.text(name)
            self.assertNotRegex(text, r"spec/|FORMAT\.md|CLI\.md", name)  # not in the repository or the package
            for page, section in re.findall(r"(lstore(?:-[a-z]+)?)(?:\\fR)?\(([15])\)", text):
                self.assertIn(f"{page}.{section}", shipped, (name, page))

    def test_lstore_1_sees_every_page_and_documents_the_environment(self):
        text = self.text("man/lstore.1")
        see_also = text.split(".SH SEE ALSO", 1)[1]
        for page in self.PAGES:
            if re.fullmatch(r"lstore-[a-z]+\.[15]", page):
                name, section = page.rsplit(".", 1)
                self.assertIn(f"\\fB{name}\\fR({section})", see_also)
        environment = text.split(".SH ENVIRONMENT", 1)[1].split(".SH ", 1)[0]
        for var in ("LSTORE_CACHE_DIR", "NO_COLOR", "TERM", "COLUMNS", "LSTORE_PROGRESS_DELAY"):
            self.assertIn(".B " + var, environment)

    def test_every_command_page_says_what_each_format_prints(self):
        for page in self.PAGES:
            if re.fullmatch(r"lstore-[a-z]+\.1", page) and page != "lstore-completion.1":
                text = self.text("man/" + page)
                for fmt in ("table", "json", "ndjson", "csv", "tsv"):
                    self.assertRegex(text, r"\\f[IB]" + fmt + r"\\fR", (page, fmt))
                self.assertIn("lstore-json\\fR(5)", text, page)


class ReadmeTourTest(unittest.TestCase):
    """Every `$ lstore ...` of README's tour, run as written (in a 92-column
    terminal, as it says), prints exactly the lines under it."""

    def test_tour_matches_real_output(self):
        if not shutil.which("script"):
            self.skipTest("no script(1) for a terminal")
        with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
            readme = f.read()
        tour = readme.split("## A short tour", 1)[1].split("\n## ", 1)[0]
        steps, current = [], None
        for line in tour.split("\n"):
            if line.startswith("    $ "):
                current = [line[6:], []]
                steps.append(current)
            elif line.startswith("    ") and current:
                current[1].append(line[4:])
            else:
                current = None
        self.assertGreaterEqual(len([s for s in steps if s[0].startswith("lstore ")]), 8)
        bindir = os.path.join(tempfile.mkdtemp(prefix="lstore-tour-bin-"))
        os.symlink(LSTORE, os.path.join(bindir, "lstore"))
        with tempfile.TemporaryDirectory() as tmp:
            os.symlink(os.path.join(ROOT, "testdata"), os.path.join(tmp, "testdata"))
            env = env_without_colour({"PATH": bindir + os.pathsep + os.environ["PATH"], "COLUMNS": "92",
                                      "NO_COLOR": "1", "TERM": "xterm"})
            for command, expected in steps:
                with self.subTest(command=command):
                    p = subprocess.run(["script", "-qec", command, "/dev/null"], capture_output=True, cwd=tmp,
                                       env=env, timeout=120)
                    got = p.stdout.decode("utf-8").replace("\r\n", "\n")
                    self.assertEqual(got, "".join(l + "\n" for l in expected))
        shutil.rmtree(bindir, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
