#include "storage/fresh_ticket.h"

#include <nlohmann/json.hpp>

#include "common/config_overrides.h"

namespace openwit::storage {

std::string FreshTicketJson(const FreshTicket& ticket) {
  return nlohmann::json{{"fresh", {{"tenant", ticket.tenant}, {"signal", ticket.signal}}}}.dump();
}

arrow::Result<FreshTicket> ParseFreshTicket(std::string_view json) {
  const auto parsed = nlohmann::json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  const auto invalid = [] {
    return arrow::Status::Invalid(
        R"(ticket must be {"fresh": {"tenant": T, "signal": "logs|traces|metrics"}} with a tenant of letters, )"
        "digits, '-', '_' or '.'");
  };
  if (!parsed.is_object() || !parsed.contains("fresh") || !parsed["fresh"].is_object()) return invalid();
  const auto& fresh = parsed["fresh"];
  if (!fresh.contains("tenant") || !fresh["tenant"].is_string() || !fresh.contains("signal") ||
      !fresh["signal"].is_string()) {
    return invalid();
  }
  FreshTicket ticket{fresh["tenant"].get<std::string>(), fresh["signal"].get<std::string>()};
  if (!ValidTenantName(ticket.tenant) ||
      (ticket.signal != "logs" && ticket.signal != "traces" && ticket.signal != "metrics")) {
    return invalid();
  }
  return ticket;
}

std::string FileStem(std::string_view path) {
  const auto slash = path.rfind('/');
  if (slash != std::string_view::npos) path.remove_prefix(slash + 1);
  const auto dot = path.find('.');
  return std::string(path.substr(0, dot));
}

}  // namespace openwit::storage
