#include "cloister/sqlite/database.h"

#include "cloister/core/private_files.h"

#include <sqlite3.h>


namespace cloister::sqlite {
namespace {

constexpr int kBusyTimeoutMs = 5000;

Error sqlite_error(sqlite3* database, std::string_view what) {
  return Error{ErrorCode::io_error,
               "sqlite: " + std::string(what) + ": " + (database ? sqlite3_errmsg(database) : "out of memory")};
}

}  // namespace

Statement::Statement(Statement&& other) noexcept
    : database_(other.database_), statement_(other.statement_), bind_status_(other.bind_status_) {
  other.statement_ = nullptr;
}

Statement::~Statement() {
  if (statement_ != nullptr) sqlite3_finalize(statement_);
}

Statement& Statement::bind(int index, std::string_view text) {
  int status = sqlite3_bind_text(statement_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  if (status != SQLITE_OK && bind_status_ == SQLITE_OK) bind_status_ = status;
  return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
  int status = sqlite3_bind_int64(statement_, index, value);
  if (status != SQLITE_OK && bind_status_ == SQLITE_OK) bind_status_ = status;
  return *this;
}

Statement& Statement::bind(int index, const std::optional<std::int64_t>& value) {
  return value ? bind(index, *value) : bind_null(index);
}

Statement& Statement::bind_blob(int index, crypto::BytesView bytes) {
  // A zero-length blob is still a blob (not NULL).
  static const std::uint8_t kEmpty = 0;
  const void* data = bytes.empty() ? static_cast<const void*>(&kEmpty) : bytes.data();
  int status = sqlite3_bind_blob(statement_, index, data, static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  if (status != SQLITE_OK && bind_status_ == SQLITE_OK) bind_status_ = status;
  return *this;
}

Statement& Statement::bind_null(int index) {
  int status = sqlite3_bind_null(statement_, index);
  if (status != SQLITE_OK && bind_status_ == SQLITE_OK) bind_status_ = status;
  return *this;
}

Result<bool> Statement::step() {
  if (bind_status_ != SQLITE_OK) {
    return fail(ErrorCode::io_error, std::string("sqlite: bind: ") + sqlite3_errstr(bind_status_));
  }
  int status = sqlite3_step(statement_);
  if (status == SQLITE_ROW) return true;
  if (status == SQLITE_DONE) return false;
  if (status == SQLITE_CONSTRAINT) {
    return fail(ErrorCode::conflict, std::string("sqlite: constraint: ") + sqlite3_errmsg(database_));
  }
  return std::unexpected(sqlite_error(database_, "step"));
}

Status Statement::run() {
  while (true) {
    auto row = step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return {};
  }
}

std::int64_t Statement::column_int(int column) const { return sqlite3_column_int64(statement_, column); }

std::string Statement::column_text(int column) const {
  const auto* text = sqlite3_column_text(statement_, column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(sqlite3_column_bytes(statement_, column)));
}

crypto::Bytes Statement::column_blob(int column) const {
  const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(statement_, column));
  const auto size = static_cast<std::size_t>(sqlite3_column_bytes(statement_, column));
  if (data == nullptr) return {};
  return crypto::Bytes(data, data + size);
}

bool Statement::column_is_null(int column) const { return sqlite3_column_type(statement_, column) == SQLITE_NULL; }

Result<std::unique_ptr<Database>> Database::open(const std::filesystem::path& path) {
  // Create the file owner-only before SQLite touches it: SQLite gives the -wal and -shm files the
  // database file's mode.
  if (auto created = create_private_file(path, ""); !created && created.error().code != ErrorCode::conflict) {
    return std::unexpected(created.error());
  }
  if (auto mode = check_private_mode(path); !mode) return std::unexpected(mode.error());

  sqlite3* handle = nullptr;
  int status = sqlite3_open_v2(path.c_str(), &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (status != SQLITE_OK) {
    auto error = sqlite_error(handle, "open " + path.string());
    sqlite3_close(handle);
    return std::unexpected(error);
  }
  std::unique_ptr<Database> database(new Database(handle, path));
  sqlite3_busy_timeout(handle, kBusyTimeoutMs);
  sqlite3_extended_result_codes(handle, 0);
  // journal_mode answers a row; the others are plain.
  auto journal = database->prepare("PRAGMA journal_mode=WAL");
  if (!journal) return std::unexpected(journal.error());
  auto row = journal->step();
  if (!row) return std::unexpected(row.error());
  if (!*row || journal->column_text(0) != "wal") {
    return fail(ErrorCode::io_error, "sqlite: " + path.string() + " cannot use the WAL journal");
  }
  for (const auto* pragma : {"PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON", "PRAGMA secure_delete=ON"}) {
    if (auto done = database->execute(pragma); !done) return std::unexpected(done.error());
  }
  return database;
}

Database::~Database() {
  if (handle_ != nullptr) sqlite3_close_v2(handle_);
}

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* statement = nullptr;
  int status = sqlite3_prepare_v2(handle_, sql.data(), static_cast<int>(sql.size()), &statement, nullptr);
  if (status != SQLITE_OK) return std::unexpected(sqlite_error(handle_, "prepare"));
  return Statement(handle_, statement);
}

Status Database::execute(const std::string& sql) {
  char* message = nullptr;
  int status = sqlite3_exec(handle_, sql.c_str(), nullptr, nullptr, &message);
  if (status != SQLITE_OK) {
    std::string text = message ? message : sqlite3_errstr(status);
    sqlite3_free(message);
    return fail(ErrorCode::io_error, "sqlite: " + text);
  }
  return {};
}

std::int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(handle_); }

Database::Transaction::~Transaction() {
  if (open_) (void)database_.execute("ROLLBACK");
}

Status Database::Transaction::begin() {
  if (auto status = database_.execute("BEGIN IMMEDIATE"); !status) return status;
  open_ = true;
  return {};
}

Status Database::Transaction::commit() {
  if (auto status = database_.execute("COMMIT"); !status) return status;
  open_ = false;
  return {};
}

}  // namespace cloister::sqlite
