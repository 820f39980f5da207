//! Writing result files safely: output paths checked before anything is measured, writes
//! that go through a temporary file and a rename, and never onto anything but a regular file.
//!
//! Why: a measurement can take minutes, so a path that cannot be written must fail before it
//! starts (exit 2), and a write must never leave half a file, replace a device such as
//! `/dev/null` (a rename would), or lose a result to another gpubench saving into the same
//! folder at the same moment. Temporary files carry the writer's process id and a tag of its
//! host, so those left by a killed process are recognised and removed by the next write into
//! the folder on the same host, and never those of a process on another node writing into a
//! shared folder (the ranks of a cluster job).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::error::usage;

/// Prefix of every temporary file gpubench writes (followed by its process id).
const TMP_PREFIX: &str = ".gpubench-";
const TMP_SUFFIX: &str = ".tmp";

/// What stands at a path, in words, when it is not something gpubench may write over.
fn special_kind(meta: &fs::Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    if t.is_file() {
        return None;
    }
    if t.is_dir() {
        return Some("a folder");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_char_device() || t.is_block_device() {
            return Some("a device");
        }
        if t.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if t.is_socket() {
            return Some("a socket");
        }
    }
    Some("not a regular file")
}

/// The folder a file path lives in (`.` for a bare name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Checks, before anything is measured, that `path` (given with `flag`) can receive a result
/// file, and returns the path to write: a symbolic link to a regular file resolves to that
/// file (the link is kept). Refused with one line each: a folder or a path ending in `/`, a
/// dangling link, a device, FIFO or socket, an existing file without `force`, a missing or
/// unwritable folder.
pub fn check_output_file(flag: &str, path: &Path, force: bool) -> anyhow::Result<PathBuf> {
    let shown = path.display();
    let text = path.to_string_lossy();
    if text.is_empty() {
        return Err(usage(format!("{flag}: give a file path")));
    }
    if text.ends_with('/') || path.is_dir() {
        let hint = if path.is_dir() {
            format!(
                "give a file path such as {}/profile.json",
                text.trim_end_matches('/')
            )
        } else {
            format!(
                "folder {} does not exist either; create it, or give a file path",
                text.trim_end_matches('/')
            )
        };
        return Err(usage(format!("{flag} {shown}: is a folder path; {hint}")));
    }
    let mut target = path.to_path_buf();
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            let link = fs::read_link(path).unwrap_or_default();
            let resolved = fs::canonicalize(path).map_err(|_| {
                usage(format!(
                    "{flag} {shown}: is a symbolic link to {}, which does not exist; give the file path itself",
                    link.display()
                ))
            })?;
            let meta = fs::metadata(&resolved)
                .with_context(|| format!("{flag} {shown}: reading {}", resolved.display()))?;
            if let Some(kind) = special_kind(&meta) {
                return Err(usage(format!(
                    "{flag} {shown}: links to {}, which is {kind}; gpubench writes only regular files: choose a file path",
                    resolved.display()
                )));
            }
            if !force {
                return Err(exists_error(flag, path));
            }
            target = resolved;
        }
        Ok(meta) => {
            if let Some(kind) = special_kind(&meta) {
                return Err(usage(format!(
                    "{flag} {shown}: is {kind}; gpubench writes only regular files: choose a file path"
                )));
            }
            if !force {
                return Err(exists_error(flag, path));
            }
        }
        Err(_) => {}
    }
    let dir = parent_dir(&target);
    if !dir.is_dir() {
        return Err(usage(format!(
            "{flag} {shown}: folder {} does not exist; create it or choose another path",
            dir.display()
        )));
    }
    check_writable_dir(dir).map_err(|e| {
        usage(format!(
            "{flag} {shown}: cannot write in {}: {e}; choose a writable path",
            dir.display()
        ))
    })?;
    Ok(target)
}

fn exists_error(flag: &str, path: &Path) -> anyhow::Error {
    usage(format!(
        "{flag} {}: file exists; choose another path or pass --force to replace it",
        path.display()
    ))
}

/// Proves a folder is writable by creating (and at once removing) a temporary file in it.
pub(crate) fn check_writable_dir(dir: &Path) -> std::io::Result<()> {
    tempfile::Builder::new()
        .prefix(".gpubench-check")
        .tempfile_in(dir)
        .map(drop)
}

/// How a write ended when the destination was not to be replaced.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Written {
    Yes,
    /// Something already stands at the path (another writer got there first).
    Exists,
}

/// Writes `bytes` to `path` through a temporary file in the same folder, flushed to disk,
/// then renamed. Without `replace`, fails if `path` exists (never overwrites silently). With
/// `replace`, replaces only a regular file. On any error no partial file is left behind.
pub fn write_atomic(path: &Path, bytes: &[u8], replace: bool) -> anyhow::Result<()> {
    match write_file(path, bytes, replace)? {
        Written::Yes => Ok(()),
        Written::Exists => Err(usage(format!(
            "{} exists; choose another path or pass --force to replace it",
            path.display()
        ))),
    }
}

/// [`write_atomic`], telling the caller when the path was taken instead of failing, so that
/// an automatic name can move on to the next free one without a race.
pub(crate) fn write_file(path: &Path, bytes: &[u8], replace: bool) -> anyhow::Result<Written> {
    let dir = parent_dir(path);
    remove_stale_temps(dir);
    if let Ok(meta) = fs::symlink_metadata(path) {
        if meta.file_type().is_symlink() || special_kind(&meta).is_some() {
            let kind = special_kind(&meta).unwrap_or("a symbolic link");
            if !replace {
                return Ok(Written::Exists);
            }
            anyhow::bail!(
                "{}: is {kind}; gpubench replaces only regular files",
                path.display()
            );
        }
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(
            "{TMP_PREFIX}{}.{}-",
            std::process::id(),
            host_tag()
        ))
        .suffix(TMP_SUFFIX)
        .tempfile_in(dir)
        .with_context(|| format!("cannot write to {}", dir.display()))?;
    // tempfile creates files readable by their owner only; a result is shareable.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o644))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    if replace {
        tmp.persist(path)
            .map_err(|e| anyhow::anyhow!("saving {}: {}", path.display(), e.error))?;
        return Ok(Written::Yes);
    }
    match tmp.persist_noclobber(path) {
        Ok(_) => Ok(Written::Yes),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Ok(Written::Exists),
        Err(e) => Err(anyhow::anyhow!("saving {}: {}", path.display(), e.error)),
    }
}

/// Removes temporary files that gpubench processes no longer running left in `dir` (a
/// process killed between creating and renaming its file). Best effort: errors are ignored.
fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some((pid, host)) = name.to_str().and_then(temp_owner) else {
            continue;
        };
        // A process id means something only on the host that wrote the file.
        let here = host.is_none_or(|h| h == host_tag());
        if here && pid != std::process::id() && !process_alive(pid) {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// The process id in a gpubench temporary file name (`.gpubench-<pid>-XXXXXX.tmp`).
/// Also the host tag, for names written with one (`.gpubench-<pid>.<host tag>-XXXXXX.tmp`).
fn temp_owner(name: &str) -> Option<(u32, Option<&str>)> {
    let rest = name.strip_prefix(TMP_PREFIX)?.strip_suffix(TMP_SUFFIX)?;
    let (owner, random) = rest.split_once('-')?;
    if random.is_empty() {
        return None;
    }
    match owner.split_once('.') {
        Some((pid, host)) if !host.is_empty() => Some((pid.parse().ok()?, Some(host))),
        Some(_) => None,
        None => Some((owner.parse().ok()?, None)),
    }
}

/// Eight hex digits standing for this host's name (FNV-1a), the same in every build.
fn host_tag() -> &'static str {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TAG.get_or_init(|| {
        let name = sysinfo::System::host_name().unwrap_or_default();
        let mut h: u32 = 0x811c_9dc5;
        for b in name.bytes() {
            h = (h ^ b as u32).wrapping_mul(0x0100_0193);
        }
        format!("{h:08x}")
    })
}

/// Whether process `pid` exists on this machine. Where that cannot be known, assume it does
/// (a leftover file is better than a deleted live one).
fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_carry_the_owner() {
        assert_eq!(temp_owner(".gpubench-1234-AbC9xy.tmp"), Some((1234, None)));
        assert_eq!(
            temp_owner(".gpubench-1234.0a1b2c3d-AbC9xy.tmp"),
            Some((1234, Some("0a1b2c3d")))
        );
        assert_eq!(temp_owner(".gpubench-1234.-AbC9xy.tmp"), None);
        assert_eq!(temp_owner(".gpubench-1234-.tmp"), None);
        assert_eq!(temp_owner(".gpubench-check123.tmp"), None);
        assert_eq!(temp_owner("gpubench-1-a.tmp"), None);
        assert_eq!(temp_owner(".gpubench-x-a.tmp"), None);
    }

    #[test]
    fn stale_temps_of_dead_processes_are_removed_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        // pid 0 never names a user process: /proc/0 does not exist.
        let dead = dir.path().join(".gpubench-0-abcdef.tmp");
        let dead_here = dir
            .path()
            .join(format!(".gpubench-0.{}-abcdef.tmp", host_tag()));
        // Another node's process, writing into a shared folder: its pid means nothing here.
        let elsewhere = dir.path().join(".gpubench-0.ffffffff-abcdef.tmp");
        let mine = dir
            .path()
            .join(format!(".gpubench-{}-abcdef.tmp", std::process::id()));
        let other = dir.path().join("notes.tmp");
        for p in [&dead, &dead_here, &elsewhere, &mine, &other] {
            fs::write(p, b"x").unwrap();
        }
        write_atomic(&dir.path().join("a.json"), b"{}", false).unwrap();
        assert_eq!(dead.exists(), !cfg!(target_os = "linux"));
        assert_eq!(dead_here.exists(), !cfg!(target_os = "linux"));
        assert!(elsewhere.exists() || host_tag() == "ffffffff");
        assert!(mine.exists() && other.exists());
    }

    #[test]
    fn never_writes_over_special_files() {
        let dir = tempfile::tempdir().unwrap();
        let e = check_output_file("--out", Path::new("/dev/null"), true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("is a device"), "{e}");
        let e = write_atomic(Path::new("/dev/null"), b"x", true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("a device"), "{e}");
        assert!(fs::metadata("/dev/null").is_ok());
        let e = check_output_file("--out", dir.path(), true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("is a folder path"), "{e}");
    }

    #[test]
    fn dangling_links_and_missing_folders_fail_before_measuring() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("link.json");
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path().join("nowhere/x.json"), &link).unwrap();
        #[cfg(unix)]
        {
            let e = check_output_file("--out", &link, true)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("symbolic link") && e.contains("does not exist"),
                "{e}"
            );
        }
        let missing = dir.path().join("newdir/");
        let e = check_output_file("--out", &missing, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not exist"), "{e}");
        let nested = dir.path().join("newdir/p.json");
        let e = check_output_file("--export-csv", &nested, false)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("--export-csv") && e.contains("does not exist"),
            "{e}"
        );
    }

    #[test]
    fn links_to_regular_files_resolve_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        fs::write(&real, b"old").unwrap();
        let link = dir.path().join("link.json");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&real, &link).unwrap();
            assert!(check_output_file("--out", &link, false).is_err());
            let t = check_output_file("--out", &link, true).unwrap();
            assert_eq!(t, fs::canonicalize(&real).unwrap());
            write_atomic(&t, b"new", true).unwrap();
            assert!(fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink());
            assert_eq!(fs::read(&link).unwrap(), b"new");
        }
    }

    #[test]
    fn taken_paths_are_reported_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        assert_eq!(write_file(&p, b"1", false).unwrap(), Written::Yes);
        assert_eq!(write_file(&p, b"2", false).unwrap(), Written::Exists);
        assert_eq!(fs::read(&p).unwrap(), b"1");
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }
}
