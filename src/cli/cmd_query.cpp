// lstore query STORE: vector top-k with metadata filters, as LlamaIndex's
// SimpleVectorStore answers it (spec/CLI.md). The search is the library's
// (lstore/query.hpp); this file reads the options, picks the cold or warm
// path, and prints the hits.
#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "commands.hpp"
#include "progress_bar.hpp"
#include "streamed_reader.hpp"
#include "lstore/backend.hpp"
#include "lstore/error.hpp"
#include "lstore/model.hpp"
#include "lstore/query.hpp"

namespace lstore::cli {
namespace {
namespace fs = std::filesystem;

struct QueryOptions {
  std::string store;
  std::string vector, vector_file, like;
  std::size_t top_k = 2;
  std::string ns = "default";
  std::string index;
  std::vector<std::string> filter;
  bool any_of = false;  // --or
  std::string filters;  // JSON or @FILE
  std::string mode = "default";
  std::optional<double> mmr_threshold;
  bool with_text = false, with_metadata = false, cache = false;
};


// The filters as given, checked for syntax before anything is read; they are
// built for real once the store's era (and so its LlamaIndex) is known.
struct FilterSpec {
  std::vector<std::string> expressions;
  bool any_of = false;
  std::optional<Json> json;
  bool empty() const { return expressions.empty() && !json; }

  MetadataFilters build(FilterSemantics semantics) const {
    if (json) return parse_metadata_filters(*json, semantics);
    MetadataFilters f;
    for (const std::string& e : expressions) f.filters.push_back({parse_filter_expression(e, semantics), nullptr});
    f.condition = any_of ? FilterCondition::Or : FilterCondition::And;
    return f;
  }
};

FilterSpec filter_spec(const QueryOptions& o) {
  FilterSpec spec;
  if (!o.filter.empty() && !o.filters.empty())
    throw Error(ErrorKind::Usage, "--filters", "give either --filter expressions or one --filters object, not both");
  if (o.any_of && o.filter.empty()) throw Error(ErrorKind::Usage, "--or", "--or combines --filter expressions; none given");
  spec.expressions = o.filter;
  spec.any_of = o.any_of;
  if (!o.filters.empty()) {
    std::string where = o.filters[0] == '@' ? o.filters.substr(1) : "--filters";
    std::string text = o.filters[0] == '@' ? read_input(o.filters.substr(1), "filters file") : o.filters;
    try {
      spec.json = parse(text);
    } catch (const ParseError& e) {
      throw Error(ErrorKind::Usage, where, std::string("not JSON: ") + e.what(), line_column(text.data(), text.size(), e.offset()));
    }
  }
  spec.build(FilterSemantics::Current);  // syntax and value checks; exit 2 before reading the store
  return spec;
}

std::string score_text(double s) { return std::isnan(s) ? "nan" : fmt::format("{:.6f}", s); }

// Where the printed fields of a hit come from: the loaded store, or (warm
// path) the cache plus the docstore file alone.
struct HitSources {
  const Store* store = nullptr;
  const VectorStoreDoc* vectors = nullptr;
  const PackedVectors* packed = nullptr;
  const JsonDoc* docstore = nullptr;

  std::optional<Node> node(const std::string& id) const {
    if (!docstore) return std::nullopt;
    const Section* data = docstore->section(coll::kDocData);
    const Entry* e = data && data->outlined ? data->find(id) : nullptr;
    if (!e) return std::nullopt;
    return decode_node(*docstore, *e);
  }

  Json ref_doc_id(const std::string& id, const std::optional<Node>& node) const {
    std::optional<std::string> ref;
    if (vectors) {
      VectorSections s = vector_sections(vectors->doc);
      if (const Entry* r = s.ref_doc_ids && s.ref_doc_ids->outlined ? s.ref_doc_ids->find(id) : nullptr)
        if (Json v = vectors->doc.decode(r->raw); v.is_string()) ref = v.as_string();
    } else if (packed) {
      if (auto r = packed->ref_doc_id(packed->find(id))) ref = std::string(*r);
    }
    if (!ref && node && node->ref_doc_id) ref = node->ref_doc_id;
    if (!ref || *ref == "None") return Json();  // LlamaIndex writes the string "None" for "no source"
    return Json(*ref);
  }

  // What the filters see (the metadata_dict entry), else the node's metadata.
  Json metadata(const std::string& id, const std::optional<Node>& node) const {
    if (vectors) {
      VectorSections s = vector_sections(vectors->doc);
      if (const Entry* m = s.metadata && s.metadata->outlined ? s.metadata->find(id) : nullptr)
        return vectors->doc.decode(m->raw);
    }
    return node ? node->metadata : Json();
  }
};

const Schema kHit{"hit",
                  {{"rank", "RANK"},
                   {"id", "ID"},
                   {"score", "SCORE", [](const Json& v) { return score_text(v.is_number() ? v.as_number() : NAN); }},
                   {"ref_doc_id", "REF DOC"},
                   {"text", "TEXT", {}, 80},
                   {"metadata"}}};
const Schema kResults{"query_results", {{"results"}}};

// Texts are read for people and for CSV / TSV (whole texts), and for JSON
// only with --with-text: the warm path then never opens the docstore.
bool want_text(const Output& out, const QueryOptions& o) {
  return o.with_text || out.format() == Format::Table || out.format() == Format::Csv || out.format() == Format::Tsv;
}

void print_results(Output& out, const std::vector<Record>& hits) {
  JsonArray results;
  for (const Record& r : hits) results.emplace_back(r);
  out.object(kResults, Record{{"results", std::move(results)}}, [&] { out.print_table(kHit, hits); }, &kHit, &hits);
}

void print_hits(Output& out, const QueryOptions& o, const std::vector<QueryHit>& hits, const HitSources& src) {
  const bool text = want_text(out, o);
  std::vector<Record> records;
  for (std::size_t i = 0; i < hits.size(); ++i) {
    const QueryHit& h = hits[i];
    std::optional<Node> node = text || o.with_metadata || !src.vectors ? src.node(h.id) : std::nullopt;
    Record r{{"rank", count(i + 1)}, {"id", h.id}, {"score", h.score}, {"ref_doc_id", src.ref_doc_id(h.id, node)}};
    if (text) r.emplace_back("text", node ? Json(node->text) : Json());
    if (o.with_metadata) r.emplace_back("metadata", src.metadata(h.id, node));
    records.push_back(std::move(r));
  }
  print_results(out, records);
}

// Hits of a search the store's server ran (a PGVectorStore table), as
// print_hits prints them: ref_doc_id and metadata from the row's metadata_.
void print_placed_hits(Output& out, const QueryOptions& o, const std::vector<PlacedHit>& hits) {
  const bool text = want_text(out, o);
  std::vector<Record> records;
  for (std::size_t i = 0; i < hits.size(); ++i) {
    const PlacedHit& h = hits[i];
    Json meta;
    try {
      meta = parse(h.metadata_json);
    } catch (const ParseError&) {
      // Not JSON (a foreign table): no ref doc, no metadata shown.
    }
    Json ref;
    if (const Json* r = meta.find("ref_doc_id"); r && r->is_string() && r->as_string() != "None") ref = *r;
    meta.erase("_node_content");
    Record r{{"rank", count(i + 1)}, {"id", h.id}, {"score", h.score}, {"ref_doc_id", ref}};
    if (text) r.emplace_back("text", h.text);
    if (o.with_metadata) r.emplace_back("metadata", std::move(meta));
    records.push_back(std::move(r));
  }
  print_results(out, records);
}

// LSTORE_NO_STREAM=1: the loaded path, as before (the tests compare the two).
bool streaming_disabled() {
  const char* off = std::getenv("LSTORE_NO_STREAM");
  return off && *off && std::string_view(off) != "0";
}

// A cold search of a directory store in bounded memory: the store read for
// its summary (as `ls` reads it), the vector file streamed through a top-k
// heap, and only the hits' nodes fetched from the docstore. False when the
// stream cannot answer exactly as the loaded store would (an error, a
// duplicate key, FAISS, ...): the caller then loads the store, which gives
// the same answer or the error it always gave; the warnings of this read are
// dropped, as that read says them again.
bool run_streamed(Output& out, const QueryOptions& o, const std::vector<double>& embedding, const FilterSpec& filters) {
  const std::size_t pending = out.pending_warnings();
  std::optional<Store> summary;
  StreamedSearch found;
  std::optional<JsonDoc> docstore;
  try {
    StreamedReader reader(open_backend(o.store), std::nullopt);
    summary = load_store(out, reader);
    VectorQuery q;
    q.top_k = o.top_k;
    q.embedding = embedding;
    q.semantics = filter_semantics_for_era(summary->era);
    if (!filters.empty()) q.filters = filters.build(*q.semantics);
    ProgressBar bar("query", out.quiet());
    q.progress = bar.callback();
    found = query_streamed(*summary, o.ns, q);
    bar.finish();
    // print_hits reads a hit's node for its text or metadata.
    if (want_text(out, o) || o.with_metadata) {
      std::vector<std::string> ids;
      for (const QueryHit& h : found.hits) ids.push_back(h.id);
      docstore = docstore_entries(*summary, ids);
    }
  } catch (const NeedsLoadedStore&) {
    out.drop_pending_warnings(pending);
    if (out.verbose()) out.note("query: the stream cannot answer this one alone; searching the loaded store");
    return false;
  } catch (const Error&) {
    out.drop_pending_warnings(pending);
    if (out.verbose()) out.note("query: the streamed read failed; the loaded store says why");
    return false;
  }
  if (out.verbose())
    out.note(fmt::format("query: streamed {} ({} hits; {} candidates scored in float64, {} ruled out by the screen)",
                         found.vectors->doc.name(), found.hits.size(), found.scored, found.ruled_out));
  HitSources src;
  src.store = &*summary;
  src.vectors = &*found.vectors;
  src.docstore = docstore ? &*docstore : nullptr;
  print_hits(out, o, found.hits, src);
  return true;
}

// Steps 4-6 of run_query: a search of the loaded store, or of the warm
// cache (read when `read_cache`, else written). Every hit's record is built
// before anything is printed, so a damaged cache (CorruptVectorCache) is
// found before any output.
int run_loaded(Output& out, const QueryOptions& o, std::vector<double> embedding, const FilterSpec& filters,
               bool read_cache) {
  // 4. A fresh cache answers alone when nothing else of the store is needed.
  std::optional<PackedVectors> cached;
  fs::path cache_file;
  if (o.cache) {
    cache_file = vector_cache_path(o.store, o.ns);
    if (read_cache) cached = read_vector_cache(cache_file, o.store);
  }
  const bool need_store = !cached || !filters.empty() || !o.index.empty() || o.with_metadata;
  std::optional<Store> store;
  if (need_store) store = load_store(out, o.store);

  VectorQuery q;
  q.top_k = o.top_k;
  q.mode = o.mode == "mmr" ? QueryMode::Mmr : QueryMode::Default;
  q.mmr_threshold = o.mmr_threshold;
  if (!o.like.empty()) {
    if (store) {
      embedding = stored_embedding(*store, o.ns, o.like);
    } else {
      std::size_t row = cached->find(o.like);
      if (row == PackedVectors::npos)
        throw Error(ErrorKind::NotFound, redact_store_name(o.store),
                    "no embedding with id '" + o.like + "' in namespace '" + o.ns + "'");
      embedding.assign(cached->row(row), cached->row(row) + cached->dim());
    }
  }
  q.embedding = std::move(embedding);
  if (store) {
    q.semantics = filter_semantics_for_era(store->era);
    if (!filters.empty()) q.filters = filters.build(*q.semantics);
    if (!o.index.empty()) q.node_ids = index_node_ids(*store, o.index);
  }
  const bool as_retriever = store && !o.index.empty();

  // 5. Search: cached vectors, or freshly parsed ones (written to the cache
  // when asked), or straight from the vector file.
  std::optional<PackedVectors> fresh;
  // A namespace with no JSON vector file (FAISS, or none) has nothing to
  // cache: it answers as the cold query does, errors included.
  if (o.cache && !cached && store->vector_store(o.ns)) fresh = write_vector_cache(cache_file, o.store, *store, o.ns);
  const PackedVectors* packed = cached ? &*cached : (fresh ? &*fresh : nullptr);
  ProgressBar bar("query", out.quiet());
  q.progress = bar.callback();
  std::vector<QueryHit> hits = store ? query_vector_store(*store, o.ns, q, packed) : query_packed(*packed, q);
  bar.finish();
  // With --index the answer is the index's retriever's: repeated nodes dropped.
  if (as_retriever) hits = dedupe_like_retriever(*store, std::move(hits));

  // 6. Print.
  HitSources src;
  std::optional<JsonDoc> docstore_only;
  if (store) {
    src.store = &*store;
    src.vectors = store->vector_store(o.ns);
    src.docstore = store->docstore ? &*store->docstore : nullptr;
  } else {
    src.packed = packed;
    if (want_text(out, o)) {
      docstore_only = read_docstore_file(o.store);
      src.docstore = docstore_only ? &*docstore_only : nullptr;
    }
  }
  print_hits(out, o, hits, src);
  return 0;
}

int run_query(Output& out, const QueryOptions& o) {
  // 1. What can be checked without reading the store (exit 2).
  int sources = !o.vector.empty() + !o.vector_file.empty() + !o.like.empty();
  if (sources != 1)
    throw Error(ErrorKind::Usage, "", "give the query vector with exactly one of --vector, --vector-file, --like");
  if (o.mmr_threshold && o.mode != "mmr")
    throw Error(ErrorKind::Usage, "--mmr-threshold", "applies to --mode mmr only");
  std::vector<double> embedding;
  if (!o.vector.empty()) embedding = parse_query_vector(o.vector, "--vector");
  if (!o.vector_file.empty()) embedding = parse_query_vector(read_input(o.vector_file, "vector file"), o.vector_file);
  FilterSpec filters = filter_spec(o);
  const bool is_dir = fs::is_directory(o.store);
  if (o.cache && !is_dir) throw Error(ErrorKind::Usage, "--cache", "the warm cache is for persist directories");

  // 2. A store whose server searches (a PGVectorStore table) answers with its
  // own semantics; the backend says whether it is one (the CLI knows no
  // schemes). --like and --index need the loaded store; a directory never
  // searches in place.
  if (!is_dir && o.like.empty() && o.index.empty()) {
    std::unique_ptr<Backend> backend = open_backend(o.store);
    VectorQuery q;
    q.embedding = embedding;
    q.top_k = o.top_k;
    q.mode = o.mode == "mmr" ? QueryMode::Mmr : QueryMode::Default;
    if (!filters.empty()) q.filters = filters.build(FilterSemantics::Current);
    if (auto hits = backend->query_in_place(o.ns, q)) {
      print_placed_hits(out, o, *hits);
      return 0;
    }
  }

  // 3. A cold search of a directory store streams it (bounded memory), when
  // nothing but the vector file and the hits' nodes is needed.
  if (is_dir && !o.cache && o.like.empty() && o.index.empty() && o.mode != "mmr" && !streaming_disabled() &&
      run_streamed(out, o, embedding, filters))
    return 0;

  // 4-6. The loaded store, or the warm cache (--cache). A cache found
  // damaged while it is read is said in one line, removed and rebuilt; no
  // answer is printed from it.
  if (!o.cache) return run_loaded(out, o, std::move(embedding), filters, false);
  const std::size_t pending = out.pending_warnings();
  try {
    return run_loaded(out, o, embedding, filters, true);
  } catch (const CorruptVectorCache& e) {
    out.drop_pending_warnings(pending);  // the store's, said again by the second read
    out.warn(std::string(e.what()) + "; rebuilding the cache from the store");
    std::error_code ec;
    fs::remove(vector_cache_path(o.store, o.ns), ec);
  }
  try {
    return run_loaded(out, o, std::move(embedding), filters, false);
  } catch (const CorruptVectorCache& e) {
    throw Error(ErrorKind::Data, vector_cache_path(o.store, o.ns).string(),
                std::string("the cache was rebuilt and is still unreadable: ") + e.what());
  }
}

}  // namespace

CommandSpec add_query(CLI::App& parent) {
  auto o = std::make_shared<QueryOptions>();
  CLI::App* app = parent.add_subcommand("query", "Vector top-k search with metadata filters, as LlamaIndex does it");
  app->add_option("store", o->store, "The store: a persist directory")->required();
  app->add_option("--vector", o->vector, "Query vector: a JSON array of numbers");
  app->add_option("--vector-file", o->vector_file,
                  "Query vector from a file (- = stdin): a JSON array, or an object with \"vector\" or \"query_embedding\"");
  app->add_option("--like", o->like, "Use the stored embedding of this node id as the query vector");
  app->add_option("--top-k", o->top_k, "Number of results (0 = all, as LlamaIndex)")
      ->check(count_validator())
      ->capture_default_str();
  app->add_option("--namespace", o->ns, "Vector store namespace")->capture_default_str();
  app->add_option("--index", o->index, "Only this index's nodes, as its retriever returns them (VectorIndexRetriever)");
  app->add_option("--filter", o->filter, "Metadata filter 'KEY OP VALUE' (VALUE a JSON literal); repeatable")
      ->allow_extra_args(false);
  app->add_flag("--or", o->any_of, "Combine --filter expressions with OR instead of AND");
  app->add_option("--filters", o->filters, "A whole MetadataFilters object as JSON, or @FILE");
  app->add_option("--mode", o->mode, "Query mode")->check(CLI::IsMember({"default", "mmr"}))->capture_default_str();
  app->add_option("--mmr-threshold", o->mmr_threshold, "MMR trade-off between relevance and diversity (0 means 0.5)");
  app->add_flag("--with-text", o->with_text, "JSON output: add each node's text (from the docstore)");
  app->add_flag("--with-metadata", o->with_metadata, "JSON output: add each node's metadata (what filters see)");
  app->add_flag("--cache", o->cache,
                "Use, or write, the warm cache of packed vectors (in $LSTORE_CACHE_DIR, $XDG_CACHE_HOME/lstore or ~/.cache/lstore)");
  return {app, [o](Output& out) { return run_query(out, *o); }};
}

}  // namespace lstore::cli
