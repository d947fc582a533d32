// Translation between the host's errno values and NBD wire errors, and human names of commands
// and options for log lines. Kept apart from the header so the mapping is written once.
#include "nbd_protocol.h"

#include <cerrno>

namespace bpnbd {

uint32_t NbdErrorFromErrno(int error, uint16_t command_flags) {
  switch (error) {
    case 0: return kNbdOk;
    case EPERM:
    case EROFS: return kNbdEperm;
    case EIO: return kNbdEio;
    case ENOMEM: return kNbdEnomem;
    case EINVAL: return kNbdEinval;
    case ENOSPC:
    case EDQUOT:
    case EFBIG: return kNbdEnospc;
    case EOVERFLOW: return kNbdEoverflow;
    case ESHUTDOWN: return kNbdEshutdown;
    case ENOTSUP:
#if EOPNOTSUPP != ENOTSUP
    case EOPNOTSUPP:
#endif
      // Only a FAST_ZERO request may see NBD_ENOTSUP; for anything else the operation was not
      // valid on this export.
      return (command_flags & kCmdFlagFastZero) ? kNbdEnotsup : kNbdEinval;
    default: return kNbdEio;
  }
}

std::string CommandName(uint16_t type) {
  switch (type) {
    case kCmdRead: return "READ";
    case kCmdWrite: return "WRITE";
    case kCmdDisc: return "DISC";
    case kCmdFlush: return "FLUSH";
    case kCmdTrim: return "TRIM";
    case kCmdCache: return "CACHE";
    case kCmdWriteZeroes: return "WRITE_ZEROES";
    case kCmdBlockStatus: return "BLOCK_STATUS";
    default: return "cmd#" + std::to_string(type);
  }
}

std::string OptionName(uint32_t option) {
  switch (option) {
    case kOptExportName: return "NBD_OPT_EXPORT_NAME";
    case kOptAbort: return "NBD_OPT_ABORT";
    case kOptList: return "NBD_OPT_LIST";
    case kOptStartTls: return "NBD_OPT_STARTTLS";
    case kOptInfo: return "NBD_OPT_INFO";
    case kOptGo: return "NBD_OPT_GO";
    case kOptStructuredReply: return "NBD_OPT_STRUCTURED_REPLY";
    default: return "option#" + std::to_string(option);
  }
}

}  // namespace bpnbd
