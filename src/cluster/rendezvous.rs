//! Rendezvous without MPI: rank 0 hands every rank the same small blob (later the NCCL unique
//! id, 128 bytes) once all of them are there, over TCP at `MASTER_ADDR:MASTER_PORT` or through
//! a folder on a shared file system. It is also a barrier: nobody gets the blob before every
//! rank has said hello, and every wait has a deadline whose error names the ranks that never
//! came.
//!
//! TCP: rank 0 listens; each other rank connects (retrying until the deadline, since rank 0
//! may start later), sends a hello (`GPBR`, version, rank, world size), and waits. When all
//! `world_size - 1` hellos are in, rank 0 answers each with `K` and the blob; at the deadline
//! it answers those present with `E` and the names of the missing ranks.
//!
//! Folder: each other rank writes `hello-<rank>` holding a random nonce; rank 0 waits for all
//! of them, then writes `blob` listing every nonce it read. A rank accepts a blob only if its
//! own nonce is in it, so a folder left by an earlier job is never mistaken for this one.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use serde::{Deserialize, Serialize};

/// Size of the blob rank 0 publishes (an NCCL unique id).
pub const BLOB_LEN: usize = 128;

const MAGIC: &[u8; 4] = b"GPBR";
const VERSION: u8 = 1;
/// The largest answer accepted from rank 0 (an error message or a blob).
const MAX_REPLY: u32 = 64 * 1024;

/// How the ranks meet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rendezvous {
    /// Rank 0 listens at `host:port`; the others connect.
    Tcp { host: String, port: u16 },
    /// Files in a folder every rank sees.
    File { dir: PathBuf },
}

impl std::fmt::Display for Rendezvous {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rendezvous::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            Rendezvous::File { dir } => write!(f, "file:{}", dir.display()),
        }
    }
}

/// Ranks as a short list: `3, 7, 9`.
pub fn list_ranks(ranks: &[u32]) -> String {
    ranks
        .iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Meets the other ranks and returns rank 0's blob. Rank 0 passes `Some(blob)`, the others
/// `None`. Fails at `timeout` naming the ranks that never arrived.
pub fn exchange(
    how: &Rendezvous,
    rank: u32,
    world_size: u32,
    blob: Option<&[u8]>,
    timeout: Duration,
) -> anyhow::Result<Vec<u8>> {
    if rank >= world_size {
        bail!("rank {rank} is not below the world size {world_size}");
    }
    let deadline = Instant::now() + timeout;
    match (how, rank, blob) {
        (_, 0, None) => bail!("rank 0 must supply the blob to publish"),
        (_, r, Some(_)) if r != 0 => bail!("only rank 0 publishes a blob"),
        (_, 0, Some(b)) if world_size == 1 => Ok(b.to_vec()),
        (Rendezvous::Tcp { host, port }, 0, Some(b)) => {
            let listener = TcpListener::bind((host.as_str(), *port)).with_context(|| {
                format!("rendezvous: rank 0 cannot listen on {host}:{port} (MASTER_ADDR must name this host, and the port be free)")
            })?;
            serve(listener, world_size, b, deadline, timeout)
        }
        (Rendezvous::Tcp { host, port }, r, None) => {
            join(host, *port, r, world_size, deadline, timeout)
        }
        (Rendezvous::File { dir }, 0, Some(b)) => file_serve(dir, world_size, b, deadline, timeout),
        (Rendezvous::File { dir }, r, None) => file_join(dir, r, world_size, deadline, timeout),
        _ => unreachable!("every (rank, blob) pair is matched above"),
    }
}

fn remaining(deadline: Instant) -> Option<Duration> {
    deadline
        .checked_duration_since(Instant::now())
        .filter(|d| !d.is_zero())
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// Rank 0 over TCP on an already bound listener: collect hellos, then answer everyone.
pub fn serve(
    listener: TcpListener,
    world_size: u32,
    blob: &[u8],
    deadline: Instant,
    timeout: Duration,
) -> anyhow::Result<Vec<u8>> {
    let at = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    listener.set_nonblocking(true)?;
    let mut arrived: BTreeMap<u32, TcpStream> = BTreeMap::new();
    let mut refused: Vec<String> = Vec::new();
    while arrived.len() + 1 < world_size as usize {
        let Some(left) = remaining(deadline) else {
            break;
        };
        match listener.accept() {
            Ok((mut s, peer)) => {
                s.set_nonblocking(false)?;
                s.set_read_timeout(Some(left.min(Duration::from_secs(2))))?;
                s.set_write_timeout(Some(Duration::from_secs(2)))?;
                match read_hello(&mut s) {
                    Ok((r, n)) if n != world_size => {
                        let msg = format!("rank {r} at {peer} says the world size is {n}, rank 0 says {world_size}: the ranks come from different jobs");
                        let _ = reply(&mut s, b'E', msg.as_bytes());
                        refused.push(msg);
                    }
                    Ok((r, _)) if r == 0 || r >= world_size => {
                        let msg = format!(
                            "a process at {peer} says it is rank {r}, outside 1..{}",
                            world_size - 1
                        );
                        let _ = reply(&mut s, b'E', msg.as_bytes());
                        refused.push(msg);
                    }
                    Ok((r, _)) if arrived.contains_key(&r) => {
                        let msg =
                            format!("two processes say they are rank {r} (the second from {peer})");
                        let _ = reply(&mut s, b'E', msg.as_bytes());
                        refused.push(msg);
                    }
                    Ok((r, _)) => {
                        arrived.insert(r, s);
                    }
                    Err(e) => refused.push(format!("{peer}: {e:#}")),
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(e).context(format!("rendezvous: accepting on {at}")),
        }
    }
    let missing: Vec<u32> = (1..world_size)
        .filter(|r| !arrived.contains_key(r))
        .collect();
    if missing.is_empty() {
        for s in arrived.values_mut() {
            // A rank that went away after its hello finds out on its own; the others go on.
            let _ = reply(s, b'K', blob);
        }
        return Ok(blob.to_vec());
    }
    let mut msg = format!(
        "rendezvous at {at}: rank{} {} never arrived within {} ({} of {world_size} ranks did)",
        if missing.len() == 1 { "" } else { "s" },
        list_ranks(&missing),
        secs(timeout),
        arrived.len() + 1
    );
    if !refused.is_empty() {
        msg.push_str(&format!("; refused: {}", refused.join("; ")));
    }
    for s in arrived.values_mut() {
        let _ = reply(s, b'E', msg.as_bytes());
    }
    Err(anyhow!(msg))
}

fn read_hello(s: &mut TcpStream) -> anyhow::Result<(u32, u32)> {
    let mut buf = [0u8; 13];
    s.read_exact(&mut buf).context("no hello")?;
    if &buf[..4] != MAGIC || buf[4] != VERSION {
        bail!("not a gpubench rendezvous hello");
    }
    let r = u32::from_be_bytes(buf[5..9].try_into().unwrap());
    let n = u32::from_be_bytes(buf[9..13].try_into().unwrap());
    Ok((r, n))
}

fn reply(s: &mut TcpStream, status: u8, payload: &[u8]) -> std::io::Result<()> {
    let mut msg = vec![status];
    msg.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    msg.extend_from_slice(payload);
    s.write_all(&msg)?;
    s.flush()
}

/// Any rank but 0 over TCP: connect (retrying until the deadline), say hello, wait.
pub fn join(
    host: &str,
    port: u16,
    rank: u32,
    world_size: u32,
    deadline: Instant,
    timeout: Duration,
) -> anyhow::Result<Vec<u8>> {
    let mut pause = Duration::from_millis(10);
    let mut last_error = String::from("no attempt");
    let mut stream = loop {
        let Some(left) = remaining(deadline) else {
            bail!(
                "rendezvous: rank {rank} could not reach rank 0 at {host}:{port} within {} ({last_error}); is rank 0 running, with the same MASTER_ADDR and MASTER_PORT?",
                secs(timeout)
            );
        };
        let addrs: Vec<_> = match (host, port).to_socket_addrs() {
            Ok(a) => a.collect(),
            Err(e) => {
                last_error = format!("cannot resolve {host}: {e}");
                Vec::new()
            }
        };
        let mut connected = None;
        for a in &addrs {
            match TcpStream::connect_timeout(a, left.min(Duration::from_secs(1))) {
                Ok(s) => {
                    connected = Some(s);
                    break;
                }
                Err(e) => last_error = e.to_string(),
            }
        }
        if let Some(s) = connected {
            break s;
        }
        std::thread::sleep(pause.min(remaining(deadline).unwrap_or_default()));
        pause = (pause * 2).min(Duration::from_millis(200));
    };
    let mut hello = MAGIC.to_vec();
    hello.push(VERSION);
    hello.extend_from_slice(&rank.to_be_bytes());
    hello.extend_from_slice(&world_size.to_be_bytes());
    stream.write_all(&hello)?;
    // Rank 0 answers at its own deadline at the latest; a little slack covers clock skew of
    // the two deadlines.
    let wait = remaining(deadline).unwrap_or_default() + Duration::from_secs(2);
    stream.set_read_timeout(Some(wait))?;
    let mut head = [0u8; 5];
    stream.read_exact(&mut head).map_err(|e| {
        anyhow!(
            "rendezvous: rank {rank} said hello to rank 0 at {host}:{port} but got no answer within {} ({e}); rank 0 is still waiting for other ranks, or stopped",
            secs(timeout)
        )
    })?;
    let len = u32::from_be_bytes(head[1..5].try_into().unwrap());
    if len > MAX_REPLY {
        bail!(
            "rendezvous: rank 0 at {host}:{port} sent a {len}-byte answer; not a gpubench rank 0"
        );
    }
    let mut payload = vec![0u8; len as usize];
    stream.read_exact(&mut payload)?;
    match head[0] {
        b'K' => Ok(payload),
        b'E' => bail!("{}", String::from_utf8_lossy(&payload)),
        other => {
            bail!("rendezvous: rank 0 at {host}:{port} answered {other:#x}, not a gpubench rank 0")
        }
    }
}

/// The `blob` file rank 0 writes into the rendezvous folder.
#[derive(Debug, Serialize, Deserialize)]
struct BlobFile {
    world_size: u32,
    blob_hex: String,
    /// Each rank's nonce, as rank 0 read it from `hello-<rank>`.
    nonces: BTreeMap<u32, String>,
}

fn hello_path(dir: &Path, rank: u32) -> PathBuf {
    dir.join(format!("hello-{rank:05}"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The ranks 1..world_size whose hello file is not in `dir`.
fn missing_hellos(dir: &Path, world_size: u32) -> Vec<u32> {
    (1..world_size)
        .filter(|r| !hello_path(dir, *r).exists())
        .collect()
}

fn poll_pause(pause: &mut Duration, deadline: Instant) {
    std::thread::sleep((*pause).min(remaining(deadline).unwrap_or_default()));
    *pause = (*pause * 2).min(Duration::from_millis(200));
}

fn file_serve(
    dir: &Path,
    world_size: u32,
    blob: &[u8],
    deadline: Instant,
    timeout: Duration,
) -> anyhow::Result<Vec<u8>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("rendezvous: cannot create {}", dir.display()))?;
    let blob_path = dir.join("blob");
    if blob_path.exists() {
        bail!(
            "rendezvous folder {} already holds a blob from an earlier job; give each job its own folder",
            dir.display()
        );
    }
    let mut pause = Duration::from_millis(10);
    loop {
        let missing = missing_hellos(dir, world_size);
        if missing.is_empty() {
            break;
        }
        if remaining(deadline).is_none() {
            bail!(
                "rendezvous in {}: rank{} {} never arrived within {} (no hello file)",
                dir.display(),
                if missing.len() == 1 { "" } else { "s" },
                list_ranks(&missing),
                secs(timeout)
            );
        }
        poll_pause(&mut pause, deadline);
    }
    let mut nonces = BTreeMap::new();
    for r in 1..world_size {
        let p = hello_path(dir, r);
        let text = std::fs::read_to_string(&p)
            .with_context(|| format!("rendezvous: reading {}", p.display()))?;
        let (n, nonce) = text
            .trim()
            .split_once(' ')
            .ok_or_else(|| anyhow!("rendezvous: {} is not a gpubench hello", p.display()))?;
        if n.parse::<u32>().ok() != Some(world_size) {
            bail!(
                "rendezvous: {} says the world size is {n}, rank 0 says {world_size}: the folder mixes jobs; give each job its own folder",
                p.display()
            );
        }
        nonces.insert(r, nonce.to_string());
    }
    let file = BlobFile {
        world_size,
        blob_hex: hex(blob),
        nonces,
    };
    crate::profile::write_atomic(&blob_path, serde_json::to_string(&file)?.as_bytes(), false)?;
    Ok(blob.to_vec())
}

fn file_join(
    dir: &Path,
    rank: u32,
    world_size: u32,
    deadline: Instant,
    timeout: Duration,
) -> anyhow::Result<Vec<u8>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("rendezvous: cannot create {}", dir.display()))?;
    let nonce = hex(&rand::random::<[u8; 16]>());
    crate::profile::write_atomic(
        &hello_path(dir, rank),
        format!("{world_size} {nonce}\n").as_bytes(),
        true,
    )?;
    let blob_path = dir.join("blob");
    let mut pause = Duration::from_millis(10);
    let mut stale = false;
    loop {
        if let Ok(text) = std::fs::read_to_string(&blob_path) {
            match serde_json::from_str::<BlobFile>(&text) {
                Ok(f) if f.nonces.get(&rank) == Some(&nonce) => {
                    return unhex(&f.blob_hex).ok_or_else(|| {
                        anyhow!("rendezvous: {} holds a damaged blob", blob_path.display())
                    });
                }
                _ => stale = true,
            }
        }
        if remaining(deadline).is_none() {
            let missing = missing_hellos(dir, world_size);
            let mut msg = format!(
                "rendezvous in {}: rank {rank} got no blob from rank 0 within {}",
                dir.display(),
                secs(timeout)
            );
            if !missing.is_empty() {
                msg.push_str(&format!(
                    "; rank{} {} never arrived (no hello file)",
                    if missing.len() == 1 { "" } else { "s" },
                    list_ranks(&missing)
                ));
            }
            if stale {
                msg.push_str(
                    "; the folder holds a blob from an earlier job: give each job its own folder",
                );
            }
            bail!("{msg}");
        }
        poll_pause(&mut pause, deadline);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    fn blob() -> Vec<u8> {
        (0..BLOB_LEN as u32).map(|i| (i * 7 % 251) as u8).collect()
    }

    /// Rank 0 on a listener bound by the test (127.0.0.1, a free port), the others as threads.
    fn tcp_meeting(world: u32, absent: &[u32], timeout: Duration) -> Vec<anyhow::Result<Vec<u8>>> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut handles = Vec::new();
        for r in (1..world).filter(|r| !absent.contains(r)) {
            handles.push(thread::spawn(move || {
                exchange(
                    &Rendezvous::Tcp {
                        host: "127.0.0.1".into(),
                        port,
                    },
                    r,
                    world,
                    None,
                    timeout,
                )
            }));
        }
        let b = blob();
        let mut out = vec![serve(
            listener,
            world,
            &b,
            Instant::now() + timeout,
            timeout,
        )];
        out.extend(handles.into_iter().map(|h| h.join().unwrap()));
        out
    }

    #[test]
    fn tcp_every_rank_gets_the_blob() {
        for r in tcp_meeting(6, &[], Duration::from_secs(10)) {
            assert_eq!(r.unwrap(), blob());
        }
    }

    #[test]
    fn tcp_a_rank_that_never_comes_is_named_by_everyone() {
        let out = tcp_meeting(5, &[3], Duration::from_millis(600));
        assert_eq!(out.len(), 4);
        for r in out {
            let e = r.unwrap_err().to_string();
            assert!(
                e.contains("rank 3 never arrived") && e.contains("4 of 5"),
                "{e}"
            );
        }
    }

    #[test]
    fn tcp_a_rank_waiting_for_an_absent_rank_0_times_out_and_says_so() {
        // A port nobody listens on: bind, read the port, close.
        let port = TcpListener::bind(("127.0.0.1", 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let how = Rendezvous::Tcp {
            host: "127.0.0.1".into(),
            port,
        };
        let t = Instant::now();
        let e = exchange(&how, 2, 4, None, Duration::from_millis(300))
            .unwrap_err()
            .to_string();
        assert!(t.elapsed() < Duration::from_secs(5));
        assert!(e.contains("rank 2 could not reach rank 0"), "{e}");
    }

    #[test]
    fn tcp_world_size_disagreement_is_refused() {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let h = thread::spawn(move || {
            let how = Rendezvous::Tcp {
                host: "127.0.0.1".into(),
                port,
            };
            exchange(&how, 1, 3, None, Duration::from_millis(800))
        });
        let t = Duration::from_millis(500);
        let e = serve(listener, 2, &blob(), Instant::now() + t, t)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("rank 1 never arrived") && e.contains("world size is 3"),
            "{e}"
        );
        let e = h.join().unwrap().unwrap_err().to_string();
        assert!(e.contains("different jobs"), "{e}");
    }

    #[test]
    fn one_rank_needs_nobody() {
        let how = Rendezvous::Tcp {
            host: "127.0.0.1".into(),
            port: 1,
        };
        assert_eq!(
            exchange(&how, 0, 1, Some(&blob()), Duration::ZERO).unwrap(),
            blob()
        );
    }

    fn file_meeting(
        dir: &Path,
        world: u32,
        absent: &[u32],
        timeout: Duration,
    ) -> Vec<anyhow::Result<Vec<u8>>> {
        let how = Rendezvous::File {
            dir: dir.to_path_buf(),
        };
        let mut handles = Vec::new();
        for r in (0..world).filter(|r| !absent.contains(r)) {
            let how = how.clone();
            handles.push(thread::spawn(move || {
                let b = blob();
                exchange(&how, r, world, (r == 0).then_some(&b[..]), timeout)
            }));
        }
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    }

    #[test]
    fn file_every_rank_gets_the_blob() {
        let dir = tempfile::tempdir().unwrap();
        for r in file_meeting(&dir.path().join("rdv"), 5, &[], Duration::from_secs(10)) {
            assert_eq!(r.unwrap(), blob());
        }
    }

    #[test]
    fn file_a_rank_that_never_comes_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let out = file_meeting(dir.path(), 4, &[2], Duration::from_millis(500));
        for r in out {
            let e = r.unwrap_err().to_string();
            assert!(e.contains("rank 2 never arrived"), "{e}");
        }
    }

    #[test]
    fn file_a_blob_from_an_earlier_job_is_never_taken() {
        let dir = tempfile::tempdir().unwrap();
        assert!(file_meeting(dir.path(), 2, &[], Duration::from_secs(10))
            .into_iter()
            .all(|r| r.is_ok()));
        // Rank 0 of the next job refuses the folder; rank 1 alone does not take the old blob.
        let out = file_meeting(dir.path(), 2, &[], Duration::from_millis(400));
        let e = out[0].as_ref().unwrap_err().to_string();
        assert!(e.contains("already holds a blob"), "{e}");
        let e = out[1].as_ref().unwrap_err().to_string();
        assert!(e.contains("blob from an earlier job"), "{e}");
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(unhex(&hex(&blob())).unwrap(), blob());
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
    }
}
