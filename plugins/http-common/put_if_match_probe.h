// Startup check that an object store really honours ETag-conditional replaces (If-Match on a
// PUT). The ownership record and the volume metadata are replaced with put-if-match, and a
// store that accepts the header but ignores it (npm s3rver does) would let two daemons both
// "win" a take-over, so the backends test the behaviour instead of trusting the header.
#ifndef BLOCKPIPE_HTTP_COMMON_PUT_IF_MATCH_PROBE_H
#define BLOCKPIPE_HTTP_COMMON_PUT_IF_MATCH_PROBE_H

#include <functional>
#include <string>

namespace bphttp {

// The store operations the probe drives; each returns an SDK code.
struct ConditionalPutOps {
  // Create (or replace) key with body; no condition needed.
  std::function<int(const std::string& key, const std::string& body)> put;
  // The object's bytes and version tag.
  std::function<int(const std::string& key, std::string* body, std::string* tag)> get_tagged;
  // Replace only while the object's tag is `tag`; *new_tag may stay empty.
  std::function<int(const std::string& key, const std::string& body, const std::string& tag,
                    std::string* new_tag)>
      put_if_match;
  std::function<int(const std::string& key)> del;
};

// On a fresh key ".blockpipe-probe/<random>": create it, read its tag, then check that a
// replace with a made-up tag is refused, a replace with the tag read succeeds, a second replace
// with that now stale tag is refused, and the object holds the one successful replace. Deletes
// the key afterwards. True only if all of that held; *detail (if not null) receives a sentence
// saying what the store did.
bool ProbePutIfMatch(const ConditionalPutOps& ops, std::string* detail);

}  // namespace bphttp

#endif  // BLOCKPIPE_HTTP_COMMON_PUT_IF_MATCH_PROBE_H
