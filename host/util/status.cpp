// Names for Status codes, for messages.
#include "util/status.h"

namespace bp {

const char* CodeName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "ok";
    case Status::Code::kTransient: return "transient error";
    case Status::Code::kPermanent: return "error";
    case Status::Code::kNotFound: return "not found";
    case Status::Code::kPrecondition: return "precondition failed";
    case Status::Code::kUnsupported: return "unsupported";
    case Status::Code::kCorrupt: return "corrupt";
    case Status::Code::kInvalid: return "invalid";
  }
  return "error";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(CodeName(code_)) + ": " + message_;
}

}  // namespace bp
