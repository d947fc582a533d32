// Status: the result type used inside the host (LevelDB style). A Status is either ok or carries
// a code (the SDK's error classes) and a human message. It converts to and from the SDK's int
// codes only at the plugin boundary (loader/ adapters), so engine code never sees raw ints.
// The class is [[nodiscard]]: a call whose Status is dropped does not compile quietly. Handle it,
// return it, or, where dropping it is right, say why with IgnoreError below.
#pragma once

#include <string>
#include <utility>

#include <blockpipe/bp_common.h>

namespace bp {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk = BP_OK,
    kTransient = BP_ERR_TRANSIENT,
    kPermanent = BP_ERR_PERMANENT,
    kNotFound = BP_ERR_NOT_FOUND,
    kPrecondition = BP_ERR_PRECONDITION,
    kUnsupported = BP_ERR_UNSUPPORTED,
    kCorrupt = BP_ERR_CORRUPT,
    kInvalid = BP_ERR_INVALID,
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status Transient(std::string m) { return Status(Code::kTransient, std::move(m)); }
  static Status Permanent(std::string m) { return Status(Code::kPermanent, std::move(m)); }
  static Status NotFound(std::string m) { return Status(Code::kNotFound, std::move(m)); }
  static Status Precondition(std::string m) { return Status(Code::kPrecondition, std::move(m)); }
  static Status Unsupported(std::string m) { return Status(Code::kUnsupported, std::move(m)); }
  static Status Corrupt(std::string m) { return Status(Code::kCorrupt, std::move(m)); }
  static Status Invalid(std::string m) { return Status(Code::kInvalid, std::move(m)); }
  // From an SDK return code plus the message the plugin set (may be empty).
  static Status FromCode(int code, std::string m) {
    return code == BP_OK ? Status() : Status(static_cast<Code>(code), std::move(m));
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  int raw_code() const { return static_cast<int>(code_); }
  const std::string& message() const { return message_; }
  bool IsTransient() const { return code_ == Code::kTransient; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsPrecondition() const { return code_ == Code::kPrecondition; }
  bool IsCorrupt() const { return code_ == Code::kCorrupt; }

  // "not found: volumes/a/meta" style text for logs and users.
  std::string ToString() const;
  // Prefix the message with context ("opening volume x: ...") keeping the code.
  Status WithContext(const std::string& context) const {
    return ok() ? *this : Status(code_, context + ": " + message_);
  }

 private:
  Status(Code c, std::string m) : code_(c), message_(std::move(m)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

const char* CodeName(Status::Code code);

// Drops `status` on purpose. `why` is the reason dropping it is right at this call site (best
// effort cleanup whose failure changes nothing, an error already reported another way ...); it is
// there for the reader and is not logged. The one sanctioned way to discard a Status.
inline void IgnoreError(const Status& status, const char* why) {
  (void)status;
  (void)why;
}

}  // namespace bp

#define BP_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::bp::Status bp_status_ = (expr);        \
    if (!bp_status_.ok()) return bp_status_; \
  } while (0)
