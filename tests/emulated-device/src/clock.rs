//! Virtual time: the host clock, streams, events and the stream hold.
//!
//! Why virtual: CI machines have no GPU and noisy CPUs; with a deterministic clock a test can
//! assert that gpubench reports exactly the configured rate, and can show when a measuring
//! method measures launch overhead instead of the work (per-product events on an idle stream
//! read ~2 launch costs, not the product). Rules:
//! - every enqueuing call advances the host clock by the launch cost first;
//! - work on a stream starts at max(stream free, host time at enqueue) and lasts its duration;
//! - an event recorded on a stream timestamps the stream's position;
//! - synchronizing advances the host clock to the completion waited for;
//! - `hold_stream` holds a stream: what is queued after it waits until the host is seen to have
//!   written its release flag (or the hold times out), then runs back to back.

use crate::State;

/// Operations that may queue behind a hold before the enqueuing call would block.
pub const MAX_DEFERRED: usize = 1024;

/// One stream.
#[derive(Debug)]
pub struct Stream {
    pub device: u32,
    /// When the work queued so far completes (virtual ns).
    pub free_at: f64,
    pub hold: Option<Hold>,
}

/// A `hold_stream` kernel in progress and the work queued behind it.
#[derive(Debug)]
pub struct Hold {
    pub start: f64,
    pub timeout_ns: f64,
    /// Address of the `release` flag (pinned host memory).
    pub release: u64,
    /// Address of the `timed_out` flag.
    pub timed_out: u64,
    pub deferred: Vec<Deferred>,
}

/// Work queued behind a hold.
#[derive(Debug)]
pub struct Deferred {
    /// Host time when it was enqueued.
    pub enqueued: f64,
    pub duration: f64,
    /// The event this recorded, if it is an event record.
    pub event: Option<u64>,
}

/// One event.
#[derive(Debug)]
pub struct Event {
    pub device: u32,
    pub timing: bool,
    /// The stream it was last recorded on.
    pub stream: Option<u64>,
    /// When the stream reached it (None while recorded behind a hold, or never recorded).
    pub at: Option<f64>,
}

impl State {
    /// Advances the host clock by one launch cost.
    pub fn launch_cost(&mut self) {
        self.host_ns += crate::cfg().launch_ns;
    }

    /// Queues `duration` ns of work (or, with `event`, an event record) on `stream`, after the
    /// launch cost. Returns when the work starts (None when deferred behind a hold).
    pub fn enqueue(&mut self, stream: u64, duration: f64, event: Option<u64>) -> Option<f64> {
        self.launch_cost();
        let host = self.host_ns;
        let full = self.streams[&stream]
            .hold
            .as_ref()
            .is_some_and(|h| h.deferred.len() >= MAX_DEFERRED);
        if full {
            // The real enqueuing call would block until the GPU drains its queue: the hold
            // spins until its timeout and the host waits for that.
            self.end_hold(stream, None);
            let free = self.streams[&stream].free_at;
            self.host_ns = self.host_ns.max(free);
        }
        let host = host.max(self.host_ns);
        let s = self.streams.get_mut(&stream).expect("checked by caller");
        if let Some(h) = &mut s.hold {
            h.deferred.push(Deferred {
                enqueued: host,
                duration,
                event,
            });
            if let Some(e) = event {
                if let Some(ev) = self.events.get_mut(&e) {
                    ev.at = None;
                    ev.stream = Some(stream);
                }
            }
            return None;
        }
        let start = s.free_at.max(host);
        s.free_at = start + duration;
        if let Some(e) = event {
            if let Some(ev) = self.events.get_mut(&e) {
                ev.at = Some(start);
                ev.stream = Some(stream);
            }
        }
        Some(start)
    }

    /// Starts a hold on `stream` (the `hold_stream` kernel), after the launch cost.
    pub fn hold(&mut self, stream: u64, release: u64, timeout_ns: f64, timed_out: u64) {
        let start = self.enqueue(stream, 0.0, None);
        let s = self.streams.get_mut(&stream).expect("checked by caller");
        // a hold queued behind another hold starts when that one's work is done: model it as
        // starting at the earlier hold's end (resolved on observation)
        let start = start.unwrap_or(s.free_at);
        if s.hold.is_none() {
            s.hold = Some(Hold {
                start,
                timeout_ns,
                release,
                timed_out,
                deferred: Vec::new(),
            });
        }
    }

    /// Ends the hold on `stream`: released at `released_at`, or (None) timed out, which writes
    /// 1 to its `timed_out` flag. Then the deferred work runs back to back.
    fn end_hold(&mut self, stream: u64, released_at: Option<f64>) {
        let s = self.streams.get_mut(&stream).expect("checked by caller");
        let Some(h) = s.hold.take() else { return };
        let end = match released_at {
            Some(t) => t.max(h.start),
            None => {
                let one = 1u32.to_le_bytes();
                let _ = self
                    .mem
                    .store(h.timed_out, 4, crate::memory::Content::Bytes(one.to_vec()));
                h.start + h.timeout_ns
            }
        };
        let s = self.streams.get_mut(&stream).expect("checked by caller");
        s.free_at = s.free_at.max(end);
        for d in h.deferred {
            let start = s.free_at.max(d.enqueued);
            s.free_at = start + d.duration;
            if let Some(e) = d.event {
                if let Some(ev) = self.events.get_mut(&e) {
                    ev.at = Some(start);
                }
            }
        }
    }

    /// The host looks at `stream` (a synchronize when `wait`, else a query): a hold whose
    /// release flag is set ends now; one not released ends at its timeout if the host waits
    /// or the timeout has passed.
    pub fn observe(&mut self, stream: u64, wait: bool) {
        let Some(h) = self.streams.get(&stream).and_then(|s| s.hold.as_ref()) else {
            return;
        };
        let released = self
            .mem
            .read(h.release, 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) != 0)
            .unwrap_or(false);
        let timeout_at = h.start + h.timeout_ns;
        if released {
            let now = self.host_ns;
            self.end_hold(stream, Some(now));
        } else if wait || self.host_ns >= timeout_at {
            self.end_hold(stream, None);
        }
    }

    /// `cuStreamSynchronize`: the host waits for everything queued on `stream`.
    pub fn sync_stream(&mut self, stream: u64) {
        self.observe(stream, true);
        let free = self.streams[&stream].free_at;
        self.host_ns = self.host_ns.max(free);
    }

    /// Whether event `e` has completed (the host has reached its time).
    pub fn event_done(&mut self, e: u64) -> bool {
        if let Some(s) = self.events[&e].stream {
            if self.streams.contains_key(&s) {
                self.observe(s, false);
            }
        }
        self.events[&e].at.is_some_and(|t| t <= self.host_ns)
    }

    /// `cuEventSynchronize`.
    pub fn sync_event(&mut self, e: u64) {
        if let Some(s) = self.events[&e].stream {
            if self.streams.contains_key(&s) {
                self.observe(s, true);
            }
        }
        if let Some(t) = self.events[&e].at {
            self.host_ns = self.host_ns.max(t);
        }
    }
}
