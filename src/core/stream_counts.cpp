// Counting a store file's collections in one streaming pass; see stream_counts.hpp.
#include "core/stream_counts.hpp"

#include <algorithm>
#include <functional>
#include <memory>
#include <set>
#include <vector>

#include "core/outline.hpp"
#include "core/radix_sort.hpp"
#include "lstore/error.hpp"
#include "lstore/json.hpp"

namespace lstore {
namespace {

// A collection stays whole in the sample up to these; index structs (a few
// entries) are under them, node collections are far over.
constexpr std::size_t kWholeEntries = 1024;
constexpr std::size_t kWholeBytes = std::size_t{4} << 20;
constexpr std::size_t kCheckedBytes = std::size_t{1} << 20;

// Element counts as vector_store_info() takes them.
std::size_t elements_of(const StreamEntry& e) {
  if (e.elements != Member::kNotCounted) return e.elements;
  return (!e.raw.empty() && e.raw[0] == '[') ? count_array_elements(e.raw, {0, e.raw.size()}) : 0;
}

// Whether two ascending arrays hold a value in common.
bool shares_one(const std::vector<std::uint64_t>& a, const std::vector<std::uint64_t>& b) {
  for (std::size_t i = 0, j = 0; i < a.size() && j < b.size();) {
    if (a[i] == b[j]) return true;
    if (a[i] < b[j]) ++i;
    else ++j;
  }
  return false;
}

// Whether an entry the sample keeps decodes, as json.load would take it
// (accepts_json: simdjson's validation, parse() only for what it refuses;
// a DOM parse of the first 4 MiB of embeddings was an eighth of `ls`). A
// large entry is not checked here, and the file is then read whole.
bool checks(std::string_view raw) { return raw.size() <= kCheckedBytes && accepts_json(raw); }

// The entries of a collection from its middle to its end, counted on another
// thread (stream_file_split): what CountingVisitor::entry() does with them
// once the sample is cut down to its few, kept until join() knows whether
// the sample already holds a non-object entry.
class TailCounter : public OutlineVisitor {
 public:
  explicit TailCounter(const std::string* keep) : m_keep(keep) {}

  void section(std::string_view, std::string_view, bool, bool, std::string_view) override {}

  void entry(const StreamEntry& e) override {
    hashes.push_back(std::hash<std::string_view>{}(e.key));
    const std::size_t n = elements_of(e);
    if (hashes.size() == 1) first_dim = n;
    else if (n != first_dim) mixed_dims = true;
    const bool non_object = e.raw.empty() || e.raw[0] != '{';
    const bool asked = m_keep && e.key == *m_keep;
    const bool first_non_object = non_object && !m_seen_non_object;
    m_seen_non_object |= non_object;
    if (asked || first_non_object)
      kept.push_back({std::string(e.raw_key) + ": " + std::string(e.raw), asked, first_non_object, checks(e.raw)});
  }

  std::vector<std::uint64_t> hashes;  // of its keys, 8 bytes an entry
  std::size_t first_dim = 0;
  bool mixed_dims = false;
  struct Kept {
    std::string text;  // "key": value
    bool asked = false;
    bool first_non_object = false;  // kept only if the sample has no non-object entry yet
    bool checked = false;           // decodes (and is small enough to be checked)
  };
  std::vector<Kept> kept;

 private:
  const std::string* m_keep;
  bool m_seen_non_object = false;
};

class CountingVisitor : public SplitVisitor {
 public:
  CountingVisitor(StreamedFile& out, const std::string* keep) : m_out(out), m_keep(keep) { m_out.sample = "{"; }

  std::unique_ptr<OutlineVisitor> tail() const override { return std::make_unique<TailCounter>(m_keep); }

  // As if entry() had been told each of the run's entries. Only once the
  // sample is cut down to its few (before that, every entry would be kept
  // in order), and not for graph_dict (its triplets are counted by parsing).
  bool join(OutlineVisitor& run, std::size_t entries) override {
    auto& t = static_cast<TailCounter&>(run);
    if (!m_truncated || m_is_array || m_graph || t.hashes.size() != entries || entries == 0) return false;
    m_counts.entries += entries;
    // Kept apart: one array of both runs would be built while both are held.
    if (m_tail_hashes.empty()) m_tail_hashes = std::move(t.hashes);
    else m_tail_hashes.insert(m_tail_hashes.end(), t.hashes.begin(), t.hashes.end());
    if (!m_counts.dim) m_counts.dim = t.first_dim;
    if (t.mixed_dims || *m_counts.dim != t.first_dim) m_counts.mixed_dims = true;
    std::size_t kept = 0;
    for (TailCounter::Kept& k : t.kept) {
      const bool non_object = k.first_non_object && !m_kept_non_object;
      if (!k.asked && !non_object) continue;
      if (!k.checked) whole();
      m_kept.push_back({std::move(k.text), k.asked || non_object});
      m_kept_bytes += m_kept.back().text.size();
      if (non_object) m_kept_non_object = true;
      ++kept;
    }
    if (kept < entries) m_out.truncated = true;  // entries the sample does not hold
    return true;
  }

  void section(std::string_view name, std::string_view raw_key, bool container, bool is_array,
               std::string_view raw) override {
    if (!m_names.emplace(name).second) whole();  // which one the model keeps is its business
    if (m_sections++) m_out.sample += ", ";
    m_out.sample.append(raw_key).append(": ");
    if (!container) {
      m_out.sample.append(raw);
      return;
    }
    m_name = std::string(name);
    m_is_array = is_array;
    m_graph = name == "graph_dict";
    m_counts = {};
    m_hashes.clear();
    m_tail_hashes.clear();
    m_kept.clear();
    m_kept_bytes = 0;
    m_truncated = false;
    m_kept_non_object = false;
  }

  void entry(const StreamEntry& e) override {
    ++m_counts.entries;
    if (!m_is_array) m_hashes.push_back(std::hash<std::string_view>{}(e.key));
    const std::size_t n = elements_of(e);
    if (!m_counts.dim) m_counts.dim = n;
    else if (*m_counts.dim != n) m_counts.mixed_dims = true;
    if (m_graph) {
      try {
        Json rels = parse(e.raw);
        if (rels.is_array()) m_counts.triplets += rels.as_array().size();
      } catch (const std::exception&) {
        whole();  // the loaded path reports it where it is
      }
    }
    // The sample: everything while small; then the first entry, the first
    // that is not an object (classification asks whether all entries are),
    // and those under the key asked for. Each kept entry must decode: an
    // error is then the loaded path's, with the file's line:column.
    const bool non_object = e.raw.empty() || e.raw[0] != '{';
    const bool asked = m_keep && !m_is_array && e.key == *m_keep;
    if (!m_truncated || asked || (non_object && !m_kept_non_object)) {
      if (!checks(e.raw)) whole();
      m_kept.push_back({std::string(e.raw_key) + (m_is_array ? "" : ": ") + std::string(e.raw), asked});
      m_kept_bytes += m_kept.back().text.size();
      if (non_object && !m_kept_non_object) {
        m_kept_non_object = true;
        m_kept.back().keep = true;
      }
      if (m_kept.size() == 1) m_kept.back().keep = true;
    } else {
      m_out.truncated = true;  // an entry the sample does not hold
    }
    if (!m_truncated && (m_kept.size() > kWholeEntries || m_kept_bytes > kWholeBytes)) {
      m_truncated = true;
      std::vector<Kept> few;
      for (Kept& k : m_kept)
        if (k.keep) few.push_back(std::move(k));
      if (few.size() < m_kept.size()) m_out.truncated = true;
      m_kept = std::move(few);
    }
  }

  void section_end(const Span&) override {
    if (m_is_array) {
      m_counts.distinct = m_counts.entries;
    } else {
      // A duplicate key, or two keys of one hash: the model's count compares
      // the keys themselves, so the loaded path counts this file.
      radix_sort(m_hashes);
      radix_sort(m_tail_hashes);
      if (std::adjacent_find(m_hashes.begin(), m_hashes.end()) != m_hashes.end() ||
          std::adjacent_find(m_tail_hashes.begin(), m_tail_hashes.end()) != m_tail_hashes.end() ||
          shares_one(m_hashes, m_tail_hashes))
        whole();
      m_counts.distinct = m_hashes.size() + m_tail_hashes.size();
    }
    std::vector<std::uint64_t>().swap(m_hashes);
    std::vector<std::uint64_t>().swap(m_tail_hashes);
    m_out.sample += m_is_array ? "[" : "{";
    for (std::size_t i = 0; i < m_kept.size(); ++i) m_out.sample.append(i ? ", " : "").append(m_kept[i].text);
    m_out.sample += m_is_array ? "]" : "}";
    m_kept.clear();
    if (!m_out.counts.emplace(m_name, m_counts).second) whole();
  }

  void finish() { m_out.sample += "}"; }

  // Thrown once the file is to be read whole: nothing more to count.
  struct Stop {};

 private:
  [[noreturn]] void whole() {
    m_out.read_whole = true;
    throw Stop{};
  }

  StreamedFile& m_out;
  const std::string* m_keep;  // entries under this key stay in the sample
  std::set<std::string, std::less<>> m_names;  // root keys seen
  std::size_t m_sections = 0;
  // The collection being streamed.
  std::string m_name;
  bool m_is_array = false;
  bool m_graph = false;
  CollectionCounts m_counts;
  std::vector<std::uint64_t> m_hashes;       // of its keys, 8 bytes an entry
  std::vector<std::uint64_t> m_tail_hashes;  // of the keys a split's other thread read
  struct Kept {
    std::string text;   // "key": value
    bool keep = false;  // stays when the collection is cut down to its few
  };
  std::vector<Kept> m_kept;  // its entries in the sample
  std::size_t m_kept_bytes = 0;
  bool m_truncated = false;  // cut down to its few: later entries are kept only when asked for
  bool m_kept_non_object = false;
};

}  // namespace

StreamedFile stream_counts(int fd, std::size_t size, const std::string* keep) {
  StreamedFile out;
  CountingVisitor v(out, keep);
  try {
    // Files past 4 GiB are read by one thread: there the disk, not the
    // scan, sets the pace (at 10M nodes the split was no faster), and the
    // two threads' key-hash arrays growing at once took `ls` past its
    // 200 MB bound.
    constexpr std::size_t kSplitMost = std::size_t{4} << 30;
    stream_file_split(fd, size, v, std::size_t{1} << 20, size > kSplitMost ? ~std::size_t{0} : split_bytes());
  } catch (const CountingVisitor::Stop&) {
    return StreamedFile{{}, {}, false, true};
  }
  v.finish();
  return out;
}

}  // namespace lstore
