//! The leak report: at process exit, one line per object the program never released
//! (allocations, pinned buffers, modules, events, streams, retained contexts, cuBLASLt
//! handles, descriptors, layouts and preferences, NVML initializations), written to
//! `GPUBENCH_EMU_REPORT`. An empty file means clean; tests assert it.
//!
//! Why at exit: that is when everything a command created must be gone; a leak on a real GPU
//! is memory the next measurement cannot use.

use std::ffi::c_int;
use std::fmt::Write as _;
use std::sync::Once;

use crate::{cfg, lock};

extern "C" {
    fn atexit(cb: extern "C" fn()) -> c_int;
}

/// Registers the exit handler (once per process).
pub fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if cfg().report.is_some() {
            // SAFETY: registers a plain function with the C library.
            unsafe { atexit(write_report) };
        }
    });
}

/// The report's lines (empty when everything was released).
pub fn leaks() -> String {
    let mut r = String::new();
    let nvml = crate::nvml::open_inits();
    if nvml > 0 {
        let _ = writeln!(
            r,
            "leak: NVML initialized {nvml} time(s) more than shut down"
        );
    }
    for (id, device, rank, ranks) in crate::nccl::open_comms() {
        let _ = writeln!(
            r,
            "leak: NCCL communicator {id:#x} (rank {rank} of {ranks}, device {device}) never destroyed"
        );
    }
    let g = lock();
    let Some(s) = g.as_ref() else {
        return r;
    };
    for (addr, a) in &s.mem.allocs {
        let _ = writeln!(
            r,
            "leak: device allocation {addr:#x} ({} bytes) on device {}",
            a.size, a.device
        );
    }
    for (addr, p) in &s.mem.pinned {
        let _ = writeln!(r, "leak: pinned host buffer {addr:#x} ({} bytes)", p.size);
    }
    for (id, m) in &s.modules {
        let _ = writeln!(r, "leak: module {id:#x} ({})", m.kernels.join(", "));
    }
    for id in s.events.keys() {
        let _ = writeln!(r, "leak: event {id:#x}");
    }
    for (id, st) in &s.streams {
        if *id & 0xf == 0 {
            let _ = writeln!(r, "leak: stream {id:#x} on device {}", st.device);
        }
    }
    for (i, d) in s.devices.iter().enumerate() {
        if d.ctx_refs > 0 {
            let _ = writeln!(
                r,
                "leak: primary context of device {i} retained {} time(s) more than released",
                d.ctx_refs
            );
        }
    }
    for id in &s.lt.handles {
        let _ = writeln!(r, "leak: cuBLASLt handle {id:#x}");
    }
    for id in s.lt.descs.keys() {
        let _ = writeln!(r, "leak: cuBLASLt matmul descriptor {id:#x}");
    }
    for id in s.lt.layouts.keys() {
        let _ = writeln!(r, "leak: cuBLASLt matrix layout {id:#x}");
    }
    for id in s.lt.prefs.keys() {
        let _ = writeln!(r, "leak: cuBLASLt matmul preference {id:#x}");
    }
    r
}

extern "C" fn write_report() {
    if let Some(path) = &cfg().report {
        let text = leaks();
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("gpubench emulated device: cannot write the leak report {path}: {e}");
        }
    }
}
