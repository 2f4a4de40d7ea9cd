// Chat store files to and from the chat-store integrations' rows (see chat_rows.hpp).
#include "chat_rows.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "lstore/error.hpp"
#include "lstore/json.hpp"
#include "lstore/side_files.hpp"
// Python's == on JSON values (dicts by key, 1 == 1.0), which is how a value
// a normalising database (jsonb) gives back compares with what was stored.
#include "core/python_values.hpp"

namespace lstore {
namespace {

// A text block as pydantic prints it (block_type first), whatever order a
// normalising database gave its keys.
Json tidy_message(Json m) {
  if (Json* blocks = m.find("blocks"); blocks && blocks->is_array())
    for (Json& b : blocks->as_array()) {
      const Json* type = b.find("block_type");
      const Json* text = b.find("text");
      if (type && text && b.as_object().size() == 2 && type->is_string() && type->as_string() == "text")
        b = Json(JsonObject{{"block_type", *type}, {"text", *text}});
    }
  return m;
}

}  // namespace

void ChatRows::add_key(std::string_view key) {
  for (auto& [k, v] : keys)
    if (k == key) return;
  keys.emplace_back(std::string(key), std::vector<std::string>{});
}

void ChatRows::add(std::string_view key, std::string message) {
  if (keys.empty() || keys.back().first != key) add_key(key);
  for (auto it = keys.rbegin(); it != keys.rend(); ++it)
    if (it->first == key) {
      it->second.push_back(std::move(message));
      return;
    }
}

std::size_t ChatRows::messages() const {
  std::size_t n = 0;
  for (const auto& [k, v] : keys) n += v.size();
  return n;
}

std::optional<ChatRows> native_chat_rows(std::string_view bytes, const std::string& name) {
  try {
    return chat_rows(bytes, name, MessageText::JsonDumps);
  } catch (const Error&) {
    return std::nullopt;
  }
}

ChatRows chat_rows(std::string_view bytes, const std::string& name, MessageText form) {
  ChatStore chat = ChatStore::parse(bytes, name);
  WriteStyle style{form == MessageText::JsonDumps ? JsonDialect::Python : JsonDialect::Pydantic};
  ChatRows rows;
  for (const std::string& key : chat.keys()) {
    rows.add_key(key);
    for (const Json& m : *chat.messages(key)) {
      rows.add(key, dump(m, style));
      // json.dumps gives every value back; pydantic prints NaN as null.
      if (form == MessageText::ModelDumpJson && rows.lossless) rows.lossless = parse(rows.keys.back().second.back()) == m;
    }
  }
  return rows;
}

std::shared_ptr<Buffer> chat_file_from_rows(const ChatRows& rows, const std::shared_ptr<Buffer>& stored,
                                            const std::string& display, bool normalised) {
  std::vector<std::pair<std::string, std::vector<Json>>> now;
  bool has_blocks = false, has_content = false;
  for (const auto& [key, texts] : rows.keys) {
    auto& msgs = now.emplace_back(key, std::vector<Json>{}).second;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      try {
        msgs.push_back(parse(texts[i]));
      } catch (const ParseError& e) {
        throw Error(ErrorKind::Data, display, std::string("a chat message is not JSON: ") + e.what(),
                    fmt::format("{}[{}]", key, i));
      }
      if (!msgs.back().is_object())
        throw Error(ErrorKind::Data, display, std::string("a chat message must be an object, not a ") + msgs.back().type_name(),
                    fmt::format("{}[{}]", key, i));
      has_blocks |= msgs.back().find("blocks") != nullptr;
      has_content |= msgs.back().find("content") != nullptr;
    }
  }

  std::optional<ChatStore> chat;
  if (stored) {
    try {
      chat = ChatStore::parse(stored->view(), display);
    } catch (const Error&) {
      // Kept bytes that do not parse say nothing: the rows are rebuilt.
    }
  }
  // A key with no messages has no list (Redis) or no rows (SQLite): absent
  // and empty are the same, as get_messages returns [] for both.
  std::set<std::string> present;
  for (const auto& [key, msgs] : now)
    if (!msgs.empty()) present.insert(key);
  if (chat) {
    bool same = true;
    for (const std::string& key : chat->keys())
      if (!chat->messages(key)->empty()) same &= present.count(key) > 0;
    for (std::size_t i = 0; same && i < now.size(); ++i) {
      const JsonArray* was = chat->messages(now[i].first);
      const std::vector<Json>& is = now[i].second;
      if (!was) {
        same = is.empty();
        continue;
      }
      same = was->size() == is.size();
      for (std::size_t j = 0; same && j < is.size(); ++j)
        same = normalised ? detail::py::same((*was)[j], is[j]) : (*was)[j] == is[j];
    }
    if (same) return stored;
  } else {
    chat = ChatStore::empty(has_content && !has_blocks ? ChatStore::Era::V010 : ChatStore::Era::V012);
  }
  // Keys the database no longer has go; the others keep their place in the
  // file, new ones come last in the database's order.
  for (const std::string& key : chat->keys())
    if (!present.count(key) && !chat->messages(key)->empty()) chat->delete_messages(key);
  for (auto& [key, msgs] : now) {
    for (Json& m : msgs) m = tidy_message(std::move(m));
    chat->set_messages(key, msgs);
  }
  return Buffer::own(chat->serialize());
}

}  // namespace lstore
