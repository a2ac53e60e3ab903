#include "ingest/otlp_records.h"

namespace openwit::ingest {
namespace {

// Shared by the three signals: resources hold scopes hold records.
template <class Resources, class ScopesOf, class RecordsOf>
void RemoveFrom(Resources* resources, ScopesOf scopes_of, RecordsOf records_of, const std::vector<bool>& drop,
                size_t* index) {
  for (int r = 0; r < resources->size(); ++r) {
    auto* scopes = scopes_of(resources->Mutable(r));
    for (int s = 0; s < scopes->size(); ++s) {
      auto* records = records_of(scopes->Mutable(s));
      std::vector<int> doomed;
      for (int i = 0; i < records->size(); ++i, ++*index) {
        if (*index < drop.size() && drop[*index]) doomed.push_back(i);
      }
      for (auto it = doomed.rbegin(); it != doomed.rend(); ++it) records->DeleteSubrange(*it, 1);
    }
    for (int s = scopes->size() - 1; s >= 0; --s) {
      if (records_of(scopes->Mutable(s))->empty()) scopes->DeleteSubrange(s, 1);
    }
  }
  for (int r = resources->size() - 1; r >= 0; --r) {
    if (scopes_of(resources->Mutable(r))->empty()) resources->DeleteSubrange(r, 1);
  }
}

}  // namespace

void RemoveRecords(v1::BulkBatch* batch, const std::vector<bool>& drop) {
  size_t index = 0;
  switch (batch->signal()) {
    case v1::SIGNAL_LOGS:
      RemoveFrom(
          batch->mutable_resource_logs(), [](auto* r) { return r->mutable_scope_logs(); },
          [](auto* s) { return s->mutable_log_records(); }, drop, &index);
      break;
    case v1::SIGNAL_TRACES:
      RemoveFrom(
          batch->mutable_resource_spans(), [](auto* r) { return r->mutable_scope_spans(); },
          [](auto* s) { return s->mutable_spans(); }, drop, &index);
      break;
    case v1::SIGNAL_METRICS:
      RemoveFrom(
          batch->mutable_resource_metrics(), [](auto* r) { return r->mutable_scope_metrics(); },
          [](auto* s) { return s->mutable_metrics(); }, drop, &index);
      break;
    default:
      break;
  }
}

}  // namespace openwit::ingest
