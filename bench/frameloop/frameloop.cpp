// frameloop: a game-like frame loop, to measure how a scheduler treats an
// interactive task.
//
// The main ("simulation") thread wakes at absolute targets one period apart
// (CLOCK_MONOTONIC, clock_nanosleep TIMER_ABSTIME), does a fixed number of
// work-loop iterations, and, with --render, hands the frame to a second
// thread that does its own fixed work. Measured per frame:
//   wakeup   actual wake time - target
//   wait     of that, the time the woken thread waited for a CPU (its
//            schedstat run_delay over the sleep), without the timer's part.
//            0 when the wakeup preempted at once: the kernel skips the
//            runqueue clock update between such a wakeup and the switch, so
//            the switch itself (and a BPF scheduler's callbacks on the way)
//            is not in it
//   handoff  render thread's wake time - the time the frame was handed over
//   frame    end of the frame's work (render's, with --render) - target
// A frame that ends after target + period missed its deadline. A wakeup late
// by whole periods skips those targets, as a vsync-locked loop would.
//
// Work is a loop count, not a duration: under emulation or on a loaded
// machine, "work for 4 ms" would stretch or shrink with the scheduler being
// measured. --calibrate measures iterations per millisecond once (on an
// idle machine) so callers can pick a count.
//
// --start-file: the first frame waits until that file exists, so that a
// harness can check something about the running process first (the suite
// waits until GameMode's registration of it has become a hold).
#include "latency_stats.h"

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

namespace {

using frameloop::DeadlineTally;

std::int64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void sleep_until(std::int64_t target_ns) {
    const timespec ts{.tv_sec = target_ns / 1'000'000'000, .tv_nsec = target_ns % 1'000'000'000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
}

// A dependent chain of integer operations; the empty asm makes each step
// opaque, so the compiler can neither fold nor drop the loop.
[[gnu::noinline]] void spin(std::uint64_t loops) {
    std::uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (std::uint64_t i = 0; i < loops; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        asm volatile("" : "+r"(x));
    }
}

// Best of several rounds of ~20 ms: the least disturbed one.
double calibrate_loops_per_ms() {
    constexpr std::uint64_t kChunk = 100'000;
    double best = 0.0;
    for (int round = 0; round < 10; ++round) {
        std::uint64_t loops = 0;
        const std::int64_t t0 = now_ns();
        std::int64_t t1 = t0;
        while (t1 - t0 < 20'000'000) {
            spin(kChunk);
            loops += kChunk;
            t1 = now_ns();
        }
        best = std::max(best, static_cast<double>(loops) * 1e6 / static_cast<double>(t1 - t0));
    }
    return best;
}

struct Options {
    double hz = 60.0;
    double duration_s = 10.0;
    std::uint64_t work_loops = 0;
    std::uint64_t render_loops = 0;
    bool render = false;
    std::string json_path;
    std::string raw_path;
    std::string start_file;
    std::size_t curve_points = 40;
};

// Polls every 5 ms: the wait is not measured, and the harness's own
// check takes far longer.
void wait_for_file(const std::string& path) {
    while (access(path.c_str(), F_OK) != 0) {
        if (errno != ENOENT)
            throw std::runtime_error(fmt::format("--start-file {}: {}", path, std::strerror(errno)));
        sleep_until(now_ns() + 5'000'000);
    }
}

// The calling thread's total wait for a CPU so far (ns): the second field of
// /proc/thread-self/schedstat, kept by the scheduler core for every class.
class RunDelay {
public:
    RunDelay() : fd_(open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC)) {
        if (fd_ < 0)
            throw std::runtime_error(fmt::format("/proc/thread-self/schedstat: {}", std::strerror(errno)));
    }
    ~RunDelay() { close(fd_); }
    RunDelay(const RunDelay&) = delete;
    RunDelay& operator=(const RunDelay&) = delete;

    std::int64_t read() const {
        char buf[96];
        const ssize_t n = pread(fd_, buf, sizeof(buf) - 1, 0);
        if (n <= 0)
            throw std::runtime_error(fmt::format("/proc/thread-self/schedstat: {}", std::strerror(errno)));
        buf[n] = '\0';
        unsigned long long on_cpu = 0, waited = 0;
        if (std::sscanf(buf, "%llu %llu", &on_cpu, &waited) != 2)
            throw std::runtime_error("/proc/thread-self/schedstat: unexpected format");
        return static_cast<std::int64_t>(waited);
    }

private:
    int fd_;
};

struct Samples {
    std::vector<std::int64_t> wakeup;
    std::vector<std::int64_t> wait;
    std::vector<std::int64_t> handoff;
    std::vector<std::int64_t> frame;
    DeadlineTally tally;
};

// The render thread: waits for a frame number, does its work, reports back.
// Hand-offs go through futex-backed std::atomic wait/notify.
class Renderer {
public:
    explicit Renderer(std::uint64_t loops) : loops_(loops), thread_([this] { run(); }) {}
    ~Renderer() {
        stop_.store(true);
        posted_.fetch_add(1);
        posted_.notify_one();
        thread_.join();
    }

    // Hands frame `n` (1, 2, ...) over; returns when it is done, with the
    // render thread's wake latency and the time it finished.
    void render(std::uint32_t n, std::int64_t& handoff_ns, std::int64_t& end_ns) {
        post_ns_.store(now_ns());
        posted_.store(n);
        posted_.notify_one();
        std::uint32_t seen = done_.load();
        while (seen != n) {
            done_.wait(seen);
            seen = done_.load();
        }
        handoff_ns = woke_ns_.load() - post_ns_.load();
        end_ns = end_ns_.load();
    }

private:
    void run() {
        std::uint32_t last = 0;
        for (;;) {
            std::uint32_t n = posted_.load();
            while (n == last) {
                posted_.wait(last);
                n = posted_.load();
            }
            if (stop_.load())
                return;
            woke_ns_.store(now_ns());
            spin(loops_);
            end_ns_.store(now_ns());
            last = n;
            done_.store(n);
            done_.notify_one();
        }
    }

    const std::uint64_t loops_;
    std::atomic<std::uint32_t> posted_{0};
    std::atomic<std::uint32_t> done_{0};
    std::atomic<std::int64_t> post_ns_{0};
    std::atomic<std::int64_t> woke_ns_{0};
    std::atomic<std::int64_t> end_ns_{0};
    std::atomic<bool> stop_{false};
    std::thread thread_;  // last: starts after the members it uses exist
};

Samples run_loop(const Options& o) {
    const auto period = static_cast<std::int64_t>(1e9 / o.hz);
    const auto frames_due = static_cast<std::size_t>(o.duration_s * o.hz);
    Samples s;
    s.wakeup.reserve(frames_due);
    s.wait.reserve(frames_due);
    s.frame.reserve(frames_due);
    if (o.render)
        s.handoff.reserve(frames_due);
    std::unique_ptr<Renderer> renderer;
    if (o.render)
        renderer = std::make_unique<Renderer>(o.render_loops);

    const std::int64_t start = now_ns() + period;
    const std::int64_t end = start + static_cast<std::int64_t>(frames_due) * period;
    std::int64_t target = start;
    std::uint32_t frame_no = 0;
    const RunDelay run_delay;
    while (target < end) {
        const std::int64_t waited_before = run_delay.read();
        sleep_until(target);
        const std::int64_t woke = now_ns();
        s.wakeup.push_back(woke - target);
        // No more than the wakeup itself: the excess is a preemption in the
        // few µs between the read above and the sleep, not this wakeup's wait.
        s.wait.push_back(std::min(run_delay.read() - waited_before, woke - target));
        spin(o.work_loops);
        std::int64_t frame_end = now_ns();
        if (renderer) {
            std::int64_t handoff = 0;
            renderer->render(++frame_no, handoff, frame_end);
            s.handoff.push_back(handoff);
        }
        s.frame.push_back(frame_end - target);
        s.tally.add_frame(target, frame_end, period);
        // Next target: one period on, skipping any the frame overran.
        const std::uint64_t overrun = frameloop::periods_overrun(frame_end - target, period);
        s.tally.skipped += overrun;
        target += static_cast<std::int64_t>(1 + overrun) * period;
    }
    return s;
}

nlohmann::json curve_json(const std::vector<std::int64_t>& samples, std::size_t points) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : frameloop::tail_curve(samples, points))
        out.push_back({p.q, static_cast<double>(p.value) / 1000.0});
    return out;
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    if (!out.flush())
        throw std::runtime_error("cannot write " + path);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"frameloop: wakeup latency, frame time and missed deadlines of a periodic frame loop"};
    Options o;
    bool calibrate = false;
    app.add_flag("--calibrate", calibrate, "print work-loop iterations per millisecond (as JSON) and exit");
    app.add_option("--hz", o.hz, "frames per second")->capture_default_str()->check(CLI::Range(1.0, 1000.0));
    app.add_option("-d,--duration", o.duration_s, "seconds of frames to run")
        ->capture_default_str()
        ->check(CLI::Range(0.1, 3600.0));
    app.add_option("-w,--work-loops", o.work_loops, "work-loop iterations per frame on the main thread")
        ->capture_default_str();
    app.add_flag("-r,--render", o.render, "hand each frame to a render thread");
    app.add_option("--render-loops", o.render_loops, "work-loop iterations per frame on the render thread")
        ->capture_default_str();
    app.add_option("-j,--json", o.json_path, "write the summary here (default: stdout)");
    app.add_option("--raw", o.raw_path, "write one line per frame: wakeup_ns frame_ns handoff_ns wait_ns");
    app.add_option("--start-file", o.start_file, "wait until this file exists before the first frame");
    app.add_option("--curve-points", o.curve_points, "points of the percentile curves in the summary")
        ->capture_default_str()
        ->check(CLI::Range(0, 1000));
    CLI11_PARSE(app, argc, argv);

    try {
        if (calibrate) {
            fmt::print("{}\n", nlohmann::json{{"loops_per_ms", calibrate_loops_per_ms()}}.dump());
            return 0;
        }
        if (!o.start_file.empty())
            wait_for_file(o.start_file);
        const Samples s = run_loop(o);

        nlohmann::json j;
        j["hz"] = o.hz;
        j["period_us"] = 1e6 / o.hz;
        j["duration_s"] = o.duration_s;
        j["work_loops"] = o.work_loops;
        j["render"] = o.render;
        j["render_loops"] = o.render_loops;
        j["frames"] = s.tally.frames;
        j["missed"] = s.tally.missed;
        j["skipped"] = s.tally.skipped;
        j["miss_ratio"] = s.tally.miss_ratio();
        j["wakeup_us"] = to_json_us(frameloop::summarize(s.wakeup));
        j["wait_us"] = to_json_us(frameloop::summarize(s.wait));
        j["frame_us"] = to_json_us(frameloop::summarize(s.frame));
        if (o.render)
            j["handoff_us"] = to_json_us(frameloop::summarize(s.handoff));
        j["wakeup_curve_us"] = curve_json(s.wakeup, o.curve_points);
        if (o.json_path.empty())
            fmt::print("{}\n", j.dump(1));
        else
            write_file(o.json_path, j.dump(1) + "\n");

        if (!o.raw_path.empty()) {
            std::string raw;
            for (std::size_t i = 0; i < s.wakeup.size(); ++i)
                raw += fmt::format("{} {} {} {}\n", s.wakeup[i], s.frame[i], o.render ? s.handoff[i] : -1, s.wait[i]);
            write_file(o.raw_path, raw);
        }
    } catch (const std::exception& e) {
        fmt::print(stderr, "frameloop: {}\n", e.what());
        return 1;
    }
    return 0;
}
