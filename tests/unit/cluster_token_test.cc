#include "common/cluster_token.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/metrics.h"
#include "control/control_service.h"

namespace openwit {
namespace {

using ::testing::HasSubstr;

// Refusals counted in `metrics`, under `port` and `reason` (0 when none).
double Refused(MetricsRegistry& metrics, const std::string& port, const std::string& reason) {
  return metrics.Read("cluster.auth.refused", {{"port", port}, {"reason", reason}}).value_or(0);
}

TEST(ClusterTokenTest, ConstantTimeEquality) {
  EXPECT_TRUE(ConstantTimeEquals("0123456789abcdef", "0123456789abcdef"));
  EXPECT_FALSE(ConstantTimeEquals("0123456789abcdeX", "0123456789abcdef"));
  EXPECT_FALSE(ConstantTimeEquals("0123456789abcde", "0123456789abcdef"));    // a prefix
  EXPECT_FALSE(ConstantTimeEquals("0123456789abcdef0", "0123456789abcdef"));  // longer
  EXPECT_FALSE(ConstantTimeEquals("", "0123456789abcdef"));
  EXPECT_FALSE(ConstantTimeEquals(std::string("0123456789abcdef\0", 17), "0123456789abcdef"));
}

TEST(ClusterTokenTest, FromConfigTokenFileOrRandom) {
  ClusterConfig config;
  auto random = ClusterToken::FromConfig(config);
  ASSERT_TRUE(random.ok());
  EXPECT_FALSE(random->configured());
  EXPECT_EQ(random->value().size(), 64u);
  EXPECT_NE(random->value(), ClusterToken::Random().value());

  config.token = "a-token-of-the-cluster";
  EXPECT_EQ(ClusterToken::FromConfig(config)->value(), "a-token-of-the-cluster");
  EXPECT_TRUE(ClusterToken::FromConfig(config)->configured());

  auto path = std::filesystem::temp_directory_path() / ("openwit-token-" + std::to_string(::getpid()));
  std::ofstream(path) << "  token-from-the-file-0123  \nsecond line ignored\n";
  config.token.clear();
  config.token_file = path.string();
  auto from_file = ClusterToken::FromConfig(config);
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_EQ(from_file->value(), "token-from-the-file-0123");
  std::ofstream(path) << "short\n";
  EXPECT_THAT(ClusterToken::FromConfig(config).status().message(), HasSubstr("at least 16"));
  std::filesystem::remove(path);
  EXPECT_THAT(ClusterToken::FromConfig(config).status().message(), HasSubstr("cannot read"));
}

TEST(ClusterTokenTest, RefusalsSayWhyAndAreCounted) {
  ClusterToken token("the-cluster-token-1234");
  auto metrics = std::make_shared<MetricsRegistry>();
  token.CountRefusalsIn(metrics);
  std::string why;
  EXPECT_TRUE(token.Admits("the-cluster-token-1234", "unit", &why));
  const double missing = Refused(*metrics, "unit", "missing"), wrong = Refused(*metrics, "unit", "wrong");
  EXPECT_FALSE(token.Admits(std::nullopt, "unit", &why));
  EXPECT_THAT(why, HasSubstr("x-openwit-cluster-token"));
  EXPECT_THAT(why, HasSubstr("cluster.token"));
  EXPECT_FALSE(token.Admits("the-cluster-token-123", "unit", &why));
  EXPECT_THAT(why, HasSubstr("wrong cluster token"));
  EXPECT_EQ(Refused(*metrics, "unit", "missing"), missing + 1);
  EXPECT_EQ(Refused(*metrics, "unit", "wrong"), wrong + 1);
}

// Every method of the control service checks the token: nobody outside the cluster registers a
// node, heartbeats for one or reads the member list.
TEST(ClusterTokenTest, ControlServiceRefusesCallsWithoutTheToken) {
  NodeRegistry registry(std::chrono::seconds(10));
  ControlService service(&registry, ClusterToken("the-cluster-token-1234"));
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  ASSERT_TRUE(server && port > 0);
  auto stub = control::v1::Control::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  auto call = [&](const char* token, auto method) {
    grpc::ClientContext ctx;
    if (token) ctx.AddMetadata(kClusterTokenHeader, token);
    return method(&ctx);
  };
  control::v1::RegisterRequest reg;
  reg.mutable_node()->set_node_id("intruder");
  control::v1::RegisterResponse reg_resp;
  control::v1::HeartbeatRequest hb;
  hb.set_node_id("intruder");
  control::v1::HeartbeatResponse hb_resp;
  control::v1::ListNodesRequest list;
  control::v1::ListNodesResponse list_resp;
  for (const char* token : {static_cast<const char*>(nullptr), "not-the-cluster-token"}) {
    auto r = call(token, [&](grpc::ClientContext* c) { return stub->Register(c, reg, &reg_resp); });
    EXPECT_EQ(r.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_THAT(r.error_message(), HasSubstr("control"));
    EXPECT_EQ(call(token, [&](grpc::ClientContext* c) { return stub->Heartbeat(c, hb, &hb_resp); }).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(call(token, [&](grpc::ClientContext* c) { return stub->ListNodes(c, list, &list_resp); }).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  EXPECT_TRUE(registry.List("").empty());
  EXPECT_TRUE(
      call("the-cluster-token-1234", [&](grpc::ClientContext* c) { return stub->Register(c, reg, &reg_resp); }).ok());
  EXPECT_EQ(registry.List("").size(), 1u);
  server->Shutdown();
}

}  // namespace
}  // namespace openwit
