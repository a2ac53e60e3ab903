#include "control/node_registry.h"

#include <gtest/gtest.h>

namespace openwit {
namespace {

control::v1::NodeInfo MakeNode(const std::string& id, const std::string& role) {
  control::v1::NodeInfo info;
  info.set_node_id(id);
  info.add_roles(role);
  return info;
}

TEST(NodeRegistryTest, HealthFollowsHeartbeats) {
  NodeRegistry registry(std::chrono::milliseconds(1000));
  auto t0 = NodeRegistry::Clock::now();
  registry.Register(MakeNode("b", "ingest"), t0);
  registry.Register(MakeNode("a", "ingest"), t0);
  registry.Register(MakeNode("s", "storage"), t0);
  EXPECT_EQ(registry.List("ingest", t0).size(), 2u);
  EXPECT_EQ(registry.List("", t0).size(), 3u);

  auto t1 = t0 + std::chrono::milliseconds(1500);
  EXPECT_TRUE(registry.Heartbeat("b", t1));
  EXPECT_FALSE(registry.Heartbeat("unknown", t1));
  auto ingest = registry.List("ingest", t1);
  ASSERT_EQ(ingest.size(), 2u);
  EXPECT_EQ(ingest[0].node().node_id(), "b");  // healthy first
  EXPECT_TRUE(ingest[0].healthy());
  EXPECT_EQ(ingest[1].node().node_id(), "a");
  EXPECT_FALSE(ingest[1].healthy());
}

}  // namespace
}  // namespace openwit
