//! What `cuModuleLoadData` accepts: a CUDA ELF (cubin) built for the device's architecture, or
//! PTX text the driver's JIT can compile. Also the kernel names each one defines.
//!
//! Why strict: a real driver refuses a cubin for another architecture
//! (`CUDA_ERROR_NO_BINARY_FOR_GPU`) and PTX newer than its ISA
//! (`CUDA_ERROR_UNSUPPORTED_PTX_VERSION`); the backend must handle both, so the emulator must
//! refuse them too. The architecture of a cubin is in `e_flags`: with ELF ABI version 8 and later
//! (CUDA 13 NVRTC; sm_90 → `0x6005a04`) the SM number is bits 8–15, before that bits 0–7.

use std::ffi::CStr;

/// Status codes (`cudaError_enum`).
pub const NO_BINARY_FOR_GPU: u32 = 209;
pub const INVALID_IMAGE: u32 = 200;
pub const INVALID_PTX: u32 = 218;
pub const UNSUPPORTED_PTX_VERSION: u32 = 222;

/// `EM_CUDA`.
const EM_CUDA: u16 = 190;

/// A loadable image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Kernel (global function) names.
    pub kernels: Vec<String>,
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes"))
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"))
}

/// The SM number (`90` for sm_90) a CUDA ELF header says it was built for.
pub fn cubin_sm(header: &[u8]) -> Option<u32> {
    if header.len() < 64 || &header[..4] != b"\x7fELF" || header[4] != 2 {
        return None;
    }
    if u16_at(header, 18) != EM_CUDA {
        return None;
    }
    let flags = u32_at(header, 48);
    let sm = if header[8] >= 8 {
        (flags >> 8) & 0xff
    } else {
        flags & 0xff
    };
    Some(sm)
}

/// Whether code for `sm` runs on a device of compute capability `cc`: same major, minor not
/// newer.
pub fn sm_runs_on(sm: u32, cc: (u32, u32)) -> bool {
    sm / 10 == cc.0 && sm % 10 <= cc.1
}

/// Loads an image from memory the caller handed to `cuModuleLoadData`.
///
/// # Safety
/// `image` must point to a complete ELF file or a NUL-terminated string.
pub unsafe fn load(image: *const u8, cc: (u32, u32), ptx_isa: (u32, u32)) -> Result<Image, u32> {
    // SAFETY: every image starts with at least 4 readable bytes (ELF magic or PTX text).
    let magic = unsafe { std::slice::from_raw_parts(image, 4) };
    if magic == b"\x7fELF" {
        // SAFETY: an ELF file holds its 64-byte header.
        let header = unsafe { std::slice::from_raw_parts(image, 64) };
        let sm = cubin_sm(header).ok_or(INVALID_IMAGE)?;
        if !sm_runs_on(sm, cc) {
            return Err(NO_BINARY_FOR_GPU);
        }
        let shoff = u64_at(header, 40) as usize;
        let shentsize = u16_at(header, 58) as usize;
        let shnum = u16_at(header, 60) as usize;
        if shentsize < 64 || shnum == 0 {
            return Err(INVALID_IMAGE);
        }
        // SAFETY: the section header table lies within the file the header describes.
        let sh = unsafe { std::slice::from_raw_parts(image.add(shoff), shentsize * shnum) };
        let section = |i: usize| -> (u32, u64, u64, u32) {
            let o = i * shentsize;
            (
                u32_at(sh, o + 4),  // sh_type
                u64_at(sh, o + 24), // sh_offset
                u64_at(sh, o + 32), // sh_size
                u32_at(sh, o + 40), // sh_link
            )
        };
        let mut kernels = Vec::new();
        for i in 0..shnum {
            let (ty, off, size, link) = section(i);
            if ty != 2 {
                continue; // SHT_SYMTAB
            }
            let (_, stroff, strsize, _) = section(link as usize);
            // SAFETY: sections lie within the file.
            let syms =
                unsafe { std::slice::from_raw_parts(image.add(off as usize), size as usize) };
            let strs =
                unsafe { std::slice::from_raw_parts(image.add(stroff as usize), strsize as usize) };
            for s in syms.chunks_exact(24) {
                let name = u32_at(s, 0) as usize;
                let info = s[4];
                // STT_FUNC with global binding: a kernel
                if info & 0xf == 2 && info >> 4 == 1 && name < strs.len() {
                    let end = strs[name..].iter().position(|b| *b == 0).unwrap_or(0);
                    kernels.push(String::from_utf8_lossy(&strs[name..name + end]).into_owned());
                }
            }
        }
        return Ok(Image { kernels });
    }
    // SAFETY: not ELF, so PTX text, NUL-terminated.
    let text = unsafe { CStr::from_ptr(image as *const std::ffi::c_char) };
    let text = text.to_str().map_err(|_| INVALID_PTX)?;
    load_ptx(text, cc, ptx_isa)
}

/// Checks PTX text's `.version` and `.target` and lists its `.entry` names.
pub fn load_ptx(text: &str, cc: (u32, u32), ptx_isa: (u32, u32)) -> Result<Image, u32> {
    let mut version = None;
    let mut target = None;
    let mut kernels = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if let Some(v) = t.strip_prefix(".version") {
            let (a, b) = v.trim().split_once('.').ok_or(INVALID_PTX)?;
            version = Some((
                a.trim().parse::<u32>().map_err(|_| INVALID_PTX)?,
                b.trim().parse::<u32>().map_err(|_| INVALID_PTX)?,
            ));
        } else if let Some(v) = t.strip_prefix(".target") {
            let arch = v.split(',').next().unwrap_or("").trim();
            let digits: String = arch
                .trim_start_matches("sm_")
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            target = Some(digits.parse::<u32>().map_err(|_| INVALID_PTX)?);
        } else if let Some(pos) = t.find(".entry ") {
            let rest = &t[pos + 7..];
            let name: String = rest
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '$')
                .collect();
            if !name.is_empty() {
                kernels.push(name);
            }
        }
    }
    let version = version.ok_or(INVALID_PTX)?;
    let target = target.ok_or(INVALID_PTX)?;
    if version > ptx_isa {
        return Err(UNSUPPORTED_PTX_VERSION);
    }
    // PTX for an older architecture is JIT-compiled for this one; newer is refused.
    if target > cc.0 * 10 + cc.1 {
        return Err(INVALID_PTX);
    }
    Ok(Image { kernels })
}
