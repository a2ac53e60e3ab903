#include "gateway/batcher.h"

#include <algorithm>
#include <atomic>
#include <memory>

#include <arrow/util/thread_pool.h>
#include <fmt/format.h>

#include "otlp/otlp_records.h"

namespace openwit::gateway {
namespace {

// Moves every resource of `from` into `into` (same signal).
void Append(ingest::v1::BulkBatch* into, ingest::v1::BulkBatch* from) {
  for (auto& r : *from->mutable_resource_logs()) *into->add_resource_logs() = std::move(r);
  for (auto& r : *from->mutable_resource_spans()) *into->add_resource_spans() = std::move(r);
  for (auto& r : *from->mutable_resource_metrics()) *into->add_resource_metrics() = std::move(r);
  for (auto& p : *from->mutable_positions()) *into->add_positions() = std::move(p);
}

}  // namespace

int64_t BatchCost(const ingest::v1::BulkBatch& batch) {
  return static_cast<int64_t>(batch.ByteSizeLong()) + otlp::RepeatedBytes(batch);
}

std::vector<ingest::v1::BulkBatch> SplitBatch(const ingest::v1::BulkBatch& batch, int64_t max_bytes) {
  const int64_t bytes = BatchCost(batch);
  const int64_t records = otlp::CountRecords(batch);
  if (bytes <= max_bytes || records <= 1) return {batch};
  const int64_t parts = std::min(records, (bytes + max_bytes - 1) / max_bytes + 1);  // +1: records vary in size
  std::vector<ingest::v1::BulkBatch> out;
  for (int64_t p = 0; p < parts; ++p) {
    const int64_t first = records * p / parts, last = records * (p + 1) / parts;
    std::vector<bool> drop(static_cast<size_t>(records), true);
    for (int64_t i = first; i < last; ++i) drop[static_cast<size_t>(i)] = false;
    ingest::v1::BulkBatch part = batch;
    otlp::RemoveRecords(&part, drop);
    if (p > 0) part.clear_positions();  // positions travel with the first part
    out.push_back(std::move(part));
  }
  return out;
}

Batcher::Batcher(BatcherOptions options, ingest::IngestSink* next)
    : options_(std::move(options)),
      next_(next),
      metrics_(OwnRegistryIfNone(options_.metrics)),
      created_(metrics_->Counter("batch.created", "Bulk batches sent to ingest nodes")),
      size_(metrics_->Histogram("batch.size_bytes", "Bytes of the bulk batches sent to ingest nodes",
                                {1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864})) {
  timer_ = std::thread([this] { TimerLoop(); });
}

Batcher::~Batcher() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  timer_.join();
  // The answers of batches in flight come back through this object.
  std::unique_lock lock(mu_);
  idle_.wait(lock, [this] { return total_in_flight_ == 0; });
}

void Batcher::Submit(ingest::v1::BulkBatch request, ingest::SubmitCallback done) {
  const int64_t request_bytes = BatchCost(request);
  if (options_.max_request_cost > 0 && request_bytes > options_.max_request_cost) {
    ingest::SubmitOutcome outcome;
    outcome.status = arrow::Status::Invalid(
        "request too large: its records would take about ", request_bytes,
        " bytes in memory once each carries its resource and scope attributes, more than an ingest node holds (",
        options_.max_request_cost, " bytes, processing.buffer.max_size_bytes); send fewer records per request");
    return done(std::move(outcome));
  }
  if (request_bytes <= options_.max_batch_bytes) {  // the usual case: the request moves on whole, no copy
    const int64_t records = otlp::CountRecords(request);
    return Add(std::move(request), records, request_bytes, std::move(done));
  }
  auto parts = SplitBatch(request, options_.max_batch_bytes);
  // The request is answered once every part is: with the first failure, else success.
  struct Join {
    std::mutex mu;
    size_t left;
    ingest::SubmitOutcome outcome;
    ingest::SubmitCallback done;
  };
  auto join = std::make_shared<Join>();
  join->left = parts.size();
  join->done = std::move(done);
  for (auto& part : parts) {
    const int64_t records = otlp::CountRecords(part);
    const int64_t bytes = BatchCost(part);
    Add(std::move(part), records, bytes, [join](ingest::SubmitOutcome o) {
      std::unique_lock lock(join->mu);
      if (!o.status.ok() && join->outcome.status.ok()) join->outcome = o;
      if (--join->left > 0) return;
      lock.unlock();
      join->done(std::move(join->outcome));
    });
  }
}

void Batcher::Add(ingest::v1::BulkBatch part, int64_t records, int64_t bytes, ingest::SubmitCallback done) {
  std::vector<Pending> ready;
  {
    std::lock_guard lock(mu_);
    const Key key{part.tenant(), part.signal()};
    auto it = pending_.find(key);
    if (it != pending_.end() && it->second.bytes + bytes > options_.max_batch_bytes) {
      ready.push_back(std::move(it->second));  // full by size: this part starts the next batch
      pending_.erase(it);
      it = pending_.end();
    }
    if (it == pending_.end()) {
      Pending fresh;
      fresh.batch.set_tenant(part.tenant());
      fresh.batch.set_signal(part.signal());
      fresh.opened = std::chrono::steady_clock::now();
      it = pending_.emplace(key, std::move(fresh)).first;
      cv_.notify_all();
    }
    Pending& p = it->second;
    Append(&p.batch, &part);
    p.records += records;
    p.bytes += bytes;
    p.waiters.push_back(std::move(done));
    if (p.records >= options_.batch_size || options_.batch_timeout.count() == 0 ||
        in_flight_[key] < options_.max_in_flight) {
      ready.push_back(std::move(p));
      pending_.erase(it);
    }
    // Counted in flight here, under the lock that decided: concurrent requests must not all see
    // a free lane before any of them is sent.
    in_flight_[key] += static_cast<int>(ready.size());
    total_in_flight_ += static_cast<int>(ready.size());
  }
  for (auto& p : ready) Send(std::move(p));
}

void Batcher::Send(Pending pending) {
  created_.Increment();
  size_.Observe(static_cast<double>(pending.bytes));
  const Key key{pending.batch.tenant(), pending.batch.signal()};
  {
    std::lock_guard lock(mu_);
    pending.batch.set_batch_id(fmt::format("{}-batch-{}", options_.node_id, next_id_++));
  }
  auto waiters = std::make_shared<std::vector<ingest::SubmitCallback>>(std::move(pending.waiters));
  next_->Submit(std::move(pending.batch), [this, key, waiters](ingest::SubmitOutcome outcome) {
    for (auto& w : *waiters) w(outcome);
    std::lock_guard lock(mu_);
    if (--in_flight_[key] == 0) in_flight_.erase(key);
    // The ack clock: what waited behind this batch goes now, from the timer thread (this may be
    // the ingest node's WAL thread, which must not do a gateway's work).
    if (auto it = pending_.find(key); it != pending_.end()) {
      it->second.send_now = true;
      cv_.notify_all();
    }
    if (--total_in_flight_ == 0) idle_.notify_all();
  });
}

void Batcher::TimerLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    const auto now = std::chrono::steady_clock::now();
    std::vector<Pending> due;
    auto next = now + std::chrono::hours(1);
    for (auto it = pending_.begin(); it != pending_.end();) {
      const auto deadline = it->second.opened + options_.batch_timeout;
      if (stopping_ || it->second.send_now || deadline <= now) {
        due.push_back(std::move(it->second));
        it = pending_.erase(it);
      } else {
        next = std::min(next, deadline);
        ++it;
      }
    }
    if (!due.empty()) {
      for (const Pending& p : due) ++in_flight_[Key{p.batch.tenant(), p.batch.signal()}];
      total_in_flight_ += static_cast<int>(due.size());
      lock.unlock();
      // Sent from the CPU pool, not from here: with an ingest node in this process, sending is
      // converting the batch and more, and one timer thread would serialize it for every tenant.
      for (auto& p : due) {
        auto shared = std::make_shared<Pending>(std::move(p));
        auto spawned = arrow::internal::GetCpuThreadPool()->Spawn([this, shared] { Send(std::move(*shared)); });
        if (!spawned.ok()) Send(std::move(*shared));
      }
      lock.lock();
      continue;
    }
    if (stopping_) return;
    cv_.wait_until(lock, next);
  }
}

}  // namespace openwit::gateway
