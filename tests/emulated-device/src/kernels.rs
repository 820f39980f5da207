//! Host implementations of gpubench's kernels (`kernels/*.cu`), keyed by name, with their real
//! parameter lists: what `cuLaunchKernel` runs.
//!
//! Why by name: the emulator cannot execute SASS or PTX; it knows what each of gpubench's
//! kernels does. A kernel added to `kernels/` needs an entry here (its launch otherwise fails
//! with `CUDA_ERROR_NOT_SUPPORTED` and a line naming it).

use crate::driver::err;
use crate::elem::Elem;
use crate::memory::Content;
use crate::{cfg, State};

/// Parameters of each kernel (all 8 bytes: pointers and `unsigned long long`).
pub fn arity(name: &str) -> Option<usize> {
    match name {
        "fill_f64" | "fill_f32" | "fill_f16" | "fill_bf16" | "fill_e4m3" => Some(3),
        "copy_v16" => Some(3),
        "hold_stream" => Some(3),
        _ => None,
    }
}

fn fill_elem(name: &str) -> Option<Elem> {
    Some(match name {
        "fill_f64" => Elem::F64,
        "fill_f32" => Elem::F32,
        "fill_f16" => Elem::F16,
        "fill_bf16" => Elem::Bf16,
        "fill_e4m3" => Elem::E4m3,
        _ => return None,
    })
}

/// Runs kernel `name` with `args` on `stream`: its effect on memory now, its duration on the
/// stream's timeline. An access outside an allocation is `CUDA_ERROR_ILLEGAL_ADDRESS`'s
/// sticky cousin here: the launch fails with `CUDA_ERROR_INVALID_VALUE`.
pub fn launch(s: &mut State, stream: u64, name: &str, args: &[u64]) -> Result<(), u32> {
    let bw = cfg().bandwidth;
    if let Some(elem) = fill_elem(name) {
        // fill_<elem>(T* out, u64 n, u64 seed)
        let (out, n, seed) = (args[0], args[1], args[2]);
        let bytes = n * elem.size() as u64;
        check_device_range(s, out, bytes)?;
        s.enqueue(stream, bytes as f64 / bw, None);
        s.mem
            .store(
                out,
                bytes,
                Content::Fill {
                    elem,
                    seed,
                    n,
                    all: Default::default(),
                },
            )
            .map_err(|_| err::INVALID_VALUE)?;
        return Ok(());
    }
    match name {
        "copy_v16" => {
            // copy_v16(const uint4* src, uint4* dst, u64 n16)
            let (src, dst, n16) = (args[0], args[1], args[2]);
            let bytes = n16 * 16;
            if src % 16 != 0 || dst % 16 != 0 {
                return Err(err::INVALID_VALUE);
            }
            check_device_range(s, src, bytes)?;
            check_device_range(s, dst, bytes)?;
            // a copy reads and writes every byte
            s.enqueue(stream, 2.0 * bytes as f64 / bw, None);
            s.mem.copy(src, dst, bytes).map_err(|_| err::INVALID_VALUE)
        }
        "hold_stream" => {
            // hold_stream(const volatile u32* release, u64 timeout_ns, u32* timed_out)
            let (release, timeout_ns, timed_out) = (args[0], args[1], args[2]);
            for p in [release, timed_out] {
                if p % 4 != 0 || s.mem.read(p, 4).is_err() {
                    return Err(err::INVALID_VALUE);
                }
            }
            s.hold(stream, release, timeout_ns as f64, timed_out);
            Ok(())
        }
        _ => Err(err::NOT_SUPPORTED),
    }
}

/// `[addr, addr + len)` lies inside one device allocation.
fn check_device_range(s: &State, addr: u64, len: u64) -> Result<(), u32> {
    s.mem
        .find(addr, len.max(1))
        .map(|_| ())
        .map_err(|_| err::INVALID_VALUE)
}
