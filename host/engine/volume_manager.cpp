// VolumeManager: discovery, creation and deletion of volumes, frontend references, the timer
// that drives age-based sealing and retries, and orderly shutdown. Holds the resources every
// volume shares: the I/O thread pool and the decoded-unit cache. A writable manager claims each
// volume it opens through its ownership record (volume_owner.h) and releases it at shutdown.
#include "engine/volume_manager.h"

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <blockpipe/bp_backend.h>
#include <spdlog/spdlog.h>

#include "engine/read_scratch.h"
#include "engine/store_layout.h"
#include "engine/thread_pool.h"
#include "engine/volume.h"
#include "engine/volume_manager_impl.h"
#include "engine/volume_owner.h"
#include "journal/local_journal.h"
#include "util/memory_trim.h"
#include "util/metrics.h"

namespace bp {

Status VolumeRef::Extents(uint64_t offset, uint64_t length, size_t max_extents,
                          std::vector<bp_extent>* out) {
  bp_volume_info info{};
  info.struct_size = sizeof info;
  Info(&info);
  if (length == 0 || max_extents == 0 || offset > info.size || length > info.size - offset) {
    return Status::Invalid("extent query outside the volume");
  }
  out->push_back(bp_extent{length, 0, 0});
  return Status::Ok();
}

Uuid VolumeManager::Impl::NewUuid() const {
  if (!env.random) return RandomUuid();
  Uuid u;
  for (size_t i = 0; i < u.size(); i += 8) {
    const uint64_t v = env.random();
    for (size_t k = 0; k < 8; ++k) u[i + k] = static_cast<uint8_t>(v >> (8 * k));
  }
  u[6] = static_cast<uint8_t>((u[6] & 0x0F) | 0x40);  // RFC 4122 version 4
  u[8] = static_cast<uint8_t>((u[8] & 0x3F) | 0x80);
  return u;
}

VolumeManager::VolumeManager(std::shared_ptr<ObjectStore> store, CodecFactory* codecs,
                             EngineOptions options)
    : VolumeManager(std::move(store), codecs, std::move(options), Environment()) {}

VolumeManager::VolumeManager(std::shared_ptr<ObjectStore> store, CodecFactory* codecs,
                             EngineOptions options, Environment env)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.env = std::move(env);
  m.clock = m.env.clock;
  m.store = std::move(store);
  m.codecs = codecs;
  m.options = options;
  if (m.options.unit_size < kBlockSize) m.options.unit_size = kBlockSize;
  m.options.unit_size -= m.options.unit_size % kBlockSize;
  if (m.options.segment_size < m.options.unit_size) m.options.segment_size = m.options.unit_size;
  const uint64_t caps = m.store->Capabilities();
  const bool local_reads = (caps & BP_BACKEND_CAP_LOCAL_READS) != 0;
  if (m.options.io_threads == 0) {
    m.options.io_threads =
        local_reads ? EngineOptions::kIoThreadsLocal : EngineOptions::kIoThreadsRemote;
  }
  const uint32_t threads = std::max<uint32_t>(2, m.options.io_threads);
  // How many workers read-ahead may hold. On a remote store a read-ahead task mostly waits for
  // a GET, and a sequential stream reaches the store's throughput only with several GETs in
  // flight: three quarters of the workers, the rest kept for clients' own reads. On a store
  // that reads local files read-ahead is decode work that competes for the same CPUs as the
  // clients' reads: half.
  const uint32_t speculative = local_reads ? threads / 2 : threads - threads / 4;
  if (m.env.executor != nullptr) {
    m.executor = m.env.executor;
  } else {
    m.pool = std::make_unique<ThreadPool>(threads, speculative);
    m.executor = m.pool.get();
  }
  m.cache = std::make_unique<UnitCache>(m.options.cache_memory);
  m.fenced_puts = (caps & BP_BACKEND_CAP_PUT_IF_ABSENT) != 0;
  // Fencing needs both: put-if-absent for segments, compare-and-swap for the ownership record
  // (and the metadata change-password replaces).
  const bool conditional_put = (caps & BP_BACKEND_CAP_CONDITIONAL_PUT) != 0;
  m.writable = (m.fenced_puts && conditional_put) || m.options.allow_unfenced;
  m.identity = WriterIdentity::ForThisProcess(m.options.writer_id);
  if (m.options.durability == EngineOptions::Durability::kLocal && m.writable) {
    m.identity.local_journal = true;
    if (m.env.journal != nullptr) {
      m.journal = m.env.journal;
    } else if (m.options.journal_dir.empty()) {
      m.journal_error = Status::Invalid(
          "[engine] durability = \"local\" needs a journal directory ([journal] dir)");
    } else {
      m.journal_error =
          LocalJournal::Open(m.options.journal_dir, m.options.journal_max_size, &m.own_journal)
              .WithContext("opening the local journal");
      m.journal = m.own_journal.get();
    }
    if (m.journal_error.ok()) {
      const JournalBacklog backlog = m.journal->Backlog();
      spdlog::info("local journal {} ({} segment(s), {} bytes not yet in the store)",
                   m.journal->path(), backlog.segments, backlog.bytes);
    }
  }
  if (!m.fenced_puts || !conditional_put) {
    const std::string lacks = !m.fenced_puts && !conditional_put
                                  ? "atomic put-if-absent nor conditional put (put-if-match)"
                              : !m.fenced_puts ? "atomic put-if-absent"
                                               : "conditional put (put-if-match)";
    if (m.options.allow_unfenced) {
      spdlog::warn(
          "backend {} has no {}; volumes are writable without fencing "
          "(engine.allow_unfenced): ownership records are replaced with plain puts, so "
          "only one host may use them at a time",
          m.store->Describe(), lacks);
    } else {
      spdlog::warn(
          "backend {} has no {}, so a second writer could not be fenced off: volumes "
          "are served read-only. Set engine.allow_unfenced = true to write anyway when "
          "only one host uses the store",
          m.store->Describe(), lacks);
    }
  }
  if (m.env.timer_thread) m.ticker = std::thread([this] { impl_->TickLoop(); });
}

VolumeManager::~VolumeManager() {
  Status s = Shutdown();
  if (!s.ok()) spdlog::error("shutdown: {}", s.ToString());
}

void VolumeManager::Impl::TickLoop() {
  const auto period =
      std::chrono::milliseconds(std::clamp<uint32_t>(options.flush_interval_ms / 4, 5, 100));
  MutexLock lock(&tick_mu);
  while (!stopping) {
    const Clock::TimePoint next = clock->Now() + period;
    while (!stopping && clock->Now() < next) clock->WaitUntil(&tick_cv, &tick_mu, next);
    if (stopping) break;
    lock.Unlock();
    const std::vector<std::shared_ptr<Volume>> open = TickVolumes(clock->Now());
    if (trimmer.IdleNow(std::chrono::steady_clock::now())) {
      for (auto& v : open) v->ReleaseIdleMemory();
      cache->DropSpares();
      ReadScratch::ReleaseIdle();
      IdleTrimmer::TrimNow();
    }
    lock.Lock();
  }
}

std::vector<std::shared_ptr<Volume>> VolumeManager::Impl::TickVolumes(Clock::TimePoint now) {
  std::vector<std::shared_ptr<Volume>> open;
  {
    std::lock_guard<std::mutex> g(mu);
    for (auto& [name, v] : volumes) open.push_back(v);
  }
  for (auto& v : open) v->Tick(now);
  Metrics::Global().SetGauge("unit_cache_bytes", static_cast<int64_t>(cache->used_bytes()),
                             "Bytes the decoded-unit memory cache holds");
  Metrics::Global().SetGauge("unit_cache_capacity_bytes", static_cast<int64_t>(cache->capacity()),
                             "Configured size of the decoded-unit memory cache");
  return open;
}

void VolumeManager::Tick(Clock::TimePoint now) {
  // Idle trimming stays with the timer thread: it measures real idleness, and a simulated run
  // must not depend on real time.
  impl_->TickVolumes(now);
}

void VolumeManager::Kill() {
  Impl& m = *impl_;
  std::map<std::string, std::shared_ptr<Volume>> volumes, views;
  {
    std::lock_guard<std::mutex> lock(m.mu);
    m.shut_down = true;
    volumes.swap(m.volumes);
    views.swap(m.views);
    m.claims.clear();
  }
  {
    MutexLock lock(&m.tick_mu);
    m.stopping = true;
  }
  m.tick_cv.SignalAll();
  if (m.ticker.joinable()) m.ticker.join();
  if (m.pool) m.pool->Stop();
}

Status VolumeManager::Impl::OpenOne(const std::string& name, std::shared_ptr<Volume>* out) {
  Bytes object;
  Status s = store->Get(MetaKey(name), &object);
  if (s.IsNotFound()) return Status::NotFound("volume " + name + " does not exist");
  BP_RETURN_IF_ERROR(s.WithContext("volume " + name + ": reading metadata"));
  VolumeMeta meta;
  BP_RETURN_IF_ERROR(DecodeVolumeMetaObject(object.data(), object.size(), &meta)
                         .WithContext("volume " + name + ": " + MetaKey(name)));
  if (meta.name != name) {
    return Status::Corrupt("volume " + name + ": metadata names volume " + meta.name);
  }
  std::unique_ptr<CodecChain> chain;
  BP_RETURN_IF_ERROR(
      codecs->OpenChain(meta.uuid.data(), name, meta.codecs, &chain).WithContext("volume " + name));
  Volume::OpenOptions open;
  BP_RETURN_IF_ERROR(
      VolumeLayers::OpenBases(*codecs, meta.extensions, &open.bases).WithContext("volume " + name));
  // Claimed before recovery, which may already write (quarantine moves): a refused opener
  // writes nothing.
  const Uuid uuid = meta.uuid;
  if (writable) BP_RETURN_IF_ERROR(journal_error);
  if (writable) BP_RETURN_IF_ERROR(Claim(name, uuid));
  if (writable) DropStrayCloneRefs(name, uuid);  // before Volume::Open loads the pins
  open.writable = writable;
  open.fenced_puts = fenced_puts;
  s = Volume::Open(Services(), std::move(meta), std::move(chain), std::move(open), out);
  // With the local journal a failed open (its replay could not reach the store) keeps the
  // claim: the journal may hold flushed writes only this data dir can upload.
  if (!s.ok() && writable && !journal) Release(name, uuid);
  return s;
}

Status VolumeManager::Impl::CheckOwner(const std::string& name) {
  if (!writable) return Status::Ok();
  Bytes object;
  VolumeMeta meta;
  Status s = store->Get(MetaKey(name), &object);
  if (s.IsNotFound()) return Status::Ok();  // gone meanwhile: OpenOne reports it
  BP_RETURN_IF_ERROR(s.WithContext("volume " + name + ": reading metadata"));
  // Undecodable metadata is OpenOne's to report, with its own message.
  if (!DecodeVolumeMetaObject(object.data(), object.size(), &meta).ok()) return Status::Ok();
  return CheckOwnership(*store, name, meta.uuid, identity, TakeOverCovers(options.take_over, name),
                        options.take_over_force);
}

Status VolumeManager::Impl::Claim(const std::string& name, const Uuid& uuid) {
  OwnerRecord claimed;
  BP_RETURN_IF_ERROR(ClaimOwnership(*store, name, uuid, identity,
                                    TakeOverCovers(options.take_over, name), &claimed,
                                    options.take_over_force));
  std::lock_guard<std::mutex> lock(mu);
  claims[name] = std::move(claimed);
  return Status::Ok();
}

void VolumeManager::Impl::Release(const std::string& name, const Uuid& uuid) {
  OwnerRecord claimed;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = claims.find(name);
    if (it == claims.end()) return;
    claimed = std::move(it->second);
    claims.erase(it);
  }
  Status s = ReleaseOwnership(*store, name, uuid, claimed);
  if (!s.ok()) {
    spdlog::warn("volume {}: {} (the next opener from another data dir needs --take-over)", name,
                 s.ToString());
  }
}

Status VolumeManager::OpenAll() {
  Impl& m = *impl_;
  if (m.options.disk_cache_size != 0 && !m.disk_cache) {
    BP_RETURN_IF_ERROR(
        DiskCache::Open(m.options.disk_cache_dir, m.options.disk_cache_size, &m.disk_cache));
  }
  std::vector<std::string> names;
  BP_RETURN_IF_ERROR(ListVolumeNames(*m.store, &names));
  std::string failures;
  Status first_failure;
  // Ownership first, for every volume: a daemon that is refused one volume must not claim (and
  // then release) the others on its way out.
  for (const auto& name : names) {
    Status s = m.CheckOwner(name);
    if (s.ok()) continue;
    spdlog::error("{}", s.ToString());
    if (first_failure.ok()) first_failure = s;
    failures += (failures.empty() ? "" : "; ") + s.message();
  }
  if (!first_failure.ok()) return Status::FromCode(first_failure.raw_code(), failures);
  for (const auto& name : names) {
    {
      std::lock_guard<std::mutex> lock(m.mu);
      if (m.shut_down) return Status::Permanent("volume manager is shut down");
      if (m.volumes.count(name) || m.busy.count(name)) continue;
      m.busy.insert(name);
    }
    std::shared_ptr<Volume> v;
    Status s = m.OpenOne(name, &v);
    std::lock_guard<std::mutex> lock(m.mu);
    m.busy.erase(name);
    if (s.ok()) {
      m.volumes[name] = v;
    } else {
      spdlog::error("{}", s.ToString());
      if (first_failure.ok()) first_failure = s;
      failures += (failures.empty() ? "" : "; ") + s.message();
    }
  }
  if (first_failure.ok()) return Status::Ok();
  return Status::FromCode(first_failure.raw_code(), failures);
}

Status VolumeManager::Create(const std::string& name, uint64_t size) {
  Impl& m = *impl_;
  if (!IsValidVolumeName(name)) {
    return Status::Invalid("invalid volume name '" + name +
                           "': use 1-64 characters of A-Z a-z 0-9 . _ - not starting with . or -");
  }
  if (size == 0 || size % kBlockSize != 0 || size > kMaxVolumeSize) {
    return Status::Invalid("invalid size " + std::to_string(size) + " for volume " + name +
                           ": must be a positive multiple of 4096 bytes up to 4 EiB");
  }
  if (!m.writable) {
    return Status::Unsupported("cannot create volume " + name + ": backend " + m.store->Describe() +
                               " has no atomic put-if-absent or conditional put (set "
                               "engine.allow_unfenced = true)");
  }
  {
    std::lock_guard<std::mutex> lock(m.mu);
    if (m.shut_down) return Status::Permanent("volume manager is shut down");
    if (m.volumes.count(name) || m.busy.count(name)) {
      return Status::Precondition("volume " + name + " already exists");
    }
    m.busy.insert(name);
  }
  auto finish = [&](Status s, std::shared_ptr<Volume> v) {
    std::lock_guard<std::mutex> lock(m.mu);
    m.busy.erase(name);
    if (s.ok()) m.volumes[name] = std::move(v);
    return s;
  };

  VolumeMeta meta;
  meta.uuid = m.NewUuid();
  meta.name = name;
  meta.size = size;
  meta.unit_size = m.options.unit_size;
  meta.created_unix_ms = m.NowMs();
  std::unique_ptr<CodecChain> chain;
  Status s = m.codecs->CreateChain(meta.uuid.data(), name, &meta.codecs, &chain);
  if (!s.ok()) return finish(s.WithContext("creating volume " + name), nullptr);
  if (!m.fenced_puts) {
    Bytes existing;
    if (m.store->Get(MetaKey(name), &existing).ok()) {
      return finish(Status::Precondition("volume " + name + " already exists in the store" +
                                         OwnerNote(*m.store, name)),
                    nullptr);
    }
  }
  Bytes object = EncodeVolumeMetaObject(meta);
  s = m.store->Put(MetaKey(name), object.data(), object.size(), m.fenced_puts);
  if (s.IsPrecondition()) {
    return finish(Status::Precondition("volume " + name + " already exists in the store" +
                                       OwnerNote(*m.store, name)),
                  nullptr);
  }
  if (!s.ok()) return finish(s.WithContext("creating volume " + name), nullptr);
  // Leftovers of an earlier volume of this name whose deletion was interrupted (its meta goes
  // first) would otherwise block this volume's first segments. Those of an earlier volume
  // whose segments clones still share are not leftovers: the name stays taken.
  std::vector<ObjectInfo> leftovers;
  s = m.store->List(VolumePrefix(name), &leftovers);
  for (const auto& o : leftovers) {
    if (s.ok() && ClassifyVolumeKey(name, o.key) == VolumeKeyKind::kCloneRef) {
      IgnoreError(m.store->Delete(MetaKey(name)), "the refusal below is what the caller needs");
      return finish(Status::Precondition("the name " + name +
                                         " still holds segments that clones of a deleted "
                                         "volume of that name share (" +
                                         o.key + "); delete those clones or pick another name"),
                    nullptr);
    }
  }
  for (const auto& o : leftovers) {
    if (!s.ok()) break;
    if (o.key == MetaKey(name)) continue;
    spdlog::warn("volume {}: removing leftover object {} of an earlier volume", name, o.key);
    s = m.store->Delete(o.key);
  }
  if (!s.ok()) return finish(s.WithContext("creating volume " + name), nullptr);
  // The leftovers included any ownership record of an earlier volume: this claim finds none.
  const Uuid uuid = meta.uuid;
  s = m.Claim(name, uuid);
  if (!s.ok()) return finish(s.WithContext("creating volume " + name), nullptr);
  std::shared_ptr<Volume> v;
  s = Volume::Open(m.Services(), std::move(meta), std::move(chain), m.writable, m.fenced_puts, &v);
  if (!s.ok()) m.Release(name, uuid);
  if (s.ok()) {
    spdlog::info("volume {}: created ({} bytes, codecs {})", name, size, v->chain().Describe());
  }
  return finish(s, std::move(v));
}

Status VolumeManager::Impl::DeleteObjects(const std::string& name) {
  // Meta first: a half-deleted volume is then never rediscovered, and Create cleans the rest.
  BP_RETURN_IF_ERROR(store->Delete(MetaKey(name)).WithContext("deleting volume " + name));
  std::vector<ObjectInfo> objects;
  BP_RETURN_IF_ERROR(
      store->List(VolumePrefix(name), &objects).WithContext("deleting volume " + name));
  for (const auto& o : objects) {
    BP_RETURN_IF_ERROR(store->Delete(o.key).WithContext("deleting volume " + name));
  }
  return Status::Ok();
}

Status VolumeManager::Delete(const std::string& name) {
  Impl& m = *impl_;
  std::shared_ptr<Volume> v;
  {
    std::lock_guard<std::mutex> lock(m.mu);
    if (m.shut_down) return Status::Permanent("volume manager is shut down");
    if (m.busy.count(name)) return Status::Precondition("volume " + name + " is busy");
    auto it = m.volumes.find(name);
    if (it != m.volumes.end()) {
      uint32_t refs = it->second->references.load();
      if (refs > 0) {
        return Status::Precondition("volume " + name + " is in use by " + std::to_string(refs) +
                                    " connection(s)");
      }
      v = it->second;
    }
    m.busy.insert(name);
  }
  Status s;
  if (!v) {
    Bytes meta;
    s = m.store->Get(MetaKey(name), &meta);
    if (s.IsNotFound()) s = Status::NotFound("volume " + name + " does not exist");
    // Not open here: it may be another daemon's (created after this one started).
    VolumeMeta decoded;
    if (s.ok() && m.writable && DecodeVolumeMetaObject(meta.data(), meta.size(), &decoded).ok()) {
      s = CheckOwnership(*m.store, name, decoded.uuid, m.identity, /*take_over=*/false);
      if (!s.ok()) s = s.WithContext("cannot delete it");
    }
  } else if (!m.writable) {
    s = Status::Unsupported("cannot delete volume " + name + ": the store is read-only here");
  } else if (v->read_only()) {
    s = Status::Precondition("cannot delete volume " + name +
                             ": another writer took it over, so "
                             "it is read-only here" +
                             OwnerNote(*m.store, name));
  }
  // A connected snapshot export refuses the deletion before anything is closed.
  bool views_busy = false;
  if (s.ok()) {
    s = m.CloseViews(name, "");
    views_busy = !s.ok();
  }
  bool has_clones = false;
  if (s.ok() && v) {
    for (const Pin& p : v->Pins().pins) has_clones |= p.kind == Pin::Kind::kClone;
  } else if (s.ok()) {
    std::vector<ObjectInfo> refs;
    s = m.store->List(CloneRefPrefix(name), &refs);
    if (s.ok() && !refs.empty()) {
      s = Status::Precondition("volume " + name +
                               " has clones and is not served here; delete it from the daemon "
                               "that serves it");
    }
  }
  if (s.ok() && v) {
    IgnoreError(v->Close(/*clean=*/false),
                "an unclean close flushes nothing, so it cannot fail; the objects go next");
  }
  // (The sabotage is a deliberate bug for the simulator's self-test, engine_options.h.)
  if (m.options.sabotage & Sabotage::kDeleteSharedSegments) has_clones = false;
  if (s.ok()) s = has_clones ? m.DeleteObjectsKeepingShared(name, v) : m.DeleteObjects(name);
  if (s.ok() && v) m.ReleaseBases(v->meta());
  if (s.ok() && v) m.cache->EraseVolume(v->meta().uuid);
  if (s.ok() && v && m.disk_cache) m.disk_cache->EraseVolume(v->meta().uuid);
  std::lock_guard<std::mutex> lock(m.mu);
  m.busy.erase(name);
  if (s.ok()) m.claims.erase(name);  // the record went with the volume's other objects
  // Once closing started the volume cannot serve again, even if some objects remain.
  if (v && !views_busy && (s.ok() || !s.IsNotFound())) m.volumes.erase(name);
  if (s.ok()) spdlog::info("volume {}: deleted", name);
  return s;
}

std::vector<VolumeSummary> VolumeManager::List() const {
  std::vector<std::shared_ptr<Volume>> open;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    for (auto& [name, v] : impl_->volumes) open.push_back(v);
  }
  std::vector<VolumeSummary> out;
  for (auto& v : open) out.push_back(v->Summary());
  return out;
}

bool VolumeManager::Exists(const std::string& name) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->volumes.count(name) != 0;
}

Status VolumeManager::OpenRef(const std::string& name, bool read_only,
                              std::unique_ptr<VolumeRef>* ref) {
  if (const size_t at = name.find('@'); at != std::string::npos) {
    const std::string volume = name.substr(0, at);
    const std::string snapshot = name.substr(at + 1);
    if (!IsValidVolumeName(volume) || !IsValidVolumeName(snapshot)) {
      return Status::NotFound("no volume named " + name);
    }
    return impl_->OpenViewRef(volume, snapshot, ref);
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->shut_down) return Status::Permanent("volume manager is shut down");
  auto it = impl_->volumes.find(name);
  if (it == impl_->volumes.end() || impl_->busy.count(name)) {
    return Status::NotFound("no volume named " + name);
  }
  it->second->references++;
  *ref = std::make_unique<VolumeRefImpl>(it->second, read_only, &impl_->trimmer);
  return Status::Ok();
}

Status VolumeManager::RunGc(const std::string& name,
                            std::vector<std::pair<std::string, uint64_t>>* passes) {
  std::vector<std::shared_ptr<Volume>> targets;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->shut_down) return Status::Permanent("volume manager is shut down");
    for (auto& [n, v] : impl_->volumes) {
      if (impl_->busy.count(n)) continue;
      if (name.empty() ? !v->read_only() : n == name) targets.push_back(v);
    }
  }
  if (!name.empty() && targets.empty()) return Status::NotFound("no volume named " + name);
  for (auto& v : targets) {
    uint64_t pass = 0;
    BP_RETURN_IF_ERROR(v->RequestGc(&pass));
    passes->emplace_back(v->name(), pass);
  }
  return Status::Ok();
}

Status VolumeManager::FlushAll() {
  std::vector<std::shared_ptr<Volume>> open;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    for (auto& [name, v] : impl_->volumes) open.push_back(v);
  }
  Status result;
  for (auto& v : open) {
    Status s = v->FlushSync();
    if (!s.ok() && result.ok()) result = s;
  }
  return result;
}

bool VolumeManager::Journal(JournalBacklog* backlog, std::string* path, uint64_t* max_size) const {
  const Impl& m = *impl_;
  if (m.journal == nullptr) return false;
  *backlog = m.journal->Backlog();
  *path = m.journal->path();
  *max_size = m.journal->max_bytes();
  return true;
}

Status VolumeManager::Shutdown() {
  Impl& m = *impl_;
  std::vector<std::shared_ptr<Volume>> open;
  {
    std::lock_guard<std::mutex> lock(m.mu);
    if (m.shut_down) return Status::Ok();
    m.shut_down = true;
    for (auto& [name, v] : m.volumes) open.push_back(v);
  }
  {
    MutexLock lock(&m.tick_mu);
    m.stopping = true;
  }
  m.tick_cv.SignalAll();
  if (m.ticker.joinable()) m.ticker.join();
  std::map<std::string, std::shared_ptr<Volume>> views;
  {
    std::lock_guard<std::mutex> lock(m.mu);
    views.swap(m.views);
  }
  for (auto& [key, view] : views) {
    IgnoreError(view->Close(/*clean=*/false), "a snapshot view holds no data to flush");
  }
  Status result;
  for (auto& v : open) {
    Status s = v->Close(/*clean=*/true);
    if (!s.ok()) {
      spdlog::error("volume {}: {}", v->name(), s.ToString());
      if (result.ok()) result = s;
      continue;  // a volume that did not close cleanly stays claimed: its data dir takes it back
    }
    m.Release(v->name(), v->meta().uuid);
  }
  if (m.pool) m.pool->Stop();
  m.disk_cache.reset();  // writes what is queued (after the last read and upload)
  return result;
}

}  // namespace bp
