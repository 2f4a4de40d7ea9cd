// A JSON object file held as its raw bytes plus an editable outline: the root
// members ("sections", e.g. the collections of a KV file) and, for object or
// array sections, their entries. Entries stay raw bytes until someone asks to
// decode one, and an unchanged entry (or file) is written back byte for byte.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lstore/json.hpp"

namespace lstore {

class FileSink;

// The bytes of a file: memory-mapped (pages can be dropped once read, so a
// 1 GB file is scanned without 1 GB of resident memory) or owned.
class Buffer {
 public:
  static std::shared_ptr<Buffer> map_file(const std::string& path);  // throws Error
  // `name` relative to the open directory `dirfd` (AT_FDCWD: the working
  // directory); `display` names it in errors.
  static std::shared_ptr<Buffer> map_at(int dirfd, const std::string& name, const std::string& display);
  // An open file descriptor (taken over: the Buffer closes it).
  static std::shared_ptr<Buffer> map_fd(int fd, const std::string& display);
  static std::shared_ptr<Buffer> own(std::string bytes);
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  std::string_view view() const { return {m_data, m_size}; }
  int fd() const { return m_fd; }  // open for pread() when the file is mapped, else -1
  // Lets the kernel drop the resident pages of [begin, end); they are read
  // back from the page cache if touched again.
  void release(std::size_t begin, std::size_t end) const;
  // Maps [begin, end) in one go (fewer page faults on a sequential scan).
  void prefetch(std::size_t begin, std::size_t end) const;
  // The mapped file was cut short under the mapping by another program
  // (open(path, "w") truncates in place) and a page past its new end was
  // read: it read as zeros, not as the file (see core/mapped_file.hpp).
  bool shrank() const;

 private:
  Buffer() = default;
  const char* m_data = nullptr;
  std::size_t m_size = 0;
  bool m_mapped = false;
  int m_fd = -1;
  int m_guard = -1;    // the SIGBUS handler's slot of the mapping
  std::string m_name;  // the file, for that handler's report
  std::string m_owned;
};

// The whitespace and punctuation around members, taken from the original file
// so that a re-written container looks like the one that was read.
struct Gaps {
  std::string open;         // after '{' / '[' before the first member
  std::string kv = ": ";    // between a key and its value
  std::string item = ", ";  // between members
  std::string close;        // after the last member before '}' / ']'
  std::string empty;        // inside an empty container
};

struct Entry {
  // The decoded key (empty for array elements): a view of the file's bytes
  // when the key has no escapes, else of the document's own storage.
  std::string_view key;
  std::string_view raw_key;  // the key token as stored, quotes included
  std::string_view raw;      // the value as stored
  // Elements of a flat array value (an embedding), counted by the outline;
  // Member::kNotCounted when unknown.
  std::uint32_t elements = 0xFFFFFFFFu;
};

struct Section {
  std::string name;
  std::string_view raw_key;
  std::string_view raw;  // the whole value as stored (stale once dirty)
  bool outlined = false; // an object or array whose entries are listed
  bool is_array = false;
  bool dirty = false;    // entries changed: re-compose on write
  std::vector<Entry> entries;
  Gaps gaps;

  // Entry by key; with duplicate keys the last one wins, as in Python's
  // json.load (an index is built on first use).
  const Entry* find(std::string_view key) const;
  // Number of distinct keys (what LlamaIndex sees); entries.size() counts
  // duplicates too, which are kept so the file is written back as it was.
  std::size_t size() const;
  // Call after changing `entries` directly (JsonDoc's editors do).
  void touched() {
    m_index.clear();
    m_distinct = kUnknown;
  }

 private:
  static constexpr std::size_t kUnknown = ~std::size_t{0};
  mutable std::unordered_map<std::string_view, std::size_t> m_index;
  mutable std::size_t m_distinct = kUnknown;
};

class JsonDoc {
 public:
  // Outlines `buffer` (a JSON object). Throws Error(Data) naming `name` and
  // line:column on malformed or truncated input.
  static JsonDoc read(std::string name, std::shared_ptr<Buffer> buffer, JsonDialect dialect);

  const std::string& name() const { return m_name; }
  JsonDialect dialect() const { return m_dialect; }
  void set_dialect(JsonDialect d) { m_dialect = d; }
  int indent() const { return m_indent; }  // -1 unless pretty-printed
  void set_name(std::string name) { m_name = std::move(name); }
  std::string_view bytes() const { return m_buffer ? m_buffer->view() : std::string_view{}; }
  // Lets the pages of the file before `p` (a pointer into bytes()) go; a long
  // pass over a large file calls it now and then to keep resident memory low.
  void release_before(const char* p) const { release_between(bytes().data(), p); }
  void release_between(const char* from, const char* to) const;
  bool changed() const;

  std::vector<Section>& sections() { return m_sections; }
  const std::vector<Section>& sections() const { return m_sections; }
  const Section* section(std::string_view name) const;
  Section* section(std::string_view name);

  // Decodes one raw value of this document.
  Json decode(std::string_view raw) const;
  // Checks that every entry (and every section kept whole) is JSON that
  // json.load accepts: a writer carries entries as raw bytes, so a corrupt
  // one would otherwise travel on unnoticed. Throws Error naming the file,
  // the entry's key path and the line:column of the bad byte. Values in
  // `passed` (keep_passing's answer for this document as read, sorted by
  // address) are not checked again.
  void verify(const std::vector<std::string_view>* passed = nullptr) const;
  // The values verify() checks that are bytes of the file (keys and values
  // as read, sections kept whole), in file order: a snapshot that
  // keep_passing() may check on another thread while the document is edited.
  std::vector<std::string_view> values_as_read() const;
  const std::shared_ptr<Buffer>& buffer() const { return m_buffer; }

  // Editing: values are serialised in this document's dialect and layout.
  Section& add_section(std::string name, bool outlined);
  void put(Section& s, std::string_view key, const Json& value);
  void put_raw(Section& s, std::string_view key, std::string raw_value);
  bool erase(Section& s, std::string_view key);
  // Every entry of `key` (a duplicated key goes entirely); how many went.
  std::size_t erase_all(Section& s, std::string_view key);

  // The file's bytes: the original when nothing changed.
  std::string serialize() const;
  // Size in bytes of serialize(), without building it (for --dry-run).
  std::uint64_t serialized_size() const;
  // The same into a file; unchanged runs are copied from the original file
  // by the kernel instead of passing through memory.
  void write_to(FileSink& sink) const;

 private:
  std::string_view keep(std::string s);
  void write_pieces(const std::function<void(std::string_view, bool original)>& put) const;
  std::string key_token(std::string_view key) const;
  Gaps default_gaps(int depth) const;

  std::string m_name;
  JsonDialect m_dialect = JsonDialect::Python;
  int m_indent = -1;
  std::shared_ptr<Buffer> m_buffer;
  std::string_view m_prefix, m_suffix;  // bytes before the root '{' and after its '}'
  Gaps m_root;
  std::vector<Section> m_sections;
  bool m_structure_changed = false;
  // Storage the entries' views point into, shared by copies of the document:
  // the decoded keys of the file, and edited keys and values (append-only).
  std::shared_ptr<const std::vector<char>> m_keys;
  std::shared_ptr<std::deque<std::string>> m_arena = std::make_shared<std::deque<std::string>>();
};

// Moves to the front of `raws` (part of values_as_read() of a document
// whose bytes are `buffer`) those json.load accepts, in their order, and
// returns how many; releases the pages behind as verify() does. `go_on` is
// asked every 256 values (it may wait: a pause); when it says no, the check
// ends and 0 is returned.
std::size_t keep_passing(std::span<std::string_view> raws, const Buffer& buffer, const std::function<bool()>& go_on);

}  // namespace lstore
