// Ingest node benchmark: records/s into the short WAL and ack latency (p50/p99), against the
// physical limit of the same disk measured in the same run (raw sequential write+fdatasync).
//
// usage: openwit_ingest_bench CORPUS_DIR WORK_DIR [--batch N] [--senders S] [--sync true|false]
//                              [--seconds T]
// CORPUS_DIR holds logs-NNNNNN.pb from ../shared/bench/corpus.py. The pipeline is driven in
// process from the bytes a gateway sends (SubmitSerialized, as the bulk gRPC service does: parse,
// dedup, Arrow conversion, the real WAL; no gRPC hop); storage confirms at once (ConfirmingSink),
// so the figure is the ingest node's path, not Parquet writing. "records per CPU-second" divides
// by the process's CPU time minus the senders' own (editing and serializing their batches).

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/memory_pool.h"
#include "corpus_reader.h"
#include "ingest/ingest_pipeline.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using openwit::ingest::v1::BulkBatch;

namespace {

// Storage is not part of this measurement: the sink confirms every batch at once, so WAL entries
// are released and buffers freed as they would be with a storage node that keeps up.
class ConfirmingSink final : public openwit::ingest::StorageSink {
 public:
  arrow::Status Put(const std::vector<const openwit::ingest::StoragePut*>& puts,
                    const std::function<void(size_t)>& on_durable) override {
    for (size_t i = 0; i < puts.size(); ++i) on_durable(i);
    return arrow::Status::OK();
  }
};

double ProcessCpuSeconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

int64_t ThreadCpuNanos() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::vector<BulkBatch> LoadBatches(const std::string& dir, int per_batch, int64_t* total_records,
                                   int64_t* total_bytes) {
  std::vector<BulkBatch> out;
  BulkBatch current;
  int in_current = 0;
  const void* current_scope = nullptr;
  auto flush = [&] {
    if (in_current == 0) return;
    *total_bytes += static_cast<int64_t>(current.ByteSizeLong());
    out.push_back(std::move(current));
    current = BulkBatch();
    in_current = 0;
    current_scope = nullptr;
  };
  openwit::bench::ForEachLogsRequest(dir, [&](std::string, const auto& request) {
    current_scope = nullptr;  // a new request: its scopes are new even at a reused address
    for (const auto& rl : request.resource_logs()) {
      for (const auto& sl : rl.scope_logs()) {
        for (const auto& rec : sl.log_records()) {
          if (in_current == 0) {
            current.set_tenant("bench");
            current.set_signal(openwit::ingest::v1::SIGNAL_LOGS);
            current.set_batch_id(fmt::format("b{}", out.size()));
          }
          // Records keep their resource and scope grouping, as in the OTLP requests.
          if (current.resource_logs_size() == 0 || current_scope != &sl) {
            auto* r = current.add_resource_logs();
            *r->mutable_resource() = rl.resource();
            *r->add_scope_logs()->mutable_scope() = sl.scope();
            current_scope = &sl;
          }
          auto* s = current.mutable_resource_logs(current.resource_logs_size() - 1)->mutable_scope_logs(0);
          *s->add_log_records() = rec;
          ++*total_records;
          if (++in_current == per_batch) flush();
        }
      }
    }
  });
  flush();
  return out;
}

// The disk's physical limits: sequential write+fdatasync bandwidth and fdatasyncs per second.
std::pair<double, double> RawDisk(const std::string& dir) {
  const std::string path = dir + "/raw-disk-probe";
  std::string chunk(1 << 20, 'x');
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  auto start = Clock::now();
  for (int i = 0; i < 256; ++i) {
    if (::write(fd, chunk.data(), chunk.size()) < 0) break;
  }
  ::fdatasync(fd);
  double mbps = 256.0 / std::chrono::duration<double>(Clock::now() - start).count();
  int syncs = 0;
  start = Clock::now();
  while (Clock::now() - start < std::chrono::seconds(2)) {
    if (::write(fd, chunk.data(), 4096) < 0) break;
    ::fdatasync(fd);
    ++syncs;
  }
  double per_second = syncs / std::chrono::duration<double>(Clock::now() - start).count();
  ::close(fd);
  ::unlink(path.c_str());
  return {mbps, per_second};
}

}  // namespace

int main(int argc, char** argv) {
  openwit::PreferSystemArrowMemoryPool();  // as the openwit binary does
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR WORK_DIR [--batch N] [--senders S] [--sync true|false] [--seconds T]\n",
                 argv[0]);
    return 2;
  }
  std::string corpus = argv[1], work = argv[2];
  int per_batch = 1000, senders = 1, seconds = 10;
  bool sync = true;
  for (int i = 3; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--batch")
      per_batch = std::stoi(value);
    else if (flag == "--senders")
      senders = std::stoi(value);
    else if (flag == "--sync")
      sync = value == "true";
    else if (flag == "--seconds")
      seconds = std::stoi(value);
  }
  spdlog::set_level(spdlog::level::warn);
  int64_t corpus_records = 0, corpus_bytes = 0;
  auto batches = LoadBatches(corpus, per_batch, &corpus_records, &corpus_bytes);
  if (batches.empty()) {
    std::fprintf(stderr, "no logs-*.pb in %s (run ../shared/bench/corpus.py first)\n", corpus.c_str());
    return 1;
  }
  fs::remove_all(work);
  fs::create_directories(work);
  auto [raw_mbps, raw_syncs] = RawDisk(work);

  openwit::ingest::PipelineOptions options;
  options.node_id = "bench";
  options.processing.wal.dir = work + "/wal";
  options.processing.wal.sync_on_write = sync;
  options.processing.buffer.max_size_messages = 1ll << 40;
  options.processing.buffer.max_size_bytes = 1ll << 40;
  options.processing.buffer.flush_interval_seconds = 0;
  options.processing.dedup_max_entries = 100000000;
  auto pipeline = openwit::ingest::IngestPipeline::Open(options, std::make_unique<ConfirmingSink>()).ValueOrDie();

  std::atomic<int64_t> records{0}, bytes{0}, failures{0};
  // CPU of the senders' own work (editing and serializing their batches), subtracted from the process's CPU so
  // the per-core figure counts the ingest node's work only.
  std::atomic<int64_t> client_cpu_ns{0};
  const double cpu_start = ProcessCpuSeconds();
  std::mutex latencies_mu;
  std::vector<double> latencies;
  const auto deadline = Clock::now() + std::chrono::seconds(seconds);
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < senders; ++t) {
    threads.emplace_back([&, t] {
      std::vector<double> mine;
      // The sender's own batches, edited in place each round: no copy on the measured path.
      std::vector<BulkBatch> own;
      for (size_t i = t; i < batches.size() && own.size() < 32; i += senders) own.push_back(batches[i]);
      if (own.empty()) own.push_back(batches[t % batches.size()]);
      for (uint64_t round = 0; Clock::now() < deadline; ++round) {
        const int64_t edit_start = ThreadCpuNanos();
        BulkBatch& batch = own[round % own.size()];
        // Unique records every round, so dedup keeps them all (and still does its work).
        for (auto& rl : *batch.mutable_resource_logs())
          for (auto& sl : *rl.mutable_scope_logs())
            for (auto& rec : *sl.mutable_log_records())
              rec.set_time_unix_nano(rec.time_unix_nano() + 1000003);  // unique every round
        int64_t n = 0;
        for (const auto& rl : batch.resource_logs()) n += rl.scope_logs(0).log_records_size();
        // The gateway's side: the batch on the wire. The node's side starts at SubmitSerialized,
        // as in the bulk gRPC service (parse, dedup, convert, WAL).
        std::string wire = batch.SerializeAsString();
        const int64_t b = static_cast<int64_t>(wire.size());
        client_cpu_ns += ThreadCpuNanos() - edit_start;
        std::promise<bool> acked;
        auto sent = Clock::now();
        pipeline->SubmitSerialized(
            std::move(wire), [&](openwit::ingest::SubmitOutcome outcome) { acked.set_value(outcome.status.ok()); });
        if (acked.get_future().get()) {
          mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
          records += n;
          bytes += b;
        } else {
          ++failures;
        }
      }
      std::lock_guard lock(latencies_mu);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  const double ingest_cpu = ProcessCpuSeconds() - cpu_start - static_cast<double>(client_cpu_ns.load()) / 1e9;
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) {
    return latencies.empty() ? 0.0 : latencies[static_cast<size_t>(p * (latencies.size() - 1))];
  };
  double mbps = bytes / elapsed / 1e6 * 1.048576;  // MiB/s like the raw probe
  std::printf(
      "batch=%d senders=%d sync_on_write=%s: %.0f records/s, %.0f records per CPU-second, %.1f MiB/s OTLP, "
      "ack p50 %.2f ms p99 %.2f ms, %lld acks, %lld failed | raw disk: %.0f MiB/s write+fdatasync, "
      "%.0f fdatasync/s | ratio to raw MiB/s %.2f\n",
      per_batch, senders, sync ? "true" : "false", records / elapsed, records / ingest_cpu, mbps, pct(0.5), pct(0.99),
      static_cast<long long>(latencies.size()), static_cast<long long>(failures.load()), raw_mbps, raw_syncs,
      mbps / raw_mbps);
  pipeline->Stop(std::chrono::milliseconds(0));
  pipeline.reset();
  fs::remove_all(work);
  return 0;
}
