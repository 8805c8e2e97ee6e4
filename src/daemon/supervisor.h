// Runs the scheduler until a signal or a fatal ejection: checks the kernel,
// locks memory, attaches, and reattaches by itself when the kernel asks for a
// restart (CPU hotplug).
#pragma once

#include "cli/options.h"

namespace rustland::daemon {

// Returns the process exit code (cli::ExitCode).
int run(const cli::Options& options);

}  // namespace rustland::daemon
