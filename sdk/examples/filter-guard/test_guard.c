/*
** test_guard — tests the guard filter without a daemon, the way you can test your own filter:
** load the .so with dlopen() as the host does (RTLD_LOCAL), hand it a small host table and a
** fake next layer written here, and call its slots directly.
**
**   test_guard ./blockpipe-filter-guard.so      exit status 0 = every check passed
**
** The fake next layer records which of its functions ran and with which key, so the test can
** tell a call the filter passed on from one it stopped.
*/
#include <blockpipe/blockpipe.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- A tiny host ---------------------------------------------------------------------------- */

struct bp_config {
  const char *const *protect; /* NULL-terminated */
};

static char last_error[600];
static long metric_refused;

static void host_log(int level, const char *plugin, const char *message) {
  (void)level, (void)plugin, (void)message;
}
static void host_set_error(const char *message) {
  snprintf(last_error, sizeof last_error, "%s", message ? message : "");
}
static int host_config_has(const struct bp_config *cfg, const char *key) {
  (void)cfg;
  return strcmp(key, "log_refusals") == 0;
}
static const char *host_config_string(const struct bp_config *cfg, const char *key) {
  (void)cfg, (void)key;
  return NULL;
}
static int64_t host_config_int(const struct bp_config *cfg, const char *key) {
  (void)cfg, (void)key;
  return 0;
}
static int host_config_bool(const struct bp_config *cfg, const char *key) {
  (void)cfg, (void)key;
  return 0; /* log_refusals = false: quiet in tests */
}
static size_t host_config_list_count(const struct bp_config *cfg, const char *key) {
  size_t n = 0;
  if (strcmp(key, "protect") != 0 || cfg->protect == NULL) return 0;
  while (cfg->protect[n] != NULL) ++n;
  return n;
}
static const char *host_config_list_item(const struct bp_config *cfg, const char *key, size_t i) {
  return strcmp(key, "protect") == 0 ? cfg->protect[i] : NULL;
}
static const char *host_config_dir(const struct bp_config *cfg) {
  (void)cfg;
  return "/";
}
static void *host_buf_reserve(struct bp_buf *buf, size_t n) {
  (void)buf, (void)n;
  return NULL;
}
static void host_buf_commit(struct bp_buf *buf, size_t n) { (void)buf, (void)n; }
static int host_buf_append(struct bp_buf *buf, const void *data, size_t n) {
  (void)buf, (void)data, (void)n;
  return BP_OK;
}
static size_t host_buf_size(const struct bp_buf *buf) {
  (void)buf;
  return 0;
}
static int host_list_add(struct bp_list *list, const char *key, uint64_t size) {
  (void)list, (void)key, (void)size;
  return BP_OK;
}
static void host_list_set_next(struct bp_list *list, const char *cursor) {
  (void)list, (void)cursor;
}
static void host_metric_add(const char *plugin, const char *name, int64_t delta) {
  if (strcmp(plugin, "guard") == 0 && strcmp(name, "refused") == 0) metric_refused += delta;
}

static const struct bp_host_api host = {
    sizeof(struct bp_host_api),
    BP_ABI_MINOR,
    host_log,
    host_set_error,
    host_config_has,
    host_config_string,
    host_config_int,
    host_config_bool,
    host_config_list_count,
    host_config_list_item,
    host_config_dir,
    host_buf_reserve,
    host_buf_commit,
    host_buf_append,
    host_buf_size,
    host_list_add,
    host_list_set_next,
    host_metric_add,
    NULL,
};

/* ---- A fake next layer ---------------------------------------------------------------------- */

static char next_called[64], next_key[BP_KEY_MAX_LENGTH + 1];

static void saw(const char *fn, const char *key) {
  snprintf(next_called, sizeof next_called, "%s", fn);
  snprintf(next_key, sizeof next_key, "%s", key ? key : "");
}
static uint64_t next_capabilities(void *ctx) {
  (void)ctx;
  return BP_BACKEND_CAP_RANGED_GET;
}
static int next_get(void *ctx, const char *key, struct bp_buf *out) {
  (void)ctx, (void)out;
  saw("get", key);
  return BP_OK;
}
static int next_del(void *ctx, const char *key) {
  (void)ctx;
  saw("del", key);
  return BP_OK;
}
static int next_put(void *ctx, const char *key, const void *data, uint64_t length, uint32_t flags) {
  (void)ctx, (void)data, (void)length, (void)flags;
  saw("put", key);
  return BP_ERR_TRANSIENT; /* the filter must hand this code back unchanged */
}

/* ---- The checks ----------------------------------------------------------------------------- */

static int failures;
#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

int main(int argc, char **argv) {
  void *lib;
  bp_plugin_entry_fn entry;
  const struct bp_filter_plugin *f;
  struct bp_filter_next next;
  const char *const protect[] = {"volumes/golden/", NULL};
  const char *const bad[] = {"", NULL};
  struct bp_config cfg = {protect}, bad_cfg = {bad};
  void *h = NULL;

  if (argc != 2) {
    fprintf(stderr, "usage: %s PATH/blockpipe-filter-guard.so\n", argv[0]);
    return 2;
  }
  lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  *(void **)&entry = dlsym(lib, BP_ENTRY_SYMBOL);
  CHECK(entry != NULL);
  if (entry == NULL) return 1;
  f = (const struct bp_filter_plugin *)entry(&host);
  CHECK(f->header.kind == BP_KIND_FILTER);
  CHECK(f->header.abi_major == BP_ABI_MAJOR && f->header.abi_minor >= 6);
  CHECK(strcmp(f->header.name, "guard") == 0);

  memset(&next, 0, sizeof next);
  next.struct_size = sizeof next;
  next.capabilities = next_capabilities;
  next.get = next_get;
  next.put = next_put;
  next.del = next_del;

  /* A bad config fails open with a message and leaves the handle NULL. */
  CHECK(f->open(&bad_cfg, &next, &h) == BP_ERR_INVALID && h == NULL);
  CHECK(strstr(last_error, "empty prefix") != NULL);

  CHECK(f->open(&cfg, &next, &h) == BP_OK && h != NULL);

  /* A protected delete is refused and never reaches the next layer. */
  next_called[0] = '\0';
  CHECK(f->del(h, "volumes/golden/seg/1") == BP_ERR_PERMANENT);
  CHECK(next_called[0] == '\0');
  CHECK(strstr(last_error, "volumes/golden/seg/1") != NULL);
  CHECK(metric_refused == 1);

  /* Other deletes, reads and writes pass through with their key and their result code. */
  CHECK(f->del(h, "volumes/scratch/seg/1") == BP_OK);
  CHECK(strcmp(next_called, "del") == 0 && strcmp(next_key, "volumes/scratch/seg/1") == 0);
  CHECK(f->get(h, "volumes/golden/meta", NULL) == BP_OK && strcmp(next_called, "get") == 0);
  CHECK(f->put(h, "volumes/golden/x", "x", 1, 0) == BP_ERR_TRANSIENT);
  CHECK(strcmp(next_called, "put") == 0);

  /* Slots left NULL are passed through by the host; capabilities too. */
  CHECK(f->capabilities == NULL && f->put_parts == NULL && f->put_if_match == NULL);

  f->close(h);
  dlclose(lib);
  if (failures == 0) printf("guard filter: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
