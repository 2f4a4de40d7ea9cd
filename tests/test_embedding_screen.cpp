// The streamed cold search's screen (ops/embedding_parse.cpp): for every
// array, screen_embedding accepts exactly what parse_embedding accepts, each
// screened number is within a relative 2^-46 of the exact one (equal where
// that is not finite), and the similarity from screened numbers is within
// screen_margin() of the exact one. Cases: Python's repr of random doubles
// of every size, numbers in every form JSON allows, near-misses of it, and
// NaN / Infinity.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "ops/query_internal.hpp"

using namespace lstore;

namespace {

// repr(float) for finite doubles: the shortest round trip, with Python's
// exponent form (fmt's shortest digits; the tests compare values, not text).
std::string py_repr(double x) {
  std::string s = fmt::format("{}", x);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

// Both parses of `raw`; checks they agree as the screen promises.
void check_agrees(const std::string& raw, std::size_t dim) {
  CAPTURE(raw);
  std::vector<double> exact(dim + 1), screened(dim + 1);
  const bool a = detail::parse_embedding(raw, exact.data(), dim);
  const bool b = detail::screen_embedding(raw, screened.data(), dim);
  REQUIRE(a == b);
  if (!a) return;
  for (std::size_t i = 0; i < dim; ++i) {
    CAPTURE(i);
    if (!std::isfinite(exact[i])) {
      CHECK((std::isnan(exact[i]) ? std::isnan(screened[i]) : exact[i] == screened[i]));
    } else {
      CHECK(std::fabs(screened[i] - exact[i]) <= std::ldexp(std::fabs(exact[i]), -46));
    }
  }
}

}  // namespace

TEST_CASE("screen: random doubles as Python writes them, every magnitude") {
  std::mt19937_64 rng(42);
  std::normal_distribution<double> normal(0, 0.05);
  std::uniform_int_distribution<int> exponent(-30, 30);
  for (int row = 0; row < 3000; ++row) {
    const std::size_t dim = 1 + row % 97;
    std::string raw = row % 3 ? "[" : " [ ";
    for (std::size_t i = 0; i < dim; ++i) {
      double x = normal(rng);
      if (row % 5 == 1) x *= std::pow(10.0, exponent(rng));   // 1e-31 .. 1e29: exponents, long ints
      if (row % 7 == 2) x = std::round(x * 1e6) / 1e6;        // short ones
      if (row % 11 == 3) x = static_cast<double>(static_cast<long long>(x * 1e9));  // ints
      raw += (i ? (row % 2 ? ", " : ",") : "") + py_repr(x);
    }
    raw += row % 4 ? "]" : " ]\n";
    check_agrees(raw, dim);
  }
}

TEST_CASE("screen: every form of a JSON number, and what is not one") {
  const char* forms[] = {
      "0", "-0", "0.0", "-0.0", "1", "-1", "0.5", "-0.5", "1e5", "1E5", "1e+5", "1e-5", "-1.5E-05", "0e0",
      "123456789012345", "1234567890123456", "12345678901234567890", "123456789012345678901234567890",
      "0.1234567890123456789", "-0.0000000000000000000000001234567", "0.00001234567890123456789",
      "0.000000123456789012345678901234", "9.999999999999999e22", "1e22", "1e23", "1e-22", "1e-23", "1e308",
      "1e309", "1e-400", "4.9e-324", "2.2250738585072014e-308", "0.30000000000000004", "1.0000000000000002",
      "0.12345678901234567890123456789012345678901234567890", "-0.99999999999999999999999999",
      "0.10000000000000000000000000001", "5e-0", "5e0000", "5e00001", "NaN", "Infinity", "-Infinity",
      // not numbers (both refuse): leading zeros, a bare point, signs, words
      "01", "-01", "00.5", "1.", "1.e5", ".5", "-.5", "+1", "1e", "1e+", "-", "--1", "0x10", "inf", "nan",
      "-NaN", "infinity", "1.5.5", "0.123456789012345678.5", "0.12345678901234567e", "0.1234567890123456789E+",
      "1,5", "1 5", "1e5.5", "0.1234567890123456789a"};
  for (const char* n : forms) {
    // Alone, first, last, and in the middle of a row long enough for the
    // 32-byte fast path to see past it.
    check_agrees(fmt::format("[{}]", n), 1);
    check_agrees(fmt::format("[{}, 0.04183541238307953, -0.055605292320251465]", n), 3);
    check_agrees(fmt::format("[-0.055605292320251465, 0.04183541238307953, {}]", n), 3);
    check_agrees(fmt::format("[-0.055605292320251465, {}, 0.04183541238307953, 0.036586832255125046]", n), 4);
  }
  // Runs of digits the fast path reads 32 bytes of: 15 to 40 after the point,
  // with 0 to 8 leading zeros, followed by each character that may end them.
  for (int digits = 15; digits <= 40; ++digits)
    for (int zeros = 0; zeros <= 8; ++zeros)
      for (const char* after : {", 0.5, 0.25, 0.125, 0.0625, 0.03125]", "]", "e-3, 0.5]", "E2]", ".5]", "]]"}) {
        std::string n = "-0." + std::string(zeros, '0');
        for (int i = 0; i < digits; ++i) n += static_cast<char>('1' + (i * 7 + zeros) % 9);
        const std::string raw = "[" + n + after;
        check_agrees(raw, 1 + static_cast<std::size_t>(std::count(raw.begin(), raw.end(), ',')));
      }
}

TEST_CASE("screen: the screened similarity is within screen_margin of the exact one") {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal(0, 0.05);
  for (std::size_t dim : {1, 3, 8, 48, 384, 1536}) {
    std::vector<double> q(dim), exact(dim), screened(dim);
    for (double& x : q) x = normal(rng);
    const double qn = detail::norm(q.data(), dim);
    const double margin = detail::screen_margin(dim);
    CHECK(margin < 1e-8);  // narrow enough to rule out all but near-ties
    double worst = 0;
    for (int row = 0; row < 200; ++row) {
      std::string raw = "[";
      for (std::size_t i = 0; i < dim; ++i) raw += (i ? ", " : "") + py_repr(normal(rng) * (row % 3 ? 1 : 1e-3));
      raw += "]";
      REQUIRE(detail::parse_embedding(raw, exact.data(), dim));
      REQUIRE(detail::screen_embedding(raw, screened.data(), dim));
      const double d = std::fabs(detail::cosine(q.data(), qn, exact.data(), dim) -
                                 detail::cosine(q.data(), qn, screened.data(), dim));
      worst = std::max(worst, d);
    }
    CAPTURE(dim);
    CHECK(worst <= margin);
  }
}

TEST_CASE("screen: a candidate below StreamingTopK::floor() changes nothing, ties and their order included") {
  // Few distinct similarities, so the hits are full of ties whose order is
  // the heap's arrangement: not pushing the candidates below the floor must
  // leave that arrangement as pushing and popping them does.
  std::mt19937_64 rng(11);
  const double values[] = {0.1, 0.2, 0.3, 0.5, 0.5, 0.7, 0.7, 0.9};
  std::size_t skipped = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    const std::size_t n = 20 + rng() % 200, k = 1 + rng() % 40;
    std::vector<std::string> ids(n);
    for (std::size_t i = 0; i < n; ++i) ids[i] = fmt::format("id{:04}", (i * 7919 + trial) % 10007);
    detail::StreamingTopK all(k), screened(k);
    for (std::size_t i = 0; i < n; ++i) {
      const double s = values[rng() % 8];
      all.push(s, ids[i]);
      if (s < screened.floor()) ++skipped;
      else screened.push(s, ids[i]);
    }
    const auto a = all.finish(), b = screened.finish();
    CAPTURE(trial);
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      CHECK(a[i].id == b[i].id);
      CHECK(a[i].score == b[i].score);
    }
  }
  CHECK(skipped > 10000);  // the case above is the one screening makes
  detail::StreamingTopK nan(2);
  nan.push(0.5, "a");
  nan.push(std::nan(""), "b");
  CHECK(nan.floor() == -HUGE_VAL);  // NaN has no place in the order: no floor
}
