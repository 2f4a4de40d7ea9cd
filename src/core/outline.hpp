// The outline of a JSON object file: byte spans of its members down to depth 2
// (the collections of a KV file and their entries), found without building a
// DOM. Everything deeper is skipped structurally and parsed only on demand.
//
// Why not simdjson here: its parsers index the whole document at once (4 bytes
// per structural character, gigabytes for a large vector store) and need it
// padded in memory. The outline needs only the top two levels, in one pass, in
// bounded memory; the records it finds are handed to simdjson (json.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lstore {

struct Span {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t size() const { return end - begin; }
  std::string_view in(std::string_view text) const { return text.substr(begin, end - begin); }
};

// One `"key": value` of an object (or one element of an array: key is empty).
struct Member {
  // The decoded key: always for the root's members; deeper, only when the key
  // has escapes (otherwise its bytes, between the quotes, are the key).
  std::string name;
  Span name_at;  // the decoded key's bytes in Outline::keys
  Span key;    // the key token, quotes included
  Span value;  // the whole value
  // Element count when the value is a flat array of scalars (an embedding),
  // counted while skipping it; kNotCounted otherwise.
  std::uint32_t elements = kNotCounted;
  static constexpr std::uint32_t kNotCounted = 0xFFFFFFFFu;
  bool escaped = false;  // last: it shares the padding after `elements` (one Member per entry)
};

// An object or array whose members were outlined.
struct Container {
  Span span;  // from the opening bracket to the closing one, inclusive
  bool is_array = false;
  std::vector<Member> members;
};

struct Outline {
  // Every decoded key, back to back (Member::name_at points here): copied out
  // while the bytes are at hand, so that reading keys later touches nothing.
  std::vector<char> keys;
  Container root;                                // the root object's members
  std::vector<std::optional<Container>> children;  // per root member: its members, if it is an object/array
};

// Outlines `text`, whose root must be an object (after an optional BOM and
// whitespace). `depth` 1 outlines only the root's members, 2 also the members
// of object/array values at the root. Throws ParseError on malformed or
// truncated input with a message naming the key path and how many entries of
// the open container were complete.
// `progress`, if set, is called now and then with an offset below which the
// scan will not look again (so the caller may drop those pages).
Outline outline_object(std::string_view text, int depth = 2,
                       const std::function<void(std::size_t)>& progress = {});

// The same for a file read through a sliding window (mapped a window at a
// time, or read with pread(); see mapped_file.hpp): memory stays bounded by
// the largest entry.
// `window` is the read size (tests use tiny ones to cross every boundary):
// 1 MiB is as fast as larger reads and keeps each file being outlined at about
// 2 MiB of buffer (8 MiB windows were 40 MB of an ls peak of 130 MB).
Outline outline_file(int fd, std::size_t size, int depth = 2,
                     const std::function<void(std::size_t)>& progress = {},
                     std::size_t window = std::size_t{1} << 20);

// A streaming read of the same two levels: the root's members are told to a
// visitor as they are found, and each entry of an object/array member (a
// collection) is handed over with views into the scan window that are valid
// only during the call. Nothing is kept per entry, so memory is bounded by the
// largest entry whatever the file's size (ls, get, query on stores that do not
// fit in memory).
struct StreamEntry {
  std::string_view key;      // decoded key (empty for an array element)
  std::string_view raw_key;  // the key token, quotes included (empty for an array element)
  std::string_view raw;      // the whole value
  std::size_t offset = 0;    // file offset of `raw`
  std::size_t key_offset = 0;  // file offset of `raw_key`
  std::size_t index = 0;     // position in its collection
  // As Member::elements: counted when the value is a flat array of scalars.
  std::uint32_t elements = Member::kNotCounted;
  bool escaped = false;      // the key token has escapes
  // The bytes before the entry: from the end of the previous one (or the
  // opening bracket) to its key (or value), separator included.
  std::string_view lead;
};

class OutlineVisitor {
 public:
  virtual ~OutlineVisitor() = default;
  // A root member. When `container`, its entries follow (entry()), then
  // section_end(); otherwise `raw` is its whole (scalar) value and nothing follows.
  virtual void section(std::string_view name, std::string_view raw_key, bool container, bool is_array,
                       std::string_view raw) = 0;
  virtual void entry(const StreamEntry& e) = 0;
  // The end of a container section: `value` spans it, brackets included.
  virtual void section_end(const Span& value) { (void)value; }

  // An entry larger than the read window (a VectorStoreIndex's one struct:
  // every node id in one string, 840 MB at 10M nodes) is held whole unless
  // the visitor takes it in pieces. Asked when an entry outgrows the window
  // (so per section). Then, instead of entry(): entry_begin() with `raw`
  // empty at the value's first byte (`lead`, `raw_key` and the bytes between
  // it and `raw` are valid during the call), entry_piece() with consecutive
  // bytes of the value (about a window each; concatenated they are `raw`),
  // and entry_end() with the value's size.
  virtual bool takes_pieces() const { return false; }
  virtual void entry_begin(const StreamEntry& e) { (void)e; }
  virtual void entry_piece(std::string_view bytes) { (void)bytes; }
  virtual void entry_end(std::size_t size) { (void)size; }
};

// The read window of a streamed convert: 1 MiB, or LSTORE_STREAM_WINDOW bytes
// (tests make it small so that a small store has entries larger than it).
std::size_t stream_window();

// Streams the file through `visitor`; the same checks and errors as
// outline_file (ParseError), thrown when met (the visitor may have seen the
// entries before the fault). Returns the root's outline (depth 1).
Outline stream_file(int fd, std::size_t size, OutlineVisitor& visitor,
                    const std::function<void(std::size_t)>& progress = {},
                    std::size_t window = std::size_t{1} << 20);
// The same over a text in memory (tests, transcoded files).
Outline stream_object(std::string_view text, OutlineVisitor& visitor);

// Files from this size are split across cores: 16 MiB, or LSTORE_SPLIT_BYTES
// (the tests split small files).
std::size_t split_bytes();
// Tests: the scan from the start waits until the other thread is done (a
// small file is otherwise scanned before that thread has started); also
// LSTORE_SPLIT_WAIT=1.
void split_waits_for_tests(bool wait);

// A visitor whose collections can be streamed on two cores: a run of
// entries from the middle of a collection to its end is told to a visitor
// of its own on another thread, and handed back when the scan gets there.
class SplitVisitor : public OutlineVisitor {
 public:
  // A fresh visitor for such a run (called on the other thread): it is told
  // entry() only, in order, for the entries of one object collection from
  // its entry at some point to its last. It may be thrown away unused.
  virtual std::unique_ptr<OutlineVisitor> tail() const = 0;
  // On the scanning thread, in the collection being streamed, where the
  // run starts: takes the run over as if entry() had been told each of its
  // `entries` entries. False when it cannot; the scan then tells them here.
  virtual bool join(OutlineVisitor& tail, std::size_t entries) = 0;
};

// stream_file, the file split across two threads when it is at least
// `split_at` bytes long and the machine has two cores: the same calls of the
// visitor (a run joined in one go), the same result, the same errors
// (a fault is always reported by the scan from the start).
Outline stream_file_split(int fd, std::size_t size, SplitVisitor& visitor,
                          std::size_t window = std::size_t{1} << 20, std::size_t split_at = split_bytes());


// The decoded key of a member (keys with escapes are unescaped).
std::string decode_key(std::string_view text, const Span& key);

// Number of elements of the flat array at `span` (counts top-level commas);
// used to read embedding dimensions without parsing floats.
std::size_t count_array_elements(std::string_view text, const Span& span);

}  // namespace lstore
