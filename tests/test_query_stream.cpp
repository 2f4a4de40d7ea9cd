// The streamed cold query's top-k heap (ops/query_rank.cpp, StreamingTopK)
// must rank exactly as rank_default over every candidate does: the same ids,
// scores and order of ties (heapq's layout, then a stable sort), NaN scores
// included, with k larger than the number of candidates, and k = 0 (all).
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "ops/query_internal.hpp"

using namespace lstore;

namespace {

// rank_default's hits, as the loaded path builds them.
std::vector<QueryHit> loaded(const std::vector<double>& sims, const std::vector<std::string>& names,
                             std::optional<std::size_t> k) {
  std::vector<std::string_view> ids(names.begin(), names.end());
  std::vector<QueryHit> out;
  for (std::size_t i : detail::rank_default(sims, ids, k)) out.push_back({names[i], sims[i]});
  return out;
}

std::vector<QueryHit> streamed(const std::vector<double>& sims, const std::vector<std::string>& names,
                               std::optional<std::size_t> k, std::size_t* held = nullptr) {
  detail::StreamingTopK top(k);
  std::size_t most = 0;
  for (std::size_t i = 0; i < sims.size(); ++i) {
    top.push(sims[i], names[i]);
    most = std::max(most, top.size());
  }
  if (held) *held = most;
  return top.finish();
}

void same(const std::vector<QueryHit>& a, const std::vector<QueryHit>& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].id == b[i].id);
    CHECK(std::bit_cast<std::uint64_t>(a[i].score) == std::bit_cast<std::uint64_t>(b[i].score));
  }
}

}  // namespace

TEST_CASE("streamed top-k: ties are ordered as heapq and the stable sort order them") {
  // Every score the same: the order is the heap's layout, not the ids'.
  std::vector<std::string> names{"e", "b", "d", "a", "c", "f", "b2", "a2"};
  std::vector<double> sims(names.size(), 0.5);
  for (std::size_t k : {1, 2, 3, 5, 8}) {
    std::vector<QueryHit> want = loaded(sims, names, k);
    same(streamed(sims, names, k), want);
    CHECK(want.size() == k);
  }
  // Ties by score with the ids deciding which of them stay.
  std::vector<double> mixed{0.1, 0.9, 0.9, 0.5, 0.9, 0.1, 0.5, 0.9};
  for (std::size_t k : {1, 2, 3, 4, 6}) same(streamed(mixed, names, k), loaded(mixed, names, k));
  // The ids decide which of equal scores stay (the smallest id is popped),
  // and the heap's layout their order: [a, c, b] pops a, leaving [b, c].
  std::vector<QueryHit> two = streamed({0.5, 0.5, 0.5}, {"a", "c", "b"}, 2);
  REQUIRE(two.size() == 2);
  CHECK(two[0].id == "b");
  CHECK(two[1].id == "c");
}

TEST_CASE("streamed top-k: k larger than N, and k = 0, keep every candidate") {
  std::vector<std::string> names{"x", "y", "z"};
  std::vector<double> sims{0.2, 0.7, -0.1};
  for (std::optional<std::size_t> k : {std::optional<std::size_t>(10), std::optional<std::size_t>(0),
                                       std::optional<std::size_t>()}) {
    std::vector<QueryHit> got = streamed(sims, names, k);
    same(got, loaded(sims, names, k));
    REQUIRE(got.size() == 3);
    CHECK(got[0].id == "y");
    CHECK(got[2].id == "z");
  }
  CHECK(streamed({}, {}, 5).empty());
}

TEST_CASE("streamed top-k: random scores with ties and NaN, k + 1 candidates held") {
  std::mt19937_64 rng(20);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (int round = 0; round < 300; ++round) {
    const std::size_t n = rng() % 200;
    std::vector<std::string> names;
    std::vector<double> sims;
    for (std::size_t i = 0; i < n; ++i) {
      names.push_back("id-" + std::to_string(rng() % (n + 1)));  // repeated ids too
      const int kind = static_cast<int>(rng() % 10);
      sims.push_back(kind == 0 ? nan : kind < 4 ? static_cast<double>(rng() % 3) / 2 : std::ldexp(double(rng() >> 11), -53));
    }
    const std::size_t k = rng() % 12;
    std::size_t held = 0;
    same(streamed(sims, names, k, &held), loaded(sims, names, k));
    if (k) CHECK(held <= k);
  }
}
