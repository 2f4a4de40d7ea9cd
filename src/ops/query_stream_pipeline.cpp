// The streamed cold search's parsing and scoring on every core (see
// query_stream_pipeline.hpp).
#include "query_stream_pipeline.hpp"

#include <algorithm>

namespace lstore::detail {

ScorePipeline::ScorePipeline(const VectorQuery& q, std::size_t dim, StreamingTopK& top)
    : m_q(q), m_dim(dim), m_qn(norm(q.embedding.data(), q.embedding.size())), m_top(top) {
  m_cur = fresh_batch();
}

std::unique_ptr<ScorePipeline::Batch> ScorePipeline::fresh_batch() {
  if (m_spare.empty()) {
    auto b = std::make_unique<Batch>();
    b->bytes.reserve(kBatchBytes + (kBatchBytes >> 2));
    return b;
  }
  std::unique_ptr<Batch> b = std::move(m_spare.back());
  m_spare.pop_back();
  return b;
}

void ScorePipeline::add(std::string_view key, std::string_view raw) {
  m_cur->bytes.append(raw);
  m_cur->ends.push_back(m_cur->bytes.size());
  m_cur->keys.append(key);
  m_cur->key_ends.push_back(m_cur->keys.size());
  if (m_cur->bytes.size() >= kBatchBytes) submit(false);
}

void ScorePipeline::finish() {
  submit(true);
  std::unique_lock<std::mutex> lock(m_mutex);
  while (!m_inflight.empty()) {
    m_done_cv.wait(lock, [&] { return m_inflight.front()->done; });
    rank_front(lock);
  }
  lock.unlock();
  if (m_bad) throw NeedsLoadedStore{};
}

void ScorePipeline::score(Batch& b) const {
  std::vector<double> values(m_dim);
  b.sims.resize(b.ends.size());
  std::size_t begin = 0;
  for (std::size_t i = 0; i < b.ends.size(); ++i) {
    std::string_view raw(b.bytes.data() + begin, b.ends[i] - begin);
    begin = b.ends[i];
    if (!parse_embedding(raw, values.data(), m_dim)) {
      b.bad = true;
      return;
    }
    b.sims[i] = cosine(m_q.embedding.data(), m_qn, values.data(), m_dim);
  }
}

void ScorePipeline::submit(bool last) {
  if (m_cur->ends.empty()) return;
  std::unique_ptr<Batch> b = std::move(m_cur);
  m_cur = fresh_batch();
  // A store of one batch is scored here: no thread for a few entries.
  if (last && m_workers.empty()) {
    score(*b);
    b->done = true;
    std::unique_lock<std::mutex> lock(m_mutex);
    m_inflight.push_back(std::move(b));
    return;
  }
  if (m_workers.empty()) {
    unsigned n = std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
    for (unsigned i = 0; i < n; ++i) m_workers.emplace_back([this] { work(); });
  }
  std::unique_lock<std::mutex> lock(m_mutex);
  m_todo.push_back(b.get());
  m_inflight.push_back(std::move(b));
  m_work_cv.notify_one();
  // Ranks what is done, and waits while too many batches are in flight
  // (memory: a few MiB whatever the file's size).
  const std::size_t most = 2 * m_workers.size() + 2;
  while (!m_inflight.empty() && (m_inflight.front()->done || m_inflight.size() > most)) {
    m_done_cv.wait(lock, [&] { return m_inflight.front()->done; });
    rank_front(lock);
  }
}

// The front batch's scores into the heap (lock held on entry and exit).
void ScorePipeline::rank_front(std::unique_lock<std::mutex>& lock) {
  std::unique_ptr<Batch> b = std::move(m_inflight.front());
  m_inflight.pop_front();
  lock.unlock();
  if (b->bad) m_bad = true;
  if (!m_bad) {
    std::size_t begin = 0;
    for (std::size_t i = 0; i < b->key_ends.size(); ++i) {
      m_top.push(b->sims[i], std::string_view(b->keys.data() + begin, b->key_ends[i] - begin));
      begin = b->key_ends[i];
    }
  }
  b->clear();
  m_spare.push_back(std::move(b));
  lock.lock();
}

void ScorePipeline::work() {
  for (;;) {
    Batch* b = nullptr;
    {
      std::unique_lock<std::mutex> lock(m_mutex);
      m_work_cv.wait(lock, [&] { return m_stop || !m_todo.empty(); });
      if (m_todo.empty()) return;  // stopping
      b = m_todo.front();
      m_todo.pop_front();
    }
    score(*b);
    std::lock_guard<std::mutex> lock(m_mutex);
    b->done = true;
    m_done_cv.notify_all();
  }
}

void ScorePipeline::stop() {
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_stop = true;
    m_todo.clear();
  }
  m_work_cv.notify_all();
  for (std::thread& t : m_workers) t.join();
  m_workers.clear();
}

}  // namespace lstore::detail
