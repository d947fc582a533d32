/*
** blockpipe-backend-testfail: a backend whose open always fails, explaining why through
** set_error, so tests can check that the plugin's message reaches the user together with the
** config file and line of the [backend] section. url: testfail://anything.
*/
#include <stdio.h>

#include <blockpipe/bp_backend.h>

static int fail_open(const struct bp_config *cfg, const char *url, void **handle) {
  char message[256];
  (void)cfg;
  *handle = NULL;
  snprintf(message, sizeof message, "cannot reach %s: connection refused", url);
  bp_host->set_error(message);
  return BP_ERR_PERMANENT;
}
static void fail_close(void *h) { (void)h; }
static int fail_get(void *h, const char *key, struct bp_buf *out) {
  (void)h;
  (void)key;
  (void)out;
  return BP_ERR_PERMANENT;
}
static int fail_put(void *h, const char *key, const void *data, uint64_t length, uint32_t flags) {
  (void)h;
  (void)key;
  (void)data;
  (void)length;
  (void)flags;
  return BP_ERR_PERMANENT;
}
static int fail_del(void *h, const char *key) {
  (void)h;
  (void)key;
  return BP_ERR_PERMANENT;
}
static int fail_list(void *h, const char *prefix, const char *cursor, struct bp_list *out) {
  (void)h;
  (void)prefix;
  (void)cursor;
  (void)out;
  return BP_ERR_PERMANENT;
}

static const char *const schemes[] = {"testfail", NULL};

static struct bp_backend_plugin plugin = {
    .header = {.name = "testfail", .description = "open always fails"},
    .url_schemes = schemes,
    .open = fail_open,
    .close = fail_close,
    .get = fail_get,
    .put = fail_put,
    .del = fail_del,
    .list = fail_list,
};

BP_REGISTER_BACKEND(plugin, BP_THREAD_PARALLEL)
