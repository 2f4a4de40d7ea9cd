// The warm cache's file layout (version 3) and the mapped view of one
// (ops/query_cache.cpp reads and writes it; PackedVectors reads through it).
//
// Layout (native byte order, checked by a marker; offsets in the header):
//   CacheHeader (its last field the checksum of the rest of it)
//   the vector file's name (relative to the store dir; checksum in the header)
//   rows x CacheRow: where row i's id and ref doc id are in the strings,
//     and the checksums of those strings and of the row's float64 numbers
//   the strings: id, then ref doc id, per row
//   rows x u32: the rows in the order of their ids (PackedVectors::find's
//     index, which would otherwise be sorted per query; checksum in the header)
//   one u64 checksum per block of `block_rows` rows of params + codes
//   (page aligned) rows x 2 float32: the screening scale and error bound
//   (64 aligned) rows x stride int8: the screening codes
//   (page aligned) rows x dim float64: the exact rows
// Everything a query reads is checked before it is used: the header when the
// cache is opened, a block of the screening copy when the scan reads it, an
// id or a float64 row when the ranking or the output reads it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace lstore::detail {

inline constexpr char kCacheMagic[8] = {'L', 'S', 'V', 'C', 'A', 'C', 'H', '3'};

struct CacheHeader {
  char magic[8];
  std::uint32_t byte_order;
  std::uint32_t header_size;
  // The vector file it was made from (FileIdentity).
  std::uint64_t dev, ino, size;
  std::int64_t mtime_ns, ctime_ns;
  std::uint64_t head_tail_hash;
  std::uint64_t rows, dim, stride, block_rows;
  std::uint64_t name_off, name_len, name_sum;
  std::uint64_t rows_off;
  std::uint64_t strings_off, strings_size;
  std::uint64_t order_off, order_sum;
  std::uint64_t block_sums_off;
  std::uint64_t params_off, codes_off, data_off;
  std::uint64_t file_size;
  std::uint64_t header_sum;  // checksum64 of every byte before this field
};

struct CacheRow {
  std::uint64_t str_off;  // into the strings
  std::uint32_t id_len;
  std::uint32_t ref_len;  // kNoRef: no ref doc id
  std::uint64_t str_sum;  // checksum64 of the id and ref bytes
  std::uint64_t data_sum;  // checksum64 of the row's float64 numbers
};
inline constexpr std::uint32_t kNoRef = 0xFFFFFFFFu;

// A mapped, header-checked cache. Reads check what they return.
class VectorCacheView {
 public:
  std::string file;  // for messages
  std::shared_ptr<const void> mapping;
  std::size_t rows = 0, dim = 0, stride = 0, block_rows = 0;
  const CacheRow* row_table = nullptr;
  const char* strings = nullptr;
  std::size_t strings_size = 0;
  const std::uint32_t* order = nullptr;
  std::uint64_t order_sum = 0;
  const std::uint64_t* block_sums = nullptr;
  const float* params = nullptr;
  const std::int8_t* codes = nullptr;
  const double* data = nullptr;

  std::string_view id(std::size_t i) const;
  std::optional<std::string_view> ref(std::size_t i) const;
  const double* row(std::size_t i) const;
  std::size_t find(std::string_view id) const;  // npos when absent
  // Checks the params and codes of rows [b * block_rows, ...) of block b.
  void check_block(std::size_t b) const;
  // Maps block b's params and codes in before a scan reads them, and lets
  // its codes go after.
  void load_block(std::size_t b) const;
  void drop_block(std::size_t b) const;
  [[noreturn]] void corrupt(const std::string& what) const;

 private:
  mutable bool m_order_checked = false;
};

// The checksum of a block's params and codes, as written.
std::uint64_t screen_block_sum(const float* params, const std::int8_t* codes, std::size_t stride, std::size_t first,
                               std::size_t count);

}  // namespace lstore::detail
