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

const char* NbdErrorText(uint32_t nbd_error) {
  switch (nbd_error) {
    case kNbdEperm: return "operation not permitted (read-only export)";
    case kNbdEio: return "input/output error in the volume's store";
    case kNbdEnomem: return "out of memory";
    case kNbdEinval: return "invalid request";
    case kNbdEnospc: return "no space (beyond the end of the export)";
    case kNbdEoverflow: return "request larger than the maximum payload";
    case kNbdEnotsup: return "operation not supported";
    case kNbdEshutdown: return "server is shutting down";
    default: return "error";
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
    case kOptListMetaContext: return "NBD_OPT_LIST_META_CONTEXT";
    case kOptSetMetaContext: return "NBD_OPT_SET_META_CONTEXT";
    case kOptExtendedHeaders: return "NBD_OPT_EXTENDED_HEADERS";
    default: return "option#" + std::to_string(option);
  }
}

}  // namespace bpnbd
