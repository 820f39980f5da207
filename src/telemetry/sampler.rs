//! The background sampling thread: reads a probe every `interval` into a shared buffer
//! until the [`Sampler`] is dropped. Measurements take the readings inside their own time
//! windows ([`Sampler::window`]), so one thread serves a whole run or sweep.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One reading of the device.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub at: Instant,
    pub sm_clock_mhz: Option<f64>,
    pub mem_clock_mhz: Option<f64>,
    pub power_w: Option<f64>,
    pub temperature_c: Option<f64>,
    /// NVML throttle-reason bits (see [`super::THROTTLE_REASONS`]).
    pub throttle_bits: Option<u64>,
}

type Shared = Arc<Mutex<Vec<Reading>>>;

/// A running sampler; dropping it stops and joins the thread.
pub struct Sampler {
    readings: Shared,
    stop: Option<mpsc::Sender<()>>,
    handle: Option<JoinHandle<()>>,
    /// The device name the probe reports.
    pub device_name: String,
    pub interval: Duration,
}

impl Sampler {
    /// Starts a thread that runs `setup` (which opens the device and returns its name and a
    /// probe, or an error message), then calls the probe every `interval`. Returns the setup
    /// error without a thread left running.
    pub fn spawn<S>(interval: Duration, setup: S) -> Result<Sampler, String>
    where
        S: FnOnce(&mut dyn FnMut(&str, &mut dyn FnMut() -> Reading)) -> Result<(), String>
            + Send
            + 'static,
    {
        let readings: Shared = Arc::new(Mutex::new(Vec::new()));
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let (ready_tx, ready_rx) = mpsc::sync_channel::<Result<String, String>>(1);
        let shared = Arc::clone(&readings);
        let handle = std::thread::Builder::new()
            .name("gpubench-telemetry".into())
            .spawn(move || {
                let ready = ready_tx.clone();
                let mut run = |name: &str, probe: &mut dyn FnMut() -> Reading| {
                    let _ = ready.send(Ok(name.to_string()));
                    sample_loop(interval, &stop_rx, &shared, probe);
                };
                if let Err(e) = setup(&mut run) {
                    let _ = ready_tx.send(Err(e));
                }
            })
            .map_err(|e| format!("cannot start the telemetry thread: {e}"))?;
        match ready_rx.recv() {
            Ok(Ok(device_name)) => Ok(Sampler {
                readings,
                stop: Some(stop_tx),
                handle: Some(handle),
                device_name,
                interval,
            }),
            Ok(Err(e)) => {
                let _ = handle.join();
                Err(e)
            }
            Err(_) => {
                let _ = handle.join();
                Err("the telemetry thread stopped before reading the device".into())
            }
        }
    }

    /// Starts a sampler over a plain probe (another telemetry source, or a test double).
    pub fn with_probe<P>(interval: Duration, name: &str, mut probe: P) -> Sampler
    where
        P: FnMut() -> Reading + Send + 'static,
    {
        let name = name.to_string();
        Sampler::spawn(interval, move |run| {
            run(&name, &mut probe);
            Ok(())
        })
        .expect("a plain probe has no setup to fail")
    }

    /// Readings taken from `from` to `to` (inclusive).
    pub fn window(&self, from: Instant, to: Instant) -> Vec<Reading> {
        let r = self.readings.lock().unwrap_or_else(|e| e.into_inner());
        r.iter()
            .filter(|x| x.at >= from && x.at <= to)
            .cloned()
            .collect()
    }

    /// Drops readings older than `t` (a long sweep keeps memory flat).
    pub fn prune_before(&self, t: Instant) {
        let mut r = self.readings.lock().unwrap_or_else(|e| e.into_inner());
        r.retain(|x| x.at >= t);
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn sample_loop(
    interval: Duration,
    stop: &mpsc::Receiver<()>,
    shared: &Shared,
    probe: &mut dyn FnMut() -> Reading,
) {
    loop {
        let r = probe();
        shared.lock().unwrap_or_else(|e| e.into_inner()).push(r);
        match stop.recv_timeout(interval) {
            Err(RecvTimeoutError::Timeout) => continue,
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake() -> Reading {
        Reading {
            at: Instant::now(),
            sm_clock_mhz: Some(1500.0),
            mem_clock_mhz: None,
            power_w: Some(100.0),
            temperature_c: None,
            throttle_bits: None,
        }
    }

    #[test]
    fn samples_in_a_window_and_stops_on_drop() {
        let s = Sampler::with_probe(Duration::from_millis(2), "fake", fake);
        let t0 = Instant::now();
        std::thread::sleep(Duration::from_millis(40));
        let t1 = Instant::now();
        let w = s.window(t0, t1);
        assert!(w.len() >= 5, "{} readings", w.len());
        assert!(w.iter().all(|r| r.at >= t0 && r.at <= t1));
        s.prune_before(t1);
        assert!(s.window(t0, t0 + Duration::from_millis(30)).is_empty());
        assert_eq!(s.device_name, "fake");
        drop(s); // joins the thread; the test would hang if it did not stop
    }

    #[test]
    fn setup_errors_come_back() {
        let e = Sampler::spawn(Duration::from_millis(5), |_run| Err("no NVML".into()));
        assert_eq!(e.err().as_deref(), Some("no NVML"));
    }
}
