// The files people keep beside a persist directory (FORMAT.md Appendix C2):
// SimpleChatStore files (chat_store.json: messages per key) and standalone
// SimpleKVStore files (collection -> key -> object). The store model carries
// them as files (FileKind::ChatStore / KvStore, with their bytes); these are
// their readers, editors and checks. A file that is not changed is written
// back byte for byte; a changed one is written as LlamaIndex writes it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lstore/json.hpp"
#include "lstore/store.hpp"

namespace lstore {

class ChatStore {
 public:
  enum class Era {
    V010,  // 0.10: the file is a JSON string holding the JSON; messages have "content"
    V012,  // 0.12: an object; messages have "blocks"
  };

  // Parses a chat_store.json. Throws Error(Data) naming `name` and the place.
  static ChatStore parse(std::string_view bytes, const std::string& name);
  // A store with no keys, as SimpleChatStore() of that era starts.
  static ChatStore empty(Era era);
  // The file as LlamaIndex writes it in this store's era.
  std::string serialize() const;

  Era era() const { return m_era; }
  std::vector<std::string> keys() const;
  // The messages of `key` as stored; nullptr when there is no such key.
  const JsonArray* messages(const std::string& key) const;

  // BaseChatStore's operations. Messages are given in either era's shape
  // ({"role", "content"} or {"role", "blocks"}) and stored in this one's.
  void set_messages(const std::string& key, const std::vector<Json>& messages);
  // At the end, or before position `index` (Python list.insert semantics).
  void add_message(const std::string& key, const Json& message, std::optional<long long> index = {});
  // These return false when there was nothing to delete.
  bool delete_messages(const std::string& key);
  bool delete_message(const std::string& key, long long index);
  bool delete_last_message(const std::string& key);
  // 0.10 -> 0.12: "content" becomes "blocks", the file an object.
  void upgrade();

 private:
  Era m_era = Era::V012;
  JsonObject m_store;
  std::string m_class_name = "SimpleChatStore";
  Json& slot(const std::string& key);
};

// A message as LlamaIndex reads it: {"role", "content", "additional_kwargs"},
// content being the text blocks joined by "\n" (null when there are none).
Json chat_message_as_read(const Json& message);
// A message in `era`'s stored shape.
Json chat_message_for_era(const Json& message, ChatStore::Era era);

// What is wrong with a chat store file's content (shape, roles, blocks,
// additional_kwargs), as "place: what" strings; empty when it is sound.
std::vector<std::pair<std::string, std::string>> check_chat_store(std::string_view bytes, const std::string& name);

// The chat store and KV files a store carries.
std::vector<FileInfo*> side_files(Store& store, FileKind kind);
std::vector<const FileInfo*> side_files(const Store& store, FileKind kind);
ChatStore read_chat_file(const FileInfo& f);
// Replaces the file's bytes with the edited store's.
void write_chat_file(FileInfo& f, const ChatStore& chat);

// Standalone SimpleKVStore files: put (true when the key existed) and delete
// (true when it was there) one entry, rewriting the file's bytes.
bool kv_file_put(FileInfo& f, const std::string& collection, const std::string& key, const Json& value);
bool kv_file_delete(FileInfo& f, const std::string& collection, const std::string& key);
// The collections of a KV file with their entry counts, in file order.
std::vector<std::pair<std::string, std::size_t>> kv_file_collections(const FileInfo& f);
// An entry of a KV file, searched in every collection (or one).
struct KvHit {
  std::string collection;
  Json value;
};
std::vector<KvHit> kv_file_find(const FileInfo& f, const std::string& key, const std::string& collection = {});

}  // namespace lstore
