#include "common/memory_pool.h"
#include "roles/cli.h"

int main(int argc, char** argv) {
  openwit::PreferSystemArrowMemoryPool();
  return openwit::RunCli(argc, argv);
}
