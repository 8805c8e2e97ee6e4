// How an attach cycle ended, and what the daemon does about it.
#pragma once

#include "daemon/control_plane.h"
#include "dispatcher/bpf_dispatcher.h"
#include "systemd/notifier.h"

namespace rustland::daemon {

enum class Outcome {
    Stopped,   // SIGINT/SIGTERM: the daemon exits
    Restart,   // the kernel asked for a new attach (a CPU came or went while loading)
    Reattach,  // a reload changed settings read only at load
    Ejected,   // the kernel ended the scheduler on an error
};

// The kernel ended the scheduler: tells a restart it asked for from an
// ejection, logs it (an ejection with its reason as journal fields) and
// publishes the state.
Outcome report_end(const dispatcher::ExitInfo& info, ControlPlane& control, systemd::Notifier& notifier);

// The process exit code for an error that ends the daemon.
int exit_code_of(dispatcher::Error::Kind kind);

}  // namespace rustland::daemon
