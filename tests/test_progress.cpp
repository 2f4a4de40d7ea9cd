// ProgressTicker: counts from several threads, reports once a step, and the
// whole at finish().
#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include "lstore/progress.hpp"

using namespace lstore;

TEST_CASE("progress ticker reports every step and the total at the end") {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> calls;
  Progress report = [&](std::uint64_t done, std::uint64_t total) { calls.emplace_back(done, total); };
  ProgressTicker t(report, 1000, 100);
  for (int i = 0; i < 10; ++i) t.add(50);
  CHECK(calls.size() == 5);  // at 100, 200, 300, 400, 500
  CHECK(calls.front().first == 100);
  CHECK(calls.back().first == 500);
  t.finish();
  CHECK(calls.back() == std::make_pair(std::uint64_t{1000}, std::uint64_t{1000}));
}

TEST_CASE("progress ticker from two threads loses nothing and calls one at a time") {
  int inside = 0, overlap = 0;
  std::uint64_t last = 0;
  Progress report = [&](std::uint64_t done, std::uint64_t) {
    if (++inside > 1) ++overlap;
    last = std::max(last, done);
    --inside;
  };
  ProgressTicker t(report, 200000, 1000);
  auto work = [&] {
    for (int i = 0; i < 100000; ++i) t.add(1);
  };
  std::thread a(work), b(work);
  a.join();
  b.join();
  CHECK(overlap == 0);
  CHECK(last >= 199000);  // the last step was reported
  CHECK(last <= 200000);
}

TEST_CASE("progress ticker without a callback does nothing") {
  ProgressTicker t(Progress{}, 10);
  t.add(100);
  t.finish();
  CHECK(t.total() == 10);
}
