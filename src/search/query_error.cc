#include "search/query_error.h"

namespace openwit::search {

const char* QueryErrorKindName(QueryErrorKind kind) {
  switch (kind) {
    case QueryErrorKind::kBadQuery:
      return "bad_query";
    case QueryErrorKind::kRefused:
      return "refused";
    case QueryErrorKind::kTimeout:
      return "timeout";
    case QueryErrorKind::kBusy:
      return "busy";
    case QueryErrorKind::kMemoryLimit:
      return "memory_limit";
    case QueryErrorKind::kInternal:
      break;
  }
  return "internal";
}

std::string QueryErrorDetail::ToString() const { return QueryErrorKindName(kind_); }

arrow::Status QueryError(QueryErrorKind kind, const std::string& message) {
  arrow::StatusCode code = arrow::StatusCode::UnknownError;
  switch (kind) {
    case QueryErrorKind::kBadQuery:
    case QueryErrorKind::kRefused:
      code = arrow::StatusCode::Invalid;
      break;
    case QueryErrorKind::kTimeout:
      code = arrow::StatusCode::Cancelled;
      break;
    case QueryErrorKind::kBusy:
    case QueryErrorKind::kMemoryLimit:
      code = arrow::StatusCode::CapacityError;
      break;
    case QueryErrorKind::kInternal:
      break;
  }
  return arrow::Status(code, message, std::make_shared<QueryErrorDetail>(kind));
}

QueryErrorKind QueryErrorKindOf(const arrow::Status& status) {
  if (auto detail = std::dynamic_pointer_cast<QueryErrorDetail>(status.detail())) return detail->kind();
  return QueryErrorKind::kInternal;
}

int HttpStatusOf(QueryErrorKind kind) {
  switch (kind) {
    case QueryErrorKind::kBadQuery:
      return 400;
    case QueryErrorKind::kRefused:
      return 403;
    case QueryErrorKind::kTimeout:
      return 408;
    case QueryErrorKind::kBusy:
      return 503;
    case QueryErrorKind::kMemoryLimit:
      return 422;
    case QueryErrorKind::kInternal:
      break;
  }
  return 500;
}

}  // namespace openwit::search
