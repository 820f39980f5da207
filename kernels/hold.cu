// Holds the backend's stream while the host queues a batch of timed work (compiled at run time
// with NVRTC).
//
// Why: CUDA events time the stream, not the work. When a batch starts on an idle stream, the
// first events and products run as fast as the host queues them, so each event pair measures
// the host's enqueue cost (a few microseconds) instead of a short product. Launching this
// kernel first keeps the stream busy until the host has queued the whole batch and set
// `*release`; the queued work then runs back to back, as nvbench's blocking kernel does
// (docs/measuring.md §4.7).
//
// Parameters (launch with one block of one thread):
//   release    host-mapped (pinned, CU_MEMHOSTALLOC_DEVICEMAP) flag the host sets to 1;
//   timeout_ns give up after this long (%globaltimer nanoseconds), so that a host blocked in
//              an enqueue call (a full launch queue) cannot deadlock the stream;
//   timed_out  host-mapped flag set to 1 when the timeout expired: the batch's times are then
//              invalid (the host was not done queuing when the work started).
//
// The work queued behind a hold must not launch a kernel for the first time: with CUDA's lazy
// module loading, that first launch waits for the device to be idle, i.e. for this kernel's
// timeout. The backend runs every kernel (fills, copies, each cuBLASLt algorithm) once before
// holding the stream for it.

extern "C" __global__ void hold_stream(const volatile unsigned int* release,
                                       unsigned long long timeout_ns,
                                       volatile unsigned int* timed_out) {
    unsigned long long start;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
    while (*release == 0u) {
        unsigned long long now;
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
        if (now - start > timeout_ns) {
            *timed_out = 1u;
            __threadfence_system();
            return;
        }
#if __CUDA_ARCH__ >= 700
        __nanosleep(1000);
#endif
    }
}
