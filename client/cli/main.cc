// tristage: the command-line interface. Exit codes: see client/cli/verbs.h.
#include <iostream>
#include <string>
#include <vector>

#include "client/cli/verbs.h"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  return tristage::cli::RunCli(args, std::cout, std::cerr);
}
