// The writers' lock (store_rows.hpp).
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <thread>

#include "store_rows.hpp"

namespace lstore::redis {
namespace {

std::string host_name() {
  char h[256] = {};
  ::gethostname(h, sizeof h - 1);
  return h;
}

// True when `token` names a process of this host that no longer runs.
bool holder_is_gone(std::string_view token) {
  auto colon = token.rfind(':');
  if (colon == std::string_view::npos || token.substr(0, colon) != host_name()) return false;
  long pid = std::strtol(std::string(token.substr(colon + 1)).c_str(), nullptr, 10);
  return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

// Deletes the lock key only if it still holds the token ARGV[1].
constexpr const char* kReleaseScript =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";

// SET NX with an expiry (a crashed writer's lock goes away by itself),
// released only by its holder.
class RedisWriteLock : public WriteLock {
 public:
  RedisWriteLock(const RedisUri& u, std::string key, std::chrono::milliseconds wait)
      : m_c(u), m_key(std::move(key)), m_token(random_token()) {
    auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
      Reply r = m_c.command({"SET", m_key, m_token, "NX", "PX", "600000"});
      if (r->type == REDIS_REPLY_STATUS) return;
      Reply holder = m_c.command({"GET", m_key});
      std::string who(str(holder.get()));
      if (holder_is_gone(who)) {  // a writer killed with the lock held: take it over
        m_c.command({"EVAL", kReleaseScript, "1", m_key, who});
        continue;
      }
      if (std::chrono::steady_clock::now() >= deadline)
        throw Error(ErrorKind::Data, u.display, "locked by another writer (" + m_key + " held by " + who.substr(0, who.find('.')) + ")",
                    "", "retry later, or pass --wait SECONDS");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ~RedisWriteLock() override {
    try {
      m_c.command({"EVAL", kReleaseScript, "1", m_key, m_token});
    } catch (...) {
      // The key expires by itself.
    }
  }

 private:
  Conn m_c;
  std::string m_key, m_token;
};

}  // namespace

std::string random_token() {
  std::random_device rd;
  return host_name() + ":" + std::to_string(::getpid()) + "." + std::to_string(rd());
}

std::unique_ptr<WriteLock> make_write_lock(const RedisUri& u, std::string key, std::chrono::milliseconds wait) {
  return std::make_unique<RedisWriteLock>(u, std::move(key), wait);
}

}  // namespace lstore::redis
