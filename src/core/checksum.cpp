#include "checksum.hpp"

#include <cstring>

namespace lstore {
namespace {

std::uint64_t mix(std::uint64_t h) {  // splitmix64's finaliser
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

}  // namespace

// Eight lanes of 64 bits as one GCC/Clang vector (two AVX2 or four SSE2
// registers): the sums of a lane depend only on that lane's words.
using Lanes = std::uint64_t __attribute__((vector_size(64)));

std::uint64_t checksum64(const void* bytes, std::size_t size, std::uint64_t seed) {
  const auto* p = static_cast<const unsigned char*>(bytes);
  Lanes a = {seed, seed ^ 1, seed ^ 2, seed ^ 3, seed ^ 4, seed ^ 5, seed ^ 6, seed ^ 7}, b = {};
  std::size_t i = 0;
  for (; i + sizeof(Lanes) <= size; i += sizeof(Lanes)) {
    Lanes w;
    std::memcpy(&w, p + i, sizeof w);
    a += w;
    b += a;
  }
  if (i < size) {  // the tail, zero padded (the length is mixed in below)
    Lanes w = {};
    std::memcpy(&w, p + i, size - i);
    a += w;
    b += a;
  }
  std::uint64_t h = mix(size ^ 0x9e3779b97f4a7c15ull);
  for (int l = 0; l < 8; ++l) h = mix(h ^ a[l]) + mix(b[l] + static_cast<std::uint64_t>(l));
  return h;
}

}  // namespace lstore
