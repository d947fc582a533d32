/*
** blockpipe-filter-testnull: a filter that sets no data slot at all, so every call passes
** through to the next layer, and that declares BP_THREAD_SERIALIZE_ALL, which the host must
** refuse to stack twice. It counts its opens and closes in host metrics (testnull_opens,
** testnull_closes) so the tests can see instances come and go.
*/
#include <blockpipe/bp_filter.h>

#include <stdlib.h>

static int null_open(const struct bp_config *cfg, const struct bp_filter_next *next,
                     void **handle) {
  (void)cfg;
  *handle = malloc(1);
  if (*handle == NULL) return BP_ERR_PERMANENT;
  (void)next;
  bp_host->metric_add("testnull", "opens", 1);
  return BP_OK;
}

static void null_close(void *handle) {
  bp_host->metric_add("testnull", "closes", 1);
  free(handle);
}

static struct bp_filter_plugin plugin = {
    .header = {.name = "testnull", .description = "passes everything through"},
    .open = null_open,
    .close = null_close,
};

BP_REGISTER_FILTER(plugin, BP_THREAD_SERIALIZE_ALL)
