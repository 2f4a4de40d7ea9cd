// The edits of lstore/edit.hpp that are not a document's cascade: a chat
// store's messages and a raw KV entry. (delete_ref_docs, delete_nodes and the
// removals repair reuses are in delete.cpp; put_records and put_raw in put.cpp.)
#include "lstore/edit.hpp"

#include <fmt/format.h>

#include "lstore/error.hpp"
#include "lstore/side_files.hpp"

namespace lstore {

namespace {

FileInfo& the_chat_file(Store& store, const std::string& file) {
  std::vector<FileInfo*> chats = side_files(store, FileKind::ChatStore);
  for (FileInfo* f : chats)
    if (file.empty() ? chats.size() == 1 : f->name == file) return *f;
  if (chats.empty()) throw Error(ErrorKind::Data, store.location, "the store has no chat store file");
  throw Error(ErrorKind::Usage, store.location, "the store has several chat store files", "",
              "name one with --chat-file");
}

}  // namespace

ChangeSet put_chat(Store& store, const std::string& key, const std::vector<Json>& messages, std::optional<long long> at,
                   bool replace, const std::string& file) {
  FileInfo& f = the_chat_file(store, file);
  ChatStore chat = read_chat_file(f);
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const Json& m = messages[i];
    if (!m.is_object() || !m.find("role") || !m.find("role")->is_string())
      throw Error(ErrorKind::Usage, "--message", "a message is an object with a \"role\" string", fmt::format("message {}", i + 1));
  }
  bool existed = chat.messages(key) != nullptr;
  ChangeSet c;
  std::string where = f.name + ":" + key;
  if (replace) {
    chat.set_messages(key, messages);
  } else {
    for (std::size_t i = 0; i < messages.size(); ++i)
      chat.add_message(key, messages[i], at ? std::optional<long long>(*at + static_cast<long long>(i)) : std::nullopt);
  }
  (existed ? c.changed : c.added)[f.name].push_back(key);
  (void)where;
  write_chat_file(f, chat);
  return c;
}

ChangeSet delete_chat(Store& store, const std::string& key, std::optional<long long> message, bool last,
                      const std::string& file) {
  FileInfo& f = the_chat_file(store, file);
  ChatStore chat = read_chat_file(f);
  if (!chat.messages(key)) throw Error(ErrorKind::NotFound, f.name, "no chat key '" + key + "'");
  ChangeSet c;
  bool done = false;
  if (message) {
    done = chat.delete_message(key, *message);
    if (!done) throw Error(ErrorKind::NotFound, f.name, fmt::format("'{}' has no message {}", key, *message));
    c.changed[f.name].push_back(fmt::format("{}[{}]", key, *message));
  } else if (last) {
    done = chat.delete_last_message(key);
    if (done) c.changed[f.name].push_back(key + "[-1]");
  } else {
    done = chat.delete_messages(key);
    c.removed[f.name].push_back(key);
  }
  if (done) write_chat_file(f, chat);
  return c;
}

ChangeSet delete_raw(Store& store, const std::string& collection, const std::string& key) {
  ChangeSet c;
  for (std::optional<JsonDoc>* slot : {&store.docstore, &store.index_store})
    if (*slot)
      if (Section* s = (*slot)->section(collection); s && (*slot)->erase(*s, key)) {
        c.removed[(*slot)->name() + ":" + collection].push_back(key);
        return c;
      }
  for (FileInfo* f : side_files(store, FileKind::KvStore))
    if (kv_file_delete(*f, collection, key)) {
      c.removed[f->name + ":" + collection].push_back(key);
      return c;
    }
  throw Error(ErrorKind::NotFound, store.location, "no entry '" + key + "' in collection '" + collection + "'");
}

}  // namespace lstore
