//! Emulated NCCL across processes (`ncclGetUniqueId`, `ncclCommInitRank`): the ranks of a
//! communicator live in different processes, each with its own emulated GPUs and virtual clock,
//! and meet through files in a folder whose path is the unique id. Each collective call is one
//! file per rank (its call, the time its stream reached the call, its input); a rank completes
//! the call when every rank's file is there, computing the same result and the same virtual
//! start (the latest rank's) as the others. A send is a file for the receiver, a receive a file
//! for the sender (the time its stream reached the receive).
//!
//! Like NCCL, a rank that never joins or never issues the matching call leaves the others
//! waiting: the caller's timeout must end it.

use std::collections::HashMap;
use std::ffi::c_char;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::memory::Content;
use crate::nccl::{duration_p2p, elem_size, input_count, output, CollCall, CollKind, NcclResult};

const MAGIC: &[u8] = b"EMUNCCL:";
const INVALID_ARGUMENT: NcclResult = 4;
const INVALID_USAGE: NcclResult = 5;
const SYSTEM_ERROR: NcclResult = 2;

/// The cross-process side of a communicator.
#[derive(Debug)]
pub(crate) struct Remote {
    pub dir: PathBuf,
    /// Collectives completed.
    seq: u64,
    /// Sends to / receives from each peer so far.
    sent: HashMap<u32, u64>,
    received: HashMap<u32, u64>,
}

/// A call of a cross-process communicator, not yet completed.
#[derive(Debug)]
pub(crate) enum Pending {
    Coll(CollCall),
    Send(u32, CollCall),
    Recv(u32, CollCall),
}

/// `ncclGetUniqueId`: a fresh folder, named in the id.
pub(crate) fn unique_id(out: &mut [c_char; 128]) -> NcclResult {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "gpubench-emu-nccl-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    if std::fs::create_dir_all(&dir).is_err() {
        return SYSTEM_ERROR;
    }
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(dir.as_os_str().as_encoded_bytes());
    if bytes.len() >= 128 {
        return SYSTEM_ERROR;
    }
    out.fill(0);
    for (o, b) in out.iter_mut().zip(bytes) {
        *o = b as c_char;
    }
    0
}

/// The folder an id names.
fn dir_of(id: &[c_char; 128]) -> Option<PathBuf> {
    let bytes: Vec<u8> = id
        .iter()
        .map(|c| *c as u8)
        .take_while(|b| *b != 0)
        .collect();
    let path = bytes.strip_prefix(MAGIC)?;
    let p = PathBuf::from(String::from_utf8(path.to_vec()).ok()?);
    p.is_dir().then_some(p)
}

/// Writes `bytes` to `dir/name` whole (through a temporary name), so readers never see part.
fn publish(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), NcclResult> {
    let tmp = dir.join(format!(".{name}.{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|_| SYSTEM_ERROR)?;
    std::fs::rename(&tmp, dir.join(name)).map_err(|_| SYSTEM_ERROR)
}

/// Waits (forever, as NCCL does) for `dir/name`, then reads it.
fn await_file(dir: &Path, name: &str) -> Result<Vec<u8>, NcclResult> {
    let p = dir.join(name);
    loop {
        if p.exists() {
            return std::fs::read(&p).map_err(|_| SYSTEM_ERROR);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// `ncclCommInitRank`'s meeting: announces `rank` and waits until all `nranks` have.
pub(crate) fn join(id: &[c_char; 128], rank: u32, nranks: u32) -> Result<Remote, NcclResult> {
    let dir = dir_of(id).ok_or(INVALID_ARGUMENT)?;
    publish(&dir, &format!("join-{rank}"), b"")?;
    for r in 0..nranks {
        await_file(&dir, &format!("join-{r}"))?;
    }
    Ok(Remote {
        dir,
        seq: 0,
        sent: HashMap::new(),
        received: HashMap::new(),
    })
}

fn header(c: &CollCall) -> Vec<u8> {
    let kind = match c.kind {
        CollKind::AllReduce => 0,
        CollKind::AllGather => 1,
        CollKind::ReduceScatter => 2,
        CollKind::Broadcast => 3,
    };
    let mut h = Vec::with_capacity(40);
    h.extend((kind as u64).to_le_bytes());
    h.extend(c.count.to_le_bytes());
    h.extend((c.dtype as i64).to_le_bytes());
    h.extend((c.op as i64).to_le_bytes());
    h.extend((c.root as i64).to_le_bytes());
    h.extend(c.ready.to_le_bytes());
    h
}

const HEADER: usize = 48;

fn ready_of(file: &[u8]) -> f64 {
    f64::from_le_bytes(file[40..48].try_into().expect("a header"))
}

/// Publishes every pending call of this rank, then completes each (waiting for the other
/// ranks' files), in order. Returns the first error.
pub(crate) fn run(
    remote: &mut Remote,
    rank: u32,
    nranks: u32,
    pending: Vec<Pending>,
) -> NcclResult {
    // 1. publish
    let mut names = Vec::with_capacity(pending.len());
    let mut colls = 0u64;
    for p in &pending {
        let (name, body) = {
            let g = crate::lock();
            let Some(s) = g.as_ref() else {
                return SYSTEM_ERROR;
            };
            match p {
                Pending::Coll(c) => {
                    let esize = elem_size(c.dtype).expect("checked");
                    let Ok(data) = s.mem.read(c.send, input_count(c, nranks as u64) * esize) else {
                        return INVALID_ARGUMENT;
                    };
                    let k = remote.seq + colls;
                    colls += 1;
                    (format!("c-{k}-{rank}"), [header(c), data].concat())
                }
                Pending::Send(to, c) => {
                    let esize = elem_size(c.dtype).expect("checked");
                    let Ok(data) = s.mem.read(c.send, c.count * esize) else {
                        return INVALID_ARGUMENT;
                    };
                    let k = remote.sent.entry(*to).or_insert(0);
                    *k += 1;
                    (format!("s-{rank}-{to}-{k}"), [header(c), data].concat())
                }
                Pending::Recv(from, c) => {
                    let k = remote.received.entry(*from).or_insert(0);
                    *k += 1;
                    (format!("r-{from}-{rank}-{k}"), header(c))
                }
            }
        };
        if let Err(e) = publish(&remote.dir, &name, &body) {
            return e;
        }
        names.push(name);
    }
    // 2. complete
    let mut failed = 0;
    for (p, mine) in pending.into_iter().zip(names) {
        let r = match p {
            Pending::Coll(c) => complete_coll(remote, rank, nranks, &c, &mine),
            Pending::Send(to, c) => {
                let theirs = mine.replacen("s-", "r-", 1);
                await_file(&remote.dir, &theirs).and_then(|f| {
                    check_p2p(&c, &f)?;
                    finish(&c, rank, to, ready_of(&f), None)
                })
            }
            Pending::Recv(from, c) => {
                let theirs = mine.replacen("r-", "s-", 1);
                await_file(&remote.dir, &theirs).and_then(|f| {
                    check_p2p(&c, &f)?;
                    let data = f[HEADER..].to_vec();
                    finish(&c, from, rank, ready_of(&f), Some(data))
                })
            }
        };
        if let Err(e) = r {
            if failed == 0 {
                failed = e;
            }
        }
    }
    failed
}

fn check_p2p(c: &CollCall, f: &[u8]) -> Result<(), NcclResult> {
    let h = header(c);
    // count and type must match (bytes 8..24)
    if f.len() < HEADER || f[8..24] != h[8..24] {
        return Err(INVALID_USAGE);
    }
    Ok(())
}

/// Ends a send/recv on this rank's stream (and stores the received data).
fn finish(
    c: &CollCall,
    from: u32,
    to: u32,
    other_ready: f64,
    data: Option<Vec<u8>>,
) -> Result<(), NcclResult> {
    let mut g = crate::lock();
    let s = g.as_mut().ok_or(SYSTEM_ERROR)?;
    let bytes = c.count * elem_size(c.dtype).expect("checked");
    let end = c.ready.max(other_ready) + duration_p2p(bytes, &[from, to]);
    let st = s.streams.get_mut(&c.stream).ok_or(INVALID_ARGUMENT)?;
    st.free_at = st.free_at.max(end);
    if let Some(d) = data {
        if !d.is_empty() {
            s.mem
                .store(c.recv, d.len() as u64, Content::Bytes(d))
                .map_err(|_| INVALID_ARGUMENT)?;
        }
    }
    Ok(())
}

fn complete_coll(
    remote: &mut Remote,
    rank: u32,
    nranks: u32,
    c: &CollCall,
    mine: &str,
) -> Result<(), NcclResult> {
    let k = remote.seq;
    remote.seq += 1;
    let mut inputs = Vec::with_capacity(nranks as usize);
    let mut start = 0f64;
    let h = header(c);
    for r in 0..nranks {
        let f = await_file(&remote.dir, &format!("c-{k}-{r}"))?;
        if f.len() < HEADER || f[..40] != h[..40] {
            return Err(INVALID_USAGE); // the ranks issued different collectives
        }
        start = start.max(ready_of(&f));
        inputs.push(f[HEADER..].to_vec());
    }
    // everyone has read the files of the call before this one: ours can go
    if k > 0 {
        let _ = std::fs::remove_file(remote.dir.join(format!("c-{}-{rank}", k - 1)));
    }
    let _ = mine;
    let ranks: Vec<u32> = (0..nranks).collect();
    let dur = crate::nccl::duration(c, nranks as u64, &ranks);
    let out = output(c, &inputs, rank as u64);
    let mut g = crate::lock();
    let s = g.as_mut().ok_or(SYSTEM_ERROR)?;
    let st = s.streams.get_mut(&c.stream).ok_or(INVALID_ARGUMENT)?;
    st.free_at = st.free_at.max(start + dur);
    let len = out.len() as u64;
    s.mem
        .store(c.recv, len, Content::Bytes(out))
        .map_err(|_| INVALID_ARGUMENT)
}
