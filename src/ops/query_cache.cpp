// The warm cache: a namespace's embeddings in one file that a query maps and
// uses without parsing. It is keyed by the identity of the vector file it was
// made from (size, mtime, a hash of its first and last 64 KiB) and ignored as
// soon as that changes.
//
// A query scans the float32 screening copy (rows divided by their norms,
// query_screen.cpp) and reads the float64 rows of the few candidates the
// screening cannot rank: only the screening copy is mapped in whole, so a
// 100k x 384 store costs about 150 MB resident instead of 300.
//
// Layout (native byte order, checked by a marker):
//   "LSVCACH2", u32 0x01020304, u32 0, u64 size, i64 mtime_ns, u64 hash,
//   u64 rows, u64 dim, u64 stride, u64 screen offset, u64 data offset,
//   u32 n + vector file name (relative to the store dir),
//   rows x (u32 n + id), rows x (u32 n + ref doc id, n = 0xFFFFFFFF for none),
//   rows x u8 exact-only flag, rows x u32 the rows in the order of their ids
//   (PackedVectors::find's index, which would otherwise be sorted per query),
//   zero padding to the screen offset (a multiple of 4096): rows x stride float32,
//   zero padding to the data offset (a multiple of 4096): rows x dim float64.
// Version 1 ("LSVCACH1", float64 only) is not read: it is rewritten.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "lstore/error.hpp"
#include "core/fileio.hpp"
#include "lstore/model.hpp"
#include "query_internal.hpp"

namespace lstore {
namespace fs = std::filesystem;
namespace {

constexpr char kMagic[8] = {'L', 'S', 'V', 'C', 'A', 'C', 'H', '2'};
constexpr std::size_t kPage = 4096;
constexpr std::uint32_t kByteOrder = 0x01020304;
constexpr std::uint32_t kNone = 0xFFFFFFFFu;
constexpr std::size_t kProbe = std::size_t{64} << 10;

std::uint64_t fnv1a(std::string_view bytes, std::uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

void put_str(std::string& out, std::string_view s) {
  put(out, static_cast<std::uint32_t>(s.size()));
  out += s;
}

// Bounds-checked reading of a mapped cache; any overrun means "not a cache".
struct Cursor {
  const char* p;
  const char* end;
  template <class T>
  bool get(T& v) {
    if (static_cast<std::size_t>(end - p) < sizeof v) return false;
    std::memcpy(&v, p, sizeof v);
    p += sizeof v;
    return true;
  }
  bool get_str(std::optional<std::string_view>& s) {
    std::uint32_t n;
    if (!get(n)) return false;
    if (n == kNone) {
      s.reset();
      return true;
    }
    if (static_cast<std::size_t>(end - p) < n) return false;
    s = std::string_view(p, n);
    p += n;
    return true;
  }
};

struct Mapping {
  void* addr = MAP_FAILED;
  std::size_t size = 0;
  void* screen = MAP_FAILED;  // the screening copy again, populated
  std::size_t screen_size = 0;
  ~Mapping() {
    if (addr != MAP_FAILED) ::munmap(addr, size);
    if (screen != MAP_FAILED) ::munmap(screen, screen_size);
  }
};

std::size_t page_align(std::size_t n) { return (n + kPage - 1) / kPage * kPage; }

// Offsets of the two matrices for a header of `head` bytes; false on overflow.
bool matrix_offsets(std::size_t head, std::uint64_t rows, std::uint64_t dim, std::size_t& screen_offset,
                    std::size_t& data_offset, std::size_t& end) {
  std::size_t screen_bytes = 0, data_bytes = 0;
  const std::size_t stride = detail::screen_stride(static_cast<std::size_t>(dim));
  if (__builtin_mul_overflow(static_cast<std::size_t>(rows), stride * sizeof(float), &screen_bytes) ||
      __builtin_mul_overflow(static_cast<std::size_t>(rows), static_cast<std::size_t>(dim) * sizeof(double), &data_bytes))
    return false;
  screen_offset = page_align(head);
  if (__builtin_add_overflow(screen_offset, screen_bytes, &data_offset)) return false;
  data_offset = page_align(data_offset);
  return !__builtin_add_overflow(data_offset, data_bytes, &end);
}

}  // namespace

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
  id.size = static_cast<std::uint64_t>(st.st_size);
  id.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  std::string buf(std::min<std::size_t>(kProbe, id.size), '\0');
  std::uint64_t h = fnv1a(std::string_view(reinterpret_cast<const char*>(&id.size), sizeof id.size));
  for (std::size_t offset : {std::size_t{0}, static_cast<std::size_t>(id.size) - buf.size()}) {
    ssize_t got = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(offset));
    if (got != static_cast<ssize_t>(buf.size())) {
      ::close(fd);
      throw Error(ErrorKind::Data, file.string(), "cannot read");
    }
    h = fnv1a(buf, h);
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
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size < 64) {
    ::close(fd);
    return std::nullopt;
  }
  auto map = std::make_shared<Mapping>();
  map->size = static_cast<std::size_t>(st.st_size);
  // No MAP_POPULATE here: the float64 rows are read only for the few
  // candidates the screening leaves open.
  map->addr = ::mmap(nullptr, map->size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (map->addr == MAP_FAILED) {
    ::close(fd);
    return std::nullopt;
  }
  const char* base = static_cast<const char*>(map->addr);
  Cursor c{base, base + map->size};
  char magic[8];
  std::uint32_t order = 0, reserved = 0;
  FileIdentity stored;
  std::uint64_t rows = 0, dim = 0, stride = 0, screen_at = 0, data_at = 0;
  std::optional<std::string_view> name;
  if (!c.get(magic) || std::memcmp(magic, kMagic, 8) != 0 || !c.get(order) || order != kByteOrder || !c.get(reserved) ||
      !c.get(stored.size) || !c.get(stored.mtime_ns) || !c.get(stored.head_tail_hash) || !c.get(rows) || !c.get(dim) ||
      !c.get(stride) || !c.get(screen_at) || !c.get(data_at) || !c.get_str(name) || !name || name->empty()) {
    ::close(fd);
    return std::nullopt;
  }
  // Stale? The vector file it was made from must be unchanged, and still the
  // one the directory backend picks for the namespace.
  fs::path vector_file = store_dir / std::string(*name);
  try {
    if (!(file_identity(vector_file) == stored)) {
      ::close(fd);
      return std::nullopt;
    }
  } catch (const Error&) {
    ::close(fd);
    return std::nullopt;
  }
  std::error_code ec;
  if ((*name == "vector_store.json" && fs::exists(store_dir / "default__vector_store.json", ec)) || rows > map->size ||
      dim > map->size || stride != detail::screen_stride(static_cast<std::size_t>(dim))) {
    ::close(fd);
    return std::nullopt;
  }
  std::vector<std::string_view> ids(rows);
  std::vector<std::optional<std::string_view>> refs(rows);
  bool ok = true;
  for (auto& id : ids) {
    std::optional<std::string_view> s;
    if (!(ok = c.get_str(s) && s)) break;
    id = *s;
  }
  for (auto& r : refs)
    if (!ok || !(ok = c.get_str(r))) break;
  const auto* flags = reinterpret_cast<const unsigned char*>(c.p);
  std::size_t screen_offset = 0, data_offset = 0, end = 0;
  if (!ok || static_cast<std::uint64_t>(c.end - c.p) < rows * 5 ||
      !matrix_offsets(static_cast<std::size_t>(c.p - base) + rows * 5, rows, dim, screen_offset, data_offset, end) ||
      screen_at != screen_offset || data_at != data_offset || end != map->size) {
    ::close(fd);
    return std::nullopt;
  }
  // The id order is checked, not trusted: a permutation, in sorted order.
  std::vector<std::pair<std::string_view, std::size_t>> index(rows);
  {
    const char* order = c.p + rows;
    std::vector<bool> seen(rows, false);
    for (std::size_t j = 0; j < rows; ++j) {
      std::uint32_t r;
      std::memcpy(&r, order + 4 * j, 4);
      if (r >= rows || seen[r] || (j && !(index[j - 1] < std::pair<std::string_view, std::size_t>(ids[r], r)))) {
        ::close(fd);
        return std::nullopt;
      }
      seen[r] = true;
      index[j] = {ids[r], r};
    }
  }
  // The screening copy is scanned whole right away: one populate is much
  // cheaper than a page fault per 4 KiB.
  const float* screen = reinterpret_cast<const float*>(base + screen_offset);
  map->screen_size = data_offset - screen_offset;
  if (map->screen_size && screen_offset % static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)) == 0) {
    map->screen = ::mmap(nullptr, map->screen_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd,
                         static_cast<off_t>(screen_offset));
    if (map->screen == MAP_FAILED) {
      ::close(fd);
      return std::nullopt;
    }
    screen = static_cast<const float*>(map->screen);
  }
  ::close(fd);
  const auto* data = reinterpret_cast<const double*>(base + data_offset);
  PackedVectors packed = PackedVectorsAccess::make(std::move(ids), std::move(refs), dim, data, map);
  PackedVectorsAccess::set_index(packed, std::move(index));
  if (dim) PackedVectorsAccess::set_screen(packed, {screen, static_cast<std::size_t>(stride), flags});
  return packed;
}

PackedVectors write_vector_cache(const fs::path& cache_file, const fs::path& store_dir, const Store& store,
                                 std::string_view ns) {
  detail::NamespaceRows rows = detail::namespace_rows(store, ns);
  const JsonDoc& doc = *rows.doc;
  FileIdentity id = file_identity(store_dir / doc.name());
  if (id.size != doc.bytes().size())
    throw Error(ErrorKind::Data, doc.name(), "the vector file changed while it was read; no cache written");
  VectorSections s = vector_sections(doc);
  // The image is built in one buffer and the vectors are parsed straight
  // into its tail: no second copy of the matrix.
  auto image = std::make_shared<std::string>();
  std::string& out = *image;
  out.append(kMagic, 8);
  put(out, kByteOrder);
  put(out, std::uint32_t{0});
  put(out, id.size);
  put(out, id.mtime_ns);
  put(out, id.head_tail_hash);
  put(out, static_cast<std::uint64_t>(rows.entries.size()));
  put(out, static_cast<std::uint64_t>(rows.dim));
  const std::size_t stride = detail::screen_stride(rows.dim);
  put(out, static_cast<std::uint64_t>(stride));
  const std::size_t offsets_at = out.size();
  put(out, std::uint64_t{0});  // the screen and data offsets, once known
  put(out, std::uint64_t{0});
  put_str(out, doc.name());
  for (const Entry* e : rows.entries) put_str(out, e->key);
  for (const Entry* e : rows.entries) {
    const Entry* r = s.ref_doc_ids && s.ref_doc_ids->outlined ? s.ref_doc_ids->find(e->key) : nullptr;
    Json ref = r ? doc.decode(r->raw) : Json();
    if (ref.is_string()) put_str(out, ref.as_string());
    else put(out, kNone);
  }
  const std::size_t flags_offset = out.size();
  out.resize(flags_offset + rows.entries.size(), '\0');
  {
    if (rows.entries.size() > 0xFFFFFFFFu) throw Error(ErrorKind::Data, doc.name(), "too many vectors for a cache");
    std::vector<std::pair<std::string_view, std::size_t>> index;
    index.reserve(rows.entries.size());
    for (std::size_t i = 0; i < rows.entries.size(); ++i) index.emplace_back(rows.entries[i]->key, i);
    std::sort(index.begin(), index.end());  // as PackedVectors::find sorts it
    for (const auto& [key, row] : index) put(out, static_cast<std::uint32_t>(row));
  }
  std::size_t screen_offset = 0, data_offset = 0, end = 0;
  if (!matrix_offsets(out.size(), rows.entries.size(), rows.dim, screen_offset, data_offset, end))
    throw Error(ErrorKind::Data, doc.name(), "too many vectors for a cache");
  std::memcpy(out.data() + offsets_at, &screen_offset, sizeof(std::uint64_t));
  std::memcpy(out.data() + offsets_at + 8, &data_offset, sizeof(std::uint64_t));
  // The vectors are parsed straight into the image's tail: no second copy.
  out.resize(end, '\0');
  // malloc aligns to 16 and the offsets are multiples of 4096: aligned.
  auto* data = reinterpret_cast<double*>(out.data() + data_offset);
  auto* screen = reinterpret_cast<float*>(out.data() + screen_offset);
  auto* flags = reinterpret_cast<unsigned char*>(out.data() + flags_offset);
  detail::parse_rows(store, rows, data);
  detail::build_screen(data, rows.entries.size(), rows.dim, screen, flags);
  std::error_code ec;
  fs::create_directories(cache_file.parent_path(), ec);
  if (ec)
    throw Error(ErrorKind::Data, cache_file.parent_path().string(), "cannot create the cache directory: " + ec.message());
  atomic_write_file(cache_file, out);

  std::vector<std::string_view> ids;
  ids.reserve(rows.entries.size());
  for (const Entry* e : rows.entries) ids.push_back(e->key);
  PackedVectors packed = PackedVectorsAccess::make(std::move(ids), {}, rows.dim, data, image);
  if (rows.dim) PackedVectorsAccess::set_screen(packed, {screen, stride, flags});
  return packed;
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
