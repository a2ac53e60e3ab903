// Real peers for unit tests: a throwaway PostgreSQL cluster and a MinIO server, each on 127.0.0.1 with
// a free port and its own temp dir, started in the constructor (which waits until the server answers)
// and stopped in the destructor (by PID; the temp dir is removed). A constructor throws
// std::runtime_error with the reason (binary missing, server exited, no answer in time), so a test
// that uses a peer fails with that message instead of being skipped: `make setup` installs both.
//
// Children get PR_SET_PDEATHSIG=SIGKILL, so a test binary that dies without running destructors
// does not leave servers behind. Create and destroy a peer on the same thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include <arrow/filesystem/s3fs.h>

namespace openwit::testing {

// A PostgreSQL cluster (initdb -A trust -U openwit) in a temp dir: TCP on 127.0.0.1:port(), unix socket
// in the temp dir, fsync off. As root, initdb and postgres run as the `postgres` user.
class TestPostgres {
 public:
  TestPostgres();  // throws std::runtime_error
  ~TestPostgres();
  TestPostgres(const TestPostgres&) = delete;
  TestPostgres& operator=(const TestPostgres&) = delete;

  const std::string& host() const { return host_; }  // "127.0.0.1"
  int port() const { return port_; }
  const std::string& user() const { return user_; }  // "openwit" (superuser, no password)
  // libpq connection string for PQconnectdb, e.g. "host=127.0.0.1 port=5433 user=openwit dbname=postgres".
  std::string dsn(const std::string& dbname = "postgres") const;
  // CREATE DATABASE <name> (a plain SQL identifier) and return its dsn. Throws on failure.
  std::string CreateDatabase(const std::string& name);
  const std::filesystem::path& dir() const { return dir_; }
  std::string log() const;  // the server's log so far

 private:
  void Stop();
  std::filesystem::path dir_;
  std::string host_ = "127.0.0.1";
  std::string user_ = "openwit";
  int port_ = 0;
  pid_t pid_ = -1;
};

// A MinIO server (build/tools/minio, or $OPENWIT_MINIO_BIN) on 127.0.0.1:port() with a temp data dir.
class TestMinio {
 public:
  TestMinio();  // throws std::runtime_error
  ~TestMinio();
  TestMinio(const TestMinio&) = delete;
  TestMinio& operator=(const TestMinio&) = delete;

  std::string endpoint() const;  // "127.0.0.1:<port>"
  int port() const { return port_; }
  const std::string& access_key() const { return access_key_; }
  const std::string& secret_key() const { return secret_key_; }
  const std::string& region() const { return region_; }  // "us-east-1"
  // S3 options for this server: explicit keys, endpoint override, http, path-style addressing,
  // bucket creation allowed.
  arrow::fs::S3Options s3_options() const;
  // An S3FileSystem on this server (initializes Arrow's S3 once per process; a gtest environment
  // calls arrow::fs::FinalizeS3 after the last test). Throws on failure.
  std::shared_ptr<arrow::fs::S3FileSystem> filesystem() const;
  // Create a bucket (through Arrow's S3FileSystem). Throws on failure.
  void CreateBucket(const std::string& bucket) const;
  const std::filesystem::path& dir() const { return dir_; }
  std::string log() const;

  static std::filesystem::path Binary();  // $OPENWIT_MINIO_BIN or <source>/build/tools/minio

 private:
  void Stop();
  std::filesystem::path dir_;
  std::string access_key_ = "openwit-test";
  std::string secret_key_ = "openwit-test-secret";
  std::string region_ = "us-east-1";
  int port_ = 0;
  pid_t pid_ = -1;
};

// Initializes Arrow's S3 (once per process) and registers its finalization at the end of the tests.
void EnsureS3ForTests();

}  // namespace openwit::testing
