//! The CUDA backend's kernel compile path against the real NVRTC libraries (PyPI wheels,
//! fetched on first use, see `common/nvidia.rs`), with no GPU.
//!
//! For both NVRTC series of this build's CUDA major version (the oldest minor a current driver
//! matches, and the newest), in a child process whose loader finds that NVRTC: every NVRTC
//! symbol the backend resolves exists, and every kernel in `kernels/` compiles, with exactly
//! the backend's options, into a CUBIN for every architecture NVRTC lists, plus PTX for the
//! newest one (the path a device newer than NVRTC takes).

mod common;

use common::nvidia;
use gpubench::backend::cuda::nvrtc::{self, Image, Target};

/// The kernel names each source defines (what the backend looks up).
const KERNELS: [(&str, &[&str]); 3] = [
    (
        "kernels/fill.cu",
        &["fill_f64", "fill_f32", "fill_f16", "fill_bf16", "fill_e4m3"],
    ),
    ("kernels/copy.cu", &["copy_v16"]),
    ("kernels/hold.cu", &["hold_stream"]),
];

/// The SM architecture a CUDA ELF is built for (`e_flags`: bits 8-15 from ELF ABI version 8,
/// as NVRTC 13 writes, bits 0-7 before), or why the bytes are not a CUDA ELF.
fn cubin_arch(b: &[u8]) -> Result<u32, String> {
    if b.len() < 64 || &b[0..4] != b"\x7fELF" {
        return Err("not an ELF file".into());
    }
    if b[4] != 2 {
        return Err("not a 64-bit ELF".into());
    }
    let machine = u16::from_le_bytes([b[18], b[19]]);
    if machine != 190 {
        return Err(format!("e_machine {machine}, not 190 (NVIDIA CUDA)"));
    }
    let flags = u32::from_le_bytes([b[48], b[49], b[50], b[51]]);
    Ok(if b[8] >= 8 {
        (flags >> 8) & 0xff
    } else {
        flags & 0xff
    })
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The checks, in a process whose loader finds the NVRTC of `tag`.
fn check_in_process(tag: &str) {
    nvrtc::check_loaded().unwrap_or_else(|e| panic!("{tag}: {e}"));
    let symbols = nvrtc::symbols();
    for s in ["nvrtcGetCUBIN", "nvrtcGetSupportedArchs", "nvrtcGetPTX"] {
        assert!(symbols.contains(&s), "{s} is not in the checked list");
    }
    let version = nvrtc::version().unwrap();
    let major = if cfg!(feature = "cuda-12") { 12 } else { 13 };
    assert_eq!(version.0, major, "{tag}: NVRTC {version:?}");
    if tag.ends_with("13.0") {
        assert_eq!(version, (13, 0), "{tag}");
    }
    let archs = nvrtc::supported_archs().unwrap();
    assert!(archs.len() >= 5, "{tag}: {archs:?}");
    if major == 13 {
        // CUDA 13 dropped everything before Turing.
        assert_eq!(archs[0], 75, "{tag}: {archs:?}");
        for a in [80, 86, 89, 90, 100, 120] {
            assert!(archs.contains(&a), "{tag}: sm_{a} missing from {archs:?}");
        }
    }
    println!("{tag}: NVRTC {}.{}, archs {archs:?}", version.0, version.1);
    for &arch in &archs {
        let images = nvrtc::compile_all(Target::Cubin(arch))
            .unwrap_or_else(|e| panic!("{tag}: sm_{arch}: {e}"));
        assert_eq!(images.len(), KERNELS.len());
        for ((file, image), (want_file, names)) in images.iter().zip(KERNELS) {
            assert_eq!(*file, want_file);
            let Image::Cubin(bytes) = image else {
                panic!("{tag}: {file} for sm_{arch} is not a CUBIN");
            };
            assert_eq!(
                cubin_arch(bytes),
                Ok(arch),
                "{tag}: {file} built for sm_{arch}"
            );
            for n in names {
                assert!(contains(bytes, n), "{tag}: {file} sm_{arch} lacks {n}");
            }
        }
    }
    // A device one step past NVRTC's newest architecture gets PTX for the newest.
    let newest = *archs.last().unwrap();
    let past = (newest / 10, newest % 10 + 1);
    let target = nvrtc::target_for(past, &archs).unwrap();
    assert_eq!(target, Target::Ptx(newest));
    for ((file, image), (_, names)) in nvrtc::compile_all(target).unwrap().iter().zip(KERNELS) {
        let Image::Ptx(text) = image else {
            panic!("{tag}: {file} for compute_{newest} is not PTX");
        };
        assert!(
            text.contains(&format!(".target sm_{newest}")),
            "{tag}: {file}"
        );
        let isa = nvrtc::ptx_isa_version(text).expect("a .version line");
        // CUDA 13.0 writes PTX 9.0, and each minor version since one ISA step more.
        if tag.ends_with("13.0") {
            assert_eq!(isa, (9, 0), "{tag}: {file}");
        }
        for n in names {
            assert!(
                text.contains(&format!(".entry {n}(")),
                "{tag}: {file} lacks {n}"
            );
        }
    }
}

/// The per-series test: fetch in the parent, check in a child.
fn series(index: usize) {
    let w = nvidia::nvrtc_series()[index];
    if let Some(tag) = nvidia::child_of() {
        assert_eq!(tag, w.name, "child started for another series");
        check_in_process(&tag);
        return;
    }
    let dir = nvidia::lib_dir(w);
    let test = if index == 0 {
        "oldest_nvrtc_of_this_cuda_major_compiles_every_kernel_for_every_arch"
    } else {
        "newest_nvrtc_compiles_every_kernel_for_every_arch"
    };
    let out = nvidia::rerun_with_libs(test, &[dir], w.name);
    if let Some(line) = out.lines().find(|l| l.contains("archs")) {
        eprintln!("{line}");
    }
}

#[test]
fn oldest_nvrtc_of_this_cuda_major_compiles_every_kernel_for_every_arch() {
    series(0);
}

#[test]
fn newest_nvrtc_compiles_every_kernel_for_every_arch() {
    series(1);
}

#[test]
fn cubin_arch_reads_both_elf_abi_versions() {
    let mut b = vec![0u8; 64];
    b[0..4].copy_from_slice(b"\x7fELF");
    b[4] = 2;
    b[18] = 190;
    b[8] = 8;
    b[48..52].copy_from_slice(&0x0600_5a04u32.to_le_bytes());
    assert_eq!(cubin_arch(&b), Ok(90));
    b[8] = 7;
    b[48..52].copy_from_slice(&0x0050_0046u32.to_le_bytes());
    assert_eq!(cubin_arch(&b), Ok(70));
    b[18] = 62;
    assert!(cubin_arch(&b).is_err());
    assert!(cubin_arch(b"//\n.version 9.0").is_err());
}
