// Rows sent as multi-row INSERTs with bound parameters.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "connection.hpp"

namespace lstore::pg {

// Rows sent as multi-row INSERTs with bound parameters ("INSERT INTO t (a, b)
// VALUES ($1, $2), ($3, $4), ..."), flushed before the protocol's 65535
// parameters or 4 MB of values: what PgSink writes without COPY and what the
// pgvector tables are written with.
class BatchedInsert {
 public:
  BatchedInsert(Conn& c, std::string head, std::size_t width, std::size_t max_params)
      : m_c(c), m_head(std::move(head)), m_width(width), m_max(max_params - max_params % width) {}
  // One row of `width` values (nullopt: NULL).
  void add(std::initializer_list<std::optional<std::string>> row) {
    for (const auto& v : row) {
      m_bytes += v ? v->size() : 0;
      m_params.push_back(v);
    }
    if (m_params.size() >= m_max || m_bytes >= (4u << 20)) flush();
  }
  void flush() {
    if (m_params.empty()) return;
    std::string sql = m_head + " VALUES ";
    for (std::size_t i = 0; i < m_params.size(); ++i) {
      sql += i % m_width == 0 ? (i ? "), ($" : "($") : ", $";
      sql += std::to_string(i + 1);
    }
    sql += ")";
    std::vector<std::optional<std::string_view>> views;
    views.reserve(m_params.size());
    for (const auto& v : m_params) views.push_back(v ? std::optional<std::string_view>(*v) : std::nullopt);
    m_c.exec(sql, views);
    m_params.clear();
    m_bytes = 0;
  }

 private:
  Conn& m_c;
  std::string m_head;
  std::size_t m_width, m_max;
  std::vector<std::optional<std::string>> m_params;
  std::size_t m_bytes = 0;
};

}  // namespace lstore::pg
