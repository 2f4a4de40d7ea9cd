// The warm cache: a namespace's embeddings in one file that a query maps and
// uses without parsing (layout and checks: vector_cache.hpp). It is keyed by
// the identity of the vector file it was made from (FileIdentity: a few
// stat fields and a hash of 8 KiB) and ignored as soon as that changes.
//
// A query scans the int8 screening copy (query_screen.cpp: 1 byte per
// number, populated in one go) and reads the float64 rows, ids and ref doc
// ids of the few candidates the screening cannot rule out, each checked
// against its checksum as it is read. Versions 1 and 2 ("LSVCACH1",
// "LSVCACH2") are not read: they are rewritten, with a warning, as is any
// file that fails a check. A stale cache (the store changed) is rewritten
// without one: that is what it is for.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "lstore/error.hpp"
#include "core/checksum.hpp"
#include "core/fileio.hpp"
#include "lstore/model.hpp"
#include "query_internal.hpp"
#include "vector_cache.hpp"

namespace lstore {
namespace fs = std::filesystem;
namespace {

using detail::CacheHeader;
using detail::CacheRow;
using detail::kNoRef;

constexpr std::size_t kPage = 4096;
constexpr std::uint32_t kByteOrder = 0x01020304;
constexpr std::size_t kProbe = 4096;
// A checksum block of the screening copy: what one scan step reads.
constexpr std::size_t kBlockBytes = std::size_t{256} << 10;
// Bytes of float64 rows parsed per batch when writing.
constexpr std::size_t kBatchBytes = std::size_t{8} << 20;

std::uint64_t fnv1a(std::string_view bytes, std::uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

struct Mapping {
  void* addr = MAP_FAILED;
  std::size_t size = 0;
  ~Mapping() {
    if (addr != MAP_FAILED) ::munmap(addr, size);
  }
};

std::uint64_t align(std::uint64_t n, std::uint64_t to) { return (n + to - 1) / to * to; }

// Where everything goes, from the sizes alone: the reader recomputes it and
// accepts a header only when every offset is the one computed here.
struct Layout {
  std::uint64_t stride, block_rows, blocks;
  std::uint64_t name_off, rows_off, strings_off, order_off, block_sums_off, params_off, codes_off, data_off, file_size;
};

Layout layout_for(std::uint64_t rows, std::uint64_t dim, std::uint64_t name_len, std::uint64_t strings_size) {
  Layout l{};
  l.stride = detail::screen_stride(static_cast<std::size_t>(dim));
  l.block_rows = std::max<std::uint64_t>(1, kBlockBytes / (l.stride + 8));
  l.blocks = (rows + l.block_rows - 1) / l.block_rows;
  std::uint64_t off = sizeof(CacheHeader);
  l.name_off = off;
  off = align(off + name_len, 8);
  l.rows_off = off;
  off += rows * sizeof(CacheRow);
  l.strings_off = off;
  off = align(off + strings_size, 8);
  l.order_off = off;
  off = align(off + rows * 4, 8);
  l.block_sums_off = off;
  off += l.blocks * 8;
  l.params_off = align(off, kPage);
  l.codes_off = align(l.params_off + rows * 8, 64);
  l.data_off = align(l.codes_off + rows * l.stride, kPage);
  l.file_size = l.data_off + rows * dim * 8;
  return l;
}

std::uint64_t header_sum(const CacheHeader& h) { return checksum64(&h, offsetof(CacheHeader, header_sum)); }

std::uint64_t strings_sum(const char* p, std::uint32_t id_len, std::uint32_t ref_len) {
  const std::size_t n = std::size_t{id_len} + (ref_len == kNoRef ? 0 : ref_len);
  return checksum64(p, n, (std::uint64_t{id_len} << 32) | ref_len);
}

void pwrite_all(int fd, const void* bytes, std::size_t size, std::uint64_t offset, const fs::path& file) {
  const char* p = static_cast<const char*>(bytes);
  while (size) {
    ssize_t n = ::pwrite(fd, p, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(ErrorKind::Data, file.string(), std::string("cannot write the cache: ") + std::strerror(errno));
    p += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
}

}  // namespace

namespace detail {

std::uint64_t screen_block_sum(const float* params, const std::int8_t* codes, std::size_t stride, std::size_t first,
                               std::size_t count) {
  return checksum64(codes + first * stride, count * stride, checksum64(params + 2 * first, count * 8, first));
}

void VectorCacheView::corrupt(const std::string& what) const {
  throw CorruptVectorCache(file + ": " + what);
}

std::string_view VectorCacheView::id(std::size_t i) const {
  if (i >= rows) corrupt("row " + std::to_string(i) + " out of range");
  const CacheRow& r = row_table[i];
  const std::uint64_t n = std::uint64_t{r.id_len} + (r.ref_len == kNoRef ? 0 : r.ref_len);
  if (r.str_off > strings_size || n > strings_size - r.str_off || strings_sum(strings + r.str_off, r.id_len, r.ref_len) != r.str_sum)
    corrupt("the id of row " + std::to_string(i) + " does not match its checksum");
  return std::string_view(strings + r.str_off, r.id_len);
}

std::optional<std::string_view> VectorCacheView::ref(std::size_t i) const {
  std::string_view key = id(i);  // checks the row's strings
  const CacheRow& r = row_table[i];
  if (r.ref_len == kNoRef) return std::nullopt;
  return std::string_view(key.data() + key.size(), r.ref_len);
}

const double* VectorCacheView::row(std::size_t i) const {
  if (i >= rows) corrupt("row " + std::to_string(i) + " out of range");
  const double* p = data + i * dim;
  if (checksum64(p, dim * sizeof(double)) != row_table[i].data_sum)
    corrupt("the vector of row " + std::to_string(i) + " does not match its checksum");
  return p;
}

std::size_t VectorCacheView::find(std::string_view key) const {
  if (!m_order_checked) {
    if (checksum64(order, rows * 4) != order_sum) corrupt("the id index does not match its checksum");
    for (std::size_t j = 0; j < rows; ++j)
      if (order[j] >= rows) corrupt("the id index does not match its checksum");
    m_order_checked = true;
  }
  std::size_t lo = 0, hi = rows;
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    if (id(order[mid]) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo < rows && id(order[lo]) == key ? order[lo] : PackedVectors::npos;
}

namespace {
// The whole pages inside [p, p + n) (madvise wants page-aligned ranges).
void advise(const void* p, std::size_t n, int advice) {
  const auto first = (reinterpret_cast<std::uintptr_t>(p) + kPage - 1) / kPage * kPage;
  const auto last = (reinterpret_cast<std::uintptr_t>(p) + n) / kPage * kPage;
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, advice);
}
}  // namespace

// One populate per block is much cheaper than a page fault per 4 KiB, and
// dropping the block once scanned keeps the resident memory of a scan at a
// few blocks whatever the size of the cache (a page dropped is read again
// from the page cache if touched again: the mapping is never written).
void VectorCacheView::load_block(std::size_t b) const {
#ifdef MADV_POPULATE_READ
  const std::size_t first = b * block_rows, count = std::min(rows, first + block_rows) - first;
  advise(params + 2 * first, count * 8, MADV_POPULATE_READ);
  advise(codes + first * stride, count * stride, MADV_POPULATE_READ);
#else
  (void)b;
#endif
}

void VectorCacheView::drop_block(std::size_t b) const {
  const std::size_t first = b * block_rows, count = std::min(rows, first + block_rows) - first;
  advise(codes + first * stride, count * stride, MADV_DONTNEED);
}

void VectorCacheView::check_block(std::size_t b) const {
  const std::size_t first = b * block_rows, count = std::min(rows, first + block_rows) - first;
  if (screen_block_sum(params, codes, stride, first, count) != block_sums[b])
    corrupt("screening block " + std::to_string(b) + " does not match its checksum");
}

}  // namespace detail

PackedVectors PackedVectorsAccess::make_cached(std::shared_ptr<const detail::VectorCacheView> view) {
  PackedVectors p;
  p.m_rows = view->rows;
  p.m_dim = view->dim;
  p.m_data = view->data;
  p.m_owner = view->mapping;
  if (view->dim) p.m_screen = {view->codes, view->params, view->stride};
  p.m_cache = std::move(view);
  return p;
}

FileIdentity file_identity(const fs::path& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorKind::Data, file.string(), std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    throw Error(ErrorKind::Data, file.string(), std::string("cannot stat: ") + std::strerror(e));
  }
  FileIdentity id;
  id.dev = static_cast<std::uint64_t>(st.st_dev);
  id.ino = static_cast<std::uint64_t>(st.st_ino);
  id.size = static_cast<std::uint64_t>(st.st_size);
  id.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  id.ctime_ns = static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  char buf[kProbe];
  const std::size_t probe = std::min<std::size_t>(kProbe, id.size);
  std::uint64_t h = id.size;
  for (std::size_t offset : {std::size_t{0}, static_cast<std::size_t>(id.size) - probe}) {
    ssize_t got = ::pread(fd, buf, probe, static_cast<off_t>(offset));
    if (got != static_cast<ssize_t>(probe)) {
      ::close(fd);
      throw Error(ErrorKind::Data, file.string(), "cannot read");
    }
    h = checksum64(buf, probe, h);
  }
  ::close(fd);
  id.head_tail_hash = h;
  return id;
}

fs::path vector_cache_dir() {
  if (const char* d = std::getenv("LSTORE_CACHE_DIR"); d && *d) return d;
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d && *d) return fs::path(d) / "lstore";
  if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".cache" / "lstore";
  return fs::temp_directory_path() / ("lstore-cache-" + std::to_string(::getuid()));
}

fs::path vector_cache_path(const fs::path& store_dir, std::string_view ns) {
  std::error_code ec;
  fs::path abs = fs::weakly_canonical(fs::absolute(store_dir), ec);
  if (ec) abs = fs::absolute(store_dir).lexically_normal();
  char key[17];
  std::snprintf(key, sizeof key, "%016llx", static_cast<unsigned long long>(fnv1a(abs.string())));
  std::string safe_ns;
  for (char c : ns) safe_ns += std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' ? c : '_';
  return vector_cache_dir() / (std::string(key) + "-" + safe_ns + ".vcache");
}

std::optional<PackedVectors> read_vector_cache(const fs::path& cache_file, const fs::path& store_dir) {
  int fd = ::open(cache_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  // A file here that is not a whole cache of this version is said, then
  // rewritten (CorruptVectorCache): never silently.
  auto unusable = [&](const std::string& why) -> std::optional<PackedVectors> {
    throw CorruptVectorCache(cache_file.string() + ": " + why);
  };
  struct stat st {};
  if (::fstat(fd, &st) != 0) return std::nullopt;
  CacheHeader h;
  if (static_cast<std::size_t>(st.st_size) < sizeof(CacheHeader) ||
      ::pread(fd, &h, sizeof h, 0) != static_cast<ssize_t>(sizeof h))
    return unusable("cut short (" + std::to_string(st.st_size) + " bytes, not even a header)");
  if (std::memcmp(h.magic, detail::kCacheMagic, 7) == 0 && h.magic[7] != detail::kCacheMagic[7])
    return unusable(std::string("a version ") + h.magic[7] + " cache (this lstore writes version " +
                    detail::kCacheMagic[7] + ")");
  if (std::memcmp(h.magic, detail::kCacheMagic, 8) != 0) return unusable("not an lstore cache");
  if (h.byte_order != kByteOrder) return unusable("written on a machine of the other byte order");
  if (h.header_size != sizeof(CacheHeader) || header_sum(h) != h.header_sum)
    return unusable("the header does not match its checksum");
  if (h.file_size != static_cast<std::uint64_t>(st.st_size))
    return unusable(std::to_string(st.st_size) + " bytes where its header says " + std::to_string(h.file_size) +
                    " (cut short or grown)");
  if (h.rows > 0xFFFFFFFFu || h.dim > (1u << 24) || h.name_len == 0 || h.name_len > 4096 ||
      h.strings_size > h.file_size)
    return unusable("the header's sizes are out of range");
  const Layout l = layout_for(h.rows, h.dim, h.name_len, h.strings_size);
  if (l.stride != h.stride || l.block_rows != h.block_rows || l.name_off != h.name_off || l.rows_off != h.rows_off ||
      l.strings_off != h.strings_off || l.order_off != h.order_off || l.block_sums_off != h.block_sums_off ||
      l.params_off != h.params_off || l.codes_off != h.codes_off || l.data_off != h.data_off || l.file_size != h.file_size)
    return unusable("the header's layout is not the one its sizes give");
  std::string name(h.name_len, '\0');
  if (::pread(fd, name.data(), name.size(), static_cast<off_t>(h.name_off)) != static_cast<ssize_t>(name.size()) ||
      checksum64(name.data(), name.size()) != h.name_sum || !is_safe_relative_name(name))
    return unusable("the vector file's name does not match its checksum");
  // Stale? The vector file it was made from must be the same file, unchanged,
  // and still the one the directory backend picks for the namespace.
  try {
    FileIdentity now = file_identity(store_dir / name);
    FileIdentity was{h.dev, h.ino, h.size, h.mtime_ns, h.ctime_ns, h.head_tail_hash};
    if (!(now == was)) return std::nullopt;
  } catch (const Error&) {
    return std::nullopt;
  }
  std::error_code ec;
  if (name == "vector_store.json" && fs::exists(store_dir / "default__vector_store.json", ec)) return std::nullopt;

  auto map = std::make_shared<Mapping>();
  map->size = static_cast<std::size_t>(st.st_size);
  // No MAP_POPULATE here: the screening copy is populated a block at a time
  // as the scan reaches it (VectorCacheView::load_block), and the float64
  // rows and the strings are read only for the few candidates it leaves open.
  map->addr = ::mmap(nullptr, map->size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (map->addr == MAP_FAILED) return std::nullopt;
  const char* base = static_cast<const char*>(map->addr);
  auto view = std::make_shared<detail::VectorCacheView>();
  view->file = cache_file.string();
  view->mapping = map;
  view->rows = static_cast<std::size_t>(h.rows);
  view->dim = static_cast<std::size_t>(h.dim);
  view->stride = static_cast<std::size_t>(h.stride);
  view->block_rows = static_cast<std::size_t>(h.block_rows);
  view->row_table = reinterpret_cast<const CacheRow*>(base + h.rows_off);
  view->strings = base + h.strings_off;
  view->strings_size = static_cast<std::size_t>(h.strings_size);
  view->order = reinterpret_cast<const std::uint32_t*>(base + h.order_off);
  view->order_sum = h.order_sum;
  view->block_sums = reinterpret_cast<const std::uint64_t*>(base + h.block_sums_off);
  view->params = reinterpret_cast<const float*>(base + h.params_off);
  view->codes = reinterpret_cast<const std::int8_t*>(base + h.codes_off);
  view->data = reinterpret_cast<const double*>(base + h.data_off);
  return PackedVectorsAccess::make_cached(std::move(view));
}

PackedVectors write_vector_cache(const fs::path& cache_file, const fs::path& store_dir, const Store& store,
                                 std::string_view ns) {
  detail::NamespaceRows rows = detail::namespace_rows(store, ns);
  const JsonDoc& doc = *rows.doc;
  const std::string name = doc.name();
  FileIdentity id = file_identity(store_dir / name);
  if (id.size != doc.bytes().size())
    throw Error(ErrorKind::Data, name, "the vector file changed while it was read; no cache written");
  const std::size_t n = rows.entries.size(), dim = rows.dim;
  if (n > 0xFFFFFFFFu || dim > (1u << 24)) throw Error(ErrorKind::Data, name, "too many vectors for a cache");

  // The ids and ref doc ids (small next to the vectors) are gathered first.
  VectorSections s = vector_sections(doc);
  std::string strings;
  std::vector<CacheRow> table(n);
  for (std::size_t i = 0; i < n; ++i) {
    const Entry* e = rows.entries[i];
    const Entry* r = s.ref_doc_ids && s.ref_doc_ids->outlined ? s.ref_doc_ids->find(e->key) : nullptr;
    Json ref = r ? doc.decode(r->raw) : Json();
    CacheRow& row = table[i];
    row.str_off = strings.size();
    row.id_len = static_cast<std::uint32_t>(e->key.size());
    strings += e->key;
    row.ref_len = kNoRef;
    if (ref.is_string()) {
      row.ref_len = static_cast<std::uint32_t>(ref.as_string().size());
      strings += ref.as_string();
    }
    row.str_sum = strings_sum(strings.data() + row.str_off, row.id_len, row.ref_len);
  }
  std::vector<std::uint32_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<std::uint32_t>(i);
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    return rows.entries[a]->key < rows.entries[b]->key;  // as PackedVectors::find sorts them
  });
  const Layout l = layout_for(n, dim, name.size(), strings.size());

  std::error_code ec;
  fs::create_directories(cache_file.parent_path(), ec);
  if (ec)
    throw Error(ErrorKind::Data, cache_file.parent_path().string(), "cannot create the cache directory: " + ec.message());
  AtomicFile file(cache_file);
  const int fd = file.fd();
  if (::ftruncate(fd, static_cast<off_t>(l.file_size)) != 0)
    throw Error(ErrorKind::Data, cache_file.string(), std::string("cannot write the cache: ") + std::strerror(errno));
  pwrite_all(fd, name.data(), name.size(), l.name_off, cache_file);
  pwrite_all(fd, strings.data(), strings.size(), l.strings_off, cache_file);
  pwrite_all(fd, order.data(), n * 4, l.order_off, cache_file);

  // The vectors, in batches of whole checksum blocks: parsed, quantised,
  // summed and written, so the matrix is never held whole.
  const std::size_t br = static_cast<std::size_t>(l.block_rows), stride = static_cast<std::size_t>(l.stride);
  const std::size_t batch = std::max<std::size_t>(1, kBatchBytes / std::max<std::size_t>(1, dim * 8 * br)) * br;
  std::vector<double> data(std::min(batch, n) * dim);
  std::vector<std::int8_t> codes(std::min(batch, n) * stride);
  std::vector<float> params(std::min(batch, n) * 2);
  std::vector<std::uint64_t> block_sums(static_cast<std::size_t>(l.blocks));
  detail::DocReader reader(store, doc);
  for (std::size_t b0 = 0; b0 < n; b0 += batch) {
    const std::size_t b1 = std::min(n, b0 + batch), m = b1 - b0;
    std::vector<const Entry*> part(rows.entries.begin() + static_cast<std::ptrdiff_t>(b0),
                                   rows.entries.begin() + static_cast<std::ptrdiff_t>(b1));
    detail::scan_embeddings(reader, doc, part, dim, [&](std::size_t k, const double* values) {
      std::memcpy(data.data() + k * dim, values, dim * sizeof(double));
    });
    detail::parallel_for(m, 1024, [&](std::size_t b, std::size_t e) {
      for (std::size_t k = b; k < e; ++k) {
        if (dim) detail::quantise_row(data.data() + k * dim, dim, stride, codes.data() + k * stride, params.data() + 2 * k);
        table[b0 + k].data_sum = checksum64(data.data() + k * dim, dim * sizeof(double));
      }
    });
    for (std::size_t first = 0; first < m; first += br) {
      std::size_t count = std::min(br, m - first);
      // The block's sum over its rows as the reader numbers them.
      block_sums[(b0 + first) / br] = checksum64(codes.data() + first * stride, count * stride,
                                                 checksum64(params.data() + 2 * first, count * 8, b0 + first));
    }
    pwrite_all(fd, data.data(), m * dim * sizeof(double), l.data_off + b0 * dim * sizeof(double), cache_file);
    pwrite_all(fd, codes.data(), m * stride, l.codes_off + b0 * stride, cache_file);
    pwrite_all(fd, params.data(), m * 8, l.params_off + b0 * 8, cache_file);
  }
  pwrite_all(fd, table.data(), n * sizeof(CacheRow), l.rows_off, cache_file);
  pwrite_all(fd, block_sums.data(), block_sums.size() * 8, l.block_sums_off, cache_file);

  CacheHeader h{};
  std::memcpy(h.magic, detail::kCacheMagic, 8);
  h.byte_order = kByteOrder;
  h.header_size = sizeof(CacheHeader);
  h.dev = id.dev;
  h.ino = id.ino;
  h.size = id.size;
  h.mtime_ns = id.mtime_ns;
  h.ctime_ns = id.ctime_ns;
  h.head_tail_hash = id.head_tail_hash;
  h.rows = n;
  h.dim = dim;
  h.stride = l.stride;
  h.block_rows = l.block_rows;
  h.name_off = l.name_off;
  h.name_len = name.size();
  h.name_sum = checksum64(name.data(), name.size());
  h.rows_off = l.rows_off;
  h.strings_off = l.strings_off;
  h.strings_size = strings.size();
  h.order_off = l.order_off;
  h.order_sum = checksum64(order.data(), n * 4);
  h.block_sums_off = l.block_sums_off;
  h.params_off = l.params_off;
  h.codes_off = l.codes_off;
  h.data_off = l.data_off;
  h.file_size = l.file_size;
  h.header_sum = header_sum(h);
  pwrite_all(fd, &h, sizeof h, 0, cache_file);
  file.commit();

  std::optional<PackedVectors> written = read_vector_cache(cache_file, store_dir);
  if (!written)
    throw Error(ErrorKind::Data, cache_file.string(), "the cache just written does not read back (the vector file changed?)");
  return std::move(*written);
}

std::optional<JsonDoc> read_docstore_file(const fs::path& store_dir) {
  for (const char* name : {"docstore.json", "doc_store.json"}) {
    std::error_code ec;
    if (!fs::is_regular_file(store_dir / name, ec)) continue;
    auto buffer = Buffer::map_file((store_dir / name).string());
    return JsonDoc::read(name, buffer, JsonDialect::Python);
  }
  return std::nullopt;
}

}  // namespace lstore
