#include "search/duckdb_session.h"

#include <duckdb.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <limits>
#include <map>
#include <mutex>
#include <string_view>

#include <arrow/array/util.h>
#include <arrow/c/abi.h>
#include <arrow/c/bridge.h>
#include <fmt/format.h>

#include "search/query_error.h"

// Registers the built-in extensions linked into libduckdb.so (parquet, json, icu, core_functions;
// scripts/duckdb-lib.sh writes it): DuckDB 2.0 no longer registers them from static initialisers.
// 0 when every one registered.
extern "C" int32_t openwit_duckdb_register_extensions(void);

namespace openwit::search {
namespace {

QueryErrorKind KindOf(duckdb_error_type type) {
  switch (type) {
    case DUCKDB_ERROR_PERMISSION:
    case DUCKDB_ERROR_HTTP:
    case DUCKDB_ERROR_NETWORK:
      return QueryErrorKind::kRefused;
    case DUCKDB_ERROR_INTERRUPT:
      return QueryErrorKind::kTimeout;
    case DUCKDB_ERROR_OUT_OF_MEMORY:
      return QueryErrorKind::kMemoryLimit;
    case DUCKDB_ERROR_INTERNAL:
    case DUCKDB_ERROR_FATAL:
    case DUCKDB_ERROR_IO:
    case DUCKDB_ERROR_CONNECTION:
    case DUCKDB_ERROR_SERIALIZATION:
    case DUCKDB_ERROR_TRANSACTION:
    case DUCKDB_ERROR_SCHEDULER:
      return QueryErrorKind::kInternal;
    default:
      return QueryErrorKind::kBadQuery;
  }
}

// duckdb_prepare_error gives a message only; DuckDB starts it with the error's type.
QueryErrorKind KindOfMessage(std::string_view message) {
  auto starts = [&](std::string_view prefix) { return message.substr(0, prefix.size()) == prefix; };
  if (starts("Permission Error")) return QueryErrorKind::kRefused;
  if (starts("Out of Memory Error")) return QueryErrorKind::kMemoryLimit;
  if (starts("INTERRUPT") || starts("Interrupt")) return QueryErrorKind::kTimeout;
  if (starts("INTERNAL Error") || starts("FATAL Error") || starts("IO Error")) return QueryErrorKind::kInternal;
  return QueryErrorKind::kBadQuery;
}

// The first word of the SQL, upper-cased, after blanks and comments.
std::string FirstKeyword(std::string_view sql) {
  size_t i = 0;
  while (i < sql.size()) {
    if (std::isspace(static_cast<unsigned char>(sql[i]))) {
      ++i;
    } else if (sql.substr(i, 2) == "--") {
      i = sql.find('\n', i);
      if (i == std::string_view::npos) return "";
    } else if (sql.substr(i, 2) == "/*") {
      i = sql.find("*/", i + 2);
      if (i == std::string_view::npos) return "";
      i += 2;
    } else {
      break;
    }
  }
  std::string word;
  while (i < sql.size() && std::isalpha(static_cast<unsigned char>(sql[i]))) {
    word += static_cast<char>(std::toupper(static_cast<unsigned char>(sql[i++])));
  }
  return word;
}

arrow::Status ResultError(duckdb_result* result) {
  const char* message = duckdb_result_error(result);
  return QueryError(KindOf(duckdb_result_error_type(result)), message ? message : "DuckDB failed without a message");
}

// An owned duckdb_error_data: OK when it holds no error.
arrow::Status TakeErrorData(duckdb_error_data error, std::string_view what) {
  if (error == nullptr) return arrow::Status::OK();
  arrow::Status status;
  if (duckdb_error_data_has_error(error)) {
    status = QueryError(KindOf(duckdb_error_data_error_type(error)),
                        fmt::format("{}: {}", what, duckdb_error_data_message(error)));
  }
  duckdb_destroy_error_data(&error);
  return status;
}

int64_t MetricValue(duckdb_profiling_info info, const char* key) {
  duckdb_value value = duckdb_profiling_info_get_value(info, key);
  if (value == nullptr) return -1;
  char* text = duckdb_get_varchar(value);
  int64_t n = text ? std::strtoll(text, nullptr, 10) : -1;
  duckdb_free(text);
  duckdb_destroy_value(&value);
  return n;
}

}  // namespace

namespace {

// The lake's times read as TIMESTAMPTZ_NS (DuckDB 2.0), a type DuckDB 2.0.0 gives few functions:
// no comparison with TIMESTAMPTZ (now(), TIMESTAMPTZ literals), no time_bucket, date_trunc,
// epoch_us, extract or interval arithmetic. Two implicit casts make every TIMESTAMPTZ function
// and comparison take it: TIMESTAMPTZ -> TIMESTAMPTZ_NS, exact and cheap, so a comparison casts
// the constant and keeps the column (and its Parquet pruning) as it is; TIMESTAMPTZ_NS ->
// TIMESTAMPTZ (microseconds, rounded down) where a function has no nanosecond overload.
template <bool kToNanos>
bool CastTimestampTz(duckdb_function_info info, idx_t count, duckdb_vector input, duckdb_vector output) {
  const auto* in = static_cast<const int64_t*>(duckdb_vector_get_data(input));
  auto* out = static_cast<int64_t*>(duckdb_vector_get_data(output));
  uint64_t* valid = duckdb_vector_get_validity(input);
  constexpr int64_t kLimit = std::numeric_limits<int64_t>::max() / 1000;
  for (idx_t i = 0; i < count; ++i) {
    if (valid != nullptr && !duckdb_validity_row_is_valid(valid, i)) {
      duckdb_vector_ensure_validity_writable(output);
      duckdb_validity_set_row_invalid(duckdb_vector_get_validity(output), i);
      continue;
    }
    const int64_t v = in[i];
    if constexpr (kToNanos) {
      if (v > kLimit || v < -kLimit) {
        duckdb_cast_function_set_row_error(info, "timestamp outside the nanosecond range (1677-2262)", i, output);
        continue;
      }
      out[i] = v * 1000;
    } else {
      out[i] = v >= 0 ? v / 1000 : -((-(v + 1)) / 1000) - 1;  // floor
    }
  }
  return true;
}

arrow::Status RegisterTimestampTzCasts(duckdb_connection conn) {
  for (bool to_nanos : {true, false}) {
    duckdb_logical_type micros = duckdb_create_logical_type(DUCKDB_TYPE_TIMESTAMP_TZ);
    duckdb_logical_type nanos = duckdb_create_logical_type(DUCKDB_TYPE_TIMESTAMP_TZ_NS);
    duckdb_cast_function cast = duckdb_create_cast_function();
    duckdb_cast_function_set_source_type(cast, to_nanos ? micros : nanos);
    duckdb_cast_function_set_target_type(cast, to_nanos ? nanos : micros);
    duckdb_cast_function_set_implicit_cast_cost(cast, to_nanos ? 1 : 100);
    duckdb_cast_function_set_function(cast, to_nanos ? CastTimestampTz<true> : CastTimestampTz<false>);
    const duckdb_state state = duckdb_register_cast_function(conn, cast);
    duckdb_destroy_cast_function(&cast);
    duckdb_destroy_logical_type(&micros);
    duckdb_destroy_logical_type(&nanos);
    if (state == DuckDBError) return QueryError(QueryErrorKind::kInternal, "DuckDB refused the timestamp casts");
  }
  return arrow::Status::OK();
}

}  // namespace

namespace {

// Batches that a session hands to DuckDB, and the types DuckDB gives them.
struct ArrowTable {
  duckdb_connection conn = nullptr;
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  int64_t rows = 0;
  duckdb_arrow_converted_schema converted = nullptr;
  std::vector<std::string> names;
  std::vector<duckdb_logical_type> types;

  ~ArrowTable() {
    for (auto& type : types) duckdb_destroy_logical_type(&type);
    if (converted) duckdb_destroy_arrow_converted_schema(&converted);
  }
};

// The Arrow tables of a database's sessions by connection id and name: openwit_fresh('name')
// finds those of the connection that asks, and no other.
struct FreshTables {
  std::mutex mu;
  std::map<std::pair<idx_t, std::string>, const ArrowTable*> tables;
};

struct ArrowTableScan {
  size_t batch = 0;
  int64_t offset = 0;  // rows of that batch handed over already
};

arrow::Status ToChunk(const ArrowTable& table, const arrow::RecordBatch& batch, duckdb_data_chunk* out) {
  struct ArrowArray array;
  ARROW_RETURN_NOT_OK(arrow::ExportRecordBatch(batch, &array));
  auto status =
      TakeErrorData(duckdb_data_chunk_from_arrow(table.conn, &array, table.converted, out), "Arrow batch to DuckDB");
  if (array.release != nullptr) array.release(&array);  // DuckDB takes it over, unless it failed first
  return status;
}

// The connection id of a client context, which it destroys.
idx_t ConnectionIdOf(duckdb_client_context context) {
  const idx_t id = duckdb_client_context_get_connection_id(context);
  duckdb_destroy_client_context(&context);
  return id;
}

idx_t ConnectionId(duckdb_connection conn) {
  duckdb_client_context context = nullptr;
  duckdb_connection_get_client_context(conn, &context);
  return ConnectionIdOf(context);
}

void ArrowTableBind(duckdb_bind_info info) {
  auto* fresh = static_cast<FreshTables*>(duckdb_bind_get_extra_info(info));
  duckdb_client_context context = nullptr;
  duckdb_table_function_get_client_context(info, &context);
  const idx_t connection = ConnectionIdOf(context);
  duckdb_value parameter = duckdb_bind_get_parameter(info, 0);
  char* text = parameter ? duckdb_get_varchar(parameter) : nullptr;
  const std::string name = text ? text : "";
  duckdb_free(text);
  duckdb_destroy_value(&parameter);
  const ArrowTable* table = nullptr;
  {
    std::lock_guard lock(fresh->mu);
    auto it = fresh->tables.find({connection, name});
    if (it != fresh->tables.end()) table = it->second;
  }
  if (table == nullptr) {
    duckdb_bind_set_error(info, fmt::format("openwit_fresh: no table '{}' in this query", name).c_str());
    return;
  }
  for (size_t i = 0; i < table->types.size(); ++i) {
    duckdb_bind_add_result_column(info, table->names[i].c_str(), table->types[i]);
  }
  duckdb_bind_set_cardinality(info, static_cast<idx_t>(table->rows), true);
  duckdb_bind_set_bind_data(info, const_cast<ArrowTable*>(table), [](void*) {});  // the session owns it
}

void ArrowTableInit(duckdb_init_info info) {
  duckdb_init_set_init_data(info, new ArrowTableScan(), [](void* scan) { delete static_cast<ArrowTableScan*>(scan); });
  duckdb_init_set_max_threads(info, 1);  // one scan state, no locking
}

// One chunk of at most a vector's rows per call; none at the end. The chunk's vectors point into
// the session's batches, which outlive the query.
void ArrowTableFunction(duckdb_function_info info, duckdb_data_chunk output) {
  const auto* table = static_cast<const ArrowTable*>(duckdb_function_get_bind_data(info));
  auto* scan = static_cast<ArrowTableScan*>(duckdb_function_get_init_data(info));
  while (scan->batch < table->batches.size() && scan->offset >= table->batches[scan->batch]->num_rows()) {
    ++scan->batch;
    scan->offset = 0;
  }
  if (scan->batch == table->batches.size()) {
    duckdb_data_chunk_set_size(output, 0);
    return;
  }
  const auto& batch = table->batches[scan->batch];
  const int64_t n = std::min(batch->num_rows() - scan->offset, static_cast<int64_t>(duckdb_vector_size()));
  duckdb_data_chunk chunk = nullptr;
  if (auto status = ToChunk(*table, *batch->Slice(scan->offset, n), &chunk); !status.ok()) {
    duckdb_function_set_error(info, status.message().c_str());
    return;
  }
  for (idx_t c = 0; c < duckdb_data_chunk_get_column_count(output); ++c) {
    duckdb_vector_reference_vector(duckdb_data_chunk_get_vector(output, c), duckdb_data_chunk_get_vector(chunk, c));
  }
  duckdb_data_chunk_set_size(output, static_cast<idx_t>(n));
  duckdb_destroy_data_chunk(&chunk);
  scan->offset += n;
}

// The table function openwit_fresh(name VARCHAR) of a database, over `fresh`.
arrow::Status RegisterFreshFunction(duckdb_connection conn, FreshTables* fresh) {
  duckdb_table_function function = duckdb_create_table_function();
  duckdb_table_function_set_name(function, "openwit_fresh");
  duckdb_logical_type varchar = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
  duckdb_table_function_add_parameter(function, varchar);
  duckdb_destroy_logical_type(&varchar);
  duckdb_table_function_set_extra_info(function, fresh, nullptr);
  duckdb_table_function_set_bind(function, ArrowTableBind);
  duckdb_table_function_set_init(function, ArrowTableInit);
  duckdb_table_function_set_function(function, ArrowTableFunction);
  const duckdb_state state = duckdb_register_table_function(conn, function);
  duckdb_destroy_table_function(&function);
  if (state == DuckDBError)
    return QueryError(QueryErrorKind::kInternal, "DuckDB refused the table function openwit_fresh");
  return arrow::Status::OK();
}

// Runs one statement of ours on `conn`, each list bound as a VARCHAR[] parameter ($1, $2, ...).
arrow::Status RunOn(duckdb_connection conn, const std::string& sql,
                    const std::vector<std::vector<std::string>>& lists = {}) {
  duckdb_prepared_statement stmt = nullptr;
  if (duckdb_prepare(conn, sql.c_str(), &stmt) == DuckDBError) {
    std::string message = duckdb_prepare_error(stmt) ? duckdb_prepare_error(stmt) : "?";
    duckdb_destroy_prepare(&stmt);
    return QueryError(QueryErrorKind::kInternal, fmt::format("{}: {}", sql, message));
  }
  arrow::Status status;
  duckdb_logical_type varchar = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
  for (size_t i = 0; i < lists.size() && status.ok(); ++i) {
    std::vector<duckdb_value> items;
    items.reserve(lists[i].size());
    for (const auto& s : lists[i]) items.push_back(duckdb_create_varchar(s.c_str()));
    // (An empty list has no values array: DuckDB then returns no value at all.)
    duckdb_value list = items.empty() ? nullptr : duckdb_create_list_value(varchar, items.data(), items.size());
    if (list == nullptr) {
      status = QueryError(QueryErrorKind::kInternal, fmt::format("{}: no list value for ${}", sql, i + 1));
    } else if (duckdb_bind_value(stmt, i + 1, list) == DuckDBError) {
      status = QueryError(QueryErrorKind::kInternal, fmt::format("{}: cannot bind ${}", sql, i + 1));
    }
    if (list) duckdb_destroy_value(&list);
    for (auto& v : items) duckdb_destroy_value(&v);
  }
  duckdb_destroy_logical_type(&varchar);
  if (status.ok()) {
    duckdb_result result;
    if (duckdb_execute_prepared(stmt, &result) == DuckDBError) status = ResultError(&result);
    duckdb_destroy_result(&result);
  }
  duckdb_destroy_prepare(&stmt);
  return status;
}

// A name the session writes into SQL text: our own identifiers only.
arrow::Status CheckName(const std::string& name) {
  if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos) {
    return arrow::Status::Invalid("not a name of ours: ", name);
  }
  return arrow::Status::OK();
}

}  // namespace

// One connection of a database and what its current session added to it.
struct DuckDbConnection {
  duckdb_connection conn = nullptr;
  idx_t id = 0;
  bool leased = false;
  duckdb_prepared_statement query = nullptr;
  std::vector<std::unique_ptr<ArrowTable>> arrow_tables;
  // Kept from one session to the next, and made again only when they change: a view costs a
  // bind of its files (~1-2 ms), a variable a statement. A session resets, before its query runs,
  // every variable it did not set, so a view it did not make reads nothing (read_parquet of NULL
  // is an error), and its fresh tables are gone when it ends.
  std::map<std::string, std::string> views;                   // name -> SELECT
  std::map<std::string, std::vector<std::string>> variables;  // name -> value
};

struct DuckDbDatabase::Impl {
  duckdb_database db = nullptr;
  FreshTables fresh;  // openwit_fresh's extra info: outlives the database (members go after the body)
  std::mutex mu;      // leased flags
  std::vector<std::unique_ptr<DuckDbConnection>> connections;

  ~Impl() {
    for (auto& c : connections) {
      if (c->query) duckdb_destroy_prepare(&c->query);
      if (c->conn) duckdb_disconnect(&c->conn);
    }
    if (db) duckdb_close(&db);
  }
};

DuckDbDatabase::DuckDbDatabase(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DuckDbDatabase::~DuckDbDatabase() = default;

arrow::Status RegisterDuckDbExtensions() {
  static std::once_flag registered;
  static int32_t register_failed = 0;
  std::call_once(registered, [] { register_failed = openwit_duckdb_register_extensions(); });
  if (register_failed != 0) {
    return QueryError(QueryErrorKind::kInternal, "DuckDB's built-in extensions (parquet, json, icu) did not register");
  }
  return arrow::Status::OK();
}

arrow::Result<std::shared_ptr<DuckDbDatabase>> DuckDbDatabase::Open(const DuckDbSettings& settings) {
  ARROW_RETURN_NOT_OK(RegisterDuckDbExtensions());
  if (settings.connections < 1) return arrow::Status::Invalid("a DuckDB database needs a connection at least");
  auto impl = std::make_unique<Impl>();
  duckdb_config config = nullptr;
  if (duckdb_create_config(&config) == DuckDBError) return arrow::Status::OutOfMemory("duckdb_create_config");
  const std::pair<const char*, std::string> options[] = {
      // The built-in extensions (parquet, json, icu, core_functions) are linked in; anything else
      // would be fetched from the network or the disk: never.
      {"autoinstall_known_extensions", "false"},
      {"autoload_known_extensions", "false"},
      {"allow_community_extensions", "false"},
      {"allow_unsigned_extensions", "false"},
      {"threads", std::to_string(settings.threads)},
      {"memory_limit", fmt::format("{}MB", settings.memory_limit_mb)},
      {"temp_directory", ""},  // no spilling: memory_limit is the bound
  };
  std::string error;
  for (const auto& [name, value] : options) {
    if (duckdb_set_config(config, name, value.c_str()) == DuckDBError) {
      error = fmt::format("DuckDB refused setting {} = {}", name, value);
      break;
    }
  }
  if (error.empty()) {
    char* open_error = nullptr;
    if (duckdb_open_ext(nullptr, &impl->db, config, &open_error) == DuckDBError) {
      error = fmt::format("cannot open DuckDB: {}", open_error ? open_error : "?");
    }
    duckdb_free(open_error);
  }
  duckdb_destroy_config(&config);
  if (!error.empty()) return QueryError(QueryErrorKind::kInternal, error);
  auto connect = [&impl]() -> arrow::Result<duckdb_connection> {
    auto c = std::make_unique<DuckDbConnection>();
    if (duckdb_connect(impl->db, &c->conn) == DuckDBError) {
      return QueryError(QueryErrorKind::kInternal, "cannot connect to DuckDB");
    }
    c->id = ConnectionId(c->conn);
    impl->connections.push_back(std::move(c));
    return impl->connections.back()->conn;
  };
  // Database-wide set-up on the first connection, before the others exist.
  ARROW_ASSIGN_OR_RAISE(auto first, connect());
  ARROW_RETURN_NOT_OK(RegisterTimestampTzCasts(first));
  ARROW_RETURN_NOT_OK(RegisterFreshFunction(first, &impl->fresh));
  // A setting of the icu extension, known only once the database runs.
  ARROW_RETURN_NOT_OK(RunOn(first, "SET GLOBAL TimeZone = 'UTC'"));
  ARROW_RETURN_NOT_OK(RunOn(first, "SET GLOBAL parquet_metadata_cache = true"));
  // No directory allowed: no file at all.
  if (!settings.allowed_directories.empty()) {
    ARROW_RETURN_NOT_OK(RunOn(first, "SET allowed_directories = $1", {settings.allowed_directories}));
  }
  ARROW_RETURN_NOT_OK(RunOn(first, "SET enable_external_access = false"));
  for (int64_t i = 1; i < settings.connections; ++i) ARROW_RETURN_NOT_OK(connect().status());
  // Profiling is a setting of each connection, and none can be changed once locked.
  for (auto& c : impl->connections) ARROW_RETURN_NOT_OK(RunOn(c->conn, "SET enable_profiling = 'no_output'"));
  ARROW_RETURN_NOT_OK(RunOn(first, "SET lock_configuration = true"));
  return std::shared_ptr<DuckDbDatabase>(new DuckDbDatabase(std::move(impl)));
}

arrow::Result<std::unique_ptr<DuckDbSession>> DuckDbDatabase::Lease(const std::shared_ptr<DuckDbDatabase>& database) {
  auto& impl = *database->impl_;
  std::lock_guard lock(impl.mu);
  for (auto& c : impl.connections) {
    if (!c->leased) {
      c->leased = true;
      return std::unique_ptr<DuckDbSession>(new DuckDbSession(database, c.get()));
    }
  }
  return QueryError(QueryErrorKind::kBusy, "every connection of the database is in use");
}

DuckDbSession::DuckDbSession(std::shared_ptr<DuckDbDatabase> database, DuckDbConnection* connection)
    : database_(std::move(database)), connection_(connection) {}

DuckDbSession::~DuckDbSession() {
  Reset();
  std::lock_guard lock(database_->impl_->mu);
  connection_->leased = false;
}

void DuckDbSession::Reset() {
  auto& c = *connection_;
  if (c.query) duckdb_destroy_prepare(&c.query);
  {
    auto& fresh = database_->impl_->fresh;
    std::lock_guard lock(fresh.mu);
    std::erase_if(fresh.tables, [&](const auto& entry) { return entry.first.first == c.id; });
  }
  c.arrow_tables.clear();
}

arrow::Status DuckDbSession::ResetVariablesNotSet() {
  auto& c = *connection_;
  for (auto it = c.variables.begin(); it != c.variables.end();) {
    if (std::find(set_.begin(), set_.end(), it->first) != set_.end()) {
      ++it;
      continue;
    }
    ARROW_RETURN_NOT_OK(RunOn(c.conn, "RESET VARIABLE " + it->first));
    it = c.variables.erase(it);
  }
  return arrow::Status::OK();
}

arrow::Status DuckDbSession::SetVariable(const std::string& name, const std::vector<std::string>& values) {
  ARROW_RETURN_NOT_OK(CheckName(name));
  auto& c = *connection_;
  set_.push_back(name);
  if (auto kept = c.variables.find(name); kept != c.variables.end() && kept->second == values) {
    return arrow::Status::OK();
  }
  c.variables.erase(name);  // unknown until it is set
  ARROW_RETURN_NOT_OK(RunOn(c.conn, "SET VARIABLE " + name + " = $1", {values}));
  c.variables[name] = values;
  return arrow::Status::OK();
}

arrow::Status DuckDbSession::CreateView(const std::string& name, const std::string& select) {
  ARROW_RETURN_NOT_OK(CheckName(name));
  auto& c = *connection_;
  if (auto kept = c.views.find(name); kept != c.views.end() && kept->second == select) return arrow::Status::OK();
  c.views.erase(name);
  ARROW_RETURN_NOT_OK(RunOn(c.conn, "CREATE OR REPLACE TEMP VIEW " + name + " AS " + select));
  c.views[name] = select;
  return arrow::Status::OK();
}

arrow::Result<std::string> DuckDbSession::RegisterArrowTable(const std::string& name,
                                                             const std::shared_ptr<arrow::Schema>& schema,
                                                             std::vector<std::shared_ptr<arrow::RecordBatch>> batches) {
  ARROW_RETURN_NOT_OK(CheckName(name));
  auto table = std::make_unique<ArrowTable>();
  table->conn = connection_->conn;
  for (const auto& batch : batches) table->rows += batch->num_rows();
  table->batches = std::move(batches);
  struct ArrowSchema c_schema;
  ARROW_RETURN_NOT_OK(arrow::ExportSchema(*schema, &c_schema));
  auto status = TakeErrorData(duckdb_schema_from_arrow(connection_->conn, &c_schema, &table->converted),
                              "Arrow schema to DuckDB");
  c_schema.release(&c_schema);
  ARROW_RETURN_NOT_OK(status);
  // The C API tells a converted schema's types only through a chunk: those of one row of nulls.
  arrow::ArrayVector nulls;
  for (const auto& field : schema->fields()) {
    ARROW_ASSIGN_OR_RAISE(auto column, arrow::MakeArrayOfNull(field->type(), 1));
    nulls.push_back(std::move(column));
  }
  duckdb_data_chunk chunk = nullptr;
  ARROW_RETURN_NOT_OK(ToChunk(*table, *arrow::RecordBatch::Make(schema, 1, std::move(nulls)), &chunk));
  for (idx_t c = 0; c < duckdb_data_chunk_get_column_count(chunk); ++c) {
    table->types.push_back(duckdb_vector_get_column_type(duckdb_data_chunk_get_vector(chunk, c)));
    table->names.push_back(schema->field(static_cast<int>(c))->name());
  }
  duckdb_destroy_data_chunk(&chunk);
  {
    auto& fresh = database_->impl_->fresh;
    std::lock_guard lock(fresh.mu);
    if (!fresh.tables.emplace(std::make_pair(connection_->id, name), table.get()).second) {
      return arrow::Status::Invalid("fresh table ", name, " registered twice");
    }
  }
  connection_->arrow_tables.push_back(std::move(table));
  return fmt::format("openwit_fresh('{}')", name);
}

arrow::Status DuckDbSession::PrepareQuery(const std::string& sql) {
  ARROW_RETURN_NOT_OK(ResetVariablesNotSet());
  duckdb_extracted_statements statements = nullptr;
  idx_t count = duckdb_extract_statements(connection_->conn, sql.c_str(), &statements);
  arrow::Status status;
  if (count == 0) {
    const char* message = duckdb_extract_statements_error(statements);
    status = message ? QueryError(KindOfMessage(message), message)
                     : QueryError(QueryErrorKind::kBadQuery, "no SQL statement in the query");
  } else if (count > 1) {
    status = QueryError(QueryErrorKind::kRefused,
                        fmt::format("one statement per query, found {}: send them one at a time", count));
  } else if (duckdb_prepare_extracted_statement(connection_->conn, statements, 0, &connection_->query) == DuckDBError) {
    const char* message = duckdb_prepare_error(connection_->query);
    status = QueryError(message ? KindOfMessage(message) : QueryErrorKind::kBadQuery, message ? message : "?");
  } else if (duckdb_prepared_statement_type(connection_->query) != DUCKDB_STATEMENT_TYPE_SELECT ||
             FirstKeyword(sql) == "PRAGMA") {
    // (DuckDB turns a PRAGMA that reads, `PRAGMA database_list`, into a SELECT: refused all the same.)
    status = QueryError(QueryErrorKind::kRefused,
                        "only queries (SELECT, WITH ... SELECT, FROM ...) are allowed: statements that change "
                        "settings, attach, load, install, copy or write are refused");
  } else if (duckdb_nparams(connection_->query) != 0) {
    status = QueryError(QueryErrorKind::kBadQuery, "the query has parameters ($1, ?): none can be bound here");
  }
  duckdb_destroy_extracted(&statements);
  if (!status.ok() && connection_->query) duckdb_destroy_prepare(&connection_->query);
  return status;
}

arrow::Result<QueryRows> DuckDbSession::Execute(int64_t max_rows) {
  if (connection_->query == nullptr) return arrow::Status::Invalid("Execute without a prepared query");
  duckdb_result result;
  if (duckdb_execute_prepared_streaming(connection_->query, &result) == DuckDBError) {
    auto status = ResultError(&result);
    duckdb_destroy_result(&result);
    return status;
  }
  QueryRows out;
  arrow::Status status;
  duckdb_arrow_options options = duckdb_result_get_arrow_options(&result);
  {
    idx_t columns = duckdb_column_count(&result);
    std::vector<duckdb_logical_type> types(columns);
    std::vector<const char*> names(columns);
    for (idx_t i = 0; i < columns; ++i) {
      types[i] = duckdb_column_logical_type(&result, i);
      names[i] = duckdb_column_name(&result, i);
    }
    struct ArrowSchema schema;
    status = TakeErrorData(duckdb_to_arrow_schema(options, types.data(), names.data(), columns, &schema),
                           "result schema to Arrow");
    for (auto& t : types) duckdb_destroy_logical_type(&t);
    if (status.ok()) {
      auto imported = arrow::ImportSchema(&schema);  // releases the schema, even on failure
      if (imported.ok())
        out.schema = *imported;
      else
        status = imported.status();
    }
  }
  while (status.ok()) {
    duckdb_data_chunk chunk = duckdb_fetch_chunk(result);
    if (chunk == nullptr) {
      if (duckdb_result_error(&result) != nullptr) status = ResultError(&result);
      break;
    }
    int64_t size = static_cast<int64_t>(duckdb_data_chunk_get_size(chunk));
    struct ArrowArray array;
    status = TakeErrorData(duckdb_data_chunk_to_arrow(options, chunk, &array), "result chunk to Arrow");
    duckdb_destroy_data_chunk(&chunk);
    if (!status.ok()) break;
    auto batch = arrow::ImportRecordBatch(&array, out.schema);  // releases the array
    if (!batch.ok()) {
      status = batch.status();
      break;
    }
    if (out.rows + size > max_rows) {
      out.batches.push_back((*batch)->Slice(0, max_rows - out.rows));
      out.rows = max_rows;
      out.truncated = true;
      break;  // destroying the streaming result stops the query
    }
    out.rows += size;
    out.batches.push_back(std::move(*batch));
  }
  duckdb_destroy_arrow_options(&options);
  duckdb_destroy_result(&result);
  if (!status.ok()) return status;
  return out;
}

DuckDbCounters DuckDbSession::Counters() {
  DuckDbCounters counters;
  duckdb_profiling_info info = duckdb_get_profiling_info(connection_->conn);
  if (info == nullptr) return counters;
  counters.rows_scanned = MetricValue(info, "CUMULATIVE_ROWS_SCANNED");
  return counters;
}

void DuckDbSession::Interrupt() { duckdb_interrupt(connection_->conn); }

}  // namespace openwit::search
