// A program built against the installed core library (test_install.py):
// opens a store by name and prints its node count.
#include <cstdio>

#include "lstore/backend.hpp"
#include "lstore/summary.hpp"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  lstore::Store store = lstore::open_backend(argv[1])->load();
  std::printf("%zu\n", lstore::summarize(store).nodes);
  return 0;
}
