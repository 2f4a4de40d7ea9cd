// The directory backend: a persist dir as LlamaIndex (Python or TS) writes it.
// Reading classifies every file by content; writing builds the new directory
// beside the target and swaps it in, so a reader sees the old or the new store.
#include <fcntl.h>
#include <iconv.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <future>
#include <thread>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "lstore/backend.hpp"
#include "lstore/error.hpp"
#include "core/fileio.hpp"
#include "core/sniff.hpp"
#include "core/stream_counts.hpp"
#include "core/stream_index_store.hpp"
#include "records_stream.hpp"
#include "store_builder.hpp"

namespace lstore {
namespace fs = std::filesystem;
namespace {

// Index stores above this are read by stream_index_store() for a summary:
// below it every struct fits the outline's checked entries (1 MiB).
constexpr std::size_t kIndexStoreStreamed = std::size_t{1} << 20;

// A file listed a moment ago is gone: a writer swapped the store meanwhile.
struct Vanished {};

std::string read_head(int dirfd, const std::string& name, const std::string& path, std::size_t n) {
  std::string head(n, '\0');
  // O_NONBLOCK: a FIFO swapped in after the type check must not hang the read.
  int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) throw Vanished{};
  if (fd < 0) throw Error(ErrorKind::Data, path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(ErrorKind::Data, path, "not a regular file");
  }
  ssize_t got = ::pread(fd, head.data(), n, 0);
  int e = errno;
  ::close(fd);
  if (got < 0) throw Error(ErrorKind::Data, path, std::string("cannot read: ") + std::strerror(e));
  head.resize(static_cast<std::size_t>(got));
  return head;
}

// A listed file's bytes. Gone since it was listed: a writer swapped the
// store meanwhile (and emptied the old one), so the read starts again.
std::shared_ptr<Buffer> map_listed(int dirfd, const std::string& name, const std::string& path) {
  try {
    return Buffer::map_at(dirfd, name, path);
  } catch (const Error&) {
    struct stat st {};
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT) throw Vanished{};
    throw;
  }
}

// json.loads of bytes (how SimpleKVStore reads its file) takes UTF-16 and
// UTF-32 too, found as json.detect_encoding finds them: the iconv name of
// such a file's encoding, or nullptr for UTF-8.
const char* wide_encoding(std::string_view b) {
  auto at = [&](std::size_t i) { return static_cast<unsigned char>(b[i]); };
  if (b.starts_with(std::string_view("\x00\x00\xFE\xFF", 4)) || b.starts_with(std::string_view("\xFF\xFE\x00\x00", 4))) return "UTF-32";
  if (b.starts_with("\xFE\xFF") || b.starts_with("\xFF\xFE")) return "UTF-16";
  if (b.size() >= 4) {
    if (at(0) == 0) return at(1) ? "UTF-16BE" : "UTF-32BE";
    if (at(1) == 0) return at(2) || at(3) ? "UTF-16LE" : "UTF-32LE";
  } else if (b.size() == 2) {
    if (at(0) == 0) return "UTF-16BE";
    if (at(1) == 0) return "UTF-16LE";
  }
  return nullptr;
}

// The text in UTF-8, or nullopt when it is not valid in `encoding`.
std::optional<std::string> to_utf8(std::string_view in, const char* encoding) {
  iconv_t cd = ::iconv_open("UTF-8", encoding);
  if (cd == reinterpret_cast<iconv_t>(-1)) return std::nullopt;
  std::string out(in.size() * 2 + 16, '\0');
  char* src = const_cast<char*>(in.data());
  std::size_t src_left = in.size(), dst_left = out.size();
  char* dst = out.data();
  bool ok = ::iconv(cd, &src, &src_left, &dst, &dst_left) != static_cast<std::size_t>(-1) && src_left == 0;
  ::iconv_close(cd);
  if (!ok) return std::nullopt;
  out.resize(out.size() - dst_left);
  return out;
}

// pydantic-core changed its float output: older releases wrote Python's repr
// ("6.7e-05"), newer ones their own ("0.000067", "2.5e-7"). Tell them apart
// by the first float that only one of them would write.
JsonDialect pydantic_flavour(std::string_view text) {
  // Before pydantic's model_dump_json, LlamaIndex wrote this file with json.dump.
  if (text.substr(0, 64).find("\": ") != std::string_view::npos) return JsonDialect::Python;
  for (std::size_t p = text.find("e-"); p != std::string_view::npos; p = text.find("e-", p + 2)) {
    if (p == 0 || !std::isdigit(static_cast<unsigned char>(text[p - 1])) || p + 3 >= text.size()) continue;
    if (!std::isdigit(static_cast<unsigned char>(text[p + 2]))) continue;
    // Only look at numbers: the token must start after ',', '[' or ':'.
    std::size_t b = p;
    while (b > 0 && (std::isdigit(static_cast<unsigned char>(text[b - 1])) || text[b - 1] == '.' || text[b - 1] == '-')) --b;
    if (b == 0 || (text[b - 1] != ',' && text[b - 1] != '[' && text[b - 1] != ':')) continue;
    return text[p + 2] == '0' ? JsonDialect::PydanticPyFloat : JsonDialect::Pydantic;
  }
  return JsonDialect::Pydantic;
}

class DirectoryBackend : public Backend {
 public:
  explicit DirectoryBackend(std::string path) : m_path(std::move(path)) {}
  // One file given on its own (a chat_store.json, a KV file, a lone
  // docstore.json): read as a store holding just that file.
  DirectoryBackend(std::string dir, std::string only) : m_path(std::move(dir)), m_only(std::move(only)) {}

  std::string describe() const override { return m_only.empty() ? m_path : file_path(); }
  std::string lock_path() const override { return m_only.empty() ? m_path : file_path(); }

  // Every file is opened relative to one open directory, so a store that a
  // writer swaps meanwhile is read wholly old or wholly new; if a file of the
  // old one is removed before it could be opened, the read starts again.
  Store load() override { return load_mode(false); }
  Store load_tolerant() override { return load_mode(true); }
  // ls, get: the store files are streamed, not modelled (see
  // stream_counts.hpp). LSTORE_NO_STREAM=1 reads them whole, as every other
  // command does (the tests compare the two).
  Store load_streamed(const std::string* id) override {
    const char* off = std::getenv("LSTORE_NO_STREAM");
    if (off && *off && std::string_view(off) != "0") return load();
    m_streaming = true;
    m_keep_id = id;
    try {
      Store s = load_mode(false);
      m_streaming = false;
      return s;
    } catch (...) {
      m_streaming = false;
      throw;
    }
  }

  Store load_mode(bool tolerant) {
    m_tolerant = tolerant;
    for (int attempt = 0;; ++attempt) {
      int dirfd = ::open(m_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dirfd < 0) {
        int e = errno;
        struct stat st {};
        if (::stat(m_path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode))
          throw Error(ErrorKind::Data, m_path, "not a directory");
        // A writer on a filesystem without RENAME_EXCHANGE is between its two
        // renames (or was killed there): wait for it, then say where it is.
        if (e == ENOENT) {
          if (auto aside = interrupted_swap(resolve_write_path(m_path))) {
            if (attempt < 100) {
              ::usleep(20000);
              continue;
            }
            throw Error(ErrorKind::Data, m_path, "no store here: a write was interrupted and the old store is at " + aside->string(),
                        "", "the next lstore write to this store puts it back");
          }
        }
        throw Error(ErrorKind::Data, m_path, std::string("cannot open store: ") + std::strerror(e));
      }
      try {
        Store s = load_at(dirfd);
        // The store is swapped as a whole directory and the old one then
        // emptied: if the path no longer names the directory read, some of
        // its files may have gone before they were listed. Read again.
        struct stat read {}, now {};
        bool same = ::fstat(dirfd, &read) == 0 && ::stat(m_path.c_str(), &now) == 0 && read.st_ino == now.st_ino &&
                    read.st_dev == now.st_dev;
        ::close(dirfd);
        if (same) return s;
        if (attempt >= 5) throw Error(ErrorKind::Data, m_path, "the store keeps changing while being read (another writer?)");
      } catch (const Vanished&) {
        ::close(dirfd);
        if (attempt >= 5) throw Error(ErrorKind::Data, m_path, "files keep vanishing while reading (another writer?)");
      } catch (...) {
        ::close(dirfd);
        throw;
      }
    }
  }

  Store load_at(int dirfd) {
    m_dirfd = dirfd;
    StoreBuilder builder(describe());
    std::vector<std::string> names = m_only.empty() ? list(dirfd, "") : std::vector<std::string>{m_only};
    // TS before 0.2 kept image vectors in images/vector_store.json.
    if (std::find(names.begin(), names.end(), "images/") != names.end()) {
      names.erase(std::find(names.begin(), names.end(), "images/"));
      int sub = ::openat(dirfd, "images", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (sub < 0) throw Vanished{};
      try {
        for (auto& n : list(sub, "images/")) names.push_back(n);
      } catch (...) {
        ::close(sub);
        throw;
      }
      ::close(sub);
    }
    // Files are scanned in parallel (one per core, biggest first), then placed
    // in the model in name order, so the result does not depend on timing.
    std::vector<Scanned> scanned(names.size());
    std::vector<std::exception_ptr> errors(names.size());
    std::vector<std::size_t> order(names.size());
    std::vector<std::uint64_t> sizes(names.size(), 0);
    for (std::size_t i = 0; i < names.size(); ++i) {
      order[i] = i;
      struct stat fst {};
      if (::fstatat(dirfd, names[i].c_str(), &fst, 0) == 0) sizes[i] = static_cast<std::uint64_t>(fst.st_size);
    }
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return sizes[a] > sizes[b]; });
    std::atomic<std::size_t> next{0};
    std::uint64_t total = 0;
    for (std::uint64_t z : sizes) total += z;
    auto scan_one = [&](std::size_t i) {
      try {
        scanned[i] = scan_file(names[i]);
      } catch (const Vanished&) {
        errors[i] = std::make_exception_ptr(Vanished{});
      } catch (...) {
        errors[i] = std::current_exception();
      }
    };
    auto worker = [&] {
      for (std::size_t k; (k = next.fetch_add(1)) < order.size();) scan_one(order[k]);
    };
    std::vector<std::thread> pool;
    if (m_streaming && total > (std::uint64_t{1} << 30)) {
      // Streaming a large store: its large files one at a time (each is
      // split across the cores by its own scan), so that one collection's
      // key hashes are held at a time; the small ones (the index store's
      // structs, parsed whole) on a thread of their own meanwhile.
      constexpr std::uint64_t kLarge = std::uint64_t{64} << 20;
      std::vector<std::size_t> small;
      for (std::size_t i : order)
        if (sizes[i] < kLarge) small.push_back(i);
      if (!small.empty())
        pool.emplace_back([&] {
          for (std::size_t i : small) scan_one(i);
        });
      for (std::size_t i : order)
        if (sizes[i] >= kLarge) scan_one(i);
    } else {
      unsigned threads = std::min<unsigned>(std::max(1u, std::thread::hardware_concurrency()), 4);
      for (unsigned t = 1; t < threads && t < names.size(); ++t) pool.emplace_back(worker);
      worker();
    }
    for (auto& t : pool) t.join();
    m_read.clear();
    m_transcoded.clear();
    std::shared_ptr<StreamedCounts> streamed;
    if (m_streaming) streamed = std::make_shared<StreamedCounts>();
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (errors[i]) std::rethrow_exception(errors[i]);
      if (scanned[i].counts) {
        streamed->files[names[i]] = std::move(*scanned[i].counts);
        streamed->sources[names[i]] = scanned[i].info.bytes;
      }
      if (scanned[i].info.bytes || scanned[i].doc) m_read.insert(names[i]);
      if (!scanned[i].encoding.empty()) m_transcoded[names[i]] = scanned[i].encoding;
      builder.add(std::move(scanned[i].info), std::move(scanned[i].doc), scanned[i].dialect);
    }
    m_loaded = !m_streaming;
    Store store = builder.finish();
    store.single_file = !m_only.empty();
    store.streamed = std::move(streamed);
    return store;
  }

  void save(const Store& store, const SaveOptions& options) override {
    // A streamed store (convert): its large files are copied from the
    // files read, once every entry is checked as store.verify() checks.
    if (store.streamed) verify_streamed_files(store);
    if (!m_only.empty()) {
      save_file(store);
      return;
    }
    // Through a symlink: the directory it points at is written; the link stays.
    fs::path target = resolve_write_path(m_path);
    std::error_code ec;
    bool exists = fs::exists(target, ec);
    if (exists) {
      if (!fs::is_directory(target, ec)) throw Error(ErrorKind::Data, m_path, "exists and is not a directory");
      if (!fs::is_empty(target, ec) && !options.force)
        throw Error(ErrorKind::Data, m_path, "target directory is not empty", "", "use --force to replace it");
    }
    // No corrupt entry is carried into the new store: every entry is checked
    // on other threads while the files are written (it reads, the copy is the
    // kernel's), and nothing is swapped in before the check has passed.
    std::shared_future<void> check = std::async(std::launch::async, [&store] { store.verify(); }).share();
    std::optional<StagedDirectory> staged;
    std::vector<std::string> notes;  // said once the check has passed
    try {
      staged.emplace(target);
      write_files(store, options, target, *staged, notes);
    } catch (...) {
      check.get();  // the check's error first: a bad entry is what the user must hear of
      throw;
    }
    check.get();
    if (options.warn)
      for (const std::string& n : notes) options.warn(n);
    for (const std::string& w : staged->commit(m_loaded))
      if (options.warn) options.warn(w);
  }

 private:
  // The new directory's files, written into `staged` (save's body, beside its check).
  void write_files(const Store& store, const SaveOptions& options, const fs::path& target, StagedDirectory& staged,
                   std::vector<std::string>& notes) {
    // A file the user made read-only is one LlamaIndex's persist could not
    // rewrite either (open(path, "w") fails): lstore does not go round it.
    if (m_loaded)
      for (const JsonDoc* doc : store.documents())
        if (doc->changed() && m_read.count(doc->name()) && ::faccessat(AT_FDCWD, (target / doc->name()).c_str(), W_OK, AT_EACCESS) != 0 &&
            errno == EACCES)
          throw Error(ErrorKind::Data, m_path + "/" + doc->name(), "is read-only: LlamaIndex's own persist could not write it either", "",
                      "make it writable (chmod u+w) to let lstore change it");
    for (const FileInfo& f : store.files)
      if (store.document(f.name) && m_transcoded.count(f.name))
        notes.push_back(f.name + ": read as " + m_transcoded[f.name] + ", written as UTF-8 (as LlamaIndex's own persist writes it)");
    const std::size_t n = store.files.size();
    auto write_one = [&](std::size_t i) {
      const FileInfo& f = store.files[i];
      const JsonDoc* doc = store.document(f.name);
      const Buffer* source = streamed_source(store, f.name);
      if (doc && source) staged.write_with(f.name, [&](FileSink& sink) { sink.copy(*source, source->view()); });
      else if (doc) staged.write_with(f.name, [&](FileSink& sink) { doc->write_to(sink); });
      else if (f.bytes) staged.write_with(f.name, [&](FileSink& sink) { sink.copy(*f.bytes, f.bytes->view()); });
    };
    // A large store's files are written in two lanes at once, largest first,
    // each to the lane with fewer bytes: the filesystem serialises writes to
    // one file, not to two, and the kernel's copy of the carried bytes is
    // most of what an edit of a large store waits for.
    std::uint64_t total = 0, done = 0;
    for (const FileInfo& f : store.files) total += f.size;
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return store.files[a].size > store.files[b].size; });
    std::vector<std::size_t> lanes[2];
    std::uint64_t lane_bytes[2] = {0, 0};
    constexpr std::uint64_t kTwoLanes = std::uint64_t{64} << 20;
    for (std::size_t i : order) {
      int k = total >= kTwoLanes && lane_bytes[1] < lane_bytes[0] ? 1 : 0;
      lanes[k].push_back(i);
      lane_bytes[k] += store.files[i].size;
    }
    std::vector<std::exception_ptr> errors(n);
    std::atomic<bool> failed{false};
    std::mutex progress;
    auto run_lane = [&](const std::vector<std::size_t>& lane) {
      for (std::size_t i : lane) {
        if (failed) return;
        try {
          write_one(i);
        } catch (...) {
          errors[i] = std::current_exception();
          failed = true;
          return;
        }
        std::lock_guard<std::mutex> lock(progress);
        done += store.files[i].size;
        if (options.progress) options.progress(done, total);
      }
    };
    {
      if (!lanes[1].empty()) store.pace_precheck(1);  // two lanes: the check keeps one core
      auto other = std::async(std::launch::async, run_lane, std::cref(lanes[1]));
      run_lane(lanes[0]);
    }
    store.pace_precheck(2);
    for (const std::exception_ptr& e : errors)  // the first file's error, in the store's order
      if (e) std::rethrow_exception(e);
    // Documents added to the model without a file of origin.
    for (const JsonDoc* doc : store.documents()) {
      bool listed = false;
      for (const FileInfo& f : store.files) listed |= f.name == doc->name();
      if (!listed) staged.write_with(doc->name(), [&](FileSink& sink) { doc->write_to(sink); });
    }
    // An edit of the store this backend read: what LlamaIndex never touches
    // (subdirectories, links, files lstore did not read) comes along as it is.
    if (m_loaded) staged.carry_over(m_read);
  }

  // The file a streamed store's sample stands for, unchanged: its bytes as
  // read; nullptr for a file the model holds whole.
  static const Buffer* streamed_source(const Store& store, const std::string& name) {
    if (!store.streamed || !store.streamed->files.count(name)) return nullptr;
    auto it = store.streamed->sources.find(name);
    return it == store.streamed->sources.end() ? nullptr : it->second.get();
  }

  // Every entry but directories (and "images/") in name order: a dangling
  // link or a special file is listed too, and reported when it is read.
  std::vector<std::string> list(int dirfd, const std::string& prefix) const {
    std::vector<std::string> names;
    for (const std::string& n : list_names(dirfd, m_path + (prefix.empty() ? "" : "/" + prefix))) {
      struct stat st {};
      if (::fstatat(dirfd, n.c_str(), &st, 0) != 0) {
        names.push_back(prefix + n);  // dangling link or unreadable: reported when read
        continue;
      }
      if (S_ISDIR(st.st_mode)) {
        if (prefix.empty() && n == "images") names.push_back("images/");
        continue;
      }
      names.push_back(prefix + n);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  // One file read and classified (thread-safe: touches nothing shared).
  struct Scanned {
    std::string encoding;  // "UTF-16LE", ...: read through UTF-8; empty for UTF-8
    FileInfo info;
    std::optional<JsonDoc> doc;
    Dialect dialect = Dialect::Python;
    // Streamed (load_streamed): the counts of the file's collections; `doc`
    // then holds its sample.
    std::optional<std::map<std::string, CollectionCounts, std::less<>>> counts;
  };

  // A store file streamed for the summary: its sample classified as the
  // file would be. nullopt when the file must be read whole (a side file
  // whose collections the summary reads, duplicate keys, an entry or a
  // structure the loaded path would report).
  std::optional<Scanned> stream_file_counts(const std::string& name, const std::shared_ptr<Buffer>& buffer,
                                            const FileInfo& info) const {
    if (buffer->fd() < 0) return std::nullopt;
    Scanned out;
    out.info = info;
    try {
      // An index store over many nodes is one huge struct, which the
      // outline would hold whole: its own reader counts it in windows.
      std::optional<StreamedFile> index_store;
      if (buffer->view().size() > kIndexStoreStreamed && name.substr(name.rfind('/') + 1) == "index_store.json")
        index_store = stream_index_store(buffer->fd(), buffer->view().size(), m_keep_id);
      StreamedFile f = index_store ? std::move(*index_store)
                                   : stream_counts(buffer->fd(), buffer->view().size(), m_keep_id);
      if (f.read_whole) return std::nullopt;
      out.doc = JsonDoc::read(name, Buffer::own(std::move(f.sample)), JsonDialect::Python);
      out.info.kind = classify_json(*out.doc, name.substr(name.rfind('/') + 1), out.dialect, out.info.detail);
      bool counted = out.info.kind == FileKind::DocStore || out.info.kind == FileKind::VectorStore ||
                     out.info.kind == FileKind::GraphStore || out.info.kind == FileKind::PropertyGraph;
      if (f.truncated && !counted) return std::nullopt;
      out.counts = std::move(f.counts);
    } catch (const std::exception&) {
      return std::nullopt;  // the loaded path says what is wrong, as it always has
    }
    if (out.dialect == Dialect::TypeScript) out.doc->set_dialect(JsonDialect::JavaScript);
    if (out.info.kind == FileKind::PropertyGraph) out.doc->set_dialect(pydantic_flavour(buffer->view()));
    out.info.bytes = buffer;
    return out;
  }

  Scanned scan_file(const std::string& name) const {
    std::string path = m_path + "/" + name;
    Scanned out;
    FileInfo& info = out.info;
    info.name = name;
    struct stat st {};
    if (::fstatat(m_dirfd, name.c_str(), &st, 0) != 0) {
      if (errno == ENOENT && ::fstatat(m_dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) throw Vanished{};
      if (is_store_file_name(name.substr(name.rfind('/') + 1)))
        throw Error(ErrorKind::Data, path, std::string("cannot read: ") + std::strerror(errno));
      info.kind = FileKind::Broken;
      info.detail = std::strerror(errno);
      return out;
    }
    if (!S_ISREG(st.st_mode)) {
      // A FIFO would block the read forever; a device is no store file.
      if (is_store_file_name(name.substr(name.rfind('/') + 1)))
        throw Error(ErrorKind::Data, path, "not a regular file (a FIFO, socket or device)");
      info.kind = FileKind::Broken;
      info.detail = "not a regular file (a FIFO, socket or device); not read";
      return out;
    }
    info.size = static_cast<std::uint64_t>(st.st_size);
    std::string head = read_head(m_dirfd, name, path, 4096);
    std::shared_ptr<Buffer> transcoded;
    if (const char* enc = name.ends_with(".json") ? wide_encoding(head) : nullptr) {
      auto utf8 = to_utf8(map_listed(m_dirfd, name, path)->view(), enc);
      if (utf8 && utf8->find_first_not_of(" \t\r\n") != std::string::npos &&
          (*utf8)[utf8->find_first_not_of(" \t\r\n")] == '{') {
        out.encoding = enc;
        head = utf8->substr(0, 4096);
        transcoded = Buffer::own(std::move(*utf8));
      }
    }
    info.kind = sniff_bytes(head, info.size, info.detail);
    if (info.kind != FileKind::Other || info.detail == "not JSON") {
      if (info.kind == FileKind::Other) info.detail.clear();
      info.bytes = map_listed(m_dirfd, name, path);
      return out;
    }
    auto buffer = transcoded ? transcoded : map_listed(m_dirfd, name, path);
    std::size_t lead = head.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
    while (lead < head.size() && std::isspace(static_cast<unsigned char>(head[lead]))) ++lead;
    if (head[lead] != '{') {
      classify_non_object(info, buffer);
      info.bytes = buffer;
      return out;
    }
    if (m_streaming && !transcoded)
      if (std::optional<Scanned> streamed = stream_file_counts(name, buffer, info)) return std::move(*streamed);
    try {
      out.doc = JsonDoc::read(name, buffer, JsonDialect::Python);
      // Classifying decodes a first entry, which may be what is broken.
      info.kind = classify_json(*out.doc, name.substr(name.rfind('/') + 1), out.dialect, info.detail);
    } catch (const Error& e) {
      out.doc.reset();
      if (is_store_file_name(name.substr(name.rfind('/') + 1)) && !m_tolerant) throw Error(ErrorKind::Data, path, e.what(), e.place());
      info.kind = FileKind::Broken;
      info.detail = std::string(e.what()) + " (" + e.place() + ")";
      info.bytes = buffer;
      return out;
    }
    if (out.dialect == Dialect::TypeScript) out.doc->set_dialect(JsonDialect::JavaScript);
    if (info.kind == FileKind::PropertyGraph) out.doc->set_dialect(pydantic_flavour(buffer->view()));
    info.bytes = buffer;  // dropped again by StoreBuilder when the model holds the file
    return out;
  }

  // JSON whose root is not an object: a 0.10 chat store (a JSON string), a
  // LangChain.js docstore (an array of [id, document] pairs), or foreign.
  static void classify_non_object(FileInfo& info, const std::shared_ptr<Buffer>& buffer) {
    try {
      Json v = parse(buffer->view());
      if (v.is_string()) {
        Json inner = parse(v.as_string());
        if (inner.find("store") && inner.find("class_name")) {
          info.kind = FileKind::ChatStore;
          info.detail = "SimpleChatStore (0.10 era: a JSON string)";
          return;
        }
      }
      if (v.is_array()) {
        const auto& a = v.as_array();
        if (!a.empty() && a[0].is_array() && !a[0].as_array().empty() && a[0].as_array()[0].is_array()) {
          info.kind = FileKind::ForeignJson;
          info.detail = "LangChain.js docstore (array of [id, document] pairs)";
          return;
        }
      }
      info.kind = FileKind::ForeignJson;
      info.detail = std::string("JSON ") + v.type_name() + ", not a LlamaIndex store file";
    } catch (const ParseError& e) {
      info.kind = FileKind::Broken;
      info.detail = std::string(e.what()) + " (" + line_column(buffer->view().data(), buffer->view().size(), e.offset()) + ")";
    } catch (const std::exception&) {
      info.kind = FileKind::ForeignJson;
      info.detail = "JSON that is not a LlamaIndex store file";
    }
  }

  std::string file_path() const { return m_path == "." ? m_only : m_path + "/" + m_only; }

  // The single-file store: that file rewritten atomically (temp, fsync,
  // rename, fsync the directory) when its bytes changed.
  void save_file(const Store& store) {
    store.verify();
    for (const FileInfo& f : store.files) {
      if (f.name != m_only) continue;
      fs::path target = resolve_write_path(file_path());
      if (const JsonDoc* doc = store.document(f.name)) atomic_write_file(target, doc->serialize());
      else if (f.bytes) atomic_write_file(target, f.bytes->view());
    }
  }

  std::string m_path;
  std::string m_only;  // the one file of a single-file store
  int m_dirfd = AT_FDCWD;  // the store directory while loading
  bool m_tolerant = false;
  bool m_streaming = false;  // load_streamed() is reading
  const std::string* m_keep_id = nullptr;  // ... keeping this id's entries
  bool m_loaded = false;        // load() read the store that save() writes
  std::set<std::string> m_read;  // the files that load() read (the model's)
  std::map<std::string, std::string> m_transcoded;  // file -> the UTF-16/32 encoding it was read from
};

}  // namespace

std::unique_ptr<Backend> make_directory_backend(const std::string& path) {
  return std::make_unique<DirectoryBackend>(path);
}

std::unique_ptr<Backend> make_file_backend(const std::string& path) {
  fs::path p(path);
  std::string dir = p.parent_path().empty() ? "." : p.parent_path().string();
  return std::make_unique<DirectoryBackend>(dir, p.filename().string());
}

}  // namespace lstore
