#include "daemon/exit_outcome.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/exit_codes.h"
#include "systemd/logging.h"

namespace rustland::daemon {

Outcome report_end(const dispatcher::ExitInfo& info, ControlPlane& control, systemd::Notifier& notifier) {
    if (info.restart) {
        spdlog::info("The kernel asked for a restart ({}): reattaching the scheduler", info.reason);
        control.set_state(State::Detached, "the kernel asked for a restart: " + info.reason);
        return Outcome::Restart;
    }
    const std::string why = info.message.empty() ? info.reason : info.reason + ": " + info.message;
    control.set_state(State::Ejected, why);
    control.count_ejection();
    systemd::log_with_fields(spdlog::level::err, "The kernel ejected the scheduler: " + why,
                             {{"SCX_EXIT_REASON", info.reason}, {"SCX_EXIT_MESSAGE", info.message}});
    notifier.status("Ejected by the kernel: " + info.reason);
    if (!info.dump.empty())
        spdlog::error("Kernel debug dump:\n{}", info.dump);
    return Outcome::Ejected;
}

int exit_code_of(dispatcher::Error::Kind kind) {
    switch (kind) {
    case dispatcher::Error::Kind::NoSchedExt: return kExitNoSchedExt;
    case dispatcher::Error::Kind::Busy: return kExitBusy;
    case dispatcher::Error::Kind::Failure: break;
    }
    return kExitFailure;
}

}  // namespace rustland::daemon
