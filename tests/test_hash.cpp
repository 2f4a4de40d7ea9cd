// Python repr()/str() emulation and node hashes (FORMAT.md §3.5, Appendix A).
#include <doctest/doctest.h>

#include "core/hash.hpp"

using namespace lstore;

TEST_CASE("python_repr matches Python's repr of json.load results") {
  CHECK(python_repr(parse(R"({"file_name": "a.txt", "n": 3, "ok": true, "none": null, "tags": ["x", "y"]})")) ==
        "{'file_name': 'a.txt', 'n': 3, 'ok': True, 'none': None, 'tags': ['x', 'y']}");
  CHECK(python_repr(Json("it's")) == "\"it's\"");
  CHECK(python_repr(Json("both ' and \"")) == "'both \\' and \"'");
  CHECK(python_repr(Json("tab\there\nnew\\")) == "'tab\\there\\nnew\\\\'");
  CHECK(python_repr(Json("\x01\x7f")) == "'\\x01\\x7f'");
  CHECK(python_repr(Json("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80")) == "'caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80'");
  CHECK(python_repr(Json("\xc2\xa0\xe2\x80\x8b\xc2\xad")) == "'\\xa0\\u200b\\xad'");
  CHECK(python_repr(parse("\"\\ud800\"")) == "'\\ud800'");
  CHECK(python_repr(parse("[1.0, 1e-05, 2.5e16, NaN, Infinity, -Infinity, 12345678901234567890123]")) ==
        "[1.0, 1e-05, 2.5e+16, nan, inf, -inf, 12345678901234567890123]");
  CHECK(python_str(Json("plain")) == "plain");
  CHECK(python_str(parse("[\"a\"]")) == "['a']");
}

TEST_CASE("hashes of FORMAT.md Appendix A") {
  Json md = parse(R"({"file_name": "a.txt"})");
  CHECK(text_node_hash("Hello", md) == "03c2c82cbba59aae92592a892bb27cb1006cd1a76189c7dc8c72f48c56d86172");
  CHECK(text_node_hash("world", md) == "f5ee468f0d5646252f74315ac3667e88ab3b83a8883dff48907ce57efb1c1f95");
  // Document: 0.10 (TextNode formula) and 0.12.28+.
  CHECK(text_node_hash("Hello world", md) == "4efeb116c885d6f831cb7584340cd6cd2b66332f867dedffdd2dba0c41aee835");
  CHECK(document_hash_0_12_28("Hello world", md) == "7145727f16405e278241b0b1946254b15f68ca14a4e4707067da3e125a2fba20");
  CHECK(document_hash_0_12_28("abc", JsonObject{}) == sha256_hex(sha256_hex("abc")));
  CHECK(document_hash_0_12_28("", JsonObject{}) == sha256_hex(""));
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
