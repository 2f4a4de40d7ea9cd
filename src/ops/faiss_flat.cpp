// IndexFlatL2 / IndexFlatIP files read and written without libfaiss: the
// layout faiss 1.7.3's write_index gives them is a 45-byte header and then
// the rows, so the rows can stream to and from a file instead of going
// through an in-memory faiss::Index (which holds every row, and whose
// write_index needs them all at once). Other index types go through libfaiss.
#include <cstring>

#include "lstore/faiss.hpp"

namespace lstore {
namespace {

// write_index(IndexFlat): fourcc, then write_index_header (d int32, ntotal
// int64, two int64 dummies 1 << 20, is_trained bool, metric_type int32; a
// metric_arg float only for metrics above IP/L2), then the codes as a
// vector: its length in floats (uint64) and the floats.
constexpr std::size_t kFourcc = 0, kDim = 4, kNtotal = 8, kDummy1 = 16, kDummy2 = 24, kTrained = 32, kMetric = 33,
                      kSize = 37, kHeader = 45;
constexpr std::int64_t kDummy = 1 << 20;
constexpr std::int32_t kMetricIp = 0, kMetricL2 = 1;

template <typename T>
T load(std::string_view b, std::size_t at) {
  T v;
  std::memcpy(&v, b.data() + at, sizeof v);
  return v;
}

template <typename T>
void store(std::string& b, std::size_t at, T v) {
  std::memcpy(b.data() + at, &v, sizeof v);
}

}  // namespace

void FaissFlatFile::row(std::size_t i, float* out) const {
  const std::size_t d = static_cast<std::size_t>(info.dim);
  std::memcpy(out, rows.data() + i * d * sizeof(float), d * sizeof(float));  // unaligned in the file
}

std::optional<FaissFlatFile> faiss_flat_file(std::string_view b) {
  if (b.size() < kHeader) return std::nullopt;
  const std::string_view fourcc = b.substr(kFourcc, 4);
  if (fourcc != "IxF2" && fourcc != "IxFI") return std::nullopt;
  const auto d = load<std::int32_t>(b, kDim);
  const auto n = load<std::int64_t>(b, kNtotal);
  const auto metric = load<std::int32_t>(b, kMetric);
  const auto size = load<std::uint64_t>(b, kSize);
  if (d <= 0 || n < 0 || load<std::int64_t>(b, kDummy1) != kDummy || load<std::int64_t>(b, kDummy2) != kDummy ||
      (metric != (fourcc == "IxF2" ? kMetricL2 : kMetricIp)))
    return std::nullopt;
  // Everything must add up: anything else is for libfaiss to read or refuse.
  const std::uint64_t floats = static_cast<std::uint64_t>(n) * static_cast<std::uint64_t>(d);
  if (size != floats || (b.size() - kHeader) / sizeof(float) != floats || (b.size() - kHeader) % sizeof(float) != 0)
    return std::nullopt;
  FaissFlatFile f;
  f.info = {fourcc == "IxF2" ? "IndexFlatL2" : "IndexFlatIP", n, d,
            fourcc == "IxF2" ? FaissMetric::L2 : FaissMetric::InnerProduct};
  f.rows = b.substr(kHeader);
  return f;
}

std::string faiss_flat_header(FaissMetric metric, int dim, std::int64_t ntotal) {
  std::string h(kHeader, '\0');
  const bool ip = metric == FaissMetric::InnerProduct;
  std::memcpy(h.data() + kFourcc, ip ? "IxFI" : "IxF2", 4);
  store<std::int32_t>(h, kDim, dim);
  store<std::int64_t>(h, kNtotal, ntotal);
  store<std::int64_t>(h, kDummy1, kDummy);
  store<std::int64_t>(h, kDummy2, kDummy);
  h[kTrained] = 1;  // a flat index is always trained
  store<std::int32_t>(h, kMetric, ip ? kMetricIp : kMetricL2);
  store<std::uint64_t>(h, kSize, static_cast<std::uint64_t>(ntotal) * static_cast<std::uint64_t>(dim));
  return h;
}

}  // namespace lstore
