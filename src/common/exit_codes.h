// Process exit codes of scx-rustland, documented in --help, scx-rustland(8)
// and the README. Their own header so that the daemon can return them without
// depending on the command-line parser.
#pragma once

namespace rustland {

enum ExitCode : int {
    kExitOk = 0,
    kExitFailure = 1,     // runtime failure (load, attach, repeated ejection)
    kExitUsage = 2,       // bad option or value: nothing was loaded
    kExitNoSchedExt = 3,  // the running kernel has no sched_ext
    kExitBusy = 4,        // another sched_ext scheduler is attached
    kExitConfig = 5,      // a configuration file is invalid: nothing was loaded
};

}  // namespace rustland
