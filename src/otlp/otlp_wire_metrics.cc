// Metrics read from the wire format (otlp_wire.h).

#include <cstring>
#include <type_traits>

#include "otlp/otlp_wire.h"
#include "otlp/otlp_wire_internal.h"

namespace openwit::otlp::wire {

namespace {

double Double(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, sizeof(d));
  return d;
}

int32_t ZigZag32(uint64_t varint) {
  const auto v = static_cast<uint32_t>(varint);  // protobuf reads a sint32 as 32 bits
  return static_cast<int32_t>((v >> 1) ^ (~(v & 1) + 1));
}

const char* KindName(pm::Metric::DataCase kind) {
  switch (kind) {
    case pm::Metric::kGauge:
      return "gauge";
    case pm::Metric::kSum:
      return "sum";
    case pm::Metric::kHistogram:
      return "histogram";
    case pm::Metric::kExponentialHistogram:
      return "exponential_histogram";
    default:
      return "summary";
  }
}

}  // namespace

Decoded MetricsDecoder::Decode(std::string_view bytes, int index) {
  points_.clear();
  exemplars_.clear();
  quantiles_.clear();
  u64_.clear();
  f64_.clear();
  OPENWIT_WIRE_RETURN(DecodeResourceOf(bytes, index, {"resource_metrics", "scope_metrics", "metrics"}, &resource_,
                                       &scopes_, &records_,
                                       [this](std::string_view b, Metric* m) { return DecodeMetric(b, m); }));
  for (Metric& m : records_) m.data_.points_ = View(points_, m.data_.point_slice_);
  auto numbers = [](auto& n, const auto& all) { n.values_ = View(all, n.slice_); };
  for (DataPoint& p : points_) {
    p.attributes_ = View(p.attribute_slice_);
    p.exemplars_ = View(exemplars_, p.exemplar_slice_);
    p.quantiles_ = View(quantiles_, p.quantile_slice_);
    numbers(p.bucket_counts_, u64_);
    numbers(p.explicit_bounds_, f64_);
    numbers(p.positive_.bucket_counts_, u64_);
    numbers(p.negative_.bucket_counts_, u64_);
  }
  for (Exemplar& e : exemplars_) e.attributes_ = View(e.attribute_slice_);
  return Decoded::kOk;
}

Decoded MetricsDecoder::DecodeMetric(std::string_view bytes, Metric* out) {
  Slice metadata;  // checked as protobuf would, not kept
  Reader r(bytes);
  for (Reader::Field f; r.Next(&f);) {
    if (f.type != kLen) continue;
    switch (f.number) {
      case 1:
        OPENWIT_WIRE_RETURN(Text(f.bytes, "name", &out->name_));
        break;
      case 2:
        OPENWIT_WIRE_RETURN(Text(f.bytes, "description", &out->description_));
        break;
      case 3:
        OPENWIT_WIRE_RETURN(Text(f.bytes, "unit", &out->unit_));
        break;
      case pm::Metric::kGauge:
      case pm::Metric::kSum:
      case pm::Metric::kHistogram:
      case pm::Metric::kExponentialHistogram:
      case pm::Metric::kSummary: {
        // One kind given once is the rule; anything else (a kind replaced or merged) is protobuf's.
        if (out->data_case_ != pm::Metric::DATA_NOT_SET) return Decoded::kUseProtobuf;
        out->data_case_ = static_cast<pm::Metric::DataCase>(f.number);
        At at(this, KindName(out->data_case_));
        OPENWIT_WIRE_RETURN(DecodeData(f.bytes, out->data_case_, &out->data_));
        break;
      }
      case 12: {
        At at(this, "metadata");
        metadata = Slice();
        OPENWIT_WIRE_RETURN(AddAttribute(f.bytes, &metadata));
        break;
      }
      default:
        break;
    }
  }
  return Ended(r);
}

Decoded MetricsDecoder::DecodeData(std::string_view bytes, pm::Metric::DataCase kind, MetricData* out) {
  const bool has_temporality =
      kind == pm::Metric::kSum || kind == pm::Metric::kHistogram || kind == pm::Metric::kExponentialHistogram;
  out->point_slice_.first = static_cast<uint32_t>(points_.size());
  Reader r(bytes);
  for (Reader::Field f; r.Next(&f);) {
    if (f.number == 1 && f.type == kLen) {
      At at(this, "data_points", static_cast<int>(out->point_slice_.size));
      ++out->point_slice_.size;
      OPENWIT_WIRE_RETURN(DecodePoint(f.bytes, kind, &points_.emplace_back()));
    } else if (f.number == 2 && f.type == kVarint && has_temporality) {
      out->temporality_ = static_cast<pm::AggregationTemporality>(static_cast<int32_t>(f.scalar));
    } else if (f.number == 3 && f.type == kVarint && kind == pm::Metric::kSum) {
      out->is_monotonic_ = f.scalar != 0;
    }
  }
  return Ended(r);
}

template <class T>
Decoded MetricsDecoder::AddNumbers(const Reader::Field& f, bool fixed, std::vector<T>* all, Numbers<T>* out) {
  if (f.type != kLen && f.type != (fixed ? kFixed64 : kVarint)) return Decoded::kOk;  // an unknown field
  if (out->slice_.size == 0) {
    out->slice_.first = static_cast<uint32_t>(all->size());
  } else if (out->slice_.first + out->slice_.size != all->size()) {
    return Decoded::kUseProtobuf;  // not one run: never so in what protobuf writes
  }
  const size_t before = all->size();
  auto add = [&](uint64_t bits) {
    if constexpr (std::is_same_v<T, double>) {
      all->push_back(Double(bits));
    } else {
      all->push_back(bits);
    }
  };
  if (f.type != kLen) {
    add(f.scalar);
  } else if (fixed) {  // packed fixed64 or double
    if (f.bytes.size() % 8 != 0) return Decoded::kUseProtobuf;
    for (size_t i = 0; i < f.bytes.size(); i += 8) {
      uint64_t bits;
      std::memcpy(&bits, f.bytes.data() + i, 8);
      add(bits);
    }
  } else {  // packed varints, one after another
    for (size_t pos = 0; pos < f.bytes.size();) {
      uint64_t v;
      if (!Reader::ReadVarint(f.bytes, &pos, &v)) return Decoded::kUseProtobuf;
      add(v);
    }
  }
  out->slice_.size += static_cast<uint32_t>(all->size() - before);
  return Decoded::kOk;
}

Decoded MetricsDecoder::DecodePoint(std::string_view bytes, pm::Metric::DataCase kind, DataPoint* out) {
  // Field numbers of each kind (0: the kind has no such field).
  struct Fields {
    uint32_t attributes, exemplars, flags, count, sum, bucket_counts, explicit_bounds, min, max;
  };
  static constexpr Fields kNumber{7, 5, 8, 0, 0, 0, 0, 0, 0};
  static constexpr Fields kHistogram{9, 8, 10, 4, 5, 6, 7, 11, 12};
  static constexpr Fields kExponential{1, 11, 10, 4, 5, 0, 0, 12, 13};
  static constexpr Fields kSummary{7, 0, 8, 4, 5, 0, 0, 0, 0};
  const Fields& fields = kind == pm::Metric::kHistogram              ? kHistogram
                         : kind == pm::Metric::kExponentialHistogram ? kExponential
                         : kind == pm::Metric::kSummary              ? kSummary
                                                                     : kNumber;
  const bool number = kind == pm::Metric::kGauge || kind == pm::Metric::kSum;
  const bool exponential = kind == pm::Metric::kExponentialHistogram;
  out->exemplar_slice_.first = static_cast<uint32_t>(exemplars_.size());
  out->quantile_slice_.first = static_cast<uint32_t>(quantiles_.size());
  bool has_positive = false, has_negative = false;
  Reader r(bytes);
  for (Reader::Field f; r.Next(&f);) {
    const uint32_t n = f.number;
    if (n == 2 && f.type == kFixed64) {
      out->start_time_unix_nano_ = f.scalar;
    } else if (n == 3 && f.type == kFixed64) {
      out->time_unix_nano_ = f.scalar;
    } else if (n == fields.attributes && f.type == kLen) {
      OPENWIT_WIRE_RETURN(AddAttribute(f.bytes, &out->attribute_slice_));
    } else if (n == fields.exemplars && f.type == kLen) {
      At at(this, "exemplars", static_cast<int>(out->exemplar_slice_.size));
      ++out->exemplar_slice_.size;
      OPENWIT_WIRE_RETURN(DecodeExemplar(f.bytes, &exemplars_.emplace_back()));
    } else if (n == fields.flags && f.type == kVarint) {
      out->flags_ = static_cast<uint32_t>(f.scalar);
    } else if (number && (n == 4 || n == 6) && f.type == kFixed64) {  // the value: a oneof
      out->value_case_ = n == 4 ? pm::NumberDataPoint::kAsDouble : pm::NumberDataPoint::kAsInt;
      out->as_double_ = Double(f.scalar);
      out->as_int_ = static_cast<int64_t>(f.scalar);
    } else if (n == fields.count && f.type == kFixed64) {
      out->count_ = f.scalar;
    } else if (n == fields.sum && f.type == kFixed64) {
      out->has_sum_ = true;
      out->sum_ = Double(f.scalar);
    } else if (n == fields.min && f.type == kFixed64) {
      out->has_min_ = true;
      out->min_ = Double(f.scalar);
    } else if (n == fields.max && f.type == kFixed64) {
      out->has_max_ = true;
      out->max_ = Double(f.scalar);
    } else if (n == fields.bucket_counts) {
      OPENWIT_WIRE_RETURN(AddNumbers(f, /*fixed=*/true, &u64_, &out->bucket_counts_));
    } else if (n == fields.explicit_bounds) {
      OPENWIT_WIRE_RETURN(AddNumbers(f, /*fixed=*/true, &f64_, &out->explicit_bounds_));
    } else if (exponential && n == 6 && f.type == kVarint) {
      out->scale_ = ZigZag32(f.scalar);
    } else if (exponential && n == 7 && f.type == kFixed64) {
      out->zero_count_ = f.scalar;
    } else if (exponential && (n == 8 || n == 9) && f.type == kLen) {
      bool& seen = n == 8 ? has_positive : has_negative;
      if (seen) return Decoded::kUseProtobuf;  // protobuf merges the two
      seen = true;
      OPENWIT_WIRE_RETURN(DecodeBuckets(f.bytes, n == 8 ? &out->positive_ : &out->negative_));
    } else if (exponential && n == 14 && f.type == kFixed64) {
      out->zero_threshold_ = Double(f.scalar);
    } else if (kind == pm::Metric::kSummary && n == 6 && f.type == kLen) {
      DataPoint::ValueAtQuantile& q = quantiles_.emplace_back();
      ++out->quantile_slice_.size;
      Reader qr(f.bytes);
      for (Reader::Field g; qr.Next(&g);) {
        if (g.type != kFixed64) continue;
        if (g.number == 1) q.quantile_ = Double(g.scalar);
        if (g.number == 2) q.value_ = Double(g.scalar);
      }
      OPENWIT_WIRE_RETURN(Ended(qr));
    }
  }
  return Ended(r);
}

Decoded MetricsDecoder::DecodeBuckets(std::string_view bytes, DataPoint::Buckets* out) {
  Reader r(bytes);
  for (Reader::Field f; r.Next(&f);) {
    if (f.number == 1 && f.type == kVarint) {
      out->offset_ = ZigZag32(f.scalar);
    } else if (f.number == 2) {
      OPENWIT_WIRE_RETURN(AddNumbers(f, /*fixed=*/false, &u64_, &out->bucket_counts_));
    }
  }
  return Ended(r);
}

Decoded MetricsDecoder::DecodeExemplar(std::string_view bytes, Exemplar* out) {
  Reader r(bytes);
  for (Reader::Field f; r.Next(&f);) {
    switch (f.number * 8 + f.type) {
      case 7 * 8 + kLen:
        OPENWIT_WIRE_RETURN(AddAttribute(f.bytes, &out->attribute_slice_));
        break;
      case 2 * 8 + kFixed64:
        out->time_unix_nano_ = f.scalar;
        break;
      case 3 * 8 + kFixed64:
        out->value_case_ = pm::Exemplar::kAsDouble;
        out->as_double_ = Double(f.scalar);
        break;
      case 6 * 8 + kFixed64:
        out->value_case_ = pm::Exemplar::kAsInt;
        out->as_int_ = static_cast<int64_t>(f.scalar);
        break;
      case 4 * 8 + kLen:
        out->span_id_ = f.bytes;
        break;
      case 5 * 8 + kLen:
        out->trace_id_ = f.bytes;
        break;
      default:
        break;
    }
  }
  return Ended(r);
}

}  // namespace openwit::otlp::wire
