// ExtentQuery: the allocation of a byte range as the frontend's BLOCK_STATUS sees it — data,
// zeros, or hole — computed from the same layers a read consults, newest first: the active
// write buffer, the sealed buffers not yet durable, then the volume's extent map. It only reads
// memory and is called with the volume's lock held, so it is bounded: a range the buffers do
// not touch costs one map visit per extent; a touched piece is halved until its halves are
// untouched or small, and small ones are classified block by block. That work is charged in
// index probes against kExtentQueryBlockBudget; when it is spent the query returns the prefix
// classified so far, which the frontend API allows.
#pragma once

#include <cstdint>
#include <vector>

#include <blockpipe/bp_frontend.h>

#include "engine/read_path.h"

namespace bp {

// Write-buffer index probes one query may spend before it returns early: well under a
// millisecond under the volume lock.
inline constexpr uint64_t kExtentQueryBlockBudget = 65536;

// Appends to *out the extents of [offset, offset+length) (the caller has checked the range is
// inside the volume and non-empty), at most max_extents, adjacent ones merged when their flags
// agree. Always appends at least one extent.
void QueryExtents(const ReadSources& from, uint64_t offset, uint64_t length, size_t max_extents,
                  std::vector<bp_extent>* out);

}  // namespace bp
