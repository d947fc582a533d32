// PreopenedCodecs: the daemon's startup check that every volume in the store can be opened
// before anything is served. It reads each volume's metadata and opens its codec chain — the
// step where a wrong password, a missing codec plugin or unreadable metadata shows up — using
// only reads, so a refusal leaves the store untouched. The chains it opened are then handed to
// the volume manager instead of being opened a second time (an encrypted volume's Argon2id
// derivation is deliberately slow). It is a CodecFactory wrapper so the engine needs no change.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pipeline/codec_chain.h"
#include "pipeline/object_store.h"
#include "util/status.h"

namespace bp {

class PreopenedCodecs final : public CodecFactory {
 public:
  explicit PreopenedCodecs(CodecFactory* inner) : inner_(inner) {}

  // Open the chain of every volume under volumes/. Returns an error naming each volume that
  // cannot be opened (all of them, not just the first); reads only.
  Status OpenEveryVolume(ObjectStore& store);

  Status CreateChain(const uint8_t uuid[16], const std::string& volume_name,
                     std::vector<CodecRecord>* records,
                     std::unique_ptr<CodecChain>* chain) override;
  // Hands out the chain opened by OpenEveryVolume when the volume and its recorded chain are
  // the same ones; anything else (a volume created since) is opened afresh.
  Status OpenChain(const uint8_t uuid[16], const std::string& volume_name,
                   const std::vector<CodecRecord>& records,
                   std::unique_ptr<CodecChain>* chain) override;

 private:
  struct Opened {
    std::vector<uint8_t> uuid;
    std::vector<CodecRecord> records;
    std::unique_ptr<CodecChain> chain;
  };
  CodecFactory* inner_;
  std::mutex mu_;                         // OpenChain may be called from any thread
  std::map<std::string, Opened> opened_;  // by volume name, until handed out
};

}  // namespace bp
