#pragma once
// Why a query failed, carried inside an arrow::Status so that the HTTP API (and later the Tempo,
// Jaeger and Loki APIs) can answer each kind with its own status code without parsing messages.

#include <memory>
#include <string>

#include <arrow/status.h>

namespace openwit::search {

enum class QueryErrorKind {
  kBadQuery,     // malformed SQL, unknown column or table, a bad request field: 400
  kRefused,      // a statement or a path the caller may not use: 403
  kTimeout,      // past search.query_timeout_ms: 408
  kBusy,         // search.max_concurrent_queries running already: 503
  kMemoryLimit,  // past search.memory_limit_mb: 422
  kInternal,     // anything else: 500
};

class QueryErrorDetail : public arrow::StatusDetail {
 public:
  explicit QueryErrorDetail(QueryErrorKind kind) : kind_(kind) {}
  const char* type_id() const override { return "openwit::search::QueryErrorDetail"; }
  std::string ToString() const override;
  QueryErrorKind kind() const { return kind_; }

 private:
  QueryErrorKind kind_;
};

// A failed Status of that kind (arrow code Invalid for kBadQuery and kRefused, Cancelled for
// kTimeout, CapacityError for kBusy and kMemoryLimit, UnknownError for kInternal).
arrow::Status QueryError(QueryErrorKind kind, const std::string& message);

// The kind of a failed Status; kInternal when it carries no QueryErrorDetail.
QueryErrorKind QueryErrorKindOf(const arrow::Status& status);

// "bad_query", "refused", "timeout", "busy", "memory_limit", "internal": the `kind` of an API error.
const char* QueryErrorKindName(QueryErrorKind kind);

// The HTTP status code of a kind.
int HttpStatusOf(QueryErrorKind kind);

}  // namespace openwit::search
