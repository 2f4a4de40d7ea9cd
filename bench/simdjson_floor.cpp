// The parse floor of bench_scale.sh: one bare simdjson On-Demand pass over
// each file given, visiting every value (every number parsed as a double,
// every string and key located, not unescaped), nothing else. It is not part
// of lstore: the script builds it with -march=native so that simdjson 3.0.1's
// On-Demand parser uses the widest kernel of this CPU (built without it, the
// header code falls back to the portable kernel), which is the speed lstore is
// held to. The file is loaded into a padded string, so its RSS is the file's.
#include <cstdio>
#include <simdjson.h>

namespace {

struct Counts {
  std::size_t numbers = 0, strings = 0, containers = 0;
  double sum = 0;  // printed so that the number parse cannot be optimised away
};

void walk(simdjson::ondemand::value v, Counts& c) {
  switch (v.type()) {
    case simdjson::ondemand::json_type::object:
      ++c.containers;
      for (simdjson::ondemand::field field : v.get_object()) {
        (void)field.key();
        walk(field.value(), c);
      }
      break;
    case simdjson::ondemand::json_type::array:
      ++c.containers;
      for (auto element : v.get_array()) walk(element.value(), c);
      break;
    case simdjson::ondemand::json_type::number:
      c.sum += v.get_double();
      ++c.numbers;
      break;
    case simdjson::ondemand::json_type::string:
      (void)v.get_raw_json_string().value();
      ++c.strings;
      break;
    default:
      (void)v.raw_json_token();
      break;
  }
}

}  // namespace

int main(int argc, char** argv) {
  // The kernel this file's On-Demand code was compiled for (the library's
  // builtin_implementation() would name the shared library's own, fallback).
  std::printf("simdjson On-Demand kernel: %s\n", SIMDJSON_STRINGIFY(SIMDJSON_BUILTIN_IMPLEMENTATION));
  simdjson::ondemand::parser parser;
  for (int i = 1; i < argc; ++i) {
    simdjson::padded_string text = simdjson::padded_string::load(argv[i]);
    simdjson::ondemand::document doc = parser.iterate(text);
    Counts c;
    for (simdjson::ondemand::field field : doc.get_object()) {
      (void)field.key();
      walk(field.value(), c);
    }
    std::printf("%s: %zu numbers (sum %.6f), %zu strings, %zu containers\n", argv[i], c.numbers, c.sum, c.strings,
                c.containers);
  }
  return 0;
}
