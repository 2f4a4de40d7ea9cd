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
  PackedVectors packed = src.vector_store("default") ? PackedVectors::parse(src, "default") : PackedVectors{};
  const Section* data = src.doc_collection(coll::kDocData);
  const Section* meta = src.doc_collection(coll::kDocMetadata);
  const Section* refs = src.doc_collection(coll::kRefDocInfo);
  std::vector<std::size_t> rows;
  std::size_t without_node = 0;
  for (std::size_t i = 0; i < packed.rows(); ++i) {
    if (data && data->find(packed.ids()[i])) rows.push_back(i);
    else ++without_node;
  }
  if (without_node)
    notes.push_back(fmt::format("{} vector{} without a node in the docstore not migrated (LlamaIndex migrates nodes)",
                                without_node, without_node == 1 ? "" : "s"));
  int d = static_cast<int>(packed.dim());
  if (rows.empty()) {
    if (!dim) throw Error(ErrorKind::Usage, src.location, "the store holds no vectors, so it records no dimension: give --dim");
    d = *dim;
  } else if (dim && *dim != d) {
    throw Error(ErrorKind::Usage, "--dim", fmt::format("the store's vectors have {} dimensions, not {}", d, *dim));
  }
  std::vector<float> floats;
  floats.reserve(rows.size() * static_cast<std::size_t>(d));
  double max_change = 0;
  for (std::size_t r : rows)
    for (std::size_t j = 0; j < packed.dim(); ++j) {
      float f = static_cast<float>(packed.row(r)[j]);
      max_change = std::max(max_change, std::fabs(static_cast<double>(f) - packed.row(r)[j]));
      floats.push_back(f);
    }
  if (max_change > 0)
    notes.push_back(fmt::format("{} vectors stored as float32 (largest change {:.3g})", rows.size(), max_change));

  Store out;
  out.location = src.location;
  out.dialect = Dialect::Python;
  out.era = src.era;

  // docstore.json: the migrated nodes, their node-level metadata entries, the
  // ref docs they point to; a fresh KV store writes data, metadata, ref_doc_info.
  std::unordered_set<std::string_view> kept;
  std::vector<std::string> data_entries, meta_entries, ref_entries;
  std::set<std::string> ref_ids;
  for (std::size_t r : rows) {
    std::string_view id = packed.ids()[r];
    kept.insert(id);
    const Entry* e = data->find(id);
    data_entries.push_back(entry_text(*src.docstore, *e));
    if (const Entry* m = meta ? meta->find(id) : nullptr) meta_entries.push_back(entry_text(*src.docstore, *m));
    if (auto ref = decode_node(*src.docstore, *e).ref_doc_id) ref_ids.insert(*ref);
  }
  if (refs)
    for (const Entry& e : refs->entries)
      if (ref_ids.count(std::string(e.key))) ref_entries.push_back(entry_text(*src.docstore, e));
  std::string docstore = "{";
  if (!data_entries.empty()) {
    docstore += section_text(coll::kDocData, data_entries) + ", " + section_text(coll::kDocMetadata, meta_entries);
    docstore += ", " + section_text(coll::kRefDocInfo, ref_entries);
  }
  docstore += "}";
  if (data && data->size() > rows.size())
    notes.push_back(fmt::format("{} node{} of other indexes or namespaces not carried (FaissVectorStore's docstore holds the migrated nodes)",
                                data->size() - rows.size(), data->size() - rows.size() == 1 ? "" : "s"));
  if (meta && meta->size() > meta_entries.size())
    notes.push_back(fmt::format("{} docstore/metadata entr{} (document hashes) not carried: only node-level entries come back",
                                meta->size() - meta_entries.size(), meta->size() - meta_entries.size() == 1 ? "y" : "ies"));
  if (refs && refs->size() > ref_entries.size())
    notes.push_back(fmt::format("{} ref_doc_info entr{} without a migrated node not carried", refs->size() - ref_entries.size(),
                                refs->size() - ref_entries.size() == 1 ? "y" : "ies"));

  // index_store.json: the one IndexDict, nodes_dict keyed by FAISS row.
  JsonObject nodes_dict;
  for (std::size_t i = 0; i < rows.size(); ++i) nodes_dict.emplace_back(std::to_string(i), std::string(packed.ids()[rows[i]]));
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
  faiss.bytes = Buffer::own(faiss_flat_index_bytes(metric, d, floats, file));
  faiss.size = faiss.bytes->view().size();
  faiss.detail = fmt::format("FAISS {} d={} n={}", metric == FaissMetric::InnerProduct ? "IndexFlatIP" : "IndexFlatL2", d, rows.size());

  out.files.push_back(faiss);
  out.docstore = make_doc("docstore.json", std::move(docstore));
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
  std::vector<std::int64_t> labels = ns.index.labels();
  std::vector<float> vectors = ns.index.vectors();
  const std::size_t dim = static_cast<std::size_t>(ns.index.info().dim);
  const Section* data = src.doc_collection(coll::kDocData);

  // SimpleVectorStore.add per node: embedding_dict, text_id_to_ref_doc_id
  // (ref doc id or "None"), metadata_dict (node_to_metadata_dict without
  // _node_content), in FAISS row order.
  std::string emb, refs, metas;
  std::size_t written = 0, unmapped = 0, nodeless = 0;
  for (std::size_t r = 0; r < labels.size(); ++r) {
    const std::string* id = ns.node_of(labels[r]);
    if (!id) { ++unmapped; continue; }
    const Entry* e = data ? data->find(*id) : nullptr;
    if (!e) { ++nodeless; continue; }
    Node node = decode_node(*src.docstore, *e);
    std::string key;
    dump_string(key, *id, JsonDialect::Python);
    const char* sep = written ? ", " : "";
    emb += sep + key + ": [";
    for (std::size_t j = 0; j < dim; ++j)
      emb += (j ? ", " : "") + python_float_repr(static_cast<double>(vectors[r * dim + j]));
    emb += "]";
    std::string ref = node.ref_doc_id.value_or("None");
    Json refj(ref);
    refs += sep + key + ": " + dump(refj);
    JsonObject md = node.metadata.is_object() ? node.metadata.as_object() : JsonObject{};
    md.emplace_back("_node_type", node.class_name);
    for (const char* k : {"document_id", "doc_id", "ref_doc_id"}) md.emplace_back(k, ref);
    metas += sep + key + ": " + dump(Json(std::move(md)));
    ++written;
  }
  if (unmapped)
    notes.push_back(fmt::format("{} FAISS row{} without a node in nodes_dict not carried", unmapped, unmapped == 1 ? "" : "s"));
  if (nodeless)
    notes.push_back(fmt::format("{} FAISS row{} whose node is not in the docstore not carried", nodeless, nodeless == 1 ? "" : "s"));
  if (written)
    notes.push_back(fmt::format("{} vectors widened from FAISS's float32 to float64 (values unchanged)", written));
  std::string simple = R"({"embedding_dict": {)" + emb + R"(}, "text_id_to_ref_doc_id": {)" + refs +
                       R"(}, "metadata_dict": {)" + metas + "}}";

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
  out.vector_stores.insert(out.vector_stores.begin(), VectorStoreDoc{"default", make_doc(file, std::move(simple))});
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
