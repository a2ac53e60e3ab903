#include "gateway/auth.h"

#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace openwit::gateway {
namespace {

using ::testing::HasSubstr;

TEST(AuthenticatorTest, KeysMapToTenants) {
  AuthConfig config;
  config.enabled = true;
  config.api_keys = {"acme=k-acme-123", "beta=k-beta-456"};
  Authenticator auth(config);
  std::string why;
  EXPECT_EQ(auth.Authenticate("Bearer k-acme-123", "", &why), "acme");
  EXPECT_EQ(auth.Authenticate("", "k-beta-456", &why), "beta");
  EXPECT_FALSE(auth.Authenticate("Bearer nope", "", &why));
  EXPECT_EQ(why, "unknown API key");
  EXPECT_FALSE(auth.Authenticate("", "", &why));
  EXPECT_THAT(why, HasSubstr("missing credentials"));
  EXPECT_FALSE(auth.Authenticate("Basic k-acme-123", "", &why));  // only bearer tokens
}

TEST(AuthenticatorTest, OffMeansTheDefaultTenant) {
  AuthConfig config;
  config.default_tenant = "team-a";
  Authenticator auth(config);
  std::string why;
  EXPECT_EQ(auth.Authenticate("", "", &why), "team-a");
}

TEST(AuthenticatorTest, KeysFileIsReloadedWhenItChanges) {
  auto path = std::filesystem::temp_directory_path() / ("openwit-keys-" + std::to_string(::getpid()));
  std::ofstream(path) << "# tenant=key\nacme=first-key\nnot a valid line\nno/slash=bad-tenant-key\n..=dots-key\n";
  AuthConfig config;
  config.enabled = true;
  config.keys_file = path.string();
  Authenticator auth(config);
  std::string why;
  EXPECT_EQ(auth.Authenticate("", "first-key", &why), "acme");
  EXPECT_FALSE(auth.Authenticate("", "bad-tenant-key", &why)) << "a tenant storage would refuse is no tenant";
  EXPECT_FALSE(auth.Authenticate("", "dots-key", &why));
  std::ofstream(path) << "acme=second-key\n";
  std::filesystem::last_write_time(path, std::filesystem::last_write_time(path) + std::chrono::seconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // the file is looked at once a second
  EXPECT_EQ(auth.Authenticate("", "second-key", &why), "acme");
  EXPECT_FALSE(auth.Authenticate("", "first-key", &why));  // rotated out
  std::filesystem::remove(path);
}

// A revocation written within the second of the previous load keeps the file's modification time
// (most filesystems, and utime() here to be sure): the content decides, so the key is refused at
// the next check.
TEST(AuthenticatorTest, RevocationInTheSameSecondAppliesAtTheNextCheck) {
  auto path = std::filesystem::temp_directory_path() / ("openwit-keys-revoke-" + std::to_string(::getpid()));
  std::ofstream(path) << "acme=key-one\nbeta=key-two\n";
  struct stat loaded_stat {};
  ASSERT_EQ(::stat(path.c_str(), &loaded_stat), 0);
  AuthConfig config;
  config.enabled = true;
  config.keys_file = path.string();
  Authenticator auth(config, std::chrono::milliseconds(0));  // look at the file at every call
  std::string why;
  EXPECT_EQ(auth.Authenticate("", "key-one", &why), "acme");
  EXPECT_EQ(auth.Authenticate("", "key-two", &why), "beta");

  std::ofstream(path) << "acme=key-one\n";  // beta's key revoked
  struct utimbuf same_second {
    loaded_stat.st_atime, loaded_stat.st_mtime
  };
  ASSERT_EQ(::utime(path.c_str(), &same_second), 0);
  struct stat revoked_stat {};
  ASSERT_EQ(::stat(path.c_str(), &revoked_stat), 0);
  ASSERT_EQ(revoked_stat.st_mtime, loaded_stat.st_mtime);

  EXPECT_FALSE(auth.Authenticate("", "key-two", &why));
  EXPECT_EQ(why, "unknown API key");
  EXPECT_EQ(auth.Authenticate("", "key-one", &why), "acme");
  // A key given back within the same second (same size, same mtime) applies as well.
  std::ofstream(path) << "beta=key-two\n";
  ASSERT_EQ(::utime(path.c_str(), &same_second), 0);
  EXPECT_EQ(auth.Authenticate("", "key-two", &why), "beta");
  EXPECT_FALSE(auth.Authenticate("", "key-one", &why));
  std::filesystem::remove(path);
}

TEST(QuotaLimiterTest, RecordsAndBytesPerTenant) {
  QuotaConfig config;
  config.records_per_second = 100;
  config.overrides = {"big=1000000:0"};
  QuotaLimiter quotas(config);
  int64_t retry = 0;
  EXPECT_TRUE(quotas.Admit("acme", 100, 10, &retry).ok());  // the full second's worth
  EXPECT_TRUE(quotas.Admit("acme", 100, 10, &retry).ok());  // not in debt yet: admitted, now in debt
  auto refused = quotas.Admit("acme", 1, 10, &retry);
  ASSERT_TRUE(refused.IsCapacityError());
  EXPECT_THAT(refused.message(), HasSubstr("tenant acme is over its quota of 100 records/s"));
  EXPECT_GT(retry, 500);
  EXPECT_LE(retry, 1001);
  EXPECT_TRUE(quotas.Admit("other", 100, 10, &retry).ok());  // each tenant has its own bucket
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(quotas.Admit("big", 1000, 1 << 20, &retry).ok());
}

TEST(QuotaLimiterTest, UnlimitedByDefault) {
  QuotaLimiter quotas(QuotaConfig{});
  int64_t retry = 0;
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(quotas.Admit("acme", 1000000, 1 << 30, &retry).ok());
}

}  // namespace
}  // namespace openwit::gateway
