// DiskCache implementation (see disk_cache.h): the data file of regions, the SQLite index, the
// verified lookup, and the writer thread that applies queued inserts and erasures in batches.
#include "cache/disk_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>

#include <spdlog/spdlog.h>

#include "util/crc32c.h"
#include "util/metrics.h"

namespace bp {
namespace {

// Record header in the data file, in front of every unit's stored bytes (little-endian):
//   0  u32 magic "BPDC"      4  u32 payload length   8  16 volume uuid   24 u64 seq
//   32 u32 unit index        36 u32 reserved (0)     40 u64 identity     48 u32 crc32c of
//   bytes 0..47 followed by the payload              52 u32 reserved (0)
constexpr uint32_t kRecordMagic = 0x43445042;  // "BPDC"
constexpr size_t kHeaderSize = 56;
// Bumped when the record or index layout changes: an older cache is then emptied.
constexpr int64_t kFormatVersion = 1;

void Put32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
void Put64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }
uint32_t Get32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t Get64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

void EncodeHeader(const DiskCacheKey& key, uint64_t ident, const uint8_t* payload, size_t length,
                  uint8_t* h) {
  std::memset(h, 0, kHeaderSize);
  Put32(h, kRecordMagic);
  Put32(h + 4, static_cast<uint32_t>(length));
  std::memcpy(h + 8, key.volume.data(), 16);
  Put64(h + 24, key.seq);
  Put32(h + 32, key.unit);
  Put64(h + 40, ident);
  Put32(h + 48, Crc32c(payload, length, Crc32c(h, 48)));
}

uint64_t Mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 31);
}

struct Counters {
  std::atomic<int64_t>& hits = Metrics::Global().Counter(
      "disk_cache_hits_total", "Unit lookups served (verified) by the disk cache");
  std::atomic<int64_t>& misses = Metrics::Global().Counter(
      "disk_cache_misses_total", "Disk cache lookups that found no usable entry");
  std::atomic<int64_t>& dropped = Metrics::Global().Counter(
      "disk_cache_dropped_total",
      "Disk cache entries dropped because they failed verification or were stale");
  std::atomic<int64_t>& inserts =
      Metrics::Global().Counter("disk_cache_inserts_total", "Units written to the disk cache");
  std::atomic<int64_t>& insert_drops =
      Metrics::Global().Counter("disk_cache_insert_drops_total",
                                "Units not written to the disk cache (queue full or disk error)");
};
Counters& Count() {
  static Counters c;
  return c;
}

size_t ReaderSlot() { return std::hash<std::thread::id>()(std::this_thread::get_id()); }

}  // namespace

uint64_t UnitIdentity::Hash() const {
  uint64_t h = Mix(0x6469736B63616368ull, object_size);
  h = Mix(h, offset);
  h = Mix(h, (uint64_t{stored_length} << 32) | logical_length);
  h = Mix(h, crc);
  // SQLite integers are signed 64-bit; keep the identity in range without a sign surprise.
  return h & 0x7FFFFFFFFFFFFFFFull;
}

DiskCache::DiskCache(std::string dir, uint64_t size)
    : dir_(std::move(dir)),
      size_(size),
      index_budget_(size / kIndexShare),
      region_count_(static_cast<uint32_t>((size - size / kIndexShare) / kRegionSize)),
      regions_(new Region[region_count_]) {}

Status DiskCache::Open(const std::string& dir, uint64_t size, std::unique_ptr<DiskCache>* out) {
  if (size < kMinSize) {
    return Status::Invalid("disk cache size " + std::to_string(size) + " is below the minimum of " +
                           std::to_string(kMinSize) + " bytes");
  }
  std::unique_ptr<DiskCache> cache(new DiskCache(dir, size));
  Status s = cache->Init();
  if (!s.ok() && !s.IsTransient() && !s.IsPrecondition()) {
    // A damaged index (or one sqlite cannot read) is only a cache: start again empty. A second
    // failure (permissions, a full disk) is the caller's to report.
    spdlog::warn("disk cache {}: {}; starting with an empty cache", dir, s.ToString());
    cache.reset();
    std::error_code ec;
    for (const char* name : {"index.db", "index.db-wal", "index.db-shm", "units.dat"}) {
      std::filesystem::remove(std::filesystem::path(dir) / name, ec);
    }
    cache.reset(new DiskCache(dir, size));
    s = cache->Init();
  }
  BP_RETURN_IF_ERROR(s.WithContext("disk cache " + dir));
  cache->writer_ = std::thread([c = cache.get()] { c->WriterLoop(); });
  *out = std::move(cache);
  return Status::Ok();
}

Status DiskCache::Init() {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return Status::Permanent("cannot create " + dir_ + ": " + ec.message());
  // One daemon per cache directory: two writers would evict each other's regions.
  if (lock_fd_ < 0) {
    const std::string lock_path = dir_ + "/lock";
    lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd_ < 0) {
      return Status::Permanent("cannot open " + lock_path + ": " + std::strerror(errno));
    }
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(lock_fd_);
      lock_fd_ = -1;
      return Status::Precondition(dir_ +
                                  " is in use by another blockpipe daemon ([disk_cache] dir)");
    }
  }
  const std::string index_path = dir_ + "/index.db";
  const std::string data_path = dir_ + "/units.dat";
  BP_RETURN_IF_ERROR(SqliteDb::Open(index_path, SqliteDb::Sync::kNormal, &db_));
  // A small page cache and WAL: the index is read through the OS page cache anyway, and both
  // count against the daemon's memory (docs/engine.md).
  BP_RETURN_IF_ERROR(
      db_->Exec("PRAGMA cache_size=-2048; PRAGMA wal_autocheckpoint=256; "
                "PRAGMA journal_size_limit=4194304;"));
  BP_RETURN_IF_ERROR(db_->Exec(
      "CREATE TABLE IF NOT EXISTS settings(name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
      "CREATE TABLE IF NOT EXISTS units(volume BLOB NOT NULL, seq INTEGER NOT NULL, "
      "unit INTEGER NOT NULL, ident INTEGER NOT NULL, region INTEGER NOT NULL, "
      "pos INTEGER NOT NULL, length INTEGER NOT NULL, PRIMARY KEY(volume, seq, unit)) "
      "WITHOUT ROWID;"
      "CREATE INDEX IF NOT EXISTS units_by_region ON units(region);"
      "CREATE TABLE IF NOT EXISTS regions(id INTEGER PRIMARY KEY, fill INTEGER NOT NULL, "
      "used INTEGER NOT NULL);"));

  // A cache of another format or region size is emptied rather than interpreted.
  SqliteStatement get;
  BP_RETURN_IF_ERROR(db_->Prepare("SELECT value FROM settings WHERE name=?1;", &get));
  auto setting = [&](const std::string& name, int64_t* value) -> Status {
    bool row = false;
    get.Bind(1, name);
    BP_RETURN_IF_ERROR(get.Step(&row));
    *value = row ? get.ColumnInt(0) : -1;
    get.Reset();
    return Status::Ok();
  };
  int64_t version = -1, region_size = -1;
  BP_RETURN_IF_ERROR(setting("format", &version));
  BP_RETURN_IF_ERROR(setting("region_size", &region_size));
  if (version != kFormatVersion || region_size != static_cast<int64_t>(kRegionSize)) {
    if (version != -1) spdlog::info("disk cache {}: other format, starting empty", dir_);
    BP_RETURN_IF_ERROR(
        db_->Exec("DELETE FROM units; DELETE FROM regions; DELETE FROM settings;"
                  "INSERT INTO settings VALUES('format', " +
                  std::to_string(kFormatVersion) + "), ('region_size', " +
                  std::to_string(kRegionSize) + ");"));
  }
  // A smaller size drops the regions past the new end.
  BP_RETURN_IF_ERROR(
      db_->Exec("DELETE FROM units WHERE region >= " + std::to_string(region_count_) +
                "; DELETE FROM regions WHERE id >= " + std::to_string(region_count_) + ";"));

  fd_ = ::open(data_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) return Status::Permanent("cannot open " + data_path + ": " + std::strerror(errno));
  const off_t data_size = static_cast<off_t>(uint64_t{region_count_} * kRegionSize);
  if (::ftruncate(fd_, data_size) != 0) {
    return Status::Permanent("cannot size " + data_path + ": " + std::strerror(errno));
  }

  // Regions: every region that was written is treated as full (its tail may be torn), so the
  // next insert starts a fresh region and nothing is appended behind an unknown end.
  SqliteStatement regions;
  BP_RETURN_IF_ERROR(db_->Prepare("SELECT id, fill, used FROM regions;", &regions));
  uint64_t max_used = 0;
  for (bool row = true;;) {
    BP_RETURN_IF_ERROR(regions.Step(&row));
    if (!row) break;
    const int64_t id = regions.ColumnInt(0);
    if (id < 0 || id >= region_count_) continue;
    regions_[id].fill = regions.ColumnInt(1) > 0 ? kRegionSize : 0;
    const uint64_t used = static_cast<uint64_t>(std::max<int64_t>(0, regions.ColumnInt(2)));
    regions_[id].last_used = used;
    max_used = std::max(max_used, used);
  }
  tick_ = max_used + 1;
  dirty_regions_.assign(region_count_, 0);

  BP_RETURN_IF_ERROR(db_->Prepare(
      "SELECT ident, region, pos, length FROM units WHERE volume=?1 AND seq=?2 AND unit=?3;",
      &find_));
  BP_RETURN_IF_ERROR(
      db_->Prepare("INSERT OR REPLACE INTO units(volume, seq, unit, ident, region, pos, length) "
                   "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7);",
                   &insert_));
  BP_RETURN_IF_ERROR(db_->Prepare(
      "DELETE FROM units WHERE volume=?1 AND seq=?2 AND unit=?3 AND region=?4 AND pos=?5;",
      &erase_at_));
  BP_RETURN_IF_ERROR(db_->Prepare("DELETE FROM units WHERE volume=?1 AND seq=?2;", &erase_seq_));
  BP_RETURN_IF_ERROR(db_->Prepare("DELETE FROM units WHERE volume=?1;", &erase_volume_));
  BP_RETURN_IF_ERROR(db_->Prepare("DELETE FROM units WHERE region=?1;", &erase_region_));
  BP_RETURN_IF_ERROR(db_->Prepare("SELECT DISTINCT seq FROM units WHERE volume=?1;", &seqs_of_));
  BP_RETURN_IF_ERROR(db_->Prepare(
      "INSERT OR REPLACE INTO regions(id, fill, used) VALUES(?1, ?2, ?3);", &save_region_));
  BP_RETURN_IF_ERROR(db_->Prepare("SELECT count(*) FROM units;", &count_));

  for (Reader& r : readers_) {
    MutexLock lock(&r.mu);
    BP_RETURN_IF_ERROR(SqliteDb::Open(index_path, SqliteDb::Sync::kNormal, &r.db));
    BP_RETURN_IF_ERROR(r.db->Exec("PRAGMA cache_size=-1024;"));
    BP_RETURN_IF_ERROR(r.db->Prepare(
        "SELECT ident, region, pos, length FROM units WHERE volume=?1 AND seq=?2 AND unit=?3;",
        &r.select));
  }
  PublishStats();
  spdlog::info("disk cache {}: {} MiB in {} regions, {} entries", dir_, size_ >> 20, region_count_,
               entries_.load());
  return Status::Ok();
}

DiskCache::~DiskCache() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  work_cv_.SignalAll();
  if (writer_.joinable()) writer_.join();
  if (fd_ >= 0) ::close(fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

bool DiskCache::Lookup(const DiskCacheKey& key, const UnitIdentity& id, Bytes* out) {
  const uint64_t ident = id.Hash();
  int64_t found_ident = 0, region = 0, pos = 0, length = 0;
  bool row = false;
  {
    Reader& r = readers_[ReaderSlot() % kReaders];
    MutexLock lock(&r.mu);
    r.select.BindBlob(1, key.volume.data(), key.volume.size())
        .Bind(2, static_cast<int64_t>(key.seq))
        .Bind(3, static_cast<int64_t>(key.unit));
    Status s = r.select.Step(&row);
    if (!s.ok()) {
      spdlog::warn("disk cache lookup: {}", s.ToString());
      row = false;
    }
    if (row) {
      found_ident = r.select.ColumnInt(0);
      region = r.select.ColumnInt(1);
      pos = r.select.ColumnInt(2);
      length = r.select.ColumnInt(3);
      r.select.Reset();
    }
  }
  auto miss = [&] {
    misses_++;
    Count().misses.fetch_add(1, std::memory_order_relaxed);
    return false;
  };
  if (!row) return miss();
  if (static_cast<uint64_t>(found_ident) != ident || region < 0 || region >= region_count_ ||
      length != static_cast<int64_t>(id.stored_length) || pos < 0 ||
      static_cast<uint64_t>(pos) + kHeaderSize + static_cast<uint64_t>(length) > kRegionSize) {
    // Another version of the segment (rewritten after a crash), or a row that makes no sense.
    QueueDrop(key, static_cast<uint32_t>(region), static_cast<uint64_t>(pos));
    return miss();
  }
  thread_local Bytes record;
  const size_t total = kHeaderSize + static_cast<size_t>(length);
  if (record.size() < total) record.resize(total);
  const off_t at =
      static_cast<off_t>(static_cast<uint64_t>(region) * kRegionSize + static_cast<uint64_t>(pos));
  size_t got = 0;
  while (got < total) {
    ssize_t n = ::pread(fd_, record.data() + got, total - got, at + static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  const uint8_t* h = record.data();
  const uint8_t* payload = h + kHeaderSize;
  const bool valid = got == total && Get32(h) == kRecordMagic &&
                     Get32(h + 4) == static_cast<uint32_t>(length) &&
                     std::memcmp(h + 8, key.volume.data(), 16) == 0 && Get64(h + 24) == key.seq &&
                     Get32(h + 32) == key.unit && Get64(h + 40) == ident &&
                     Get32(h + 48) == Crc32c(payload, static_cast<size_t>(length), Crc32c(h, 48)) &&
                     Crc32c(payload, static_cast<size_t>(length)) == id.crc;
  if (!valid) {
    spdlog::warn("disk cache {}: entry of segment {} unit {} failed verification; dropped", dir_,
                 key.seq, key.unit);
    QueueDrop(key, static_cast<uint32_t>(region), static_cast<uint64_t>(pos));
    return miss();
  }
  out->assign(payload, payload + length);
  regions_[region].last_used.store(tick_.fetch_add(1, std::memory_order_relaxed),
                                   std::memory_order_relaxed);
  hits_++;
  Count().hits.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void DiskCache::QueueDrop(const DiskCacheKey& key, uint32_t region, uint64_t pos) {
  dropped_++;
  Count().dropped.fetch_add(1, std::memory_order_relaxed);
  Op op;
  op.kind = Op::Kind::kDrop;
  op.key = key;
  op.region = region;
  op.pos = pos;
  Enqueue(std::move(op));
}

void DiskCache::Insert(const DiskCacheKey& key, const UnitIdentity& id, const uint8_t* data,
                       size_t length) {
  if (length != id.stored_length || length + kHeaderSize > kRegionSize) return;
  Op op;
  op.kind = Op::Kind::kInsert;
  op.key = key;
  op.ident = id.Hash();
  op.data.assign(data, data + length);
  if (!Enqueue(std::move(op))) {
    insert_drops_++;
    Count().insert_drops.fetch_add(1, std::memory_order_relaxed);
  }
}

void DiskCache::EraseSegments(const std::array<uint8_t, 16>& volume, std::vector<uint64_t> seqs) {
  if (seqs.empty()) return;
  Op op;
  op.kind = Op::Kind::kEraseSegments;
  op.key.volume = volume;
  op.seqs = std::move(seqs);
  Enqueue(std::move(op));
}

void DiskCache::RetainSegments(const std::array<uint8_t, 16>& volume, std::vector<uint64_t> live) {
  std::sort(live.begin(), live.end());
  Op op;
  op.kind = Op::Kind::kRetain;
  op.key.volume = volume;
  op.seqs = std::move(live);
  Enqueue(std::move(op));
}

void DiskCache::EraseVolume(const std::array<uint8_t, 16>& volume) {
  Op op;
  op.kind = Op::Kind::kEraseVolume;
  op.key.volume = volume;
  Enqueue(std::move(op));
}

bool DiskCache::Enqueue(Op op) {
  {
    MutexLock lock(&mu_);
    if (stopping_) return false;
    if (op.kind == Op::Kind::kInsert) {
      if (queued_bytes_ + op.data.size() > kQueueLimit) return false;
      queued_bytes_ += op.data.size();
    }
    queue_.push_back(std::move(op));
    queued_ops_++;
  }
  work_cv_.Signal();
  return true;
}

void DiskCache::Drain() {
  MutexLock lock(&mu_);
  const uint64_t target = queued_ops_;
  while (applied_ops_ < target && !stopping_) drain_cv_.Wait(&mu_);
}

void DiskCache::WriterLoop() {
  // Region recency is saved at most this often when nothing else is written.
  constexpr auto kSaveEvery = std::chrono::seconds(5);
  auto last_save = std::chrono::steady_clock::now();
  for (;;) {
    std::deque<Op> batch;
    bool stopping = false;
    {
      MutexLock lock(&mu_);
      while (queue_.empty() && !stopping_) {
        if (!work_cv_.WaitUntil(&mu_, std::chrono::steady_clock::now() + kSaveEvery)) break;
      }
      batch.swap(queue_);
      queued_bytes_ = 0;
      stopping = stopping_;
    }
    const size_t n = batch.size();
    const bool save_all = stopping || std::chrono::steady_clock::now() - last_save >= kSaveEvery;
    if (n > 0 || save_all) {
      SqliteTransaction tx(db_.get());
      Status s = tx.Begin();
      if (s.ok()) s = ApplyBatch(&batch);
      if (s.ok()) s = SaveRegions(save_all);
      if (s.ok()) s = tx.Commit();
      if (s.ok()) s = EvictForIndex();
      if (!s.ok()) {
        // A full or failing cache disk costs hits, never a read: the entries are not indexed.
        spdlog::warn("disk cache {}: {}", dir_, s.ToString());
      }
      if (save_all) last_save = std::chrono::steady_clock::now();
      PublishStats();
    }
    {
      MutexLock lock(&mu_);
      applied_ops_ += n;
    }
    drain_cv_.SignalAll();
    if (stopping) {
      MutexLock lock(&mu_);
      if (queue_.empty()) break;
    }
  }
  if (::fdatasync(fd_) != 0) spdlog::warn("disk cache {}: fdatasync: {}", dir_, strerror(errno));
}

Status DiskCache::ApplyBatch(std::deque<Op>* batch) {
  for (Op& op : *batch) {
    switch (op.kind) {
      case Op::Kind::kInsert: {
        Status s = ApplyInsert(op);
        if (!s.ok()) {
          insert_drops_++;
          Count().insert_drops.fetch_add(1, std::memory_order_relaxed);
          if (!s.IsTransient()) return s;
          spdlog::debug("disk cache {}: {}", dir_, s.ToString());
        }
        break;
      }
      case Op::Kind::kDrop:
        BP_RETURN_IF_ERROR(erase_at_.BindBlob(1, op.key.volume.data(), 16)
                               .Bind(2, static_cast<int64_t>(op.key.seq))
                               .Bind(3, static_cast<int64_t>(op.key.unit))
                               .Bind(4, static_cast<int64_t>(op.region))
                               .Bind(5, static_cast<int64_t>(op.pos))
                               .Run());
        break;
      case Op::Kind::kEraseSegments:
        for (uint64_t seq : op.seqs) {
          BP_RETURN_IF_ERROR(erase_seq_.BindBlob(1, op.key.volume.data(), 16)
                                 .Bind(2, static_cast<int64_t>(seq))
                                 .Run());
        }
        break;
      case Op::Kind::kRetain: {
        std::vector<uint64_t> present;
        seqs_of_.BindBlob(1, op.key.volume.data(), 16);
        for (bool row = true;;) {
          BP_RETURN_IF_ERROR(seqs_of_.Step(&row));
          if (!row) break;
          present.push_back(static_cast<uint64_t>(seqs_of_.ColumnInt(0)));
        }
        for (uint64_t seq : present) {
          if (std::binary_search(op.seqs.begin(), op.seqs.end(), seq)) continue;
          BP_RETURN_IF_ERROR(erase_seq_.BindBlob(1, op.key.volume.data(), 16)
                                 .Bind(2, static_cast<int64_t>(seq))
                                 .Run());
        }
        break;
      }
      case Op::Kind::kEraseVolume:
        BP_RETURN_IF_ERROR(erase_volume_.BindBlob(1, op.key.volume.data(), 16).Run());
        break;
    }
  }
  return Status::Ok();
}

Status DiskCache::ApplyInsert(const Op& op) {
  // Already there with the same identity (two readers missed the same unit): nothing to do.
  bool row = false;
  find_.BindBlob(1, op.key.volume.data(), 16)
      .Bind(2, static_cast<int64_t>(op.key.seq))
      .Bind(3, static_cast<int64_t>(op.key.unit));
  BP_RETURN_IF_ERROR(find_.Step(&row));
  if (row) {
    const bool same = static_cast<uint64_t>(find_.ColumnInt(0)) == op.ident;
    find_.Reset();
    if (same) return Status::Ok();
  }
  const uint64_t total = kHeaderSize + op.data.size();
  if (active_ == UINT32_MAX || regions_[active_].fill + total > kRegionSize) {
    BP_RETURN_IF_ERROR(TakeRegion());
  }
  Region& region = regions_[active_];
  uint8_t header[kHeaderSize];
  EncodeHeader(op.key, op.ident, op.data.data(), op.data.size(), header);
  const off_t at = static_cast<off_t>(uint64_t{active_} * kRegionSize + region.fill);
  struct iovec iov[2] = {{header, kHeaderSize},
                         {const_cast<uint8_t*>(op.data.data()), op.data.size()}};
  ssize_t n = ::pwritev(fd_, iov, 2, at);
  if (n != static_cast<ssize_t>(total)) {
    const int err = n < 0 ? errno : ENOSPC;
    // The region's tail is unknown now: start a new one next time.
    region.fill = kRegionSize;
    dirty_regions_[active_] = 1;
    return Status::Transient("writing " + dir_ + "/units.dat: " + std::strerror(err));
  }
  BP_RETURN_IF_ERROR(insert_.BindBlob(1, op.key.volume.data(), 16)
                         .Bind(2, static_cast<int64_t>(op.key.seq))
                         .Bind(3, static_cast<int64_t>(op.key.unit))
                         .Bind(4, static_cast<int64_t>(op.ident))
                         .Bind(5, static_cast<int64_t>(active_))
                         .Bind(6, static_cast<int64_t>(region.fill))
                         .Bind(7, static_cast<int64_t>(op.data.size()))
                         .Run());
  region.fill += (total + 7) & ~uint64_t{7};
  region.last_used.store(tick_.fetch_add(1, std::memory_order_relaxed), std::memory_order_relaxed);
  dirty_regions_[active_] = 1;
  inserts_++;
  Count().inserts.fetch_add(1, std::memory_order_relaxed);
  return Status::Ok();
}

Status DiskCache::TakeRegion() {
  // A free region first; else the least recently used one other than the active one.
  uint32_t pick = UINT32_MAX;
  uint64_t oldest = UINT64_MAX;
  for (uint32_t r = 0; r < region_count_; ++r) {
    if (r == active_) continue;
    if (regions_[r].fill == 0) {
      pick = r;
      break;
    }
    const uint64_t used = regions_[r].last_used.load(std::memory_order_relaxed);
    if (used < oldest) {
      oldest = used;
      pick = r;
    }
  }
  if (pick == UINT32_MAX) return Status::Transient("disk cache has no region to fill");
  if (regions_[pick].fill != 0) BP_RETURN_IF_ERROR(EmptyRegion(pick));
  active_ = pick;
  return Status::Ok();
}

Status DiskCache::EmptyRegion(uint32_t region) {
  // Rows go first (in this transaction); a reader that still holds one finds a record header
  // that does not match once the region is refilled, and treats it as a miss.
  BP_RETURN_IF_ERROR(erase_region_.Bind(1, static_cast<int64_t>(region)).Run());
  regions_[region].fill = 0;
  regions_[region].last_used.store(0, std::memory_order_relaxed);
  dirty_regions_[region] = 1;
  return Status::Ok();
}

Status DiskCache::EvictForIndex() {
  // Each pass empties the least recently used region; a handful at most per batch.
  for (int pass = 0; pass < 8 && IndexBytes() > index_budget_; ++pass) {
    uint32_t pick = UINT32_MAX;
    uint64_t oldest = UINT64_MAX;
    for (uint32_t r = 0; r < region_count_; ++r) {
      const uint64_t used = regions_[r].last_used.load(std::memory_order_relaxed);
      if (regions_[r].fill != 0 && r != active_ && used < oldest) {
        oldest = used;
        pick = r;
      }
    }
    if (pick == UINT32_MAX) break;
    SqliteTransaction tx(db_.get());
    BP_RETURN_IF_ERROR(tx.Begin());
    BP_RETURN_IF_ERROR(EmptyRegion(pick));
    BP_RETURN_IF_ERROR(SaveRegions(false));
    BP_RETURN_IF_ERROR(tx.Commit());
  }
  return Status::Ok();
}

Status DiskCache::SaveRegions(bool all) {
  for (uint32_t r = 0; r < region_count_; ++r) {
    if (!all && !dirty_regions_[r]) continue;
    if (all && !dirty_regions_[r] && regions_[r].fill == 0) continue;
    BP_RETURN_IF_ERROR(
        save_region_.Bind(1, static_cast<int64_t>(r))
            .Bind(2, static_cast<int64_t>(regions_[r].fill))
            .Bind(3, static_cast<int64_t>(regions_[r].last_used.load(std::memory_order_relaxed)))
            .Run());
    dirty_regions_[r] = 0;
  }
  return Status::Ok();
}

uint64_t DiskCache::IndexBytes() {
  auto pragma = [&](const char* sql) -> int64_t {
    SqliteStatement st;
    bool row = false;
    if (!db_->Prepare(sql, &st).ok() || !st.Step(&row).ok() || !row) return 0;
    const int64_t v = st.ColumnInt(0);
    st.Reset();
    return v;
  };
  const int64_t pages = pragma("PRAGMA page_count;") - pragma("PRAGMA freelist_count;");
  const int64_t page_size = pragma("PRAGMA page_size;");
  struct stat wal;
  const uint64_t wal_bytes =
      ::stat((dir_ + "/index.db-wal").c_str(), &wal) == 0 ? static_cast<uint64_t>(wal.st_size) : 0;
  return static_cast<uint64_t>(std::max<int64_t>(0, pages) * page_size) + wal_bytes;
}

void DiskCache::PublishStats() {
  bool row = false;
  if (count_.Step(&row).ok() && row) {
    entries_ = static_cast<uint64_t>(count_.ColumnInt(0));
    count_.Reset();
  }
  uint64_t data = 0;
  for (uint32_t r = 0; r < region_count_; ++r) data += regions_[r].fill;
  data_bytes_ = data;
  index_bytes_ = IndexBytes();
  Metrics& m = Metrics::Global();
  m.SetGauge("disk_cache_capacity_bytes", static_cast<int64_t>(size_),
             "Configured disk cache size");
  m.SetGauge("disk_cache_bytes", static_cast<int64_t>(data_bytes_ + index_bytes_),
             "Bytes the disk cache uses (regions in use and the index)");
  m.SetGauge("disk_cache_entries", static_cast<int64_t>(entries_.load()),
             "Units indexed in the disk cache");
}

DiskCacheStats DiskCache::Stats() const {
  DiskCacheStats s;
  s.capacity = size_;
  s.data_bytes = data_bytes_;
  s.index_bytes = index_bytes_;
  s.entries = entries_;
  s.hits = hits_;
  s.misses = misses_;
  s.dropped = dropped_;
  s.inserts = inserts_;
  s.insert_drops = insert_drops_;
  return s;
}

}  // namespace bp
