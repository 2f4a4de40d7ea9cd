// The warm cache: a namespace's embeddings as packed float64, with its ids and
// ref doc ids, in one file that is mapped back in a few milliseconds. It is
// keyed by the identity of the vector file it was made from (size, mtime, a
// hash of its first and last 64 KiB) and ignored as soon as that changes.
//
// Layout (native byte order, checked by a marker):
//   "LSVCACH1", u32 0x01020304, u32 0, u64 size, i64 mtime_ns, u64 hash,
//   u64 rows, u64 dim, u32 n + vector file name (relative to the store dir),
//   rows x (u32 n + id), rows x (u32 n + ref doc id, n = 0xFFFFFFFF for none),
//   zero padding to a multiple of 64, rows x dim float64.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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

constexpr char kMagic[8] = {'L', 'S', 'V', 'C', 'A', 'C', 'H', '1'};
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
  ~Mapping() {
    if (addr != MAP_FAILED) ::munmap(addr, size);
  }
};

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
  // MAP_POPULATE: the whole matrix is scanned right away; one populate is
  // much cheaper than a page fault per 4 KiB.
  map->addr = ::mmap(nullptr, map->size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  ::close(fd);
  if (map->addr == MAP_FAILED) return std::nullopt;
  const char* base = static_cast<const char*>(map->addr);
  Cursor c{base, base + map->size};
  char magic[8];
  std::uint32_t order = 0, reserved = 0;
  FileIdentity stored;
  std::uint64_t rows = 0, dim = 0;
  std::optional<std::string_view> name;
  if (!c.get(magic) || std::memcmp(magic, kMagic, 8) != 0 || !c.get(order) || order != kByteOrder || !c.get(reserved) ||
      !c.get(stored.size) || !c.get(stored.mtime_ns) || !c.get(stored.head_tail_hash) || !c.get(rows) || !c.get(dim) ||
      !c.get_str(name) || !name || name->empty())
    return std::nullopt;
  // Stale? The vector file it was made from must be unchanged, and still the
  // one the directory backend picks for the namespace.
  fs::path vector_file = store_dir / std::string(*name);
  try {
    if (!(file_identity(vector_file) == stored)) return std::nullopt;
  } catch (const Error&) {
    return std::nullopt;
  }
  std::error_code ec;
  if (*name == "vector_store.json" && fs::exists(store_dir / "default__vector_store.json", ec)) return std::nullopt;
  if (rows > map->size || dim > map->size) return std::nullopt;
  std::vector<std::string_view> ids(rows);
  std::vector<std::optional<std::string_view>> refs(rows);
  for (auto& id : ids) {
    std::optional<std::string_view> s;
    if (!c.get_str(s) || !s) return std::nullopt;
    id = *s;
  }
  for (auto& r : refs)
    if (!c.get_str(r)) return std::nullopt;
  std::size_t offset = static_cast<std::size_t>(c.p - base);
  offset = (offset + 63) / 64 * 64;
  if (offset > map->size || (map->size - offset) / sizeof(double) / (dim ? dim : 1) < rows ||
      map->size - offset != rows * dim * sizeof(double))
    return std::nullopt;
  const auto* data = reinterpret_cast<const double*>(base + offset);
  return PackedVectorsAccess::make(std::move(ids), std::move(refs), dim, data, map);
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
  put_str(out, doc.name());
  for (const Entry* e : rows.entries) put_str(out, e->key);
  for (const Entry* e : rows.entries) {
    const Entry* r = s.ref_doc_ids && s.ref_doc_ids->outlined ? s.ref_doc_ids->find(e->key) : nullptr;
    Json ref = r ? doc.decode(r->raw) : Json();
    if (ref.is_string()) put_str(out, ref.as_string());
    else put(out, kNone);
  }
  const std::size_t data_offset = (out.size() + 63) / 64 * 64;
  out.resize(data_offset + rows.entries.size() * rows.dim * sizeof(double), '\0');
  // malloc aligns to 16 and the offset is a multiple of 64: doubles are aligned.
  auto* data = reinterpret_cast<double*>(out.data() + data_offset);
  detail::parse_rows(store, rows, data);
  std::error_code ec;
  fs::create_directories(cache_file.parent_path(), ec);
  if (ec)
    throw Error(ErrorKind::Data, cache_file.parent_path().string(), "cannot create the cache directory: " + ec.message());
  atomic_write_file(cache_file, out);

  std::vector<std::string_view> ids;
  ids.reserve(rows.entries.size());
  for (const Entry* e : rows.entries) ids.push_back(e->key);
  return PackedVectorsAccess::make(std::move(ids), {}, rows.dim, data, image);
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
