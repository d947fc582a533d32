/*
** blockpipe plugin SDK — umbrella header. Include this, or only the header of the plugin kind
** you write. See bp_common.h for the lifecycle, versioning and error rules.
*/
#ifndef BLOCKPIPE_H
#define BLOCKPIPE_H
#include "bp_backend.h"
#include "bp_codec.h"
#include "bp_common.h"
#include "bp_filter.h"
#include "bp_frontend.h"
#endif
