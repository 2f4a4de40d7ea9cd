// The cold search in bounded memory (issue #20; lstore/query.hpp,
// query_streamed): the vector file of a store read for its summary is
// streamed through the outline's visitor (core/outline.hpp), each candidate's
// embedding copied into a batch that a worker parses and scores while the
// stream reads on, and the scores pushed into a top-k heap in embedding_dict
// order (query_rank.cpp: the same comparisons as the loaded path, so the same
// ties). Per entry nothing is kept but a 64-bit hash of its key, to find the
// duplicate keys the loaded model resolves its own way (json.load's last
// value at the first place): those, and everything else where LlamaIndex
// raises, go to the loaded path, which says what it always said.
//
// The parsing and scoring on both cores is query_stream_pipeline.cpp's.
//
// Passes over the vector file: with metadata filters, one over metadata_dict
// first (it comes after embedding_dict in the file, and a candidate must be
// known before it is pushed); then the scoring pass, which also keeps the
// hits' entries of the sections after embedding_dict; a third only when such
// a section came before it.
#include <algorithm>
#include <functional>
#include <new>
#include <set>
#include <unordered_set>

#include "core/outline.hpp"
#include "lstore/error.hpp"
#include "lstore/faiss.hpp"
#include "lstore/model.hpp"
#include "query_internal.hpp"
#include "query_stream_pipeline.hpp"

namespace lstore {
namespace {

[[noreturn]] void needs_loaded() { throw NeedsLoadedStore{}; }

// The section groups vector_sections() picks from, by their names.
enum class Group { Other, Embeddings, RefDocs, Metadata };
Group group_of(std::string_view name) {
  if (name == "embedding_dict" || name == "embeddingDict") return Group::Embeddings;
  if (name == "text_id_to_ref_doc_id" || name == "textIdToRefDocId" || name == "text_id_to_doc_id") return Group::RefDocs;
  if (name == "metadata_dict" || name == "metadataDict") return Group::Metadata;
  return Group::Other;
}

std::uint64_t key_hash(std::string_view key) { return std::hash<std::string_view>{}(key); }

// Streams `doc`'s file through `v`: when the summary holds only a sample of
// it, the file the summary read, through the descriptor it kept (reopened
// by name, a file replaced meanwhile by one of the same size would be
// searched under the other's summary); else the bytes the summary read
// whole. A sampled file without a descriptor, or one that does not parse,
// is left to the loaded path.
void stream_doc(const Store& summary, const JsonDoc& doc, OutlineVisitor& v,
                const std::function<void(std::size_t)>& progress = {}) {
  const bool sampled = summary.streamed && summary.streamed->files.find(doc.name()) != summary.streamed->files.end();
  try {
    if (!sampled) {
      stream_object(doc.bytes(), v);
      return;
    }
    auto src = summary.streamed->sources.find(doc.name());
    if (src == summary.streamed->sources.end() || !src->second || src->second->fd() < 0) needs_loaded();
    stream_file(src->second->fd(), src->second->view().size(), v, progress);
  } catch (const ParseError&) {
    needs_loaded();
  }
}

// The root members of a file as the loaded model would resolve them: a root
// key twice, or two names of one group (embedding_dict and embeddingDict),
// is left to the loaded path.
class RootNames {
 public:
  Group add(std::string_view name) {
    if (!m_names.emplace(name).second) needs_loaded();
    Group g = group_of(name);
    if (g != Group::Other && !m_groups.insert(g).second) needs_loaded();
    return g;
  }

 private:
  std::set<std::string, std::less<>> m_names;
  std::set<Group> m_groups;
};

// Sorted 64-bit values; a value twice (a duplicate key, or two keys of one
// hash) is left to the loaded path.
void sort_distinct(std::vector<std::uint64_t>& v, std::uint64_t mask = ~std::uint64_t{0}) {
  std::sort(v.begin(), v.end());
  for (std::size_t i = 1; i < v.size(); ++i)
    if ((v[i] & mask) == (v[i - 1] & mask)) needs_loaded();
}

// ---------------------------------------------------------------- filters

// Pass 1 (filters): whether each metadata_dict entry passes, as its key's
// hash with the low bit replaced by the outcome (8 bytes an entry).
class FilterPass : public OutlineVisitor {
 public:
  explicit FilterPass(const detail::FilterEvaluator& filter) : m_filter(filter) {}
  void section(std::string_view name, std::string_view, bool container, bool is_array, std::string_view) override {
    m_in = group_of(name) == Group::Metadata;
    if (m_in && (!container || is_array)) needs_loaded();  // LlamaIndex raises; the loaded path says how
  }
  void entry(const StreamEntry& e) override {
    if (!m_in) return;
    bool pass = false;
    try {
      pass = m_filter.matches(parse(e.raw));
    } catch (const std::bad_alloc&) {
      throw;  // never retried on the loaded path, which needs far more memory
    } catch (const std::exception&) {
      needs_loaded();  // not JSON: the loaded path names the place
    } catch (const detail::PyError&) {
      needs_loaded();  // raised only if a candidate reaches it: the loaded path knows
    }
    m_outcomes.push_back((key_hash(e.key) & ~std::uint64_t{1}) | (pass ? 1 : 0));
  }
  void section_end(const Span&) override { m_in = false; }

  // Sorted; the low bit is the outcome.
  std::vector<std::uint64_t> outcomes() {
    sort_distinct(m_outcomes, ~std::uint64_t{1});
    return std::move(m_outcomes);
  }

 private:
  const detail::FilterEvaluator& m_filter;
  bool m_in = false;
  std::vector<std::uint64_t> m_outcomes;
};

// ---------------------------------------------------------------- scoring

// The hits' entries of the ref doc and metadata sections, written out as a
// small JSON object under the sections' own key tokens.
class HitEntries {
 public:
  void set_ids(const std::vector<QueryHit>& hits) {
    for (const QueryHit& h : hits) m_ids.insert(h.id);
  }
  void begin(std::string_view raw_key, bool container, bool is_array, std::string_view raw) {
    if (is_array) needs_loaded();  // an array where LlamaIndex has a dict
    m_text += m_sections++ ? ", " : "{";
    m_text.append(raw_key).append(": ");
    if (!container) {
      check(raw);
      m_text.append(raw);
      return;
    }
    m_text += '{';
    m_entries = 0;
  }
  void entry(const StreamEntry& e) {
    if (!m_ids.count(e.key)) return;
    check(e.raw);
    m_text.append(m_entries++ ? ", " : "").append(e.raw_key).append(": ").append(e.raw);
  }
  void end() { m_text += '}'; }
  std::string text() const { return m_sections ? m_text + "}" : std::string("{}"); }

 private:
  // Printing decodes it: one that does not decode is the loaded path's error.
  static void check(std::string_view raw) {
    try {
      (void)parse(raw);
    } catch (const std::bad_alloc&) {
      throw;
    } catch (const std::exception&) {
      needs_loaded();
    }
  }
  std::unordered_set<std::string_view> m_ids;  // into the hits, which outlive this
  std::string m_text;
  std::size_t m_sections = 0, m_entries = 0;
};

// Pass 2: every embedding of the candidates scored into the heap; the
// sections after embedding_dict collected for the hits on the way.
class ScorePass : public OutlineVisitor {
 public:
  ScorePass(const VectorQuery& q, const std::vector<std::uint64_t>* outcomes)
      : m_q(q), m_outcomes(outcomes), m_top(q.top_k) {}

  void section(std::string_view name, std::string_view raw_key, bool container, bool is_array,
               std::string_view raw) override {
    m_group = m_names.add(name);
    if (m_group == Group::Embeddings) {
      // Not a dict: LlamaIndex raises; the loaded path says where.
      if (!container || is_array) needs_loaded();
      m_in_embeddings = true;
    } else if (m_group == Group::RefDocs || m_group == Group::Metadata) {
      if (m_group == Group::Metadata) m_metadata_object = container && !is_array;
      if (!m_ranked) m_collect_again = true;  // before embedding_dict: another pass keeps the hits' entries
      else m_hits.begin(raw_key, container, is_array, raw);
    }
  }

  void entry(const StreamEntry& e) override {
    if (m_in_embeddings) {
      ++m_entries;
      const std::uint64_t h = key_hash(e.key);
      m_hashes.push_back(h);
      if (m_outcomes) {
        auto it = std::lower_bound(m_outcomes->begin(), m_outcomes->end(), h & ~std::uint64_t{1});
        if (it == m_outcomes->end() || (*it & ~std::uint64_t{1}) != (h & ~std::uint64_t{1}))
          needs_loaded();  // no metadata_dict entry: LlamaIndex raises KeyError
        if (!(*it & 1)) return;  // filtered out
      }
      // A candidate: a flat list of the one dimension, that of the query.
      if (e.elements == Member::kNotCounted) needs_loaded();
      if (!m_pipeline) {
        if (e.elements != m_q.embedding.size()) needs_loaded();
        m_pipeline.emplace(m_q, e.elements, m_top);
      } else if (e.elements != m_q.embedding.size()) {
        needs_loaded();
      }
      m_pipeline->add(e.key, e.raw);
      return;
    }
    if (m_group == Group::Metadata) ++m_metadata_entries;
    if (m_ranked && (m_group == Group::RefDocs || m_group == Group::Metadata)) m_hits.entry(e);
  }

  void section_end(const Span&) override {
    if (m_in_embeddings) {
      m_in_embeddings = false;
      rank();
    } else if (m_ranked && (m_group == Group::RefDocs || m_group == Group::Metadata)) {
      m_hits.end();
    }
    m_group = Group::Other;
  }

  // After the stream: the hits, once the keys are known to be distinct.
  void finish() {
    if (!m_ranked) rank();  // no embedding_dict: no candidates
    sort_distinct(m_hashes);
  }

  const std::vector<QueryHit>& hits() const { return m_result; }
  std::size_t entries() const { return m_entries; }
  bool metadata_usable() const { return m_metadata_object && m_metadata_entries > 0; }
  bool collect_again() const { return m_collect_again && !m_result.empty(); }
  std::string hit_entries() const { return m_hits.text(); }
  std::size_t scored() const { return m_scored; }
  std::size_t ruled_out() const { return m_ruled_out; }
  void reserve_keys(std::size_t n) { m_hashes.reserve(n); }

 private:
  void rank() {
    if (m_pipeline) {
      m_pipeline->finish();
      m_scored = m_pipeline->scored();
      m_ruled_out = m_pipeline->ruled_out();
    }
    m_pipeline.reset();
    m_result = m_top.finish();
    m_ranked = true;
    m_hits.set_ids(m_result);
  }

  const VectorQuery& m_q;
  const std::vector<std::uint64_t>* m_outcomes;  // FilterPass's, when filtering
  detail::StreamingTopK m_top;
  std::optional<detail::ScorePipeline> m_pipeline;  // from the first candidate on (its dimension)
  RootNames m_names;
  Group m_group = Group::Other;
  bool m_in_embeddings = false;
  bool m_ranked = false;
  bool m_collect_again = false;
  std::size_t m_entries = 0;
  std::size_t m_scored = 0, m_ruled_out = 0;
  std::vector<std::uint64_t> m_hashes;  // of every embedding_dict key
  bool m_metadata_object = false;
  std::size_t m_metadata_entries = 0;
  std::vector<QueryHit> m_result;
  HitEntries m_hits;
};

// Pass 3 (rare): the hits' entries of sections that came before embedding_dict.
class CollectPass : public OutlineVisitor {
 public:
  explicit CollectPass(const std::vector<QueryHit>& hits) { m_hits.set_ids(hits); }
  void section(std::string_view name, std::string_view raw_key, bool container, bool is_array,
               std::string_view raw) override {
    Group g = group_of(name);
    m_in = g == Group::RefDocs || g == Group::Metadata;
    if (m_in) m_hits.begin(raw_key, container, is_array, raw);
  }
  void entry(const StreamEntry& e) override {
    if (m_in) m_hits.entry(e);
  }
  void section_end(const Span&) override {
    if (m_in) m_hits.end();
    m_in = false;
  }
  std::string text() const { return m_hits.text(); }

 private:
  bool m_in = false;
  HitEntries m_hits;
};

// ---------------------------------------------------------------- docstore

// The docstore/data entries of the hits, kept as they stream by.
class DocstorePass : public OutlineVisitor {
 public:
  explicit DocstorePass(const std::vector<std::string>& ids) : m_ids(ids.begin(), ids.end()) {}
  void section(std::string_view name, std::string_view raw_key, bool container, bool is_array,
               std::string_view raw) override {
    if (!m_names.emplace(name).second) needs_loaded();
    m_in = name == coll::kDocData;
    if (!m_in) return;
    (void)raw;
    if (!container || is_array) needs_loaded();  // not the dict of nodes: the loaded path says what it makes of it
    m_text.append("{").append(raw_key).append(": {");
  }
  void entry(const StreamEntry& e) override {
    if (!m_in || !m_ids.count(e.key)) return;
    m_text.append(m_entries++ ? ", " : "").append(e.raw_key).append(": ").append(e.raw);
  }
  void section_end(const Span&) override {
    if (m_in) m_text += "}}";
    m_in = false;
  }
  std::string text() const { return m_text.empty() ? std::string("{}") : m_text; }

 private:
  std::unordered_set<std::string_view> m_ids;  // into the caller's ids
  std::set<std::string, std::less<>> m_names;
  bool m_in = false;
  std::string m_text;
  std::size_t m_entries = 0;
};

}  // namespace

StreamedSearch query_streamed(const Store& summary, std::string_view ns, const VectorQuery& q) {
  if (q.mode != QueryMode::Default || q.node_ids) needs_loaded();
  if (faiss_namespace_file(summary, ns)) needs_loaded();
  const VectorStoreDoc* v = summary.vector_store(ns);
  if (!v) needs_loaded();  // the loaded path says which namespaces there are
  const FilterSemantics semantics = q.semantics.value_or(filter_semantics_for_era(summary.era));
  detail::FilterEvaluator filter(q.filters ? &*q.filters : nullptr, semantics);
  try {
    filter.check_before_search();
  } catch (const detail::PyError&) {
    needs_loaded();
  }

  std::vector<std::uint64_t> outcomes;
  if (filter.active()) {
    FilterPass pass(filter);
    stream_doc(summary, v->doc, pass);
    outcomes = pass.outcomes();
  }
  ScorePass pass(q, filter.active() ? &outcomes : nullptr);
  // The key hashes' array at its size from the start: grown by doubling, it
  // held one and a half times the 80 MB it needs at 10M vectors.
  if (summary.streamed)
    for (const char* name : {"embedding_dict", "embeddingDict"})
      if (const CollectionCounts* c = summary.streamed->find(v->doc.name(), name)) pass.reserve_keys(c->entries);
  std::uint64_t size = 0;
  for (const FileInfo& f : summary.files)
    if (f.name == v->doc.name()) size = f.size;
  std::function<void(std::size_t)> progress;
  if (q.progress) progress = [&](std::size_t done) { q.progress(done, size); };
  stream_doc(summary, v->doc, pass, progress);
  pass.finish();
  // SimpleVectorStore refuses filters (even an empty list) on a store with
  // vectors but no metadata: the loaded path's error.
  if (q.filters && pass.entries() > 0 && !pass.metadata_usable()) needs_loaded();
  if (q.progress) q.progress(size, size);

  StreamedSearch out;
  out.hits = pass.hits();
  out.scored = pass.scored();
  out.ruled_out = pass.ruled_out();
  std::string entries = pass.hit_entries();
  if (pass.collect_again()) {
    CollectPass again(out.hits);
    stream_doc(summary, v->doc, again);
    entries = again.text();
  }
  try {
    JsonDoc doc = JsonDoc::read(v->doc.name(), Buffer::own(std::move(entries)), v->doc.dialect());
    out.vectors = VectorStoreDoc{v->ns, std::move(doc)};
  } catch (const Error&) {
    needs_loaded();
  }
  return out;
}

std::optional<JsonDoc> docstore_entries(const Store& summary, const std::vector<std::string>& ids) {
  if (!summary.docstore) return std::nullopt;
  const JsonDoc& full = *summary.docstore;
  DocstorePass pass(ids);
  stream_doc(summary, full, pass);
  std::optional<JsonDoc> doc;
  try {
    doc = JsonDoc::read(full.name(), Buffer::own(pass.text()), full.dialect());
    // Printing decodes these nodes: one that does not decode is the loaded
    // path's error, with its place in the file.
    if (const Section* data = doc->section(coll::kDocData))
      for (const std::string& id : ids)
        if (const Entry* e = data->find(id)) (void)decode_node(*doc, *e);
  } catch (const Error&) {
    needs_loaded();
  }
  return doc;
}

}  // namespace lstore
