#pragma once
// arrow::Status -> gRPC status at the edges (STYLE.md: Status inside, protocol codes at the edge),
// and the bytes in and out of the methods taken raw (services that parse their requests once,
// themselves: the bulk ingest service and the OTLP/gRPC receiver).

#include <string>
#include <vector>

#include <arrow/status.h>
#include <grpcpp/support/byte_buffer.h>
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

// The bytes of a raw request, in one string.
inline grpc::Status ReadRawRequest(const grpc::ByteBuffer& request, std::string* out) {
  std::vector<grpc::Slice> slices;
  if (auto dumped = request.Dump(&slices); !dumped.ok()) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "cannot read the request: " + dumped.error_message());
  }
  out->clear();
  out->reserve(request.Length());
  for (const auto& slice : slices) out->append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  return grpc::Status::OK;
}

// A raw response holding `bytes` (a serialized message).
inline grpc::ByteBuffer RawResponse(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace openwit
