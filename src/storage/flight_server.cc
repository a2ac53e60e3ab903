#include "storage/flight_server.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <random>
#include <set>

#include <arrow/buffer.h>
#include <arrow/flight/server_middleware.h>
#include <arrow/io/file.h>
#include <arrow/ipc/dictionary.h>
#include <arrow/ipc/writer.h>
#include <arrow/table.h>
#include <arrow/type.h>
#include <fmt/format.h>
#include <parquet/arrow/reader.h>
#include <spdlog/spdlog.h>

#include "common/cluster_token.h"
#include "common/config_overrides.h"
#include "storage/lake_file.h"
#include "storage/parquet_writer.h"

namespace openwit::storage {
namespace {

namespace flight = arrow::flight;
namespace fs = std::filesystem;

std::string CurrentHour() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H", &utc);
  return buf;
}

std::string RandomHex() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  return fmt::format("{:016x}", rng());
}

// Refuses every Flight call (DoPut, Handshake, ListFlights, ...) that lacks the cluster token,
// before the server reads any of its data: nobody outside the cluster writes the lake or the batch
// registry.
class ClusterTokenCheck final : public flight::ServerMiddlewareFactory {
 public:
  explicit ClusterTokenCheck(ClusterToken token) : token_(std::move(token)) {}
  arrow::Status StartCall(const flight::CallInfo&, const flight::ServerCallContext& context,
                          std::shared_ptr<flight::ServerMiddleware>*) override {
    std::optional<std::string_view> presented;
    const auto& headers = context.incoming_headers();
    if (auto it = headers.find(kClusterTokenHeader); it != headers.end()) presented = it->second;
    std::string why;
    if (token_.Admits(presented, "flight", &why)) return arrow::Status::OK();
    return flight::MakeFlightError(flight::FlightStatusCode::Unauthenticated, std::move(why));
  }

 private:
  const ClusterToken token_;
};

// Whether batches of `b` can travel in a stream of `a`: the same types, where only the names of
// list and map children may differ (a stable file read back from Parquet names them its own way).
bool SameLayout(const arrow::DataType& a, const arrow::DataType& b) {
  if (a.id() != b.id() || a.num_fields() != b.num_fields()) return false;
  if (a.num_fields() == 0) return a.Equals(b);
  if (a.id() == arrow::Type::FIXED_SIZE_LIST && static_cast<const arrow::FixedSizeListType&>(a).list_size() !=
                                                    static_cast<const arrow::FixedSizeListType&>(b).list_size()) {
    return false;
  }
  for (int i = 0; i < a.num_fields(); ++i) {
    if (a.id() == arrow::Type::STRUCT && a.field(i)->name() != b.field(i)->name()) return false;
    if (!SameLayout(*a.field(i)->type(), *b.field(i)->type())) return false;
  }
  return true;
}

bool SameLayout(const arrow::Schema& a, const arrow::Schema& b) {
  if (a.num_fields() != b.num_fields()) return false;
  for (int i = 0; i < a.num_fields(); ++i) {
    if (a.field(i)->name() != b.field(i)->name() || !SameLayout(*a.field(i)->type(), *b.field(i)->type())) {
      return false;
    }
  }
  return true;
}

arrow::Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> ReadParquetBatches(
    const std::shared_ptr<arrow::io::RandomAccessFile>& in) {
  ARROW_ASSIGN_OR_RAISE(auto reader, parquet::arrow::OpenFile(in, arrow::default_memory_pool()));
  ARROW_ASSIGN_OR_RAISE(auto table, reader->ReadTable());
  arrow::TableBatchReader batches(*table);
  return batches.ToRecordBatches();
}

// The answer of DoGet: one schema, each batch with the stem of its file as app_metadata (Flight's
// RecordBatchStream sends no app_metadata).
class FreshStream final : public flight::FlightDataStream {
 public:
  using StemAndBatch = std::pair<std::string, std::shared_ptr<arrow::RecordBatch>>;
  FreshStream(std::shared_ptr<arrow::Schema> schema, std::vector<StemAndBatch> batches)
      : schema_(std::move(schema)), batches_(std::move(batches)) {}

  std::shared_ptr<arrow::Schema> schema() override { return schema_; }
  arrow::Result<flight::FlightPayload> GetSchemaPayload() override {
    flight::FlightPayload payload;
    arrow::ipc::DictionaryFieldMapper mapper(*schema_);
    ARROW_RETURN_NOT_OK(arrow::ipc::GetSchemaPayload(*schema_, options_, mapper, &payload.ipc_message));
    return payload;
  }
  arrow::Result<flight::FlightPayload> Next() override {
    flight::FlightPayload payload;  // without IPC metadata: the end of the stream
    if (next_ == batches_.size()) return payload;
    const auto& [stem, batch] = batches_[next_++];
    ARROW_RETURN_NOT_OK(arrow::ipc::GetRecordBatchPayload(*batch, options_, &payload.ipc_message));
    payload.app_metadata = arrow::Buffer::FromString(stem);
    return payload;
  }

 private:
  const std::shared_ptr<arrow::Schema> schema_;
  const std::vector<StemAndBatch> batches_;
  const arrow::ipc::IpcWriteOptions options_ = arrow::ipc::IpcWriteOptions::Defaults();
  size_t next_ = 0;
};

}  // namespace

struct StorageServer::Metrics {
  explicit Metrics(std::shared_ptr<MetricsRegistry> registry) : r(OwnRegistryIfNone(std::move(registry))) {}
  const std::shared_ptr<MetricsRegistry> r;
  prometheus::Histogram& append_latency =
      r->Histogram("storage.append.latency", "Seconds to append a stream's batches to active files and fsync them");
  prometheus::Counter& rows_stored = r->Counter("storage.rows.appended", "Rows made durable");
  prometheus::Counter& duplicates =
      r->Counter("storage.batches.duplicate", "Batches received again (a replay) and confirmed without storing");
  prometheus::Histogram& upload_latency =
      r->Histogram("parquet.upload.latency", "Seconds to upload a stable Parquet file, verify it and register it");
  prometheus::Counter& uploaded = r->Counter("parquet.files.uploaded", "Stable files published");
  prometheus::Counter& failures =
      r->Counter("parquet.upload.failures", "Failed publications of a stable file (tried again later)");
  prometheus::Counter& fresh_batches =
      r->Counter("storage.fresh.batches", "Batches not published yet that the search role was sent (DoGet)");
  prometheus::Counter& fresh_skipped =
      r->Counter("storage.fresh.files_skipped",
                 "Unpublished files left out of a fresh answer: unreadable, or of another schema than the rest");
};

StorageServer::StorageServer(StorageOptions options)
    : options_(std::move(options)),
      metrics_(std::make_unique<Metrics>(options_.metrics)),
      registry_(1 << 20, options_.env) {}

StorageServer::~StorageServer() { Stop(); }

arrow::Result<std::unique_ptr<StorageServer>> StorageServer::Start(StorageOptions options, const std::string& bind,
                                                                   int port) {
  if (options.cluster_token.empty()) return arrow::Status::Invalid("storage: no cluster token to check calls against");
  ClusterToken token(options.cluster_token);
  std::unique_ptr<StorageServer> server(new StorageServer(std::move(options)));
  token.CountRefusalsIn(server->metrics_->r);
  ARROW_RETURN_NOT_OK(server->Recover());
  ARROW_ASSIGN_OR_RAISE(auto location, flight::Location::ForGrpcTcp(bind, port));
  flight::FlightServerOptions flight_options(location);
  flight_options.middleware.emplace_back("cluster-token", std::make_shared<ClusterTokenCheck>(std::move(token)));
  auto status = server->Init(flight_options);
  if (!status.ok()) {
    return arrow::Status::IOError("storage: cannot listen on ", bind, ":", port, ": ", status.message());
  }
  server->serving_ = true;
  server->rotation_ = std::thread([raw = server.get()] { raw->RotationLoop(); });
  return server;
}

arrow::Status StorageServer::Recover() {
  if (!options_.lake || !options_.metastore) return arrow::Status::Invalid("storage: no object store or metastore");
  std::error_code ec;
  fs::create_directories(options_.local_dir + "/active", ec);
  if (ec) return arrow::Status::IOError("cannot create ", options_.local_dir, "/active: ", ec.message());
  ARROW_RETURN_NOT_OK(registry_.Open(options_.local_dir + "/committed-batch-ids.log"));
  // Active files a crash left behind: every complete batch in them was confirmed or not; either
  // way it is durable here, so it goes to the lake and its id is remembered.
  int recovered = 0;
  for (const auto& tenant_dir : fs::directory_iterator(options_.local_dir + "/active", ec)) {
    for (const auto& signal_dir : fs::directory_iterator(tenant_dir.path(), ec)) {
      for (const auto& file : fs::directory_iterator(signal_dir.path(), ec)) {
        if (file.path().extension() != ".arrows") continue;
        const std::string name = file.path().stem().string();
        ARROW_RETURN_NOT_OK(Finalize(tenant_dir.path().filename().string(), signal_dir.path().filename().string(),
                                     name.substr(0, 13), file.path().string()));
        ++recovered;
      }
    }
  }
  if (recovered > 0) spdlog::info("storage: recovered {} active files left by a previous run", recovered);
  // Stable files a previous run could not publish: the object store or metastore may be down
  // still, which must not keep the node from taking data; the rotation loop keeps trying.
  if (auto s = PublishPending(); !s.ok()) spdlog::warn("storage: publishing left-over files: {}", s.message());
  return arrow::Status::OK();
}

arrow::Result<std::shared_ptr<ActiveFile>> StorageServer::ActiveFor(const std::string& tenant,
                                                                    const std::string& signal,
                                                                    const std::shared_ptr<arrow::Schema>& schema) {
  const std::string hour = CurrentHour();
  std::lock_guard lock(mu_);
  auto& partition = active_[{tenant, signal}];
  if (partition.file && partition.hour == hour && partition.file->schema()->Equals(*schema) &&
      !partition.file->failed()) {
    return partition.file;
  }
  // A new hour, a new schema or a failed sync starts a new file; the rotation loop finalizes the old one.
  if (partition.file) cv_.notify_all();
  const std::string dir = fmt::format("{}/active/{}/{}", options_.local_dir, tenant, signal);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return arrow::Status::IOError("cannot create ", dir, ": ", ec.message());
  auto previous = partition;
  ARROW_ASSIGN_OR_RAISE(
      auto file, ActiveFile::Create(fmt::format("{}/{}-{}.arrows", dir, hour, RandomHex()), schema, options_.env));
  if (previous.file) {
    // Keep the old file findable for the rotation loop under a key of its own.
    active_[{tenant, signal + "#" + RandomHex()}] = previous;
  }
  partition = Partition{tenant, signal, hour, file};
  return file;
}

arrow::Status StorageServer::DoPut(const flight::ServerCallContext&,
                                   std::unique_ptr<flight::FlightMessageReader> reader,
                                   std::unique_ptr<flight::FlightMetadataWriter> writer) {
  const auto& path = reader->descriptor().path;
  if (path.size() != 2 || !ValidTenantName(path[0]) ||
      (path[1] != "logs" && path[1] != "traces" && path[1] != "metrics")) {
    return arrow::Status::Invalid(
        "descriptor path must be [tenant, logs|traces|metrics] with a tenant of letters, "
        "digits, '-', '_' or '.'");
  }
  const std::string& tenant = path[0];
  const std::string& signal = path[1];
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::string> arrived;  // ids to confirm if stored, in arrival order
  std::set<std::string> stored;      // of those, stored before (duplicates) or durable now
  std::vector<std::string> claimed;  // ids this stream stores (no other stream may meanwhile)
  std::map<std::shared_ptr<ActiveFile>, std::vector<std::string>> appended;
  int64_t rows = 0;
  arrow::Status status;
  while (status.ok()) {
    auto next = reader->Next();
    if (!next.ok()) {
      status = next.status();
      break;
    }
    if (!next->data) break;
    if (!next->app_metadata || next->app_metadata->size() == 0) {
      status = arrow::Status::Invalid("batch without a batch id in app_metadata");
      break;
    }
    std::string id = next->app_metadata->ToString();
    switch (Claim(id, claimed)) {
      case ClaimResult::kStored:  // a replay: confirmed again, stored once
        metrics_->duplicates.Increment();
        stored.insert(id);
        arrived.push_back(std::move(id));
        continue;
      case ClaimResult::kRepeated:  // twice in this stream: confirmed once the first is durable
        metrics_->duplicates.Increment();
        arrived.push_back(std::move(id));
        continue;
      case ClaimResult::kElsewhere:  // another stream is storing it: not confirmed here, its sender retries
        continue;
      case ClaimResult::kOurs:
        break;
    }
    // A file rotated away between lookup and append is closed: look again.
    for (int attempt = 0; attempt < 3; ++attempt) {
      auto file = ActiveFor(tenant, signal, next->data->schema());
      if (!file.ok()) {
        status = file.status();
        break;
      }
      status = (*file)->Append(*next->data, id);
      if (status.ok()) {
        appended[*file].push_back(id);
        break;
      }
    }
    if (!status.ok()) break;
    rows += next->data->num_rows();
    arrived.push_back(std::move(id));
  }
  // What was appended is made durable and confirmed even if the stream failed later on; what a
  // failed sync covered is not confirmed (the file withdrew it) and comes again.
  std::vector<std::string> durable;
  for (const auto& [file, ids] : appended) {
    if (auto s = file->Sync(); !s.ok()) {
      status = s;
      continue;
    }
    durable.insert(durable.end(), ids.begin(), ids.end());
  }
  stored.insert(durable.begin(), durable.end());
  Unclaim(claimed, durable);
  metrics_->append_latency.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  metrics_->rows_stored.Increment(static_cast<double>(rows));
  for (const auto& id : arrived) {
    if (stored.count(id) == 0) continue;
    ARROW_RETURN_NOT_OK(writer->WriteMetadata(*arrow::Buffer::FromString(id)));
  }
  return status;
}

StorageServer::ClaimResult StorageServer::Claim(const std::string& id, std::vector<std::string>& claimed) {
  std::lock_guard lock(claims_mu_);
  if (registry_.Contains(id)) return ClaimResult::kStored;
  if (std::find(claimed.begin(), claimed.end(), id) != claimed.end()) return ClaimResult::kRepeated;
  if (!claims_.insert(id).second) return ClaimResult::kElsewhere;
  claimed.push_back(id);
  return ClaimResult::kOurs;
}

void StorageServer::Unclaim(const std::vector<std::string>& claimed, const std::vector<std::string>& durable) {
  std::lock_guard lock(claims_mu_);
  // In the registry before the claims go: a stream that looks next finds it stored.
  for (const auto& id : durable) registry_.Add(id);
  for (const auto& id : claimed) claims_.erase(id);
}

std::vector<StorageServer::UnpublishedFile> StorageServer::OpenUnpublished(const FreshTicket& ticket) {
  std::vector<UnpublishedFile> files;
  auto open = [&](const fs::path& path, bool active) {
    auto in = [&]() -> arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> {
      if (active) return arrow::io::MemoryMappedFile::Open(path.string(), arrow::io::FileMode::READ);
      return arrow::io::ReadableFile::Open(path.string());
    }();
    if (!in.ok()) {
      spdlog::warn("storage: fresh answer without {}: {}", path.string(), in.status().message());
      metrics_->fresh_skipped.Increment();
      return;
    }
    files.push_back({FileStem(path.string()), active, std::move(*in)});
  };
  // Finalizing (active -> stable) and publishing (stable -> lake and metastore) hold rotation_mu_:
  // under it every file of the tenant is found exactly once here or is in the metastore already.
  // What is opened stays readable once the lock is released, even after the file moves on.
  std::lock_guard lock(rotation_mu_);
  std::error_code ec;
  for (const auto& entry :
       fs::directory_iterator(fmt::format("{}/active/{}/{}", options_.local_dir, ticket.tenant, ticket.signal), ec)) {
    if (entry.path().extension() == ".arrows") open(entry.path(), true);
  }
  ec.clear();
  const std::string stable =
      fmt::format("{}/stable/tenant={}/signal={}", options_.local_dir, ticket.tenant, ticket.signal);
  for (auto it = fs::recursive_directory_iterator(stable, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".parquet") open(it->path(), false);
  }
  return files;
}

arrow::Status StorageServer::DoGet(const flight::ServerCallContext&, const flight::Ticket& request,
                                   std::unique_ptr<flight::FlightDataStream>* stream) {
  ARROW_ASSIGN_OR_RAISE(auto ticket, ParseFreshTicket(request.ticket));
  std::shared_ptr<arrow::Schema> schema;
  std::vector<FreshStream::StemAndBatch> batches;
  for (const auto& file : OpenUnpublished(ticket)) {
    auto read = [&]() -> arrow::Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> {
      if (!file.active) return ReadParquetBatches(file.in);
      ARROW_ASSIGN_OR_RAISE(auto contents, ActiveFile::Read(file.in));
      return std::move(contents.batches);  // a torn tail is a batch still being written: not acked yet
    }();
    if (!read.ok() || read->empty()) {
      if (!read.ok()) {
        spdlog::warn("storage: fresh answer without {}: {}", file.stem, read.status().message());
        metrics_->fresh_skipped.Increment();
      }
      continue;
    }
    if (!schema) schema = read->front()->schema();
    // One stream has one schema; a file of another (a schema change meanwhile) is searchable once
    // published.
    if (!SameLayout(*schema, *read->front()->schema())) {
      spdlog::warn("storage: fresh answer without {}: its schema differs from the other files'", file.stem);
      metrics_->fresh_skipped.Increment();
      continue;
    }
    for (const auto& batch : *read) {
      batches.emplace_back(file.stem, arrow::RecordBatch::Make(schema, batch->num_rows(), batch->columns()));
    }
  }
  if (!schema) schema = arrow::schema(arrow::FieldVector{});
  if (arrow::ipc::DictionaryFieldMapper(*schema).num_fields() > 0) {
    return arrow::Status::NotImplemented("fresh answers of dictionary-encoded columns");
  }
  metrics_->fresh_batches.Increment(static_cast<double>(batches.size()));
  *stream = std::make_unique<FreshStream>(std::move(schema), std::move(batches));
  return arrow::Status::OK();
}

arrow::Status StorageServer::CloseAndFinalize(const Partition& p) {
  // A file whose sync failed is finalized all the same, without the batches that failed sync
  // withdrew: every other batch was confirmed after a sync that covered it.
  if (auto s = p.file->Close(); !s.ok()) spdlog::error("storage: {}", s.message());
  return Finalize(p.tenant, p.signal, p.hour, p.file->path(), p.file->withdrawn());
}

arrow::Status StorageServer::Finalize(const std::string& tenant, const std::string& signal, const std::string& hour,
                                      const std::string& active_path, const std::set<std::string>& withdrawn) {
  // The active file is closed: nothing writes it any more, and fresh answers read it until the
  // stable file takes its place. Encoding (seconds for a large file) happens outside rotation_mu_,
  // beside those answers; only the swap (rename, registry, unlink) is under it.
  ARROW_ASSIGN_OR_RAISE(auto contents, ActiveFile::Read(active_path));
  if (!withdrawn.empty()) {
    size_t kept = 0;
    for (size_t i = 0; i < contents.batches.size(); ++i) {
      if (withdrawn.count(contents.batch_ids[i]) > 0) continue;
      contents.batches[kept] = std::move(contents.batches[i]);
      contents.batch_ids[kept++] = std::move(contents.batch_ids[i]);
    }
    spdlog::warn("storage: {}: {} batches a failed sync withdrew are left out (their senders send them again)",
                 active_path, contents.batches.size() - kept);
    contents.batches.resize(kept);
    contents.batch_ids.resize(kept);
  }
  if (contents.torn)
    spdlog::warn("storage: {}: a batch cut short by a crash was left out (never confirmed)", active_path);
  if (contents.malformed > 0) {
    spdlog::error("storage: {}: {} malformed batches left out (the file was damaged on disk): {}", active_path,
                  contents.malformed, contents.first_malformed);
  }
  std::string key;
  ParquetOptions parquet;
  parquet.env = options_.env;
  if (!contents.batches.empty()) {
    // The name comes from the active file, so finalizing twice writes one file.
    key = LakeKey(tenant, signal, hour, fs::path(active_path).stem().string());
    ARROW_RETURN_NOT_OK(WriteParquetBeside(contents.batches, contents.batches.front()->schema(),
                                           options_.local_dir + "/stable/" + key, parquet));
  }
  {
    std::lock_guard lock(rotation_mu_);
    if (!key.empty()) {
      ARROW_RETURN_NOT_OK(CommitParquet(options_.local_dir + "/stable/" + key, parquet));
      std::vector<std::string> ids;
      for (auto& id : contents.batch_ids) {
        if (!id.empty()) ids.push_back(std::move(id));
      }
      ARROW_RETURN_NOT_OK(registry_.Persist(ids));
    }
    if (::unlink(active_path.c_str()) != 0) {
      return arrow::Status::IOError("cannot delete finalized active file ", active_path, ": ", std::strerror(errno));
    }
  }
  if (key.empty()) return arrow::Status::OK();
  // Durable here already: a failed upload is retried, never reported to the ingest node.
  if (auto s = Publish(key); !s.ok()) {
    spdlog::warn("storage: {} stays local for now: {}", key, s.message());
    std::lock_guard lock(rotation_mu_);
    if (next_publish_retry_ == std::chrono::steady_clock::time_point{}) {
      next_publish_retry_ = std::chrono::steady_clock::now() + publish_backoff_;
    }
  }
  return arrow::Status::OK();
}

arrow::Status StorageServer::Publish(const std::string& key) {
  std::lock_guard lock(rotation_mu_);
  const std::string local = options_.local_dir + "/stable/" + key;
  if (!fs::exists(local)) return arrow::Status::OK();  // published meanwhile
  const auto start = std::chrono::steady_clock::now();
  auto status = [&]() -> arrow::Status {
    ARROW_ASSIGN_OR_RAISE(auto parts, ParseLakeKey(key));
    ARROW_ASSIGN_OR_RAISE(auto in, arrow::io::ReadableFile::Open(local));
    ARROW_ASSIGN_OR_RAISE(auto row, DescribeParquet(in, options_.lake->Uri(key), parts.tenant, parts.signal));
    ARROW_RETURN_NOT_OK(in->Close());
    const bool move = options_.delete_local_after_upload;
    ARROW_RETURN_NOT_OK(options_.lake->Upload(local, key, move));
    // Uploaded: if the metastore write fails now, the file is in the lake but invisible until the
    // janitor registers it (or, when the local copy is still here, the next try does).
    ARROW_RETURN_NOT_OK(options_.metastore->AddFiles({row}));
    std::error_code ec;
    if (move) {
      fs::remove(local, ec);
    } else {
      const std::string kept = options_.local_dir + "/uploaded/" + key;
      fs::create_directories(fs::path(kept).parent_path(), ec);
      if (!ec) fs::rename(local, kept, ec);
    }
    if (ec) return arrow::Status::IOError("cannot clear published ", local, ": ", ec.message());
    spdlog::info("storage: {} rows -> {}", row.row_count, row.uri);
    return arrow::Status::OK();
  }();
  if (!status.ok()) {
    metrics_->failures.Increment();
    return status.WithMessage("publishing ", key, ": ", status.message());
  }
  metrics_->uploaded.Increment();
  metrics_->upload_latency.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return status;
}

arrow::Status StorageServer::PublishPending() {
  const std::string root = options_.local_dir + "/stable";
  std::vector<std::string> keys;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".parquet") {
      keys.push_back(fs::relative(it->path(), root).string());
    }
  }
  arrow::Status first;
  for (const auto& key : keys) {
    auto s = Publish(key);
    if (!s.ok() && first.ok()) first = s;
  }
  std::lock_guard lock(rotation_mu_);
  if (first.ok()) {
    publish_backoff_ = std::chrono::seconds(1);
    next_publish_retry_ = {};
  } else {
    publish_backoff_ = std::min(publish_backoff_ * 2, std::chrono::seconds(60));
    next_publish_retry_ = std::chrono::steady_clock::now() + publish_backoff_;
  }
  return first;
}

arrow::Status StorageServer::RotateAll() {
  std::vector<Partition> doomed;
  {
    std::lock_guard lock(mu_);
    for (auto& [key, partition] : active_) doomed.push_back(partition);
    active_.clear();
  }
  arrow::Status result;
  for (auto& p : doomed) {
    if (auto s = CloseAndFinalize(p); !s.ok()) {
      spdlog::error("storage: cannot finalize {}: {}", p.file->path(), s.message());
      result = s;
    }
  }
  return result;
}

void StorageServer::RotationLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::seconds(1));
    if (stopping_) break;
    const std::string hour = CurrentHour();
    std::vector<Partition> due;
    for (auto it = active_.begin(); it != active_.end();) {
      const Partition& p = it->second;
      const bool retired = it->first.second != p.signal;  // replaced by a newer file
      if (retired || p.file->failed() || p.hour != hour || p.file->bytes() >= options_.rotate_bytes ||
          std::chrono::steady_clock::now() - p.file->opened() >= options_.rotate_age) {
        due.push_back(p);
        it = active_.erase(it);
      } else {
        ++it;
      }
    }
    bool retry_publish = false;
    {
      std::lock_guard publish_lock(rotation_mu_);
      retry_publish = next_publish_retry_ != std::chrono::steady_clock::time_point{} &&
                      std::chrono::steady_clock::now() >= next_publish_retry_;
    }
    lock.unlock();
    if (retry_publish) {
      if (auto s = PublishPending(); !s.ok()) spdlog::warn("storage: publishing stays behind: {}", s.message());
    }
    for (auto& p : due) {
      if (auto s = CloseAndFinalize(p); !s.ok()) {
        spdlog::error("storage: cannot finalize {}: {} (retried at the next start)", p.file->path(), s.message());
      }
    }
    lock.lock();
  }
}

void StorageServer::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (rotation_.joinable()) rotation_.join();
  if (serving_) (void)Shutdown();
  if (auto s = RotateAll(); !s.ok()) spdlog::error("storage: finalizing at stop: {}", s.message());
}

}  // namespace openwit::storage
