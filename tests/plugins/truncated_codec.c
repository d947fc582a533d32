/*
** blockpipe-codec-truncated: a codec whose declared struct_size ends before decode, so a
** required callback is missing even though the static struct has it. The host must refuse it
** naming the callback.
*/
#include <stddef.h>

#include <blockpipe/bp_codec.h>

BP_HIDDEN const struct bp_host_api *bp_host = NULL;

static int t_open(const struct bp_config *c, const struct bp_codec_volume *v, const void *h,
                  size_t n, struct bp_buf *nh, void **handle) {
  static int instance;
  (void)c;
  (void)v;
  (void)h;
  (void)n;
  (void)nh;
  *handle = &instance;
  return BP_OK;
}
static void t_close(void *h) { (void)h; }
static int t_code(void *h, const struct bp_unit_ctx *u, const void *in, size_t n,
                  struct bp_buf *out) {
  (void)h;
  (void)u;
  return bp_host->buf_append(out, in, n);
}

static struct bp_codec_plugin plugin = {
    .header = {.name = "truncated"},
    .open = t_open,
    .close = t_close,
    .encode = t_code,
    .decode = t_code,
};

BP_EXTERN_C BP_EXPORT const struct bp_plugin_header *blockpipe_plugin_entry(
    const struct bp_host_api *host) {
  bp_host = host;
  plugin.header.abi_major = BP_ABI_MAJOR;
  plugin.header.abi_minor = 0;
  plugin.header.kind = BP_KIND_CODEC;
  plugin.header.struct_size = (uint32_t)offsetof(struct bp_codec_plugin, decode);
  plugin.header.thread_model = BP_THREAD_PARALLEL;
  return &plugin.header;
}
