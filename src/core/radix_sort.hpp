// Sorting 64-bit key hashes: a least-significant-digit radix sort, 11 bits a
// pass. The streamed readers sort one hash per entry of every collection to
// find repeated keys (100,000 to millions a collection); std::sort was a
// tenth of `ls`'s time on a 1 GB store, this is about a fifth of that. It
// needs a second array as large: past 4 M hashes (32 MB) std::sort, in
// place, keeps a 10 M-node store's `ls` under its memory bound.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace lstore {

inline void radix_sort(std::vector<std::uint64_t>& v) {
  constexpr int kBits = 11;
  constexpr std::size_t kBuckets = std::size_t{1} << kBits;
  if (v.size() < 4096 || v.size() > (std::size_t{1} << 22)) {
    std::sort(v.begin(), v.end());
    return;
  }
  std::vector<std::uint64_t> tmp(v.size());
  std::vector<std::uint64_t>* from = &v;
  std::vector<std::uint64_t>* to = &tmp;
  for (int shift = 0; shift < 64; shift += kBits) {
    std::array<std::size_t, kBuckets> count{};
    for (std::uint64_t x : *from) ++count[(x >> shift) & (kBuckets - 1)];
    std::size_t sum = 0;
    for (std::size_t& c : count) {
      const std::size_t n = c;
      c = sum;
      sum += n;
    }
    for (std::uint64_t x : *from) (*to)[count[(x >> shift) & (kBuckets - 1)]++] = x;
    std::swap(from, to);
  }
  if (from != &v) v.swap(*from);
}

}  // namespace lstore
