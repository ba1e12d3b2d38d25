// A persistent thread pool: the calling (JavaScript) thread and N-1 workers share each job's
// chunks through an atomic counter, so a worker that wakes late costs nothing but its share.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace distillery {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

class Pool {
 public:
  using ChunkFn = void (*)(void* ctx, int64_t chunk);

  static Pool& instance();

  // Number of threads that run a job, the caller included.
  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Stops the workers and starts n - 1 new ones (n >= 1).
  void resize(int n);

  // Runs fn(ctx, i) for every i in [0, chunks), on the caller and the workers.
  void run(int64_t chunks, ChunkFn fn, void* ctx);

  ~Pool() { stop(); }

 private:
  struct Job {
    ChunkFn fn;
    void* ctx;
    int64_t chunks;
    std::atomic<int64_t> next{0};
    std::atomic<int64_t> done{0};
  };

  void stop();
  void worker_loop();
  static void drain(Job* job);

  std::vector<std::thread> workers_;
  std::atomic<Job*> job_{nullptr};
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> active_{0};
  std::atomic<bool> stopping_{false};
  std::mutex mu_;  // guards sleepers_ and the condition variable
  std::condition_variable cv_;
  int sleepers_ = 0;
  std::mutex submit_;  // one job at a time; a second caller (another thread) runs serially
};

// Splits [0, n) into chunks of at least `grain` items and runs body(begin, end) on each.
template <class Body>
void parallel_for(int64_t n, int64_t grain, Body&& body) {
  Pool& pool = Pool::instance();
  const int64_t t = pool.threads();
  if (n <= 0) return;
  if (t == 1 || n < 2 * grain) {
    body(int64_t{0}, n);
    return;
  }
  int64_t chunks = n / grain;
  if (chunks > 4 * t) chunks = 4 * t;
  struct Ctx { Body* body; int64_t n; int64_t chunks; } ctx{&body, n, chunks};
  pool.run(chunks, [](void* p, int64_t i) {
    auto* c = static_cast<Ctx*>(p);
    const int64_t begin = c->n * i / c->chunks, end = c->n * (i + 1) / c->chunks;
    (*c->body)(begin, end);
  }, &ctx);
}

}  // namespace distillery
