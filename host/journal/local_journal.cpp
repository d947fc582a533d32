// LocalJournal implementation: the SQLite schema, group-commit appends with incremental blob
// writes, drops, replay reads and the fsck check (see local_journal.h).
#include "journal/local_journal.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "util/crc32c.h"

namespace bp {
namespace {

// Format 2 added the deltas table. A format-1 journal (segment images only) is upgraded in
// place when opened; a blockpipe that reads only format 1 refuses a format-2 journal rather
// than replaying it without its deltas.
constexpr const char* kFormat = "2";

// Room kept free on the journal's file system beyond what a commit and the checkpoint after it
// can take: enough for the transaction that drops uploaded rows (a few pages per row, and one
// free-list page per ~1000 pages freed) and SQLite's shared-memory index growing with the WAL.
constexpr uint64_t kDiskHeadroom = 1ull << 20;

// The schema. The image is the last column, so listing rows never reads its overflow pages.
// journal_size_limit trims the WAL file after each checkpoint, so a burst of large segments
// does not leave a WAL of that size behind for good. secure_delete is off (Debian's SQLite
// turns it on): it would zero every page of a dropped row through the WAL, writing each
// segment twice and making a drop need as much free disk as the rows it frees. The images are
// what the store gets anyway (encrypted for an encrypted volume).
constexpr const char* kSchema = R"sql(
PRAGMA secure_delete = OFF;
CREATE TABLE IF NOT EXISTS journal_info(key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO journal_info(key, value) VALUES('format', '2');
CREATE TABLE IF NOT EXISTS segments(
  id INTEGER PRIMARY KEY,
  volume_uuid BLOB NOT NULL,
  seq INTEGER NOT NULL,
  volume TEXT NOT NULL,
  size INTEGER NOT NULL,
  crc INTEGER NOT NULL,
  image BLOB NOT NULL,
  UNIQUE(volume_uuid, seq));
CREATE TABLE IF NOT EXISTS deltas(
  id INTEGER PRIMARY KEY,
  volume_uuid BLOB NOT NULL,
  seq INTEGER NOT NULL,
  part INTEGER NOT NULL,
  volume TEXT NOT NULL,
  size INTEGER NOT NULL,
  crc INTEGER NOT NULL,
  image BLOB NOT NULL,
  UNIQUE(volume_uuid, seq, part));
PRAGMA journal_size_limit = 67108864;
)sql";

Status MakeDirs(const std::string& dir) {
  std::string path;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    path = dir.substr(0, pos);
    if (path.empty()) continue;
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
      return Status::Permanent("creating the journal directory " + path + ": " +
                               std::strerror(errno));
    }
  }
  return Status::Ok();
}

bool UuidFromBlob(const uint8_t* p, size_t n, Uuid* out) {
  if (n != out->size()) return false;
  std::memcpy(out->data(), p, n);
  return true;
}

}  // namespace

Status LocalJournal::Open(const std::string& dir, uint64_t max_bytes,
                          std::unique_ptr<LocalJournal>* out) {
  BP_RETURN_IF_ERROR(MakeDirs(dir));
  const std::string path = dir + "/" + kJournalFileName;
  std::unique_ptr<SqliteDb> db;
  BP_RETURN_IF_ERROR(SqliteDb::Open(path, SqliteDb::Sync::kFull, &db));
  std::unique_ptr<LocalJournal> journal(new LocalJournal(path, max_bytes, std::move(db)));
  BP_RETURN_IF_ERROR(journal->Init());
  *out = std::move(journal);
  return Status::Ok();
}

Status LocalJournal::OpenExisting(const std::string& dir, std::unique_ptr<LocalJournal>* out) {
  struct stat st {};
  const std::string path = dir + "/" + kJournalFileName;
  if (::stat(path.c_str(), &st) != 0) return Status::NotFound("no journal at " + path);
  return Open(dir, 0, out);
}

Status LocalJournal::Init() {
  MutexLock lock(&mu_);
  // Incremental auto-vacuum lets CheckRoom hand the pages of dropped rows back to the file
  // system when the disk is tight (a commit goes to the WAL first, which cannot use them). The
  // mode only changes with a VACUUM once the file exists (opening it in WAL mode wrote its
  // header): instant for a new journal.
  int64_t vacuum_mode = 0;
  BP_RETURN_IF_ERROR(Pragma("auto_vacuum", &vacuum_mode));
  if (vacuum_mode != 2) {
    BP_RETURN_IF_ERROR(db_->Exec("PRAGMA auto_vacuum = INCREMENTAL; VACUUM;")
                           .WithContext("setting the journal's auto_vacuum mode"));
  }
  BP_RETURN_IF_ERROR(db_->Exec(kSchema));
  SqliteStatement format;
  BP_RETURN_IF_ERROR(db_->Prepare("SELECT value FROM journal_info WHERE key = 'format'", &format));
  bool row = false;
  BP_RETURN_IF_ERROR(format.Step(&row));
  std::string version = row ? format.ColumnText(0) : "";
  format.Reset();
  if (version == "1") {
    // The schema above added the deltas table; nothing else changed.
    BP_RETURN_IF_ERROR(db_->Exec(std::string("UPDATE journal_info SET value = '") + kFormat +
                                 "' WHERE key = 'format'")
                           .WithContext("upgrading the journal's format"));
    version = kFormat;
  }
  if (version != kFormat) {
    return Status::Unsupported(path_ + ": journal format '" + version + "' (this blockpipe reads " +
                               kFormat + "): written by a newer blockpipe");
  }
  BP_RETURN_IF_ERROR(
      db_->Prepare("INSERT OR REPLACE INTO segments(volume_uuid, seq, volume, size, crc, image) "
                   "VALUES(?, ?, ?, ?, ?, zeroblob(?))",
                   &insert_));
  BP_RETURN_IF_ERROR(db_->Prepare(
      "INSERT OR REPLACE INTO deltas(volume_uuid, seq, part, volume, size, crc, image) "
      "VALUES(?, ?, ?, ?, ?, ?, zeroblob(?))",
      &insert_delta_));
  BP_RETURN_IF_ERROR(
      db_->Prepare("DELETE FROM deltas WHERE volume_uuid = ? AND seq = ?", &drop_deltas_));
  return Recount();
}

Status LocalJournal::Recount() {
  SqliteStatement count;
  BP_RETURN_IF_ERROR(
      db_->Prepare("SELECT count(DISTINCT volume_uuid || '/' || seq), coalesce(sum(size), 0) FROM ("
                   "SELECT volume_uuid, seq, size FROM segments UNION ALL "
                   "SELECT volume_uuid, seq, size FROM deltas)",
                   &count));
  bool row = false;
  BP_RETURN_IF_ERROR(count.Step(&row));
  backlog_.segments = row ? static_cast<uint64_t>(count.ColumnInt(0)) : 0;
  backlog_.bytes = row ? static_cast<uint64_t>(count.ColumnInt(1)) : 0;
  count.Reset();
  return Status::Ok();
}

bool LocalJournal::Reserve(uint64_t bytes) {
  MutexLock lock(&mu_);
  const uint64_t used = backlog_.bytes + reserved_;
  if (max_bytes_ != 0 && used != 0 && used + bytes > max_bytes_) return false;
  reserved_ += bytes;
  return true;
}

void LocalJournal::Unreserve(uint64_t bytes) {
  MutexLock lock(&mu_);
  reserved_ -= std::min(reserved_, bytes);
}

Status LocalJournal::Append(const Uuid& uuid, const std::string& volume,
                            const std::vector<Segment>& segments, uint64_t reserved) {
  // Checksums first, without the lock: the images are immutable while their tasks hold them.
  std::vector<uint32_t> crcs;
  std::vector<uint64_t> sizes;
  for (const Segment& seg : segments) {
    uint32_t crc = 0;
    uint64_t size = 0;
    for (const ObjectPart& part : seg.parts) {
      crc = Crc32c(part.data, part.length, crc);
      size += part.length;
    }
    crcs.push_back(crc);
    sizes.push_back(size);
  }
  uint64_t total = 0;
  for (uint64_t size : sizes) total += size;
  MutexLock lock(&mu_);
  reserved_ -= std::min(reserved_, reserved);
  BP_RETURN_IF_ERROR(CheckRoom(total));
  SqliteTransaction tx(db_.get());
  BP_RETURN_IF_ERROR(tx.Begin());
  for (size_t i = 0; i < segments.size(); ++i) {
    const Segment& seg = segments[i];
    const bool delta = seg.delta != 0;
    if (delta) {
      insert_delta_.BindBlob(1, uuid.data(), uuid.size())
          .Bind(2, static_cast<int64_t>(seg.seq))
          .Bind(3, static_cast<int64_t>(seg.delta))
          .Bind(4, volume)
          .Bind(5, static_cast<int64_t>(sizes[i]))
          .Bind(6, static_cast<int64_t>(crcs[i]))
          .Bind(7, static_cast<int64_t>(sizes[i]));
      BP_RETURN_IF_ERROR(insert_delta_.Run());
    } else {
      insert_.BindBlob(1, uuid.data(), uuid.size())
          .Bind(2, static_cast<int64_t>(seg.seq))
          .Bind(3, volume)
          .Bind(4, static_cast<int64_t>(sizes[i]))
          .Bind(5, static_cast<int64_t>(crcs[i]))
          .Bind(6, static_cast<int64_t>(sizes[i]));
      BP_RETURN_IF_ERROR(insert_.Run());
    }
    std::vector<std::pair<const void*, size_t>> pieces;
    for (const ObjectPart& part : seg.parts) pieces.emplace_back(part.data, part.length);
    BP_RETURN_IF_ERROR(db_->WriteBlobParts(delta ? "deltas" : "segments", "image",
                                           db_->LastInsertRowId(), pieces));
    if (!delta) {
      // The whole segment says everything its deltas said.
      drop_deltas_.BindBlob(1, uuid.data(), uuid.size()).Bind(2, static_cast<int64_t>(seg.seq));
      BP_RETURN_IF_ERROR(drop_deltas_.Run());
    }
  }
  BP_RETURN_IF_ERROR(tx.Commit());
  // A replaced row is counted again here; recounting keeps the figures exact and is cheap next
  // to the commit's fsync.
  return Recount();
}

Status LocalJournal::CheckRoom(uint64_t bytes) {
  uint64_t free = 0, need = 0;
  for (int attempt = 0;; ++attempt) {
    const std::string dir = path_.substr(0, path_.rfind('/'));
    struct statvfs fs {};
    int64_t page_size = 0, page_count = 0, free_pages = 0;
    if (::statvfs(dir.c_str(), &fs) != 0 || !Pragma("page_size", &page_size).ok() ||
        !Pragma("page_count", &page_count).ok() || !Pragma("freelist_count", &free_pages).ok()) {
      return Status::Ok();  // cannot tell: SQLite will
    }
    free = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
    struct stat db_file {};
    const uint64_t db_bytes =
        ::stat(path_.c_str(), &db_file) == 0 ? static_cast<uint64_t>(db_file.st_size) : 0;
    // The commit writes `bytes` to the WAL (at most: a WAL reused after a checkpoint needs no
    // new space). A checkpoint later writes every page into the database file: the file grows
    // to the database's size as committed so far (pending growth) plus the pages the rows
    // cannot take from the free list (pages of rows dropped earlier).
    const uint64_t logical = static_cast<uint64_t>(page_count) * static_cast<uint64_t>(page_size);
    const uint64_t pending = logical > db_bytes ? logical - db_bytes : 0;
    const uint64_t reusable = static_cast<uint64_t>(free_pages) * static_cast<uint64_t>(page_size);
    const uint64_t growth = bytes > reusable ? bytes - reusable : 0;
    need = bytes + pending + growth + kDiskHeadroom;
    if (free >= need) return Status::Ok();
    if (attempt != 0) break;
    // Tight: copy the WAL into the database, give the free pages of dropped rows back to the
    // file system (incremental_vacuum moves live pages down; in WAL mode the file shrinks at
    // the checkpoint after it) and cut the WAL file to nothing (it otherwise keeps its largest
    // size), then look again. Best effort: a step that fails leaves the database as it was.
    // Only here, not after every drop: a database and WAL that keep their size cost each
    // commit less.
    (void)db_->Exec("PRAGMA wal_checkpoint(TRUNCATE)");
    (void)db_->Exec("PRAGMA incremental_vacuum");
    if (!db_->Exec("PRAGMA wal_checkpoint(TRUNCATE)").ok()) break;
  }
  return Status::Transient(path_ + ": the disk is full: " + std::to_string(free) +
                           " bytes free, committing " + std::to_string(bytes) + " bytes needs " +
                           std::to_string(need) +
                           " (with room to drop uploaded segments afterwards)");
}

Status LocalJournal::Pragma(const char* name, int64_t* value) const {
  SqliteStatement query;
  BP_RETURN_IF_ERROR(db_->Prepare(std::string("PRAGMA ") + name, &query));
  bool row = false;
  BP_RETURN_IF_ERROR(query.Step(&row));
  *value = row ? query.ColumnInt(0) : 0;
  query.Reset();
  return Status::Ok();
}

Status LocalJournal::DropThrough(const Uuid& uuid, uint64_t through) {
  MutexLock lock(&mu_);
  const int64_t limit =
      through > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(through);
  SqliteTransaction tx(db_.get());
  BP_RETURN_IF_ERROR(tx.Begin());
  for (const char* table : {"segments", "deltas"}) {
    SqliteStatement drop;
    BP_RETURN_IF_ERROR(db_->Prepare(
        std::string("DELETE FROM ") + table + " WHERE volume_uuid = ? AND seq <= ?", &drop));
    drop.BindBlob(1, uuid.data(), uuid.size()).Bind(2, limit);
    BP_RETURN_IF_ERROR(drop.Run());
  }
  BP_RETURN_IF_ERROR(tx.Commit());
  return Recount();
}

Status LocalJournal::List(const Uuid* uuid, std::vector<JournalRow>* out) {
  out->clear();
  MutexLock lock(&mu_);
  SqliteStatement list;
  const std::string rows =
      "SELECT volume, volume_uuid, seq, 0 AS part, size FROM segments UNION ALL "
      "SELECT volume, volume_uuid, seq, part, size FROM deltas";
  if (uuid) {
    BP_RETURN_IF_ERROR(db_->Prepare(
        "SELECT * FROM (" + rows + ") WHERE volume_uuid = ? ORDER BY seq, part", &list));
    list.BindBlob(1, uuid->data(), uuid->size());
  } else {
    BP_RETURN_IF_ERROR(
        db_->Prepare("SELECT * FROM (" + rows + ") ORDER BY volume_uuid, seq, part", &list));
  }
  for (;;) {
    bool row = false;
    BP_RETURN_IF_ERROR(list.Step(&row));
    if (!row) break;
    JournalRow r;
    r.volume = list.ColumnText(0);
    size_t n = 0;
    const uint8_t* p = list.ColumnBlob(1, &n);
    if (!UuidFromBlob(p, n, &r.uuid)) {
      list.Reset();
      return Status::Corrupt(path_ + ": a journal row of volume " + r.volume +
                             " has a malformed uuid");
    }
    r.seq = static_cast<uint64_t>(list.ColumnInt(2));
    r.delta = static_cast<uint32_t>(list.ColumnInt(3));
    r.size = static_cast<uint64_t>(list.ColumnInt(4));
    out->push_back(std::move(r));
  }
  return Status::Ok();
}

Status LocalJournal::Read(const Uuid& uuid, uint64_t seq, uint32_t delta, Bytes* image) {
  MutexLock lock(&mu_);
  SqliteStatement read;
  if (delta == 0) {
    BP_RETURN_IF_ERROR(db_->Prepare(
        "SELECT size, crc, image FROM segments WHERE volume_uuid = ? AND seq = ?", &read));
  } else {
    BP_RETURN_IF_ERROR(db_->Prepare(
        "SELECT size, crc, image FROM deltas WHERE volume_uuid = ? AND seq = ? AND part = ?",
        &read));
    read.Bind(3, static_cast<int64_t>(delta));
  }
  read.BindBlob(1, uuid.data(), uuid.size()).Bind(2, static_cast<int64_t>(seq));
  bool row = false;
  BP_RETURN_IF_ERROR(read.Step(&row));
  const std::string what = path_ + ": journaled segment " + std::to_string(seq) +
                           (delta == 0 ? std::string() : " (delta " + std::to_string(delta) + ")");
  if (!row) return Status::NotFound(what + " is gone");
  const uint64_t size = static_cast<uint64_t>(read.ColumnInt(0));
  const uint32_t crc = static_cast<uint32_t>(read.ColumnInt(1));
  size_t n = 0;
  const uint8_t* p = read.ColumnBlob(2, &n);
  Status result = Status::Ok();
  if (n != size) {
    result = Status::Corrupt(what + " holds " + std::to_string(n) + " bytes, its row says " +
                             std::to_string(size));
  } else if (Crc32c(p, n) != crc) {
    result = Status::Corrupt(what + " fails its checksum");
  } else {
    image->assign(p, p + n);
  }
  read.Reset();
  return result;
}

JournalBacklog LocalJournal::Backlog() const {
  MutexLock lock(&mu_);
  return backlog_;
}

Status CheckJournal(LocalJournal& journal, JournalCheck* out) {
  std::vector<JournalRow> rows;
  BP_RETURN_IF_ERROR(journal.List(nullptr, &rows));
  std::map<Uuid, JournalRow> last;  // per volume, the row before
  for (const JournalRow& row : rows) {
    out->backlog.bytes += row.size;
    std::string what = "volume " + row.volume + " segment " + std::to_string(row.seq);
    if (row.delta != 0) what += " delta " + std::to_string(row.delta);
    auto it = last.find(row.uuid);
    const bool same_seq = it != last.end() && it->second.seq == row.seq;
    if (!same_seq) out->backlog.segments++;
    if (it == last.end()) {
      out->volumes++;
    } else if (!same_seq && row.seq != it->second.seq + 1) {
      out->problems.push_back(what + ": the journal skips from segment " +
                              std::to_string(it->second.seq) +
                              " (only the run before the gap would be replayed)");
    }
    // A seq's deltas are numbered 1, 2, … without gaps (its image, delta 0, lists first).
    const uint32_t expected_delta = same_seq ? it->second.delta + 1 : (row.delta == 0 ? 0 : 1);
    if (row.delta != 0 && row.delta != expected_delta) {
      out->problems.push_back(what + ": the deltas of the segment skip from " +
                              std::to_string(expected_delta - 1) +
                              " (only the deltas before the gap would be replayed)");
    }
    last[row.uuid] = row;
    Bytes image;
    Status s = journal.Read(row.uuid, row.seq, row.delta, &image);
    if (!s.ok()) {
      out->problems.push_back(s.ToString());
      continue;
    }
    ObjectHeader header;
    s = DecodeObjectHeader(image.data(), image.size(), ObjectType::kSegment, &header);
    if (!s.ok()) {
      out->problems.push_back(what + ": " + s.ToString());
    } else if (header.uuid != row.uuid || header.seq != row.seq) {
      out->problems.push_back(what + ": the image is of another volume or segment");
    } else if (header.object_length() != image.size()) {
      out->problems.push_back(what + ": the image is " + std::to_string(image.size()) +
                              " bytes, its header says " + std::to_string(header.object_length()));
    }
  }
  return Status::Ok();
}

}  // namespace bp
