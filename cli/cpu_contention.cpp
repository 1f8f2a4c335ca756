#include "cli/cpu_contention.h"

#include <dirent.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace gpt2::cli {

namespace {
int allowed_cpus() {
#ifdef __linux__
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
#endif
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? int(n) : 1;
}
}  // namespace

double CpuContention::run_queue_wait_fraction() const {
  return wall_s > 0 ? run_queue_wait_s / (wall_s * cpus) : 0;
}
double CpuContention::steal_fraction() const { return wall_s > 0 ? steal_s / (wall_s * cpus) : 0; }

CpuContentionMeter::CpuContentionMeter()
    : start_(std::chrono::steady_clock::now()), at_start_(read()) {}

CpuContention CpuContentionMeter::stop() const {
  const Counters now = read();
  CpuContention c;
  c.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  c.available = at_start_.available && now.available;
  c.cpus = allowed_cpus();
  if (c.available) {
    c.run_queue_wait_s = now.run_queue_wait_s - at_start_.run_queue_wait_s;
    c.steal_s = now.steal_s - at_start_.steal_s;
  }
  return c;
}

CpuContentionMeter::Counters CpuContentionMeter::read() {
  Counters c;
#ifdef __linux__
  DIR* dir = opendir("/proc/self/task");
  if (!dir) return c;
  long long wait_ns = 0;
  bool any = false;
  while (const dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    const std::string path = std::string("/proc/self/task/") + e->d_name + "/schedstat";
    if (std::FILE* f = std::fopen(path.c_str(), "r")) {
      long long on_cpu = 0, waiting = 0;
      if (std::fscanf(f, "%lld %lld", &on_cpu, &waiting) == 2) {
        wait_ns += waiting;
        any = true;
      }
      std::fclose(f);
    }  // a thread that ended meanwhile: its wait is lost with it
  }
  closedir(dir);
  long long ticks[8] = {};
  bool steal = false;
  if (std::FILE* f = std::fopen("/proc/stat", "r")) {
    steal = std::fscanf(f, "cpu %lld %lld %lld %lld %lld %lld %lld %lld", &ticks[0], &ticks[1],
                        &ticks[2], &ticks[3], &ticks[4], &ticks[5], &ticks[6], &ticks[7]) == 8;
    std::fclose(f);
  }
  const long hz = sysconf(_SC_CLK_TCK);
  c.run_queue_wait_s = wait_ns * 1e-9;
  c.steal_s = steal && hz > 0 ? double(ticks[7]) / hz : 0;
  c.available = any;
#endif
  return c;
}

}  // namespace gpt2::cli
