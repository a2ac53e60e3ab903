#include "roles/cli.h"

int main(int argc, char** argv) { return openwit::RunCli(argc, argv); }
