// SqliteDb: opening, statements and error mapping over sqlite3 (see sqlite_db.h).
#include "util/sqlite_db.h"

#include <utility>

namespace bp {

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), stmt_(std::exchange(other.stmt_, nullptr)) {}

SqliteStatement& SqliteStatement::operator=(SqliteStatement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }

SqliteStatement& SqliteStatement::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

SqliteStatement& SqliteStatement::Bind(int index, const std::string& text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

SqliteStatement& SqliteStatement::BindBlob(int index, const void* data, size_t length) {
  // A zero-length blob is still a blob, not NULL: sqlite takes any non-null pointer for it.
  static const uint8_t kEmpty = 0;
  sqlite3_bind_blob64(stmt_, index, length ? data : &kEmpty, length, SQLITE_TRANSIENT);
  return *this;
}

Status SqliteStatement::Step(bool* row) {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    *row = true;
    return Status::Ok();
  }
  *row = false;
  Status status = rc == SQLITE_DONE ? Status::Ok() : Failure(rc, "step");
  Reset();
  return status;
}

Status SqliteStatement::Run() {
  bool row = true;
  while (row) {
    Status status = Step(&row);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

void SqliteStatement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t SqliteStatement::ColumnInt(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string SqliteStatement::ColumnText(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  int length = sqlite3_column_bytes(stmt_, column);
  return text ? std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(length))
              : std::string();
}

const uint8_t* SqliteStatement::ColumnBlob(int column, size_t* length) const {
  const void* data = sqlite3_column_blob(stmt_, column);
  *length = static_cast<size_t>(sqlite3_column_bytes(stmt_, column));
  return static_cast<const uint8_t*>(data);
}

bool SqliteStatement::ColumnIsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

Status SqliteStatement::Failure(int rc, const char* what) const {
  const char* sql = sqlite3_sql(stmt_);
  return db_->Error(rc, std::string(what) + " of `" + (sql ? sql : "?") + "`");
}

Status SqliteDb::Open(const std::string& path, Sync sync, std::unique_ptr<SqliteDb>* out,
                      int busy_timeout_ms) {
  out->reset();
  sqlite3* handle = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &handle,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<SqliteDb> db(new SqliteDb(handle, path));
  if (rc != SQLITE_OK) return db->Error(rc, "opening");
  sqlite3_extended_result_codes(handle, 1);
  sqlite3_busy_timeout(handle, busy_timeout_ms);
  // WAL: a commit appends to the log and fsyncs it once, readers never block the writer.
  std::string pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=";
  pragmas += sync == Sync::kFull ? "FULL;" : "NORMAL;";
  Status status = db->Exec(pragmas);
  if (!status.ok()) return status;
  // journal_mode=WAL answers with the mode it got; a file system without shared memory
  // support falls back silently, which would break the durability the caller asked for.
  SqliteStatement mode;
  status = db->Prepare("PRAGMA journal_mode;", &mode);
  if (!status.ok()) return status;
  bool row = false;
  status = mode.Step(&row);
  if (!status.ok()) return status;
  std::string got = row ? mode.ColumnText(0) : "";
  mode.Reset();
  if (got != "wal")
    return Status::Permanent(path + ": sqlite could not use WAL mode (journal_mode is '" + got +
                             "'); put the file on a local file system");
  *out = std::move(db);
  return Status::Ok();
}

SqliteDb::~SqliteDb() { sqlite3_close_v2(db_); }

Status SqliteDb::Exec(const std::string& sql) {
  char* message = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string detail = message ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  return Error(rc, "`" + sql + "`").WithContext(detail);
}

Status SqliteDb::Prepare(const std::string& sql, SqliteStatement* out) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size() + 1),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return Error(rc, "preparing `" + sql + "`");
  *out = SqliteStatement(this, stmt);
  return Status::Ok();
}

Status SqliteDb::WriteBlobParts(const char* table, const char* column, int64_t rowid,
                                const std::vector<std::pair<const void*, size_t>>& parts) {
  sqlite3_blob* blob = nullptr;
  int rc = sqlite3_blob_open(db_, "main", table, column, rowid, /*flags=*/1, &blob);
  if (rc != SQLITE_OK) {
    sqlite3_blob_close(blob);
    return Error(rc, std::string("opening the blob of ") + table + "." + column);
  }
  int offset = 0;
  for (const auto& [data, length] : parts) {
    if (length == 0) continue;
    rc = sqlite3_blob_write(blob, data, static_cast<int>(length), offset);
    if (rc != SQLITE_OK) break;
    offset += static_cast<int>(length);
  }
  const int closed = sqlite3_blob_close(blob);
  if (rc == SQLITE_OK) rc = closed;
  if (rc != SQLITE_OK) return Error(rc, std::string("writing the blob of ") + table + "." + column);
  return Status::Ok();
}

int64_t SqliteDb::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }

int64_t SqliteDb::Changes() const { return sqlite3_changes64(db_); }

Status SqliteDb::Error(int rc, const std::string& context) const {
  std::string message =
      path_ + ": sqlite " + context + ": " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_FULL: return Status::Transient(message + " (the disk is full)");
    case SQLITE_IOERR:
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Status::Transient(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return Status::Corrupt(message);
    default: return Status::Permanent(message);
  }
}

SqliteTransaction::~SqliteTransaction() {
  // A failed ROLLBACK leaves nothing to do: sqlite rolls back an open transaction itself when
  // the connection closes or the next BEGIN fails.
  if (open_) IgnoreError(db_->Exec("ROLLBACK;"), "rollback of an abandoned transaction");
}

Status SqliteTransaction::Begin() {
  Status status = db_->Exec("BEGIN IMMEDIATE;");
  open_ = status.ok();
  return status;
}

Status SqliteTransaction::Commit() {
  Status status = db_->Exec("COMMIT;");
  if (status.ok()) open_ = false;
  return status;
}

}  // namespace bp
