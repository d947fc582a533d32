// SqliteDb: WAL mode is really on, statements bind and read back, a transaction dropped without
// Commit leaves nothing, and errors name the file and the statement.
#include "util/sqlite_db.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "support/status_assert.h"

namespace bp {
namespace {

class SqliteDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/sqlite-db-test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/state.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
  std::string path_;
};

TEST_F(SqliteDbTest, OpensInWalModeAndRoundTripsValues) {
  std::unique_ptr<SqliteDb> db;
  ASSERT_OK(SqliteDb::Open(path_, SqliteDb::Sync::kFull, &db));
  ASSERT_OK(db->Exec("CREATE TABLE t (k INTEGER PRIMARY KEY, name TEXT, data BLOB);"));
  SqliteStatement insert;
  ASSERT_OK(db->Prepare("INSERT INTO t (k, name, data) VALUES (?1, ?2, ?3);", &insert));
  const uint8_t bytes[] = {0, 1, 2, 0xff};
  ASSERT_OK(insert.Bind(1, int64_t{7}).Bind(2, std::string("seven")).BindBlob(3, bytes, 4).Run());
  ASSERT_OK(insert.Bind(1, int64_t{8}).Bind(2, std::string("empty")).BindBlob(3, nullptr, 0).Run());
  EXPECT_EQ(db->Changes(), 1);

  SqliteStatement select;
  ASSERT_OK(db->Prepare("SELECT k, name, data FROM t ORDER BY k;", &select));
  bool row = false;
  ASSERT_OK(select.Step(&row));
  ASSERT_TRUE(row);
  EXPECT_EQ(select.ColumnInt(0), 7);
  EXPECT_EQ(select.ColumnText(1), "seven");
  size_t length = 0;
  const uint8_t* data = select.ColumnBlob(2, &length);
  ASSERT_EQ(length, 4u);
  EXPECT_EQ(std::vector<uint8_t>(data, data + length), std::vector<uint8_t>(bytes, bytes + 4));
  ASSERT_OK(select.Step(&row));
  ASSERT_TRUE(row);
  EXPECT_FALSE(select.ColumnIsNull(2));
  ASSERT_OK(select.Step(&row));
  EXPECT_FALSE(row);
  EXPECT_TRUE(std::filesystem::exists(path_ + "-wal"));
}

TEST_F(SqliteDbTest, TransactionWithoutCommitRollsBack) {
  std::unique_ptr<SqliteDb> db;
  ASSERT_OK(SqliteDb::Open(path_, SqliteDb::Sync::kNormal, &db));
  ASSERT_OK(db->Exec("CREATE TABLE t (k INTEGER PRIMARY KEY);"));
  {
    SqliteTransaction txn(db.get());
    ASSERT_OK(txn.Begin());
    ASSERT_OK(db->Exec("INSERT INTO t VALUES (1);"));
  }
  {
    SqliteTransaction txn(db.get());
    ASSERT_OK(txn.Begin());
    ASSERT_OK(db->Exec("INSERT INTO t VALUES (2);"));
    ASSERT_OK(txn.Commit());
  }
  SqliteStatement count;
  ASSERT_OK(db->Prepare("SELECT group_concat(k) FROM t;", &count));
  bool row = false;
  ASSERT_OK(count.Step(&row));
  EXPECT_EQ(count.ColumnText(0), "2");
}

TEST_F(SqliteDbTest, ErrorsNameTheFileAndTheStatement) {
  std::unique_ptr<SqliteDb> db;
  ASSERT_OK(SqliteDb::Open(path_, SqliteDb::Sync::kFull, &db));
  SqliteStatement bad;
  Status status = db->Prepare("SELECT nope FROM missing;", &bad);
  EXPECT_EQ(status.code(), Status::Code::kPermanent);
  EXPECT_NE(status.message().find(path_), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("missing"), std::string::npos) << status.message();
}

TEST_F(SqliteDbTest, AFileThatIsNotADatabaseIsCorrupt) {
  {
    std::ofstream junk(path_);
    junk << std::string(8192, 'x');
  }
  std::unique_ptr<SqliteDb> db;
  Status status = SqliteDb::Open(path_, SqliteDb::Sync::kFull, &db);
  EXPECT_EQ(status.code(), Status::Code::kCorrupt) << status.message();
  EXPECT_EQ(db, nullptr);
}

}  // namespace
}  // namespace bp
