//! Call-order rules, in a process of their own (the emulator's state is per process): nothing
//! works before `cuInit`, and context-dependent calls need a current context; and the leak
//! report lists exactly what was not released.

use std::ptr::null_mut;

use gpubench_emulated_device::*;

#[test]
fn init_first_then_a_current_context() {
    let mut n = 0;
    let mut p = 0u64;
    unsafe {
        assert_eq!(
            cuDeviceGetCount(&mut n),
            3,
            "CUDA_ERROR_NOT_INITIALIZED before cuInit"
        );
        // the driver version needs no cuInit
        let mut v = 0;
        assert_eq!(cuDriverGetVersion(&mut v), 0);
        assert_eq!(v, 13000);
        assert_eq!(cuInit(0), 0);
        assert_eq!(cuDeviceGetCount(&mut n), 0);
        assert_eq!(n, 1);
        assert_eq!(
            cuMemAlloc_v2(&mut p, 256),
            201,
            "CUDA_ERROR_INVALID_CONTEXT"
        );
        let mut ctx = null_mut();
        assert_eq!(cuDevicePrimaryCtxRetain(&mut ctx, 0), 0);
        assert_eq!(cuCtxSetCurrent(ctx), 0);
        assert_eq!(cuMemAlloc_v2(&mut p, 256), 0);
        assert_eq!(p % 256, 0);
        assert_eq!(cuMemFree_v2(p), 0);
        assert_eq!(
            cuMemFree_v2(p),
            1,
            "freeing twice: CUDA_ERROR_INVALID_VALUE"
        );
        assert_eq!(cuDevicePrimaryCtxRelease_v2(0), 0);
        assert_eq!(
            cuMemAlloc_v2(&mut p, 256),
            201,
            "released context is not usable"
        );
        let mut dev = 0;
        assert_eq!(cuDeviceGet(&mut dev, 1), 101, "CUDA_ERROR_INVALID_DEVICE");
        assert_eq!(leak_report(), "", "everything above was released");
        // what is not released is reported, one line each
        assert_eq!(cuDevicePrimaryCtxRetain(&mut ctx, 0), 0);
        assert_eq!(cuCtxSetCurrent(ctx), 0);
        let mut stream = null_mut();
        let mut event = null_mut();
        assert_eq!(cuStreamCreate(&mut stream, 1), 0);
        assert_eq!(cuEventCreate(&mut event, 0), 0);
        assert_eq!(cuMemAllocAsync(&mut p, 1000, stream), 0);
        let mut lt = null_mut();
        assert_eq!(cublasLtCreate(&mut lt), 0);
        let report = leak_report();
        for what in [
            "leak: device allocation",
            "(1000 bytes)",
            "leak: event",
            "leak: stream",
            "leak: primary context of device 0",
            "leak: cuBLASLt handle",
        ] {
            assert!(report.contains(what), "{what} missing from:\n{report}");
        }
        assert_eq!(report.lines().count(), 5, "{report}");
        assert_eq!(cublasLtDestroy(lt), 0);
        assert_eq!(cuMemFreeAsync(p, stream), 0);
        assert_eq!(cuEventDestroy_v2(event), 0);
        assert_eq!(cuStreamDestroy_v2(stream), 0);
        assert_eq!(cuDevicePrimaryCtxRelease_v2(0), 0);
        assert_eq!(leak_report(), "");
    }
}
