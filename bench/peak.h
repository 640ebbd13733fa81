// defines: measure_cpu_peak, the machine's practical f32 FMA throughput and memory bandwidth,
// measured rather than looked up, so "% of peak" means something on any machine (VMs included).
#pragma once

namespace trip::bench {

struct Peak {
  double gflops = 0;  // f32 FMA throughput, all threads
  double gbps = 0;    // large-array copy bandwidth (read + write), all threads
};

Peak measure_cpu_peak();

}  // namespace trip::bench

namespace trip {
using bench::measure_cpu_peak;
using bench::Peak;
}  // namespace trip
