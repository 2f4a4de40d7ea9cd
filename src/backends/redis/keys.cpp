// Key names, key scans and the chat lists (keys.hpp).
#include "keys.hpp"

#include "lstore/json.hpp"

namespace lstore::redis {
namespace {

// A list element RedisChatStore could have written: a JSON object with a role.
bool is_chat_message(std::string_view text) {
  try {
    Json m = parse(text);
    return m.is_object() && m.find("role") && m.find("role")->is_string();
  } catch (const ParseError&) {
    return false;
  }
}

}  // namespace

std::string glob_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::vector<std::string> scan_keys(Conn& c, const std::string& pattern) {
  std::vector<std::string> out;
  std::string cursor = "0";
  do {
    Reply r = c.command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
    cursor = std::string(str(r->element[0]));
    for (std::size_t i = 0; i < r->element[1]->elements; ++i) out.emplace_back(str(r->element[1]->element[i]));
  } while (cursor != "0");
  return out;
}

bool exists(Conn& c, const std::string& key) { return c.command({"EXISTS", key})->integer > 0; }

ChatRows read_chats(Conn& c) {
  std::vector<std::string> lists;
  std::string cursor = "0";
  do {
    Reply r = c.command({"SCAN", cursor, "COUNT", "1000", "TYPE", "list"});
    cursor = std::string(str(r->element[0]));
    for (std::size_t i = 0; i < r->element[1]->elements; ++i) {
      std::string_view k = str(r->element[1]->element[i]);
      if (k.rfind("lstore/", 0) != 0) lists.emplace_back(k);
    }
  } while (cursor != "0");
  std::sort(lists.begin(), lists.end());
  ChatRows rows;
  for (const std::string& k : lists) {
    // Another program's list (a job queue, say) is told by its first element,
    // without reading all of it.
    if (!is_chat_message(str(c.command({"LINDEX", k, "0"}).get()))) continue;
    Reply r = c.command({"LRANGE", k, "0", "-1"});
    bool chat = r->elements > 0;
    for (std::size_t i = 0; chat && i < r->elements; ++i) chat = is_chat_message(str(r->element[i]));
    if (!chat) continue;
    for (std::size_t i = 0; i < r->elements; ++i) rows.add(k, std::string(str(r->element[i])));
  }
  return rows;
}

}  // namespace lstore::redis
