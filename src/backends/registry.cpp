// Store names -> backends. A new backend is one file plus one line here.
#include <string>

#include "lstore/backend.hpp"
#include "lstore/error.hpp"

namespace lstore {

std::unique_ptr<Backend> open_backend(const std::string& name) {
  auto scheme_is = [&](const char* s) { return name.rfind(s, 0) == 0; };
  if (scheme_is("sqlite:") || scheme_is("redis://") || scheme_is("rediss://") || scheme_is("postgresql://") ||
      scheme_is("postgres://") || scheme_is("jsonl:")) {
    std::string scheme = name.substr(0, name.find(':'));
    throw Error(ErrorKind::Usage, scheme + ":", "this backend is not available in this build yet",
                "", "supported now: a persist directory");
  }
  if (name.find("://") != std::string::npos)
    throw Error(ErrorKind::Usage, name.substr(0, name.find("://") + 3), "unknown store scheme");
  return make_directory_backend(name);
}

std::vector<std::string> compiled_backends() { return {"dir"}; }

}  // namespace lstore
