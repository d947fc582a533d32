// Startup check that an object store really honours put-if-absent. Fencing of a second writer
// rests on it (segments are created with put-if-absent), and some S3-compatible stores accept
// the If-None-Match header and silently ignore it, so the backends test it instead of trusting it.
#ifndef BLOCKPIPE_HTTP_COMMON_PUT_IF_ABSENT_PROBE_H
#define BLOCKPIPE_HTTP_COMMON_PUT_IF_ABSENT_PROBE_H

#include <functional>
#include <string>

namespace bphttp {

// Puts a fresh probe key ".blockpipe-probe/<random>" twice with if_absent = true through `put`
// (which returns an SDK code), then deletes it through `del`. Returns true only if the first put
// succeeded and the second returned BP_ERR_PRECONDITION. *detail (if not null) receives a
// sentence saying what the store did, for the log line either way.
bool ProbePutIfAbsent(const std::function<int(const std::string& key, bool if_absent)>& put,
                      const std::function<int(const std::string& key)>& del, std::string* detail);

// A random lower-case hex string of 2*bytes digits (OpenSSL RAND_bytes), for probe keys.
std::string RandomHex(size_t bytes);

}  // namespace bphttp

#endif  // BLOCKPIPE_HTTP_COMMON_PUT_IF_ABSENT_PROBE_H
