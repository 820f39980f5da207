//! gpubench's CPU GEMM against NumPy's (its BLAS) in one run, so the ratio compares the two on
//! the same machine at the same moment: the CPU backend's products and NumPy's `matmul` run in
//! alternating rounds, and each side keeps the median and the best time of all its rounds.
//!
//! `cargo bench --bench cpu_vs_numpy [-- --sizes 512,1024,2048 --dtypes fp32,fp64
//! --seconds 0.3 --rounds 5]`. NumPy runs in one `python3` child that takes commands on its
//! stdin; `OPENBLAS_CORETYPE` and `OPENBLAS_L2_SIZE` are removed from that child's
//! environment only (set, they can pin OpenBLAS to slower kernels), and the BLAS it loaded
//! is printed (through threadpoolctl where installed). Without python3 or NumPy the CPU
//! backend's figures are printed alone, with the reason.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

use gpubench::backend::cpu::CpuBackend;
use gpubench::backend::{Backend, GemmRequest, GemmShape};
use gpubench::dtype::DType;

/// The NumPy side: prepares operands, times `matmul` for a while, reports its BLAS.
const NUMPY_SERVER: &str = r#"
import sys, time
import numpy as np
try:
    import threadpoolctl
    libs = threadpoolctl.threadpool_info()
    blas = "; ".join(f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}, {i.get('num_threads')} threads)" for i in libs if i.get('user_api') == 'blas') or "no BLAS found by threadpoolctl"
except ImportError:
    blas = "unknown (pip install threadpoolctl to see it)"
print(f"numpy {np.__version__}; BLAS {blas}", flush=True)
a = b = c = None
for line in sys.stdin:
    cmd = line.split()
    if not cmd:
        continue
    if cmd[0] == "prep":
        dt = {"fp32": np.float32, "fp64": np.float64}[cmd[1]]
        n = int(cmd[2])
        rng = np.random.default_rng(1)
        a = rng.uniform(-1, 1, (n, n)).astype(dt)
        b = rng.uniform(-1, 1, (n, n)).astype(dt)
        c = np.matmul(a, b)
        print("ok", flush=True)
    elif cmd[0] == "time":
        secs = float(cmd[1])
        ts = []
        end = time.perf_counter() + secs
        while len(ts) < 2 or time.perf_counter() < end:
            t = time.perf_counter()
            np.matmul(a, b, out=c)
            ts.append(time.perf_counter() - t)
        print(" ".join(repr(t) for t in ts), flush=True)
    elif cmd[0] == "quit":
        break
"#;

struct Numpy {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// numpy's version and BLAS.
    about: String,
}

impl Numpy {
    fn start() -> Result<Numpy, String> {
        let mut child = Command::new("python3")
            .args(["-c", NUMPY_SERVER])
            .env_remove("OPENBLAS_CORETYPE")
            .env_remove("OPENBLAS_L2_SIZE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("python3 could not start ({e})"))?;
        let stdin = child.stdin.take().expect("piped");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut about = String::new();
        stdout.read_line(&mut about).ok();
        if about.trim().is_empty() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                std::io::Read::read_to_string(&mut e, &mut err).ok();
            }
            let _ = child.wait();
            let last = err.lines().last().unwrap_or("no output").to_string();
            return Err(format!("python3 with numpy failed: {last}"));
        }
        Ok(Numpy {
            child,
            stdin,
            stdout,
            about: about.trim().to_string(),
        })
    }

    fn ask(&mut self, cmd: &str) -> String {
        writeln!(self.stdin, "{cmd}").expect("numpy child takes commands");
        self.stdin.flush().expect("numpy child takes commands");
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("numpy child answers");
        assert!(!line.is_empty(), "numpy child exited during '{cmd}'");
        line
    }

    fn prep(&mut self, dtype: DType, n: u64) {
        let r = self.ask(&format!("prep {dtype} {n}"));
        assert_eq!(r.trim(), "ok", "numpy prep {dtype} {n}: {r}");
    }

    fn time(&mut self, secs: f64) -> Vec<f64> {
        self.ask(&format!("time {secs}"))
            .split_whitespace()
            .map(|t| t.parse().expect("numpy child prints seconds"))
            .collect()
    }
}

impl Drop for Numpy {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        let _ = self.child.wait();
    }
}

struct Args {
    sizes: Vec<u64>,
    dtypes: Vec<DType>,
    seconds: f64,
    rounds: usize,
}

fn args() -> Args {
    let mut a = Args {
        sizes: vec![512, 1024, 2048],
        dtypes: vec![DType::Fp32, DType::Fp64],
        seconds: 0.3,
        rounds: 5,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut it = argv.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| panic!("{flag} needs a value"))
                .clone()
        };
        match flag.as_str() {
            "--sizes" => {
                a.sizes = value()
                    .split(',')
                    .map(|s| s.parse().expect("--sizes takes numbers, e.g. 512,1024"))
                    .collect()
            }
            "--dtypes" => {
                a.dtypes = value()
                    .split(',')
                    .map(|s| match s {
                        "fp32" => DType::Fp32,
                        "fp64" => DType::Fp64,
                        _ => panic!("--dtypes takes fp32 and/or fp64, not '{s}'"),
                    })
                    .collect()
            }
            "--seconds" => a.seconds = value().parse().expect("--seconds takes a number"),
            "--rounds" => a.rounds = value().parse().expect("--rounds takes a number"),
            // cargo bench passes --bench; filters are not used.
            _ => {}
        }
    }
    a
}

/// The 1-minute load average (Linux), to show how busy the machine was.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .map(|l| format!("load average {l}"))
        .unwrap_or_else(|| "load average unknown".into())
}

/// Median and minimum of a set of times.
fn median_min(t: &mut [f64]) -> (f64, f64) {
    t.sort_by(f64::total_cmp);
    (t[t.len() / 2], t[0])
}

fn main() {
    let args = args();
    let be = CpuBackend::new();
    let info = be.info();
    println!(
        "gpubench CPU backend: {} ({} threads, {} kernels)",
        info.name,
        info.threads.unwrap_or(1),
        be.isa().name()
    );
    let mut numpy = match Numpy::start() {
        Ok(np) => {
            println!("NumPy: {}", np.about);
            Some(np)
        }
        Err(e) => {
            println!("NumPy: not measured: {e}; printing the CPU backend's figures alone");
            None
        }
    };
    println!(
        "{} alternating rounds of ≥{} s per side and size; GFLOPS from the median (best) time; {}\n",
        args.rounds,
        args.seconds,
        load()
    );
    println!(
        "{:<5} {:>5}  {:>22}  {:>22}  {:>15}  {:>14}",
        "dtype", "n", "gpubench GFLOPS", "numpy GFLOPS", "ratio (median)", "ratio (best)"
    );
    for &dtype in &args.dtypes {
        let peak = be.derived_peak(dtype);
        for &n in &args.sizes {
            let shape = GemmShape::square(n);
            let req = GemmRequest {
                dtype,
                shape,
                input_sets: 1,
                seed: 1,
                fp8_fast_accum: false,
            };
            let mut g = be.prepare(&req).expect("CPU backend prepares the GEMM");
            g.run(2).expect("warm-up");
            if let Some(np) = numpy.as_mut() {
                np.prep(dtype, n);
            }
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            for _ in 0..args.rounds {
                let start = Instant::now();
                while ours.len() < 2 || start.elapsed().as_secs_f64() < args.seconds {
                    ours.extend(g.run(1).expect("CPU GEMM runs"));
                }
                if let Some(np) = numpy.as_mut() {
                    theirs.extend(np.time(args.seconds));
                }
            }
            let gflops = |t: f64| shape.flops() / t / 1e9;
            let (om, ob) = median_min(&mut ours);
            let ours_s = format!("{:.1} ({:.1})", gflops(om), gflops(ob));
            let (theirs_s, ratio_m, ratio_b) = if theirs.is_empty() {
                ("–".to_string(), "–".to_string(), "–".to_string())
            } else {
                let (tm, tb) = median_min(&mut theirs);
                (
                    format!("{:.1} ({:.1})", gflops(tm), gflops(tb)),
                    format!("{:.2}×", tm / om),
                    format!("{:.2}×", tb / ob),
                )
            };
            println!(
                "{:<5} {:>5}  {:>22}  {:>22}  {:>15}  {:>14}",
                dtype.to_string(),
                n,
                ours_s,
                theirs_s,
                ratio_m,
                ratio_b
            );
        }
        match peak {
            Some((p, basis)) => {
                println!("      {dtype} derived peak {:.1} GFLOPS: {basis}", p * 1e3)
            }
            None => println!("      {dtype}: no derived peak on this CPU"),
        }
    }
    println!(
        "\nratio = gpubench GFLOPS / numpy GFLOPS (target ≥ 0.95× at n ≥ 1024); {} at the end",
        load()
    );
}
