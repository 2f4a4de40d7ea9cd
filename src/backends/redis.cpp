// Placeholder until the redis backend lands.
#include "lstore/backend.hpp"
#include "lstore/error.hpp"

namespace lstore {

std::unique_ptr<Backend> make_redis_backend(const std::string& uri) {
  throw Error(ErrorKind::Usage, uri.substr(0, uri.find(':') + 1), "this backend is not available in this build yet");
}

}  // namespace lstore
