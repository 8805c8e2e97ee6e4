// A joinable thread with a chosen stack size. std::thread always takes the
// process default (8 MiB here), and mlockall pins every byte of it.
#pragma once

#include <pthread.h>

#include <cstddef>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>

namespace rustland {

class StackThread {
public:
    StackThread(std::size_t stack_bytes, std::function<void()> body) : body_(std::move(body)) {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, stack_bytes);
        const int err = pthread_create(&thread_, &attr, &StackThread::trampoline, this);
        pthread_attr_destroy(&attr);
        if (err != 0)
            throw std::runtime_error(std::string("Cannot start a thread: ") + std::strerror(err));
        joinable_ = true;
    }
    ~StackThread() { join(); }
    StackThread(const StackThread&) = delete;
    StackThread& operator=(const StackThread&) = delete;

    void join() {
        if (joinable_)
            pthread_join(thread_, nullptr);
        joinable_ = false;
    }

private:
    static void* trampoline(void* self) {
        static_cast<StackThread*>(self)->body_();
        return nullptr;
    }

    std::function<void()> body_;
    pthread_t thread_{};
    bool joinable_ = false;
};

}  // namespace rustland
