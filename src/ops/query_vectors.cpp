// Embeddings straight from the vector file into float64: the outline already
// knows where every array is and how many numbers it holds, so each array is
// parsed in place as json.loads reads it (parse_embedding, in
// embedding_parse.cpp), in file-order chunks spread over the cores, never as
// a DOM. Each chunk is mapped in just before it is parsed
// and dropped right after, so resident memory stays at a few MB whatever the
// size of the file, and no byte is copied.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <thread>
#include <unordered_map>

#include "ops/diagnose.hpp"
#include "lstore/error.hpp"
#include "lstore/model.hpp"
#include "core/outline.hpp"
#include "query_internal.hpp"
#include "vector_cache.hpp"

namespace lstore {
namespace detail {
namespace {

constexpr std::size_t kChunkBytes = std::size_t{4} << 20;  // mapped in at a time, per thread
constexpr std::size_t kMaxGap = std::size_t{256} << 10;    // bytes of non-candidates worth mapping through

bool pread_all(int fd, char* dst, std::size_t n, std::size_t offset) {
  while (n > 0) {
    ssize_t got = ::pread(fd, dst, n, static_cast<off_t>(offset));
    if (got <= 0) {
      if (got < 0 && errno == EINTR) continue;
      return false;
    }
    dst += got;
    offset += static_cast<std::size_t>(got);
    n -= static_cast<std::size_t>(got);
  }
  return true;
}

std::size_t page_size() {
  static const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return page;
}

unsigned worker_count() {
  unsigned hw = std::thread::hardware_concurrency();
  return std::clamp(hw, 1u, 8u);
}

}  // namespace

std::vector<const Entry*> distinct_entries(const Section& section) {
  std::vector<const Entry*> out;
  out.reserve(section.entries.size());
  if (section.size() == section.entries.size()) {  // no duplicate keys (the usual case)
    for (const Entry& e : section.entries) out.push_back(&e);
    return out;
  }
  std::unordered_map<std::string_view, bool> seen;
  for (const Entry& e : section.entries)
    if (seen.emplace(e.key, true).second) out.push_back(section.find(e.key));  // first place, last value
  return out;
}

DocReader::DocReader(const Store& store, const JsonDoc& doc) : m_bytes(doc.bytes()) {
  if (m_bytes.empty() || store.location.empty()) return;
  std::filesystem::path path = std::filesystem::path(store.location) / doc.name();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st {};
  bool same = ::fstat(fd, &st) == 0 && static_cast<std::size_t>(st.st_size) == m_bytes.size();
  // The same bytes at both ends as the model holds: the file was not replaced.
  std::size_t probe = std::min<std::size_t>(4096, m_bytes.size());
  std::string head(probe, '\0'), tail(probe, '\0');
  same = same && pread_all(fd, head.data(), probe, 0) && pread_all(fd, tail.data(), probe, m_bytes.size() - probe) &&
         m_bytes.substr(0, probe) == head && m_bytes.substr(m_bytes.size() - probe) == tail;
  if (same) {
    void* p = ::mmap(nullptr, m_bytes.size(), PROT_READ, MAP_PRIVATE, fd, 0);
    if (p != MAP_FAILED) {
      m_map = static_cast<const char*>(p);
      ::madvise(p, m_bytes.size(), MADV_SEQUENTIAL);
    }
  }
  ::close(fd);
}

DocReader::~DocReader() {
  if (m_map) ::munmap(const_cast<char*>(m_map), m_bytes.size());
}

bool DocReader::owns(std::string_view raw) const {
  return !m_bytes.empty() && raw.data() >= m_bytes.data() && raw.data() + raw.size() <= m_bytes.data() + m_bytes.size();
}

std::string_view DocReader::range(const char* first, const char* last_end) const {
  std::string_view span(first, static_cast<std::size_t>(last_end - first));
  if (!m_map || !owns(span)) return span;
  const std::size_t offset = static_cast<std::size_t>(first - m_bytes.data());
  const char* mine = m_map + offset;
  // One populate per range maps its pages from the page cache in a go,
  // instead of a page fault per 4 KiB.
  const std::size_t page = page_size();
  const std::size_t b = offset / page * page;
#ifdef MADV_POPULATE_READ
  if (::madvise(const_cast<char*>(m_map) + b, offset + span.size() - b, MADV_POPULATE_READ) != 0)
#endif
    ::madvise(const_cast<char*>(m_map) + b, offset + span.size() - b, MADV_WILLNEED);
  return {mine, span.size()};
}

void DocReader::release(std::string_view span) const {
  if (!m_map || span.data() < m_map || span.data() + span.size() > m_map + m_bytes.size()) return;
  // Whole pages inside the span only: a page shared with the next range stays.
  const std::size_t page = page_size();
  const std::size_t offset = static_cast<std::size_t>(span.data() - m_map);
  const std::size_t b = (offset + page - 1) / page * page;
  const std::size_t e = (offset + span.size()) / page * page;
  if (e > b) ::madvise(const_cast<char*>(m_map) + b, e - b, MADV_DONTNEED);
}

void parallel_for(std::size_t n, std::size_t min_per_thread, const std::function<void(std::size_t, std::size_t)>& fn) {
  std::size_t threads = std::min<std::size_t>(worker_count(), std::max<std::size_t>(1, n / std::max<std::size_t>(1, min_per_thread)));
  if (threads <= 1) {
    if (n) fn(0, n);
    return;
  }
  std::vector<std::thread> pool;
  std::vector<std::exception_ptr> errors(threads);
  for (std::size_t t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      try {
        fn(n * t / threads, n * (t + 1) / threads);
      } catch (...) {
        errors[t] = std::current_exception();
      }
    });
  for (auto& th : pool) th.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

void scan_embeddings(const DocReader& reader, const JsonDoc& doc, const std::vector<const Entry*>& entries,
                     std::size_t dim, const std::function<void(std::size_t, const double*)>& fn,
                     const Progress& report) {
  // Chunks of consecutive entries, each one contiguous byte range of the file.
  struct Chunk {
    std::size_t first, last;  // entries [first, last)
  };
  std::vector<Chunk> chunks;
  std::size_t total = 0;
  for (std::size_t k = 0; k < entries.size();) {
    std::size_t m = k + 1;
    const char* begin = entries[k]->raw.data();
    const char* end = begin + entries[k]->raw.size();
    if (reader.owns(entries[k]->raw)) {
      while (m < entries.size() && reader.owns(entries[m]->raw)) {
        const char* b = entries[m]->raw.data();
        const char* e = b + entries[m]->raw.size();
        if (b < end || static_cast<std::size_t>(b - end) > kMaxGap || static_cast<std::size_t>(e - begin) > kChunkBytes) break;
        end = e;
        ++m;
      }
    }
    total += static_cast<std::size_t>(end - begin);
    chunks.push_back({k, m});
    k = m;
  }

  ProgressTicker progress(report, total);
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> first_bad{entries.size()};
  auto worker = [&] {
    std::vector<double> values(dim);
    for (std::size_t c; (c = next.fetch_add(1)) < chunks.size();) {
      const Chunk& ch = chunks[c];
      if (ch.first > first_bad.load()) return;
      const char* begin = entries[ch.first]->raw.data();
      const Entry* last = entries[ch.last - 1];
      std::string_view bytes = reader.range(begin, last->raw.data() + last->raw.size());
      for (std::size_t k = ch.first; k < ch.last; ++k) {
        std::string_view raw = bytes.substr(static_cast<std::size_t>(entries[k]->raw.data() - begin), entries[k]->raw.size());
        if (!parse_embedding(raw, values.data(), dim)) {
          for (std::size_t cur = first_bad.load(); k < cur && !first_bad.compare_exchange_weak(cur, k);) {
          }
          break;
        }
        fn(k, values.data());
      }
      progress.add(bytes.size());
      reader.release(bytes);
    }
  };
  unsigned threads = total < (std::size_t{2} << 20) ? 1u : std::min<unsigned>(worker_count(), static_cast<unsigned>(chunks.size()));
  std::vector<std::thread> pool;
  std::exception_ptr failure;
  try {
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
  } catch (...) {
    failure = std::current_exception();
  }
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
  progress.finish();
  if (std::size_t k = first_bad.load(); k < entries.size()) {
    const Entry& e = *entries[k];
    throw Error(ErrorKind::Data, doc.name(),
                "the embedding of '" + std::string(e.key) + "' is not a list of " + std::to_string(dim) + " numbers",
                "embedding_dict." + std::string(e.key));
  }
}

// Pairs of float64 (GCC/Clang vector extensions: one SSE2 register on any
// x86-64, NEON on arm64), four of them in flight per sum. The sums run in
// lanes, so their order differs from BLAS's only in the last bits.
namespace {
using Pair = double __attribute__((vector_size(16)));

inline Pair load_pair(const double* p) {
  Pair v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline double pair_sum(Pair a, Pair b, Pair c, Pair d) {
  Pair s = (a + b) + (c + d);
  return s[0] + s[1];
}
}  // namespace

double norm(const double* v, std::size_t dim) {
  Pair a = {0, 0}, b = {0, 0}, c = {0, 0}, d = {0, 0};
  std::size_t i = 0;
  for (; i + 8 <= dim; i += 8) {
    Pair w = load_pair(v + i), x = load_pair(v + i + 2), y = load_pair(v + i + 4), z = load_pair(v + i + 6);
    a += w * w;
    b += x * x;
    c += y * y;
    d += z * z;
  }
  double tail = 0;
  for (; i < dim; ++i) tail += v[i] * v[i];
  return std::sqrt(pair_sum(a, b, c, d) + tail);
}

double cosine(const double* q, double q_norm, const double* v, std::size_t dim) {
  // dot(q, v) and v·v in one pass over v.
  Pair d0 = {0, 0}, d1 = {0, 0}, d2 = {0, 0}, d3 = {0, 0};
  Pair n0 = {0, 0}, n1 = {0, 0}, n2 = {0, 0}, n3 = {0, 0};
  std::size_t i = 0;
  for (; i + 8 <= dim; i += 8) {
    Pair w = load_pair(v + i), x = load_pair(v + i + 2), y = load_pair(v + i + 4), z = load_pair(v + i + 6);
    d0 += load_pair(q + i) * w;
    d1 += load_pair(q + i + 2) * x;
    d2 += load_pair(q + i + 4) * y;
    d3 += load_pair(q + i + 6) * z;
    n0 += w * w;
    n1 += x * x;
    n2 += y * y;
    n3 += z * z;
  }
  double dot_tail = 0, norm_tail = 0;
  for (; i < dim; ++i) {
    dot_tail += q[i] * v[i];
    norm_tail += v[i] * v[i];
  }
  double dot = pair_sum(d0, d1, d2, d3) + dot_tail;
  return dot / (q_norm * std::sqrt(pair_sum(n0, n1, n2, n3) + norm_tail));
}

}  // namespace detail

// A warm cache answers through its view, which checks what it returns.
std::string_view PackedVectors::id(std::size_t i) const { return m_cache ? m_cache->id(i) : m_ids[i]; }

const std::vector<std::string_view>& PackedVectors::ids() const {
  if (m_cache && m_ids.size() != m_rows) {
    m_ids.resize(m_rows);
    for (std::size_t i = 0; i < m_rows; ++i) m_ids[i] = m_cache->id(i);
  }
  return m_ids;
}

const double* PackedVectors::row(std::size_t i) const { return m_cache ? m_cache->row(i) : m_data + i * m_dim; }

std::optional<std::string_view> PackedVectors::ref_doc_id(std::size_t i) const {
  if (m_cache) return i < m_rows ? m_cache->ref(i) : std::nullopt;
  if (i >= m_ref_doc_ids.size()) return std::nullopt;
  return m_ref_doc_ids[i];
}

std::size_t PackedVectors::find(std::string_view id) const {
  if (m_cache) return m_cache->find(id);
  if (m_index.size() != m_ids.size()) {
    m_index.clear();
    m_index.reserve(m_ids.size());
    for (std::size_t i = 0; i < m_ids.size(); ++i) m_index.emplace_back(m_ids[i], i);
    std::sort(m_index.begin(), m_index.end());
  }
  auto it = std::lower_bound(m_index.begin(), m_index.end(), std::pair<std::string_view, std::size_t>(id, 0));
  return it != m_index.end() && it->first == id ? it->second : npos;
}

namespace detail {

void require_namespace_file(const Store& store, std::string_view ns) {
  // The file is there but unreadable (an LFS pointer, a FAISS binary, ...):
  // say that, not "no such namespace".
  require_undamaged(store, std::string(ns) + "__vector_store.json");
  if (ns == "default") require_undamaged(store, "vector_store.json");
}

NamespaceRows namespace_rows(const Store& store, std::string_view ns) {
  const VectorStoreDoc* v = store.vector_store(ns);
  if (!v) require_namespace_file(store, ns);
  if (!v) throw Error(ErrorKind::Usage, store.location, "no vector store namespace '" + std::string(ns) + "'");
  NamespaceRows rows;
  rows.doc = &v->doc;
  VectorSections s = vector_sections(v->doc);
  if (s.embeddings) {
    if (!s.embeddings->outlined || s.embeddings->is_array)
      throw Error(ErrorKind::Data, v->doc.name(), "the embeddings are not an object", s.embeddings->name);
    rows.entries = distinct_entries(*s.embeddings);
  }
  rows.dim = rows.entries.empty() ? 0 : rows.entries.front()->elements;
  for (const Entry* e : rows.entries)
    if (e->elements != rows.dim)
      throw Error(ErrorKind::Data, v->doc.name(),
                  e->elements == Member::kNotCounted || rows.dim == Member::kNotCounted
                      ? "the embedding of '" + std::string(e->key) + "' is not a flat list of numbers"
                      : "vectors of different dimensions (" + std::to_string(rows.dim) + " and " +
                            std::to_string(e->elements) + ")",
                  "embedding_dict." + std::string(e->key));
  return rows;
}

void parse_rows(const Store& store, const NamespaceRows& rows, double* dst) {
  DocReader reader(store, *rows.doc);
  const std::size_t dim = rows.dim;
  scan_embeddings(reader, *rows.doc, rows.entries, dim,
                  [&](std::size_t k, const double* values) { std::memcpy(dst + k * dim, values, dim * sizeof(double)); });
}

}  // namespace detail

PackedVectors PackedVectors::parse(const Store& store, std::string_view ns) {
  detail::NamespaceRows rows = detail::namespace_rows(store, ns);
  auto data = std::make_shared<std::vector<double>>(rows.entries.size() * rows.dim);
  detail::parse_rows(store, rows, data->data());
  std::vector<std::string_view> ids;
  ids.reserve(rows.entries.size());
  for (const Entry* e : rows.entries) ids.push_back(e->key);
  const double* ptr = data->data();
  return PackedVectorsAccess::make(std::move(ids), {}, rows.dim, ptr, std::move(data));
}

}  // namespace lstore
