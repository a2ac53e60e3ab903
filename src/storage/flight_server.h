#pragma once
// The storage node's Arrow Flight server (grpc-ingestion.txt 2C): DoPut appends each batch to the
// active file of its tenant and signal, fsyncs, and only then answers a PutResult carrying the
// batch id: the ingest node releases its WAL entry on that answer. A batch id seen before is
// answered at once and not stored again. Rotation turns active files into stable Parquet under
// local_dir/stable/<lake key> (tenant=/signal=/date=/hour=, the hour the active file opened, UTC);
// publishing uploads each to the object store, verifies it, registers it in the metastore and only
// then drops the local copy. What cannot be published yet (store or metastore down) stays in
// local_dir/stable and is tried again with backoff, and at the next start. DoGet serves what is
// not published yet, active and stable files, to the search role (fresh_ticket.h), so a record is
// searchable from its ack on, not from its publication.

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <arrow/flight/server.h>

#include "common/env.h"
#include "common/metrics.h"
#include "storage/active_file.h"
#include "storage/batch_registry.h"
#include "storage/fresh_ticket.h"
#include "storage/metastore/metastore.h"
#include "storage/object_store.h"

namespace openwit::storage {

struct StorageOptions {
  std::string local_dir = "./data/storage";  // active files, batch registry, stable files before upload
  int64_t rotate_bytes = 256ll << 20;
  std::chrono::milliseconds rotate_age{300000};
  bool delete_local_after_upload = true;  // else kept under local_dir/uploaded
  ObjectStore* lake = nullptr;            // not owned; required
  Metastore* metastore = nullptr;         // not owned; required
  // Required: every Flight call must carry it (x-openwit-cluster-token), else UNAUTHENTICATED
  // before any of its data is read (common/cluster_token.h).
  std::string cluster_token;
  // Where it reports: the node's registry; null: a registry of its own.
  std::shared_ptr<MetricsRegistry> metrics = nullptr;
  // Where stable Parquet files and the batch registry are written (common/env.h); not owned.
  Env* env = Env::Default();
};

class StorageServer final : public arrow::flight::FlightServerBase {
 public:
  // Recovers what a crash left (active files become stable Parquet), then serves on bind:port.
  static arrow::Result<std::unique_ptr<StorageServer>> Start(StorageOptions options, const std::string& bind, int port);
  ~StorageServer() override;

  arrow::Status DoPut(const arrow::flight::ServerCallContext& context,
                      std::unique_ptr<arrow::flight::FlightMessageReader> reader,
                      std::unique_ptr<arrow::flight::FlightMetadataWriter> writer) override;

  // The batches of the ticket's tenant and signal that are not in the metastore yet, each with its
  // file's stem as app_metadata (fresh_ticket.h); never another tenant's.
  arrow::Status DoGet(const arrow::flight::ServerCallContext& context, const arrow::flight::Ticket& request,
                      std::unique_ptr<arrow::flight::FlightDataStream>* stream) override;

  // Finalizes every active file now (tests, shutdown).
  arrow::Status RotateAll();
  // Publishes every stable file waiting under local_dir/stable; the first error after trying all.
  arrow::Status PublishPending();
  void Stop();

 private:
  explicit StorageServer(StorageOptions options);
  struct Partition {
    std::string tenant;
    std::string signal;
    std::string hour;  // YYYY-MM-DDTHH of the file's opening, UTC
    std::shared_ptr<ActiveFile> file;
  };
  arrow::Status Recover();
  struct UnpublishedFile {
    std::string stem;
    bool active = false;  // an IPC stream still written to, else stable Parquet
    std::shared_ptr<arrow::io::RandomAccessFile> in;
  };
  // Opens the active and stable files of the ticket's tenant and signal.
  std::vector<UnpublishedFile> OpenUnpublished(const FreshTicket& ticket);
  arrow::Result<std::shared_ptr<ActiveFile>> ActiveFor(const std::string& tenant, const std::string& signal,
                                                       const std::shared_ptr<arrow::Schema>& schema);
  // Active file -> stable Parquet (local) -> batch ids persisted -> active file deleted -> publish.
  arrow::Status Finalize(const std::string& tenant, const std::string& signal, const std::string& hour,
                         const std::string& active_path, const std::set<std::string>& withdrawn = {});
  // Closes a rotated-out partition's file and finalizes it (even a failed one).
  arrow::Status CloseAndFinalize(const Partition& p);
  // A batch id is stored by one stream at a time: a retry racing a slow stream of the same batch
  // is neither appended twice nor confirmed before the first is durable.
  enum class ClaimResult { kOurs, kStored, kRepeated, kElsewhere };
  ClaimResult Claim(const std::string& id, std::vector<std::string>& claimed);
  // The durable ids go into the registry, then every claim of the stream is let go.
  void Unclaim(const std::vector<std::string>& claimed, const std::vector<std::string>& durable);
  // Stable local file -> object store (verified) -> metastore -> local copy dropped.
  arrow::Status Publish(const std::string& key);
  void RotationLoop();

  struct Metrics;
  const StorageOptions options_;
  const std::unique_ptr<Metrics> metrics_;
  BatchRegistry registry_;
  std::mutex claims_mu_;
  std::set<std::string> claims_;  // ids a stream is storing now
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Partition> active_;
  std::mutex rotation_mu_;  // one finalization or publication at a time
  std::chrono::steady_clock::time_point next_publish_retry_{};
  std::chrono::seconds publish_backoff_{1};
  std::condition_variable cv_;
  bool stopping_ = false;
  bool serving_ = false;  // Init succeeded: Flight's Shutdown crashes on a server that never listened
  std::thread rotation_;
};

}  // namespace openwit::storage
