//! The emulated NCCL's non-blocking communicators (`ncclCommInitRankConfig`, NCCL ≥ 2.14),
//! through its C entry points: a config not made by `NCCL_CONFIG_INITIALIZER` refused, a
//! non-blocking initialization answering `ncclInProgress` and polled to success, a
//! communicator still forming refused for calls and aborted, and a blocking one formed at once.

use std::ffi::c_void;
use std::ptr::null_mut;

use gpubench_emulated_device::*;

const SUCCESS: i32 = 0;
const INVALID_ARGUMENT: i32 = 4;
const INVALID_USAGE: i32 = 5;
const IN_PROGRESS: i32 = 7;

fn config(blocking: i32) -> NcclConfig {
    NcclConfig {
        size: std::mem::size_of::<NcclConfig>(),
        magic: 0xcafe_beef,
        version: 21400,
        blocking,
    }
}

fn unique_id() -> UniqueId {
    let mut id = UniqueId { internal: [0; 128] };
    assert_eq!(unsafe { ncclGetUniqueId(&mut id) }, SUCCESS);
    id
}

fn state(comm: *mut c_void) -> i32 {
    let mut r = -1;
    let s = unsafe { ncclCommGetAsyncError(comm, &mut r) };
    if s != SUCCESS {
        s
    } else {
        r
    }
}

#[test]
fn non_blocking_communicators_answer_in_progress_until_formed() {
    let mut c = null_mut();
    // not made by NCCL_CONFIG_INITIALIZER
    let mut bad = config(0);
    bad.magic = 0;
    assert_eq!(
        unsafe { ncclCommInitRankConfig(&mut c, 1, unique_id(), 0, &bad) },
        INVALID_ARGUMENT
    );

    // one rank in a group: formed at the group's end, which answers "in progress"
    assert_eq!(ncclGroupStart(), SUCCESS);
    assert_eq!(
        unsafe { ncclCommInitRankConfig(&mut c, 1, unique_id(), 0, &config(0)) },
        SUCCESS
    );
    assert_eq!(state(c), IN_PROGRESS);
    assert_eq!(ncclGroupEnd(), IN_PROGRESS);
    assert_eq!(state(c), SUCCESS);
    assert_eq!(ncclCommDestroy(c), SUCCESS);

    // rank 0 of 2, the other never joins: in progress, calls refused, then aborted
    let mut alone = null_mut();
    assert_eq!(
        unsafe { ncclCommInitRankConfig(&mut alone, 2, unique_id(), 0, &config(0)) },
        IN_PROGRESS
    );
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(state(alone), IN_PROGRESS);
    let r = unsafe { ncclAllReduce(null_mut(), null_mut(), 1, 7, 0, alone, null_mut()) };
    assert_eq!(r, INVALID_USAGE);
    assert_eq!(ncclCommAbort(alone), SUCCESS);
    assert_eq!(state(alone), INVALID_ARGUMENT);

    // blocking: formed when the call returns
    let mut b = null_mut();
    assert_eq!(
        unsafe { ncclCommInitRankConfig(&mut b, 1, unique_id(), 0, &config(1)) },
        SUCCESS
    );
    assert_eq!(state(b), SUCCESS);
    assert_eq!(ncclCommDestroy(b), SUCCESS);
    assert!(open_comms().is_empty());
}
