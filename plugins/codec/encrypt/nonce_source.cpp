// Per-thread nonce pools for the encrypt codec (see nonce_source.h).
//
// Each thread owns one page: 32 bytes from the OS (randombytes_buf → getrandom) become the key
// of one ChaCha20 keystream of 32 nonces' worth, the key is wiped at once, and each nonce is
// wiped from the pool as it is handed out, so memory never holds a nonce that was used or the
// seed that made them. The page is what makes this safe beyond threads:
//   - fork: the page is MADV_WIPEONFORK, so a child sees it zeroed, finds no pool and draws its
//     own seed; parent and child can never hand out the same remaining nonces. Without that
//     flag (Linux before 4.14) every nonce comes straight from randombytes_buf, as before.
//   - core dumps: MADV_DONTDUMP keeps pending nonces out of them.
//   - thread exit: the page is wiped and unmapped.
// A pool is used only by its thread, so no locks; each thread seeds independently from the OS.
#include "nonce_source.h"

#include <sodium.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

namespace encryptnonce {
namespace {

constexpr size_t kNoncesPerSeed = 32;
constexpr uint32_t kFilled = 0x6e6f6e63;  // "nonc": the page holds a pool (zero after fork)

struct Pool {
  uint32_t state;  // kFilled, or 0 on a fresh or forked page
  uint32_t next;   // index of the next unused nonce
  uint8_t nonces[kNoncesPerSeed][encryptfmt::kNonceBytes];
};

class ThreadPage {
 public:
  ThreadPage() {
    const long page = ::sysconf(_SC_PAGESIZE);
    size_ = page > 0 ? static_cast<size_t>(page) : 4096;
    static_assert(sizeof(Pool) <= 4096);
    void* mapped =
        ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped == MAP_FAILED) return;
    if (::madvise(mapped, size_, MADV_WIPEONFORK) != 0) {
      ::munmap(mapped, size_);
      return;
    }
    ::madvise(mapped, size_, MADV_DONTDUMP);
    pool_ = static_cast<Pool*>(mapped);
  }
  ~ThreadPage() {
    if (pool_ == nullptr) return;
    sodium_memzero(pool_, sizeof(Pool));
    ::munmap(pool_, size_);
  }
  ThreadPage(const ThreadPage&) = delete;
  ThreadPage& operator=(const ThreadPage&) = delete;
  Pool* pool() { return pool_; }

 private:
  Pool* pool_ = nullptr;
  size_t size_ = 0;
};

void Refill(Pool* pool) {
  uint8_t seed[crypto_stream_chacha20_KEYBYTES];
  randombytes_buf(seed, sizeof seed);
  // Each seed keys exactly one stream, so the fixed all-zero stream nonce never repeats a key.
  static const uint8_t kStreamNonce[crypto_stream_chacha20_NONCEBYTES] = {};
  crypto_stream_chacha20(&pool->nonces[0][0], sizeof pool->nonces, kStreamNonce, seed);
  sodium_memzero(seed, sizeof seed);
  pool->next = 0;
  pool->state = kFilled;
}

}  // namespace

void NextNonce(uint8_t nonce[encryptfmt::kNonceBytes]) {
  thread_local ThreadPage page;
  Pool* pool = page.pool();
  if (pool == nullptr) {
    randombytes_buf(nonce, encryptfmt::kNonceBytes);
    return;
  }
  if (pool->state != kFilled || pool->next >= kNoncesPerSeed) Refill(pool);
  uint8_t* slot = pool->nonces[pool->next++];
  std::memcpy(nonce, slot, encryptfmt::kNonceBytes);
  sodium_memzero(slot, encryptfmt::kNonceBytes);
}

}  // namespace encryptnonce
