// OTLP read from the wire format (otlp/otlp_wire.h) against protobuf's own parse: the converter
// gives the same batch from the bytes as from the parsed message, whatever the encoding (repeated
// message fields, wrong wire types, unknown fields, groups), and refuses what protobuf refuses,
// naming the path of a string that is not UTF-8. Then random mutations of real messages: wherever
// protobuf parses, the two agree; wherever it does not, the bytes are refused. The bulk batch's
// header and record keys are held to protobuf's reading the same way.

#include <random>
#include <string>
#include <type_traits>

#include "arrow_convert_test_util.h"
#include "otlp/otlp_records.h"
#include "otlp/otlp_wire.h"

namespace openwit::ingest::arrow_test {
namespace {

// ---- Writing protobuf by hand (encodings the generated serializer never makes) -----------------

std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
std::string Tag(uint32_t field, uint32_t type) { return Varint(uint64_t{field} << 3 | type); }
std::string Len(uint32_t field, const std::string& bytes) { return Tag(field, 2) + Varint(bytes.size()) + bytes; }
std::string VarintField(uint32_t field, uint64_t v) { return Tag(field, 0) + Varint(v); }
std::string Fixed64(uint32_t field, uint64_t v) { return Tag(field, 1) + std::string(reinterpret_cast<char*>(&v), 8); }

std::string StringValue(const std::string& s) { return Len(1, s); }
std::string KeyValue(const std::string& key, const std::string& value_bytes) {
  return Len(1, key) + Len(2, value_bytes);
}
// A ResourceLogs of one scope of the given records.
std::string OneScope(const std::string& records) { return Len(2, Len(1, Len(1, "scope")) + records); }

template <class Message>
constexpr Signal kSignalOf = std::is_same_v<Message, logs::ResourceLogs>     ? Signal::kLogs
                             : std::is_same_v<Message, trace::ResourceSpans> ? Signal::kTraces
                                                                             : Signal::kMetrics;

// What AppendSerialized gives for `bytes`: a batch, or the error.
template <class Message = logs::ResourceLogs>
arrow::Result<std::shared_ptr<arrow::RecordBatch>> FromWire(const std::string& bytes) {
  ArrowConverter converter(kSignalOf<Message>);
  ARROW_RETURN_NOT_OK(converter.AppendSerialized(bytes));
  return converter.Finish();
}

// What protobuf's parse and Append give for `bytes`; parse_ok says whether protobuf parsed them.
template <class Message = logs::ResourceLogs>
arrow::Result<std::shared_ptr<arrow::RecordBatch>> FromProtobuf(const std::string& bytes, bool* parse_ok) {
  Message parsed;
  *parse_ok = parsed.ParseFromString(bytes);
  if (!*parse_ok) return arrow::Status::Invalid("protobuf refused");
  ArrowConverter converter(kSignalOf<Message>);
  ARROW_RETURN_NOT_OK(converter.Append(parsed));
  return converter.Finish();
}

// Protobuf parses `bytes`, and the wire reader gives the very same batch.
template <class Message = logs::ResourceLogs>
void ExpectSameAsProtobuf(const std::string& bytes, int64_t rows) {
  bool parse_ok = false;
  auto expected = FromProtobuf<Message>(bytes, &parse_ok);
  ASSERT_TRUE(parse_ok);
  ASSERT_TRUE(expected.ok()) << expected.status();
  auto got = FromWire<Message>(bytes);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)->num_rows(), rows);
  EXPECT_TRUE((*got)->Equals(**expected)) << (*got)->ToString() << "\nprotobuf:\n" << (*expected)->ToString();
}

// Protobuf refuses `bytes`, and so does the wire reader, with `message`.
template <class Message = logs::ResourceLogs>
void ExpectRefused(const std::string& bytes, const std::string& message) {
  bool parse_ok = true;
  (void)FromProtobuf<Message>(bytes, &parse_ok);
  EXPECT_FALSE(parse_ok) << "protobuf refuses it too: " << message;
  auto got = FromWire<Message>(bytes);
  ASSERT_FALSE(got.ok()) << message;
  EXPECT_TRUE(got.status().IsInvalid());
  EXPECT_EQ(got.status().message(), message);
}

TEST(OtlpWire, RepeatedMessageFieldsMergeAsInProtobuf) {
  // A body given twice: two strings (the last wins), then two kvlists (protobuf concatenates them).
  const std::string kvlist_a = Len(6, Len(1, KeyValue("a", StringValue("1"))));
  const std::string kvlist_b = Len(6, Len(1, KeyValue("b", VarintField(3, 2))));
  const std::string records = Len(2, Fixed64(1, kT0) + Len(5, StringValue("first")) + Len(5, StringValue("second"))) +
                              Len(2, Fixed64(1, kT0) + Len(5, kvlist_a) + Len(5, kvlist_b));
  ExpectSameAsProtobuf(OneScope(records), 2);
  // The resource, a scope and an attribute's value given twice.
  const std::string resource =
      Len(1, Len(1, KeyValue("service.name", StringValue("a")))) + Len(1, Len(1, KeyValue("host", StringValue("h"))));
  const std::string value_twice =
      Len(6, Tag(1, 2) + Varint(0) + Len(1, "k") + Len(2, StringValue("x")) + Len(2, VarintField(2, 1)));
  const std::string scope_twice = Len(2, Len(1, Len(1, "s1")) + Len(1, Len(2, "v2")) + Len(2, value_twice));
  ExpectSameAsProtobuf(resource + scope_twice, 1);
}

TEST(OtlpWire, OneofKeepsTheLastMemberGiven) {
  const std::string array = Len(5, Len(1, VarintField(3, 7)));
  // An array then a string: the string; a string then an array: the array.
  ExpectSameAsProtobuf(OneScope(Len(2, Len(5, array + StringValue("s"))) + Len(2, Len(5, StringValue("s") + array))),
                       2);
}

TEST(OtlpWire, WrongWireTypesAndUnknownFieldsAreSkipped) {
  const std::string unknown = VarintField(99, 5) + Len(98, "junk") + Tag(97, 5) + std::string(4, 'x');
  // time_unix_nano as a varint and a trace_id as a fixed64 are unknown fields to protobuf.
  const std::string record = Len(2, VarintField(1, 12345) + Fixed64(9, 1) + Fixed64(11, kT0) + unknown +
                                        Len(6, KeyValue("k", StringValue("v") + unknown)) + Len(3, "INFO"));
  ExpectSameAsProtobuf(OneScope(record) + unknown + Len(3, "https://schema"), 1);
}

TEST(OtlpWire, GroupsAndEntityRefsAreLeftToProtobuf) {
  const std::string group = Tag(50, 3) + VarintField(1, 1) + Tag(50, 4);
  ExpectSameAsProtobuf(OneScope(Len(2, Fixed64(1, kT0) + group)) + group, 1);
  const std::string entity_ref = Len(3, Len(2, "service"));
  ExpectSameAsProtobuf(
      Len(1, Len(1, KeyValue("service.name", StringValue("a"))) + entity_ref) + OneScope(Len(2, Fixed64(1, kT0))), 1);
}

TEST(OtlpWire, InvalidUtf8IsRefusedNamingItsPath) {
  const std::string bad = "ok\xff";
  const std::string good_record = Len(2, Fixed64(1, kT0));
  const std::pair<std::string, std::string> cases[] = {
      {OneScope(good_record + Len(2, Len(6, KeyValue(bad, StringValue("v"))))),
       "resource_logs[0].scope_logs[0].log_records[1].attributes[0].key: not valid UTF-8"},
      {OneScope(Len(2, Len(5, StringValue(bad)))),
       "resource_logs[0].scope_logs[0].log_records[0].body.string_value: not valid UTF-8"},
      {Len(1, Len(1, KeyValue("k", StringValue("a"))) + Len(1, KeyValue("service.name", StringValue(bad)))),
       "resource_logs[0].resource.attributes[1].value.string_value: not valid UTF-8"},
      {OneScope(good_record) + Len(2, Len(1, Len(1, bad))),
       "resource_logs[0].scope_logs[1].scope.name: not valid UTF-8"},
      {OneScope(Len(2, Len(3, bad))), "resource_logs[0].scope_logs[0].log_records[0].severity_text: not valid UTF-8"},
  };
  for (const auto& [bytes, message] : cases) ExpectRefused(bytes, message);
  // Bytes are bytes: a trace id or a bytes value may hold anything.
  ExpectSameAsProtobuf(OneScope(Len(2, Len(9, std::string(15, 'a') + "\xff") + Len(5, Len(7, bad)))), 1);
}

TEST(OtlpWire, SpansMatchProtobufAndNameTheirPaths) {
  const std::string event = Len(11, Fixed64(1, kT0) + Len(2, "retry") + Len(3, KeyValue("n", VarintField(3, 2))));
  const std::string link = Len(13, Len(1, Id(16, 1)) + Len(2, Id(8, 2)) + Len(3, "ts=1") + Len(4, KeyValue("l", "")));
  const std::string status = Len(15, Len(2, "boom") + VarintField(3, 2));
  const std::string attribute = Len(9, KeyValue("http.route", StringValue("/pay")));
  auto span = [](const std::string& fields) { return Len(2, Fixed64(7, kT0) + Fixed64(8, kT0 + 5) + fields); };
  // Fields in order; then attributes interleaved with events (left to protobuf) and a status given
  // twice (merged).
  ExpectSameAsProtobuf<trace::ResourceSpans>(
      OneScope(span(Len(5, "GET") + VarintField(6, 2) + attribute + event + event + link + status)), 1);
  ExpectSameAsProtobuf<trace::ResourceSpans>(
      OneScope(span(attribute + event + attribute + status + Len(15, Len(2, "again")))), 1);
  ExpectRefused<trace::ResourceSpans>(OneScope(span("") + span(event + Len(11, Len(2, "bad\xff")))),
                                      "resource_spans[0].scope_spans[0].spans[1].events[1].name: not valid UTF-8");
  ExpectRefused<trace::ResourceSpans>(
      OneScope(span(link + Len(13, Len(4, KeyValue("k", StringValue("\xc3")))))),
      "resource_spans[0].scope_spans[0].spans[0].links[1].attributes[0].value.string_value: not valid UTF-8");
  ExpectRefused<trace::ResourceSpans>(OneScope(span(Len(15, Len(2, "\xe2\x82")))),
                                      "resource_spans[0].scope_spans[0].spans[0].status.message: not valid UTF-8");
}

TEST(OtlpWire, MetricsMatchProtobufAndNameTheirPaths) {
  using M = metrics::ResourceMetrics;
  auto metric = [](const std::string& fields) { return Len(2, Len(1, "m") + fields); };
  auto point = [](const std::string& fields) { return Len(1, Fixed64(3, kT0) + fields); };
  // A histogram's bucket counts packed, unpacked and both; bounds packed.
  std::string packed_counts = Tag(6, 2) + Varint(16) +
                              std::string(reinterpret_cast<const char*>("\1\0\0\0\0\0\0\0"), 8) +
                              std::string("\2\0\0\0\0\0\0\0", 8);
  const std::string histogram =
      Len(9, point(packed_counts + Fixed64(6, 3) + Len(7, std::string(8, '\0')) + Fixed64(5, 0)) + VarintField(2, 2));
  // An exponential histogram with a negative scale and offsets (zigzag), buckets packed and not.
  const std::string buckets = Len(8, VarintField(1, 3) + Len(2, Varint(5) + Varint(300)) + VarintField(2, 7));
  const std::string exponential = Len(10, point(VarintField(6, 5) + buckets + Len(9, VarintField(1, 4))));
  const std::string summary = Len(11, point(Fixed64(4, 9) + Len(6, Fixed64(1, 0) + Fixed64(2, 0))));
  const std::string gauge = Len(5, point(Tag(6, 1) + std::string(8, '\xff') +
                                         Len(5, Len(4, Id(8, 1)) + Fixed64(3, 0) + Tag(6, 1) + std::string(8, '\1'))));
  ExpectSameAsProtobuf<M>(OneScope(metric(histogram) + metric(exponential) + metric(summary) + metric(gauge)), 4);
  // A kind given twice (merged) or replaced by another: protobuf's reading.
  ExpectSameAsProtobuf<M>(OneScope(metric(histogram + histogram) + metric(gauge + histogram)), 3);
  ExpectRefused<M>(OneScope(metric(gauge) + metric(Len(12, KeyValue("k\xff", "")))),
                   "resource_metrics[0].scope_metrics[0].metrics[1].metadata.attributes[0].key: not valid UTF-8");
  ExpectRefused<M>(
      OneScope(metric(Len(7, point("") + point(Len(5, Len(7, KeyValue("a", StringValue("\xc0\x80")))))))),
      "resource_metrics[0].scope_metrics[0].metrics[0].sum.data_points[1].exemplars[0].attributes[0].value."
      "string_value: not valid UTF-8");
}

TEST(OtlpWire, MalformedBytesAreRefusedWithTheResourceIndex) {
  std::string bytes = SampleLogs().SerializeAsString();
  bytes.resize(bytes.size() - 5);
  ArrowConverter converter(Signal::kLogs);
  ASSERT_TRUE(converter.AppendSerialized(SampleLogs().SerializeAsString()).ok());
  const arrow::Status st = converter.AppendSerialized(bytes);
  EXPECT_TRUE(st.IsInvalid());
  EXPECT_EQ(st.message().rfind("resource_logs[1]: not a valid opentelemetry.proto.logs.v1.ResourceLogs", 0), 0u)
      << st.message();
  EXPECT_EQ(converter.rows(), 3) << "nothing of the bad resource is kept";
}

TEST(OtlpWire, DecoderViewsHaveTheGeneratedAccessors) {
  otlp::wire::LogsDecoder decoder;
  const std::string bytes = SampleLogs().SerializeAsString();
  ASSERT_EQ(decoder.Decode(bytes, 0), otlp::wire::Decoded::kOk);
  const otlp::wire::ResourceLogs& r = decoder.resource();
  ASSERT_EQ(r.scope_logs_size(), 2);
  EXPECT_EQ(r.schema_url(), "https://opentelemetry.io/schemas/1.26.0");
  EXPECT_EQ(r.resource().attributes()[1].value().int_value(), 8);
  EXPECT_EQ(r.scope_logs(0).scope().name(), "io.openwit.payments");
  ASSERT_EQ(r.scope_logs(0).log_records().size(), 2u);
  const otlp::wire::LogRecord& full = r.scope_logs(0).log_records()[0];
  EXPECT_EQ(full.time_unix_nano(), static_cast<uint64_t>(kT0));
  EXPECT_EQ(full.severity_number(), logs::SEVERITY_NUMBER_ERROR);
  EXPECT_EQ(full.attributes()[0].key(), "http.route");
  EXPECT_EQ(full.body().value_case(), common::AnyValue::kStringValue);
  EXPECT_EQ(r.scope_logs(0).log_records()[1].body().value_case(), common::AnyValue::kKvlistValue);
  EXPECT_EQ(r.scope_logs(1).log_records()[0].body().int_value(), 42);
}

// ---- Random mutations --------------------------------------------------------------------------

// Flips, inserts, deletes or truncates a few bytes.
std::string Mutate(std::string bytes, std::mt19937& rng) {
  const int edits = 1 + static_cast<int>(rng() % 3);
  for (int e = 0; e < edits && !bytes.empty(); ++e) {
    const size_t at = rng() % bytes.size();
    switch (rng() % 4) {
      case 0:
        bytes[at] = static_cast<char>(bytes[at] ^ (1 << (rng() % 8)));
        break;
      case 1:
        bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at), static_cast<char>(rng()));
        break;
      case 2:
        bytes.erase(at, 1);
        break;
      default:
        bytes[at] = static_cast<char>(rng());
    }
  }
  return bytes;
}

logs::ResourceLogs MutationBase() {
  logs::ResourceLogs r = SampleLogs();
  auto* rec = r.mutable_scope_logs(1)->add_log_records();
  auto* array = Attr(rec->mutable_attributes(), "tags")->mutable_array_value();
  array->add_values()->set_string_value("a");
  array->add_values()->set_double_value(1.5);
  Attr(rec->mutable_attributes(), "raw")->set_bytes_value("\x01\x02");
  rec->set_trace_id(Id(16, 7));
  return r;
}

// Wherever protobuf parses a mutation, the wire reader gives the same batch or the same error;
// wherever it does not, the wire reader refuses the bytes too.
template <class Message>
void ExpectMutationsAgree(const Message& base_message, uint32_t seed) {
  const std::string base = base_message.SerializeAsString();
  std::mt19937 rng(seed);
  int parsed = 0, refused = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string bytes = Mutate(base, rng);
    bool parse_ok = false;
    auto expected = FromProtobuf<Message>(bytes, &parse_ok);
    auto got = FromWire<Message>(bytes);
    if (!parse_ok) {
      ++refused;
      ASSERT_FALSE(got.ok()) << "protobuf refuses mutation " << i << " but the wire reader took it";
      continue;
    }
    ++parsed;
    ASSERT_EQ(got.ok(), expected.ok()) << "mutation " << i << ": " << got.status() << " / " << expected.status();
    if (got.ok()) {
      ASSERT_TRUE((*got)->Equals(**expected)) << "mutation " << i;
    } else {
      ASSERT_EQ(got.status().message(), expected.status().message()) << "mutation " << i;
    }
  }
  // Both outcomes were exercised many times.
  EXPECT_GT(parsed, 1000);
  EXPECT_GT(refused, 1000);
}

TEST(OtlpWire, RandomMutationsAgreeWithProtobuf) {
  ExpectMutationsAgree(MutationBase(), 20261123);
  ExpectMutationsAgree(SampleSpans(), 20261124);
  ExpectMutationsAgree(SampleMetrics(), 20261125);
}

TEST(OtlpWire, BulkHeaderAndKeysAgreeWithProtobufUnderMutation) {
  v1::BulkBatch batch;
  batch.set_batch_id("b-1");
  batch.set_tenant("acme");
  batch.set_signal(v1::SIGNAL_LOGS);
  *batch.add_resource_logs() = MutationBase();
  *batch.add_resource_logs() = SampleLogs();
  auto* position = batch.add_positions();
  position->set_topic("logs");
  position->set_first_offset(10);
  position->set_last_offset(20);
  const std::string base = batch.SerializeAsString();
  std::mt19937 rng(7);
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string bytes = i == 0 ? base : Mutate(base, rng);
    v1::BulkBatch expected;
    if (!expected.ParseFromString(bytes)) continue;
    ++parsed;
    auto header = otlp::ReadBulkHeader(bytes);
    ASSERT_TRUE(header.ok()) << "mutation " << i << ": " << header.status();
    EXPECT_EQ(header->batch_id, expected.batch_id());
    EXPECT_EQ(header->tenant, expected.tenant());
    EXPECT_EQ(header->signal, expected.signal());
    ASSERT_EQ(header->positions.size(), expected.positions_size());
    for (int p = 0; p < expected.positions_size(); ++p) {
      EXPECT_EQ(header->positions[p].SerializeAsString(), expected.positions(p).SerializeAsString());
    }
    EXPECT_EQ(header->list_sizes[0], expected.resource_logs_size());
    EXPECT_EQ(header->list_sizes[1], expected.resource_spans_size());
    EXPECT_EQ(header->list_sizes[2], expected.resource_metrics_size());
    auto keys = otlp::RecordKeys(*header);
    ASSERT_TRUE(keys.ok()) << "mutation " << i << ": " << keys.status();
    ASSERT_EQ(static_cast<int64_t>(keys->size()), otlp::CountRecords(expected)) << "mutation " << i;
  }
  EXPECT_GT(parsed, 1000);
}

TEST(OtlpWire, BulkHeaderRefusesWhatIsNotABulkBatch) {
  v1::BulkBatch batch;
  batch.set_batch_id("b");
  batch.set_tenant(std::string("ac\xc3", 3));
  EXPECT_EQ(otlp::ReadBulkHeader(batch.SerializeAsString()).status().message(), "tenant: not valid UTF-8");
  batch.set_tenant("acme");
  std::string bytes = batch.SerializeAsString();
  bytes.pop_back();
  EXPECT_TRUE(otlp::ReadBulkHeader(bytes).status().IsInvalid());
  EXPECT_TRUE(otlp::ReadBulkHeader("\xff\xff\xff").status().IsInvalid());
}

}  // namespace
}  // namespace openwit::ingest::arrow_test
