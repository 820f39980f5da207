//! Measured profiles for unit tests, made the way `run` makes them (the test backend through
//! the real measuring loop), so tests of what reads a profile start from a real one.

use crate::backend::testing::{quick_settings, FakeBackend};
use crate::backend::{GemmRequest, GemmShape};
use crate::dtype::DType;
use crate::profile::{GemmResult, Profile, ProfileKind, ResultGpu};

/// One verified `dtype` result of a 64×64×64 product, measured on the test backend.
pub fn measured_result(dtype: DType) -> GemmResult {
    let be = FakeBackend::new(vec![(0.001, true)]);
    let req = GemmRequest {
        dtype,
        shape: GemmShape::square(64),
        input_sets: 1,
        seed: 0,
        fp8_fast_accum: false,
    };
    crate::measure::point::measure_point(&be, &req, &quick_settings(), 1, None, &mut |_, _| {})
        .expect("the test backend measures")
}

/// A `run` profile with one `dtype` result per figure in `tflops` (TFLOPS); each from its own
/// GPU (ordinals 0, 1, …) when `node`, as `run --device all` writes them.
pub fn profile_with(dtype: DType, tflops: &[f64], node: bool) -> Profile {
    let be = FakeBackend::new(vec![(0.001, true)]);
    let mut p = crate::measure::setup::new_profile(&be, quick_settings(), ProfileKind::Run);
    let r = measured_result(dtype);
    for (i, t) in tflops.iter().enumerate() {
        let mut r = r.clone();
        r.tflops = *t;
        r.gpu = node.then_some(ResultGpu {
            ordinal: i as u32,
            uuid: None,
            pci_bus_id: None,
        });
        p.results.push(r);
    }
    p
}
