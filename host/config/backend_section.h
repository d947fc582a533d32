// The [backend] section `blockpipe init` writes, chosen by the scheme of --url: a directory for
// file://, bucket/endpoint/region/addressing for s3://, container/endpoint for azure://, each with
// comments saying where credentials come from. Used by RenderDefaultConfig only; the option checks
// that go with it (CheckInitOptions) are declared in config.h for the CLI.
#pragma once

#include <string>

#include "config/config.h"

namespace bp {

// The [backend] table, header included, ending with a newline. `url` is the resolved URL (the
// file default already applied); `quote` renders a TOML basic string.
std::string RenderBackendSection(const InitOptions& options, const std::string& url,
                                 std::string (*quote)(const std::string&));

}  // namespace bp
