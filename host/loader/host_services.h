// The host services table (struct bp_host_api) every plugin receives, and the host-side types
// behind the SDK's opaque handles: bp_config (one instance's validated config), bp_buf (a
// growable output over bp::Bytes) and bp_list (one page of a backend listing). Adapters use the
// helpers here to clear and collect the per-thread error message around each plugin call.
// Every service is thread-safe and catches everything: no exception crosses into plugin code.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <blockpipe/bp_common.h>

#include "config/config.h"
#include "pipeline/object_store.h"
#include "util/status.h"

// Completes the SDK's opaque `struct bp_config`: what config_* services read. Owned by the
// adapter of the instance and kept alive until the instance is closed (strings handed out
// point into it).
struct bp_config {
  bp::ResolvedConfig resolved;
  std::string dir;  // resolved.dir as a string, for config_dir
};

// A host-owned output buffer over a Bytes the caller owns. `length` is the committed size; the
// vector may be longer while a reservation is outstanding (or, for a reusing BufWriter, for
// good). Construct through bp::BufWriter.
struct bp_buf {
  bp::Bytes* bytes = nullptr;
  size_t length = 0;
  // Set for an encode whose caller keeps its input unchanged until the output is consumed:
  // buf_append_input then records bytes of [input, input + input_length) in *kept instead of
  // copying them. kept == nullptr: every append copies.
  const uint8_t* input = nullptr;
  size_t input_length = 0;
  std::vector<bp::KeptInput>* kept = nullptr;
  size_t kept_length = 0;  // bytes recorded in *kept by this buffer (they count in buf_size)
};

// One page of a listing: keys are appended to items; next is set when more pages remain.
struct bp_list {
  std::vector<bp::ObjectInfo>* items = nullptr;
  std::optional<std::string> next;
};

namespace bp {

// The table handed to every plugin; static, valid for the life of the process.
const bp_host_api* HostApi();

// Build an instance config from a validated section.
bp_config MakePluginConfig(ResolvedConfig resolved);

// Forget any message left on this thread (call before a plugin callback).
void ClearPluginError();
// The message the plugin set on this thread since the last clear ("" if none), and clear it.
std::string TakePluginError();
// Record a message as a plugin would; the frontend volume API uses it to explain refusals.
void SetPluginError(const std::string& message);

// Status for a plugin callback's return code. The message is "<context>: <plugin message>",
// or "<context> failed (<class>)" when the plugin set none. Codes outside the SDK's set are
// treated as permanent errors and say so.
Status PluginStatus(int code, const std::string& context);

// RAII view of a Bytes as a bp_buf: appends after the current contents, and on destruction
// trims the vector to what the plugin committed (dropping unused reservations).
//
// The reusing form appends after bytes[0, length) of a vector that may already be longer: the
// bytes past `length` are room the plugin overwrites in place, and the vector is left at its
// size afterwards (committed() is the new content length). Growing a std::vector zero-fills the
// new part, so a caller that keeps one such vector across calls (a segment image, recycled
// between segments) pays that fill once instead of before every codec call. Reserved bytes
// never had defined contents under the ABI, so plugins see no difference.
class BufWriter {
 public:
  struct ReuseTail {};
  explicit BufWriter(Bytes* bytes) {
    buf_.bytes = bytes;
    buf_.length = bytes->size();
  }
  BufWriter(Bytes* bytes, size_t length, ReuseTail) : trim_(false) {
    buf_.bytes = bytes;
    buf_.length = length;
  }
  ~BufWriter() {
    if (trim_) buf_.bytes->resize(buf_.length);
  }
  BufWriter(const BufWriter&) = delete;
  BufWriter& operator=(const BufWriter&) = delete;
  // Let buf_append_input reference bytes of in[0, n) (which the caller keeps unchanged until
  // the output is consumed) by recording them in *kept instead of copying.
  void KeepInput(const uint8_t* in, size_t n, std::vector<KeptInput>* kept) {
    buf_.input = in;
    buf_.input_length = n;
    buf_.kept = kept;
  }
  bp_buf* get() { return &buf_; }
  size_t committed() const { return buf_.length; }

 private:
  bp_buf buf_;
  bool trim_ = true;
};

}  // namespace bp
