#include "pool.h"

#include <cstdlib>
#include <sched.h>

namespace distillery {

namespace {
// Some tens of microseconds of spinning (PAUSE is 40-140 cycles) before a worker sleeps: long enough
// to catch the next kernel of a burst, short enough not to steal a shared core from other processes.
constexpr int kSpin = 2000;

int default_threads() {
  if (const char* env = std::getenv("DISTILLERY_NATIVE_THREADS")) {
    const int n = std::atoi(env);
    if (n >= 1 && n <= 256) return n;
  }
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n >= 1) return n;
  }
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}
}  // namespace

Pool& Pool::instance() {
  // Leaked on purpose: joining threads from a static destructor at process exit can deadlock.
  static Pool* pool = [] {
    auto* p = new Pool();
    p->resize(default_threads());
    return p;
  }();
  return *pool;
}

void Pool::resize(int n) {
  std::lock_guard<std::mutex> guard(submit_);
  stop();
  stopping_.store(false);
  for (int i = 1; i < n; ++i) workers_.emplace_back([this] { worker_loop(); });
}

void Pool::stop() {
  stopping_.store(true);
  {
    std::lock_guard<std::mutex> lock(mu_);
    cv_.notify_all();
  }
  for (auto& w : workers_) w.join();
  workers_.clear();
}

void Pool::drain(Job* job) {
  for (;;) {
    const int64_t i = job->next.fetch_add(1, std::memory_order_relaxed);
    if (i >= job->chunks) return;
    job->fn(job->ctx, i);
    job->done.fetch_add(1, std::memory_order_release);
  }
}

void Pool::worker_loop() {
  uint64_t seen = generation_.load();
  for (;;) {
    int spins = 0;
    while (generation_.load(std::memory_order_acquire) == seen && !stopping_.load(std::memory_order_relaxed)) {
      if (++spins < kSpin) {
        cpu_relax();
        continue;
      }
      std::unique_lock<std::mutex> lock(mu_);
      ++sleepers_;
      cv_.wait(lock, [&] { return generation_.load() != seen || stopping_.load(); });
      --sleepers_;
    }
    if (stopping_.load()) return;
    seen = generation_.load(std::memory_order_acquire);
    active_.fetch_add(1);
    if (Job* job = job_.load()) drain(job);
    active_.fetch_sub(1);
  }
}

void Pool::run(int64_t chunks, ChunkFn fn, void* ctx) {
  std::unique_lock<std::mutex> submit(submit_, std::try_to_lock);
  if (!submit.owns_lock() || workers_.empty() || chunks <= 1) {
    for (int64_t i = 0; i < chunks; ++i) fn(ctx, i);
    return;
  }
  Job job;
  job.fn = fn;
  job.ctx = ctx;
  job.chunks = chunks;
  job_.store(&job);
  generation_.fetch_add(1, std::memory_order_release);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (sleepers_ > 0) cv_.notify_all();
  }
  drain(&job);
  for (int spins = 0; job.done.load(std::memory_order_acquire) < chunks; ++spins) {
    if (spins < kSpin) cpu_relax(); else sched_yield();
  }
  // A worker may still be between seeing the new generation and finding no chunk left.
  job_.store(nullptr);
  for (int spins = 0; active_.load() != 0; ++spins) {
    if (spins < kSpin) cpu_relax(); else sched_yield();
  }
}

}  // namespace distillery
