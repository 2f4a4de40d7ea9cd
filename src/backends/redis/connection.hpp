// One hiredis connection: binary-safe commands, pipelining, and every
// failure an Error naming the store and Redis, never holding a password.
#pragma once

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "lstore/error.hpp"
#include "backends/store_uri.hpp"
#include "uri.hpp"

namespace lstore::redis {

using Reply = std::unique_ptr<redisReply, decltype(&freeReplyObject)>;

inline std::string_view str(const redisReply* r) { return r && r->str ? std::string_view(r->str, r->len) : std::string_view(); }

// One connection; every failure is an Error naming the store and Redis
// (so that a server that is gone reads the same before and during a
// command), never holding a password.
class Conn {
 public:
  explicit Conn(const RedisUri& u) : m_display(u.display), m_secrets(u.secrets) {
    timeval tv{5, 0};
    m_owner.reset(redisConnectWithTimeout(u.host.c_str(), u.port, tv));  // freed even if this constructor throws
    m_c = m_owner.get();
    if (!m_c || m_c->err) fail("cannot connect to Redis: ", m_c ? m_c->errstr : "out of memory");
    timeval io{120, 0};
    redisSetTimeout(m_c, io);
    if (!u.password.empty()) {
      Reply r = u.user.empty() ? command({"AUTH", u.password}, false) : command({"AUTH", u.user, u.password}, false);
      if (r->type == REDIS_REPLY_ERROR) fail("Redis authentication failed: ", str(r.get()));
    }
    if (u.db != 0) command({"SELECT", std::to_string(u.db)});
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // A command with binary-safe arguments; an error reply throws unless
  // `check` is false.
  Reply command(const std::vector<std::string_view>& args, bool check = true) {
    append(args);
    return reply(check);
  }
  void append(const std::vector<std::string_view>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (auto a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(m_c, static_cast<int>(args.size()), argv.data(), lens.data()) != REDIS_OK) lost();
    ++m_pending;
  }
  Reply reply(bool check = true) {
    void* r = nullptr;
    if (redisGetReply(m_c, &r) != REDIS_OK || !r) lost();
    --m_pending;
    Reply out(static_cast<redisReply*>(r), freeReplyObject);
    if (check && out->type == REDIS_REPLY_ERROR) fail("Redis error: ", std::string(out->str, out->len));
    return out;
  }
  // Reads the replies of pipelined commands.
  void drain() {
    while (m_pending > 0) reply();
  }
  std::size_t pending() const { return m_pending; }

 private:
  [[noreturn]] void lost() { fail("Redis connection lost: ", m_c->errstr[0] ? m_c->errstr : "no reply"); }
  // hiredis's and the server's words may quote what they were sent.
  [[noreturn]] void fail(const char* what, std::string_view detail) const {
    throw Error(ErrorKind::Data, m_display, what + scrub_secrets(std::string(detail), m_secrets));
  }
  std::unique_ptr<redisContext, decltype(&redisFree)> m_owner{nullptr, &redisFree};
  redisContext* m_c = nullptr;
  std::string m_display;
  std::vector<std::string> m_secrets;
  std::size_t m_pending = 0;
};

}  // namespace lstore::redis
