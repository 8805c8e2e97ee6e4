// The commands of scx-rustlandctl. Each returns the exit code, or throws
// CommandFailed / sdbus::Error for main() to report.
#pragma once

#include "ctl/arguments.h"
#include "ctl/exit_codes.h"

namespace rustland::ctl {

ExitCode show_status(const StatusCommand& command);
ExitCode show_holds(const ListCommand& command);
ExitCode monitor(const MonitorCommand& command);
ExitCode hold(const HoldCommand& command);
ExitCode release(const ReleaseCommand& command);
ExitCode reload(const ReloadCommand& command);
// Returns only when CMD exited normally; a CMD killed by a signal kills us
// with the same signal.
ExitCode run(const RunCommand& command);
// Runs until SIGINT or SIGTERM; the holds end with it.
ExitCode follow_gamemode(const FollowGameModeCommand& command);

}  // namespace rustland::ctl
