// OTLP logs -> Arrow (ingest/arrow_convert_logs.cc): every column, the observed-time fallback,
// repeated keys, service.name, ids and their checks, reuse after Finish() and after an error.

#include <limits>
#include <string>

#include "arrow_convert_test_util.h"

namespace openwit::ingest::arrow_test {

logs::ResourceLogs SampleLogs() {
  logs::ResourceLogs r;
  r.set_schema_url("https://opentelemetry.io/schemas/1.26.0");
  auto* resource_attrs = r.mutable_resource()->mutable_attributes();
  StrAttr(resource_attrs, "service.name", "checkout");
  Attr(resource_attrs, "host.cpus")->set_int_value(8);

  logs::ScopeLogs* scope_logs = r.add_scope_logs();
  scope_logs->set_schema_url("https://opentelemetry.io/schemas/1.24.0");
  scope_logs->mutable_scope()->set_name("io.openwit.payments");
  scope_logs->mutable_scope()->set_version("1.2.3");
  Attr(scope_logs->mutable_scope()->mutable_attributes(), "lib.debug")->set_bool_value(true);

  // Every field set on the first record, most left empty on the others.
  logs::LogRecord* full = scope_logs->add_log_records();
  full->set_time_unix_nano(kT0);
  full->set_observed_time_unix_nano(kT0 + 100);
  full->set_trace_id(Id(16, 1));
  full->set_span_id(Id(8, 101));
  full->set_flags(1);
  full->set_severity_text("ERROR");
  full->set_severity_number(logs::SEVERITY_NUMBER_ERROR);
  full->mutable_body()->set_string_value("payment failed: \"card declined\"");
  StrAttr(full->mutable_attributes(), "http.route", "/pay");
  Attr(full->mutable_attributes(), "retry")->set_int_value(3);
  full->set_event_name("payment.failed");

  logs::LogRecord* sparse = scope_logs->add_log_records();
  sparse->set_time_unix_nano(kT0 + 1);
  auto* body = sparse->mutable_body()->mutable_kvlist_value()->add_values();
  body->set_key("k");
  body->mutable_value()->set_int_value(1);

  logs::ScopeLogs* bare_scope = r.add_scope_logs();
  logs::LogRecord* third = bare_scope->add_log_records();
  third->set_time_unix_nano(kT0 + 2);
  third->mutable_body()->set_int_value(42);
  third->set_severity_number(logs::SEVERITY_NUMBER_INFO);
  return r;
}

namespace {

TEST(ArrowConvertLogs, EveryColumn) {
  ArrowConverter converter(Signal::kLogs);
  ASSERT_TRUE(converter.Append(SampleLogs()).ok());
  EXPECT_EQ(converter.rows(), 3);
  const auto b = FinishOk(&converter);
  ExpectSerializedGivesTheSame(Signal::kLogs, SampleLogs(), *b);
  ASSERT_EQ(b->num_rows(), 3);

  const std::string resource_schema = "https://opentelemetry.io/schemas/1.26.0";
  const std::string scope_schema = "https://opentelemetry.io/schemas/1.24.0";
  ExpectColumns(*b, {
                        {"Timestamp", {N(kT0), N(kT0 + 1), N(kT0 + 2)}},
                        {"ObservedTimestamp", {N(kT0 + 100), "null", "null"}},
                        {"TraceId", {Id(16, 1), "null", "null"}},
                        {"SpanId", {Id(8, 101), "null", "null"}},
                        {"TraceFlags", {"1", "0", "0"}},
                        {"SeverityText", {"ERROR", "", ""}},
                        {"SeverityNumber", {"17", "0", "9"}},
                        {"ServiceName", {"checkout", "checkout", "checkout"}},
                        // A string as itself, anything else as its JSON text.
                        {"Body", {"payment failed: \"card declined\"", R"({"k":1})", "42"}},
                        {"ResourceSchemaUrl", {resource_schema, resource_schema, resource_schema}},
                        {"ScopeSchemaUrl", {scope_schema, scope_schema, ""}},
                        {"ScopeName", {"io.openwit.payments", "io.openwit.payments", ""}},
                        {"ScopeVersion", {"1.2.3", "1.2.3", ""}},
                        {"EventName", {"payment.failed", "", ""}},
                    });
  const Entries resource = {{"service.name", "checkout"}, {"host.cpus", "8"}};
  ExpectMaps(*b, "ResourceAttributes", {resource, resource, resource});
  ExpectMaps(*b, "ScopeAttributes", {{{"lib.debug", "true"}}, {{"lib.debug", "true"}}, {}});
  ExpectMaps(*b, "LogAttributes", {{{"http.route", "/pay"}, {"retry", "3"}}, {}, {}});
  EXPECT_FALSE(IsNull(*b, "LogAttributes", 1));  // empty, not null
}

TEST(ArrowConvertLogs, TimestampFallsBackToObservedTime) {
  logs::ResourceLogs r;
  r.add_scope_logs()->add_log_records()->set_observed_time_unix_nano(kT0);
  const auto b = Convert(Signal::kLogs, r);
  ExpectColumns(*b, {{"Timestamp", {N(kT0)}}, {"ObservedTimestamp", {N(kT0)}}});
}

TEST(ArrowConvertLogs, RepeatedKeyKeepsFirstValue) {
  logs::ResourceLogs r;
  auto* resource_attrs = r.mutable_resource()->mutable_attributes();
  StrAttr(resource_attrs, "service.name", "first");
  StrAttr(resource_attrs, "service.name", "second");
  logs::ScopeLogs* scope_logs = r.add_scope_logs();
  for (int i = 0; i < 2; ++i) {
    logs::LogRecord* rec = scope_logs->add_log_records();
    // Short list (pairwise check) on the first record, long list (sorted check) on the second.
    const int n = i == 0 ? 4 : 40;
    for (int k = 0; k < n; ++k) StrAttr(rec->mutable_attributes(), "k" + std::to_string(k), "v");
    StrAttr(rec->mutable_attributes(), "k1", "again");
  }
  const auto b = Convert(Signal::kLogs, r);
  ExpectColumns(*b, {{"ServiceName", {"first", "first"}}});
  ExpectMaps(*b, "ResourceAttributes", {{{"service.name", "first"}}, {{"service.name", "first"}}});
  const Entries short_list = MapAt(*b, "LogAttributes", 0);
  EXPECT_EQ(short_list.size(), 4u);
  EXPECT_EQ(short_list.at(1), (Entry{"k1", "v"}));
  const Entries long_list = MapAt(*b, "LogAttributes", 1);
  EXPECT_EQ(long_list.size(), 40u);
  EXPECT_EQ(long_list.at(1), (Entry{"k1", "v"}));
}

TEST(ArrowConvertLogs, ServiceNameOfAnyType) {
  logs::ResourceLogs r;
  Attr(r.mutable_resource()->mutable_attributes(), "service.name")->set_int_value(7);
  r.add_scope_logs()->add_log_records();
  logs::ResourceLogs unnamed;
  unnamed.add_scope_logs()->add_log_records();
  ArrowConverter converter(Signal::kLogs);
  ASSERT_TRUE(converter.Append(r).ok());
  ASSERT_TRUE(converter.Append(unnamed).ok());
  ExpectColumns(*FinishOk(&converter), {{"ServiceName", {"7", ""}}});
}

TEST(ArrowConvertLogs, AllZeroIdsAreNull) {
  logs::ResourceLogs r;
  logs::LogRecord* rec = r.add_scope_logs()->add_log_records();
  rec->set_trace_id(std::string(16, '\0'));
  rec->set_span_id(std::string(8, '\0'));
  ExpectColumns(*Convert(Signal::kLogs, r), {{"TraceId", {"null"}}, {"SpanId", {"null"}}});
}

TEST(ArrowConvertLogs, WrongLengthIdNamesItsPath) {
  ArrowConverter converter(Signal::kLogs);
  ASSERT_TRUE(converter.Append(SampleLogs()).ok());  // resource_logs[0]: 3 rows

  logs::ResourceLogs bad;
  bad.add_scope_logs()->add_log_records();
  logs::ScopeLogs* scope_logs = bad.add_scope_logs();
  for (int i = 0; i < 4; ++i) scope_logs->add_log_records()->set_trace_id(Id(16, 1));
  scope_logs->mutable_log_records(3)->set_trace_id(Id(5, 1));
  const arrow::Status st = converter.Append(bad);  // resource_logs[1]
  EXPECT_TRUE(st.IsInvalid());
  EXPECT_EQ(st.message(), "resource_logs[1].scope_logs[1].log_records[3].trace_id: 5 bytes, expected 16");
  EXPECT_EQ(converter.rows(), 3) << "nothing of the bad resource is kept";

  scope_logs->mutable_log_records(3)->set_trace_id(Id(16, 1));
  scope_logs->mutable_log_records(2)->set_span_id(Id(9, 1));
  EXPECT_EQ(converter.Append(bad).message(),
            "resource_logs[2].scope_logs[1].log_records[2].span_id: 9 bytes, expected 8");

  // The converter is still usable and the good rows are all there.
  const auto b = FinishOk(&converter);
  EXPECT_EQ(b->num_rows(), 3);
  EXPECT_EQ(Str(*b, "ServiceName", 2), "checkout");

  // Finish() restarts the resource index.
  EXPECT_EQ(converter.Append(bad).message(),
            "resource_logs[0].scope_logs[1].log_records[2].span_id: 9 bytes, expected 8");
}

TEST(ArrowConvertLogs, EmptyResources) {
  ArrowConverter converter(Signal::kLogs);
  logs::ResourceLogs no_scopes;
  StrAttr(no_scopes.mutable_resource()->mutable_attributes(), "service.name", "idle");
  logs::ResourceLogs no_records;
  no_records.add_scope_logs()->mutable_scope()->set_name("quiet");
  ASSERT_TRUE(converter.Append(no_scopes).ok());
  ASSERT_TRUE(converter.Append(no_records).ok());
  ASSERT_TRUE(converter.Append(logs::ResourceLogs()).ok());
  EXPECT_EQ(converter.rows(), 0);
  const auto b = FinishOk(&converter);
  EXPECT_EQ(b->num_rows(), 0);
  EXPECT_EQ(b->num_columns(), SchemaFor(Signal::kLogs)->num_fields());
}

TEST(ArrowConvertLogs, FinishResetsForReuse) {
  ArrowConverter converter(Signal::kLogs);
  ASSERT_TRUE(converter.Append(SampleLogs()).ok());
  const auto first = FinishOk(&converter);
  EXPECT_EQ(first->num_rows(), 3);

  logs::ResourceLogs other;
  StrAttr(other.mutable_resource()->mutable_attributes(), "service.name", "ledger");
  other.add_scope_logs()->add_log_records()->mutable_body()->set_string_value("second batch");
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(converter.Append(other).ok());
    EXPECT_EQ(converter.rows(), 1);
    const auto b = FinishOk(&converter);
    ASSERT_EQ(b->num_rows(), 1);
    ExpectColumns(*b, {{"ServiceName", {"ledger"}}, {"Body", {"second batch"}}});
    ExpectMaps(*b, "ResourceAttributes", {{{"service.name", "ledger"}}});
  }
  // The first batch is immutable: later rounds did not touch its buffers.
  EXPECT_EQ(Str(*first, "Body", 0), "payment failed: \"card declined\"");
  EXPECT_EQ(first->num_rows(), 3);
  // A Finish() with nothing appended is an empty batch.
  EXPECT_EQ(FinishOk(&converter)->num_rows(), 0);
}

TEST(ArrowConvertLogs, ManyRowsAcrossResources) {
  ArrowConverter converter(Signal::kLogs);
  int64_t expected = 0;
  for (int r = 0; r < 50; ++r) {
    logs::ResourceLogs resource = SampleLogs();
    for (int i = 0; i < r; ++i) {
      resource.mutable_scope_logs(1)->add_log_records()->set_time_unix_nano(kT0 + i);
    }
    ASSERT_TRUE(converter.Append(resource).ok());
    expected += 3 + r;
  }
  EXPECT_EQ(converter.rows(), expected);
  const auto b = FinishOk(&converter);
  EXPECT_EQ(b->num_rows(), expected);
  EXPECT_EQ(Str(*b, "ServiceName", expected - 1), "checkout");
}

// The default pool, refusing any single allocation above a limit.
class CappedPool : public arrow::MemoryPool {
 public:
  int64_t max_allocation = std::numeric_limits<int64_t>::max();

  arrow::Status Allocate(int64_t size, int64_t alignment, uint8_t** out) override {
    if (size > max_allocation) return arrow::Status::OutOfMemory("capped at ", max_allocation);
    return base_->Allocate(size, alignment, out);
  }
  arrow::Status Reallocate(int64_t old_size, int64_t new_size, int64_t alignment, uint8_t** ptr) override {
    if (new_size > max_allocation) return arrow::Status::OutOfMemory("capped at ", max_allocation);
    return base_->Reallocate(old_size, new_size, alignment, ptr);
  }
  void Free(uint8_t* buffer, int64_t size, int64_t alignment) override { base_->Free(buffer, size, alignment); }
  int64_t bytes_allocated() const override { return base_->bytes_allocated(); }
  int64_t total_bytes_allocated() const override { return base_->total_bytes_allocated(); }
  int64_t num_allocations() const override { return base_->num_allocations(); }
  std::string backend_name() const override { return "capped"; }

 private:
  arrow::MemoryPool* base_ = arrow::default_memory_pool();
};

TEST(ArrowConvertLogs, BuilderErrorSticksUntilFinish) {
  CappedPool pool;
  ArrowConverter converter(Signal::kLogs, &pool);
  ASSERT_TRUE(converter.Append(SampleLogs()).ok());

  // Rows are reserved fine, then the 1 MiB body cannot be stored: the failure is mid-row.
  pool.max_allocation = 256 << 10;
  logs::ResourceLogs big = SampleLogs();
  big.mutable_scope_logs(0)->mutable_log_records(1)->mutable_body()->set_string_value(std::string(1 << 20, 'x'));
  const arrow::Status st = converter.Append(big);
  EXPECT_TRUE(st.IsOutOfMemory()) << st;
  pool.max_allocation = std::numeric_limits<int64_t>::max();
  EXPECT_TRUE(converter.Append(SampleLogs()).IsOutOfMemory()) << "refused until Finish()";
  EXPECT_TRUE(converter.Finish().status().IsOutOfMemory()) << "the uneven rows are discarded";

  ASSERT_TRUE(converter.Append(SampleLogs()).ok());
  const auto b = FinishOk(&converter);
  ASSERT_EQ(b->num_rows(), 3);
  ExpectColumns(*b, {{"Body", {"payment failed: \"card declined\""}}, {"EventName", {"payment.failed"}}});
}

TEST(ArrowConvertLogs, OtherSignalsRefused) {
  ArrowConverter converter(Signal::kLogs);
  trace::ResourceSpans spans;
  spans.add_scope_spans()->add_spans();
  const arrow::Status st = converter.Append(spans);
  EXPECT_TRUE(st.IsInvalid());
  EXPECT_EQ(st.message(), "an ArrowConverter for logs cannot append traces");
  EXPECT_TRUE(converter.Append(metrics::ResourceMetrics()).IsInvalid());
  EXPECT_EQ(converter.rows(), 0);
}

}  // namespace
}  // namespace openwit::ingest::arrow_test
