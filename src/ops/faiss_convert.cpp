// convert --vectors faiss|faiss-ip|simple: the persist dir FaissVectorStore
// writes (spec/VECTOR_STORES.md §2.1), byte for byte, and back. Entries that
// go across unchanged are copied as their stored bytes; new files are
// composed as Python's json.dumps writes them.
#include <fmt/format.h>

#include <cmath>
#include <set>
#include <unordered_set>

#include "lstore/error.hpp"
#include "lstore/faiss.hpp"
#include "lstore/json.hpp"
#include "lstore/model.hpp"
#include "../backends/records.hpp"  // Spool
#include "query_internal.hpp"        // namespace_rows, scan_embeddings: the vector parser query uses

namespace lstore {
namespace {

constexpr const char* kEmptySimple = R"({"embedding_dict": {}, "text_id_to_ref_doc_id": {}, "metadata_dict": {}})";
constexpr const char* kEmptyGraph = R"({"graph_dict": {}})";

// An entry as json.dumps would write it: its stored bytes when the file was
// written that way (no indent), else re-serialised.
std::string entry_text(const JsonDoc& doc, const Entry& e) {
  std::string out(e.raw_key);
  out += ": ";
  if (doc.indent() < 0) out += e.raw;
  else out += dump(doc.decode(e.raw));
  return out;
}

std::string section_text(const std::string& name, const std::vector<std::string>& entries) {
  std::string out;
  dump_string(out, name, JsonDialect::Python);
  out += ": {";
  for (std::size_t i = 0; i < entries.size(); ++i) out += (i ? ", " : "") + entries[i];
  return out + "}";
}

// Rows parsed and written per chunk: bounds the float32 buffer (6 MB at 384 dimensions).
constexpr std::size_t kRowsPerChunk = 4096;

// `"name": {` of a collection, after ", " unless it is the file's first.
void open_section(Spool& out, const char* name, bool first) {
  std::string head = first ? "" : ", ";
  dump_string(head, name, JsonDialect::Python);
  out.write(head + ": {");
}

// A conversion reads the source docstore about in file order, once per
// collection it writes: the pages behind the entry just read can leave memory
// (touched again, they come back from the page cache).
void release_read(const JsonDoc& doc, const Entry& e, std::size_t i) {
  if ((i & 1023) == 1023) doc.release_before(e.raw.data());
}

JsonDoc make_doc(const std::string& name, std::string text) {
  return JsonDoc::read(name, Buffer::own(std::move(text)), JsonDialect::Python);
}

FileInfo doc_file(const std::string& name, FileKind kind, std::size_t size) {
  FileInfo f;
  f.name = name;
  f.kind = kind;
  f.size = size;
  return f;
}

// The IndexDict envelope of the index store: {"__type__": ..., "__data__": "<json text>"}.
std::string index_envelope(const std::string& type, const Json& data) {
  std::string out = R"({"__type__": )";
  dump_string(out, type, JsonDialect::Python);
  out += R"(, "__data__": )";
  dump_string(out, dump(data), JsonDialect::Python);
  return out + "}";
}

// The vector index the FAISS namespace serves: the one IndexDict over the
// default namespace (vector_store, or multimodal for its text half).
const IndexStruct& vector_index(const std::vector<IndexStruct>& structs, const Store& src) {
  const IndexStruct* found = nullptr;
  std::string names;
  for (const IndexStruct& s : structs) {
    if (s.type != "vector_store" && s.type != "multimodal") continue;
    names += (names.empty() ? "" : ", ") + s.id;
    if (!found) found = &s;
  }
  if (!found) throw Error(ErrorKind::Data, src.location, "no vector index (IndexDict) in the index store to migrate");
  if (names.find(',') != std::string::npos)
    throw Error(ErrorKind::Data, src.location, "several vector indexes (" + names + ") share the default namespace",
                "", "FaissVectorStore serves one index; split the store first");
  return *found;
}

}  // namespace

Store convert_to_faiss(const Store& src, FaissMetric metric, std::optional<int> dim, std::vector<std::string>& notes) {
  if (src.dialect != Dialect::Python)
    throw Error(ErrorKind::Data, src.location, "FaissVectorStore is LlamaIndex (Python)'s; convert the store to --dialect python first");
  if (faiss_namespace_file(src, "default"))
    throw Error(ErrorKind::Data, src.location, "the default namespace is already a FAISS index",
                "", "convert it to --vectors simple first to change its metric");
  std::vector<IndexStruct> structs = read_index_structs(src);
  const IndexStruct& index = vector_index(structs, src);
  const std::string file = "default__vector_store.json";

  // Rows: the default namespace's vectors in embedding_dict order, as a
  // migration hands the nodes to VectorStoreIndex.
  const Section* data = src.doc_collection(coll::kDocData);
  const Section* meta = src.doc_collection(coll::kDocMetadata);
  const Section* refs = src.doc_collection(coll::kRefDocInfo);
  detail::NamespaceRows vectors;
  if (src.vector_store("default")) vectors = detail::namespace_rows(src, "default");
  std::vector<const Entry*> rows;
  std::size_t without_node = 0;
  for (const Entry* e : vectors.entries) {
    if (data && data->find(e->key)) rows.push_back(e);
    else ++without_node;
  }
  if (without_node)
    notes.push_back(fmt::format("{} vector{} without a node in the docstore not migrated (LlamaIndex migrates nodes)",
                                without_node, without_node == 1 ? "" : "s"));
  int d = static_cast<int>(vectors.dim);
  if (rows.empty()) {
    if (!dim) throw Error(ErrorKind::Usage, src.location, "the store holds no vectors, so it records no dimension: give --dim");
    d = *dim;
  } else if (dim && *dim != d) {
    throw Error(ErrorKind::Usage, "--dim", fmt::format("the store's vectors have {} dimensions, not {}", d, *dim));
  }

  // The FAISS file streams to a temporary file: its header, then the rows
  // parsed a chunk at a time straight into float32 (no float64 matrix, no
  // faiss::Index holding them all, no in-memory copy of the file).
  Spool faiss_bytes;
  faiss_bytes.write(faiss_flat_header(metric, d, static_cast<std::int64_t>(rows.size())));
  double max_change = 0;
  if (!rows.empty()) {
    detail::DocReader reader(src, *vectors.doc);
    const std::size_t width = vectors.dim;
    std::vector<float> chunk;
    std::vector<double> change;  // per row: scan_embeddings calls back from several threads
    for (std::size_t first = 0; first < rows.size(); first += kRowsPerChunk) {
      std::vector<const Entry*> part(rows.begin() + static_cast<std::ptrdiff_t>(first),
                                     rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), first + kRowsPerChunk)));
      chunk.assign(part.size() * width, 0.0f);
      change.assign(part.size(), 0.0);
      detail::scan_embeddings(reader, *vectors.doc, part, width, [&](std::size_t k, const double* v) {
        for (std::size_t j = 0; j < width; ++j) {
          const float f = static_cast<float>(v[j]);
          change[k] = std::max(change[k], std::fabs(static_cast<double>(f) - v[j]));
          chunk[k * width + j] = f;
        }
      });
      for (double c : change) max_change = std::max(max_change, c);
      faiss_bytes.write(std::string_view(reinterpret_cast<const char*>(chunk.data()), chunk.size() * sizeof(float)));
    }
  }
  if (max_change > 0)
    notes.push_back(fmt::format("{} vector{} stored as float32 (largest change {:.3g})", rows.size(), rows.size() == 1 ? "" : "s", max_change));

  Store out;
  out.location = src.location;
  out.dialect = Dialect::Python;
  out.era = src.era;

  // docstore.json: the migrated nodes, their node-level metadata entries, the
  // ref docs they point to; a fresh KV store writes data, metadata,
  // ref_doc_info. Streamed to a temporary file, entry by entry.
  Spool docstore;
  docstore.write("{");
  std::size_t meta_written = 0, refs_written = 0;
  if (!rows.empty()) {
    std::set<std::string> ref_ids;
    open_section(docstore, coll::kDocData, true);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const Entry* e = data->find(rows[i]->key);
      if (i) docstore.write(", ");
      docstore.write(entry_text(*src.docstore, *e));
      if (auto ref = decode_node(*src.docstore, *e).ref_doc_id) ref_ids.insert(*ref);
      release_read(*src.docstore, *e, i);
    }
    docstore.write("}");
    open_section(docstore, coll::kDocMetadata, false);
    for (const Entry* r : rows)
      if (const Entry* m = meta ? meta->find(r->key) : nullptr) {
        if (meta_written++) docstore.write(", ");
        docstore.write(entry_text(*src.docstore, *m));
        release_read(*src.docstore, *m, meta_written);
      }
    docstore.write("}");
    open_section(docstore, coll::kRefDocInfo, false);
    if (refs)
      for (const Entry& e : refs->entries)
        if (ref_ids.count(std::string(e.key))) {
          if (refs_written++) docstore.write(", ");
          docstore.write(entry_text(*src.docstore, e));
        }
    docstore.write("}");
  }
  docstore.write("}");
  if (data && data->size() > rows.size())
    notes.push_back(fmt::format("{} node{} of other indexes or namespaces not carried (FaissVectorStore's docstore holds the migrated nodes)",
                                data->size() - rows.size(), data->size() - rows.size() == 1 ? "" : "s"));
  if (meta && meta->size() > meta_written)
    notes.push_back(fmt::format("{} docstore/metadata entr{} (document hashes) not carried: only node-level entries come back",
                                meta->size() - meta_written, meta->size() - meta_written == 1 ? "y" : "ies"));
  if (refs && refs->size() > refs_written)
    notes.push_back(fmt::format("{} ref_doc_info entr{} without a migrated node not carried", refs->size() - refs_written,
                                refs->size() - refs_written == 1 ? "y" : "ies"));

  // index_store.json: the one IndexDict, nodes_dict keyed by FAISS row.
  JsonObject nodes_dict;
  for (std::size_t i = 0; i < rows.size(); ++i) nodes_dict.emplace_back(std::to_string(i), std::string(rows[i]->key));
  const Json* summary = index.data.find("summary");
  Json idata = JsonObject{{"index_id", index.id},
                          {"summary", summary ? *summary : Json()},
                          {"nodes_dict", std::move(nodes_dict)},
                          {"doc_id_dict", JsonObject{}},
                          {"embeddings_dict", JsonObject{}}};
  std::string key;
  dump_string(key, index.id, JsonDialect::Python);
  std::string index_store = "{" + section_text(coll::kIndexData, {key + ": " + index_envelope("vector_store", idata)}) + "}";
  if (structs.size() > 1)
    notes.push_back(fmt::format("{} other ind{} not carried (a FAISS persist dir holds its vector index)", structs.size() - 1,
                                structs.size() == 2 ? "ex" : "exes"));
  if (index.type == "multimodal")
    notes.push_back("multimodal index '" + index.id +
                    "' becomes a plain vector index over its text namespace (a FAISS nodes_dict cannot serve two namespaces)");
  for (const VectorStoreDoc& v : src.vector_stores)
    if (v.ns != "default") {
      VectorSections s = vector_sections(v.doc);
      std::size_t n = s.embeddings ? s.embeddings->size() : 0;
      if (n) notes.push_back(fmt::format("namespace '{}': {} vector{} not migrated (written as an empty SimpleVectorStore)", v.ns, n, n == 1 ? "" : "s"));
    }
  if (src.graph_store) {
    const Section* g = src.graph_store->section("graph_dict");
    if (g && !g->entries.empty()) notes.push_back(fmt::format("graph store: {} subjects not carried", g->entries.size()));
  }
  if (src.property_graph) notes.push_back("property graph store not carried");
  for (const FileInfo& f : src.files)
    if (!src.document(f.name) && f.kind != FileKind::Empty) notes.push_back("file '" + f.name + "' not carried");

  // The FAISS binary under the JSON name, as storage_context.persist writes it.
  FileInfo faiss;
  faiss.name = file;
  faiss.kind = FileKind::Faiss;
  faiss.bytes = faiss_bytes.finish(file);
  faiss.size = faiss.bytes->view().size();
  faiss.detail = fmt::format("FAISS {} d={} n={}", metric == FaissMetric::InnerProduct ? "IndexFlatIP" : "IndexFlatL2", d, rows.size());

  out.files.push_back(faiss);
  out.docstore = JsonDoc::read("docstore.json", docstore.finish("docstore.json"), JsonDialect::Python);
  out.graph_store = make_doc("graph_store.json", kEmptyGraph);
  out.vector_stores.push_back({"image", make_doc("image__vector_store.json", kEmptySimple)});
  out.index_store = make_doc("index_store.json", std::move(index_store));
  out.files.push_back(doc_file("docstore.json", FileKind::DocStore, out.docstore->bytes().size()));
  out.files.push_back(doc_file("graph_store.json", FileKind::GraphStore, out.graph_store->bytes().size()));
  out.files.push_back(doc_file("image__vector_store.json", FileKind::VectorStore, out.vector_stores[0].doc.bytes().size()));
  out.files.push_back(doc_file("index_store.json", FileKind::IndexStore, out.index_store->bytes().size()));
  return out;
}

Store convert_faiss_to_simple(const Store& src, std::vector<std::string>& notes) {
  FaissNamespace ns = open_faiss_namespace(src, "default");
  const std::string file = ns.file->name;
  const std::vector<std::int64_t> labels = ns.labels();
  const std::size_t dim = static_cast<std::size_t>(ns.info().dim);
  const Section* data = src.doc_collection(coll::kDocData);
  // A flat index's rows are read from the mapped file one at a time; any
  // other index type gives them all back through libfaiss (not streamed).
  std::vector<float> all;
  if (!ns.flat) all = ns.index().vectors();

  // The rows that come back: a node in nodes_dict and in the docstore.
  struct Row {
    std::size_t pos;
    const std::string* id;
    const Entry* entry;
  };
  std::vector<Row> rows;
  std::size_t unmapped = 0, nodeless = 0;
  for (std::size_t r = 0; r < labels.size(); ++r) {
    const std::string* id = ns.node_of(labels[r]);
    if (!id) { ++unmapped; continue; }
    const Entry* e = data ? data->find(*id) : nullptr;
    if (!e) { ++nodeless; continue; }
    rows.push_back({r, id, e});
  }
  if (unmapped)
    notes.push_back(fmt::format("{} FAISS row{} without a node in nodes_dict not carried", unmapped, unmapped == 1 ? "" : "s"));
  if (nodeless)
    notes.push_back(fmt::format("{} FAISS row{} whose node is not in the docstore not carried", nodeless, nodeless == 1 ? "" : "s"));
  if (!rows.empty())
    notes.push_back(fmt::format("{} vector{} widened from FAISS's float32 to float64 (values unchanged)", rows.size(), rows.size() == 1 ? "" : "s"));

  // SimpleVectorStore.add per node: embedding_dict, text_id_to_ref_doc_id
  // (ref doc id or "None"), metadata_dict (node_to_metadata_dict without
  // _node_content), in FAISS row order; streamed to a temporary file, one
  // collection after the other.
  Spool simple;
  std::vector<float> values(dim);
  std::string text;
  simple.write(R"({"embedding_dict": {)");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    text.clear();
    if (i) text += ", ";
    dump_string(text, *rows[i].id, JsonDialect::Python);
    text += ": [";
    const float* v = values.data();
    if (ns.flat) ns.flat->row(rows[i].pos, values.data());
    else v = all.data() + rows[i].pos * dim;
    for (std::size_t j = 0; j < dim; ++j) {
      if (j) text += ", ";
      text += python_float_repr(static_cast<double>(v[j]));
    }
    text += "]";
    simple.write(text);
    if (ns.flat && (i & 1023) == 1023)  // rows already read leave memory (they are in FAISS row order)
      ns.file->bytes->release(0, static_cast<std::size_t>(ns.flat->rows.data() - ns.file->bytes->view().data()) +
                                     rows[i].pos * dim * sizeof(float));
  }
  for (const bool metadata : {false, true}) {
    simple.write(metadata ? R"(}, "metadata_dict": {)" : R"(}, "text_id_to_ref_doc_id": {)");
    for (std::size_t i = 0; i < rows.size(); ++i) {
      Node node = decode_node(*src.docstore, *rows[i].entry);
      release_read(*src.docstore, *rows[i].entry, i);
      const std::string ref = node.ref_doc_id.value_or("None");
      text.clear();
      if (i) text += ", ";
      dump_string(text, *rows[i].id, JsonDialect::Python);
      text += ": ";
      if (!metadata) {
        dump_string(text, ref, JsonDialect::Python);
      } else {
        JsonObject md = node.metadata.is_object() ? node.metadata.as_object() : JsonObject{};
        md.emplace_back("_node_type", node.class_name);
        for (const char* k : {"document_id", "doc_id", "ref_doc_id"}) md.emplace_back(k, ref);
        text += dump(Json(std::move(md)));
      }
      simple.write(text);
    }
  }
  simple.write("}}");

  // index_store.json: the IndexDict's nodes_dict keyed by node id again, as
  // SimpleVectorStore's ids are node ids; every other byte as it was.
  Store out = src;
  out.files.clear();
  for (const FileInfo& f : src.files) {
    if (&f == ns.file) continue;
    out.files.push_back(f);
  }
  out.vector_stores.erase(std::remove_if(out.vector_stores.begin(), out.vector_stores.end(),
                                         [&](const VectorStoreDoc& v) { return v.ns == "default"; }),
                          out.vector_stores.end());
  out.vector_stores.insert(out.vector_stores.begin(),
                           VectorStoreDoc{"default", JsonDoc::read(file, simple.finish(file), JsonDialect::Python)});
  out.files.push_back(doc_file(file, FileKind::VectorStore, out.vector_stores.front().doc.bytes().size()));
  if (src.index_store) {
    std::string text = "{";
    bool first = true;
    for (const Section& s : src.index_store->sections()) {
      text += std::string(first ? "" : ", ") + std::string(s.raw_key) + ": ";
      first = false;
      if (s.name != coll::kIndexData || !s.outlined) {
        text += s.raw;
        continue;
      }
      std::vector<std::string> entries;
      for (const Entry& e : s.entries) {
        if (e.key != ns.index_id) {
          entries.push_back(entry_text(*src.index_store, e));
          continue;
        }
        IndexStruct is = decode_index_struct(*src.index_store, e);
        JsonObject d = is.data.as_object();
        for (auto& [k, v] : d)
          if (k == "nodes_dict") {
            JsonObject nd;
            for (const auto& [label, id] : ns.nodes_dict) nd.emplace_back(id, id);
            v = Json(std::move(nd));
          }
        entries.push_back(std::string(e.raw_key) + ": " + index_envelope(is.type, Json(std::move(d))));
      }
      std::string body = section_text(s.name, entries);
      text += body.substr(body.find(": {") + 2);
    }
    out.index_store = make_doc(src.index_store->name(), text + "}");
  }
  return out;
}

}  // namespace lstore
