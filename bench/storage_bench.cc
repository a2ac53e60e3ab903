// Storage node benchmark: OTLP logs, converted to Arrow by the ingest code (not timed), sent over
// real Arrow Flight DoPut on loopback to an in-process StorageServer (fsync'd Arrow IPC active
// files), then RotateAll (stable zstd Parquet, published to a local object store, registered in a
// SQLite metastore). Timed from the first send to the end of RotateAll.
//
// Peers measured in the same run: (1) the physical limit of Parquet writing, parquet::arrow::
// WriteTable of the same Arrow table into one file with the production writer properties (+fsync);
// (2) zstd level 3 over the raw OTLP protobuf bytes.
//
// usage: openwit_storage_bench CORPUS_DIR WORK_DIR [--tenants N] [--repeat R] [--seconds T]
//                               [--batch-requests K] [--group G] [--explore true|false]
// CORPUS_DIR holds logs-NNNNNN.pb from ../shared/bench/corpus.py. A RecordBatch holds the records of
// K requests (default 2: 1,000 records); each DoPut stream carries G batches (default 8); batch i
// goes to tenant i % N, one sender thread (FlightSender) per tenant, so N active files are open at
// once. One round sends the whole corpus once and rotates; rounds repeat R times (or until T
// seconds) with fresh batch ids. --explore writes the same table with other Parquet settings
// (zstd level, sort order, encodings, row groups) to show what moves the compression ratio.

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include <arrow/buffer.h>
#include <arrow/compute/api.h>
#include <arrow/compute/initialize.h>
#include <arrow/io/file.h>
#include <arrow/io/memory.h>
#include <arrow/ipc/writer.h>
#include <arrow/table.h>
#include <arrow/util/compression.h>
#include <fmt/format.h>
#include <parquet/arrow/writer.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>
#include <spdlog/spdlog.h>

#include "common/memory_pool.h"
#include "common/metrics.h"
#include "corpus_reader.h"
#include "ingest/arrow_convert.h"
#include "ingest/flight_sender.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "storage/flight_server.h"
#include "storage/metastore/metastore.h"
#include "storage/object_store.h"
#include "storage/parquet_writer.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Resident set size now (bytes), from /proc/self/statm.
int64_t CurrentRss() {
  std::ifstream in("/proc/self/statm");
  int64_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * ::sysconf(_SC_PAGESIZE);
}

// Peak resident set size so far (bytes).
int64_t PeakRss() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;
}

double MiB(int64_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

struct Batch {
  std::shared_ptr<arrow::RecordBatch> batch;
  int64_t otlp_bytes = 0;  // the serialized OTLP requests its records came from
  int64_t ipc_bytes = 0;   // its Arrow IPC message body
};

struct Corpus {
  std::vector<Batch> batches;
  std::vector<std::string> requests;  // raw OTLP bytes, for the zstd peer
  int64_t rows = 0, otlp_bytes = 0, ipc_bytes = 0;
};

// Each batch: the records of `per_batch` requests, converted by the ingest node's ArrowConverter.
Corpus LoadCorpus(const std::string& dir, int per_batch) {
  Corpus corpus;
  openwit::ingest::ArrowConverter converter(openwit::ingest::Signal::kLogs);
  int64_t pending_bytes = 0;
  int pending = 0;
  auto finish = [&] {
    if (pending == 0) return;
    auto batch = converter.Finish().ValueOrDie();
    int64_t ipc = 0;
    if (!arrow::ipc::GetRecordBatchSize(*batch, &ipc).ok()) ipc = 0;
    corpus.batches.push_back(Batch{batch, pending_bytes, ipc});
    corpus.rows += batch->num_rows();
    corpus.ipc_bytes += ipc;
    pending_bytes = 0;
    pending = 0;
  };
  openwit::bench::ForEachLogsRequest(dir, [&](std::string bytes, const auto& request) {
    for (const auto& rl : request.resource_logs()) {
      auto s = converter.Append(rl);
      if (!s.ok()) {
        std::fprintf(stderr, "%s: %s\n", dir.c_str(), s.ToString().c_str());
        std::exit(1);
      }
    }
    pending_bytes += static_cast<int64_t>(bytes.size());
    corpus.otlp_bytes += static_cast<int64_t>(bytes.size());
    corpus.requests.push_back(std::move(bytes));
    if (++pending == per_batch) finish();
  });
  finish();
  return corpus;
}

// The production writer's properties (storage/parquet_writer.cc), with the knobs --explore turns.
struct ParquetVariant {
  std::string name;
  int level = 3;
  bool dictionary = true;
  bool delta_timestamps = false;
  bool sorted = false;
  int64_t row_group = 1 << 20;
  int64_t dictionary_page = 1 << 20;  // parquet-cpp's default; past it a column falls back to plain
};

std::shared_ptr<parquet::WriterProperties> PropertiesFor(const ParquetVariant& v) {
  parquet::WriterProperties::Builder builder;
  builder.compression(arrow::Compression::ZSTD)
      ->compression_level(v.level)
      ->enable_statistics()
      ->max_row_group_length(v.row_group);
  builder.dictionary_pagesize_limit(v.dictionary_page);
  if (!v.dictionary) builder.disable_dictionary();
  if (v.delta_timestamps) {
    for (const char* column : {"Timestamp", "ObservedTimestamp"}) {
      builder.disable_dictionary(column)->encoding(column, parquet::Encoding::DELTA_BINARY_PACKED);
    }
  }
  return builder.build();
}

arrow::Status WriteParquet(const arrow::Table& table, const ParquetVariant& v,
                           std::shared_ptr<arrow::io::OutputStream> out) {
  auto arrow_properties = parquet::ArrowWriterProperties::Builder().store_schema()->build();
  ARROW_RETURN_NOT_OK(parquet::arrow::WriteTable(table, arrow::default_memory_pool(), out, v.row_group,
                                                 PropertiesFor(v), arrow_properties));
  return out->Close();
}

arrow::Result<std::shared_ptr<arrow::Table>> SortedByServiceAndTime(const std::shared_ptr<arrow::Table>& table) {
  namespace cp = arrow::compute;
  cp::SortOptions options({cp::SortKey("ServiceName"), cp::SortKey("Timestamp")});
  ARROW_ASSIGN_OR_RAISE(auto indices, cp::SortIndices(arrow::Datum(table), options));
  ARROW_ASSIGN_OR_RAISE(auto taken, cp::Take(arrow::Datum(table), arrow::Datum(indices)));
  return taken.table();
}

// Compressed bytes per leaf column (e.g. LogAttributes.key_value.value) of a Parquet file in memory.
std::map<std::string, int64_t> BytesPerColumn(const std::shared_ptr<arrow::Buffer>& file) {
  std::map<std::string, int64_t> out;
  auto reader = parquet::ParquetFileReader::Open(std::make_shared<arrow::io::BufferReader>(file));
  auto meta = reader->metadata();
  for (int rg = 0; rg < meta->num_row_groups(); ++rg) {
    auto group = meta->RowGroup(rg);
    for (int c = 0; c < group->num_columns(); ++c) {
      auto chunk = group->ColumnChunk(c);
      out[chunk->path_in_schema()->ToDotString()] += chunk->total_compressed_size();
    }
  }
  return out;
}

// A histogram's running sum (seconds) in the storage node's registry, by the name and help the
// storage code registers it with.
double HistogramSum(openwit::MetricsRegistry& metrics, const char* name, const char* help) {
  return metrics.Histogram(name, help).Collect().histogram.sample_sum;
}
constexpr const char* kAppendName = "storage.append.latency";
constexpr const char* kAppendHelp = "Seconds to append a stream's batches to active files and fsync them";
constexpr const char* kUploadName = "parquet.upload.latency";
constexpr const char* kUploadHelp = "Seconds to upload a stable Parquet file, verify it and register it";

struct Round {
  double send_s = 0;     // first send -> last batch confirmed (append + fsync + Flight)
  double rotate_s = 0;   // RotateAll: read active files, write stable Parquet, publish, register
  double publish_s = 0;  // of rotate_s: upload (rename) + footer description + metastore
  double server_append_s = 0;
  int64_t lake_bytes = 0, lake_rows = 0, lake_files = 0;
  int64_t rss_growth = 0;  // RSS after all appends (active files open) minus before sending
  double total() const { return send_s + rotate_s; }
};

template <typename T>
T Median(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  openwit::PreferSystemArrowMemoryPool();  // as the openwit binary does
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: %s CORPUS_DIR WORK_DIR [--tenants N] [--repeat R] [--seconds T] [--batch-requests K] "
                 "[--group G] [--explore true|false]\n",
                 argv[0]);
    return 2;
  }
  const std::string corpus_dir = argv[1];
  const std::string work = fs::absolute(argv[2]).string();
  int tenants = 1, repeat = 3, seconds = 0, per_batch = 2, group = 8;
  bool explore = false;
  for (int i = 3; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--tenants")
      tenants = std::max(1, std::stoi(value));
    else if (flag == "--repeat")
      repeat = std::max(1, std::stoi(value));
    else if (flag == "--seconds")
      seconds = std::stoi(value);
    else if (flag == "--batch-requests")
      per_batch = std::max(1, std::stoi(value));
    else if (flag == "--group")
      group = std::max(1, std::stoi(value));
    else if (flag == "--explore")
      explore = value == "true";
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  spdlog::set_level(spdlog::level::warn);
  if (!arrow::compute::Initialize().ok()) return 1;

  const Corpus corpus = LoadCorpus(corpus_dir, per_batch);
  if (corpus.batches.empty()) {
    std::fprintf(stderr, "no logs-*.pb in %s (run ../shared/bench/corpus.py first)\n", corpus_dir.c_str());
    return 1;
  }
  std::error_code ec;
  fs::remove_all(work, ec);
  fs::create_directories(work);

  // The storage node: local object store and SQLite metastore under the work dir.
  openwit::ObjectStoreConfig store_config;
  store_config.uri = work + "/lake";
  auto lake = openwit::storage::ObjectStore::Open(store_config).ValueOrDie();
  openwit::MetastoreConfig meta_config;
  meta_config.sqlite_path = work + "/metastore.sqlite";
  auto metastore = openwit::storage::Metastore::Open(meta_config).ValueOrDie();
  openwit::storage::StorageOptions options;
  options.local_dir = work + "/storage";
  options.rotate_bytes = 1ll << 40;  // only RotateAll finalizes, at the end of a round
  options.rotate_age = std::chrono::hours(24);
  options.lake = lake.get();
  options.metastore = metastore.get();
  options.metrics = std::make_shared<openwit::MetricsRegistry>();
  options.cluster_token = "storage-bench-cluster-token";
  auto server = openwit::storage::StorageServer::Start(options, "127.0.0.1", 0).ValueOrDie();
  const std::string endpoint = fmt::format("127.0.0.1:{}", server->port());

  const int64_t rss_loaded = CurrentRss();
  std::set<std::string> seen_files;
  std::vector<Round> rounds;
  const auto bench_start = Clock::now();
  for (int r = 0; rounds.size() < static_cast<size_t>(repeat) ||
                  (seconds > 0 && Clock::now() - bench_start < std::chrono::seconds(seconds));
       ++r) {
    // Each tenant's puts, in DoPut groups, made before the clock starts.
    std::vector<std::vector<openwit::ingest::StoragePut>> puts(tenants);
    for (size_t i = 0; i < corpus.batches.size(); ++i) {
      openwit::ingest::StoragePut put;
      put.tenant = fmt::format("tenant{}", i % tenants);
      put.signal = openwit::ingest::v1::SIGNAL_LOGS;
      put.batch_id = fmt::format("bench:r{}:{}", r, i);
      put.batch = corpus.batches[i].batch;
      put.records = put.batch->num_rows();
      puts[i % tenants].push_back(std::move(put));
    }
    Round round;
    const double append_before = HistogramSum(*options.metrics, kAppendName, kAppendHelp);
    const double upload_before = HistogramSum(*options.metrics, kUploadName, kUploadHelp);
    const int64_t rss_before = CurrentRss();
    std::atomic<bool> go{false};
    std::atomic<int64_t> confirmed{0}, failures{0};
    std::vector<std::thread> senders;
    for (int t = 0; t < tenants; ++t) {
      senders.emplace_back([&, t] {
        openwit::ingest::FlightSenderOptions sender_options;
        sender_options.endpoints = {endpoint};
        sender_options.cluster_token = options.cluster_token;
        openwit::ingest::FlightSender sender(sender_options);
        const auto& mine = puts[t];
        while (!go.load()) std::this_thread::yield();
        for (size_t begin = 0; begin < mine.size(); begin += group) {
          std::vector<const openwit::ingest::StoragePut*> call;
          for (size_t i = begin; i < std::min(mine.size(), begin + group); ++i) call.push_back(&mine[i]);
          auto s = sender.Put(call, [&](size_t) { ++confirmed; });
          if (!s.ok()) {
            ++failures;
            std::fprintf(stderr, "send: %s\n", s.ToString().c_str());
          }
        }
      });
    }
    const auto start = Clock::now();
    go = true;
    for (auto& t : senders) t.join();
    const auto sent = Clock::now();
    round.rss_growth = CurrentRss() - rss_before;
    auto rotated = server->RotateAll();
    const auto done = Clock::now();
    if (!rotated.ok() || failures > 0 || confirmed != static_cast<int64_t>(corpus.batches.size())) {
      std::fprintf(stderr, "round %d failed: %s, %lld send failures, %lld of %zu confirmed\n", r,
                   rotated.ToString().c_str(), static_cast<long long>(failures.load()),
                   static_cast<long long>(confirmed.load()), corpus.batches.size());
      return 1;
    }
    round.send_s = Seconds(sent - start);
    round.rotate_s = Seconds(done - sent);
    round.server_append_s = HistogramSum(*options.metrics, kAppendName, kAppendHelp) - append_before;
    round.publish_s = HistogramSum(*options.metrics, kUploadName, kUploadHelp) - upload_before;
    // What this round put in the lake, as the metastore lists it.
    for (const auto& file : metastore->ListFiles().ValueOrDie()) {
      if (!seen_files.insert(file.uri).second) continue;
      round.lake_bytes += file.size_bytes;
      round.lake_rows += file.row_count;
      ++round.lake_files;
    }
    if (round.lake_rows != corpus.rows) {
      std::fprintf(stderr, "round %d: the metastore lists %lld rows, %lld were sent\n", r,
                   static_cast<long long>(round.lake_rows), static_cast<long long>(corpus.rows));
      return 1;
    }
    std::printf(
        "round %d: %.3f s = send+append+fsync %.3f s + rotate %.3f s (publish %.3f s) | %lld files, %lld bytes | "
        "RSS %+.1f MiB while %d active files open\n",
        r, round.total(), round.send_s, round.rotate_s, round.publish_s, static_cast<long long>(round.lake_files),
        static_cast<long long>(round.lake_bytes), MiB(round.rss_growth), tenants);
    rounds.push_back(round);
  }
  const int64_t peak_storage = PeakRss();
  server->Stop();
  server.reset();

  // The median round by total time.
  std::sort(rounds.begin(), rounds.end(), [](const Round& a, const Round& b) { return a.total() < b.total(); });
  const Round& med = rounds[rounds.size() / 2];
  const double rows_s = corpus.rows / med.total();
  const double otlp_mbs = corpus.otlp_bytes / med.total() / 1e6;
  const double ipc_mbs = corpus.ipc_bytes / med.total() / 1e6;
  const double ratio = static_cast<double>(corpus.otlp_bytes) / med.lake_bytes;

  // Peer 1: the same table, one Parquet file, production properties, written directly (+fsync).
  std::vector<std::shared_ptr<arrow::RecordBatch>> all;
  for (const auto& b : corpus.batches) all.push_back(b.batch);
  auto table = arrow::Table::FromRecordBatches(all).ValueOrDie();
  std::vector<double> direct_times;
  int64_t direct_bytes = 0;
  for (int i = 0; i < 3; ++i) {
    const std::string path = work + "/peer.parquet";
    const auto t0 = Clock::now();
    auto s = openwit::storage::WriteStableParquet(all, table->schema(), path);
    direct_times.push_back(Seconds(Clock::now() - t0));
    if (!s.ok()) {
      std::fprintf(stderr, "peer parquet: %s\n", s.ToString().c_str());
      return 1;
    }
    direct_bytes = static_cast<int64_t>(fs::file_size(path));
    fs::remove(path);
  }
  const double direct_s = Median(direct_times);

  // Peer 2: zstd level 3 over the raw OTLP protobuf, each request alone and the corpus as one stream.
  auto codec = arrow::util::Codec::Create(arrow::Compression::ZSTD, 3).ValueOrDie();
  int64_t zstd_each = 0;
  auto t0 = Clock::now();
  std::vector<uint8_t> scratch;
  for (const auto& request : corpus.requests) {
    const auto n = static_cast<int64_t>(request.size());
    scratch.resize(codec->MaxCompressedLen(n, reinterpret_cast<const uint8_t*>(request.data())));
    zstd_each += codec
                     ->Compress(n, reinterpret_cast<const uint8_t*>(request.data()),
                                static_cast<int64_t>(scratch.size()), scratch.data())
                     .ValueOrDie();
  }
  const double zstd_each_s = Seconds(Clock::now() - t0);
  std::string joined;
  for (const auto& request : corpus.requests) joined += request;
  scratch.resize(
      codec->MaxCompressedLen(static_cast<int64_t>(joined.size()), reinterpret_cast<const uint8_t*>(joined.data())));
  t0 = Clock::now();
  const int64_t zstd_whole =
      codec
          ->Compress(static_cast<int64_t>(joined.size()), reinterpret_cast<const uint8_t*>(joined.data()),
                     static_cast<int64_t>(scratch.size()), scratch.data())
          .ValueOrDie();
  const double zstd_whole_s = Seconds(Clock::now() - t0);

  std::printf(
      "\nstorage node, tenants=%d batch=%d records group=%d, %zu rounds (median by time):\n"
      "  %lld records, %.1f MB OTLP protobuf, %.1f MB Arrow IPC, in %.3f s = send+append+fsync %.3f s "
      "(server-side append+fsync summed over streams %.3f s) + RotateAll %.3f s (of which publish+register %.3f s)\n"
      "  %.0f records/s, %.1f MB/s OTLP, %.1f MB/s Arrow IPC\n"
      "  lake: %lld stable Parquet files, %lld bytes: compression %.2f : 1 vs OTLP protobuf\n"
      "  RSS: %.0f MiB after loading the corpus, peak %.0f MiB (+%.0f MiB); %+.1f MiB with %d active files open "
      "(%.2f MiB a file)\n",
      tenants, static_cast<int>(corpus.rows / static_cast<int64_t>(corpus.batches.size())), group, rounds.size(),
      static_cast<long long>(corpus.rows), corpus.otlp_bytes / 1e6, corpus.ipc_bytes / 1e6, med.total(), med.send_s,
      med.server_append_s, med.rotate_s, med.publish_s, rows_s, otlp_mbs, ipc_mbs,
      static_cast<long long>(med.lake_files), static_cast<long long>(med.lake_bytes), ratio, MiB(rss_loaded),
      MiB(peak_storage), MiB(peak_storage - rss_loaded), MiB(med.rss_growth), tenants, MiB(med.rss_growth) / tenants);
  std::printf(
      "peer 1, WriteStableParquet of the same table in process (one file, zstd 3, +fsync): %.3f s, %.0f records/s, "
      "%lld bytes, %.2f : 1\n"
      "peer 2, zstd 3 over raw OTLP: each request %.2f : 1 at %.0f MB/s; whole corpus %.2f : 1 at %.0f MB/s\n"
      "ratios: records/s vs direct Parquet %.2f; RotateAll time vs direct Parquet %.2f; "
      "compression vs direct Parquet %.2f, vs zstd-3 per request %.2f, vs zstd-3 whole %.2f; "
      "OTLP MB/s vs zstd-3 MB/s %.2f\n",
      direct_s, corpus.rows / direct_s, static_cast<long long>(direct_bytes),
      static_cast<double>(corpus.otlp_bytes) / direct_bytes, static_cast<double>(corpus.otlp_bytes) / zstd_each,
      corpus.otlp_bytes / zstd_each_s / 1e6, static_cast<double>(corpus.otlp_bytes) / zstd_whole,
      corpus.otlp_bytes / zstd_whole_s / 1e6, rows_s / (corpus.rows / direct_s), med.rotate_s / direct_s,
      static_cast<double>(direct_bytes) / med.lake_bytes, static_cast<double>(zstd_each) / med.lake_bytes,
      static_cast<double>(zstd_whole) / med.lake_bytes, otlp_mbs / (corpus.otlp_bytes / zstd_each_s / 1e6));

  if (explore) {
    // What moves the compression ratio: the same table, other settings, written to memory.
    auto sorted = SortedByServiceAndTime(table).ValueOrDie();
    const std::vector<ParquetVariant> variants = {
        {"production: zstd 3, dictionary, 1M-row groups", 3, true, false, false, 1 << 20},
        {"zstd 1", 1, true, false, false, 1 << 20},
        {"zstd 9", 9, true, false, false, 1 << 20},
        {"zstd 3, no dictionary", 3, false, false, false, 1 << 20},
        {"zstd 3, 64k-row groups", 3, true, false, false, 1 << 16},
        {"zstd 3, delta timestamps", 3, true, true, false, 1 << 20},
        {"zstd 3, sorted by ServiceName, Timestamp", 3, true, false, true, 1 << 20},
        {"zstd 3, sorted, delta timestamps", 3, true, true, true, 1 << 20},
        {"zstd 9, sorted, delta timestamps", 9, true, true, true, 1 << 20},
        {"zstd 3, no dictionary, delta timestamps", 3, false, true, false, 1 << 20},
        {"zstd 3, no dictionary, delta, sorted", 3, false, true, true, 1 << 20},
        {"zstd 9, no dictionary, delta timestamps", 9, false, true, false, 1 << 20},
        {"zstd 3, 8 MiB dictionary pages", 3, true, false, false, 1 << 20, 8 << 20},
        {"zstd 3, 8 MiB dictionary pages, delta", 3, true, true, false, 1 << 20, 8 << 20},
        {"zstd 3, 8 MiB dictionary pages, delta, sorted", 3, true, true, true, 1 << 20, 8 << 20},
        {"zstd 9, 8 MiB dictionary pages, delta, sorted", 9, true, true, true, 1 << 20, 8 << 20},
    };
    std::printf("\nexplore (%lld records in one file; sorting itself took extra time not shown):\n",
                static_cast<long long>(table->num_rows()));
    std::shared_ptr<arrow::Buffer> production_file;
    for (const auto& v : variants) {
      auto out = arrow::io::BufferOutputStream::Create().ValueOrDie();
      const auto start = Clock::now();
      auto s = WriteParquet(v.sorted ? *sorted : *table, v, out);
      const double took = Seconds(Clock::now() - start);
      if (!s.ok()) {
        std::printf("  %-45s failed: %s\n", v.name.c_str(), s.ToString().c_str());
        continue;
      }
      auto buffer = out->Finish().ValueOrDie();
      if (!production_file) production_file = buffer;
      std::printf("  %-45s %10lld bytes  %.2f : 1  %.3f s  %.0f records/s\n", v.name.c_str(),
                  static_cast<long long>(buffer->size()), static_cast<double>(corpus.otlp_bytes) / buffer->size(), took,
                  table->num_rows() / took);
    }
    std::printf("bytes a record per column (production settings):\n");
    for (const auto& [column, bytes] : BytesPerColumn(production_file)) {
      std::printf("  %-36s %6.2f\n", column.c_str(), static_cast<double>(bytes) / table->num_rows());
    }
  }
  fs::remove_all(work, ec);
  return 0;
}
