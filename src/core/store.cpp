#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <future>
#include <mutex>
#include <span>
#include <thread>
#include "lstore/store.hpp"

namespace lstore {

const CollectionCounts* StreamedCounts::find(std::string_view file, std::string_view collection) const {
  auto f = files.find(file);
  if (f == files.end()) return nullptr;
  auto c = f->second.find(collection);
  return c == f->second.end() ? nullptr : &c->second;
}

const CollectionCounts* Store::streamed_counts(const JsonDoc& doc, std::string_view collection) const {
  return streamed ? streamed->find(doc.name(), collection) : nullptr;
}

const Section* Store::doc_collection(const char* name) const {
  return docstore ? docstore->section(name) : nullptr;
}

const Section* Store::index_collection() const {
  if (!index_store) return nullptr;
  if (const Section* s = index_store->section(coll::kIndexData)) return s;
  return index_store->section(coll::kDocData);  // TS keeps index structs under docstore/data
}

const VectorStoreDoc* Store::vector_store(std::string_view ns) const {
  for (const auto& v : vector_stores)
    if (v.ns == ns) return &v;
  return nullptr;
}

std::vector<const JsonDoc*> Store::documents() const {
  std::vector<const JsonDoc*> out;
  for (const auto* d : {&docstore, &index_store, &graph_store, &property_graph})
    if (*d) out.push_back(&**d);
  for (const auto& v : vector_stores) out.push_back(&v.doc);
  return out;
}

const JsonDoc* Store::document(std::string_view name) const {
  for (const JsonDoc* d : documents())
    if (d->name() == name) return d;
  return nullptr;
}

}  // namespace lstore

namespace lstore {

// The check start_precheck() runs: each document's values as read (one of
// 128 MiB or more in two halves), checked by two threads, largest part
// first; each part keeps the values that passed. While a writer copies, one
// thread steps aside (pace(1)): the copy of the largest file is what the
// command waits for, and the check has time until that copy ends. A pause,
// not a priority: the cores stay shared fairly with other processes.
struct Precheck {
  struct Part {
    std::size_t doc;         // index in `docs`
    std::size_t from, to;    // its values: docs[doc].raws[from, to)
    std::size_t kept = 0;    // how many passed, moved to the front of the range
    std::uint64_t bytes = 0;
  };
  struct Doc {
    std::string name;
    std::shared_ptr<Buffer> buffer;  // kept alive while it is checked
    std::vector<std::string_view> raws;  // values_as_read(), then the ones that passed
  };
  std::vector<Part> parts;
  std::vector<Doc> docs;
  std::shared_future<void> done;

  std::mutex m;
  std::condition_variable cv;
  bool cancel = false;
  unsigned limit = 2, running = 0;  // threads allowed to check, and checking

  // A worker's turn: false once cancelled. A worker over the limit waits.
  bool go_on() {
    std::unique_lock<std::mutex> lock(m);
    if (running <= limit) return !cancel;
    --running;
    cv.wait(lock, [&] { return cancel || running < limit; });
    ++running;
    return !cancel;
  }
  void pace(unsigned threads) {
    {
      std::lock_guard<std::mutex> lock(m);
      limit = threads;
    }
    cv.notify_all();
  }
  void worker_done() {
    {
      std::lock_guard<std::mutex> lock(m);
      --running;
    }
    cv.notify_all();
  }
  ~Precheck() {
    {
      std::lock_guard<std::mutex> lock(m);
      cancel = true;
    }
    cv.notify_all();
    if (done.valid()) done.wait();
  }
};

void Store::start_precheck() {
  constexpr std::uint64_t kPart = std::uint64_t{64} << 20;
  auto pre = std::make_shared<Precheck>();
  for (const JsonDoc* doc : documents()) {
    if (!doc->buffer()) continue;
    Precheck::Doc d{doc->name(), doc->buffer(), doc->values_as_read()};
    const std::vector<std::string_view>& raws = d.raws;
    std::uint64_t bytes = 0;
    for (std::string_view r : raws) bytes += r.size();
    // Halves by bytes, not by count: a vector store's embeddings come first
    // and are most of its bytes.
    std::size_t half = raws.size();
    if (bytes >= 2 * kPart)
      for (std::uint64_t acc = 0, i = 0; i < raws.size(); ++i)
        if ((acc += raws[i].size()) >= bytes / 2) {
          half = i + 1;
          break;
        }
    for (auto [from, to] : {std::pair<std::size_t, std::size_t>{0, half}, {half, raws.size()}}) {
      if (from == to && from != 0) continue;
      Precheck::Part part{pre->docs.size(), from, to};
      for (std::size_t i = from; i < to; ++i) part.bytes += raws[i].size();
      pre->parts.push_back(part);
    }
    pre->docs.push_back(std::move(d));
  }
  Precheck* p = pre.get();
  pre->done = std::async(std::launch::async, [p] {
                std::vector<std::size_t> largest(p->parts.size());
                for (std::size_t i = 0; i < largest.size(); ++i) largest[i] = i;
                std::stable_sort(largest.begin(), largest.end(),
                                 [&](std::size_t a, std::size_t b) { return p->parts[a].bytes > p->parts[b].bytes; });
                std::atomic<std::size_t> next{0};
                {
                  std::lock_guard<std::mutex> lock(p->m);
                  p->running = 2;
                }
                auto worker = [&] {
                  for (std::size_t k; (k = next.fetch_add(1)) < largest.size();) {
                    Precheck::Part& part = p->parts[largest[k]];
                    Precheck::Doc& d = p->docs[part.doc];
                    part.kept = keep_passing(std::span(d.raws).subspan(part.from, part.to - part.from), *d.buffer,
                                             [p] { return p->go_on(); });
                  }
                  p->worker_done();
                };
                std::thread other(worker);
                worker();
                other.join();
                // Each document's passed values together, in file order, in place.
                std::vector<std::size_t> end(p->docs.size(), 0);
                for (const Precheck::Part& part : p->parts) {
                  std::vector<std::string_view>& raws = p->docs[part.doc].raws;
                  if (part.from != end[part.doc])
                    std::copy(raws.begin() + static_cast<std::ptrdiff_t>(part.from),
                              raws.begin() + static_cast<std::ptrdiff_t>(part.from + part.kept),
                              raws.begin() + static_cast<std::ptrdiff_t>(end[part.doc]));
                  end[part.doc] += part.kept;
                }
                auto by_address = [](std::string_view a, std::string_view b) { return a.data() < b.data(); };
                for (std::size_t i = 0; i < p->docs.size(); ++i) {
                  std::vector<std::string_view>& raws = p->docs[i].raws;
                  raws.resize(end[i]);
                  raws.shrink_to_fit();
                  if (!std::is_sorted(raws.begin(), raws.end(), by_address)) std::sort(raws.begin(), raws.end(), by_address);
                }
              }).share();
  precheck = std::move(pre);
}

void Store::pace_precheck(unsigned threads) const {
  if (precheck) precheck->pace(threads);
}

void Store::verify() const {
  std::vector<const JsonDoc*> docs = documents();
  const std::vector<Precheck::Doc>* passed = nullptr;
  if (precheck) {
    precheck->done.get();
    passed = &precheck->docs;
  }
  std::atomic<std::size_t> next{0};
  std::exception_ptr first;
  std::mutex m;
  auto worker = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < docs.size();) {
      try {
        const std::vector<std::string_view>* mine = nullptr;
        if (passed)
          for (const Precheck::Doc& d : *passed)
            if (d.name == docs[i]->name()) mine = &d.raws;
        docs[i]->verify(mine);
      } catch (...) {
        std::lock_guard<std::mutex> lock(m);
        if (!first) first = std::current_exception();
      }
    }
  };
  std::thread other(worker);
  worker();
  other.join();
  if (first) std::rethrow_exception(first);
}

}  // namespace lstore
