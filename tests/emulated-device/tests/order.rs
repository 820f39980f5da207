//! Call-order rules, in a process of their own (the emulator's state is per process): nothing
//! works before `cuInit`, and context-dependent calls need a current context.

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
    }
}
