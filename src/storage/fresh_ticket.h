#pragma once
// The storage node's unpublished data over Arrow Flight DoGet (issue #13, "Fresh"): what the search
// role asks and what it gets. The ticket is JSON, {"fresh": {"tenant": T, "signal": S}}; the answer
// is every batch of that tenant and signal that is not in the metastore yet (active files, and
// stable files waiting for publication), each with the stem of its file as app_metadata. A file
// keeps its stem when it is published (lake key .../<stem>.parquet), so a reader that got a stem
// here skips the lake file of that stem: it holds the same rows.

#include <string>
#include <string_view>

#include <arrow/result.h>

namespace openwit::storage {

struct FreshTicket {
  std::string tenant;
  std::string signal;  // logs, traces or metrics
};

std::string FreshTicketJson(const FreshTicket& ticket);
// Invalid unless the JSON is a fresh ticket with a valid tenant name and a known signal.
arrow::Result<FreshTicket> ParseFreshTicket(std::string_view json);

// The stem of a lake key or file path: "tenant=T/.../2026-12-03T20-0123abcd.parquet" ->
// "2026-12-03T20-0123abcd".
std::string FileStem(std::string_view path);

}  // namespace openwit::storage
