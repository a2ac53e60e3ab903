#pragma once
// A lake for unit tests: a local object store and a SQLite metastore under `dir`, wired into
// StorageOptions (with the cluster token that test senders present: kTestClusterToken).

#include <filesystem>
#include <memory>

#include <gtest/gtest.h>

#include "storage/flight_server.h"

namespace openwit::storage {

inline constexpr const char* kTestClusterToken = "unit-test-cluster-token";

struct TestLake {
  std::unique_ptr<ObjectStore> store;
  std::unique_ptr<Metastore> metastore;
  std::string dir;  // the object store's root

  static TestLake Open(const std::filesystem::path& dir, StorageOptions* options = nullptr) {
    TestLake lake;
    lake.dir = (dir / "lake").string();
    ObjectStoreConfig store;
    store.uri = lake.dir;
    auto opened = ObjectStore::Open(store);
    EXPECT_TRUE(opened.ok()) << opened.status();
    lake.store = std::move(*opened);
    MetastoreConfig meta;
    meta.sqlite_path = (dir / "metastore.sqlite").string();
    auto m = Metastore::Open(meta);
    EXPECT_TRUE(m.ok()) << m.status();
    lake.metastore = std::move(*m);
    if (options) {
      options->lake = lake.store.get();
      options->metastore = lake.metastore.get();
      options->cluster_token = kTestClusterToken;
    }
    return lake;
  }
};

}  // namespace openwit::storage
