/*
** blockpipe-backend-testv11: stands in for a backend built against ABI 1.1, before get_tagged and
** put_if_match existed. Its entry point is written by hand to declare minor 1 and the 1.1
** struct_size, while its capabilities() claims BP_BACKEND_CAP_CONDITIONAL_PUT and the static
** struct carries both new slots: the host must copy only the declared bytes, drop the bit, and
** never call the slots (they would fail loudly). The plain operations work on one object.
*/
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <blockpipe/bp_backend.h>

BP_HIDDEN const struct bp_host_api *bp_host = NULL;

static unsigned char stored[64];
static uint64_t stored_length;
static int has_object;

static int v11_open(const struct bp_config *cfg, const char *url, void **handle) {
  static int instance;
  (void)cfg;
  (void)url;
  *handle = &instance;
  return BP_OK;
}
static void v11_close(void *handle) { (void)handle; }
static uint64_t v11_capabilities(void *handle) {
  (void)handle;
  return BP_BACKEND_CAP_PUT_IF_ABSENT | BP_BACKEND_CAP_CONDITIONAL_PUT;
}
static int v11_get(void *h, const char *key, struct bp_buf *out) {
  (void)h;
  (void)key;
  if (!has_object) return BP_ERR_NOT_FOUND;
  return bp_host->buf_append(out, stored, (size_t)stored_length) == 0 ? BP_OK : BP_ERR_PERMANENT;
}
static int v11_put(void *h, const char *key, const void *data, uint64_t length, uint32_t flags) {
  (void)h;
  (void)key;
  if (length > sizeof stored) return BP_ERR_INVALID;
  if (has_object && (flags & BP_PUT_IF_ABSENT)) return BP_ERR_PRECONDITION;
  memcpy(stored, data, (size_t)length);
  stored_length = length;
  has_object = 1;
  return BP_OK;
}
static int v11_del(void *h, const char *key) {
  (void)h;
  (void)key;
  has_object = 0;
  return BP_OK;
}
static int v11_list(void *h, const char *prefix, const char *cursor, struct bp_list *out) {
  (void)h; (void)prefix; (void)cursor; (void)out;
  return BP_OK;
}
/* Past the declared struct_size: must never be called. */
static int v11_get_tagged(void *h, const char *key, struct bp_buf *out, char *tag) {
  (void)h; (void)key; (void)out; (void)tag;
  abort();
}
static int v11_put_if_match(void *h, const char *key, const void *data, uint64_t length,
                            const char *expected_tag, char *new_tag) {
  (void)h; (void)key; (void)data; (void)length; (void)expected_tag; (void)new_tag;
  abort();
}

static const char *const schemes[] = {"testv11", NULL};

static struct bp_backend_plugin plugin = {
    .header = {.name = "testv11", .description = "backend built against ABI 1.1"},
    .url_schemes = schemes,
    .open = v11_open,
    .close = v11_close,
    .capabilities = v11_capabilities,
    .get = v11_get,
    .put = v11_put,
    .del = v11_del,
    .list = v11_list,
    .get_tagged = v11_get_tagged,
    .put_if_match = v11_put_if_match,
};

BP_EXTERN_C BP_EXPORT const struct bp_plugin_header *blockpipe_plugin_entry(const struct bp_host_api *host) {
  bp_host = host;
  plugin.header.abi_major = BP_ABI_MAJOR;
  plugin.header.abi_minor = 1;
  plugin.header.kind = BP_KIND_BACKEND;
  plugin.header.struct_size = (uint32_t)offsetof(struct bp_backend_plugin, get_tagged);
  plugin.header.thread_model = BP_THREAD_SERIALIZE_ALL;
  return &plugin.header;
}
