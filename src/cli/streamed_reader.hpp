// A store read for a command that needs no whole collection (ls's summary,
// get ID): a Backend whose load() is the inner backend's load_streamed(), so
// that load_store's checks and notes apply unchanged.
#pragma once

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "lstore/backend.hpp"

namespace lstore::cli {

class StreamedReader : public Backend {
 public:
  StreamedReader(std::unique_ptr<Backend> inner, std::optional<std::string> id)
      : m_inner(std::move(inner)), m_id(std::move(id)) {}
  std::string describe() const override { return m_inner->describe(); }
  Store load() override { return m_inner->load_streamed(m_id ? &*m_id : nullptr); }
  void save(const Store&, const SaveOptions&) override { throw std::logic_error("a streamed read is never written"); }
  std::vector<std::string> read_notes() const override { return m_inner->read_notes(); }

 private:
  std::unique_ptr<Backend> m_inner;
  std::optional<std::string> m_id;
};

}  // namespace lstore::cli
