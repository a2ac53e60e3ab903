// ArrowConverter alone: records/s of OTLP -> Arrow conversion over the reference corpus, without
// the WALs, dedup or threads of openwit_ingest_bench, so a change to arrow_convert*.cc shows at full
// size.
//
// usage: openwit_convert_bench CORPUS_DIR [--signal logs|traces|metrics] [--batch-requests K]
//                               [--input parsed|serialized|parse] [--seconds T] [--repeat R]
//                               [--dump FILE]
// Logs and traces read logs-NNNNNN.pb / traces-NNNNNN.pb of ../shared/bench/corpus.py (`--signal
// traces` writes the latter); metrics are made from the logs corpus (one data point per log record,
// the kinds in turn, the record's attributes on the point), as the corpus has no metrics. K requests
// go into one batch (Append of their resources, then Finish). Prints records/s of each of R runs of
// T seconds and their median. --dump writes the batches of one pass as an Arrow IPC file, to check
// that a change keeps the output identical. --input says what the converter is given: parsed
// messages (Append; the default), their serialized bytes (AppendSerialized: what the ingest node
// does, logs read from the wire format), or the bytes parsed by protobuf first and then appended
// (what the node did before it read the wire format).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <arrow/io/file.h>
#include <arrow/ipc/writer.h>
#include <fmt/format.h>

#include "corpus_reader.h"
#include "ingest/arrow_convert.h"
#include "opentelemetry/proto/metrics/v1/metrics.pb.h"

namespace {

using Clock = std::chrono::steady_clock;
using openwit::ingest::ArrowConverter;
using openwit::ingest::Signal;
namespace logs = opentelemetry::proto::logs::v1;
namespace metrics = opentelemetry::proto::metrics::v1;
namespace trace = opentelemetry::proto::trace::v1;

// One request's resources, of whichever signal.
struct Request {
  std::vector<std::string> serialized;  // each resource's bytes
  std::vector<logs::ResourceLogs> logs;
  std::vector<trace::ResourceSpans> spans;
  std::vector<metrics::ResourceMetrics> metrics;
  int64_t records = 0;
};

// A data point of the given kind (0..4 in turn) carrying the log record's time and attributes.
void AddPoint(const logs::LogRecord& rec, int kind, metrics::ScopeMetrics* scope) {
  metrics::Metric* m = scope->add_metrics();
  m->set_name(fmt::format("shop.metric.{}", kind));
  m->set_unit("ms");
  const auto fill = [&](auto* p) {
    p->set_start_time_unix_nano(rec.observed_time_unix_nano() - 60'000'000'000);
    p->set_time_unix_nano(rec.time_unix_nano());
    *p->mutable_attributes() = rec.attributes();
  };
  const double v = static_cast<double>(rec.time_unix_nano() % 1000) / 7.0;
  switch (kind) {
    case 0: {
      auto* p = m->mutable_gauge()->add_data_points();
      fill(p);
      p->set_as_double(v);
      if (!rec.trace_id().empty()) {
        auto* e = p->add_exemplars();
        e->set_time_unix_nano(rec.time_unix_nano());
        e->set_as_double(v);
        e->set_trace_id(rec.trace_id());
        e->set_span_id(rec.span_id());
      }
      break;
    }
    case 1: {
      auto* sum = m->mutable_sum();
      sum->set_aggregation_temporality(metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
      sum->set_is_monotonic(true);
      auto* p = sum->add_data_points();
      fill(p);
      p->set_as_int(static_cast<int64_t>(rec.time_unix_nano() % 100000));
      break;
    }
    case 2: {
      auto* h = m->mutable_histogram();
      h->set_aggregation_temporality(metrics::AGGREGATION_TEMPORALITY_DELTA);
      auto* p = h->add_data_points();
      fill(p);
      p->set_count(21);
      p->set_sum(v * 21);
      for (double b : {5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0}) p->add_explicit_bounds(b);
      for (uint64_t c : {1, 2, 3, 5, 4, 3, 2, 1, 0}) p->add_bucket_counts(c);
      p->set_min(1.0);
      p->set_max(900.0);
      break;
    }
    case 3: {
      auto* h = m->mutable_exponential_histogram();
      h->set_aggregation_temporality(metrics::AGGREGATION_TEMPORALITY_DELTA);
      auto* p = h->add_data_points();
      fill(p);
      p->set_count(12);
      p->set_sum(v * 12);
      p->set_scale(3);
      p->set_zero_count(1);
      p->mutable_positive()->set_offset(4);
      for (uint64_t c : {1, 3, 4, 2, 1}) p->mutable_positive()->add_bucket_counts(c);
      break;
    }
    default: {
      auto* p = m->mutable_summary()->add_data_points();
      fill(p);
      p->set_count(40);
      p->set_sum(v * 40);
      for (double q : {0.5, 0.9, 0.99}) {
        auto* qv = p->add_quantile_values();
        qv->set_quantile(q);
        qv->set_value(v * q);
      }
    }
  }
}

metrics::ResourceMetrics MetricsOf(const logs::ResourceLogs& rl, int* kind) {
  metrics::ResourceMetrics rm;
  *rm.mutable_resource() = rl.resource();
  for (const auto& sl : rl.scope_logs()) {
    auto* sm = rm.add_scope_metrics();
    *sm->mutable_scope() = sl.scope();
    for (const auto& rec : sl.log_records()) AddPoint(rec, (*kind)++ % 5, sm);
  }
  return rm;
}

// Fills each request's serialized resources.
std::vector<Request> Serialize(std::vector<Request> requests) {
  for (Request& r : requests) {
    for (const auto& x : r.logs) r.serialized.push_back(x.SerializeAsString());
    for (const auto& x : r.spans) r.serialized.push_back(x.SerializeAsString());
    for (const auto& x : r.metrics) r.serialized.push_back(x.SerializeAsString());
  }
  return requests;
}

std::vector<Request> Load(const std::string& dir, Signal signal) {
  std::vector<Request> out;
  int kind = 0;
  if (signal == Signal::kTraces) {
    openwit::bench::ForEachTracesRequest(dir, [&](std::string, const auto& request) {
      Request r;
      for (const auto& rs : request.resource_spans()) {
        r.spans.push_back(rs);
        for (const auto& ss : rs.scope_spans()) r.records += ss.spans_size();
      }
      out.push_back(std::move(r));
    });
    return Serialize(std::move(out));
  }
  openwit::bench::ForEachLogsRequest(dir, [&](std::string, const auto& request) {
    Request r;
    for (const auto& rl : request.resource_logs()) {
      if (signal == Signal::kMetrics) {
        r.metrics.push_back(MetricsOf(rl, &kind));
      } else {
        r.logs.push_back(rl);
      }
      for (const auto& sl : rl.scope_logs()) r.records += sl.log_records_size();
    }
    out.push_back(std::move(r));
  });
  return Serialize(std::move(out));
}

enum class Input { kParsed, kSerialized, kParse };
Input input = Input::kParsed;

template <class Message>
arrow::Status ParseAndAppend(const std::string& bytes, ArrowConverter* converter) {
  Message m;
  if (!m.ParseFromString(bytes)) return arrow::Status::Invalid("does not parse");
  return converter->Append(m);
}

arrow::Status AppendRequest(const Request& r, ArrowConverter* converter) {
  if (input != Input::kParsed) {
    for (const auto& bytes : r.serialized) {
      if (input == Input::kSerialized) {
        ARROW_RETURN_NOT_OK(converter->AppendSerialized(bytes));
      } else if (converter->signal() == Signal::kLogs) {
        ARROW_RETURN_NOT_OK(ParseAndAppend<logs::ResourceLogs>(bytes, converter));
      } else if (converter->signal() == Signal::kTraces) {
        ARROW_RETURN_NOT_OK(ParseAndAppend<trace::ResourceSpans>(bytes, converter));
      } else {
        ARROW_RETURN_NOT_OK(ParseAndAppend<metrics::ResourceMetrics>(bytes, converter));
      }
    }
    return arrow::Status::OK();
  }
  for (const auto& x : r.logs) ARROW_RETURN_NOT_OK(converter->Append(x));
  for (const auto& x : r.spans) ARROW_RETURN_NOT_OK(converter->Append(x));
  for (const auto& x : r.metrics) ARROW_RETURN_NOT_OK(converter->Append(x));
  return arrow::Status::OK();
}

// Converts every request once, `per_batch` requests a batch; calls on_batch for each batch.
template <class F>
arrow::Status Pass(const std::vector<Request>& requests, int per_batch, ArrowConverter* converter, F&& on_batch) {
  for (size_t i = 0; i < requests.size(); i += per_batch) {
    for (size_t j = i; j < std::min(requests.size(), i + per_batch); ++j) {
      ARROW_RETURN_NOT_OK(AppendRequest(requests[j], converter));
    }
    ARROW_ASSIGN_OR_RAISE(auto batch, converter->Finish());
    ARROW_RETURN_NOT_OK(on_batch(batch));
  }
  return arrow::Status::OK();
}

arrow::Status Dump(const std::vector<Request>& requests, int per_batch, Signal signal, const std::string& path) {
  ArrowConverter converter(signal);
  ARROW_ASSIGN_OR_RAISE(auto out, arrow::io::FileOutputStream::Open(path));
  ARROW_ASSIGN_OR_RAISE(auto writer, arrow::ipc::MakeFileWriter(out, openwit::ingest::SchemaFor(signal)));
  ARROW_RETURN_NOT_OK(Pass(requests, per_batch, &converter, [&](const auto& batch) {
    ARROW_RETURN_NOT_OK(batch->ValidateFull());
    return writer->WriteRecordBatch(*batch);
  }));
  ARROW_RETURN_NOT_OK(writer->Close());
  return out->Close();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: %s CORPUS_DIR [--signal logs|traces|metrics] [--batch-requests K] "
                 "[--input parsed|serialized|parse] [--seconds T] [--repeat R] [--dump FILE]\n",
                 argv[0]);
    return 2;
  }
  const std::string corpus = argv[1];
  Signal signal = Signal::kLogs;
  int per_batch = 2, repeat = 3;
  double seconds = 3;
  std::string dump;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--signal") {
      signal = value == "traces" ? Signal::kTraces : value == "metrics" ? Signal::kMetrics : Signal::kLogs;
    } else if (flag == "--batch-requests") {
      per_batch = std::max(1, std::stoi(value));
    } else if (flag == "--seconds") {
      seconds = std::stod(value);
    } else if (flag == "--repeat") {
      repeat = std::max(1, std::stoi(value));
    } else if (flag == "--dump") {
      dump = value;
    } else if (flag == "--input") {
      input = value == "serialized" ? Input::kSerialized : value == "parse" ? Input::kParse : Input::kParsed;
    }
  }
  const std::vector<Request> requests = Load(corpus, signal);
  int64_t records = 0;
  for (const auto& r : requests) records += r.records;
  if (records == 0) {
    std::fprintf(stderr, "no %s records in %s (run ../shared/bench/corpus.py first)\n",
                 openwit::ingest::SignalText(signal), corpus.c_str());
    return 1;
  }
  if (!dump.empty()) {
    if (auto st = Dump(requests, per_batch, signal, dump); !st.ok()) {
      std::fprintf(stderr, "dump: %s\n", st.ToString().c_str());
      return 1;
    }
    std::printf("wrote %lld %s records to %s\n", static_cast<long long>(records), openwit::ingest::SignalText(signal),
                dump.c_str());
    return 0;
  }

  ArrowConverter converter(signal);
  const auto none = [](const auto&) { return arrow::Status::OK(); };
  if (auto st = Pass(requests, per_batch, &converter, none); !st.ok()) {  // warm-up: builders grow once
    std::fprintf(stderr, "convert: %s\n", st.ToString().c_str());
    return 1;
  }
  std::vector<double> rates;
  for (int run = 0; run < repeat; ++run) {
    int64_t done = 0;
    const auto start = Clock::now();
    double elapsed = 0;
    while (elapsed < seconds) {
      if (auto st = Pass(requests, per_batch, &converter, none); !st.ok()) {
        std::fprintf(stderr, "convert: %s\n", st.ToString().c_str());
        return 1;
      }
      done += records;
      elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    }
    rates.push_back(static_cast<double>(done) / elapsed);
    std::printf("run %d: %.0f records/s\n", run + 1, rates.back());
  }
  std::sort(rates.begin(), rates.end());
  const char* input_text = input == Input::kParsed ? "parsed" : input == Input::kSerialized ? "serialized" : "parse";
  std::printf("%s, %d requests a batch, input %s: median %.0f records/s over %d runs\n",
              openwit::ingest::SignalText(signal), per_batch, input_text, rates[rates.size() / 2], repeat);
  return 0;
}
