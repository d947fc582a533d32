// The put-if-absent probe: two conditional creates of one fresh key. A store that honours the
// condition answers the second with "precondition failed"; one that ignores it overwrites the
// object and reports success, which is exactly the case that would let two writers interleave
// segments of one volume.
#include "put_if_absent_probe.h"

#include <blockpipe/bp_common.h>
#include <openssl/rand.h>

#include <stdexcept>

#include "crypto.h"
#include "status_class.h"

namespace bphttp {

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    throw std::runtime_error("OpenSSL RAND_bytes failed");
  }
  return Hex(raw);
}

bool ProbePutIfAbsent(const std::function<int(const std::string& key, bool if_absent)>& put,
                      const std::function<int(const std::string& key)>& del, std::string* detail) {
  const std::string key = ".blockpipe-probe/" + RandomHex(16);
  std::string what;
  bool honoured = false;
  int first = put(key, true);
  if (first != BP_OK) {
    what = std::string("the first conditional put of ") + key + " failed (" +
           ErrorClassName(first) + ")";
  } else {
    int second = put(key, true);
    if (second == BP_ERR_PRECONDITION) {
      honoured = true;
      what = "a second conditional put of " + key + " was refused with a precondition failure";
    } else if (second == BP_OK) {
      what = "a second conditional put of " + key +
             " succeeded: the store ignores If-None-Match and would overwrite existing objects";
    } else {
      what = std::string("a second conditional put of ") + key + " failed (" +
             ErrorClassName(second) + ") instead of reporting a precondition failure";
    }
    int removed = del(key);
    if (removed != BP_OK && removed != BP_ERR_NOT_FOUND) {
      what += std::string("; deleting the probe object failed (") + ErrorClassName(removed) + ")";
    }
  }
  if (detail != nullptr) *detail = what;
  return honoured;
}

}  // namespace bphttp
