/*
** blockpipe-backend-testold: stands in for a plugin built against an older ABI 1.x header whose
** backend struct ended before delete_many. Its entry point is written by hand (no macro) to
** declare that smaller struct_size, while the static struct still carries a delete_many
** pointer: the host must copy only the declared bytes, so it sees delete_many as NULL.
** Every data call reports UNSUPPORTED; the loader tests only open and inspect it.
*/
#include <stddef.h>

#include <blockpipe/bp_backend.h>

BP_HIDDEN const struct bp_host_api *bp_host = NULL;

static int old_open(const struct bp_config *cfg, const char *url, void **handle) {
  static int instance;
  (void)cfg;
  (void)url;
  *handle = &instance;
  return BP_OK;
}
static void old_close(void *handle) { (void)handle; }
static int old_get(void *h, const char *key, struct bp_buf *out) {
  (void)h; (void)key; (void)out;
  return BP_ERR_UNSUPPORTED;
}
static int old_put(void *h, const char *key, const void *data, uint64_t length, uint32_t flags) {
  (void)h; (void)key; (void)data; (void)length; (void)flags;
  return BP_ERR_UNSUPPORTED;
}
static int old_del(void *h, const char *key) {
  (void)h; (void)key;
  return BP_ERR_UNSUPPORTED;
}
static int old_list(void *h, const char *prefix, const char *cursor, struct bp_list *out) {
  (void)h; (void)prefix; (void)cursor; (void)out;
  return BP_OK;
}
/* Past the declared struct_size: must never be called. */
static int old_delete_many(void *h, const char *const *keys, size_t count, int *results) {
  (void)h; (void)keys; (void)count; (void)results;
  return BP_ERR_PERMANENT;
}

static const char *const schemes[] = {"testold", NULL};

static struct bp_backend_plugin plugin = {
    .header = {.name = "testold", .description = "older, smaller plugin struct"},
    .url_schemes = schemes,
    .open = old_open,
    .close = old_close,
    .capabilities = NULL,
    .get = old_get,
    .read = NULL,
    .put = old_put,
    .del = old_del,
    .list = old_list,
    .delete_many = old_delete_many,
};

BP_EXTERN_C BP_EXPORT const struct bp_plugin_header *blockpipe_plugin_entry(const struct bp_host_api *host) {
  bp_host = host;
  plugin.header.abi_major = BP_ABI_MAJOR;
  plugin.header.abi_minor = 0;
  plugin.header.kind = BP_KIND_BACKEND;
  plugin.header.struct_size = (uint32_t)offsetof(struct bp_backend_plugin, delete_many);
  plugin.header.thread_model = BP_THREAD_SERIALIZE_ALL;
  return &plugin.header;
}
