// nlohmann_json as the independent oracle of lstore's JSON writers: every
// dialect that is standard JSON must be accepted by another parser and read
// back as the same values. lstore's own value type stays (it holds what
// Python's json holds and nlohmann's cannot: NaN, big integers, lone
// surrogates); values holding those are checked only where the dialect
// writes them as standard JSON (NaN as null in pydantic, JS and --json).
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "corpus.hpp"
#include "lstore/json.hpp"
#include "core/utf8.hpp"

using namespace lstore;
namespace fs = std::filesystem;

namespace {

struct Traits {
  bool nan = false;        // holds NaN or an infinity
  bool bigint = false;     // an integer past int64
  bool surrogate = false;  // a lone surrogate in a string or key
};

void scan(const Json& v, Traits& t) {
  auto text = [&](const std::string& s) { t.surrogate = t.surrogate || !utf8::valid(s); };
  if (v.is_float() && !std::isfinite(v.as_float())) t.nan = true;
  if (v.is_bigint()) t.bigint = true;
  if (v.is_string()) text(v.as_string());
  if (v.is_array())
    for (const Json& x : v.as_array()) scan(x, t);
  if (v.is_object())
    for (const auto& [k, x] : v.as_object()) {
      text(k);
      scan(x, t);
    }
}

// lstore's value and nlohmann's are the same JSON value. Non-finite numbers
// must have been written as null. Keys compare as sets of last-wins pairs:
// nlohmann keeps one value per key, as Python's dict does.
bool same(const Json& a, const nlohmann::json& b) {
  if (a.is_null()) return b.is_null();
  if (a.is_bool()) return b.is_boolean() && b.get<bool>() == a.as_bool();
  if (a.is_int()) return b.is_number_integer() && b.get<std::int64_t>() == a.as_int();
  if (a.is_float()) {
    if (!std::isfinite(a.as_float())) return b.is_null();
    // An integral float may be written without a fraction (JavaScript's 1 for 1.0).
    return b.is_number() && b.get<double>() == a.as_float();
  }
  if (a.is_string()) return b.is_string() && b.get<std::string>() == a.as_string();
  if (a.is_array()) {
    if (!b.is_array() || b.size() != a.as_array().size()) return false;
    for (std::size_t i = 0; i < b.size(); ++i)
      if (!same(a.as_array()[i], b[i])) return false;
    return true;
  }
  if (!b.is_object()) return false;
  std::map<std::string, const Json*> last;
  for (const auto& [k, x] : a.as_object()) last[k] = &x;
  if (last.size() != b.size()) return false;
  for (const auto& [k, x] : last)
    if (!b.contains(k) || !same(*x, b.at(k))) return false;
  return true;
}

struct Checked {
  std::size_t files = 0, outputs = 0;
};

void check_file(const fs::path& file, Checked& n) {
  std::string bytes = corpus::slurp(file);
  Json value;
  try {
    value = parse(bytes);
  } catch (const ParseError&) {
    return;  // a damaged wild file: the parser's own tests cover it
  }
  Traits t;
  scan(value, t);
  if (t.bigint || t.surrogate) return;  // not representable in nlohmann's model
  ++n.files;
  // The file as LlamaIndex wrote it is standard JSON unless it holds NaN.
  if (!t.nan) {
    INFO(file.string());
    CHECK(nlohmann::json::accept(bytes));
  }
  for (JsonDialect d : {JsonDialect::Python, JsonDialect::Pydantic, JsonDialect::PydanticPyFloat,
                        JsonDialect::JavaScript, JsonDialect::Compact}) {
    if (t.nan && d == JsonDialect::Python) continue;  // json.dumps writes NaN, which is not JSON
    std::string out = dump(value, WriteStyle{d});
    INFO(file.string() << " dialect " << static_cast<int>(d));
    REQUIRE(nlohmann::json::accept(out));
    CHECK(same(value, nlohmann::json::parse(out)));
    ++n.outputs;
  }
  // json.dumps(indent=2), which some tools write.
  if (!t.nan) {
    std::string out = dump(value, WriteStyle{JsonDialect::Python, 2});
    CHECK(nlohmann::json::accept(out));
    CHECK(same(value, nlohmann::json::parse(out)));
  }
}

}  // namespace

TEST_CASE("nlohmann oracle: every standard-JSON writer's output is accepted and reads back equal (testdata)") {
  Checked n;
  for (const auto& e : fs::recursive_directory_iterator(fs::path(LSTORE_SOURCE_DIR) / "testdata"))
    if (e.is_regular_file() && e.path().extension() == ".json") check_file(e.path(), n);
  CHECK(n.files >= 10);
  CHECK(n.outputs >= 5 * n.files - 5);
}

TEST_CASE("nlohmann oracle: the same over every corpus store file") {
  if (!corpus::available()) {
    MESSAGE("SKIPPED: no ../shared/corpus");
    return;
  }
  Checked n;
  for (const fs::path& dir : corpus::store_dirs())
    for (const auto& e : fs::recursive_directory_iterator(dir))
      if (e.is_regular_file() && e.path().extension() == ".json" && e.file_size() < (64u << 20)) check_file(e.path(), n);
  MESSAGE(n.files << " corpus files, " << n.outputs << " outputs checked");
  CHECK(n.files > 100);
}

TEST_CASE("nlohmann oracle: values nlohmann cannot hold are where the dialects put them") {
  Json nan_value = parse("{\"a\": NaN, \"b\": [Infinity, -Infinity, 1.5]}");
  for (JsonDialect d : {JsonDialect::Pydantic, JsonDialect::JavaScript, JsonDialect::Compact}) {
    std::string out = dump(nan_value, WriteStyle{d});
    REQUIRE(nlohmann::json::accept(out));
    nlohmann::json j = nlohmann::json::parse(out);
    CHECK(j["a"].is_null());
    CHECK(j["b"][0].is_null());
    CHECK(j["b"][2] == 1.5);
  }
  CHECK_FALSE(nlohmann::json::accept(dump(nan_value, WriteStyle{JsonDialect::Python})));
}
