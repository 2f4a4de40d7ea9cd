// Node hashes as each LlamaIndex era computes them (FORMAT.md §3.5), and the
// Python repr()/str() of metadata that those hashes are taken over.
#pragma once

#include <string>
#include <string_view>

#include "lstore/json.hpp"

namespace lstore {

// Python's repr() of a value loaded with json.load (dict, list, str, int,
// float, bool, None). Non-printable characters are escaped as Python does
// for the Unicode categories it treats as non-printable (see hash.cpp).
std::string python_repr(const Json& v);
// Python's str(): strings as they are, everything else as repr().
std::string python_str(const Json& v);

// Lowercase hex SHA-256 of bytes (OpenSSL's libcrypto).
std::string sha256_hex(std::string_view bytes);

// TextNode / IndexNode (every era), Document <= 0.12.5, ImageNode <= 0.11.9:
// sha256(text + str(metadata)).
std::string text_node_hash(const std::string& text, const Json& metadata);
// Document >= 0.12.28: sha256("k: v<sep>k: v" + "-" + sha256(text)), the
// metadata part only when there is metadata, the text part only when there
// is text.
std::string document_hash_0_12_28(const std::string& text, const Json& metadata, const std::string& separator = "\n");

// LlamaIndex.TS (FORMAT.md §9): base64 SHA-256 of "type=<TYPE>" +
// "startCharIdx=<v> endCharIdx=<v>" (nullptr prints as "undefined") +
// (metadata as sorted "key: String(value)" lines + "\n\n" + text).trim().
std::string ts_node_hash(const std::string& type, const std::string& text, const Json& metadata,
                         const std::string& separator, const Json* start_char, const Json* end_char);
// JavaScript's String(value) of a JSON value.
std::string js_string(const Json& v);

}  // namespace lstore
