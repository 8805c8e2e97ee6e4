// The records of the two rings, to and from the policy's own types.
#pragma once

#include <cstdint>

#include "intf.h"
#include "policy/scheduler.h"

namespace rustland::dispatcher {

// A queued record from BPF, as the policy sees it.
policy::QueuedTask to_policy(const rl_queued_task& record);
// A decision (-u), as BPF reads it.
rl_dispatched_task to_record(const policy::Decision& decision);
// A task's parameters (default mode), as BPF reads them.
rl_task_params to_record(const policy::TaskParams& params);

}  // namespace rustland::dispatcher
