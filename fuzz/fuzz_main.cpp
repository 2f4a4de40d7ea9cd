// libFuzzer entry point; FUZZ_TARGET names the body (fuzz_targets.hpp).
#include <cstddef>
#include <cstdint>

#include "fuzz_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  lstore::fuzz::FUZZ_TARGET(data, size);
  return 0;
}
