// Content probes (FORMAT.md §1, §7, §9): a file's kind comes from its bytes.
#include "core/sniff.hpp"

#include <cctype>
#include <cstring>

#include "core/outline.hpp"

namespace lstore {
namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::string faiss_type(std::string_view fourcc) {
  if (fourcc == "IxF2") return "IndexFlatL2";
  if (fourcc == "IxFI") return "IndexFlatIP";
  if (fourcc == "IxMp" || fourcc == "IxM2") return "IndexIDMap";
  if (fourcc.substr(0, 2) == "IH") return "IndexHNSW";
  if (fourcc.substr(0, 2) == "Iw" || fourcc.substr(0, 2) == "Iv") return "IndexIVF";
  return "index " + std::string(fourcc);
}

}  // namespace

const char* file_kind_name(FileKind kind) {
  switch (kind) {
    case FileKind::DocStore: return "docstore";
    case FileKind::IndexStore: return "index_store";
    case FileKind::VectorStore: return "vector_store";
    case FileKind::GraphStore: return "graph_store";
    case FileKind::PropertyGraph: return "property_graph_store";
    case FileKind::KvStore: return "kv_store";
    case FileKind::ChatStore: return "chat_store";
    case FileKind::LegacySaveToDisk: return "legacy_save_to_disk";
    case FileKind::Faiss: return "faiss";
    case FileKind::LfsPointer: return "git_lfs_pointer";
    case FileKind::Empty: return "empty";
    case FileKind::Sqlite: return "sqlite";
    case FileKind::Pickle: return "pickle";
    case FileKind::ForeignJson: return "foreign_json";
    case FileKind::Broken: return "broken";
    case FileKind::Other: return "other";
  }
  return "other";
}

FileKind file_kind_from_name(std::string_view name) {
  for (int k = 0; k <= static_cast<int>(FileKind::Other); ++k)
    if (name == file_kind_name(static_cast<FileKind>(k))) return static_cast<FileKind>(k);
  return FileKind::Other;
}

const char* severity_name(Severity s) {
  switch (s) {
    case Severity::Info: return "info";
    case Severity::Warning: return "warning";
    case Severity::Error: return "error";
  }
  return "info";
}

bool is_store_file_name(std::string_view n) {
  auto ends_with = [&](std::string_view suffix) {
    return n.size() >= suffix.size() && n.substr(n.size() - suffix.size()) == suffix;
  };
  return n == "docstore.json" || n == "doc_store.json" || n == "index_store.json" || n == "graph_store.json" ||
         n == "property_graph_store.json" || ends_with("vector_store.json");
}

FileKind sniff_bytes(std::string_view head, std::uint64_t size, std::string& detail) {
  std::size_t i = 0;
  while (i < head.size() && (head[i] == ' ' || head[i] == '\n' || head[i] == '\r' || head[i] == '\t')) ++i;
  if (size == 0 || i == head.size()) {
    detail = size == 0 ? "0 bytes" : "whitespace only";
    if (size <= head.size()) return FileKind::Empty;
  }
  if (starts_with(head, "version https://git-lfs.github.com/spec/")) {
    auto p = head.find("\nsize ");
    detail = p == std::string_view::npos ? "Git LFS pointer"
                                         : "Git LFS pointer to " + std::string(head.substr(p + 6, head.find('\n', p + 6) - p - 6)) + " bytes";
    return FileKind::LfsPointer;
  }
  if (starts_with(head, std::string_view("SQLite format 3\0", 16))) {
    detail = "SQLite database";
    return FileKind::Sqlite;
  }
  if (head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0x80 && head[1] >= 2 && head[1] <= 5) {
    detail = "Python pickle";
    return FileKind::Pickle;
  }
  // FAISS: a four-letter type tag starting with 'I', then read_index_header:
  // int32 d, int64 ntotal (little endian).
  if (head.size() >= 16 && head[0] == 'I' && std::isalnum(static_cast<unsigned char>(head[1])) &&
      std::isalnum(static_cast<unsigned char>(head[2])) && std::isalnum(static_cast<unsigned char>(head[3]))) {
    std::int32_t d;
    std::int64_t n;
    std::memcpy(&d, head.data() + 4, 4);
    std::memcpy(&n, head.data() + 8, 8);
    if (d >= 0 && n >= 0) {
      detail = "FAISS " + faiss_type(head.substr(0, 4)) + " d=" + std::to_string(d) + " n=" + std::to_string(n);
      return FileKind::Faiss;
    }
  }
  std::size_t j = starts_with(head, "\xEF\xBB\xBF") ? 3 : 0;
  while (j < head.size() && (head[j] == ' ' || head[j] == '\n' || head[j] == '\r' || head[j] == '\t')) ++j;
  if (j < head.size() && (head[j] == '{' || head[j] == '[' || head[j] == '"')) return FileKind::Other;  // JSON: outline it
  detail = "not JSON";
  return FileKind::Other;
}

FileKind classify_json(const JsonDoc& doc, const std::string& file_name, Dialect& dialect, std::string& detail) {
  auto has = [&](const char* k) { return doc.section(k) != nullptr; };
  dialect = Dialect::Python;
  if (has("docstore/data") || has("docstore/metadata") || has("docstore/ref_doc_info")) {
    const Section* data = doc.section("docstore/data");
    if (data && !data->entries.empty()) {
      // TS keeps index structs in docstore/data too: {indexId, type, ...}.
      Json first = doc.decode(data->entries.front().raw);
      if (first.find("__data__") == nullptr && (first.find("indexId") || first.find("type"))) {
        dialect = Dialect::TypeScript;
        return FileKind::IndexStore;
      }
      if (const Json* d = first.find("__data__"); d && d->is_string()) dialect = Dialect::TypeScript;
      if (const Json* t = first.find("__type__"); t && t->is_string() && !t->as_string().empty() &&
                                                  std::isalpha(static_cast<unsigned char>(t->as_string()[0])) &&
                                                  t->as_string() != "Document")
        dialect = Dialect::TypeScript;
    } else if (file_name == "index_store.json") {
      // Python's index store keeps its structs under index_store/data; only
      // TS's uses docstore/data, even when it holds none.
      dialect = Dialect::TypeScript;
      return FileKind::IndexStore;
    } else if (file_name.size() >= 14 && file_name.compare(file_name.size() - 14, 14, "doc_store.json") == 0) {
      dialect = Dialect::TypeScript;  // an empty docstore under the name only TS writes
    }
    if (const Section* md = doc.section("docstore/metadata"); md && !md->entries.empty()) {
      if (md->entries.front().raw.find("\"docHash\"") != std::string_view::npos) dialect = Dialect::TypeScript;
    }
    return FileKind::DocStore;
  }
  if (has("index_store/data")) return FileKind::IndexStore;
  if (has("embedding_dict") || has("text_id_to_ref_doc_id") || has("metadata_dict") || has("text_id_to_doc_id"))
    return FileKind::VectorStore;
  if (has("embeddingDict") || has("textIdToRefDocId") || has("metadataDict")) {
    dialect = Dialect::TypeScript;
    return FileKind::VectorStore;
  }
  if (has("graph_dict")) return FileKind::GraphStore;
  if (has("nodes") && has("relations") && has("triplets")) return FileKind::PropertyGraph;
  if (has("store") && doc.section("class_name")) {
    detail = "SimpleChatStore";
    return FileKind::ChatStore;
  }
  if (has("index_struct") && (has("docstore") || has("vector_store"))) {
    detail = "gpt_index 0.5 save_to_disk() file";
    return FileKind::LegacySaveToDisk;
  }
  if (has("directed") && has("multigraph") && has("links")) {
    detail = "networkx node-link graph";
    return FileKind::ForeignJson;
  }
  if (doc.sections().empty()) {
    if (file_name == "docstore.json" || file_name == "doc_store.json") return FileKind::DocStore;
    if (file_name == "index_store.json") return FileKind::IndexStore;
    detail = "empty JSON object";
    return FileKind::KvStore;
  }
  if (has("llama_cache")) {
    detail = "IngestionPipeline cache (llama_cache)";
    return FileKind::KvStore;
  }
  // A SimpleKVStore: every root value is an object of objects.
  bool kv = true;
  for (const Section& s : doc.sections()) {
    if (!s.outlined || s.is_array) { kv = false; break; }
    for (const Entry& e : s.entries)
      if (e.raw.empty() || e.raw[0] != '{') { kv = false; break; }
    if (!kv) break;
  }
  if (kv) {
    detail = "SimpleKVStore collections";
    return FileKind::KvStore;
  }
  detail = "JSON that is not a LlamaIndex store file";
  return FileKind::ForeignJson;
}

}  // namespace lstore
