#pragma once
// Database: a small RAII layer over one SQLite connection (libsqlite3), for the stores of
// cloister-keys (keys, audit log) and cloister-platform (records, jobs, outbox, audit).
//
//   - the file is created mode 0600 (SQLite gives its -wal and -shm files the same mode); an
//     existing file readable by group or others is refused (config_invalid);
//   - WAL journal with synchronous=FULL: a committed change survives a crash or power loss;
//   - foreign keys on; a busy timeout instead of immediate SQLITE_BUSY;
//   - statements are prepared with bound parameters only: no SQL is ever built from input;
//   - one mutex, taken by every store operation, serialises transactions on the one connection.

#include "cloister/core/error.h"
#include "cloister/crypto/bytes.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace cloister::sqlite {

class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  ~Statement();

  // Parameters are numbered from 1. A failed bind is reported by the next step().
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, std::int64_t value);
  Statement& bind_blob(int index, crypto::BytesView bytes);
  Statement& bind_null(int index);
  Statement& bind(int index, const std::optional<std::int64_t>& value);

  // true: a row is ready; false: done. io_error (with SQLite's message) on failure.
  Result<bool> step();
  // Steps to the end (INSERT, UPDATE, DDL).
  Status run();

  std::int64_t column_int(int column) const;
  std::string column_text(int column) const;
  crypto::Bytes column_blob(int column) const;
  bool column_is_null(int column) const;

 private:
  friend class Database;
  Statement(sqlite3* database, sqlite3_stmt* statement) : database_(database), statement_(statement) {}
  sqlite3* database_ = nullptr;
  sqlite3_stmt* statement_ = nullptr;
  int bind_status_ = 0;
};

class Database {
 public:
  // Opens (creating it 0600 when absent) the database file in WAL mode, synchronous=FULL.
  static Result<std::unique_ptr<Database>> open(const std::filesystem::path& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Result<Statement> prepare(std::string_view sql);
  // Runs SQL without parameters (schema, pragmas, BEGIN/COMMIT).
  Status execute(const std::string& sql);
  std::int64_t last_insert_rowid() const;

  // Held by every store operation for its whole transaction.
  std::unique_lock<std::mutex> lock() { return std::unique_lock<std::mutex>(mutex_); }

  // BEGIN IMMEDIATE … COMMIT; rolled back unless commit() succeeded. Take lock() first.
  class Transaction {
   public:
    explicit Transaction(Database& database) : database_(database) {}
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction();
    Status begin();
    Status commit();

   private:
    Database& database_;
    bool open_ = false;
  };

  const std::filesystem::path& path() const { return path_; }

 private:
  Database(sqlite3* handle, std::filesystem::path path) : handle_(handle), path_(std::move(path)) {}
  sqlite3* handle_ = nullptr;
  std::filesystem::path path_;
  std::mutex mutex_;
};

}  // namespace cloister::sqlite
