// The held (latency-critical) processes, kept once: per held tgid its
// identity (a pidfd), the uid it is held for and how many holds point at it.
// The registry decides when the scheduler's map is written: the first hold
// adds the process, the last release removes it, and a freshly bound map
// gets every held process still alive. Pure: no D-Bus, no BPF, and whether
// a process has exited is asked through an injected probe, so the rules are
// unit-tested without processes.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include "common/unique_fd.h"

namespace rustland::service {

// Where holds take effect: the dispatcher's map of latency-critical
// processes, which also gets an entry for every child a held process forks.
// Called with the registry's lock held.
class HoldSink {
public:
    struct Entry {
        pid_t key;        // a held process, or a child that inherited its hold
        pid_t held_tgid;  // the held process it comes from
    };

    // False if the sink is full.
    virtual bool hold(pid_t tgid, uid_t holder) = 0;
    // Removes the process and every entry its children inherited.
    virtual void release(pid_t tgid) = 0;
    // Removes one entry (an inherited one).
    virtual void forget(pid_t key) = 0;
    virtual std::vector<Entry> entries() const = 0;

protected:
    ~HoldSink() = default;
};

class HoldRegistry {
public:
    // True once the process `pidfd` refers to has exited.
    using ExitProbe = std::function<bool(int pidfd)>;

    explicit HoldRegistry(ExitProbe exited);
    HoldRegistry(const HoldRegistry&) = delete;
    HoldRegistry& operator=(const HoldRegistry&) = delete;

    enum class Outcome {
        Held,
        SinkFull,  // nothing recorded: the hold is refused
        Exited,    // the process exited while being held: nothing recorded
    };

    // Counts one more hold on `tgid` for `holder` (0: root). The first one
    // keeps `pidfd` as the process's identity and writes the process to the
    // sink; later ones only count. A caller that finds the held process
    // exited (exited()) ends its holds first: its pid may be reused.
    Outcome hold(pid_t tgid, UniqueFd pidfd, uid_t holder);
    // Counts one hold less; the last removes the process from the sink.
    void release(pid_t tgid);

    // True if `tgid` is held and its process has exited.
    bool exited(pid_t tgid) const;

    struct HeldProcess {
        pid_t tgid;
        int pidfd;  // the registry's; open until the process's last release
    };
    std::vector<HeldProcess> held() const;

    // From now on holds are written to `sink` (which outlives the binding),
    // starting with every held process still alive.
    void bind(HoldSink& sink);
    // Holds are only counted until the next bind().
    void unbind();

private:
    struct Entry {
        UniqueFd pidfd;
        uid_t holder;
        unsigned holds;
    };

    bool write_to_sink(pid_t tgid, uid_t holder);
    bool make_room();

    const ExitProbe exited_;
    mutable std::mutex mutex_;  // the service thread holds, the supervisor binds
    std::map<pid_t, Entry> held_;
    HoldSink* sink_ = nullptr;
};

}  // namespace rustland::service
