#pragma once
// arrow::Status -> gRPC status at the edges (STYLE.md: Status inside, protocol codes at the edge).

#include <arrow/status.h>
#include <grpcpp/support/status.h>

namespace openwit {

inline grpc::StatusCode ToGrpcCode(const arrow::Status& s) {
  switch (s.code()) {
    case arrow::StatusCode::OK:
      return grpc::StatusCode::OK;
    case arrow::StatusCode::Invalid:
    case arrow::StatusCode::TypeError:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case arrow::StatusCode::CapacityError:
    case arrow::StatusCode::OutOfMemory:
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case arrow::StatusCode::KeyError:
      return grpc::StatusCode::NOT_FOUND;
    case arrow::StatusCode::AlreadyExists:
      return grpc::StatusCode::ALREADY_EXISTS;
    case arrow::StatusCode::NotImplemented:
      return grpc::StatusCode::UNIMPLEMENTED;
    case arrow::StatusCode::Cancelled:
    case arrow::StatusCode::IOError:
      return grpc::StatusCode::UNAVAILABLE;
    default:
      return grpc::StatusCode::INTERNAL;
  }
}

inline grpc::Status ToGrpcStatus(const arrow::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(ToGrpcCode(s), s.message());
}

}  // namespace openwit
