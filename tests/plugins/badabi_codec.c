/*
** blockpipe-codec-badabi: a codec stamped with ABI major 2, as a plugin built for a future,
** incompatible host would be. The header is filled by hand; the host must refuse the file
** naming both versions before touching anything past the header.
*/
#include <blockpipe/bp_codec.h>

BP_HIDDEN const struct bp_host_api *bp_host = NULL;

static struct bp_codec_plugin plugin = {
    .header = {.name = "badabi", .description = "built for ABI 2"},
};

BP_EXTERN_C BP_EXPORT const struct bp_plugin_header *blockpipe_plugin_entry(
    const struct bp_host_api *host) {
  bp_host = host;
  plugin.header.abi_major = 2;
  plugin.header.abi_minor = 3;
  plugin.header.kind = BP_KIND_CODEC;
  plugin.header.struct_size = (uint32_t)sizeof plugin;
  plugin.header.thread_model = BP_THREAD_PARALLEL;
  return &plugin.header;
}
