// The scoring half of the streamed cold search (query_stream.cpp): the
// candidates' embeddings, copied out of the read window in batches of about
// 1 MiB, are parsed and scored by one worker per core while the stream reads
// on, and the scores are pushed into the top-k heap in batch order, so in
// embedding_dict order (the loaded path's order, hence its ties). A few
// batches are in flight at most: memory stays a few MiB at any store size.
//
// Once the heap holds top_k, a worker first screens a row (screen_embedding:
// a quarter of the exact parse's cost) and scores it exactly only when the
// screened similarity plus screen_margin() reaches the heap's floor as last
// published; a row below it could not change the hits (StreamingTopK::floor),
// so it is not pushed. The floor only rises, so one read a little late only
// screens less.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "query_internal.hpp"

namespace lstore::detail {

class ScorePipeline {
 public:
  ScorePipeline(const VectorQuery& q, std::size_t dim, StreamingTopK& top);
  ~ScorePipeline() { stop(); }
  ScorePipeline(const ScorePipeline&) = delete;
  ScorePipeline& operator=(const ScorePipeline&) = delete;

  // One candidate: its key and its embedding's raw JSON array.
  void add(std::string_view key, std::string_view raw);

  // Every candidate scored and pushed; throws NeedsLoadedStore if an
  // embedding did not parse (the loaded path names the first such entry).
  void finish();
  // After finish(): candidates scored in float64, and ruled out by the screen.
  std::size_t scored() const { return m_scored; }
  std::size_t ruled_out() const { return m_ruled_out; }

 private:
  // 1 MiB of embeddings a batch: a few hundred entries, a few batches in
  // flight. LSTORE_QUERY_BATCH_BYTES sets another (the tests make small
  // stores take many batches, so that the screen runs).
  static std::size_t batch_bytes();
  const std::size_t m_batch_bytes = batch_bytes();
  std::size_t m_scored = 0, m_ruled_out = 0;

  struct Batch {
    std::string bytes, keys;
    std::vector<std::size_t> ends, key_ends;
    std::vector<double> sims;
    std::vector<unsigned char> below;  // screened below the floor: not pushed
    bool bad = false;   // an embedding did not parse
    bool done = false;  // scored
    void clear() {
      bytes.clear(), keys.clear(), ends.clear(), key_ends.clear(), sims.clear(), below.clear();
      bad = done = false;
    }
  };

  void score(Batch& b) const;
  void submit(bool last);
  void rank_front(std::unique_lock<std::mutex>& lock);
  void work();
  void stop();

  const VectorQuery& m_q;
  const std::size_t m_dim;
  const double m_qn;
  const bool m_screens;   // q is in the range screen_margin() holds for
  const double m_margin;  // screen_margin(dim)
  StreamingTopK& m_top;
  std::atomic<double> m_floor;  // m_top.floor() after the last batch ranked
  std::unique_ptr<Batch> m_cur;
  // Ranked batches, kept with their buffers' capacity for the next ones: a
  // fresh 1 MiB buffer a batch was a page fault every 4 KiB of the file
  // (a quarter of a cold query's time went to the kernel).
  std::vector<std::unique_ptr<Batch>> m_spare;
  std::unique_ptr<Batch> fresh_batch();
  bool m_bad = false;
  std::mutex m_mutex;
  std::condition_variable m_work_cv, m_done_cv;
  std::deque<std::unique_ptr<Batch>> m_inflight;  // submitted, in order
  std::deque<Batch*> m_todo;                       // not yet taken by a worker
  bool m_stop = false;
  std::vector<std::thread> m_workers;
};

}  // namespace lstore::detail
