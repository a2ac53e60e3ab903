#include "search/lake_tables.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "search/query_error.h"
#include "storage/fresh_ticket.h"

namespace openwit::search {

const std::vector<LakeTable>& LakeTables() {
  static const std::vector<LakeTable> tables = {{"logs", "logs"}, {"spans", "traces"}, {"metrics", "metrics"}};
  return tables;
}

std::vector<LakeTable> TablesNamedIn(std::string_view sql) {
  std::vector<LakeTable> named;
  size_t i = 0;
  auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  while (i < sql.size()) {
    if (!is_word(sql[i])) {
      ++i;
      continue;
    }
    size_t start = i;
    while (i < sql.size() && is_word(sql[i])) ++i;
    std::string word(sql.substr(start, i - start));
    std::transform(word.begin(), word.end(), word.begin(), [](unsigned char c) { return std::tolower(c); });
    for (const auto& table : LakeTables()) {
      bool seen = std::any_of(named.begin(), named.end(), [&](const LakeTable& t) { return t.name == table.name; });
      if (word == table.name && !seen) named.push_back(table);
    }
  }
  return named;
}

arrow::Result<TableFiles> ChooseFiles(storage::Metastore* metastore, const std::string& lake_uri_root,
                                      const std::string& tenant, const LakeTable& table,
                                      std::optional<int64_t> start_ns, std::optional<int64_t> end_ns,
                                      const std::set<std::string>& fresh_stems) {
  const std::string kFileScheme = "file://";
  const bool local = lake_uri_root.rfind(kFileScheme, 0) == 0;
  storage::LakeFileQuery query;
  query.tenant = tenant;
  query.signal = table.signal;
  ARROW_ASSIGN_OR_RAISE(auto files, metastore->ListFiles(query));
  const std::string prefix = fmt::format("{}/tenant={}/signal={}/", lake_uri_root, tenant, table.signal);
  TableFiles out{table, {}, {}, static_cast<int64_t>(files.size()), 0, 0, 0};
  for (const auto& file : files) {
    if (!fresh_stems.empty() && fresh_stems.count(storage::FileStem(file.uri)) > 0) {
      ++out.fresh;
      continue;
    }
    // Same rule as the metastore's own query: a file overlaps [start, end) when max >= start and
    // min < end.
    if ((start_ns && file.max_time_ns < *start_ns) || (end_ns && file.min_time_ns >= *end_ns)) {
      ++out.pruned;
      continue;
    }
    std::string_view uri = file.uri;
    // DuckDB expands glob characters in a path and tells files apart by path: refuse any oddity.
    if (uri.rfind(prefix, 0) != 0 || uri.find("/../") != std::string_view::npos ||
        uri.find_first_of("*?[]{}\\'\"") != std::string_view::npos) {
      return QueryError(QueryErrorKind::kInternal,
                        fmt::format("metastore row {} is not a file of tenant {} and signal {} under {}: not read",
                                    file.uri, tenant, table.signal, lake_uri_root));
    }
    if (local) {
      out.paths.emplace_back(uri.substr(kFileScheme.size()));
    } else {
      out.remote.push_back({std::string(uri.substr(lake_uri_root.size() + 1)), file.size_bytes});
    }
    out.bytes += file.size_bytes;
  }
  return out;
}

}  // namespace openwit::search
