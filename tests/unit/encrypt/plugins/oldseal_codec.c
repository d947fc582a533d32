/*
** blockpipe-codec-oldseal: stands in for an encrypting codec built against ABI 1.0, before the
** rekey slot existed. Its entry point is written by hand (no macro) to declare minor 0 and the
** 1.0 struct size, while the static struct still carries a rekey pointer past that size: the
** host must copy only the declared bytes, see rekey as absent, and refuse to change the
** password of a volume that uses it rather than call it. Encoding XORs with a constant (it is a
** test double of the ABI surface, not of cryptography) behind a one-byte marker.
*/
#include <stddef.h>
#include <string.h>

#include <blockpipe/bp_codec.h>

BP_HIDDEN const struct bp_host_api *bp_host = NULL;

static int oldseal_open(const struct bp_config *config, const struct bp_codec_volume *volume,
                        const void *stored, size_t stored_len, struct bp_buf *new_header,
                        void **handle) {
  static int instance;
  (void)config;
  (void)volume;
  (void)stored_len;
  if (stored == NULL && bp_host->buf_append(new_header, "OS", 2) != BP_OK) return BP_ERR_PERMANENT;
  *handle = &instance;
  return BP_OK;
}

static void oldseal_close(void *handle) { (void)handle; }

static int oldseal_transform(const void *in, size_t in_len, struct bp_buf *out, int encode) {
  const unsigned char *src = (const unsigned char *)in;
  size_t skip = 0;
  if (!encode) {
    if (in_len < 1 || src[0] != 0x5e) {
      bp_host->set_error("not an oldseal unit");
      return BP_ERR_CORRUPT;
    }
    skip = 1;
  }
  unsigned char *dst = (unsigned char *)bp_host->buf_reserve(out, in_len + 1);
  if (dst == NULL) return BP_ERR_PERMANENT;
  size_t n = 0;
  if (encode) dst[n++] = 0x5e;
  for (size_t i = skip; i < in_len; ++i) dst[n++] = (unsigned char)(src[i] ^ 0xa5);
  bp_host->buf_commit(out, n);
  return BP_OK;
}

static int oldseal_encode(void *h, const struct bp_unit_ctx *unit, const void *in, size_t in_len,
                          struct bp_buf *out) {
  (void)h;
  (void)unit;
  return oldseal_transform(in, in_len, out, 1);
}

static int oldseal_decode(void *h, const struct bp_unit_ctx *unit, const void *in, size_t in_len,
                          struct bp_buf *out) {
  (void)h;
  (void)unit;
  return oldseal_transform(in, in_len, out, 0);
}

/* Past the declared struct_size: must never be called. */
static int oldseal_rekey(const struct bp_config *config, const struct bp_codec_volume *volume,
                         const void *stored, size_t stored_len, const void *secret,
                         size_t secret_len, struct bp_buf *new_header) {
  (void)config;
  (void)volume;
  (void)stored;
  (void)stored_len;
  (void)secret;
  (void)secret_len;
  (void)new_header;
  bp_host->set_error("oldseal: rekey lies past the declared struct size and was called anyway");
  return BP_ERR_PERMANENT;
}

static struct bp_codec_plugin plugin = {
    .header = {.name = "oldseal", .version = "1.0", .description = "ABI 1.0 encrypting test codec"},
    .flags = BP_CODEC_ENCRYPTS,
    .open = oldseal_open,
    .close = oldseal_close,
    .encode = oldseal_encode,
    .decode = oldseal_decode,
    .rekey = oldseal_rekey,
};

BP_EXTERN_C BP_EXPORT const struct bp_plugin_header *blockpipe_plugin_entry(
    const struct bp_host_api *host) {
  bp_host = host;
  plugin.header.abi_major = 1;
  plugin.header.abi_minor = 0;
  plugin.header.kind = BP_KIND_CODEC;
  plugin.header.struct_size = (uint32_t)offsetof(struct bp_codec_plugin, rekey);
  plugin.header.thread_model = BP_THREAD_PARALLEL;
  return &plugin.header;
}
