/* An LD_PRELOAD shim for the crash and I/O-error trials (tests only; never
 * linked into lstore). It counts the calls lstore makes to a set of libc
 * functions and, as LSTORE_FAULT says, makes the k-th call of one of them
 * fail or kills the process around it:
 *
 *   LSTORE_FAULT="CALL:K:ACTION[,CALL:K:ACTION...]"
 *     CALL    open openat read pread write pwrite fsync fdatasync rename
 *             renameat2 link linkat mkdir unlink readdir copy_file_range close;
 *             open@TEXT and openat@TEXT count only opens of paths holding TEXT
 *     ACTION  an errno name (EIO ENOSPC EDQUOT EROFS EINVAL EXDEV EPERM
 *             EACCES EMLINK): the call fails with it and does nothing;
 *             kill: SIGKILL just before the call; kill-after: just after
 *             it succeeds; int-after: SIGINT just after it succeeds;
 *             pause-after: sleeps 1.5 s after it (a window for a race).
 *   LSTORE_FAULT_COUNTS=FILE  at exit, "CALL N" lines: how often each was
 *             called (how a trial finds the K worth trying).
 *
 * This is how SQLite tests its own I/O error paths, with no hook in the
 * program under test. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { OPEN, OPENAT, READ, PREAD, WRITE, PWRITE, FSYNC, FDATASYNC, RENAME, RENAMEAT2, LINK, LINKAT, MKDIR, UNLINK,
       READDIR, COPY_FILE_RANGE, CLOSE, NCALLS };
static const char* const kNames[NCALLS] = {"open",   "openat", "read",   "pread",    "write",   "pwrite",
                                           "fsync",  "fdatasync", "rename", "renameat2", "link", "linkat",
                                           "mkdir",  "unlink", "readdir", "copy_file_range", "close"};
enum { NONE, FAIL, KILL, KILL_AFTER, INT_AFTER, PAUSE_AFTER };
struct rule {
  int call;
  long k;
  int action;
  int err;
  char path[64]; /* open@TEXT: only paths holding TEXT count */
  atomic_long seen;
};
static struct rule g_rules[16];
static int g_nrules = -1;
static atomic_long g_counts[NCALLS];

static int errno_of(const char* s) {
  static const struct {
    const char* n;
    int e;
  } t[] = {{"EIO", EIO},     {"ENOSPC", ENOSPC}, {"EDQUOT", EDQUOT}, {"EROFS", EROFS},   {"EINVAL", EINVAL},
           {"EXDEV", EXDEV}, {"EPERM", EPERM},   {"EACCES", EACCES}, {"EMLINK", EMLINK}, {"EINTR", EINTR}};
  for (size_t i = 0; i < sizeof t / sizeof t[0]; ++i)
    if (strcmp(s, t[i].n) == 0) return t[i].e;
  return 0;
}

static void write_counts(void) {
  const char* path = getenv("LSTORE_FAULT_COUNTS");
  if (!path) return;
  FILE* f = fopen(path, "w");
  if (!f) return;
  for (int i = 0; i < NCALLS; ++i) fprintf(f, "%s %ld\n", kNames[i], atomic_load(&g_counts[i]));
  fclose(f);
}

static void parse_rules(void) {
  g_nrules = 0;
  const char* spec = getenv("LSTORE_FAULT");
  if (getenv("LSTORE_FAULT_COUNTS")) atexit(write_counts);
  if (!spec) return;
  char buf[512];
  snprintf(buf, sizeof buf, "%s", spec);
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok && g_nrules < 16; tok = strtok_r(NULL, ",", &save)) {
    char name[96], act[32];
    long k;
    if (sscanf(tok, "%95[^:]:%ld:%31s", name, &k, act) != 3) continue;
    struct rule* r = &g_rules[g_nrules];
    memset(r, 0, sizeof *r);
    r->call = -1;
    r->k = k;
    char* at = strchr(name, '@');
    if (at) {
      snprintf(r->path, sizeof r->path, "%s", at + 1);
      *at = 0;
    }
    for (int i = 0; i < NCALLS; ++i)
      if (strcmp(name, kNames[i]) == 0) r->call = i;
    if (strcmp(act, "kill") == 0) r->action = KILL;
    else if (strcmp(act, "kill-after") == 0) r->action = KILL_AFTER;
    else if (strcmp(act, "int-after") == 0) r->action = INT_AFTER;
    else if (strcmp(act, "pause-after") == 0) r->action = PAUSE_AFTER;
    else if ((r->err = errno_of(act)) != 0) r->action = FAIL;
    if (r->call >= 0 && r->action != NONE) ++g_nrules;
  }
}

/* Before the call: returns the rule that applies to this call (or NULL), and
 * kills the process for a "kill" rule. */
static const struct rule* before_path(int call, const char* path) {
  if (g_nrules < 0) parse_rules();
  long n = atomic_fetch_add(&g_counts[call], 1) + 1;
  for (int i = 0; i < g_nrules; ++i) {
    struct rule* r = &g_rules[i];
    if (r->call != call) continue;
    long m = n;
    if (r->path[0]) {
      if (!path || !strstr(path, r->path)) continue;
      m = atomic_fetch_add(&r->seen, 1) + 1;
    }
    if (r->k != m) continue;
    if (r->action == KILL) kill(getpid(), SIGKILL);
    return r;
  }
  return NULL;
}
static const struct rule* before(int call) { return before_path(call, NULL); }

static void after(const struct rule* r, int ok) {
  if (!r || !ok) return;
  if (r->action == KILL_AFTER) kill(getpid(), SIGKILL);
  if (r->action == INT_AFTER) kill(getpid(), SIGINT);
  if (r->action == PAUSE_AFTER) usleep(1500000);
}

#define NEXT(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))
#define FAIL_IF(r, value)                  \
  if ((r) && (r)->action == FAIL) {        \
    errno = (r)->err;                      \
    return value;                          \
  }

#define WRAP(call, ret, name, params, args, failval) \
  ret name params {                                  \
    const struct rule* r = before(call);             \
    FAIL_IF(r, failval);                             \
    ret v = NEXT(name) args;                         \
    after(r, v != failval);                          \
    return v;                                        \
  }

WRAP(READ, ssize_t, read, (int fd, void* b, size_t n), (fd, b, n), -1)
WRAP(PREAD, ssize_t, pread, (int fd, void* b, size_t n, off_t o), (fd, b, n, o), -1)
WRAP(PREAD, ssize_t, pread64, (int fd, void* b, size_t n, off_t o), (fd, b, n, o), -1)
WRAP(WRITE, ssize_t, write, (int fd, const void* b, size_t n), (fd, b, n), -1)
WRAP(PWRITE, ssize_t, pwrite, (int fd, const void* b, size_t n, off_t o), (fd, b, n, o), -1)
WRAP(PWRITE, ssize_t, pwrite64, (int fd, const void* b, size_t n, off_t o), (fd, b, n, o), -1)
WRAP(FSYNC, int, fsync, (int fd), (fd), -1)
WRAP(FDATASYNC, int, fdatasync, (int fd), (fd), -1)
WRAP(RENAME, int, rename, (const char* a, const char* b), (a, b), -1)
WRAP(RENAMEAT2, int, renameat2, (int da, const char* a, int db, const char* b, unsigned f), (da, a, db, b, f), -1)
WRAP(LINK, int, link, (const char* a, const char* b), (a, b), -1)
WRAP(LINKAT, int, linkat, (int da, const char* a, int db, const char* b, int f), (da, a, db, b, f), -1)
WRAP(MKDIR, int, mkdir, (const char* p, mode_t m), (p, m), -1)
WRAP(UNLINK, int, unlink, (const char* p), (p), -1)
WRAP(CLOSE, int, close, (int fd), (fd), -1)
WRAP(COPY_FILE_RANGE, ssize_t, copy_file_range, (int a, off_t* ao, int b, off_t* bo, size_t n, unsigned f),
     (a, ao, b, bo, n, f), -1)

#define WRAP_OPEN(call, name, params, args, mode_after)             \
  int name params {                                                  \
    mode_t mode = 0;                                                 \
    if (flags & (O_CREAT | O_TMPFILE)) {                             \
      va_list ap;                                                    \
      va_start(ap, flags);                                           \
      mode = va_arg(ap, mode_t);                                     \
      va_end(ap);                                                    \
    }                                                                \
    const struct rule* r = before_path(call, p);                     \
    FAIL_IF(r, -1);                                                  \
    int v = NEXT(name) args;                                         \
    after(r, v >= 0);                                                \
    return v;                                                        \
  }

WRAP_OPEN(OPEN, open, (const char* p, int flags, ...), (p, flags, mode), 0)
WRAP_OPEN(OPEN, open64, (const char* p, int flags, ...), (p, flags, mode), 0)
WRAP_OPEN(OPENAT, openat, (int d, const char* p, int flags, ...), (d, p, flags, mode), 0)
WRAP_OPEN(OPENAT, openat64, (int d, const char* p, int flags, ...), (d, p, flags, mode), 0)

/* readdir ends and fails alike (NULL); only errno tells them apart. */
struct dirent* readdir(DIR* d) {
  const struct rule* r = before(READDIR);
  FAIL_IF(r, NULL);
  return NEXT(readdir)(d);
}
struct dirent64* readdir64(DIR* d) {
  const struct rule* r = before(READDIR);
  FAIL_IF(r, NULL);
  return NEXT(readdir64)(d);
}
