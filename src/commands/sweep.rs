//! `gpubench sweep`: measure many shapes (square sizes from `--n`, or the `--m`×`--n`×`--k`
//! grid), save every point into one profile as it completes, and report the best shape, the
//! median and the geometric mean. Ctrl-C stops after the current point and keeps the rest.

use std::process::ExitCode;

use indicatif::ProgressBar;

use crate::backend::GemmShape;
use crate::cli::flags::{self};
use crate::cli::sweep::SweepArgs;
use crate::commands::session::{exit_code, open_backend, MeasureSession, Saver};
use crate::dtype::DType;
use crate::export::files::ExportTargets;
use crate::output::format::tflops as fmt_tflops;
use crate::output::sweep::render;
use crate::output::table::Width;
use crate::profile::{GemmResult, OutputTarget};
use crate::sweep::driver::{self, Ending, Observer, SweepSpec};
use crate::sweep::grid::{self, DimsSpec};
use crate::sweep::summary::Best;
use crate::telemetry;

/// Shows the progress bar and telemetry warnings while the sweep runs.
struct Show {
    bar: ProgressBar,
    label: String,
    best: Option<String>,
    warned: usize,
    throttled: usize,
}

const MAX_WARNINGS: usize = 3;

impl Show {
    fn say(&self, msg: &str) {
        if self.bar.is_hidden() {
            eprintln!("{msg}");
        } else {
            self.bar.println(msg);
        }
    }
}

impl Observer for Show {
    fn start(&mut self, index: usize, total: usize, dtype: DType, shape: GemmShape) {
        self.label = format!("{dtype} {shape} ({}/{total})", index + 1);
        let best = self.best.as_deref().unwrap_or("–");
        self.bar
            .set_message(format!("{} · best {best}", self.label));
    }

    fn done(&mut self, _index: usize, _total: usize, r: &GemmResult, best: Option<&Best>) {
        self.bar.inc(1);
        self.best =
            best.map(|b| format!("{} TFLOPS at {} {}", fmt_tflops(b.tflops), r.dtype, b.shape));
        if !r.valid() {
            self.say(&format!(
                "warning: {} {}: verification FAILED (max error {:.2e} > tolerance {:.0e}); the point is kept but marked invalid",
                r.dtype, r.shape(), r.verification.max_rel_error, r.verification.tolerance
            ));
        }
        if let Some(w) = telemetry::of_result(r)
            .as_ref()
            .and_then(telemetry::warning)
        {
            self.throttled += 1;
            if self.warned < MAX_WARNINGS {
                self.warned += 1;
                self.say(&format!("warning: {} {}: {w}", r.dtype, r.shape()));
                if self.warned == MAX_WARNINGS {
                    self.say("(further clock warnings are counted at the end; each point's telemetry is in the profile)");
                }
            }
        }
    }
}

/// Runs `gpubench sweep`.
pub fn execute(args: SweepArgs) -> anyhow::Result<ExitCode> {
    // Everything typed is checked before a device is opened.
    let shapes = grid::shapes(
        &DimsSpec {
            m: args.m.as_deref(),
            n: args.n.as_deref(),
            k: args.k.as_deref(),
        },
        args.max_points,
    )?;
    args.timing.check()?;
    if let Some(s) = args.settle_time {
        if !s.is_finite() || s < 0.0 {
            return Err(crate::error::usage(format!(
                "--settle-time {s}: give zero or more seconds"
            )));
        }
    }
    let exports = ExportTargets::check(
        args.export_csv.clone(),
        args.export_markdown.clone(),
        args.force,
    )?;
    let target = OutputTarget::check(args.out.clone(), &args.results_dir, args.force)?;

    let (backend, dtypes) = open_backend(args.device, args.dtype.as_ref(), None)?;
    let ms = MeasureSession::new(backend, dtypes, |cpu| {
        args.timing.resolve_with(cpu, flags::TimingDefaults::SWEEP)
    });
    let (be, dtypes, cpu) = (ms.backend(), &ms.dtypes, ms.cpu());
    grid::check(dtypes, &shapes, args.max_points)?;
    for &d in dtypes {
        // The largest point decides whether the sweep fits in memory.
        if let Some(&big) = shapes
            .iter()
            .max_by_key(|s| grid::bytes_checked(**s, d, 1).unwrap_or(u64::MAX))
        {
            ms.check_fits(d, big)?;
        }
    }

    let spec = SweepSpec {
        dtypes: dtypes.clone(),
        shapes: shapes.clone(),
        settings: ms.settings.clone(),
        algos: args.algos as usize,
        seed: args.seed,
        settle_secs: args.settle_time.unwrap_or(if cpu { 0.2 } else { 2.0 }),
    };
    let total = dtypes.len() * shapes.len();
    let (mut profile, name) = ms.new_profile(crate::profile::ProfileKind::Sweep, total, &shapes);
    let sampler = ms.sampler();
    let stop = ms.interrupt("after the current point");
    let mut show = Show {
        bar: crate::output::progress::bar(total as u64, "sweep"),
        label: String::new(),
        best: None,
        warned: 0,
        throttled: 0,
    };
    let mut saver = Saver::new(Some(&target), name);
    let mut save = |p: &crate::profile::Profile| saver.save(p);
    let outcome = driver::run(
        be,
        &spec,
        &mut profile,
        sampler.as_ref(),
        stop,
        &mut save,
        &mut show,
    );
    show.bar.finish_and_clear();
    let saved = saver.into_saved();
    let ending = match outcome {
        Ok(e) => e,
        Err(e) => {
            let e = match &saved {
                Some(p) => e.context(format!("the points done are saved in {}", p.display())),
                None => e,
            };
            return Err(e);
        }
    };
    let written = if exports.any() && !profile.results.is_empty() {
        exports.write(&profile)?
    } else {
        Vec::new()
    };

    if args.json {
        println!("{}", profile.to_json());
    } else {
        print!(
            "{}",
            render(
                &profile,
                args.top,
                Some(args.algos),
                Width::from_wide(args.wide)
            )
        );
        if show.throttled > 0 {
            println!(
                "\nClock fell or a throttle reason was active during {} of {} points (NVML, measured).",
                show.throttled,
                profile.results.len()
            );
        }
        println!();
        match &saved {
            Some(p) => println!("Profile saved: {}", p.display()),
            None => println!("No point was completed; nothing saved."),
        }
        for w in &written {
            println!("Exported: {}", w.display());
        }
    }
    let invalid = profile.results.iter().filter(|r| !r.valid()).count();
    exit_code(
        ending == Ending::Interrupted,
        || {
            format!(
                "Interrupted after {} of {total} points; the points done are saved{}.",
                profile.results.len(),
                saved
                    .as_ref()
                    .map(|p| format!(" in {} (marked interrupted)", p.display()))
                    .unwrap_or_default()
            )
        },
        (invalid > 0).then(|| {
            format!(
                "verification failed for {invalid} of {} points; they are marked invalid in the profile",
                profile.results.len()
            )
        }),
    )
}
