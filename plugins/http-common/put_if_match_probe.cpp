// The put-if-match probe (see put_if_match_probe.h). Every step writes different bytes, so no
// step can pass as a retry of another, and the final read shows which replace really landed.
#include "put_if_match_probe.h"

#include <blockpipe/bp_common.h>

#include "put_if_absent_probe.h"
#include "status_class.h"

namespace bphttp {
namespace {

std::string Body(int step) {
  return "blockpipe put-if-match probe, step " + std::to_string(step) + "\n";
}

std::string Failed(const std::string& what, int rc) {
  return what + " failed (" + ErrorClassName(rc) + ")";
}

// The probe's steps after the object exists; an empty result means the store passed.
std::string CheckReplaces(const ConditionalPutOps& ops, const std::string& key) {
  std::string body, tag;
  int rc = ops.get_tagged(key, &body, &tag);
  if (rc != BP_OK) return Failed("reading the probe object with its version tag", rc);
  if (tag.empty()) return "the store reported no version tag (ETag) for the probe object";

  std::string new_tag;
  rc = ops.put_if_match(key, Body(2), "\"blockpipe-no-such-version\"", &new_tag);
  if (rc == BP_OK) {
    return "a replace with a made-up version tag succeeded: the store ignores If-Match and would "
           "let two writers overwrite each other";
  }
  if (rc != BP_ERR_PRECONDITION) return Failed("a replace with a made-up version tag", rc);

  rc = ops.put_if_match(key, Body(3), tag, &new_tag);
  if (rc == BP_ERR_PRECONDITION) {
    return "a replace with the current version tag " + tag +
           " was refused as a precondition failure";
  }
  if (rc != BP_OK) return Failed("a replace with the current version tag", rc);

  rc = ops.put_if_match(key, Body(4), tag, &new_tag);
  if (rc == BP_OK) return "a second replace with the now stale version tag succeeded";
  if (rc != BP_ERR_PRECONDITION) return Failed("a replace with a stale version tag", rc);

  std::string final_tag;
  rc = ops.get_tagged(key, &body, &final_tag);
  if (rc != BP_OK) return Failed("reading the probe object back", rc);
  if (body != Body(3)) return "the probe object does not hold the one replace that succeeded";
  return "";
}

}  // namespace

bool ProbePutIfMatch(const ConditionalPutOps& ops, std::string* detail) {
  const std::string key = ".blockpipe-probe/" + RandomHex(16);
  std::string what;
  int rc = ops.put(key, Body(1));
  if (rc != BP_OK) {
    what = Failed("creating the probe object " + key, rc);
  } else {
    what = CheckReplaces(ops, key);
    int removed = ops.del(key);
    if (removed != BP_OK && removed != BP_ERR_NOT_FOUND) {
      what += std::string(what.empty() ? "" : "; ") + "deleting the probe object failed (" +
              ErrorClassName(removed) + ")";
      // A leftover probe object is harmless; the verdict stands on the replaces alone.
    }
  }
  const bool honoured = what.empty() || what.rfind("deleting the probe object", 0) == 0;
  if (detail != nullptr) {
    *detail = honoured ? "a stale or made-up version tag was refused and the current one accepted" +
                             (what.empty() ? std::string() : " (" + what + ")")
                       : what;
  }
  return honoured;
}

}  // namespace bphttp
