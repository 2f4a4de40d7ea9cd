// Chat store and KV files (see lstore/side_files.hpp).
#include "lstore/side_files.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "lstore/error.hpp"

namespace lstore {
namespace {

// LlamaIndex's MessageRole values.
const std::set<std::string> kRoles = {"system", "developer", "user", "assistant", "function", "tool", "chatbot", "model"};
// Block types of 0.12's ChatMessage.blocks.
const std::set<std::string> kBlockTypes = {"text", "image", "audio", "document", "video", "thinking", "citable",
                                           "citation", "tool_call", "cached"};

Json text_block(const std::string& text) { return Json(JsonObject{{"block_type", "text"}, {"text", text}}); }

}  // namespace

ChatStore ChatStore::parse(std::string_view bytes, const std::string& name) {
  Json root;
  try {
    root = lstore::parse(bytes);
  } catch (const ParseError& e) {
    throw Error(ErrorKind::Data, name, e.what(), line_column(bytes.data(), bytes.size(), e.offset()));
  }
  ChatStore c;
  if (root.is_string()) {  // 0.10: json.dump(model.json())
    c.m_era = Era::V010;
    std::string inner = root.as_string();
    try {
      root = lstore::parse(inner);
    } catch (const ParseError& e) {
      throw Error(ErrorKind::Data, name, std::string("the JSON string does not hold JSON: ") + e.what(),
                  fmt::format("inside the string, byte {}", e.offset()));
    }
  }
  if (!root.is_object()) throw Error(ErrorKind::Data, name, std::string("a chat store is an object, not a ") + root.type_name());
  const Json* store = root.find("store");
  if (!store || !store->is_object()) throw Error(ErrorKind::Data, name, "no \"store\" object", "store");
  for (const auto& [k, v] : store->as_object())
    if (!v.is_array()) throw Error(ErrorKind::Data, name, std::string("messages must be a list, not a ") + v.type_name(), "store." + k);
  c.m_store = store->as_object();
  if (const Json* cn = root.find("class_name"); cn && cn->is_string()) c.m_class_name = cn->as_string();
  return c;
}

ChatStore ChatStore::empty(Era era) {
  ChatStore c;
  c.m_era = era;
  return c;
}

std::string ChatStore::serialize() const {
  Json model(JsonObject{{"store", Json(m_store)}, {"class_name", m_class_name}});
  std::string text = dump(model, WriteStyle{JsonDialect::Python});
  if (m_era == Era::V010) return dump(Json(text), WriteStyle{JsonDialect::Python});
  return text;
}

std::vector<std::string> ChatStore::keys() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : m_store) out.push_back(k);
  return out;
}

const JsonArray* ChatStore::messages(const std::string& key) const {
  for (const auto& [k, v] : m_store)
    if (k == key && v.is_array()) return &v.as_array();
  return nullptr;
}

Json& ChatStore::slot(const std::string& key) {
  for (auto& [k, v] : m_store)
    if (k == key) return v;
  m_store.emplace_back(key, JsonArray{});
  return m_store.back().second;
}

void ChatStore::set_messages(const std::string& key, const std::vector<Json>& messages) {
  JsonArray a;
  for (const Json& m : messages) a.push_back(chat_message_for_era(m, m_era));
  slot(key) = Json(std::move(a));
}

void ChatStore::add_message(const std::string& key, const Json& message, std::optional<long long> index) {
  JsonArray& a = slot(key).as_array();
  Json m = chat_message_for_era(message, m_era);
  if (!index) {
    a.push_back(std::move(m));
    return;
  }
  // Python's list.insert: negative counts from the end, out of range clamps.
  long long n = static_cast<long long>(a.size());
  long long i = *index < 0 ? std::max(0LL, n + *index) : std::min(n, *index);
  a.insert(a.begin() + i, std::move(m));
}

bool ChatStore::delete_messages(const std::string& key) {
  for (auto it = m_store.begin(); it != m_store.end(); ++it)
    if (it->first == key) {
      m_store.erase(it);
      return true;
    }
  return false;
}

bool ChatStore::delete_message(const std::string& key, long long index) {
  for (auto& [k, v] : m_store) {
    if (k != key) continue;
    JsonArray& a = v.as_array();
    // SimpleChatStore.delete_message: an index past the end deletes nothing.
    if (index < 0 || index >= static_cast<long long>(a.size())) return false;
    a.erase(a.begin() + index);
    return true;
  }
  return false;
}

bool ChatStore::delete_last_message(const std::string& key) {
  for (auto& [k, v] : m_store) {
    if (k != key || v.as_array().empty()) continue;
    v.as_array().pop_back();
    return true;
  }
  return false;
}

void ChatStore::upgrade() {
  if (m_era == Era::V012) return;
  for (auto& [k, v] : m_store)
    for (Json& m : v.as_array()) m = chat_message_for_era(m, Era::V012);
  m_era = Era::V012;
}

Json chat_message_as_read(const Json& m) {
  Json content;
  if (const Json* c = m.find("content")) {
    content = *c;
  } else if (const Json* blocks = m.find("blocks"); blocks && blocks->is_array()) {
    std::string text;
    bool any = false;
    for (const Json& b : blocks->as_array())
      if (const Json* t = b.find("block_type"); t && t->is_string() && t->as_string() == "text")
        if (const Json* s = b.find("text"); s && s->is_string()) {
          text += (any ? "\n" : "") + s->as_string();
          any = true;
        }
    if (any && !text.empty()) content = text;
  }
  const Json* role = m.find("role");
  const Json* kwargs = m.find("additional_kwargs");
  return Json(JsonObject{{"role", role ? *role : Json("user")},
                         {"content", content},
                         {"additional_kwargs", kwargs ? *kwargs : Json(JsonObject{})}});
}

Json chat_message_for_era(const Json& m, ChatStore::Era era) {
  const Json* role = m.find("role");
  const Json* kwargs = m.find("additional_kwargs");
  Json r = role ? *role : Json("user");
  Json kw = kwargs ? *kwargs : Json(JsonObject{});
  if (era == ChatStore::Era::V010)
    return Json(JsonObject{{"role", r}, {"content", *chat_message_as_read(m).find("content")}, {"additional_kwargs", kw}});
  Json blocks;
  if (const Json* b = m.find("blocks")) {
    blocks = *b;
  } else {
    JsonArray a;
    if (const Json* c = m.find("content"); c && c->is_string()) a.push_back(text_block(c->as_string()));
    blocks = Json(std::move(a));
  }
  return Json(JsonObject{{"role", r}, {"additional_kwargs", kw}, {"blocks", blocks}});
}

std::vector<std::pair<std::string, std::string>> check_chat_store(std::string_view bytes, const std::string& name) {
  std::vector<std::pair<std::string, std::string>> out;
  ChatStore c;
  try {
    c = ChatStore::parse(bytes, name);
  } catch (const Error& e) {
    out.emplace_back(e.place(), e.what());
    return out;
  }
  for (const std::string& key : c.keys()) {
    const JsonArray& msgs = *c.messages(key);
    for (std::size_t i = 0; i < msgs.size(); ++i) {
      const Json& m = msgs[i];
      std::string at = fmt::format("store.{}[{}]", key, i);
      if (!m.is_object()) {
        out.emplace_back(at, std::string("a message must be an object, not a ") + m.type_name());
        continue;
      }
      const Json* role = m.find("role");
      if (!role || !role->is_string()) out.emplace_back(at + ".role", "missing or not a string");
      else if (!kRoles.count(role->as_string())) out.emplace_back(at + ".role", "unknown role '" + role->as_string() + "'");
      if (const Json* kw = m.find("additional_kwargs"); kw && !kw->is_object())
        out.emplace_back(at + ".additional_kwargs", std::string("must be an object, not a ") + kw->type_name());
      const Json* blocks = m.find("blocks");
      const Json* content = m.find("content");
      if (c.era() == ChatStore::Era::V012 && !blocks && !content) out.emplace_back(at, "neither blocks nor content");
      if (content && !content->is_string() && !content->is_null() && !content->is_array())
        out.emplace_back(at + ".content", std::string("must be a string or null, not a ") + content->type_name());
      if (blocks) {
        if (!blocks->is_array()) {
          out.emplace_back(at + ".blocks", std::string("must be a list, not a ") + blocks->type_name());
          continue;
        }
        for (std::size_t j = 0; j < blocks->as_array().size(); ++j) {
          const Json& b = blocks->as_array()[j];
          std::string bat = fmt::format("{}.blocks[{}]", at, j);
          const Json* t = b.find("block_type");
          if (!t || !t->is_string()) out.emplace_back(bat, "no block_type");
          else if (!kBlockTypes.count(t->as_string())) out.emplace_back(bat, "unknown block_type '" + t->as_string() + "'");
          else if (t->as_string() == "text" && (!b.find("text") || !b.find("text")->is_string()))
            out.emplace_back(bat + ".text", "a text block needs a text string");
        }
      }
    }
  }
  return out;
}

std::vector<FileInfo*> side_files(Store& store, FileKind kind) {
  std::vector<FileInfo*> out;
  for (FileInfo& f : store.files)
    if (f.kind == kind && f.bytes) out.push_back(&f);
  return out;
}

std::vector<const FileInfo*> side_files(const Store& store, FileKind kind) {
  std::vector<const FileInfo*> out;
  for (const FileInfo& f : store.files)
    if (f.kind == kind && f.bytes) out.push_back(&f);
  return out;
}

ChatStore read_chat_file(const FileInfo& f) { return ChatStore::parse(f.bytes->view(), f.name); }

void write_chat_file(FileInfo& f, const ChatStore& chat) {
  f.bytes = Buffer::own(chat.serialize());
  f.size = f.bytes->view().size();
}

namespace {

JsonDoc read_kv(const FileInfo& f) { return JsonDoc::read(f.name, f.bytes, JsonDialect::Python); }

void replace_bytes(FileInfo& f, std::string bytes) {
  f.bytes = Buffer::own(std::move(bytes));
  f.size = f.bytes->view().size();
}

}  // namespace

bool kv_file_put(FileInfo& f, const std::string& collection, const std::string& key, const Json& value) {
  JsonDoc doc = read_kv(f);
  Section* s = doc.section(collection);
  bool existed = s && s->find(key);
  if (!s) s = &doc.add_section(collection, true);
  doc.put(*s, key, value);
  replace_bytes(f, doc.serialize());
  return existed;
}

bool kv_file_delete(FileInfo& f, const std::string& collection, const std::string& key) {
  JsonDoc doc = read_kv(f);
  Section* s = doc.section(collection);
  if (!s || !doc.erase(*s, key)) return false;
  replace_bytes(f, doc.serialize());
  return true;
}

std::vector<std::pair<std::string, std::size_t>> kv_file_collections(const FileInfo& f) {
  std::vector<std::pair<std::string, std::size_t>> out;
  JsonDoc doc = read_kv(f);
  for (const Section& s : doc.sections()) out.emplace_back(s.name, s.outlined ? s.size() : 0);
  return out;
}

std::vector<KvHit> kv_file_find(const FileInfo& f, const std::string& key, const std::string& collection) {
  std::vector<KvHit> out;
  JsonDoc doc = read_kv(f);
  for (const Section& s : doc.sections()) {
    if (!collection.empty() && s.name != collection) continue;
    if (const Entry* e = s.outlined ? s.find(key) : nullptr) out.push_back({s.name, doc.decode(e->raw)});
  }
  return out;
}

}  // namespace lstore
