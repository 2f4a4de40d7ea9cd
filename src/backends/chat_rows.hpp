// A chat store file as LlamaIndex's own chat-store integrations keep it in a
// database (man/lstore-formats.5; the corpus' backends/README.md has what
// LlamaIndex 0.12.35 wrote):
//
//   RedisChatStore     one list per chat key, named by the key itself (no
//                      prefix); RPUSH of json.dumps(message.dict())
//   PostgresChatStore  <schema>.data_chatstore: one row per key, value json[]
//                      (or jsonb[]) of message.model_dump_json()
//   SQLiteChatStore    data_chatstore: one row per message in order, value
//                      json.dumps(message.model_dump(mode="json"))
//
// The Redis, PostgreSQL and SQLite backends keep the first chat store file
// of a store this way, so that LlamaIndex reads and edits those chats where
// it looks for them, and keep the file's bytes beside them as well. On
// reading, the database is the truth: while its messages equal the kept
// bytes the file comes back byte for byte; once LlamaIndex changed them the
// file is rebuilt as SimpleChatStore persists it. A database LlamaIndex
// filled itself reads as a chat_store.json of the messages' era.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lstore/jsondoc.hpp"

namespace lstore {

inline constexpr const char* kChatTable = "data_chatstore";   // table_name "chatstore" with LlamaIndex's data_ prefix
inline constexpr const char* kChatFileName = "chat_store.json";  // SimpleChatStore's default persist path
inline constexpr const char* kChatFileKey = "chat_file";       // lstore's metadata: which file is kept natively

// How one message is printed into the database.
enum class MessageText {
  JsonDumps,      // Redis and SQLite: Python json.dumps
  ModelDumpJson,  // PostgreSQL: pydantic's compact model_dump_json
};

// Per chat key, in order, the messages' JSON texts.
struct ChatRows {
  std::vector<std::pair<std::string, std::vector<std::string>>> keys;
  // Every message's text reads back as the same value (always so for
  // JsonDumps; model_dump_json prints NaN as null).
  bool lossless = true;
  // Appends `message` to `key` (a key seen for the first time goes last).
  void add(std::string_view key, std::string message);
  void add_key(std::string_view key);
  std::size_t messages() const;
};

// The rows of a chat store file; throws Error(Data) when it does not parse.
ChatRows chat_rows(std::string_view bytes, const std::string& name, MessageText form);
// The same for a backend writing the chat file natively (as SQLite's or
// Redis's chat store keeps it): nullopt when it does not parse, and the
// file is then carried as it is.
std::optional<ChatRows> native_chat_rows(std::string_view bytes, const std::string& name);

// The chat store file for what the database holds now. `stored` is the file
// as lstore last wrote it (nullptr for a database LlamaIndex filled itself);
// `normalised`: the database re-prints what it stores (jsonb), so messages
// are compared as values, whatever their key order and number form.
// Throws Error(Data) naming `display` and the key for a message that is not
// JSON.
std::shared_ptr<Buffer> chat_file_from_rows(const ChatRows& rows, const std::shared_ptr<Buffer>& stored,
                                            const std::string& display, bool normalised);

}  // namespace lstore
