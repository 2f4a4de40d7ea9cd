// lstore built with -DLSTORE_WITH_FAISS=OFF: FAISS files are still
// recognised and carried, but whatever needs the index says why it cannot.
#include "lstore/error.hpp"
#include "lstore/faiss.hpp"

namespace lstore {
namespace {
[[noreturn]] void missing(const std::string& file) {
  throw Error(ErrorKind::Data, file, "is a FAISS index and lstore was built without FAISS", "",
              "rebuild lstore with libfaiss-dev installed and -DLSTORE_WITH_FAISS=ON");
}
}  // namespace

bool faiss_compiled_in() { return false; }

struct FaissIndex::Impl {};
FaissIndex::FaissIndex(std::unique_ptr<Impl> impl) : m(std::move(impl)) {}
FaissIndex::FaissIndex(FaissIndex&&) noexcept = default;
FaissIndex& FaissIndex::operator=(FaissIndex&&) noexcept = default;
FaissIndex::~FaissIndex() = default;
FaissIndex FaissIndex::read(std::string_view, const std::string& file) { missing(file); }
const FaissIndexInfo& FaissIndex::info() const { missing("FAISS index"); }
std::vector<std::int64_t> FaissIndex::labels() const { missing("FAISS index"); }
std::vector<float> FaissIndex::vectors() const { missing("FAISS index"); }
std::vector<float> FaissIndex::vector_at(std::size_t) const { missing("FAISS index"); }
std::vector<std::pair<std::int64_t, float>> FaissIndex::search(const std::vector<float>&, std::size_t) const {
  missing("FAISS index");
}
std::string faiss_flat_index_bytes(FaissMetric, int, const std::vector<float>&, const std::string& file) { missing(file); }

}  // namespace lstore
