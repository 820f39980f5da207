//! NCCL, loaded at run time: finds the library (under the names distributions and NVIDIA's
//! pip wheels install, `libnccl.so.2` first), checks every entry point gpubench calls before
//! the first call, and wraps each call's status into a one-line error.
//!
//! Why not cudarc's NCCL bindings: cudarc 0.19 looks only for `libnccl.so` and
//! `libnccl.so.{9..13}` and panics on a missing symbol, while NCCL installs as `libnccl.so.2`.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::path::PathBuf;
use std::sync::OnceLock;

/// `ncclResult_t`.
pub type NcclResult = c_int;
/// `ncclComm_t`.
pub type Comm = *mut c_void;
/// `ncclUniqueId`: 128 opaque bytes.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct UniqueId(pub [c_char; 128]);

/// `ncclInProgress`.
pub const IN_PROGRESS: NcclResult = 7;

/// `ncclConfig_t`, as far as gpubench sets it: the fields every NCCL since 2.14 starts with.
/// NCCL copies `size` bytes of it and gives the fields a config of an older `version` lacks
/// their defaults, so this layout stays valid for later versions.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Config {
    size: usize,
    magic: u32,
    version: u32,
    blocking: c_int,
    /// `cgaClusterSize`, left undefined (`NCCL_CONFIG_UNDEF_INT`): NCCL's default.
    cga_cluster_size: c_int,
}

impl Config {
    /// `NCCL_CONFIG_INITIALIZER` of NCCL 2.14 with `blocking = 0`: calls on the communicator
    /// return at once (`ncclInProgress`) and `ncclCommGetAsyncError` tells when they are
    /// done, so a communicator that never forms can be given up on (`ncclCommAbort`).
    pub fn non_blocking() -> Config {
        Config {
            size: std::mem::size_of::<Config>(),
            magic: 0xcafe_beef,
            version: 21400,
            blocking: 0,
            cga_cluster_size: c_int::MIN,
        }
    }
}
/// `ncclSum`.
pub const SUM: c_int = 0;
/// `ncclFloat64`.
pub const FLOAT64: c_int = 8;

type Stream = *mut c_void;
type GetVersion = unsafe extern "C" fn(*mut c_int) -> NcclResult;
type GetErrorString = unsafe extern "C" fn(NcclResult) -> *const c_char;
type GetUniqueId = unsafe extern "C" fn(*mut UniqueId) -> NcclResult;
type CommInitRankConfig =
    unsafe extern "C" fn(*mut Comm, c_int, UniqueId, c_int, *const Config) -> NcclResult;
type CommOne = unsafe extern "C" fn(Comm) -> NcclResult;
type CommAsyncError = unsafe extern "C" fn(Comm, *mut NcclResult) -> NcclResult;
type Group = unsafe extern "C" fn() -> NcclResult;
type AllReduce = unsafe extern "C" fn(
    *const c_void,
    *mut c_void,
    usize,
    c_int,
    c_int,
    Comm,
    Stream,
) -> NcclResult;
type AllGather =
    unsafe extern "C" fn(*const c_void, *mut c_void, usize, c_int, Comm, Stream) -> NcclResult;
type Broadcast = unsafe extern "C" fn(
    *const c_void,
    *mut c_void,
    usize,
    c_int,
    c_int,
    Comm,
    Stream,
) -> NcclResult;
type Send = unsafe extern "C" fn(*const c_void, usize, c_int, c_int, Comm, Stream) -> NcclResult;
type Recv = unsafe extern "C" fn(*mut c_void, usize, c_int, c_int, Comm, Stream) -> NcclResult;

/// Every NCCL entry point gpubench calls, checked before the first call.
pub const SYMBOLS: &[&str] = &[
    "ncclGetVersion",
    "ncclGetErrorString",
    "ncclGetUniqueId",
    "ncclCommInitRankConfig",
    "ncclCommDestroy",
    "ncclCommAbort",
    "ncclCommGetAsyncError",
    "ncclGroupStart",
    "ncclGroupEnd",
    "ncclAllReduce",
    "ncclAllGather",
    "ncclReduceScatter",
    "ncclBroadcast",
    "ncclSend",
    "ncclRecv",
];

/// The loaded library and its entry points.
pub struct Nccl {
    _lib: libloading::Library,
    /// Where it was found (a name the loader resolved, or a path).
    pub found: String,
    get_version: GetVersion,
    error_string: GetErrorString,
    pub(crate) unique_id: GetUniqueId,
    pub(crate) init_rank_config: CommInitRankConfig,
    pub(crate) destroy: CommOne,
    pub(crate) abort: CommOne,
    async_error: CommAsyncError,
    pub(crate) group_start: Group,
    pub(crate) group_end: Group,
    pub(crate) all_reduce: AllReduce,
    pub(crate) all_gather: AllGather,
    pub(crate) reduce_scatter: AllReduce,
    pub(crate) broadcast: Broadcast,
    pub(crate) send: Send,
    pub(crate) recv: Recv,
}

// SAFETY: the entry points are plain C functions NCCL documents as callable from any thread.
unsafe impl Sync for Nccl {}
// SAFETY: as above.
unsafe impl std::marker::Send for Nccl {}

/// The names the dynamic loader is asked for, in order.
pub const NAMES: &[&str] = &["libnccl.so.2", "libnccl.so"];

/// What to install when NCCL is missing (one line).
pub fn install_hint() -> &'static str {
    "install it with `pip install nvidia-nccl-cu13` (nvidia-nccl-cu12 for CUDA 12) and run `export LD_LIBRARY_PATH=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()[\"purelib\"])')/nvidia/nccl/lib:$LD_LIBRARY_PATH`, or your distribution's libnccl2 package"
}

/// Python's site-packages directories (the pip wheels' layout: `nvidia/nccl/lib`), asked of
/// `python3` only when the loader's names fail.
fn wheel_paths() -> Vec<PathBuf> {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import site,sysconfig;print(sysconfig.get_paths()['purelib']);print(site.getusersitepackages());[print(p) for p in site.getsitepackages()]",
        ])
        .stderr(std::process::Stdio::null())
        .output();
    let Ok(out) = out else { return Vec::new() };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .flat_map(|sp| {
            ["nvidia/nccl/lib", "nvidia/cu13/lib", "nvidia/cu12/lib"]
                .map(|d| PathBuf::from(sp).join(d).join("libnccl.so.2"))
        })
        .filter(|p| p.is_file())
        .collect()
}

/// Opens NCCL once per process; the error is one line naming what is missing and the fix.
pub fn load() -> anyhow::Result<&'static Nccl> {
    static NCCL: OnceLock<Result<Nccl, String>> = OnceLock::new();
    NCCL.get_or_init(open)
        .as_ref()
        .map_err(|e| anyhow::anyhow!("{e}"))
}

fn open() -> Result<Nccl, String> {
    let mut tried: Vec<String> = NAMES.iter().map(|s| s.to_string()).collect();
    let mut lib = None;
    for n in NAMES {
        // SAFETY: loading NCCL runs its initializers, which only set up its own state.
        if let Ok(l) = unsafe { libloading::Library::new(*n) } {
            lib = Some((l, n.to_string()));
            break;
        }
    }
    if lib.is_none() {
        for p in wheel_paths() {
            // SAFETY: as above.
            if let Ok(l) = unsafe { libloading::Library::new(&p) } {
                lib = Some((l, p.display().to_string()));
                break;
            }
            tried.push(p.display().to_string());
        }
    }
    let Some((lib, found)) = lib else {
        return Err(format!(
            "NCCL not found (tried {} and Python's nvidia/nccl/lib); {}",
            tried.join(", "),
            install_hint()
        ));
    };
    // SAFETY: looks symbols up without calling them.
    let missing: Vec<&str> = SYMBOLS
        .iter()
        .copied()
        .filter(|s| unsafe { lib.get::<*const c_void>(s.as_bytes()) }.is_err())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "the NCCL library found ({found}) lacks {} (older than NCCL 2.14?); {}",
            missing.join(", "),
            install_hint()
        ));
    }
    // SAFETY: every symbol exists (checked above) and has the C signature NCCL's nccl.h
    // declares; the library is kept alive with the pointers.
    unsafe {
        macro_rules! sym {
            ($n:literal) => {
                *lib.get($n.as_bytes()).expect("checked above")
            };
        }
        Ok(Nccl {
            get_version: sym!("ncclGetVersion"),
            error_string: sym!("ncclGetErrorString"),
            unique_id: sym!("ncclGetUniqueId"),
            init_rank_config: sym!("ncclCommInitRankConfig"),
            destroy: sym!("ncclCommDestroy"),
            abort: sym!("ncclCommAbort"),
            async_error: sym!("ncclCommGetAsyncError"),
            group_start: sym!("ncclGroupStart"),
            group_end: sym!("ncclGroupEnd"),
            all_reduce: sym!("ncclAllReduce"),
            all_gather: sym!("ncclAllGather"),
            reduce_scatter: sym!("ncclReduceScatter"),
            broadcast: sym!("ncclBroadcast"),
            send: sym!("ncclSend"),
            recv: sym!("ncclRecv"),
            found,
            _lib: lib,
        })
    }
}

/// `22807` → `"2.28.7"` (NCCL ≥ 2.9 encodes major·10000 + minor·100 + patch; older ones
/// major·1000 + minor·100 + patch).
pub fn version_text(code: i32) -> String {
    let c = code.max(0);
    if c >= 10000 {
        format!("{}.{}.{}", c / 10000, (c % 10000) / 100, c % 100)
    } else {
        format!("{}.{}.{}", c / 1000, (c % 1000) / 100, c % 100)
    }
}

impl Nccl {
    /// `ncclGetVersion`, as text.
    pub fn version(&self) -> anyhow::Result<String> {
        let mut v: c_int = 0;
        // SAFETY: writes one int.
        self.check(unsafe { (self.get_version)(&mut v) }, "ncclGetVersion")?;
        Ok(version_text(v))
    }

    /// `Ok` for `ncclSuccess`, else one line naming the call and NCCL's reason.
    pub fn check(&self, r: NcclResult, call: &str) -> anyhow::Result<()> {
        if r == 0 {
            return Ok(());
        }
        // SAFETY: NCCL returns a static string for any code.
        let why = unsafe {
            let p = (self.error_string)(r);
            if p.is_null() {
                "unknown error".into()
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        };
        anyhow::bail!("{call} failed: {why} (NCCL error {r})")
    }

    /// A communicator's asynchronous error (`ncclCommGetAsyncError`).
    ///
    /// # Safety
    /// `comm` must be a live communicator of this library.
    pub unsafe fn async_error(&self, comm: Comm) -> NcclResult {
        let mut r: NcclResult = 0;
        // SAFETY: `comm` is a live communicator; writes one int.
        let s = unsafe { (self.async_error)(comm, &mut r) };
        if s != 0 {
            s
        } else {
            r
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_config_is_the_2_14_layout() {
        let c = super::Config::non_blocking();
        // size_t size; unsigned magic, version; int blocking, cgaClusterSize
        assert_eq!(std::mem::size_of::<super::Config>(), 24);
        assert_eq!(c.size, 24);
        assert_eq!((c.magic, c.version, c.blocking), (0xcafe_beef, 21400, 0));
    }

    #[test]
    fn versions() {
        assert_eq!(super::version_text(22807), "2.28.7");
        assert_eq!(super::version_text(2708), "2.7.8");
    }
}
