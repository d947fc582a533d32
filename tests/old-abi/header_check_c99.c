/* The public headers compile as strict C99 (-std=c99 -pedantic-errors), alone and together. */
#include <blockpipe/blockpipe.h>
#include <blockpipe/bp_backend.h>
#include <blockpipe/bp_codec.h>
#include <blockpipe/bp_common.h>
#include <blockpipe/bp_filter.h>
#include <blockpipe/bp_frontend.h>

int bp_header_check_c99(void);
int bp_header_check_c99(void) { return BP_ABI_MAJOR; }
