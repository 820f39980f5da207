//! Streams and events: what the virtual clock (`clock`) times.

#![allow(non_snake_case, clippy::missing_safety_doc)]

use std::ffi::{c_uint, c_void};

use super::*;
use crate::clock::Event;
use crate::kind;

#[no_mangle]
pub unsafe extern "C" fn cuStreamCreate(stream: *mut *mut c_void, flags: c_uint) -> CUresult {
    with_ctx(|s, d| {
        if flags > 1 || stream.is_null() {
            return INVALID_VALUE;
        }
        let id = s.new_handle(kind::STREAM);
        s.streams.insert(
            id,
            Stream {
                device: d,
                free_at: s.host_ns,
                hold: None,
            },
        );
        unsafe { out(stream, id as *mut c_void) }
    })
}

#[no_mangle]
pub extern "C" fn cuStreamSynchronize(stream: *mut c_void) -> CUresult {
    with_live_ctx(|s, d| match stream_of(s, d, h(stream)) {
        Ok(id) => {
            s.sync_stream(id);
            SUCCESS
        }
        Err(e) => e,
    })
}

#[no_mangle]
pub extern "C" fn cuStreamQuery(stream: *mut c_void) -> CUresult {
    with_live_ctx(|s, d| match stream_of(s, d, h(stream)) {
        Ok(id) => {
            s.observe(id, false);
            let st = &s.streams[&id];
            if st.hold.is_none() && st.free_at <= s.host_ns {
                SUCCESS
            } else {
                NOT_READY
            }
        }
        Err(e) => e,
    })
}

#[no_mangle]
pub extern "C" fn cuStreamDestroy_v2(stream: *mut c_void) -> CUresult {
    with_ctx(|s, d| {
        let id = h(stream);
        if id <= 2 {
            return INVALID_HANDLE;
        }
        match stream_of(s, d, id) {
            Ok(id) => {
                // work still queued completes first (as on a GPU)
                s.observe(id, true);
                s.streams.remove(&id);
                SUCCESS
            }
            Err(e) => e,
        }
    })
}

/// `CU_EVENT_BLOCKING_SYNC | DISABLE_TIMING | INTERPROCESS`.
const EVENT_FLAGS: c_uint = 0x7;
const EVENT_DISABLE_TIMING: c_uint = 0x2;

#[no_mangle]
pub unsafe extern "C" fn cuEventCreate(e: *mut *mut c_void, flags: c_uint) -> CUresult {
    with_ctx(|s, d| {
        if e.is_null() || flags & !EVENT_FLAGS != 0 {
            return INVALID_VALUE;
        }
        let id = s.new_handle(kind::EVENT);
        s.events.insert(
            id,
            Event {
                device: d,
                timing: flags & EVENT_DISABLE_TIMING == 0,
                stream: None,
                at: None,
            },
        );
        unsafe { out(e, id as *mut c_void) }
    })
}

#[no_mangle]
pub extern "C" fn cuEventRecord(e: *mut c_void, stream: *mut c_void) -> CUresult {
    with_live_ctx(|s, d| {
        match s.events.get(&h(e)) {
            Some(ev) if ev.device == d => {}
            _ => return INVALID_HANDLE,
        }
        let sid = match stream_of(s, d, h(stream)) {
            Ok(x) => x,
            Err(err) => return err,
        };
        s.enqueue(sid, 0.0, Some(h(e)));
        SUCCESS
    })
}

#[no_mangle]
pub extern "C" fn cuEventQuery(e: *mut c_void) -> CUresult {
    with_live_ctx(|s, _| {
        if !s.events.contains_key(&h(e)) {
            return INVALID_HANDLE;
        }
        if s.event_done(h(e)) {
            SUCCESS
        } else {
            NOT_READY
        }
    })
}

#[no_mangle]
pub extern "C" fn cuEventSynchronize(e: *mut c_void) -> CUresult {
    with_live_ctx(|s, _| {
        if !s.events.contains_key(&h(e)) {
            return INVALID_HANDLE;
        }
        s.sync_event(h(e));
        SUCCESS
    })
}

#[no_mangle]
pub extern "C" fn cuEventDestroy_v2(e: *mut c_void) -> CUresult {
    with_ctx(|s, _| match s.events.remove(&h(e)) {
        Some(_) => SUCCESS,
        None => INVALID_HANDLE,
    })
}

#[cfg_attr(feature = "omit-event-elapsed-time", allow(dead_code))]
unsafe fn elapsed(ms: *mut f32, a: *mut c_void, b: *mut c_void) -> CUresult {
    with_live_ctx(|s, _| {
        if ms.is_null() {
            return INVALID_VALUE;
        }
        for x in [a, b] {
            match s.events.get(&h(x)) {
                Some(ev) if ev.timing && ev.stream.is_some() => {}
                _ => return INVALID_HANDLE,
            }
        }
        if !s.event_done(h(a)) || !s.event_done(h(b)) {
            return NOT_READY;
        }
        let (ta, tb) = (
            s.events[&h(a)].at.unwrap_or(0.0),
            s.events[&h(b)].at.unwrap_or(0.0),
        );
        unsafe { out(ms, ((tb - ta) / 1e6) as f32) }
    })
}

#[cfg(not(feature = "omit-event-elapsed-time"))]
#[no_mangle]
pub unsafe extern "C" fn cuEventElapsedTime(
    ms: *mut f32,
    a: *mut c_void,
    b: *mut c_void,
) -> CUresult {
    unsafe { elapsed(ms, a, b) }
}

#[cfg(not(feature = "omit-event-elapsed-time"))]
#[no_mangle]
pub unsafe extern "C" fn cuEventElapsedTime_v2(
    ms: *mut f32,
    a: *mut c_void,
    b: *mut c_void,
) -> CUresult {
    unsafe { elapsed(ms, a, b) }
}
