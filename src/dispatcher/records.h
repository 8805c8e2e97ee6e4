// The records of the two rings, to and from the policy's own types.
#pragma once

#include <cstdint>

#include "intf.h"
#include "policy/scheduler.h"

namespace rustland::dispatcher {

// A queued record from BPF, as the policy sees it.
policy::QueuedTask to_policy(const rl_queued_task& record);
// A decision, as BPF reads it; `dsq_vtime` orders it inside its DSQ.
rl_dispatched_task to_record(const policy::Decision& decision, std::uint64_t dsq_vtime);

}  // namespace rustland::dispatcher
