// core/numbers: embedding text read as Python's json.loads reads it, and
// floats printed as Python's repr, pydantic-core and JavaScript print them.
// Every expected value below is what CPython 3.11 (json.loads, float(),
// repr), pydantic-core 2 (to_json) or Node (String(v)) gave for the input.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "core/numbers.hpp"

using namespace lstore;

namespace {

std::string py(double v) { return numbers::format(v, JsonDialect::Python); }
std::string pyd(double v) { return numbers::format(v, JsonDialect::Pydantic); }
std::string js(double v) { return numbers::format(v, JsonDialect::JavaScript); }

std::vector<double> scan(std::string_view text) {
  std::vector<double> out;
  auto err = numbers::scan_array(text, out);
  REQUIRE_MESSAGE(!err, (std::string(text) + ": " + (err ? err->what : std::string())));
  return out;
}

// The repr of each element as float(), which is how the expectations read.
std::vector<std::string> reprs(std::string_view text) {
  std::vector<std::string> r;
  for (double v : scan(text))
    r.push_back(std::isnan(v) ? "nan" : std::isinf(v) ? (v > 0 ? "inf" : "-inf") : py(v));
  return r;
}

using S = std::vector<std::string>;

}  // namespace

TEST_CASE("format: Python's repr, pydantic-core's to_json, JavaScript's String(v)") {
  struct Row {
    double v;
    const char *python, *pydantic, *js;
  };
  // repr(float(v)), pydantic_core.to_json(float(v)), String(Number(v)).
  const Row rows[] = {
      {1.0, "1.0", "1.0", "1"},
      {-0.0, "-0.0", "-0.0", "0"},
      {1e-05, "1e-05", "0.00001", "0.00001"},
      {0.0001, "0.0001", "0.0001", "0.0001"},
      {2.5e-07, "2.5e-07", "2.5e-7", "2.5e-7"},
      {1e16, "1e+16", "1e+16", "10000000000000000"},
      {1e15, "1000000000000000.0", "1000000000000000.0", "1000000000000000"},
      {123456789012345680.0, "1.2345678901234568e+17", "1.2345678901234568e+17", "123456789012345680"},
      {0.1, "0.1", "0.1", "0.1"},
      {-123.456, "-123.456", "-123.456", "-123.456"},
      {5e-324, "5e-324", "5e-324", "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308", "1.7976931348623157e+308", "1.7976931348623157e+308"},
      {1e100, "1e+100", "1e+100", "1e+100"},
      {0.30000000000000004, "0.30000000000000004", "0.30000000000000004", "0.30000000000000004"},
      {1e-06, "1e-06", "1e-6", "0.000001"},
      {1e-07, "1e-07", "1e-7", "1e-7"},
      {-2.2250738585072014e-308, "-2.2250738585072014e-308", "-2.2250738585072014e-308", "-2.2250738585072014e-308"},
      {0.12345678901234568, "0.12345678901234568", "0.12345678901234568", "0.12345678901234568"},
      {123.0, "123.0", "123.0", "123"},
      {1e21, "1e+21", "1e+21", "1e+21"},
      {1e20, "1e+20", "1e+20", "100000000000000000000"},
      {-3e-7, "-3e-07", "-3e-7", "-3e-7"},
      {3.0000000000000004e-05, "3.0000000000000004e-05", "0.000030000000000000004", "0.000030000000000000004"},
  };
  for (const Row& r : rows) {
    CAPTURE(r.python);
    CHECK(py(r.v) == r.python);
    CHECK(pyd(r.v) == r.pydantic);
    CHECK(js(r.v) == r.js);
    // Compact and older pydantic-core print Python's repr.
    CHECK(numbers::format(r.v, JsonDialect::Compact) == r.python);
    CHECK(numbers::format(r.v, JsonDialect::PydanticPyFloat) == r.python);
  }
  // json.dumps's and Number.toString's words for the non-finite ones.
  CHECK(py(std::nan("")) == "NaN");
  CHECK(py(HUGE_VAL) == "Infinity");
  CHECK(py(-HUGE_VAL) == "-Infinity");
  CHECK(js(std::nan("")) == "NaN");
  CHECK(js(-HUGE_VAL) == "-Infinity");
}

TEST_CASE("format: the longest forms fit kMaxFormatted, and every form round-trips") {
  const double values[] = {-2.2250738585072014e-308, -1.7976931348623157e308, -123456789012345680.0, -1e-7,
                           -0.30000000000000004, 4.9406564584124654e-324, -1.2345678901234567e-300};
  for (double v : values)
    for (JsonDialect d : {JsonDialect::Python, JsonDialect::Pydantic, JsonDialect::JavaScript}) {
      std::string s = numbers::format(v, d);
      CHECK(s.size() <= numbers::kMaxFormatted);
      CHECK(std::strtod(s.c_str(), nullptr) == v);
    }
}

TEST_CASE("scan_array: json.loads, then float() of each element") {
  CHECK(reprs("[0.1,  2 ,3e2]") == S{"0.1", "2.0", "300.0"});
  CHECK(reprs("[1E5, 1e+5, 1e-5]") == S{"100000.0", "100000.0", "1e-05"});
  CHECK(reprs(" [ ]\n") == S{});
  CHECK(reprs("[NaN, Infinity, -Infinity]") == S{"nan", "inf", "-inf"});
  // Out of range: float() overflows to inf and underflows to 0, keeping the sign.
  CHECK(reprs("[1e400]") == S{"inf"});
  CHECK(reprs("[-1e400]") == S{"-inf"});
  CHECK(reprs("[1e-400]") == S{"0.0"});
  CHECK(reprs("[-1e-400]") == S{"-0.0"});
  CHECK(reprs("[2.4703282292062328e-324]") == S{"5e-324"});  // rounds up to the smallest subnormal
  CHECK(reprs("[2.4703282292062327e-324]") == S{"0.0"});
  // Ints: -0 is the int 0, big ints are rounded as float(int) rounds them.
  CHECK(reprs("[-0]") == S{"0.0"});
  CHECK(reprs("[-0.0]") == S{"-0.0"});
  CHECK(reprs("[12345678901234567890123]") == S{"1.2345678901234568e+22"});
  CHECK(reprs("[9007199254740993]") == S{"9007199254740992.0"});
}

TEST_CASE("scan_array: what json.loads or float() refuses is an error") {
  std::vector<double> out;
  // json.loads: Expecting ',' delimiter / Expecting value / Extra data.
  for (const char* bad : {"[01]", "[1.]", "[.5]", "[+1]", "[nan]", "[inf]", "[1,]", "[-NaN]", "[1 2]", "1", "[1]x",
                          "[\"1\"]", "[[1]]", "", "[", "[1"}) {
    CAPTURE(bad);
    CHECK(numbers::scan_array(bad, out).has_value());
  }
  // float(10**400): OverflowError: int too large to convert to float.
  auto err = numbers::scan_array("[1, 1" + std::string(400, '0') + "]", out);
  REQUIRE(err);
  CHECK(err->offset == 4);
  CHECK(err->what.starts_with("int too large to convert to float"));
  err = numbers::scan_array("[1, x]", out);
  REQUIRE(err);
  CHECK(err->offset == 4);
  CHECK(err->what == "expected a number, found 'x'");
}

TEST_CASE("scan_number: token kinds and ends") {
  numbers::Token t;
  std::string_view s = "-12.5e1,";
  const char* end = numbers::scan_number(s.data(), s.data() + s.size(), t);
  REQUIRE(end);
  CHECK(*end == ',');
  CHECK(t.text == "-12.5e1");
  CHECK(t.kind == numbers::Kind::Float);
  CHECK(t.value == -125.0);
  s = "7]";
  REQUIRE(numbers::scan_number(s.data(), s.data() + s.size(), t));
  CHECK(t.kind == numbers::Kind::Int);
  CHECK(t.finite());
  s = "-Infinity";
  REQUIRE(numbers::scan_number(s.data(), s.data() + s.size(), t));
  CHECK(t.kind == numbers::Kind::Infinity);
  CHECK(!t.finite());
  s = "Inf";
  CHECK(numbers::scan_number(s.data(), s.data() + s.size(), t) == nullptr);
}
