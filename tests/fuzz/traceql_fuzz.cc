// Tempo's TraceQL (search/traceql.h): the `q` of /tempo/api/search, through TraceQlToSql. Beside
// "no crash" (the parser recurses on parentheses: its depth is bounded), the SQL it makes never
// lets the query's text out of a string literal: outside the literals, every word is one the
// translator writes itself (columns, functions, keywords, numbers), and no ';' or comment starts.
//
// Input: a TraceQL query.

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "fuzz_support.h"
#include "search/traceql.h"

namespace openwit::fuzz {
namespace {

// Every word of the SQL outside its string literals, with the first one that is not ours.
void CheckConfined(const std::string& sql, const std::string& query) {
  static const std::set<std::string> kOurs = {"bool_or",
                                              "TRUE",
                                              "FALSE",
                                              "AND",
                                              "OR",
                                              "NOT",
                                              "coalesce",
                                              "IS",
                                              "NULL",
                                              "TRY_CAST",
                                              "AS",
                                              "DOUBLE",
                                              "regexp_full_match",
                                              "lower",
                                              "SpanName",
                                              "StatusMessage",
                                              "StatusCode",
                                              "SpanKind",
                                              "Duration",
                                              "ServiceName",
                                              "SpanAttributes",
                                              "ResourceAttributes",
                                              "e"};
  size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '\'') {  // a literal: '' is a quote inside it
      ++i;
      while (true) {
        FUZZ_EXPECT(i < sql.size(), "an unclosed literal in {} (from {})", sql, query);
        if (sql[i] == '\'' && i + 1 < sql.size() && sql[i + 1] == '\'') {
          i += 2;
        } else if (sql[i] == '\'') {
          ++i;
          break;
        } else {
          FUZZ_EXPECT(sql[i] != '\0', "a NUL in a literal of {}", sql);
          ++i;
        }
      }
      continue;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t end = i;
      while (end < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[end])) || sql[end] == '_')) ++end;
      const std::string word = sql.substr(i, end - i);
      FUZZ_EXPECT(kOurs.count(word) > 0, "the word {} outside a literal in {} (from {})", word, sql, query);
      i = end;
      continue;
    }
    FUZZ_EXPECT(std::isdigit(static_cast<unsigned char>(c)) ||
                    std::string_view(" ()[]<>=!.,+-").find(c) != std::string_view::npos,
                "the character '{}' outside a literal in {} (from {})", c, sql, query);
    FUZZ_EXPECT(!(c == '-' && i + 1 < sql.size() && sql[i + 1] == '-'), "a comment in {} (from {})", sql, query);
    ++i;
  }
}

}  // namespace
}  // namespace openwit::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  openwit::fuzz::InitializeTarget();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string query(openwit::fuzz::AsText(data, size));
  auto sql = openwit::search::TraceQlToSql(query);
  if (!sql.ok()) {
    FUZZ_EXPECT(sql.status().IsInvalid(), "not Invalid: {}", sql.status().ToString());
    FUZZ_EXPECT(sql.status().message().rfind("TraceQL: ", 0) == 0, "an error without its prefix: {}",
                sql.status().message());
    return 0;
  }
  openwit::fuzz::CheckConfined(sql->having, query);
  openwit::fuzz::CheckConfined(sql->matched, query);
  return 0;
}
