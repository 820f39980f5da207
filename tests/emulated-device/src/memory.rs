//! Device memory and pinned host memory of the emulated GPUs.
//!
//! Why lazy contents: gpubench fills gigabyte buffers and runs thousands of products, but only
//! copies a few rows back to verify. A device allocation therefore holds a description of its
//! contents (zeros, a byte value, a fill kernel's stream, a pending product, or real bytes),
//! and bytes are computed only for the ranges the host reads. Contents are shared (`Arc`), so a
//! pending product keeps the inputs it was enqueued with even if they are written later.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use crate::elem::{round_tf32, Elem};

/// Where device addresses start (device `d` at `BASE + d · SPAN`).
const BASE: u64 = 0x7f00_0000_0000;
const SPAN: u64 = 0x0100_0000_0000;
/// Alignment of every allocation (as the real allocator guarantees).
pub const ALIGN: u64 = 256;

/// What an allocation holds.
#[derive(Debug, Clone)]
pub enum Content {
    /// Never written (reads as zeros, as fresh device memory usually does).
    Zero,
    /// Every byte the same (`cuMemsetD8`).
    Const(u8),
    /// `n` elements of a fill kernel's stream, then zeros.
    Fill {
        elem: Elem,
        seed: u64,
        n: u64,
        /// All `n` elements, computed the first time a product needs them whole.
        all: Arc<OnceLock<Vec<u8>>>,
    },
    Bytes(Vec<u8>),
    /// The output of a cuBLASLt product, computed when read.
    Product(Box<Product>),
}

/// One operand of a pending product: its allocation's contents when the product was enqueued.
#[derive(Debug, Clone)]
pub struct Operand {
    pub content: Arc<Content>,
    /// Byte offset of the operand within its allocation.
    pub offset: u64,
    /// Bytes the operand spans from `offset`.
    pub len: u64,
    pub elem: Elem,
    pub ld: u64,
    /// Elements between batch entries.
    pub stride: u64,
    /// `op(X)` is `Xᵀ`.
    pub trans: bool,
    /// The operand's bytes, computed on first use.
    pub bytes: OnceLock<Arc<Vec<u8>>>,
}

impl Operand {
    fn bytes(&self) -> &[u8] {
        if let Content::Fill { elem, seed, n, all } = &*self.content {
            let (o, l) = (self.offset as usize, self.len as usize);
            if o + l <= *n as usize * elem.size() {
                let all = all.get_or_init(|| {
                    let mut v = Vec::with_capacity(*n as usize * elem.size());
                    for i in 0..*n {
                        elem.fill_element(*seed, i, &mut v);
                    }
                    v
                });
                return &all[o..o + l];
            }
        }
        self.bytes
            .get_or_init(|| Arc::new(self.content.read(self.offset, self.len)))
    }

    /// Element `(r, c)` of the stored (untransposed) column-major matrix in batch `b`.
    fn stored(&self, b: u64, r: u64, c: u64) -> f64 {
        let idx = (b * self.stride + r + c * self.ld) as usize;
        let sz = self.elem.size();
        self.elem.decode(&self.bytes()[idx * sz..])
    }

    /// Element `(i, l)` of `op(X)`.
    fn op(&self, b: u64, i: u64, l: u64) -> f64 {
        if self.trans {
            self.stored(b, l, i)
        } else {
            self.stored(b, i, l)
        }
    }
}

/// `D = alpha·op(A)·op(B) + beta·C`, column-major, batched, not computed yet.
#[derive(Debug, Clone)]
pub struct Product {
    pub m: u64,
    pub n: u64,
    pub k: u64,
    pub batch: u64,
    pub a: Operand,
    pub b: Operand,
    /// C and beta, when beta ≠ 0 (C untransposed, its own layout).
    pub c: Option<(Operand, f64)>,
    pub alpha: f64,
    /// D's element type, leading dimension, batch stride and byte offset in its allocation.
    pub d_elem: Elem,
    pub d_ld: u64,
    pub d_stride: u64,
    pub d_offset: u64,
    /// What the allocation held before (elements D does not cover keep it).
    pub prev: Arc<Content>,
    /// Inputs rounded to TF32.
    pub tf32: bool,
    /// The wrong-candidate fault: results are deliberately off.
    pub wrong: bool,
}

impl Product {
    /// Bytes `[off, off + len)` of the allocation holding D.
    fn read(&self, off: u64, len: u64) -> Vec<u8> {
        let sz = self.d_elem.size() as u64;
        let mut out = self.prev.read(off, len);
        if off + len <= self.d_offset {
            return out;
        }
        let first = off.saturating_sub(self.d_offset) / sz;
        let last = (off + len - self.d_offset).div_ceil(sz);
        let mut buf = Vec::with_capacity(8);
        for e in first..last {
            let (b, r) = if self.batch > 1 {
                (e / self.d_stride, e % self.d_stride)
            } else {
                (0, e)
            };
            let (i, j) = (r % self.d_ld, r / self.d_ld);
            if b >= self.batch || i >= self.m || j >= self.n {
                continue;
            }
            let mut acc = dot(&self.a, &self.b, b, i, j, self.k, self.tf32);
            acc *= self.alpha;
            if let Some((c, beta)) = &self.c {
                acc += beta * c.stored(b, i, j);
            }
            if self.wrong {
                acc = acc * 1.5 + 0.25;
            }
            buf.clear();
            self.d_elem.encode(acc, &mut buf);
            // copy the element's bytes that fall inside the requested range
            let elem_start = self.d_offset + e * sz;
            for (t, byte) in buf.iter().enumerate() {
                let at = elem_start + t as u64;
                if at >= off && at < off + len {
                    out[(at - off) as usize] = *byte;
                }
            }
        }
        out
    }
}

/// `Σ_l op(A)(i, l) · op(B)(l, j)` in batch `b`, fast when both run contiguously in memory
/// (op(A) transposed, op(B) not: the layout gpubench uses).
fn dot(a: &Operand, bm: &Operand, b: u64, i: u64, j: u64, k: u64, tf32: bool) -> f64 {
    let round = |x: f64| if tf32 { round_tf32(x) } else { x };
    if a.trans && !bm.trans && a.elem == bm.elem {
        let sz = a.elem.size();
        let ia = ((b * a.stride + i * a.ld) as usize) * sz;
        let ib = ((b * bm.stride + j * bm.ld) as usize) * sz;
        let (xa, xb) = (
            &a.bytes()[ia..ia + k as usize * sz],
            &bm.bytes()[ib..ib + k as usize * sz],
        );
        let mut acc = 0.0;
        match a.elem {
            Elem::Bf16 => {
                for (p, q) in xa.chunks_exact(2).zip(xb.chunks_exact(2)) {
                    let x = f32::from_bits((u16::from_le_bytes([p[0], p[1]]) as u32) << 16);
                    let y = f32::from_bits((u16::from_le_bytes([q[0], q[1]]) as u32) << 16);
                    acc += x as f64 * y as f64;
                }
            }
            Elem::F32 if !tf32 => {
                for (p, q) in xa.chunks_exact(4).zip(xb.chunks_exact(4)) {
                    let x = f32::from_le_bytes([p[0], p[1], p[2], p[3]]);
                    let y = f32::from_le_bytes([q[0], q[1], q[2], q[3]]);
                    acc += x as f64 * y as f64;
                }
            }
            e => {
                for (p, q) in xa.chunks_exact(sz).zip(xb.chunks_exact(sz)) {
                    acc += round(e.decode(p)) * round(e.decode(q));
                }
            }
        }
        return acc;
    }
    (0..k)
        .map(|l| round(a.op(b, i, l)) * round(bm.op(b, l, j)))
        .sum()
}

impl Content {
    /// Bytes `[off, off + len)`.
    pub fn read(&self, off: u64, len: u64) -> Vec<u8> {
        match self {
            Content::Zero => vec![0; len as usize],
            Content::Const(b) => vec![*b; len as usize],
            Content::Bytes(v) => {
                let mut out = vec![0; len as usize];
                let s = (off as usize).min(v.len());
                let e = ((off + len) as usize).min(v.len());
                out[..e - s].copy_from_slice(&v[s..e]);
                out
            }
            Content::Fill { elem, seed, n, .. } => {
                let sz = elem.size() as u64;
                let mut out = Vec::with_capacity(len as usize + 2 * sz as usize);
                let first = off / sz;
                let last = (off + len).div_ceil(sz);
                let mut buf = Vec::with_capacity(8);
                for i in first..last {
                    buf.clear();
                    if i < *n {
                        elem.fill_element(*seed, i, &mut buf);
                    } else {
                        buf.resize(sz as usize, 0);
                    }
                    out.extend_from_slice(&buf);
                }
                let skip = (off - first * sz) as usize;
                out[skip..skip + len as usize].to_vec()
            }
            Content::Product(p) => p.read(off, len),
        }
    }
}

/// One device allocation.
#[derive(Debug)]
pub struct Alloc {
    pub size: u64,
    pub device: u32,
    pub content: Arc<Content>,
}

/// One pinned host buffer (`cuMemHostAlloc`).
#[derive(Debug)]
pub struct Pinned {
    pub size: u64,
    pub layout: std::alloc::Layout,
    pub device_map: bool,
}

/// Why an access failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Not inside one live allocation.
    Invalid,
}

/// All device allocations and pinned buffers.
#[derive(Debug)]
pub struct Memory {
    pub allocs: BTreeMap<u64, Alloc>,
    pub pinned: BTreeMap<u64, Pinned>,
    next: Vec<u64>,
    /// Device allocations made so far (for the out-of-memory-at-k fault).
    pub count: u64,
}

impl Memory {
    pub fn new(devices: u32) -> Memory {
        Memory {
            allocs: BTreeMap::new(),
            pinned: BTreeMap::new(),
            next: (0..devices as u64).map(|d| BASE + d * SPAN).collect(),
            count: 0,
        }
    }

    /// Reserves `size` bytes on `device` (the caller checked the memory limit).
    pub fn alloc(&mut self, device: u32, size: u64) -> u64 {
        let at = self.next[device as usize];
        // a gap after every allocation, so an access past the end hits no other buffer
        self.next[device as usize] = at + size.div_ceil(ALIGN) * ALIGN + ALIGN;
        self.allocs.insert(
            at,
            Alloc {
                size,
                device,
                content: Arc::new(Content::Zero),
            },
        );
        at
    }

    /// The device allocation containing `[addr, addr + len)`, as (base, allocation).
    pub fn find(&self, addr: u64, len: u64) -> Result<(u64, &Alloc), Fault> {
        let (base, a) = self
            .allocs
            .range(..=addr)
            .next_back()
            .ok_or(Fault::Invalid)?;
        if addr + len > base + a.size {
            return Err(Fault::Invalid);
        }
        Ok((*base, a))
    }

    /// The pinned buffer containing `[addr, addr + len)`, as its base.
    pub fn find_pinned(&self, addr: u64, len: u64) -> Option<u64> {
        let (base, p) = self.pinned.range(..=addr).next_back()?;
        (addr + len <= base + p.size).then_some(*base)
    }

    /// Reads device or pinned memory.
    pub fn read(&self, addr: u64, len: u64) -> Result<Vec<u8>, Fault> {
        if self.find_pinned(addr, len).is_some() {
            // SAFETY: inside a live pinned buffer this library allocated.
            let s = unsafe { std::slice::from_raw_parts(addr as *const u8, len as usize) };
            return Ok(s.to_vec());
        }
        let (base, a) = self.find(addr, len)?;
        Ok(a.content.read(addr - base, len))
    }

    /// Replaces `[addr, addr + len)` with `content` (whose offset 0 lands at `addr`).
    pub fn store(&mut self, addr: u64, len: u64, content: Content) -> Result<(), Fault> {
        if len == 0 {
            return Ok(());
        }
        if self.find_pinned(addr, len).is_some() {
            let bytes = content.read(0, len);
            // SAFETY: inside a live pinned buffer this library allocated.
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), addr as *mut u8, bytes.len()) };
            return Ok(());
        }
        let (base, size) = {
            let (base, a) = self.find(addr, len)?;
            (base, a.size)
        };
        let a = self.allocs.get_mut(&base).expect("found above");
        if addr == base && len == size {
            a.content = Arc::new(content);
            return Ok(());
        }
        // partial write: materialize the allocation, then overwrite the range
        let mut bytes = match &*a.content {
            Content::Bytes(v) if v.len() as u64 == size => v.clone(),
            other => other.read(0, size),
        };
        let new = content.read(0, len);
        let off = (addr - base) as usize;
        bytes[off..off + len as usize].copy_from_slice(&new);
        a.content = Arc::new(Content::Bytes(bytes));
        Ok(())
    }

    /// The contents of the allocation at `base` (shared).
    pub fn content_of(&self, base: u64) -> Arc<Content> {
        self.allocs[&base].content.clone()
    }

    /// Copies `[src, src + len)` to `[dst, dst + len)` (device or pinned memory), sharing the
    /// contents when both ranges are whole allocations of the same size.
    pub fn copy(&mut self, src: u64, dst: u64, len: u64) -> Result<(), Fault> {
        if let (Ok((sb, sa)), Ok((db, da))) = (self.find(src, len), self.find(dst, len)) {
            if sb == src && db == dst && len == da.size && len <= sa.size {
                let c = sa.content.clone();
                self.allocs.get_mut(&db).expect("found").content = c;
                return Ok(());
            }
        }
        let bytes = self.read(src, len)?;
        self.store(dst, len, Content::Bytes(bytes))
    }
}
