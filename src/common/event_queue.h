// Items handed from any thread to one thread that polls: a mutex-guarded
// list plus an eventfd that is readable while items wait, so the consumer
// sleeps in poll() with its other file descriptors instead of on a lock.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <mutex>
#include <system_error>
#include <utility>
#include <vector>

#include "common/unique_fd.h"

namespace rustland {

template <typename Item>
class EventQueue {
public:
    EventQueue() : event_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
        if (!event_)
            throw std::system_error(errno, std::generic_category(), "eventfd");
    }
    EventQueue(const EventQueue&) = delete;
    EventQueue& operator=(const EventQueue&) = delete;

    // False (and the item dropped) once closed.
    bool post(Item item) {
        std::lock_guard lock(mutex_);
        if (closed_)
            return false;
        items_.push_back(std::move(item));
        const std::uint64_t one = 1;
        // Cannot fail short of a counter overflow, which would itself wake the consumer.
        [[maybe_unused]] const auto written = ::write(event_.get(), &one, sizeof(one));
        return true;
    }

    // Everything waiting, oldest first; the eventfd is quiet again.
    std::vector<Item> take() {
        std::uint64_t count;
        [[maybe_unused]] const auto drained = ::read(event_.get(), &count, sizeof(count));
        std::lock_guard lock(mutex_);
        return std::exchange(items_, {});
    }

    // Later posts are dropped: a late producer finds the queue closed
    // instead of its consumer gone.
    void close() {
        std::vector<Item> dropped;  // destroyed after the lock is let go
        std::lock_guard lock(mutex_);
        closed_ = true;
        dropped.swap(items_);
    }

    // Readable while items wait.
    int fd() const { return event_.get(); }

private:
    UniqueFd event_;
    std::mutex mutex_;
    std::vector<Item> items_;
    bool closed_ = false;
};

}  // namespace rustland
