// The streamed cold search's parsing and scoring on every core (see
// query_stream_pipeline.hpp).
#include "query_stream_pipeline.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace lstore::detail {

namespace {
bool in_screen_range(double n) { return n >= 1e-100 && n <= 1e100; }  // and not NaN
}  // namespace

ScorePipeline::ScorePipeline(const VectorQuery& q, std::size_t dim, StreamingTopK& top)
    : m_q(q),
      m_dim(dim),
      m_qn(norm(q.embedding.data(), q.embedding.size())),
      m_screens(in_screen_range(m_qn) && !std::getenv("LSTORE_NO_SCREEN")),
      m_margin(screen_margin(dim)),
      m_top(top),
      m_floor(top.floor()) {
  m_cur = fresh_batch();
}

std::size_t ScorePipeline::batch_bytes() {
  static const std::size_t bytes = [] {
    const char* env = std::getenv("LSTORE_QUERY_BATCH_BYTES");
    const long long n = env ? std::atoll(env) : 0;
    return n > 0 ? static_cast<std::size_t>(n) : std::size_t{1} << 20;
  }();
  return bytes;
}

std::unique_ptr<ScorePipeline::Batch> ScorePipeline::fresh_batch() {
  if (m_spare.empty()) {
    auto b = std::make_unique<Batch>();
    b->bytes.reserve(m_batch_bytes + (m_batch_bytes >> 2));
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
  if (m_cur->bytes.size() >= m_batch_bytes) submit(false);
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
  b.below.assign(b.ends.size(), 0);
  const double floor = m_screens ? m_floor.load(std::memory_order_relaxed) : -HUGE_VAL;
  std::size_t begin = 0;
  for (std::size_t i = 0; i < b.ends.size(); ++i) {
    std::string_view raw(b.bytes.data() + begin, b.ends[i] - begin);
    begin = b.ends[i];
    if (floor > -HUGE_VAL) {
      // screen_embedding accepts exactly what parse_embedding does: a row
      // it refuses is bad either way.
      if (!screen_embedding(raw, values.data(), m_dim)) {
        b.bad = true;
        return;
      }
      // A norm in range means every number is finite (inf or NaN is not).
      if (in_screen_range(norm(values.data(), m_dim)) &&
          cosine(m_q.embedding.data(), m_qn, values.data(), m_dim) + m_margin < floor) {
        b.below[i] = 1;
        continue;
      }
    }
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
      if (b->below[i]) {
        ++m_ruled_out;
      } else {
        m_top.push(b->sims[i], std::string_view(b->keys.data() + begin, b->key_ends[i] - begin));
        ++m_scored;
      }
      begin = b->key_ends[i];
    }
    m_floor.store(m_top.floor(), std::memory_order_relaxed);
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
