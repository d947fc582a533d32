/*
** blockpipe-filter-oldabi / blockpipe-filter-badabi: filters stamped by hand with an ABI the host
** must refuse. OLD_MINOR: ABI 1.5, before filters existed (no 1.5 SDK had bp_filter.h, so such a
** header is mislabelled). Otherwise ABI 2.0, built for a future incompatible host.
*/
#include <blockpipe/bp_filter.h>

BP_HIDDEN const struct bp_host_api *bp_host = NULL;

static int bad_open(const struct bp_config *cfg, const struct bp_filter_next *next, void **handle) {
  (void)cfg, (void)next;
  *handle = NULL;
  return BP_ERR_PERMANENT;
}
static void bad_close(void *handle) { (void)handle; }

static struct bp_filter_plugin plugin = {
    .header = {.name = FILTER_NAME, .description = "stamped with a wrong ABI"},
    .open = bad_open,
    .close = bad_close,
};

BP_EXTERN_C BP_EXPORT const struct bp_plugin_header *blockpipe_plugin_entry(
    const struct bp_host_api *host) {
  bp_host = host;
#ifdef OLD_MINOR
  plugin.header.abi_major = 1;
  plugin.header.abi_minor = 5;
#else
  plugin.header.abi_major = 2;
  plugin.header.abi_minor = 0;
#endif
  plugin.header.kind = BP_KIND_FILTER;
  plugin.header.struct_size = (uint32_t)sizeof plugin;
  plugin.header.thread_model = BP_THREAD_PARALLEL;
  return &plugin.header;
}
