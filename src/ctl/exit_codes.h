// Exit codes of scx-rustlandctl, documented in --help and docs/scx-rustlandctl.md.
#pragma once

namespace rustland::ctl {

enum class ExitCode : int {
    ok = 0,
    failure = 1,             // anything not listed below
    usage = 2,               // bad command line, or arguments the daemon rejected
    daemon_not_running = 3,  // org.scx.Rustland1 has no owner, or there is no system bus
    permission_denied = 4,
    no_such_target = 5,  // no such process or hold
    limit_exceeded = 6,
    bad_config = 7,  // reload: the daemon's configuration is invalid
};

inline int to_int(ExitCode code) { return static_cast<int>(code); }

}  // namespace rustland::ctl
