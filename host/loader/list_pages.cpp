// Paging through a plugin's list() (see list_pages.h).
#include "loader/list_pages.h"

#include <algorithm>
#include <optional>

namespace bp {

Status CollectListing(const std::string& context, const std::string& prefix,
                      const std::function<int(const char* cursor, bp_list* sink)>& page,
                      std::vector<ObjectInfo>* out) {
  std::vector<ObjectInfo> all;
  std::optional<std::string> cursor;
  for (size_t n = 0;; ++n) {
    if (n == kMaxListPages) {
      return Status::Permanent(context + ": more than " + std::to_string(kMaxListPages) +
                               " pages; giving up");
    }
    bp_list sink;
    sink.items = &all;
    const int rc = page(cursor ? cursor->c_str() : nullptr, &sink);
    BP_RETURN_IF_ERROR(PluginStatus(rc, context));
    if (!sink.next) break;
    if (cursor && *sink.next == *cursor) {
      return Status::Permanent(context +
                               ": plugin returned the same cursor twice (the listing would "
                               "never end)");
    }
    cursor = std::move(sink.next);
  }
  std::erase_if(all,
                [&](const ObjectInfo& o) { return o.key.compare(0, prefix.size(), prefix) != 0; });
  auto by_key = [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; };
  if (!std::is_sorted(all.begin(), all.end(), by_key)) std::sort(all.begin(), all.end(), by_key);
  *out = std::move(all);
  return Status::Ok();
}

}  // namespace bp
