#include "test_servers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <libpq-fe.h>

extern char** environ;

namespace openwit::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

[[noreturn]] void Fail(const std::string& what) { throw std::runtime_error(what); }

struct RunAs {
  uid_t uid;
  gid_t gid;
};

// The `postgres` user when we are root (initdb and postgres refuse to run as root), else nobody.
std::optional<RunAs> PostgresUserIfRoot() {
  if (geteuid() != 0) return std::nullopt;
  struct passwd* pw = getpwnam("postgres");
  if (pw == nullptr) Fail("running as root, but there is no `postgres` user to run PostgreSQL as");
  return RunAs{pw->pw_uid, pw->pw_gid};
}

fs::path MakeTempDir(const std::string& prefix, const std::optional<RunAs>& owner) {
  // As root the directory must be reachable by the `postgres` user, which $TMPDIR may not be.
  fs::path base = owner ? fs::path("/tmp") : fs::temp_directory_path();
  std::string tmpl = (base / (prefix + "XXXXXX")).string();
  if (mkdtemp(tmpl.data()) == nullptr) Fail("mkdtemp " + tmpl + ": " + std::strerror(errno));
  if (owner && chown(tmpl.c_str(), owner->uid, owner->gid) != 0) {
    Fail("chown " + tmpl + ": " + std::strerror(errno));
  }
  return tmpl;
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) Fail(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    Fail(std::string("bind 127.0.0.1:0: ") + std::strerror(errno));
  }
  close(fd);
  return ntohs(addr.sin_port);
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Starts argv[0] (an absolute path) with the current environment plus `env`, stdin from /dev/null,
// stdout and stderr appended to `log`, in `cwd`, in its own process group, as `as` if given, and
// killed with SIGKILL if this thread exits first.
pid_t Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env, const fs::path& log,
            const fs::path& cwd, const std::optional<RunAs>& as) {
  // Everything the child needs is prepared before fork: only async-signal-safe calls after it.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  for (const auto& e : env) env_strings.push_back(e);
  std::vector<char*> envp;
  for (const auto& e : env_strings) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  std::string cwd_s = cwd.string();
  std::string exec_failed = "test_servers: cannot execute " + argv[0] + "\n";

  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (null_fd < 0 || log_fd < 0) {
    if (null_fd >= 0) close(null_fd);
    if (log_fd >= 0) close(log_fd);
    Fail("open " + log.string() + ": " + std::strerror(errno));
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(null_fd);
    close(log_fd);
    Fail(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    setpgid(0, 0);
    dup2(null_fd, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    if (as) {
      if (setgroups(1, &as->gid) != 0 || setgid(as->gid) != 0 || setuid(as->uid) != 0) _exit(126);
    }
    // After setuid: a credential change clears the parent-death signal.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(125);
    if (chdir(cwd_s.c_str()) != 0) _exit(124);
    execve(args[0], args.data(), envp.data());
    ssize_t ignored = write(2, exec_failed.data(), exec_failed.size());
    (void)ignored;
    _exit(127);
  }
  close(null_fd);
  close(log_fd);
  return pid;
}

// Waits for `pid` up to `timeout`; its exit status, or nullopt if it still runs.
std::optional<int> WaitFor(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return -1;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(20ms);
  }
}

std::string DescribeStatus(int status) {
  if (WIFEXITED(status)) return "exited with " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "ended (status " + std::to_string(status) + ")";
}

// Sends `sig`, waits, then SIGKILLs the whole process group if it is still there.
void StopProcess(pid_t pid, int sig, std::chrono::milliseconds grace) {
  if (pid <= 0) return;
  kill(pid, sig);
  if (!WaitFor(pid, grace)) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    WaitFor(pid, 10s);
  }
  kill(-pid, SIGKILL);  // stragglers in its group (none when it shut down cleanly)
}

fs::path PostgresBinDir() {
  if (const char* env = std::getenv("OPENWIT_PG_BINDIR")) {
    if (!fs::exists(fs::path(env) / "postgres")) Fail(std::string("OPENWIT_PG_BINDIR=") + env + " has no postgres");
    return env;
  }
  // Debian: /usr/lib/postgresql/<major>/bin; take the newest.
  fs::path best;
  int best_major = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    int major = std::atoi(entry.path().filename().c_str());
    if (major > best_major && fs::exists(entry.path() / "bin" / "postgres")) {
      best_major = major;
      best = entry.path() / "bin";
    }
  }
  if (best.empty()) {
    Fail("PostgreSQL not found in /usr/lib/postgresql/*/bin (install the Debian package `postgresql`: make setup)");
  }
  return best;
}

// The status code of GET http://127.0.0.1:<port><path>, 0 when nothing answers.
int HttpGetStatus(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  timeval tv{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  int status = 0;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    std::string req =
        "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\nConnection: close\r\n\r\n";
    if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[64] = {};
      ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
      if (n >= 12 && std::strncmp(buf, "HTTP/1.", 7) == 0) status = std::atoi(buf + 9);
    }
  }
  close(fd);
  return status;
}

std::string Tail(const std::string& s, size_t n = 4000) { return s.size() <= n ? s : "..." + s.substr(s.size() - n); }

constexpr int kStartAttempts = 3;  // a free port can be taken between our probe and the server's bind
constexpr auto kStartTimeout = 60s;

// Finalizes Arrow's S3 after the last test if a test initialized it (required before exit; LSan
// reports the AWS SDK's allocations otherwise).
class S3Environment : public ::testing::Environment {
 public:
  void TearDown() override {
    if (arrow::fs::IsS3Initialized() && !arrow::fs::IsS3Finalized()) {
      auto st = arrow::fs::FinalizeS3();
      if (!st.ok()) ADD_FAILURE() << "FinalizeS3: " << st.ToString();
    }
  }
};
[[maybe_unused]] ::testing::Environment* const kS3Environment = ::testing::AddGlobalTestEnvironment(new S3Environment);

// Polls `ready` until it holds, the child exits (its status in `exited`) or kStartTimeout passes.
struct StartOutcome {
  bool ready = false;
  std::optional<int> exited;
};
StartOutcome AwaitStart(pid_t pid, const std::function<bool()>& ready) {
  StartOutcome outcome;
  const auto deadline = Clock::now() + kStartTimeout;
  while (Clock::now() < deadline) {
    if (ready()) {
      outcome.ready = true;
      break;
    }
    if ((outcome.exited = WaitFor(pid, 0ms))) break;
    std::this_thread::sleep_for(50ms);
  }
  return outcome;
}

}  // namespace

// --- PostgreSQL ----------------------------------------------------------------------------------

TestPostgres::TestPostgres() {
  auto t0 = Clock::now();
  fs::path bin = PostgresBinDir();
  auto as = PostgresUserIfRoot();
  dir_ = MakeTempDir("openwit-pg-", as);
  try {
    fs::path data = dir_ / "data";
    fs::path initdb_log = dir_ / "initdb.log";
    pid_t initdb = Spawn({(bin / "initdb").string(), "-D", data.string(), "-A", "trust", "-U", user_, "-E", "UTF8",
                          "--locale=C", "--no-sync"},
                         {}, initdb_log, dir_, as);
    auto st = WaitFor(initdb, 120s);
    if (!st) {
      StopProcess(initdb, SIGKILL, 1s);
      Fail("initdb did not finish within 120 s:\n" + Tail(ReadFile(initdb_log)));
    }
    if (*st != 0) Fail("initdb " + DescribeStatus(*st) + ":\n" + Tail(ReadFile(initdb_log)));

    for (int attempt = 1;; ++attempt) {
      port_ = FreePort();
      pid_ = Spawn({(bin / "postgres").string(), "-D", data.string(), "-k", dir_.string(), "-h", host_, "-p",
                    std::to_string(port_), "-c", "fsync=off", "-c", "synchronous_commit=off", "-c",
                    "full_page_writes=off", "-c", "max_connections=50"},
                   {}, dir_ / "postgres.log", dir_, as);
      std::string ping = dsn() + " connect_timeout=2";
      auto [ready, exited] = AwaitStart(pid_, [&] { return PQping(ping.c_str()) == PQPING_OK; });
      if (ready) break;
      if (exited) {
        pid_ = -1;
        if (attempt < kStartAttempts) continue;
        Fail("postgres " + DescribeStatus(*exited) + ":\n" + Tail(log()));
      }
      Fail("postgres did not accept connections on " + host_ + ":" + std::to_string(port_) + " within 60 s:\n" +
           Tail(log()));
    }
  } catch (...) {
    Stop();
    throw;
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  std::fprintf(stderr, "[TestPostgres] ready on %s:%d in %lld ms (%s)\n", host_.c_str(), port_,
               static_cast<long long>(ms), dir_.c_str());
}

TestPostgres::~TestPostgres() { Stop(); }

void TestPostgres::Stop() {
  StopProcess(pid_, SIGQUIT, 10s);  // SIGQUIT: immediate shutdown, the postmaster ends its children
  pid_ = -1;
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

std::string TestPostgres::dsn(const std::string& dbname) const {
  return "host=" + host_ + " port=" + std::to_string(port_) + " user=" + user_ + " dbname=" + dbname;
}

std::string TestPostgres::CreateDatabase(const std::string& name) {
  PGconn* conn = PQconnectdb(dsn().c_str());
  std::string error;
  if (PQstatus(conn) != CONNECTION_OK) {
    error = std::string("connect: ") + PQerrorMessage(conn);
  } else {
    PGresult* res = PQexec(conn, ("CREATE DATABASE \"" + name + "\"").c_str());
    if (PQresultStatus(res) != PGRES_COMMAND_OK) error = std::string("CREATE DATABASE: ") + PQerrorMessage(conn);
    PQclear(res);
  }
  PQfinish(conn);
  if (!error.empty()) Fail("TestPostgres::CreateDatabase(" + name + "): " + error);
  return dsn(name);
}

std::string TestPostgres::log() const { return ReadFile(dir_ / "postgres.log"); }

// --- MinIO ---------------------------------------------------------------------------------------

fs::path TestMinio::Binary() {
  if (const char* env = std::getenv("OPENWIT_MINIO_BIN")) return env;
#ifdef OPENWIT_SOURCE_DIR
  return fs::path(OPENWIT_SOURCE_DIR) / "build" / "tools" / "minio";
#else
  return fs::path("build") / "tools" / "minio";
#endif
}

TestMinio::TestMinio() {
  auto t0 = Clock::now();
  fs::path bin = Binary();
  if (access(bin.c_str(), X_OK) != 0) {
    Fail("MinIO binary " + bin.string() + " not found or not executable: run `make setup` (go install of MinIO)");
  }
  dir_ = MakeTempDir("openwit-minio-", std::nullopt);
  try {
    fs::create_directories(dir_ / "data");
    for (int attempt = 1;; ++attempt) {
      port_ = FreePort();
      int console_port = FreePort();
      pid_ = Spawn({bin.string(), "server", "--quiet", "--address", endpoint(), "--console-address",
                    "127.0.0.1:" + std::to_string(console_port), (dir_ / "data").string()},
                   {"MINIO_ROOT_USER=" + access_key_, "MINIO_ROOT_PASSWORD=" + secret_key_, "MINIO_BROWSER=off",
                    "MINIO_UPDATE=off", "MINIO_REGION=" + region_, "HOME=" + dir_.string()},
                   dir_ / "minio.log", dir_, std::nullopt);
      auto [ready, exited] = AwaitStart(pid_, [&] { return HttpGetStatus(port_, "/minio/health/live") == 200; });
      if (ready) break;
      if (exited) {
        pid_ = -1;
        if (attempt < kStartAttempts) continue;
        Fail("minio " + DescribeStatus(*exited) + ":\n" + Tail(log()));
      }
      Fail("minio did not answer /minio/health/live on " + endpoint() + " within 60 s:\n" + Tail(log()));
    }
  } catch (...) {
    Stop();
    throw;
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  std::fprintf(stderr, "[TestMinio] ready on %s in %lld ms (%s)\n", endpoint().c_str(), static_cast<long long>(ms),
               dir_.c_str());
}

TestMinio::~TestMinio() { Stop(); }

void TestMinio::Stop() {
  StopProcess(pid_, SIGTERM, 10s);
  pid_ = -1;
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

std::string TestMinio::endpoint() const { return "127.0.0.1:" + std::to_string(port_); }

std::string TestMinio::log() const { return ReadFile(dir_ / "minio.log"); }

arrow::fs::S3Options TestMinio::s3_options() const {
  auto opts = arrow::fs::S3Options::FromAccessKey(access_key_, secret_key_);
  opts.endpoint_override = endpoint();
  opts.scheme = "http";
  opts.region = region_;
  opts.force_virtual_addressing = false;
  opts.allow_bucket_creation = true;
  opts.allow_bucket_deletion = true;
  return opts;
}

std::shared_ptr<arrow::fs::S3FileSystem> TestMinio::filesystem() const {
  EnsureS3ForTests();
  auto fs = arrow::fs::S3FileSystem::Make(s3_options());
  if (!fs.ok()) Fail("S3FileSystem::Make(" + endpoint() + "): " + fs.status().ToString());
  return *fs;
}

void TestMinio::CreateBucket(const std::string& bucket) const {
  auto st = filesystem()->CreateDir(bucket);
  if (!st.ok()) Fail("TestMinio::CreateBucket(" + bucket + "): " + st.ToString());
}

void EnsureS3ForTests() {
  static std::mutex mu;
  std::lock_guard lock(mu);
  if (arrow::fs::IsS3Initialized()) return;
  if (arrow::fs::IsS3Finalized()) Fail("Arrow's S3 was already finalized in this process");
  auto opts = arrow::fs::S3GlobalOptions::Defaults();
  opts.log_level = arrow::fs::S3LogLevel::Fatal;
  auto st = arrow::fs::InitializeS3(opts);
  if (!st.ok()) Fail("arrow::fs::InitializeS3: " + st.ToString());
}

}  // namespace openwit::testing
