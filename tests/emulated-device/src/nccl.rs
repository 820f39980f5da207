//! Emulated NCCL (`libnccl.so.2`): communicators over the emulated GPUs of this process,
//! collectives and send/recv that compute their real results on the host copies of device
//! memory (so a caller's correctness check is real) and take virtual time
//! `latency + size · busbw factor / configured busbw` (nccl-tests' size and factors, so a
//! caller measuring busbw reads back exactly the configured figure at large sizes).
//!
//! Strict as NCCL is: communicators must exist and belong to the device of the stream and
//! buffers, counts, types, operations, roots and peers are checked, `ncclGroupEnd` without
//! `ncclGroupStart` is `ncclInvalidUsage`, and the ranks of a communicator must issue matching
//! collectives (a mismatch is `ncclInvalidUsage` here; real NCCL would hang).
//! A collective runs when every rank of its communicator has issued it: at the outermost
//! `ncclGroupEnd`, or at the call outside a group.
//!
//! `ncclCommInitRankConfig` with `blocking = 0` (NCCL ≥ 2.14) is non-blocking as NCCL's is:
//! the communicator forms in the background and `ncclCommGetAsyncError` says
//! `ncclInProgress` until it has (a call on it before then is `ncclInvalidUsage`); the ranks
//! of one process are initialized inside one group and form at `ncclGroupEnd`; every
//! `ncclGroupEnd` (or call outside a group) touching a non-blocking communicator returns
//! `ncclInProgress`, so a caller must poll `ncclCommGetAsyncError` as NCCL requires.
//!
//! Configuration (read at first use):
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `GPUBENCH_EMU_NCCL_BUSBW_GBS` | bus bandwidth of every collective and pair (GB/s) | 100 |
//! | `GPUBENCH_EMU_NCCL_LATENCY_US` | latency of every collective or send/recv (µs) | 10 |
//! | `GPUBENCH_EMU_NCCL_VERSION` | what `ncclGetVersion` reports | 22807 (2.28.7) |
//! | `GPUBENCH_EMU_NCCL_SLOW_RANK=i`, `GPUBENCH_EMU_NCCL_SLOW_FACTOR=f` | fault: device i's link runs at f × busbw (default 0.5): its collectives and the pairs it is in | none |
//! | `GPUBENCH_EMU_NCCL_WRONG_SUM=1` | fault: reductions add 1 to every element of their result | off |
//! | `GPUBENCH_EMU_NCCL_HANG_INIT=1` | fault: a rank never joins: `ncclCommInitAll` / `ncclCommInitRank` block until the process ends; a non-blocking `ncclCommInitRankConfig` stays `ncclInProgress` until aborted | off |
//! | `GPUBENCH_EMU_NCCL_HANG_AFTER=N` | fault: after N calls, every collective or send/recv call blocks until its communicator is aborted (then `ncclRemoteError`) | off |
//!
//! The library exists under the name `libnccl.so.2` only when the test harness links it so;
//! without the link, gpubench finds no NCCL.

#![allow(non_snake_case, clippy::missing_safety_doc)]

use std::collections::{HashMap, VecDeque};
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::{Mutex, MutexGuard, OnceLock};

use crate::memory::Content;
use crate::nccl_net::{Pending, Remote};
use crate::State;

pub type NcclResult = c_int;
const SUCCESS: NcclResult = 0;
const UNHANDLED_CUDA_ERROR: NcclResult = 1;
const INVALID_ARGUMENT: NcclResult = 4;
const INVALID_USAGE: NcclResult = 5;
const IN_PROGRESS: NcclResult = 7;

struct Config {
    busbw_gbs: f64,
    latency_ns: f64,
    version: c_int,
    slow: Option<(u32, f64)>,
    wrong_sum: bool,
    hang_init: bool,
    hang_after: Option<u64>,
}

fn env_f64(name: &str, default: f64) -> f64 {
    match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| {
            eprintln!("gpubench emulated device: {name}={v} is not a number");
            std::process::abort()
        }),
        Err(_) => default,
    }
}

fn cfg() -> &'static Config {
    static C: OnceLock<Config> = OnceLock::new();
    C.get_or_init(|| Config {
        busbw_gbs: env_f64("GPUBENCH_EMU_NCCL_BUSBW_GBS", 100.0),
        latency_ns: env_f64("GPUBENCH_EMU_NCCL_LATENCY_US", 10.0) * 1e3,
        version: env_f64("GPUBENCH_EMU_NCCL_VERSION", 22807.0) as c_int,
        slow: std::env::var("GPUBENCH_EMU_NCCL_SLOW_RANK").ok().map(|v| {
            (
                v.parse().unwrap_or(0),
                env_f64("GPUBENCH_EMU_NCCL_SLOW_FACTOR", 0.5),
            )
        }),
        wrong_sum: std::env::var("GPUBENCH_EMU_NCCL_WRONG_SUM").is_ok_and(|v| v == "1"),
        hang_init: std::env::var("GPUBENCH_EMU_NCCL_HANG_INIT").is_ok_and(|v| v == "1"),
        hang_after: std::env::var("GPUBENCH_EMU_NCCL_HANG_AFTER")
            .ok()
            .map(|_| env_f64("GPUBENCH_EMU_NCCL_HANG_AFTER", 0.0) as u64),
    })
}

/// `ncclDataType_t` → element size.
pub(crate) fn elem_size(t: c_int) -> Option<u64> {
    Some(match t {
        0 | 1 => 1,
        2 | 3 => 4,
        4 | 5 => 8,
        6 | 9 => 2,
        7 => 4,
        8 => 8,
        _ => return None,
    })
}

fn decode(t: c_int, b: &[u8]) -> f64 {
    match t {
        0 => b[0] as i8 as f64,
        1 => b[0] as f64,
        2 => i32::from_le_bytes(b[..4].try_into().unwrap()) as f64,
        3 => u32::from_le_bytes(b[..4].try_into().unwrap()) as f64,
        4 => i64::from_le_bytes(b[..8].try_into().unwrap()) as f64,
        5 => u64::from_le_bytes(b[..8].try_into().unwrap()) as f64,
        6 => half::f16::from_le_bytes([b[0], b[1]]).to_f64(),
        7 => f32::from_le_bytes(b[..4].try_into().unwrap()) as f64,
        8 => f64::from_le_bytes(b[..8].try_into().unwrap()),
        _ => half::bf16::from_le_bytes([b[0], b[1]]).to_f64(),
    }
}

fn encode(t: c_int, v: f64, out: &mut Vec<u8>) {
    match t {
        0 => out.push(v as i8 as u8),
        1 => out.push(v as u8),
        2 => out.extend((v as i32).to_le_bytes()),
        3 => out.extend((v as u32).to_le_bytes()),
        4 => out.extend((v as i64).to_le_bytes()),
        5 => out.extend((v as u64).to_le_bytes()),
        6 => out.extend(half::f16::from_f64(v).to_le_bytes()),
        7 => out.extend((v as f32).to_le_bytes()),
        8 => out.extend(v.to_le_bytes()),
        _ => out.extend(half::bf16::from_f64(v).to_le_bytes()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CollKind {
    AllReduce,
    AllGather,
    ReduceScatter,
    Broadcast,
}

#[derive(Debug, Clone)]
pub(crate) struct CollCall {
    pub kind: CollKind,
    pub send: u64,
    pub recv: u64,
    pub count: u64,
    pub dtype: c_int,
    pub op: c_int,
    pub root: c_int,
    pub stream: u64,
    /// When the stream reaches the call (virtual ns).
    pub ready: f64,
}

struct Comm {
    device: u32,
    rank: u32,
    nranks: u32,
    clique: u64,
    /// The other ranks are in other processes (`ncclCommInitRank`).
    remote: Option<Remote>,
    /// `ncclInProgress` while it forms, then `ncclSuccess` (or the error that stopped it).
    state: NcclResult,
    /// Made with `ncclConfig_t.blocking = 0`.
    nonblocking: bool,
}

/// An `ncclCommInitRankConfig` inside a group, formed at the outermost `ncclGroupEnd`.
struct PendingInit {
    handle: u64,
    id: [c_char; 128],
    rank: u32,
    nranks: u32,
    device: u32,
}

/// `ncclConfig_t`: the fields every version since NCCL 2.14 starts with (NCCL copies `size`
/// bytes and fills what an older `version` lacks with defaults).
#[repr(C)]
pub struct NcclConfig {
    pub size: usize,
    pub magic: u32,
    pub version: u32,
    pub blocking: c_int,
}

/// `NCCL_CONFIG_INITIALIZER`'s magic.
const CONFIG_MAGIC: u32 = 0xcafe_beef;

#[derive(Default)]
struct Nccl {
    comms: HashMap<u64, Comm>,
    next: u64,
    group: u32,
    /// Per clique, per rank, the collectives issued and not run yet.
    queued: HashMap<u64, Vec<VecDeque<CollCall>>>,
    /// Per (clique, from, to): sends and receives not matched yet.
    sends: HashMap<(u64, u32, u32), VecDeque<CollCall>>,
    recvs: HashMap<(u64, u32, u32), VecDeque<CollCall>>,
    /// The first error met while running a group (reported by `ncclGroupEnd`).
    failed: NcclResult,
    /// Calls of cross-process communicators not completed yet, per communicator.
    remote_pending: Vec<(u64, Pending)>,
    /// Communicators initialized in the open group, formed at its end.
    pending_inits: Vec<PendingInit>,
    /// The open group touched a non-blocking communicator.
    group_nonblocking: bool,
}

/// Communicators never destroyed nor aborted, as (handle, device, rank, ranks), for the leak
/// report.
pub fn open_comms() -> Vec<(u64, u32, u32, u32)> {
    let mut v: Vec<_> = nccl()
        .comms
        .iter()
        .map(|(id, c)| (*id, c.device, c.rank, c.nranks))
        .collect();
    v.sort_unstable();
    v
}

fn nccl() -> MutexGuard<'static, Nccl> {
    static N: OnceLock<Mutex<Nccl>> = OnceLock::new();
    N.get_or_init(|| Mutex::new(Nccl::default()))
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

unsafe fn out<T>(p: *mut T, v: T) -> NcclResult {
    if p.is_null() {
        return INVALID_ARGUMENT;
    }
    // SAFETY: the caller passed room for one T.
    unsafe { p.write(v) };
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn ncclGetVersion(v: *mut c_int) -> NcclResult {
    unsafe { out(v, cfg().version) }
}

#[no_mangle]
pub extern "C" fn ncclGetErrorString(r: NcclResult) -> *const c_char {
    let s: &CStr = match r {
        0 => c"no error",
        1 => c"unhandled cuda error (run with NCCL_DEBUG=INFO for details)",
        2 => c"unhandled system error (run with NCCL_DEBUG=INFO for details)",
        3 => c"internal error - please report this issue to the NCCL developers",
        4 => c"invalid argument (run with NCCL_DEBUG=WARN for details)",
        5 => c"invalid usage (run with NCCL_DEBUG=WARN for details)",
        6 => c"remote process exited or there was a network error",
        7 => c"NCCL operation in progress",
        _ => c"unknown result code",
    };
    s.as_ptr()
}

#[no_mangle]
pub unsafe extern "C" fn ncclCommInitAll(
    comms: *mut *mut c_void,
    ndev: c_int,
    devlist: *const c_int,
) -> NcclResult {
    if comms.is_null() || ndev <= 0 {
        return INVALID_ARGUMENT;
    }
    crate::driver::cuInit(0);
    let count = crate::cfg().devices;
    let list: Vec<u32> = (0..ndev as usize)
        .map(|i| {
            if devlist.is_null() {
                i as i64
            } else {
                // SAFETY: the caller passed `ndev` device ordinals.
                unsafe { *devlist.add(i) as i64 }
            }
        })
        .map(|d| if d < 0 { u32::MAX } else { d as u32 })
        .collect();
    if list.iter().any(|d| *d >= count) {
        return INVALID_ARGUMENT;
    }
    let mut sorted = list.clone();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != list.len() {
        return INVALID_USAGE; // NCCL refuses two ranks on one GPU
    }
    if cfg().hang_init {
        // a rank that never joins: real NCCL waits forever; the caller must time out
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
    let mut n = nccl();
    n.next += 1;
    let clique = n.next;
    for (r, d) in list.iter().enumerate() {
        n.next += 1;
        let h = 0xcc00_0000_0000 | (n.next << 4);
        n.comms.insert(
            h,
            Comm {
                device: *d,
                rank: r as u32,
                nranks: ndev as u32,
                clique,
                remote: None,
                state: SUCCESS,
                nonblocking: false,
            },
        );
        // SAFETY: `comms` has room for `ndev` handles.
        unsafe { *comms.add(r) = h as *mut c_void };
    }
    n.queued
        .insert(clique, (0..ndev).map(|_| VecDeque::new()).collect());
    SUCCESS
}

/// `ncclUniqueId`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct UniqueId {
    pub internal: [c_char; 128],
}

#[no_mangle]
pub unsafe extern "C" fn ncclGetUniqueId(id: *mut UniqueId) -> NcclResult {
    if id.is_null() {
        return INVALID_ARGUMENT;
    }
    // SAFETY: the caller passed room for one id.
    let id = unsafe { &mut *id };
    crate::nccl_net::unique_id(&mut id.internal)
}

#[no_mangle]
pub unsafe extern "C" fn ncclCommInitRank(
    comm: *mut *mut c_void,
    nranks: c_int,
    id: UniqueId,
    rank: c_int,
) -> NcclResult {
    if comm.is_null() || nranks <= 0 || rank < 0 || rank >= nranks {
        return INVALID_ARGUMENT;
    }
    crate::driver::cuInit(0);
    // NCCL uses the calling thread's current device (device 0 when none was set)
    let device = {
        let g = crate::lock();
        g.as_ref()
            .and_then(crate::driver::current_device)
            .unwrap_or(0)
    };
    if cfg().hang_init {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
    // wait for the other ranks without holding any lock
    let remote = match crate::nccl_net::join(&id.internal, rank as u32, nranks as u32) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let mut n = nccl();
    n.next += 1;
    let clique = n.next;
    n.next += 1;
    let h = 0xcc00_0000_0000 | (n.next << 4);
    n.comms.insert(
        h,
        Comm {
            device,
            rank: rank as u32,
            nranks: nranks as u32,
            clique,
            remote: Some(remote),
            state: SUCCESS,
            nonblocking: false,
        },
    );
    // SAFETY: checked non-null above.
    unsafe { *comm = h as *mut c_void };
    SUCCESS
}

#[no_mangle]
pub unsafe extern "C" fn ncclCommInitRankConfig(
    comm: *mut *mut c_void,
    nranks: c_int,
    id: UniqueId,
    rank: c_int,
    config: *const NcclConfig,
) -> NcclResult {
    if comm.is_null() || nranks <= 0 || rank < 0 || rank >= nranks {
        return INVALID_ARGUMENT;
    }
    let blocking = if config.is_null() {
        true
    } else {
        // SAFETY: the caller passed a config of at least the 2.14 fields (checked by `size`).
        let c = unsafe { &*config };
        if c.magic != CONFIG_MAGIC || c.size < std::mem::size_of::<NcclConfig>() {
            return INVALID_ARGUMENT; // not made by NCCL_CONFIG_INITIALIZER
        }
        c.version < 21400 || c.blocking != 0
    };
    crate::driver::cuInit(0);
    let device = {
        let g = crate::lock();
        g.as_ref()
            .and_then(crate::driver::current_device)
            .unwrap_or(0)
    };
    let h = {
        let mut n = nccl();
        n.next += 1;
        let h = 0xcc00_0000_0000 | (n.next << 4);
        n.comms.insert(
            h,
            Comm {
                device,
                rank: rank as u32,
                nranks: nranks as u32,
                clique: 0,
                remote: None,
                state: IN_PROGRESS,
                nonblocking: !blocking,
            },
        );
        n.pending_inits.push(PendingInit {
            handle: h,
            id: id.internal,
            rank: rank as u32,
            nranks: nranks as u32,
            device,
        });
        if !blocking {
            n.group_nonblocking = true;
        }
        // SAFETY: checked non-null above.
        unsafe { *comm = h as *mut c_void };
        if n.group > 0 {
            return SUCCESS;
        }
        form_pending(&mut n);
        h
    };
    finish_init(&[h], blocking)
}

/// Forms the communicators initialized in the group that ends: the ranks of one id all in this
/// process become one clique now (unless the never-joining fault is set); a single rank of a
/// cross-process communicator joins the others in the background.
fn form_pending(n: &mut Nccl) {
    let pending = std::mem::take(&mut n.pending_inits);
    let mut ids: Vec<[c_char; 128]> = Vec::new();
    for p in &pending {
        if !ids.contains(&p.id) {
            ids.push(p.id);
        }
    }
    for id in ids {
        let of: Vec<&PendingInit> = pending.iter().filter(|p| p.id == id).collect();
        let nranks = of[0].nranks;
        let mut ranks: Vec<u32> = of.iter().map(|p| p.rank).collect();
        let mut devices: Vec<u32> = of.iter().map(|p| p.device).collect();
        ranks.sort_unstable();
        ranks.dedup();
        devices.sort_unstable();
        devices.dedup();
        let fail = |n: &mut Nccl, e: NcclResult| {
            for p in &of {
                if let Some(c) = n.comms.get_mut(&p.handle) {
                    c.state = e;
                }
            }
        };
        if ranks.len() != of.len()
            || devices.len() != of.len()
            || of.iter().any(|p| p.nranks != nranks)
        {
            fail(n, INVALID_USAGE); // two ranks alike, or on one GPU
            continue;
        }
        if cfg().hang_init {
            continue; // a rank never joins: they stay in progress
        }
        if of.len() as u32 == nranks {
            n.next += 1;
            let clique = n.next;
            for p in &of {
                let c = n.comms.get_mut(&p.handle).expect("made above");
                c.clique = clique;
                c.state = SUCCESS;
            }
            n.queued
                .insert(clique, (0..nranks).map(|_| VecDeque::new()).collect());
        } else if of.len() == 1 {
            let (h, rank) = (of[0].handle, of[0].rank);
            n.next += 1;
            let clique = n.next;
            std::thread::spawn(move || {
                let joined = crate::nccl_net::join(&id, rank, nranks);
                let mut n = nccl();
                if let Some(c) = n.comms.get_mut(&h) {
                    match joined {
                        Ok(remote) => {
                            c.remote = Some(remote);
                            c.clique = clique;
                            c.state = SUCCESS;
                        }
                        Err(e) => c.state = e,
                    }
                }
            });
        } else {
            eprintln!(
                "gpubench emulated device: {} of {nranks} ranks of one communicator in this process (only all or one are emulated)",
                of.len()
            );
            fail(n, INVALID_USAGE);
        }
    }
}

/// A blocking initialization waits until its communicators formed (holding no lock); a
/// non-blocking one returns `ncclInProgress` at once.
fn finish_init(handles: &[u64], blocking: bool) -> NcclResult {
    if !blocking {
        return IN_PROGRESS;
    }
    loop {
        let states: Vec<NcclResult> = {
            let n = nccl();
            handles
                .iter()
                .map(|h| n.comms.get(h).map_or(INVALID_ARGUMENT, |c| c.state))
                .collect()
        };
        if let Some(e) = states.iter().find(|s| **s != IN_PROGRESS && **s != SUCCESS) {
            return *e;
        }
        if states.iter().all(|s| *s == SUCCESS) {
            return SUCCESS;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

fn remove(comm: *mut c_void) -> NcclResult {
    match nccl().comms.remove(&(comm as u64)) {
        Some(_) => SUCCESS,
        None => INVALID_ARGUMENT,
    }
}

#[no_mangle]
pub extern "C" fn ncclCommDestroy(comm: *mut c_void) -> NcclResult {
    remove(comm)
}

#[no_mangle]
pub extern "C" fn ncclCommAbort(comm: *mut c_void) -> NcclResult {
    remove(comm)
}

#[no_mangle]
pub unsafe extern "C" fn ncclCommGetAsyncError(
    comm: *mut c_void,
    r: *mut NcclResult,
) -> NcclResult {
    let state = match nccl().comms.get(&(comm as u64)) {
        Some(c) => c.state,
        None => return INVALID_ARGUMENT,
    };
    unsafe { out(r, state) }
}

#[no_mangle]
pub extern "C" fn ncclGroupStart() -> NcclResult {
    nccl().group += 1;
    SUCCESS
}

#[no_mangle]
pub extern "C" fn ncclGroupEnd() -> NcclResult {
    let mut n = nccl();
    if n.group == 0 {
        return INVALID_USAGE;
    }
    n.group -= 1;
    if n.group > 0 {
        return SUCCESS;
    }
    let inits: Vec<(u64, bool)> = n
        .pending_inits
        .iter()
        .map(|p| {
            (
                p.handle,
                n.comms.get(&p.handle).is_some_and(|c| !c.nonblocking),
            )
        })
        .collect();
    form_pending(&mut n);
    run_ready(&mut n);
    let r = std::mem::replace(&mut n.failed, SUCCESS);
    let nonblocking = std::mem::take(&mut n.group_nonblocking);
    if r != SUCCESS {
        return r;
    }
    let blocking: Vec<u64> = inits.iter().filter(|i| i.1).map(|i| i.0).collect();
    drop(n);
    if !blocking.is_empty() {
        let b = finish_init(&blocking, true);
        if b != SUCCESS {
            return b;
        }
    }
    if nonblocking {
        IN_PROGRESS
    } else {
        SUCCESS
    }
}

/// Checks a call's comm, stream and buffers; returns (clique, rank, nranks, device, stream id,
/// ready time) after charging the launch cost on the stream.
#[allow(clippy::too_many_arguments)]
fn admit(
    n: &Nccl,
    s: &mut State,
    comm: *mut c_void,
    stream: *mut c_void,
    dtype: c_int,
    bufs: &[(u64, u64)],
) -> Result<(u64, u32, u32, u64, f64), NcclResult> {
    let c = n.comms.get(&(comm as u64)).ok_or(INVALID_ARGUMENT)?;
    if c.state != SUCCESS {
        return Err(INVALID_USAGE); // still forming (or failed to)
    }
    let size = elem_size(dtype).ok_or(INVALID_ARGUMENT)?;
    let sid = crate::driver::stream_of(s, c.device, stream as u64).map_err(|_| INVALID_ARGUMENT)?;
    if s.devices[c.device as usize].lost {
        return Err(UNHANDLED_CUDA_ERROR);
    }
    for &(addr, count) in bufs {
        let len = count * size;
        if len == 0 {
            continue;
        }
        match s.mem.find(addr, len) {
            Ok((_, a)) if a.device == c.device => {}
            _ => return Err(INVALID_ARGUMENT),
        }
    }
    let start = s.enqueue(sid, 0.0, None);
    let ready = start.unwrap_or(s.streams[&sid].free_at);
    Ok((c.clique, c.rank, c.nranks, sid, ready))
}

/// The `GPUBENCH_EMU_NCCL_HANG_AFTER` fault: past the limit, blocks (holding no lock) until
/// `comm` is aborted, and returns `ncclRemoteError`; `None` otherwise.
fn hang(comm: *mut c_void) -> Option<NcclResult> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let limit = cfg().hang_after?;
    if CALLS.fetch_add(1, Ordering::SeqCst) < limit {
        return None;
    }
    while nccl().comms.contains_key(&(comm as u64)) {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    Some(6)
}

#[allow(clippy::too_many_arguments)]
fn collective(
    kind: CollKind,
    send: *const c_void,
    recv: *mut c_void,
    count: usize,
    dtype: c_int,
    op: c_int,
    root: c_int,
    comm: *mut c_void,
    stream: *mut c_void,
) -> NcclResult {
    if let Some(r) = hang(comm) {
        return r;
    }
    let mut n = nccl();
    let mut g = crate::lock();
    let Some(s) = g.as_mut() else {
        return UNHANDLED_CUDA_ERROR;
    };
    if !(0..=4).contains(&op) {
        return INVALID_ARGUMENT;
    }
    let nranks = match n.comms.get(&(comm as u64)) {
        Some(c) => c.nranks as u64,
        None => return INVALID_ARGUMENT,
    };
    if root < 0 || root as u64 >= nranks {
        return INVALID_ARGUMENT;
    }
    let count = count as u64;
    let (inc, outc) = match kind {
        CollKind::AllReduce | CollKind::Broadcast => (count, count),
        CollKind::AllGather => (count, count * nranks),
        CollKind::ReduceScatter => (count * nranks, count),
    };
    let bufs = [(send as u64, inc), (recv as u64, outc)];
    let (clique, rank, _, sid, ready) = match admit(&n, s, comm, stream, dtype, &bufs) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let call = CollCall {
        kind,
        send: send as u64,
        recv: recv as u64,
        count,
        dtype,
        op,
        root,
        stream: sid,
        ready,
    };
    let nonblocking = n.comms[&(comm as u64)].nonblocking;
    n.group_nonblocking |= nonblocking;
    if n.comms[&(comm as u64)].remote.is_some() {
        n.remote_pending.push((comm as u64, Pending::Coll(call)));
    } else {
        n.queued.get_mut(&clique).expect("made with the comm")[rank as usize].push_back(call);
    }
    drop(g);
    if n.group == 0 {
        return end_call(&mut n);
    }
    SUCCESS
}

/// A call outside a group: runs what is ready; `ncclInProgress` on a non-blocking
/// communicator that succeeded.
fn end_call(n: &mut Nccl) -> NcclResult {
    run_ready(n);
    let r = std::mem::replace(&mut n.failed, SUCCESS);
    let nonblocking = std::mem::take(&mut n.group_nonblocking);
    if r == SUCCESS && nonblocking {
        IN_PROGRESS
    } else {
        r
    }
}

fn p2p(
    is_send: bool,
    buf: *mut c_void,
    count: usize,
    dtype: c_int,
    peer: c_int,
    comm: *mut c_void,
    stream: *mut c_void,
) -> NcclResult {
    if let Some(r) = hang(comm) {
        return r;
    }
    let mut n = nccl();
    let mut g = crate::lock();
    let Some(s) = g.as_mut() else {
        return UNHANDLED_CUDA_ERROR;
    };
    let (rank, nranks) = match n.comms.get(&(comm as u64)) {
        Some(c) => (c.rank, c.nranks),
        None => return INVALID_ARGUMENT,
    };
    if peer < 0 || peer as u32 >= nranks || peer as u32 == rank {
        return INVALID_ARGUMENT;
    }
    let (clique, _, _, sid, ready) =
        match admit(&n, s, comm, stream, dtype, &[(buf as u64, count as u64)]) {
            Ok(x) => x,
            Err(e) => return e,
        };
    let call = CollCall {
        kind: CollKind::Broadcast,
        send: buf as u64,
        recv: buf as u64,
        count: count as u64,
        dtype,
        op: 0,
        root: 0,
        stream: sid,
        ready,
    };
    n.group_nonblocking |= n.comms[&(comm as u64)].nonblocking;
    if n.comms[&(comm as u64)].remote.is_some() {
        let p = if is_send {
            Pending::Send(peer as u32, call)
        } else {
            Pending::Recv(peer as u32, call)
        };
        n.remote_pending.push((comm as u64, p));
        drop(g);
        if n.group == 0 {
            return end_call(&mut n);
        }
        return SUCCESS;
    }
    let key = if is_send {
        (clique, rank, peer as u32)
    } else {
        (clique, peer as u32, rank)
    };
    let q = if is_send { &mut n.sends } else { &mut n.recvs };
    q.entry(key).or_default().push_back(call);
    drop(g);
    if n.group == 0 {
        return end_call(&mut n);
    }
    SUCCESS
}

/// nccl-tests' size and busbw factor of a collective.
fn size_factor(kind: CollKind, count: u64, esize: u64, n: u64) -> (u64, f64) {
    let nf = n as f64;
    match kind {
        CollKind::AllReduce => (count * esize, 2.0 * (nf - 1.0) / nf),
        CollKind::AllGather | CollKind::ReduceScatter => (count * esize * n, (nf - 1.0) / nf),
        CollKind::Broadcast => (count * esize, 1.0),
    }
}

fn busbw_for(devices: &[u32]) -> f64 {
    let c = cfg();
    match c.slow {
        Some((d, f)) if devices.contains(&d) => c.busbw_gbs * f,
        _ => c.busbw_gbs,
    }
}

/// Runs every collective all ranks have issued and every matched send/recv pair.
fn run_ready(n: &mut Nccl) {
    // cross-process communicators first (they wait on other processes: no state lock held)
    let pending = std::mem::take(&mut n.remote_pending);
    let mut by_comm: Vec<(u64, Vec<Pending>)> = Vec::new();
    for (c, p) in pending {
        match by_comm.iter_mut().find(|x| x.0 == c) {
            Some(x) => x.1.push(p),
            None => by_comm.push((c, vec![p])),
        }
    }
    for (c, ps) in by_comm {
        let Some(comm) = n.comms.get_mut(&c) else {
            n.failed = INVALID_ARGUMENT;
            continue;
        };
        let (rank, nranks) = (comm.rank, comm.nranks);
        let remote = comm.remote.as_mut().expect("queued as remote");
        let r = crate::nccl_net::run(remote, rank, nranks, ps);
        if r != SUCCESS && n.failed == SUCCESS {
            n.failed = r;
        }
    }
    let mut g = crate::lock();
    let Some(s) = g.as_mut() else {
        n.failed = UNHANDLED_CUDA_ERROR;
        return;
    };
    let devices_of = |n: &Nccl, clique: u64| -> Vec<u32> {
        let mut v: Vec<(u32, u32)> = n
            .comms
            .values()
            .filter(|c| c.clique == clique)
            .map(|c| (c.rank, c.device))
            .collect();
        v.sort_unstable();
        v.into_iter().map(|x| x.1).collect()
    };
    let cliques: Vec<u64> = n.queued.keys().copied().collect();
    for clique in cliques {
        loop {
            let q = &n.queued[&clique];
            if q.iter().any(|r| r.is_empty()) {
                break;
            }
            let calls: Vec<CollCall> = n
                .queued
                .get_mut(&clique)
                .expect("listed")
                .iter_mut()
                .map(|r| r.pop_front().expect("checked"))
                .collect();
            let c0 = &calls[0];
            if calls.iter().any(|c| {
                (c.kind, c.count, c.dtype, c.op, c.root)
                    != (c0.kind, c0.count, c0.dtype, c0.op, c0.root)
            }) {
                n.failed = INVALID_USAGE;
                continue;
            }
            let devs = devices_of(n, clique);
            if let Err(e) = run_collective(s, &calls, &devs) {
                n.failed = e;
            }
        }
    }
    let keys: Vec<(u64, u32, u32)> = n.sends.keys().copied().collect();
    for key in keys {
        loop {
            let ready = n.sends.get(&key).is_some_and(|q| !q.is_empty())
                && n.recvs.get(&key).is_some_and(|q| !q.is_empty());
            if !ready {
                break;
            }
            let snd = n.sends.get_mut(&key).unwrap().pop_front().unwrap();
            let rcv = n.recvs.get_mut(&key).unwrap().pop_front().unwrap();
            if (snd.count, snd.dtype) != (rcv.count, rcv.dtype) {
                n.failed = INVALID_USAGE;
                continue;
            }
            let devs = devices_of(n, key.0);
            let pair = [devs[key.1 as usize], devs[key.2 as usize]];
            let esize = elem_size(snd.dtype).expect("checked");
            let bytes = snd.count * esize;
            let dur = duration_p2p(bytes, &pair);
            let start = snd.ready.max(rcv.ready);
            for sid in [snd.stream, rcv.stream] {
                let st = s.streams.get_mut(&sid).expect("checked at the call");
                st.free_at = st.free_at.max(start + dur);
            }
            if bytes > 0 && s.mem.copy(snd.send, rcv.recv, bytes).is_err() {
                n.failed = INVALID_ARGUMENT;
            }
        }
    }
}

fn run_collective(s: &mut State, calls: &[CollCall], devs: &[u32]) -> Result<(), NcclResult> {
    let c0 = &calls[0];
    let nr = calls.len() as u64;
    let esize = elem_size(c0.dtype).expect("checked");
    let dur = duration(c0, nr, devs);
    let start = calls.iter().map(|c| c.ready).fold(0.0, f64::max);
    for c in calls {
        let st = s.streams.get_mut(&c.stream).expect("checked at the call");
        st.free_at = st.free_at.max(start + dur);
    }
    let inputs: Vec<Vec<u8>> = calls
        .iter()
        .map(|c| s.mem.read(c.send, input_count(c0, nr) * esize))
        .collect::<Result<_, _>>()
        .map_err(|_| INVALID_ARGUMENT)?;
    for (r, c) in calls.iter().enumerate() {
        let o = output(c0, &inputs, r as u64);
        let len = o.len() as u64;
        s.mem
            .store(c.recv, len, Content::Bytes(o))
            .map_err(|_| INVALID_ARGUMENT)?;
    }
    Ok(())
}

/// Virtual time of a send/recv of `bytes` between `devs`.
pub(crate) fn duration_p2p(bytes: u64, devs: &[u32]) -> f64 {
    cfg().latency_ns + bytes as f64 / busbw_for(devs)
}

/// Virtual time of collective `c` over `nr` ranks on `devs`.
pub(crate) fn duration(c: &CollCall, nr: u64, devs: &[u32]) -> f64 {
    let esize = elem_size(c.dtype).expect("checked");
    let (size, factor) = size_factor(c.kind, c.count, esize, nr);
    cfg().latency_ns + size as f64 * factor / busbw_for(devs)
}

/// Elements each rank sends in collective `c` over `nr` ranks.
pub(crate) fn input_count(c: &CollCall, nr: u64) -> u64 {
    match c.kind {
        CollKind::ReduceScatter => c.count * nr,
        _ => c.count,
    }
}

/// What rank `r` receives from collective `c`, given every rank's input.
pub(crate) fn output(c: &CollCall, inputs: &[Vec<u8>], r: u64) -> Vec<u8> {
    let nr = inputs.len() as u64;
    let esize = elem_size(c.dtype).expect("checked");
    let count = c.count;
    let reduce = |range: std::ops::Range<u64>| -> Vec<u8> {
        let mut out = Vec::with_capacity(((range.end - range.start) * esize) as usize);
        for i in range {
            let o = (i * esize) as usize;
            let vals = inputs
                .iter()
                .map(|b| decode(c.dtype, &b[o..o + esize as usize]));
            let mut v = match c.op {
                1 => vals.product(),
                2 => vals.fold(f64::MIN, f64::max),
                3 => vals.fold(f64::MAX, f64::min),
                _ => vals.sum::<f64>(),
            };
            if c.op == 4 {
                v /= nr as f64;
            }
            if cfg().wrong_sum {
                v += 1.0;
            }
            encode(c.dtype, v, &mut out);
        }
        out
    };
    match c.kind {
        CollKind::AllReduce => reduce(0..count),
        CollKind::ReduceScatter => reduce(r * count..(r + 1) * count),
        CollKind::AllGather => inputs.concat(),
        CollKind::Broadcast => inputs[c.root as usize].clone(),
    }
}

#[no_mangle]
pub unsafe extern "C" fn ncclAllReduce(
    send: *const c_void,
    recv: *mut c_void,
    count: usize,
    dtype: c_int,
    op: c_int,
    comm: *mut c_void,
    stream: *mut c_void,
) -> NcclResult {
    collective(
        CollKind::AllReduce,
        send,
        recv,
        count,
        dtype,
        op,
        0,
        comm,
        stream,
    )
}

#[no_mangle]
pub unsafe extern "C" fn ncclAllGather(
    send: *const c_void,
    recv: *mut c_void,
    count: usize,
    dtype: c_int,
    comm: *mut c_void,
    stream: *mut c_void,
) -> NcclResult {
    collective(
        CollKind::AllGather,
        send,
        recv,
        count,
        dtype,
        0,
        0,
        comm,
        stream,
    )
}

#[no_mangle]
pub unsafe extern "C" fn ncclReduceScatter(
    send: *const c_void,
    recv: *mut c_void,
    count: usize,
    dtype: c_int,
    op: c_int,
    comm: *mut c_void,
    stream: *mut c_void,
) -> NcclResult {
    collective(
        CollKind::ReduceScatter,
        send,
        recv,
        count,
        dtype,
        op,
        0,
        comm,
        stream,
    )
}

#[no_mangle]
pub unsafe extern "C" fn ncclBroadcast(
    send: *const c_void,
    recv: *mut c_void,
    count: usize,
    dtype: c_int,
    root: c_int,
    comm: *mut c_void,
    stream: *mut c_void,
) -> NcclResult {
    collective(
        CollKind::Broadcast,
        send,
        recv,
        count,
        dtype,
        0,
        root,
        comm,
        stream,
    )
}

#[no_mangle]
pub unsafe extern "C" fn ncclSend(
    buf: *const c_void,
    count: usize,
    dtype: c_int,
    peer: c_int,
    comm: *mut c_void,
    stream: *mut c_void,
) -> NcclResult {
    p2p(true, buf as *mut c_void, count, dtype, peer, comm, stream)
}

#[no_mangle]
pub unsafe extern "C" fn ncclRecv(
    buf: *mut c_void,
    count: usize,
    dtype: c_int,
    peer: c_int,
    comm: *mut c_void,
    stream: *mut c_void,
) -> NcclResult {
    p2p(false, buf, count, dtype, peer, comm, stream)
}
