// NextLayer: the host's struct bp_filter_next over an ObjectStore — what a filter calls to reach
// the layer below it (another filter or the backend). Each function turns the ObjectStore's
// Status back into an SDK code and leaves its message on the calling thread as set_error would,
// so a filter that returns the code unchanged passes the lower layer's message up. Nothing
// thrown below reaches the filter: an exception becomes BP_ERR_PERMANENT with a message.
// The differences from a backend's callbacks that bp_filter.h promises are made here: read and
// put_parts always work (the ObjectStore emulates), deleting a missing key is BP_OK, and list
// delivers the complete listing in one call.
#pragma once

#include <memory>
#include <string>

#include <blockpipe/bp_filter.h>

#include "pipeline/object_store.h"

namespace bp {

class NextLayer {
 public:
  // `who` names the filter for messages about its own misuse of the table ("delay").
  NextLayer(std::shared_ptr<ObjectStore> store, std::string who);
  NextLayer(const NextLayer&) = delete;
  NextLayer& operator=(const NextLayer&) = delete;

  // The table handed to the filter's open(); valid while this object lives (ctx points here).
  const bp_filter_next* table() const { return &table_; }
  ObjectStore& store() const { return *store_; }
  const std::shared_ptr<ObjectStore>& shared_store() const { return store_; }
  const std::string& who() const { return who_; }

 private:
  std::shared_ptr<ObjectStore> store_;
  std::string who_;
  bp_filter_next table_{};
};

}  // namespace bp
