// The one diagnosis of a store. Its first half needs only the layout (which
// files there are and what each one is, the index structs' types and counts,
// each vector store's shape): `ls` prints exactly these findings. `validate`
// reports the same findings at the same severities and adds the checks that
// need every entry read (validate.cpp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lstore/model.hpp"
#include "lstore/validate.hpp"

namespace lstore {

struct LayoutFacts {
  std::vector<IndexCount> indexes;
  // The vector stores' shapes (ls has them); empty when the full checks
  // follow, which report dimensions and missing metadata per entry.
  std::vector<VectorStoreInfo> vector_stores;
  bool full_checks_follow = false;
};

std::vector<Finding> diagnose_layout(const Store& store, const LayoutFacts& facts);

// Does the store hold anything LlamaIndex wrote? False for an empty folder,
// /etc, a LangChain or networkx folder; `found` then says what is there.
bool holds_llamaindex_files(const Store& store, std::string* found = nullptr);

// A store file that is there but that LlamaIndex's loader cannot read (Git
// LFS pointer, FAISS binary under a JSON name, empty, not JSON, foreign
// JSON), with why and what to do: the same words ls and validate use.
struct DamagedFile {
  const FileInfo* file;
  std::string why;
};
std::vector<DamagedFile> damaged_store_files(const Store& store);
// Throws Error(Data) naming the file and the cause when `name` is damaged:
// a command that needs that file stops there (exit 3).
void require_undamaged(const Store& store, std::string_view name);

}  // namespace lstore
