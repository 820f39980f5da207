//! One process driving several GPUs of a node through NCCL (one non-blocking
//! `ncclCommInitRankConfig` per GPU in one group): every operation at every size, warm-up then
//! timed iterations between CUDA events on each GPU's stream, the slowest GPU's time, and each
//! result checked against the value it must hold.
//!
//! Every wait has a timeout: a communicator that does not form in time, or a collective that
//! does not complete, is aborted (`ncclCommAbort`) and reported, never waited on forever. The
//! communicators are non-blocking (`ncclConfig_t.blocking = 0`), so their creation returns at
//! once and is polled with `ncclCommGetAsyncError`; a call may answer `ncclInProgress`, and
//! is then polled the same way.

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use cudarc::driver::sys::{self, CUevent_flags};
use cudarc::driver::{CudaContext, CudaEvent, CudaSlice, CudaStream, DevicePtr};
use half::bf16;

use super::busbw::{self, Op};
use super::nccl::{self, Comm, Nccl};

/// Element types measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Elem {
    Bf16,
    Fp32,
}

impl Elem {
    pub fn size(self) -> u64 {
        match self {
            Elem::Bf16 => 2,
            Elem::Fp32 => 4,
        }
    }
    fn nccl(self) -> i32 {
        match self {
            Elem::Bf16 => 9,
            Elem::Fp32 => 7,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Elem::Bf16 => "bf16",
            Elem::Fp32 => "fp32",
        }
    }
    /// The bit pattern of `v` in this type (`v` a small integer, exact in both).
    fn bits(self, v: f32) -> u32 {
        match self {
            Elem::Bf16 => bf16::from_f32(v).to_bits() as u32,
            Elem::Fp32 => v.to_bits(),
        }
    }
    fn decode(self, b: &[u8]) -> f32 {
        match self {
            Elem::Bf16 => bf16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32(),
            Elem::Fp32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        }
    }
}

/// This process as one rank of several (one GPU each), meeting the others through
/// `cluster::rendezvous` to share NCCL's unique id.
#[derive(Debug, Clone)]
pub struct Ranks {
    pub rank: u32,
    pub world: u32,
    pub rendezvous: crate::cluster::rendezvous::Rendezvous,
    pub rendezvous_timeout: Duration,
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct CommRequest {
    /// This process's GPUs (one when `ranks` is set).
    pub devices: Vec<u32>,
    /// One rank of a multi-process job, or `None`: this process drives all the GPUs.
    pub ranks: Option<Ranks>,
    pub ops: Vec<Op>,
    pub elems: Vec<Elem>,
    pub sizes: Vec<u64>,
    pub warmup: u32,
    pub iters: u32,
    pub timeout: Duration,
}

/// One measured point.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Point {
    pub op: Op,
    pub dtype: Elem,
    pub bytes: u64,
    pub count: u64,
    pub time_us: f64,
    pub algbw_gbps: f64,
    pub busbw_gbps: f64,
    /// The GPU (index into the device list) whose time this is (the slowest).
    pub slowest_rank: u32,
}

/// One send/recv pair measured alone at the largest size.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Pair {
    /// `cuda:N` when one process drives every GPU, else `rank N`.
    pub from: String,
    pub to: String,
    pub bytes: u64,
    pub busbw_gbps: f64,
}

/// Everything a run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Measured {
    /// Ranks in all (GPUs over every process).
    pub world: u32,
    /// Whether every rank ran on this host.
    pub one_host: bool,
    pub nccl_version: String,
    pub nccl_library: String,
    pub devices: Vec<String>,
    pub points: Vec<Point>,
    pub pairs: Vec<Pair>,
}

/// Driver entry points this module reaches (through cudarc or directly), checked first.
const DRIVER_SYMBOLS: &[&str] = &[
    "cuInit",
    "cuDeviceGet",
    "cuDeviceGetCount",
    "cuDeviceGetName",
    "cuDevicePrimaryCtxRetain",
    "cuDevicePrimaryCtxRelease_v2",
    "cuCtxGetCurrent",
    "cuCtxSetCurrent",
    "cuStreamCreate",
    "cuStreamSynchronize",
    "cuStreamDestroy_v2",
    "cuMemAllocAsync",
    "cuMemFreeAsync",
    "cuMemsetD32Async",
    "cuMemsetD16Async",
    "cuMemcpyDtoHAsync_v2",
    "cuMemcpyHtoDAsync_v2",
    "cuEventCreate",
    "cuEventRecord",
    "cuEventSynchronize",
    "cuEventDestroy_v2",
    if cfg!(feature = "cuda-12") {
        "cuEventElapsedTime"
    } else {
        "cuEventElapsedTime_v2"
    },
];

/// Checks the driver and NCCL before any call; returns NCCL.
pub fn open_libraries() -> anyhow::Result<&'static Nccl> {
    // SAFETY: only tries to dlopen the driver under its usual names.
    if !unsafe { sys::is_culib_present() } {
        anyhow::bail!("CUDA driver library libcuda.so not found (no NVIDIA driver on this machine); gpubench comm needs GPUs");
    }
    // SAFETY: the library was found above; `get` looks a symbol up without calling it.
    let missing: Vec<&str> = DRIVER_SYMBOLS
        .iter()
        .copied()
        .filter(|n| unsafe { sys::culib().get::<*const c_void>(n.as_bytes()) }.is_err())
        .collect();
    if !missing.is_empty() {
        anyhow::bail!(
            "the NVIDIA driver is too old for this build: libcuda lacks {}; update the driver",
            missing.join(", ")
        );
    }
    nccl::load()
}

/// Number of GPUs the driver sees.
pub fn device_count() -> anyhow::Result<u32> {
    match CudaContext::device_count() {
        Ok(n) => Ok(n.max(0) as u32),
        Err(e) if e.0 == sys::cudaError_enum::CUDA_ERROR_NO_DEVICE => Ok(0),
        Err(e) => anyhow::bail!("CUDA initialization failed (cuInit: {e}); check nvidia-smi"),
    }
}

/// A raw pointer handed to a waiting thread (the object outlives the wait: on a timeout it is
/// leaked, not freed).
#[derive(Clone, Copy)]
struct Raw(usize);

struct Rank {
    /// The rank in the communicator.
    global: u32,
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    comm: Comm,
    send: CudaSlice<u8>,
    recv: CudaSlice<u8>,
    start: Arc<CudaEvent>,
    end: Arc<CudaEvent>,
    /// Room for one f64 per rank and one more (values gathered across processes).
    gather: CudaSlice<u8>,
}

/// The communicators and buffers of one run; destroyed on drop, aborted on a hang. Shared
/// (`Arc`) with the thread that issues a batch of calls, so that a batch that hangs, in a
/// call or on the GPU, can be given up on.
struct Clique {
    nccl: &'static Nccl,
    /// Ranks in the communicator (over all processes).
    world: u32,
    /// This process's ranks.
    ranks: Vec<Rank>,
    aborted: AtomicBool,
    /// Held while a communicator's state is read or while they are aborted, so that no thread
    /// asks an aborted (freed) communicator for its state.
    gate: Mutex<()>,
}

// SAFETY: the communicators are used by one thread at a time (the batch's), except for
// `ncclCommAbort`, which NCCL provides to end a hung communicator from another thread; the
// CUDA objects are Send + Sync in cudarc.
unsafe impl Send for Clique {}
// SAFETY: as above.
unsafe impl Sync for Clique {}

impl Drop for Clique {
    fn drop(&mut self) {
        let aborted = self.aborted.load(Ordering::SeqCst);
        for r in self.ranks.drain(..) {
            // cudarc frees a buffer on its stream without making its GPU current
            let _ = r.ctx.bind_to_thread();
            if !aborted {
                let _ = r.stream.synchronize();
                // SAFETY: a live communicator with no work pending.
                unsafe { (self.nccl.destroy)(r.comm) };
            }
            drop(r);
        }
    }
}

fn ptr(s: &CudaSlice<u8>, stream: &CudaStream) -> u64 {
    s.device_ptr(stream).0
}

/// Runs `f` on another thread and waits at most `timeout` for it; past that, returns the
/// channel its result will come on, if ever.
fn with_timeout<T: Send + 'static>(
    timeout: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, mpsc::Receiver<T>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(timeout).map_err(|_| rx)
}

/// Measures `req` on one process's GPUs; `progress` is told each point as it completes.
pub fn run(req: &CommRequest, mut progress: impl FnMut(&Point)) -> anyhow::Result<Measured> {
    let nccl = open_libraries()?;
    let version = nccl.version()?;
    let count = device_count()?;
    if count == 0 {
        anyhow::bail!("no GPU found (cuDeviceGetCount = 0); gpubench comm needs GPUs");
    }
    if let Some(d) = req.devices.iter().find(|d| **d >= count) {
        return Err(crate::error::usage(format!(
            "--device: cuda:{d} does not exist; this machine has {count} GPU(s) (cuda:0 to cuda:{})",
            count - 1
        )));
    }
    let max = req.sizes.iter().copied().max().unwrap_or(0);
    let mut names = Vec::new();
    let mut ctxs = Vec::new();
    for &d in &req.devices {
        let ctx = CudaContext::new(d as usize)
            .map_err(|e| anyhow::anyhow!("could not create a CUDA context on cuda:{d}: {e}"))?;
        // SAFETY: each GPU's buffers, events and collectives use its one stream.
        unsafe { ctx.disable_event_tracking() };
        names.push(ctx.name().unwrap_or_else(|_| format!("cuda:{d}")));
        ctxs.push(ctx);
    }
    let (comms, first, world) = init_comms(nccl, req, &ctxs)?;
    let mut ranks = Vec::new();
    let event = |ctx: &Arc<CudaContext>| {
        ctx.new_event(Some(CUevent_flags::CU_EVENT_DEFAULT))
            .map(Arc::new)
            .map_err(|e| anyhow::anyhow!("creating a CUDA event: {e}"))
    };
    for (i, ctx) in ctxs.iter().enumerate() {
        let stream = ctx.new_stream().map_err(|e| {
            anyhow::anyhow!("creating a CUDA stream on cuda:{}: {e}", req.devices[i])
        })?;
        let alloc = |what: &str| {
            // SAFETY: every byte is written (filled) before it is read.
            unsafe { stream.alloc::<u8>(max.max(1) as usize) }.map_err(|e| {
                anyhow::anyhow!(
                    "allocating the {what} buffer of {} on cuda:{}: {e}; lower --max-bytes",
                    crate::units::fmt_bytes(max as f64),
                    req.devices[i]
                )
            })
        };
        let send = alloc("send")?;
        let recv = alloc("receive")?;
        let gather = stream
            .alloc_zeros::<u8>(8 * (world as usize + 1))
            .map_err(|e| anyhow::anyhow!("allocating 8 bytes per rank: {e}"))?;
        ranks.push(Rank {
            global: first + i as u32,
            gather,
            ctx: ctx.clone(),
            start: event(ctx)?,
            end: event(ctx)?,
            stream,
            comm: comms[i].0 as Comm,
            send,
            recv,
        });
    }
    let clique = Arc::new(Clique {
        nccl,
        world,
        ranks,
        aborted: AtomicBool::new(false),
        gate: Mutex::new(()),
    });
    let n = world;
    let one_host = if req.ranks.is_some() {
        let h = gather(&clique, req, f64::from_bits(host_hash()), "the host names")?;
        h.iter().all(|x| x.to_bits() == h[0].to_bits())
    } else {
        true
    };
    let mut points = Vec::new();
    for &elem in &req.elems {
        for &op in &req.ops {
            for &size in &req.sizes {
                let c = op.count(size, elem.size(), n);
                if c == 0 || (op == Op::SendRecv && n < 2) {
                    continue;
                }
                let pairs: Vec<(u32, u32)> = (0..n).map(|r| (r, (r + 1) % n)).collect();
                let p = measure_point(&clique, req, op, elem, c, &pairs)?;
                progress(&p);
                points.push(p);
            }
        }
    }
    // send/recv: each pair alone at the largest size, to name the slowest link
    let mut pairs = Vec::new();
    if req.ops.contains(&Op::SendRecv) && n >= 2 {
        let elem = req.elems[0];
        let c = Op::SendRecv.count(max, elem.size(), n);
        if c > 0 {
            for r in 0..n {
                let pair = (r, (r + 1) % n);
                let p = measure_point(&clique, req, Op::SendRecv, elem, c, &[pair])?;
                let label = |r: u32| match req.ranks {
                    None => format!("cuda:{}", req.devices[r as usize]),
                    Some(_) => format!("rank {r}"),
                };
                pairs.push(Pair {
                    from: label(pair.0),
                    to: label(pair.1),
                    bytes: p.bytes,
                    busbw_gbps: p.busbw_gbps,
                });
                if n == 2 {
                    break;
                }
            }
        }
    }
    Ok(Measured {
        world,
        one_host,
        nccl_version: version,
        nccl_library: nccl.found.clone(),
        devices: req
            .devices
            .iter()
            .zip(&names)
            .map(|(d, nm)| format!("cuda:{d} {nm}"))
            .collect(),
        points,
        pairs,
    })
}

/// Creates this process's communicators, one per GPU (`ctxs`), each with
/// `ncclCommInitRankConfig` in non-blocking mode inside one group: over this process's GPUs
/// with a unique id of its own, or, as one rank of several, with rank 0's id shared through
/// the rendezvous. Their state is polled (`ncclCommGetAsyncError`) until every one has formed;
/// past the timeout, or on an error, every one is aborted (`ncclCommAbort`) and the error
/// names what never formed. Returns the communicators, the first one's rank and the number of
/// ranks.
fn init_comms(
    nccl: &'static Nccl,
    req: &CommRequest,
    ctxs: &[Arc<CudaContext>],
) -> anyhow::Result<(Vec<Raw>, u32, u32)> {
    let mut id = nccl::UniqueId([0; 128]);
    let (first, world) = match &req.ranks {
        None => {
            // SAFETY: writes the 128-byte id.
            nccl.check(unsafe { (nccl.unique_id)(&mut id) }, "ncclGetUniqueId")?;
            (0, ctxs.len() as u32)
        }
        Some(rk) => {
            if rk.rank == 0 {
                // SAFETY: writes the 128-byte id.
                nccl.check(unsafe { (nccl.unique_id)(&mut id) }, "ncclGetUniqueId")?;
            }
            let mine: Vec<u8> = id.0.iter().map(|c| *c as u8).collect();
            let blob = crate::cluster::rendezvous::exchange(
                &rk.rendezvous,
                rk.rank,
                rk.world,
                (rk.rank == 0).then_some(&mine[..]),
                rk.rendezvous_timeout,
            )?;
            if blob.len() != 128 {
                anyhow::bail!(
                    "rendezvous: rank 0 sent {} bytes where NCCL's unique id has 128 (another gpubench version?)",
                    blob.len()
                );
            }
            for (d, b) in id.0.iter_mut().zip(&blob) {
                *d = *b as std::ffi::c_char;
            }
            (rk.rank, rk.world)
        }
    };
    let call = "ncclCommInitRankConfig";
    let start = Instant::now();
    let abort_all = |comms: &[Comm]| {
        for c in comms.iter().filter(|c| !c.is_null()) {
            // SAFETY: a communicator this function created, never used elsewhere.
            unsafe { (nccl.abort)(*c) };
        }
    };
    // The calls return at once; they run on a thread of their own all the same, so that a
    // creation made blocking from outside (NCCL_COMM_BLOCKING=1 overrides the config) is
    // still bounded by the timeout, though it cannot be aborted then.
    let (owned, devices) = (ctxs.to_vec(), req.devices.clone());
    let created = with_timeout(req.timeout, move || {
        let config = nccl::Config::non_blocking();
        let mut comms = vec![std::ptr::null_mut::<c_void>(); owned.len()];
        // SAFETY: the group is closed below whatever the calls answer.
        if let Err(e) = nccl.check(unsafe { (nccl.group_start)() }, "ncclGroupStart") {
            return (Vec::new(), Some(e));
        }
        let mut failed = None;
        for (i, ctx) in owned.iter().enumerate() {
            if let Err(e) = ctx.bind_to_thread() {
                failed.get_or_insert(anyhow::anyhow!("binding cuda:{}: {e}", devices[i]));
                break;
            }
            // SAFETY: writes one communicator for the GPU current on this thread; the id is
            // this process's or rank 0's, and `config` outlives the call.
            let r = unsafe {
                (nccl.init_rank_config)(
                    &mut comms[i],
                    world as i32,
                    id,
                    (first + i as u32) as i32,
                    &config,
                )
            };
            if r != 0 && r != nccl::IN_PROGRESS {
                failed.get_or_insert_with(|| nccl.check(r, call).unwrap_err());
                break;
            }
        }
        // SAFETY: closes the group opened above.
        let end = unsafe { (nccl.group_end)() };
        if end != 0 && end != nccl::IN_PROGRESS {
            failed.get_or_insert_with(|| nccl.check(end, "ncclGroupEnd").unwrap_err());
        }
        let raw = comms
            .into_iter()
            .map(|c| Raw(c as usize))
            .collect::<Vec<Raw>>();
        (raw, failed)
    });
    let Ok((raw, failed)) = created else {
        anyhow::bail!(
            "{call} did not return within {} s (communicator creation made blocking, e.g. by NCCL_COMM_BLOCKING=1, cannot be aborted); check that every rank runs and the GPUs with nvidia-smi, or raise --timeout",
            req.timeout.as_secs_f64()
        );
    };
    let comms: Vec<Comm> = raw.iter().map(|r| r.0 as Comm).collect();
    if let Some(e) = failed {
        abort_all(&comms);
        return Err(e);
    }
    loop {
        // SAFETY: live communicators made above.
        let states: Vec<nccl::NcclResult> = comms
            .iter()
            .map(|c| unsafe { nccl.async_error(*c) })
            .collect();
        if let Some(&e) = states.iter().find(|s| **s != 0 && **s != nccl::IN_PROGRESS) {
            abort_all(&comms);
            return Err(nccl.check(e, call).unwrap_err());
        }
        if states.iter().all(|s| *s == 0) {
            break;
        }
        if start.elapsed() >= req.timeout {
            abort_all(&comms);
            let forming: Vec<String> = states
                .iter()
                .enumerate()
                .filter(|(_, s)| **s == nccl::IN_PROGRESS)
                .map(|(i, _)| format!("cuda:{}", req.devices[i]))
                .collect();
            let who = match &req.ranks {
                None => format!(
                    "the communicator of {} never formed ({} still waiting for the others to join)",
                    forming.join(", "),
                    if forming.len() == 1 { "it was" } else { "they were" }
                ),
                Some(rk) => format!(
                    "rank {} of {} waited for the other ranks to join its communicator (all met at the rendezvous: one failed or hangs since)",
                    rk.rank, rk.world
                ),
            };
            anyhow::bail!(
                "{call} did not complete within {} s: {who}; aborted (ncclCommAbort); check that every rank runs and the GPUs with nvidia-smi, or raise --timeout",
                req.timeout.as_secs_f64()
            );
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok((
        comms.into_iter().map(|c| Raw(c as usize)).collect(),
        first,
        world,
    ))
}

/// Waits until every communicator of `cl` has finished what it was given (a call answered
/// `ncclInProgress`, as a non-blocking communicator may): polls `ncclCommGetAsyncError`.
/// Stops when the communicators are aborted (the caller's timeout), never asking a freed one.
fn settle(cl: &Clique, what: &str) -> anyhow::Result<()> {
    for rk in &cl.ranks {
        loop {
            let state = {
                let _gate = cl.gate.lock().unwrap_or_else(|e| e.into_inner());
                if cl.aborted.load(Ordering::SeqCst) {
                    anyhow::bail!("{what}: aborted");
                }
                // SAFETY: a live communicator (not aborted: checked under the gate).
                unsafe { cl.nccl.async_error(rk.comm) }
            };
            match state {
                0 => break,
                // a call's own launch: spin, so the GPU waits as little as it can
                nccl::IN_PROGRESS => std::thread::yield_now(),
                e => return cl.nccl.check(e, &format!("{what} (ncclCommGetAsyncError)")),
            }
        }
    }
    Ok(())
}

/// A hash of this host's name (to tell whether every rank runs on one node).
fn host_hash() -> u64 {
    use std::hash::{Hash, Hasher};
    let name = crate::profile::HostInfo::detect()
        .hostname
        .unwrap_or_default();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    name.hash(&mut h);
    h.finish()
}

/// Every rank's `v`, in rank order (`ncclAllGather` of one f64; the bits travel unchanged).
fn gather(cl: &Arc<Clique>, req: &CommRequest, v: f64, what: &str) -> anyhow::Result<Vec<f64>> {
    let world = cl.world as usize;
    let bytes = v.to_le_bytes();
    for rk in &cl.ranks {
        rk.ctx
            .bind_to_thread()
            .map_err(|e| anyhow::anyhow!("binding a GPU: {e}"))?;
        // SAFETY: copies 8 bytes into the gather buffer, then waits for the copy.
        unsafe {
            sys::cuMemcpyHtoDAsync_v2(
                ptr(&rk.gather, &rk.stream),
                bytes.as_ptr() as *const c_void,
                8,
                rk.stream.cu_stream(),
            )
        }
        .result()
        .and_then(|_| rk.stream.synchronize())
        .map_err(|e| anyhow::anyhow!("copying {what} to the GPU: {e}"))?;
    }
    batch(cl, req, what, gather_calls)?;
    let rk = &cl.ranks[0];
    let mut b = vec![0u8; 8 * world];
    rk.ctx
        .bind_to_thread()
        .and_then(|_| {
            rk.stream
                .memcpy_dtoh(&rk.gather.slice(8..8 + 8 * world), &mut b)
        })
        .and_then(|_| rk.stream.synchronize())
        .map_err(|e| anyhow::anyhow!("copying {what} back: {e}"))?;
    Ok(b.chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect())
}

/// The all_gather of [`gather`], then each rank's end event.
fn gather_calls(cl: &Clique) -> anyhow::Result<()> {
    let nc = cl.nccl;
    // SAFETY: balanced below.
    nc.check(unsafe { (nc.group_start)() }, "ncclGroupStart")?;
    let mut res = Ok(());
    for rk in &cl.ranks {
        let base = ptr(&rk.gather, &rk.stream);
        // SAFETY: the buffer holds 8 bytes to send and 8 × world to receive after them.
        let r = unsafe {
            (nc.all_gather)(
                base as *const c_void,
                (base + 8) as *mut c_void,
                1,
                nccl::FLOAT64,
                rk.comm,
                rk.stream.cu_stream() as *mut c_void,
            )
        };
        if res.is_ok() && r != nccl::IN_PROGRESS {
            res = nc.check(r, "ncclAllGather");
        }
    }
    // SAFETY: closes the group.
    let end = match unsafe { (nc.group_end)() } {
        nccl::IN_PROGRESS => settle(cl, "ncclGroupEnd"),
        r => nc.check(r, "ncclGroupEnd"),
    };
    res.and(end)?;
    for rk in &cl.ranks {
        rk.ctx
            .bind_to_thread()
            .and_then(|_| rk.end.record(&rk.stream))
            .map_err(|e| anyhow::anyhow!("recording an event: {e}"))?;
    }
    Ok(())
}

/// The value rank `r` sends (a small integer, exact in bf16 and fp32).
fn value(r: u32) -> f32 {
    (r + 1) as f32
}

/// The value element `i` of rank `r`'s output must hold after `op` (None: not written).
fn expected(op: Op, n: u32, r: u32, i: u64, count: u64, pairs: &[(u32, u32)]) -> Option<f32> {
    let sum = (n * (n + 1) / 2) as f32;
    match op {
        Op::AllReduce | Op::ReduceScatter => Some(sum),
        Op::AllGather => Some(value((i / count) as u32)),
        Op::Broadcast => Some(value(0)),
        Op::SendRecv => pairs.iter().find(|p| p.1 == r).map(|p| value(p.0)),
    }
}

fn fill(elem: Elem, at: u64, v: f32, count: u64, stream: &CudaStream) -> anyhow::Result<()> {
    let s = stream.cu_stream();
    // SAFETY: `at` .. `at + count·size` lies inside one of this stream's allocations.
    let r = unsafe {
        match elem {
            Elem::Bf16 => sys::cuMemsetD16Async(at, elem.bits(v) as u16, count as usize, s),
            Elem::Fp32 => sys::cuMemsetD32Async(at, elem.bits(v), count as usize, s),
        }
    };
    r.result()
        .map_err(|e| anyhow::anyhow!("filling a buffer (cuMemsetD{}Async): {e}", elem.size() * 8))
}

/// Issues one call of `op` on every rank (one NCCL group).
fn issue(cl: &Clique, op: Op, elem: Elem, count: u64, pairs: &[(u32, u32)]) -> anyhow::Result<()> {
    let nc = cl.nccl;
    let dt = elem.nccl();
    // SAFETY: group calls are balanced below.
    nc.check(unsafe { (nc.group_start)() }, "ncclGroupStart")?;
    let mut result = Ok(());
    for rk in &cl.ranks {
        let r = rk.global;
        let s = rk.stream.cu_stream() as *mut c_void;
        let send = ptr(&rk.send, &rk.stream) as *const c_void;
        let recv = ptr(&rk.recv, &rk.stream) as *mut c_void;
        let c = count as usize;
        // SAFETY: buffers hold `max` bytes, at least what each call reads and writes; the
        // communicator and stream belong to this rank's GPU.
        let (st, name) = unsafe {
            match op {
                Op::AllReduce => (
                    (nc.all_reduce)(send, recv, c, dt, nccl::SUM, rk.comm, s),
                    "ncclAllReduce",
                ),
                Op::AllGather => (
                    (nc.all_gather)(send, recv, c, dt, rk.comm, s),
                    "ncclAllGather",
                ),
                Op::ReduceScatter => (
                    (nc.reduce_scatter)(send, recv, c, dt, nccl::SUM, rk.comm, s),
                    "ncclReduceScatter",
                ),
                Op::Broadcast => (
                    (nc.broadcast)(send, recv, c, dt, 0, rk.comm, s),
                    "ncclBroadcast",
                ),
                Op::SendRecv => {
                    let mut st = 0;
                    for &(a, b) in pairs {
                        if a == r && st == 0 {
                            st = (nc.send)(send, c, dt, b as i32, rk.comm, s);
                        }
                        if b == r && st == 0 {
                            st = (nc.recv)(recv, c, dt, a as i32, rk.comm, s);
                        }
                    }
                    (st, "ncclSend/ncclRecv")
                }
            }
        };
        if result.is_ok() && st != nccl::IN_PROGRESS {
            result = nc.check(st, name);
        }
    }
    // SAFETY: closes the group opened above.
    let end = match unsafe { (nc.group_end)() } {
        nccl::IN_PROGRESS => settle(cl, "ncclGroupEnd"),
        r => nc.check(r, "ncclGroupEnd"),
    };
    result.and(end)
}

/// Runs `work` (calls that end with each rank's end event recorded) on another thread and
/// waits for it and for every rank's end event, at most `--timeout`; past that, aborts every
/// communicator (`ncclCommAbort`) and fails. A hung call or collective is never waited on
/// forever.
fn batch(
    cl: &Arc<Clique>,
    req: &CommRequest,
    what: &str,
    work: impl FnOnce(&Clique) -> anyhow::Result<()> + Send + 'static,
) -> anyhow::Result<()> {
    let shared = cl.clone();
    let done = with_timeout(req.timeout, move || -> anyhow::Result<()> {
        work(&shared)?;
        for rk in &shared.ranks {
            rk.end
                .synchronize()
                .map_err(|e| anyhow::anyhow!("waiting for the GPU: {e}"))?;
        }
        Ok(())
    });
    match done {
        Ok(r) => r.map_err(|e| anyhow::anyhow!("{what}: {e:#}")),
        Err(late) => {
            {
                let _gate = cl.gate.lock().unwrap_or_else(|e| e.into_inner());
                cl.aborted.store(true, Ordering::SeqCst);
                for r in &cl.ranks {
                    // SAFETY: aborting a communicator is NCCL's documented way out of a hang.
                    unsafe { (cl.nccl.abort)(r.comm) };
                }
            }
            // the abort ends the hung calls: let the thread let go of the buffers
            let _ = late.recv_timeout(Duration::from_secs(5));
            anyhow::bail!(
                "{what} did not complete within {} s: aborted (ncclCommAbort); check the GPUs and links (nvidia-smi topo -m), or raise --timeout",
                req.timeout.as_secs_f64()
            )
        }
    }
}

fn measure_point(
    cl: &Arc<Clique>,
    req: &CommRequest,
    op: Op,
    elem: Elem,
    count: u64,
    pairs: &[(u32, u32)],
) -> anyhow::Result<Point> {
    let n = cl.world;
    let size = op.size(count, elem.size(), n);
    let out_count = match op {
        Op::AllGather => count * n as u64,
        _ => count,
    };
    let in_count = match op {
        Op::ReduceScatter => count * n as u64,
        _ => count,
    };
    let what = format!(
        "{} of {} ({})",
        op.name(),
        crate::units::fmt_bytes(size as f64),
        elem.name()
    );
    for (r, rk) in cl.ranks.iter().enumerate() {
        rk.ctx
            .bind_to_thread()
            .map_err(|e| anyhow::anyhow!("binding cuda:{}: {e}", req.devices[r]))?;
        fill(
            elem,
            ptr(&rk.send, &rk.stream),
            value(rk.global),
            in_count,
            &rk.stream,
        )?;
        fill(elem, ptr(&rk.recv, &rk.stream), -1.0, out_count, &rk.stream)?;
    }
    let (warmup, iters, owned) = (req.warmup, req.iters, pairs.to_vec());
    batch(cl, req, &what, move |cl| {
        for _ in 0..warmup {
            issue(cl, op, elem, count, &owned)?;
        }
        for rk in &cl.ranks {
            rk.start
                .record(&rk.stream)
                .map_err(|e| anyhow::anyhow!("recording an event: {e}"))?;
        }
        for _ in 0..iters {
            issue(cl, op, elem, count, &owned)?;
        }
        for rk in &cl.ranks {
            rk.end
                .record(&rk.stream)
                .map_err(|e| anyhow::anyhow!("recording an event: {e}"))?;
        }
        Ok(())
    })?;
    for rk in &cl.ranks {
        // SAFETY: a live communicator of this clique.
        let e = unsafe { cl.nccl.async_error(rk.comm) };
        if e != 0 && e != nccl::IN_PROGRESS {
            cl.nccl
                .check(e, &format!("{what} (ncclCommGetAsyncError)"))?;
        }
    }
    let mut times = vec![0f64; n as usize];
    for rk in &cl.ranks {
        let ms = rk
            .start
            .elapsed_ms(&rk.end)
            .map_err(|e| anyhow::anyhow!("reading a CUDA event time: {e}"))?;
        times[rk.global as usize] = ms as f64 / 1e3 / req.iters.max(1) as f64;
    }
    check(cl, req, op, elem, count, out_count, pairs, &what)?;
    if cl.ranks.len() < n as usize {
        // ranks in other processes: every rank's time, through NCCL itself
        let mine = times[cl.ranks[0].global as usize];
        times = gather(cl, req, mine, &format!("the times of {what}"))?;
    }
    let mut slowest = (0u32, 0f64);
    for (r, t) in times.iter().enumerate() {
        let r = r as u32;
        let involved = op != Op::SendRecv || pairs.iter().any(|p| p.0 == r || p.1 == r);
        if involved && *t >= slowest.1 {
            slowest = (r, *t);
        }
    }
    let t = slowest.1;
    Ok(Point {
        op,
        dtype: elem,
        bytes: size,
        count,
        time_us: t * 1e6,
        algbw_gbps: busbw::algbw_gbps(size, t),
        busbw_gbps: busbw::busbw_gbps(op, n, size, t),
        slowest_rank: slowest.0,
    })
}

/// Copies a sample of every rank's output back (first, middle and last element, and each
/// rank's block edges for all_gather) and compares it with what it must hold.
#[allow(clippy::too_many_arguments)]
fn check(
    cl: &Clique,
    req: &CommRequest,
    op: Op,
    elem: Elem,
    count: u64,
    out_count: u64,
    pairs: &[(u32, u32)],
    what: &str,
) -> anyhow::Result<()> {
    let n = cl.world;
    let sz = elem.size();
    let mut idx = vec![0, out_count / 2, out_count - 1];
    if op == Op::AllGather {
        for r in 0..n as u64 {
            idx.extend([r * count, r * count + count - 1]);
        }
    }
    idx.sort_unstable();
    idx.dedup();
    for (local, rk) in cl.ranks.iter().enumerate() {
        let r = rk.global;
        for &i in &idx {
            let Some(want) = expected(op, n, r, i, count, pairs) else {
                continue;
            };
            let mut b = vec![0u8; sz as usize];
            let lo = (i * sz) as usize;
            rk.ctx
                .bind_to_thread()
                .and_then(|_| {
                    rk.stream
                        .memcpy_dtoh(&rk.recv.slice(lo..lo + sz as usize), &mut b)
                })
                .and_then(|_| rk.stream.synchronize())
                .map_err(|e| {
                    anyhow::anyhow!(
                        "copying a result back from cuda:{}: {e}",
                        req.devices[local]
                    )
                })?;
            let got = elem.decode(&b);
            if got != want {
                return Err(crate::error::InvalidResult(format!(
                    "{what}: wrong result on cuda:{} at element {i}: {got} where {want} was expected; the collective is not to be trusted (check the NCCL installation and the GPUs)",
                    req.devices[local]
                ))
                .into());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_values() {
        let ring = [(0, 1), (1, 2), (2, 0)];
        assert_eq!(expected(Op::AllReduce, 3, 1, 5, 10, &ring), Some(6.0));
        assert_eq!(expected(Op::AllGather, 3, 1, 25, 10, &ring), Some(3.0));
        assert_eq!(expected(Op::Broadcast, 3, 2, 0, 10, &ring), Some(1.0));
        assert_eq!(expected(Op::SendRecv, 3, 0, 0, 10, &ring), Some(3.0));
        assert_eq!(expected(Op::SendRecv, 3, 2, 0, 10, &[(0, 1)]), None);
    }

    #[test]
    fn encodings_round_trip() {
        for e in [Elem::Bf16, Elem::Fp32] {
            let b = e.bits(6.0).to_le_bytes();
            assert_eq!(e.decode(&b[..e.size() as usize]), 6.0);
        }
    }
}
