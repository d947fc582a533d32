// SqliteDb: the one wrapper over sqlite3 that the host's local state uses (the journal, the disk
// cache's index). It opens a database in WAL mode with the synchronous level the caller needs,
// prepares statements once and turns every sqlite3 result into a Status whose message names
// the database file and the statement, so a full disk or a damaged file reads as what it is.
//
// Thread rules: one SqliteDb is used by one thread at a time (the owner holds a lock around
// it); the connection is opened with SQLITE_OPEN_NOMUTEX, so sqlite adds no locking of its own.
// A Statement belongs to its SqliteDb and must not outlive it.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "util/status.h"

namespace bp {

class SqliteDb;

// A prepared statement. Bind, then Step until it reports no row; Reset before reuse (Step does
// it when the statement ran to its end or failed).
class SqliteStatement {
 public:
  SqliteStatement() = default;
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&& other) noexcept;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;
  ~SqliteStatement();

  // Parameters are 1-based, as in sqlite3_bind_*. The blob and text are copied.
  SqliteStatement& Bind(int index, int64_t value);
  SqliteStatement& Bind(int index, const std::string& text);
  SqliteStatement& BindBlob(int index, const void* data, size_t length);

  // Runs one step: *row is true when a result row is ready to read with the Column* calls.
  // At the end (or on an error) the statement is reset and its bindings cleared.
  Status Step(bool* row);
  // Runs the statement to its end, ignoring result rows (INSERT, UPDATE, DELETE).
  Status Run();
  void Reset();

  int64_t ColumnInt(int column) const;
  std::string ColumnText(int column) const;
  // The blob's bytes stay valid until the next Step, Reset or column call on this statement.
  const uint8_t* ColumnBlob(int column, size_t* length) const;
  bool ColumnIsNull(int column) const;

 private:
  friend class SqliteDb;
  SqliteStatement(SqliteDb* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Status Failure(int rc, const char* what) const;

  SqliteDb* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

class SqliteDb {
 public:
  enum class Sync {
    // synchronous=FULL: a committed transaction survives a power cut (the journal's promise).
    kFull,
    // synchronous=NORMAL: a commit may be lost to a power cut but the file stays consistent
    // (enough for a cache index, which can always be rebuilt or dropped).
    kNormal,
  };

  // Opens (creating when absent) the database at path in WAL mode. busy_timeout_ms bounds how
  // long a statement waits for another connection's lock before failing Transient.
  static Status Open(const std::string& path, Sync sync, std::unique_ptr<SqliteDb>* out,
                     int busy_timeout_ms = 5000);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs one or more statements that take no parameters (schema, pragmas, BEGIN/COMMIT).
  Status Exec(const std::string& sql);
  Status Prepare(const std::string& sql, SqliteStatement* out);
  // Fill the blob in `column` of row `rowid` of `table` (created with zeroblob(total length))
  // with `parts` back to back, without copying them into one buffer first (incremental blob
  // I/O). Must run inside the transaction that inserted the row.
  Status WriteBlobParts(const char* table, const char* column, int64_t rowid,
                        const std::vector<std::pair<const void*, size_t>>& parts);
  // The rowid of the last INSERT on this connection.
  int64_t LastInsertRowId() const;
  // Rows changed by the last INSERT, UPDATE or DELETE.
  int64_t Changes() const;

  const std::string& path() const { return path_; }
  sqlite3* handle() const { return db_; }

  // The Status for an sqlite3 result code: SQLITE_FULL and I/O errors are Transient (the disk
  // may recover), BUSY/LOCKED Transient, CORRUPT/NOTADB Corrupt, the rest Permanent.
  Status Error(int rc, const std::string& context) const;

 private:
  SqliteDb(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
};

// BEGIN IMMEDIATE on construction; Commit() makes it durable; destruction without Commit rolls
// back (so an early return on an error leaves nothing half-written).
class SqliteTransaction {
 public:
  explicit SqliteTransaction(SqliteDb* db) : db_(db) {}
  ~SqliteTransaction();
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;
  Status Begin();
  Status Commit();

 private:
  SqliteDb* db_;
  bool open_ = false;
};

}  // namespace bp
