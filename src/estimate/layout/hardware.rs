//! A GPU table row, the rates its compute runs at and the link settings given turned into the
//! [`Hardware`] a layout runs on, so `gpubench plan` and `gpubench estimate` read a GPU the
//! same way and each link carries where its figures came from.

use super::comm::{Links, DEFAULT_LINK_EFFICIENCY};
use super::rates::Rates;
use super::Hardware;
use crate::dtype::DType;
use crate::error::usage;
use crate::estimate::defaults::DEFAULT_CUDA_CONTEXT_GB;
use crate::peak::GpuSpec;

/// Link figures given in place of the GPU table's server (each `None` takes the table's).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LinkSettings {
    pub gpus_per_node: Option<u64>,
    /// Bandwidth within a node per GPU per direction, GB/s.
    pub intra_node_gbps: Option<f64>,
    /// Network bandwidth per node per direction, GB/s.
    pub network_gbps_per_node: Option<f64>,
    /// Bus bandwidth as a fraction of the link bandwidth (default
    /// [`DEFAULT_LINK_EFFICIENCY`]).
    pub link_efficiency: Option<f64>,
}

/// The dense peak MFU divides by: `given`, else the row's peak for `dtype` (bf16 when no
/// dtype is named, then fp16 for rows without bf16).
pub fn peak_tflops(g: &GpuSpec, dtype: Option<DType>, given: Option<f64>) -> anyhow::Result<f64> {
    if let Some(p) = given {
        return Ok(p);
    }
    let d = dtype.unwrap_or(DType::Bf16);
    g.peak(d)
        .or_else(|| dtype.is_none().then(|| g.peak(DType::Fp16)).flatten())
        .ok_or_else(|| {
            usage(format!(
                "--gpu {}: the table has no {d} peak for it; pass --dtype with one it has",
                g.key
            ))
        })
}

/// The row's datasheet memory bandwidth, GB/s.
pub fn memory_bandwidth(g: &GpuSpec) -> anyhow::Result<f64> {
    g.memory_bandwidth_gbps.ok_or_else(|| {
        usage(format!(
            "--gpu {}: the table has no memory bandwidth for it; choose a GPU from 'gpubench gpus'",
            g.key
        ))
    })
}

/// GPUs per node and the links, flat in message size: within a node at the intra-node
/// bandwidth, between nodes at the node's network divided among its GPUs, both × the link
/// efficiency. Each figure is the one given, else the table's; a usage error names the flag
/// for a figure the table lacks.
pub fn links(g: &GpuSpec, s: &LinkSettings) -> anyhow::Result<(u64, Links)> {
    let ic = g.interconnect.as_ref();
    let missing = |what: &str, flag: &str| {
        usage(format!(
            "--gpu {}: the table has no {what} for it; give {flag}",
            g.key
        ))
    };
    let gpn = s
        .gpus_per_node
        .or(ic.map(|i| i.gpus_per_node))
        .ok_or_else(|| missing("GPUs per node", "--gpus-per-node N"))?;
    let intra = s
        .intra_node_gbps
        .or(ic.map(|i| i.intra_node_gbps))
        .ok_or_else(|| missing("intra-node bandwidth", "--intra-node-gbps GB/s"))?;
    let net = s
        .network_gbps_per_node
        .or(ic.map(|i| i.network_gbps_per_node))
        .ok_or_else(|| missing("network bandwidth", "--network-gbps-per-node GB/s"))?;
    let eff = s.link_efficiency.unwrap_or(DEFAULT_LINK_EFFICIENCY);
    let src = |given: bool, table: Option<&str>| {
        if given {
            "given".to_string()
        } else {
            table.unwrap_or("table").to_string()
        }
    };
    let intra_note = format!(
        "{} GB/s × {eff}, {}",
        intra,
        src(
            s.intra_node_gbps.is_some(),
            ic.map(|i| i.intra_node_link.as_str())
        )
    );
    let inter_note = format!(
        "{} GB/s per node / {gpn} GPUs × {eff}, {}",
        net,
        src(
            s.network_gbps_per_node.is_some(),
            ic.map(|i| i.network.as_str())
        )
    );
    Ok((
        gpn,
        Links::from_spec(intra, net / gpn as f64, eff, &intra_note, &inter_note),
    ))
}

/// The hardware of a GPU row at a peak and rates, with its links and the default CUDA
/// context.
pub fn of_gpu(
    g: &GpuSpec,
    peak_tflops: f64,
    r: Rates,
    gpus_per_node: u64,
    links: Links,
) -> Hardware {
    Hardware {
        peak_tflops,
        compute_tflops: r.compute_tflops,
        attention_tflops: r.attention_tflops,
        compute_note: r.note,
        memory_gbps: r.memory_gbps,
        gpus_per_node,
        links,
        memory_bytes: g.memory_gb * 1e9,
        cuda_context_bytes: DEFAULT_CUDA_CONTEXT_GB * 1e9,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::is_usage;
    use crate::estimate::layout::comm::Scope;
    use crate::estimate::layout::rates;
    use crate::peak;

    fn row(key: &str) -> GpuSpec {
        peak::lookup(key).unwrap().clone()
    }

    #[test]
    fn the_peak_is_given_else_the_dtype_else_bf16() {
        let h = row("h100-sxm");
        let bf16 = h.peak(DType::Bf16).unwrap();
        assert_eq!(peak_tflops(&h, None, None).unwrap(), bf16);
        assert_eq!(peak_tflops(&h, None, Some(500.0)).unwrap(), 500.0);
        assert_eq!(
            peak_tflops(&h, Some(DType::Fp32), None).unwrap(),
            h.peak(DType::Fp32).unwrap()
        );
        // A row without bf16 falls back to fp16 only when no dtype was named.
        let mut old = h.clone();
        old.peaks_tflops = peak::Peaks {
            fp16: Some(100.0),
            ..Default::default()
        };
        assert_eq!(peak_tflops(&old, None, None).unwrap(), 100.0);
        let e = peak_tflops(&old, Some(DType::Bf16), None).unwrap_err();
        assert!(
            is_usage(&e) && e.to_string().contains("no bf16 peak"),
            "{e}"
        );
    }

    #[test]
    fn links_take_the_table_unless_given() {
        let h = row("h100-sxm");
        let ic = h.interconnect.clone().unwrap();
        let (gpn, l) = links(&h, &LinkSettings::default()).unwrap();
        assert_eq!(gpn, ic.gpus_per_node);
        let intra = l.get(Scope::IntraAllReduce);
        assert_eq!(
            intra.curve.busbw_gbps(1e9),
            ic.intra_node_gbps * DEFAULT_LINK_EFFICIENCY
        );
        assert!(intra.note.ends_with(&ic.intra_node_link), "{}", intra.note);
        let given = LinkSettings {
            gpus_per_node: Some(4),
            network_gbps_per_node: Some(100.0),
            link_efficiency: Some(0.5),
            ..Default::default()
        };
        let (gpn, l) = links(&h, &given).unwrap();
        let inter = l.get(Scope::InterNode);
        assert_eq!(gpn, 4);
        assert_eq!(inter.curve.busbw_gbps(1e9), 100.0 / 4.0 * 0.5);
        assert_eq!(inter.note, "100 GB/s per node / 4 GPUs × 0.5, given");
    }

    #[test]
    fn a_row_without_links_names_the_flag() {
        let mut h = row("h100-sxm");
        h.interconnect = None;
        let e = links(&h, &LinkSettings::default()).unwrap_err();
        assert!(
            is_usage(&e) && e.to_string().contains("--gpus-per-node N"),
            "{e}"
        );
        let e = links(
            &h,
            &LinkSettings {
                gpus_per_node: Some(8),
                intra_node_gbps: Some(450.0),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("--network-gbps-per-node"), "{e}");
        h.memory_bandwidth_gbps = None;
        assert!(memory_bandwidth(&h).is_err());
    }

    #[test]
    fn the_hardware_carries_the_rates_and_the_row_memory() {
        let h = row("h100-sxm");
        let r = rates::from_spec(989.4, 3350.0);
        let (gpn, l) = links(&h, &LinkSettings::default()).unwrap();
        let hw = of_gpu(&h, 989.4, r.clone(), gpn, l);
        assert_eq!(hw.compute_tflops, r.compute_tflops);
        assert_eq!(hw.compute_note, r.note);
        assert_eq!(hw.memory_bytes, h.memory_gb * 1e9);
        assert_eq!(hw.cuda_context_bytes, DEFAULT_CUDA_CONTEXT_GB * 1e9);
    }
}
