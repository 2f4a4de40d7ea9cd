// The fuzz targets' bodies, shared by the libFuzzer executables (fuzz/) and
// the unit tests that replay every crasher ever found (testdata/fuzz/).
// Each takes any bytes; the inputs lstore must refuse are refused with
// lstore::Error / ParseError, which the target catches. Anything else that
// escapes, or a broken invariant (abort), is a finding.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lstore::fuzz {

// The JSON reader: parse, then print in every dialect and parse again.
void json_reader(const std::uint8_t* data, std::size_t size);
// A store file: outline it as a docstore / index store / vector store, decode
// every entry, check that it serialises back byte for byte and that it
// survives the trip through records (as every backend stores it).
void store_file(const std::uint8_t* data, std::size_t size);
// A backup stream restored into a directory (convert jsonl:B DIR, convert
// sqlite:B DIR): refused with an Error, or written wholly inside DIR as files
// that read back. The inputs are the backup's bytes.
void backup_jsonl(const std::uint8_t* data, std::size_t size);
void backup_sqlite(const std::uint8_t* data, std::size_t size);
// The metadata-filter expression parser of query / delete --where.
void filter_expression(const std::uint8_t* data, std::size_t size);

}  // namespace lstore::fuzz
