//! cuBLASLt: the handle, the per-GEMM plan (descriptors, layouts, heuristic candidates) and
//! the `cublasLtMatmul` call.
//!
//! Why cuBLASLt and not cudarc's `Matmul` trait: gpubench must choose the compute type itself
//! (cudarc's f32 matmul silently uses TF32, docs/measuring.md §4.4), run fp8, list the heuristic's
//! candidates and say which algorithm ran. Every problem uses the "TN" mapping of
//! [`column_major_mapping`]: the `Bt` buffer is operand A (transposed), the `A` buffer is
//! operand B, and C (= D, written in place) is seen as the column-major n×m matrix Cᵀ.

use std::ffi::{c_int, c_void};

use cudarc::cublaslt::result as lt;
use cudarc::cublaslt::sys;
use sys::cublasComputeType_t as Compute;
use sys::cudaDataType as Data;

use super::elem::Elem;
use crate::backend::{column_major_mapping, GemmShape};
use crate::dtype::DType;
use crate::error::usage;

/// Workspace offered to cuBLASLt (NVIDIA's recommendation for Hopper; enough everywhere).
pub(super) const WORKSPACE_BYTES: usize = 32 << 20;

/// Candidates asked of the heuristic.
const MAX_CANDIDATES: usize = 32;

/// A cuBLASLt handle.
pub(super) struct LtHandle(sys::cublasLtHandle_t);

impl LtHandle {
    pub(super) fn new() -> anyhow::Result<LtHandle> {
        let h = lt::create_handle().map_err(|e| lt_err("cublasLtCreate", e))?;
        Ok(LtHandle(h))
    }
}

impl Drop for LtHandle {
    fn drop(&mut self) {
        // SAFETY: created in `new`, destroyed once; an error here cannot be reported.
        let _ = unsafe { lt::destroy_handle(self.0) };
    }
}

fn lt_err(what: &str, e: lt::CublasError) -> anyhow::Error {
    anyhow::anyhow!("{what} failed: {:?}", e.0)
}

/// cuBLASLt types of one dtype.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct LtTypes {
    /// A and B.
    pub ab: Data,
    /// C and D.
    pub cd: Data,
    pub compute: Compute,
    /// Type of alpha and beta.
    pub scale: Data,
    /// The compute type's C name, recorded in profiles.
    pub compute_name: &'static str,
}

/// The types each dtype runs with (fp32 is strict IEEE: no TF32).
pub(super) fn lt_types(dtype: DType) -> LtTypes {
    let t = |ab, cd, compute, scale, compute_name| LtTypes {
        ab,
        cd,
        compute,
        scale,
        compute_name,
    };
    match dtype {
        DType::Fp16 => t(
            Data::CUDA_R_16F,
            Data::CUDA_R_16F,
            Compute::CUBLAS_COMPUTE_32F,
            Data::CUDA_R_32F,
            "CUBLAS_COMPUTE_32F",
        ),
        DType::Bf16 => t(
            Data::CUDA_R_16BF,
            Data::CUDA_R_16BF,
            Compute::CUBLAS_COMPUTE_32F,
            Data::CUDA_R_32F,
            "CUBLAS_COMPUTE_32F",
        ),
        DType::Fp32 => t(
            Data::CUDA_R_32F,
            Data::CUDA_R_32F,
            Compute::CUBLAS_COMPUTE_32F,
            Data::CUDA_R_32F,
            "CUBLAS_COMPUTE_32F",
        ),
        DType::Tf32 => t(
            Data::CUDA_R_32F,
            Data::CUDA_R_32F,
            Compute::CUBLAS_COMPUTE_32F_FAST_TF32,
            Data::CUDA_R_32F,
            "CUBLAS_COMPUTE_32F_FAST_TF32",
        ),
        DType::Fp64 => t(
            Data::CUDA_R_64F,
            Data::CUDA_R_64F,
            Compute::CUBLAS_COMPUTE_64F,
            Data::CUDA_R_64F,
            "CUBLAS_COMPUTE_64F",
        ),
        DType::Fp8 => t(
            Data::CUDA_R_8F_E4M3,
            Data::CUDA_R_16BF,
            Compute::CUBLAS_COMPUTE_32F,
            Data::CUDA_R_32F,
            "CUBLAS_COMPUTE_32F",
        ),
    }
}

/// A column-major matrix layout as cuBLASLt sees one buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct LayoutSpec {
    pub rows: u64,
    pub cols: u64,
    pub ld: i64,
    /// Elements between consecutive batch entries.
    pub batch_stride: i64,
}

/// Layouts of operand A (the `Bt` buffer), operand B (the `A` buffer) and C, from
/// [`column_major_mapping`]: stored (untransposed) dimensions, leading dimensions, and the
/// packed batch strides of gpubench's buffers.
pub(super) fn layouts(shape: GemmShape) -> [LayoutSpec; 3] {
    let g = column_major_mapping(shape);
    let spec = |rows: u64, cols: u64, ld: u64| LayoutSpec {
        rows,
        cols,
        ld: ld as i64,
        batch_stride: (ld * cols) as i64,
    };
    let (ar, ac) = if g.transa { (g.k, g.m) } else { (g.m, g.k) };
    let (br, bc) = if g.transb { (g.n, g.k) } else { (g.k, g.n) };
    [
        spec(ar, ac, g.lda),
        spec(br, bc, g.ldb),
        spec(g.m, g.n, g.ldc),
    ]
}

struct Desc(sys::cublasLtMatmulDesc_t);
impl Drop for Desc {
    fn drop(&mut self) {
        // SAFETY: created once, destroyed once.
        let _ = unsafe { lt::destroy_matmul_desc(self.0) };
    }
}

struct Layout(sys::cublasLtMatrixLayout_t);
impl Drop for Layout {
    fn drop(&mut self) {
        // SAFETY: created once, destroyed once.
        let _ = unsafe { lt::destroy_matrix_layout(self.0) };
    }
}

struct Pref(sys::cublasLtMatmulPreference_t);
impl Drop for Pref {
    fn drop(&mut self) {
        // SAFETY: created once, destroyed once.
        let _ = unsafe { lt::destroy_matmul_pref(self.0) };
    }
}

/// Sets one attribute from a plain value (the setter copies `size_of::<T>()` bytes).
macro_rules! set_attr {
    ($setter:path, $obj:expr, $attr:expr, $val:expr, $what:expr) => {{
        let v = $val;
        // SAFETY: `$obj` is live; the buffer is `v`, of exactly the attribute's size.
        unsafe {
            $setter(
                $obj,
                $attr,
                (&v) as *const _ as *const c_void,
                std::mem::size_of_val(&v),
            )
        }
        .map_err(|e| lt_err($what, e))
    }};
}

fn make_layout(data: Data, s: LayoutSpec, batch: u64) -> anyhow::Result<Layout> {
    use sys::cublasLtMatrixLayoutAttribute_t as A;
    let l = Layout(
        lt::create_matrix_layout(data, s.rows, s.cols, s.ld)
            .map_err(|e| lt_err("cublasLtMatrixLayoutCreate", e))?,
    );
    if batch > 1 {
        let count = c_int::try_from(batch).map_err(|_| {
            usage(format!(
                "batch {batch} is too large for cuBLASLt (at most {})",
                c_int::MAX
            ))
        })?;
        let setter = lt::set_matrix_layout_attribute;
        set_attr!(
            setter,
            l.0,
            A::CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT,
            count,
            "setting BATCH_COUNT"
        )?;
        set_attr!(
            setter,
            l.0,
            A::CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
            s.batch_stride,
            "setting STRIDED_BATCH_OFFSET"
        )?;
    }
    Ok(l)
}

/// One heuristic candidate.
struct Candidate {
    algo: sys::cublasLtMatmulAlgo_t,
    description: String,
}

/// alpha = 1 and beta = 0 in the scale type.
enum Scalars {
    F32([f32; 2]),
    F64([f64; 2]),
}

impl Scalars {
    fn ptrs(&self) -> (*const c_void, *const c_void) {
        match self {
            Scalars::F32(v) => (&v[0] as *const f32 as _, &v[1] as *const f32 as _),
            Scalars::F64(v) => (&v[0] as *const f64 as _, &v[1] as *const f64 as _),
        }
    }
}

/// Pointer alignments (bytes) the heuristic may assume for A, B, C and D.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Alignments {
    pub a: u32,
    pub b: u32,
    pub c: u32,
}

/// The largest power of two (at most 256, cuBLASLt's default assumption) dividing every
/// address.
pub(super) fn alignment(addrs: &[u64]) -> u32 {
    addrs
        .iter()
        .map(|&p| {
            if p == 0 {
                256
            } else {
                1u32 << p.trailing_zeros().min(8)
            }
        })
        .min()
        .unwrap_or(256)
}

/// The descriptors of one GEMM: what `cublasLtMatmulAlgoGetHeuristic` and `cublasLtMatmul`
/// take besides the buffers. Built without a handle, so the attribute types can be checked
/// against the real library without a GPU.
pub(super) struct Descriptors {
    desc: Desc,
    a: Layout,
    b: Layout,
    c: Layout,
    pref: Pref,
}

/// Everything one `cublasLtMatmul` call needs except the buffers.
pub(super) struct MatmulCall {
    d: Descriptors,
    candidates: Vec<Candidate>,
    selected: usize,
    scalars: Scalars,
    pub(super) types: LtTypes,
}

/// Builds the matmul descriptor (compute type, transposes, fp8 fast accumulation), the three
/// layouts and the heuristic preference (workspace, alignments). Every attribute is set from a
/// value of the exact type the cuBLASLt documentation gives it (the library checks the size).
pub(super) fn descriptors(
    dtype: DType,
    shape: GemmShape,
    align: Alignments,
    fp8_fast_accum: bool,
) -> anyhow::Result<Descriptors> {
    use sys::cublasLtMatmulDescAttributes_t as D;
    use sys::cublasLtMatmulPreferenceAttributes_t as P;
    let types = lt_types(dtype);
    let g = column_major_mapping(shape);
    let desc = Desc(
        lt::create_matmul_desc(types.compute, types.scale)
            .map_err(|e| lt_err("cublasLtMatmulDescCreate", e))?,
    );
    // cublasOperation_t: CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 (an int32).
    let op = |t: bool| -> i32 { i32::from(t) };
    let set_desc = lt::set_matmul_desc_attribute;
    set_attr!(
        set_desc,
        desc.0,
        D::CUBLASLT_MATMUL_DESC_TRANSA,
        op(g.transa),
        "setting TRANSA"
    )?;
    set_attr!(
        set_desc,
        desc.0,
        D::CUBLASLT_MATMUL_DESC_TRANSB,
        op(g.transb),
        "setting TRANSB"
    )?;
    if dtype == DType::Fp8 {
        // CUBLASLT_MATMUL_DESC_FAST_ACCUM is an int8_t; 0 (the default) is the accurate path.
        set_attr!(
            set_desc,
            desc.0,
            D::CUBLASLT_MATMUL_DESC_FAST_ACCUM,
            i8::from(fp8_fast_accum),
            "setting FAST_ACCUM"
        )?;
    }

    let [la, lb, lc] = layouts(shape);
    let a = make_layout(types.ab, la, shape.batch)?;
    let b = make_layout(types.ab, lb, shape.batch)?;
    let c = make_layout(types.cd, lc, shape.batch)?;

    let pref =
        Pref(lt::create_matmul_pref().map_err(|e| lt_err("cublasLtMatmulPreferenceCreate", e))?);
    let set_pref = lt::set_matmul_pref_attribute;
    set_attr!(
        set_pref,
        pref.0,
        P::CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
        WORKSPACE_BYTES as u64,
        "setting MAX_WORKSPACE_BYTES"
    )?;
    set_attr!(
        set_pref,
        pref.0,
        P::CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES,
        align.a,
        "setting MIN_ALIGNMENT_A_BYTES"
    )?;
    set_attr!(
        set_pref,
        pref.0,
        P::CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
        align.b,
        "setting MIN_ALIGNMENT_B_BYTES"
    )?;
    set_attr!(
        set_pref,
        pref.0,
        P::CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES,
        align.c,
        "setting MIN_ALIGNMENT_C_BYTES"
    )?;
    set_attr!(
        set_pref,
        pref.0,
        P::CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES,
        align.c,
        "setting MIN_ALIGNMENT_D_BYTES"
    )?;
    Ok(Descriptors {
        desc,
        a,
        b,
        c,
        pref,
    })
}

impl MatmulCall {
    /// Builds the descriptors and asks the heuristic for up to 32 candidates.
    pub(super) fn new(
        handle: &LtHandle,
        dtype: DType,
        shape: GemmShape,
        align: Alignments,
        fp8_fast_accum: bool,
    ) -> anyhow::Result<MatmulCall> {
        let types = lt_types(dtype);
        let d = descriptors(dtype, shape, align, fp8_fast_accum)?;
        // SAFETY: all-zero bytes are a valid heuristic result (status 0 = SUCCESS, plain data).
        let mut results: Vec<sys::cublasLtMatmulHeuristicResult_t> =
            vec![unsafe { std::mem::zeroed() }; MAX_CANDIDATES];
        let mut returned: c_int = 0;
        // SAFETY: every descriptor is live; `results` holds MAX_CANDIDATES entries.
        let status = unsafe {
            sys::cublasLtMatmulAlgoGetHeuristic(
                handle.0,
                d.desc.0,
                d.a.0,
                d.b.0,
                d.c.0,
                d.c.0,
                d.pref.0,
                MAX_CANDIDATES as c_int,
                results.as_mut_ptr(),
                &mut returned,
            )
        };
        use sys::cublasStatus_t as S;
        let candidates: Vec<Candidate> = match status {
            S::CUBLAS_STATUS_SUCCESS => results
                .iter()
                .take(returned.clamp(0, MAX_CANDIDATES as c_int) as usize)
                .filter(|r| r.state == S::CUBLAS_STATUS_SUCCESS)
                .map(|r| Candidate {
                    algo: r.algo,
                    description: describe(&r.algo, r.wavesCount),
                })
                .collect(),
            // For a shape no kernel can run, the heuristic answers NOT_SUPPORTED, or for fp8
            // INVALID_VALUE (github.com/NVIDIA/CUDALibrarySamples/issues/172): both mean "no algorithm".
            S::CUBLAS_STATUS_NOT_SUPPORTED => Vec::new(),
            S::CUBLAS_STATUS_INVALID_VALUE if dtype == DType::Fp8 => Vec::new(),
            _ => anyhow::bail!(
                "cublasLtMatmulAlgoGetHeuristic failed for {dtype} {shape}: {status:?}"
            ),
        };
        if candidates.is_empty() {
            return Err(no_algorithm(dtype, shape));
        }
        let scalars = if types.scale == Data::CUDA_R_64F {
            Scalars::F64([1.0, 0.0])
        } else {
            Scalars::F32([1.0, 0.0])
        };
        Ok(MatmulCall {
            d,
            candidates,
            selected: 0,
            scalars,
            types,
        })
    }

    pub(super) fn candidate_count(&self) -> usize {
        self.candidates.len()
    }

    pub(super) fn select(&mut self, index: usize) -> anyhow::Result<()> {
        if index >= self.candidates.len() {
            anyhow::bail!(
                "algorithm {index} does not exist: cuBLASLt offered {} candidates (0 to {})",
                self.candidates.len(),
                self.candidates.len() - 1
            );
        }
        self.selected = index;
        Ok(())
    }

    /// "algo=… tile=… …; heuristic #i of n".
    pub(super) fn algorithm(&self) -> String {
        format!(
            "{}; heuristic #{} of {}",
            self.candidates[self.selected].description,
            self.selected,
            self.candidates.len()
        )
    }

    /// Queues one product on `stream`: `C = A·B` with `bt` as operand A and `a` as operand B.
    ///
    /// # Safety
    /// The pointers must be device buffers of this plan's dtype and shape (A: m·k·batch,
    /// Bt: n·k·batch, C: m·n·batch elements) with at least the alignments the plan was built
    /// with, `workspace` must hold [`WORKSPACE_BYTES`], and `stream` must belong to the context
    /// current on this thread.
    pub(super) unsafe fn matmul(
        &self,
        handle: &LtHandle,
        a: u64,
        bt: u64,
        c: u64,
        workspace: u64,
        stream: cudarc::driver::sys::CUstream,
    ) -> anyhow::Result<()> {
        let (alpha, beta) = self.scalars.ptrs();
        let algo = &self.candidates[self.selected].algo;
        sys::cublasLtMatmul(
            handle.0,
            self.d.desc.0,
            alpha,
            bt as *const c_void,
            self.d.a.0,
            a as *const c_void,
            self.d.b.0,
            beta,
            c as *const c_void,
            self.d.c.0,
            c as *mut c_void,
            self.d.c.0,
            algo,
            workspace as *mut c_void,
            WORKSPACE_BYTES,
            stream as sys::cudaStream_t,
        )
        .result()
        .map_err(|e| lt_err("cublasLtMatmul", e))
    }
}

/// Whether cuBLASLt's documented fp8 requirements hold for gpubench's shape, else the rule
/// that fails.
///
/// The cuBLAS documentation (<https://docs.nvidia.com/cuda/cublas/#cublasltmatmul>, "To use
/// FP8 kernels"; the rules it refers to are in "Tensor Core Usage"): A transposed and B not
/// (the "TN" format, which gpubench always uses), compute type CUBLAS_COMPUTE_32F, scale type
/// CUDA_R_32F, and "all matrix dimensions must meet the optimal requirements listed in Tensor
/// Core Usage": `((opA == N ? m : k) · sizeof A) % 16 == 0`, `((opB == N ? k : n) · sizeof B)
/// % 16 == 0`, `(m · sizeof C) % 16 == 0`, `(ld · sizeof) % 16 == 0` for A, B and C, and
/// 16-byte aligned pointers. With TN, 1-byte A and B, and lda = ldb = k, the first two and the
/// leading dimensions of A and B require k % 16 == 0; cuBLASLt's m (and ldc) is gpubench's n
/// ([`column_major_mapping`]: C is seen as the n×m matrix Cᵀ), so the bf16 output requires
/// n · 2 % 16 == 0, i.e. n % 8 == 0. cuBLASLt's n, gpubench's m, has no requirement.
pub(super) fn fp8_shape_rule(shape: GemmShape) -> Result<(), &'static str> {
    let out_bytes = Elem::output(DType::Fp8).size() as u64;
    if !shape.k.is_multiple_of(16) {
        return Err("k must be a multiple of 16");
    }
    if !(shape.n * out_bytes).is_multiple_of(16) {
        return Err("n must be a multiple of 8 (16 bytes of bf16 output)");
    }
    Ok(())
}

/// The error when the heuristic offers nothing; a usage error when the shape breaks fp8's
/// documented requirements (the user can pick another shape).
fn no_algorithm(dtype: DType, shape: GemmShape) -> anyhow::Error {
    if dtype == DType::Fp8 {
        if let Err(rule) = fp8_shape_rule(shape) {
            return usage(format!(
                "cuBLASLt has no fp8 algorithm for {shape}: {rule} (m may be anything); pick such a shape or another dtype"
            ));
        }
    }
    anyhow::anyhow!("cuBLASLt offers no algorithm for {dtype} {shape} on this GPU")
}

/// Reads one algorithm configuration attribute (whatever its integer width).
fn algo_attr(
    algo: &sys::cublasLtMatmulAlgo_t,
    attr: sys::cublasLtMatmulAlgoConfigAttributes_t,
) -> Option<u64> {
    let ok = sys::cublasStatus_t::CUBLAS_STATUS_SUCCESS;
    let mut size = 0usize;
    // SAFETY: with a zero size and null buffer, cuBLASLt only writes the needed size.
    let st = unsafe {
        sys::cublasLtMatmulAlgoConfigGetAttribute(algo, attr, std::ptr::null_mut(), 0, &mut size)
    };
    if st != ok || size == 0 || size > 8 {
        return None;
    }
    let mut buf = [0u8; 8];
    let mut written = 0usize;
    // SAFETY: `buf` has room for `size` (≤ 8) bytes.
    let st = unsafe {
        sys::cublasLtMatmulAlgoConfigGetAttribute(
            algo,
            attr,
            buf.as_mut_ptr() as *mut c_void,
            size,
            &mut written,
        )
    };
    (st == ok).then(|| u64::from_le_bytes(buf))
}

/// A short description of an algorithm from its configuration attributes.
fn describe(algo: &sys::cublasLtMatmulAlgo_t, waves: f32) -> String {
    use sys::cublasLtMatmulAlgoConfigAttributes_t as C;
    let fields = [
        ("algo", C::CUBLASLT_ALGO_CONFIG_ID),
        ("tile", C::CUBLASLT_ALGO_CONFIG_TILE_ID),
        ("stages", C::CUBLASLT_ALGO_CONFIG_STAGES_ID),
        ("splitk", C::CUBLASLT_ALGO_CONFIG_SPLITK_NUM),
        ("reduction", C::CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME),
        ("swizzle", C::CUBLASLT_ALGO_CONFIG_CTA_SWIZZLING),
        ("custom", C::CUBLASLT_ALGO_CONFIG_CUSTOM_OPTION),
        ("inner", C::CUBLASLT_ALGO_CONFIG_INNER_SHAPE_ID),
        ("cluster", C::CUBLASLT_ALGO_CONFIG_CLUSTER_SHAPE_ID),
    ];
    let mut parts: Vec<String> = fields
        .iter()
        .filter_map(|(name, attr)| algo_attr(algo, *attr).map(|v| format!("{name}={v}")))
        .collect();
    if waves.is_finite() && waves > 0.0 {
        parts.push(format!("waves={waves:.2}"));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_per_dtype() {
        let t = lt_types(DType::Tf32);
        assert_eq!(t.compute, Compute::CUBLAS_COMPUTE_32F_FAST_TF32);
        assert_eq!(t.compute_name, "CUBLAS_COMPUTE_32F_FAST_TF32");
        // fp32 is strict: no TF32
        assert_eq!(lt_types(DType::Fp32).compute, Compute::CUBLAS_COMPUTE_32F);
        let f8 = lt_types(DType::Fp8);
        assert_eq!(
            (f8.ab, f8.cd, f8.scale),
            (Data::CUDA_R_8F_E4M3, Data::CUDA_R_16BF, Data::CUDA_R_32F)
        );
        let f64_ = lt_types(DType::Fp64);
        assert_eq!(
            (f64_.compute, f64_.scale),
            (Compute::CUBLAS_COMPUTE_64F, Data::CUDA_R_64F)
        );
        assert_eq!(lt_types(DType::Fp16).ab, Data::CUDA_R_16F);
        assert_eq!(lt_types(DType::Bf16).cd, Data::CUDA_R_16BF);
        for d in DType::ALL {
            // the recorded name is the enum's name
            assert_eq!(
                format!("{:?}", lt_types(d).compute),
                lt_types(d).compute_name
            );
        }
    }

    #[test]
    fn layouts_follow_tn_mapping() {
        let shape = GemmShape {
            m: 3,
            n: 5,
            k: 7,
            batch: 4,
        };
        let [a, b, c] = layouts(shape);
        // operand A = Bt buffer (n×k row-major) read column-major: k×n, ld k
        assert_eq!(
            a,
            LayoutSpec {
                rows: 7,
                cols: 5,
                ld: 7,
                batch_stride: 35
            }
        );
        // operand B = A buffer (m×k row-major) read column-major: k×m, ld k
        assert_eq!(
            b,
            LayoutSpec {
                rows: 7,
                cols: 3,
                ld: 7,
                batch_stride: 21
            }
        );
        // C (m×n row-major) read column-major: n×m, ld n
        assert_eq!(
            c,
            LayoutSpec {
                rows: 5,
                cols: 3,
                ld: 5,
                batch_stride: 15
            }
        );
    }

    #[test]
    fn alignments() {
        assert_eq!(alignment(&[0x7f00_0000_0000]), 256);
        assert_eq!(alignment(&[0x7f00_0000_0000, 0x7f00_0000_0010]), 16);
        assert_eq!(alignment(&[0x1002]), 2);
        assert_eq!(alignment(&[]), 256);
    }

    #[test]
    fn fp8_misaligned_shape_is_a_usage_error() {
        let shape = |m, n, k| GemmShape { m, n, k, batch: 1 };
        let e = no_algorithm(DType::Fp8, shape(37, 53, 129));
        assert!(crate::error::is_usage(&e));
        assert!(e.to_string().contains("k must be a multiple of 16"), "{e}");
        let e = no_algorithm(DType::Fp8, shape(64, 52, 64));
        assert!(crate::error::is_usage(&e));
        assert!(e.to_string().contains("n must be a multiple of 8"), "{e}");
        let e = no_algorithm(DType::Fp16, GemmShape::square(64));
        assert!(!crate::error::is_usage(&e));
        assert!(e.to_string().contains("fp16 64×64×64"), "{e}");
    }

    #[test]
    fn fp8_rule_is_on_k_and_n_not_m() {
        let shape = |m, n, k| GemmShape { m, n, k, batch: 1 };
        assert!(fp8_shape_rule(shape(37, 56, 144)).is_ok());
        assert!(fp8_shape_rule(shape(1, 8, 16)).is_ok());
        assert!(fp8_shape_rule(shape(48, 80, 136)).is_err());
        assert!(fp8_shape_rule(shape(48, 84, 144)).is_err());
        // a well-shaped fp8 GEMM the heuristic still refuses is not the user's fault
        let e = no_algorithm(DType::Fp8, shape(37, 56, 144));
        assert!(!crate::error::is_usage(&e));
    }
}
