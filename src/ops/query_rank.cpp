// Ranking exactly as llama_index.core.indices.query.embedding_utils does it:
// the order of tied results comes from heapq's array layout and a stable sort
// on the similarity alone, so both are emulated step by step rather than
// replaced by an equivalent-looking partial sort.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <string>

#include "lstore/error.hpp"
#include "query_internal.hpp"

namespace lstore::detail {
namespace {

// heapq over candidate positions with Python's tuple order on
// (similarity, id), decided by `Lt` (ExactLt, or ScreenedLt which computes
// the same outcome from screened scores).
template <class Lt>
class PyHeap {
 public:
  explicit PyHeap(Lt lt) : m_lt(std::move(lt)) {}

  void push(std::size_t item) {
    m_heap.push_back(item);
    sift_down(0, m_heap.size() - 1);
  }
  void pop() {  // heapq.heappop, result dropped
    std::size_t last = m_heap.back();
    m_heap.pop_back();
    if (m_heap.empty()) return;
    m_heap[0] = last;
    sift_up(0);
  }
  std::size_t size() const { return m_heap.size(); }
  const std::vector<std::size_t>& items() const { return m_heap; }
  Lt& less() { return m_lt; }

 private:
  bool lt(std::size_t a, std::size_t b) { return m_lt(a, b); }
  // heapq._siftdown: move the item at pos up towards startpos.
  void sift_down(std::size_t startpos, std::size_t pos) {
    std::size_t item = m_heap[pos];
    while (pos > startpos) {
      std::size_t parentpos = (pos - 1) >> 1;
      std::size_t parent = m_heap[parentpos];
      if (!lt(item, parent)) break;
      m_heap[pos] = parent;
      pos = parentpos;
    }
    m_heap[pos] = item;
  }
  // heapq._siftup: bubble the smaller child up to a leaf, then sift down.
  void sift_up(std::size_t pos) {
    std::size_t endpos = m_heap.size(), startpos = pos, item = m_heap[pos];
    std::size_t childpos = 2 * pos + 1;
    while (childpos < endpos) {
      std::size_t rightpos = childpos + 1;
      if (rightpos < endpos && !lt(m_heap[childpos], m_heap[rightpos])) childpos = rightpos;
      m_heap[pos] = m_heap[childpos];
      pos = childpos;
      childpos = 2 * pos + 1;
    }
    m_heap[pos] = item;
    sift_down(startpos, pos);
  }

  Lt m_lt;
  std::vector<std::size_t> m_heap;
};

// Python's (similarity, id) < (similarity, id): equal similarities compare
// the ids; NaN is never less.
inline bool tuple_lt(double x, double y, std::string_view a, std::string_view b) {
  if (x == y) return a < b;
  return x < y;
}

struct ExactLt {
  const std::vector<double>& sims;
  const std::vector<std::string_view>& ids;
  bool operator()(std::size_t a, std::size_t b) const { return tuple_lt(sims[a], sims[b], ids[a], ids[b]); }
};

// ExactLt over the similarities known so far, with one stand-in position
// (`below`) that compares below every other: a candidate whose upper bound
// is under the heap's smallest similarity, which makes exactly the moves the
// candidate itself would.
struct BoundedLt {
  const double* sims;
  const std::function<std::string_view(std::size_t)>* id;
  std::size_t below;
  bool operator()(std::size_t a, std::size_t b) const {
    if (a == below) return true;
    if (b == below) return false;
    if (sims[a] == sims[b]) return (*id)(a) < (*id)(b);
    return sims[a] < sims[b];
  }
};

// CPython's listsort for a run shorter than 64 (one binary insertion sort
// after count_run), ascending with `<`, as 3.11/3.12 do it.
template <class Lt>
void cpython_small_sort(std::vector<std::pair<double, std::size_t>>& a, Lt lt) {
  std::size_t n = a.size();
  if (n < 2) return;
  std::size_t run = 2;
  if (lt(a[1], a[0])) {  // strictly descending run: reversed in place
    while (run < n && lt(a[run], a[run - 1])) ++run;
    std::reverse(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(run));
  } else {
    while (run < n && !lt(a[run], a[run - 1])) ++run;
  }
  for (std::size_t start = run; start < n; ++start) {  // binarysort
    auto pivot = a[start];
    std::size_t l = 0, r = start;
    do {
      std::size_t p = l + ((r - l) >> 1);
      if (lt(pivot, a[p])) r = p;
      else l = p + 1;
    } while (l < r);
    std::move_backward(a.begin() + static_cast<std::ptrdiff_t>(l), a.begin() + static_cast<std::ptrdiff_t>(start),
                       a.begin() + static_cast<std::ptrdiff_t>(start) + 1);
    a[l] = pivot;
  }
}

}  // namespace

void python_sort_desc(std::vector<std::pair<double, std::size_t>>& items) {
  bool nan = std::any_of(items.begin(), items.end(), [](const auto& x) { return std::isnan(x.first); });
  if (!nan) {
    // With a total order every stable sort gives the same result.
    std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    return;
  }
  // reverse=True: CPython reverses, sorts ascending stably, reverses back.
  // NaN makes `<` inconsistent, so the result depends on the algorithm:
  // below 64 items it is reproduced exactly; above, NaN scores are put last
  // (an approximation; LlamaIndex's order there depends on timsort's merges).
  std::reverse(items.begin(), items.end());
  auto lt = [](const auto& a, const auto& b) { return a.first < b.first; };
  if (items.size() < 64) {
    cpython_small_sort(items, lt);
  } else {
    std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
      bool an = std::isnan(a.first), bn = std::isnan(b.first);
      if (an || bn) return an && !bn;  // NaN first here, so last once reversed
      return a.first < b.first;
    });
  }
  std::reverse(items.begin(), items.end());
}

std::vector<std::size_t> rank_default(const std::vector<double>& sims, const std::vector<std::string_view>& ids,
                                      std::optional<std::size_t> top_k) {
  PyHeap<ExactLt> heap(ExactLt{sims, ids});
  std::size_t k = top_k.value_or(0);  // `if similarity_top_k and ...`: 0 keeps all
  for (std::size_t i = 0; i < sims.size(); ++i) {
    heap.push(i);
    if (k && heap.size() > k) heap.pop();
  }
  std::vector<std::pair<double, std::size_t>> items;
  items.reserve(heap.size());
  for (std::size_t i : heap.items()) items.emplace_back(sims[i], i);
  python_sort_desc(items);
  std::vector<std::size_t> out;
  out.reserve(items.size());
  for (const auto& it : items) out.push_back(it.second);
  return out;
}

// The same heap over a stream: the candidates' similarities and ids live in
// k + 1 slots (a popped candidate's slot is reused), so the pushes, pops and
// comparisons are rank_default's while only the heap's entries are kept.
struct StreamingTopK::Impl {
  struct Slot {
    double sim = 0;
    std::string id;
  };
  struct SlotLt {
    const std::vector<Slot>* slots;
    bool operator()(std::size_t a, std::size_t b) const {
      const Slot& x = (*slots)[a];
      const Slot& y = (*slots)[b];
      return tuple_lt(x.sim, y.sim, x.id, y.id);
    }
  };
  explicit Impl(std::size_t k) : k(k), heap(SlotLt{&slots}) {}
  std::size_t k;
  bool saw_nan = false;
  std::vector<Slot> slots;
  std::vector<std::size_t> free;
  PyHeap<SlotLt> heap;
};

StreamingTopK::StreamingTopK(std::optional<std::size_t> top_k) : m(std::make_unique<Impl>(top_k.value_or(0))) {}
StreamingTopK::~StreamingTopK() = default;

void StreamingTopK::push(double similarity, std::string_view id) {
  std::size_t slot;
  if (!m->free.empty()) {
    slot = m->free.back();
    m->free.pop_back();
  } else {
    slot = m->slots.size();
    m->slots.emplace_back();  // never while the heap compares: the SlotLt pointer stays valid
  }
  m->slots[slot].sim = similarity;
  m->slots[slot].id.assign(id);
  if (std::isnan(similarity)) m->saw_nan = true;
  m->heap.push(slot);
  if (m->k && m->heap.size() > m->k) {
    std::size_t top = m->heap.items()[0];
    m->heap.pop();
    m->free.push_back(top);
  }
}

std::size_t StreamingTopK::size() const { return m->heap.size(); }

// Pushing a candidate below the smallest held then pops it again, and with
// (similarity, id) a total order (no NaN; ids are distinct dict keys) the
// heap is left exactly as it was: heapq's push sifts it up to the root along
// one path, and the pop's sift-down takes each smaller child back up that
// same path. So not pushing it leaves the hits and the order of ties as
// they would be (tests/test_embedding_screen.cpp checks both ways agree).
double StreamingTopK::floor() const {
  if (!m->k || m->saw_nan || m->heap.size() < m->k) return -std::numeric_limits<double>::infinity();
  return m->slots[m->heap.items()[0]].sim;
}

std::vector<QueryHit> StreamingTopK::finish() const {
  std::vector<std::pair<double, std::size_t>> items;
  items.reserve(m->heap.size());
  for (std::size_t i : m->heap.items()) items.emplace_back(m->slots[i].sim, i);
  python_sort_desc(items);
  std::vector<QueryHit> out;
  out.reserve(items.size());
  for (const auto& it : items) out.push_back({m->slots[it.second].id, it.first});
  return out;
}

std::optional<std::vector<std::pair<std::size_t, double>>> rank_default_bounded(
    const double* upper, std::size_t n, std::size_t top_k, const std::function<std::string_view(std::size_t)>& id,
    const std::function<double(std::size_t)>& exact) {
  // Similarities by position, filled only where computed (no page of the
  // array is touched for the candidates the bounds rule out).
  std::unique_ptr<double[]> sims(new double[n + 1]);
  PyHeap<BoundedLt> heap(BoundedLt{sims.get(), &id, n});
  // A candidate below the whole heap is pushed and popped: its moves depend
  // on the heap alone, so once they leave the heap as it was, every later
  // one does too until a real candidate enters.
  bool unchanged = false;
  std::vector<std::size_t> before;
  for (std::size_t i = 0; i < n; ++i) {
    if (top_k && heap.size() == top_k && upper[i] < sims[heap.items()[0]]) {
      if (!unchanged) {
        before = heap.items();
        heap.push(n);
        heap.pop();
        unchanged = heap.items() == before;
      }
      continue;
    }
    const double s = exact(i);
    if (std::isnan(s)) return std::nullopt;  // no total order: the caller ranks exact scores
    sims[i] = s;
    heap.push(i);
    if (top_k && heap.size() > top_k) heap.pop();
    unchanged = false;
  }
  std::vector<std::pair<double, std::size_t>> items;
  items.reserve(heap.size());
  for (std::size_t i : heap.items()) items.emplace_back(sims[i], i);
  python_sort_desc(items);
  std::vector<std::pair<std::size_t, double>> out;
  out.reserve(items.size());
  for (const auto& it : items) out.emplace_back(it.second, it.first);
  return out;
}

std::vector<MmrPick> rank_mmr(const std::vector<const double*>& rows, std::size_t dim, const std::vector<double>& sims,
                              std::optional<std::size_t> top_k, std::optional<double> threshold_opt) {
  const double threshold = threshold_opt && *threshold_opt != 0 ? *threshold_opt : 0.5;
  const std::size_t n = rows.size();
  std::vector<double> norms(n);
  for (std::size_t i = 0; i < n; ++i) norms[i] = norm(rows[i], dim);

  double score = -std::numeric_limits<double>::infinity();
  std::optional<std::size_t> high;
  for (std::size_t i = 0; i < n; ++i)
    if (sims[i] * threshold > score) {
      high = i;
      score = sims[i] * threshold;
    }

  std::vector<MmrPick> results;
  std::vector<bool> taken(n, false);
  std::vector<std::size_t> remaining(n);  // embed_map: insertion order, picks deleted
  for (std::size_t i = 0; i < n; ++i) remaining[i] = i;
  const std::size_t want = std::min(top_k.value_or(n), n);
  while (results.size() < want) {
    // LlamaIndex appends the best pick and deletes it from embed_map; when no
    // score beat -inf (NaN similarities) it deletes a stale or None id and
    // raises KeyError.
    if (!high || taken[*high])
      throw Error(ErrorKind::Data, "mmr",
                  "no candidate has a comparable MMR score (NaN similarities; LlamaIndex raises KeyError here)");
    results.push_back({*high, score});
    taken[*high] = true;
    remaining.erase(std::find(remaining.begin(), remaining.end(), *high));
    std::size_t recent = *high;
    score = -std::numeric_limits<double>::infinity();
    for (std::size_t id : remaining) {
      double overlap = cosine(rows[id], norms[id], rows[recent], dim);
      double s = threshold * sims[id] - ((1 - threshold) * overlap);
      if (s > score) {
        score = s;
        high = id;
      }
    }
  }
  return results;
}

}  // namespace lstore::detail
