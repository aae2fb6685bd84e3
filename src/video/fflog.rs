//! FFmpeg's error messages, counted per decoder instead of printed.
//!
//! A damaged H.264 stream decodes "successfully": the decoder conceals the broken macroblocks,
//! returns every frame, and says what it did only in its log ("error while decoding MB 12 5",
//! "concealing 1200 DC, 1200 AC, 1200 MV errors in P frame"). Those messages are the evidence
//! that a region of the footage is damaged, so vigil installs its own log callback: messages at
//! error level or worse are counted for the decoder (or demuxer) that logged them, and the first
//! few are kept as text; everything else is dropped, as before (vigil reports problems itself,
//! once, in words a reviewer can act on).
//!
//! Attribution: a [`LogTag`] takes one of [`SLOTS`] counters and its number is stored in the
//! `opaque` field of the decoder's `AVCodecContext` and of the demuxer's `AVFormatContext`.
//! FFmpeg's frame threads decode on copies of the codec context, and the copies keep `opaque`,
//! so a message from any of them reaches the right counter. Messages from contexts without a
//! tag (another decoder, a scaler) are not counted.
#![allow(unsafe_code)]

use ffmpeg_next as ff;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Decoders that can be counted at once (the app runs a scoring decoder, a preview decoder and
/// thumbnails side by side; a file scored in a folder run uses one).
pub const SLOTS: usize = 64;
/// Messages kept as text per tag.
const KEPT: usize = 3;
/// `AV_LOG_ERROR`: this level and the worse ones (fatal, panic) are counted.
const AV_LOG_ERROR: i32 = 16;

static IN_USE: [AtomicBool; SLOTS] = [const { AtomicBool::new(false) }; SLOTS];
static ERRORS: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];
static TEXT: [Mutex<Vec<String>>; SLOTS] = [const { Mutex::new(Vec::new()) }; SLOTS];

/// Installs the callback (once; [`super::init_ffmpeg`] calls it).
pub(super) fn install() {
    // SAFETY: `callback` has the signature FFmpeg expects and is safe to call from any thread
    // at any time: it only reads the context's class and `opaque`, formats into a stack buffer
    // and touches atomics and short-held mutexes.
    unsafe { ff::ffi::av_log_set_callback(Some(callback)) };
}

unsafe extern "C" fn callback(
    avcl: *mut std::ffi::c_void,
    level: std::ffi::c_int,
    fmt: *const std::ffi::c_char,
    vl: *mut ff::ffi::__va_list_tag,
) {
    if level > AV_LOG_ERROR || avcl.is_null() || fmt.is_null() {
        return;
    }
    // SAFETY: FFmpeg passes as `avcl` a pointer to a struct whose first member is a pointer to
    // its AVClass (the av_log contract). Only codec and format contexts are dereferenced
    // further, as the structs they are.
    let tag = unsafe {
        let class = *(avcl as *const *const ff::ffi::AVClass);
        let opaque = if class == ff::ffi::avcodec_get_class() {
            (*(avcl as *const ff::ffi::AVCodecContext)).opaque
        } else if class == ff::ffi::avformat_get_class() {
            (*(avcl as *const ff::ffi::AVFormatContext)).opaque
        } else {
            return;
        };
        opaque as usize
    };
    if tag == 0 || tag > SLOTS {
        return;
    }
    let slot = tag - 1;
    let mut line = [0 as std::ffi::c_char; 256];
    let mut prefix: std::ffi::c_int = 0;
    // SAFETY: `line` is writable for its length; `fmt` and `vl` are the message FFmpeg gave us,
    // used once, as its own log code does.
    let len = unsafe {
        ff::ffi::av_log_format_line2(
            avcl,
            level,
            fmt,
            vl,
            line.as_mut_ptr(),
            line.len() as std::ffi::c_int,
            &mut prefix,
        )
    };
    if len < 0 {
        return;
    }
    // SAFETY: av_log_format_line2 always NUL-terminates within the buffer.
    let text = unsafe { std::ffi::CStr::from_ptr(line.as_ptr()) }.to_string_lossy();
    let text = text.trim();
    // Some decoders log warnings at error level ("warning: first frame is no keyframe", which
    // H.261 logs for every clean file: its stream has no keyframe flag to set).
    if text
        .get(..7)
        .is_some_and(|w| w.eq_ignore_ascii_case("warning"))
    {
        return;
    }
    let n = ERRORS[slot].fetch_add(1, Ordering::Relaxed);
    if n as usize >= KEPT {
        return;
    }
    if let Ok(mut kept) = TEXT[slot].lock()
        && kept.len() < KEPT
    {
        kept.push(text.to_string());
    }
}

/// One decoder's counter; the slot is free again when the tag drops.
#[derive(Debug)]
pub struct LogTag {
    /// The slot, from 0; None when all were taken (nothing is counted then).
    slot: Option<usize>,
}

impl LogTag {
    /// Takes a free counter, reset to zero.
    pub fn new() -> Self {
        let slot = (0..SLOTS).find(|&i| {
            IN_USE[i]
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        });
        if let Some(i) = slot {
            ERRORS[i].store(0, Ordering::Relaxed);
            if let Ok(mut kept) = TEXT[i].lock() {
                kept.clear();
            }
        }
        Self { slot }
    }

    /// The value to store in a context's `opaque`: slot + 1, or 0 for "not counted".
    fn opaque(&self) -> *mut std::ffi::c_void {
        self.slot.map_or(0, |s| s + 1) as *mut std::ffi::c_void
    }

    /// Marks `input`'s demuxer as this tag's.
    pub fn attach_input(&self, input: &mut ff::format::context::Input) {
        // SAFETY: `as_mut_ptr` is the AVFormatContext `input` owns; `opaque` is a field FFmpeg
        // leaves to the application.
        unsafe { (*input.as_mut_ptr()).opaque = self.opaque() };
    }

    /// Marks a codec context (before it is opened, so that its frame-thread copies inherit
    /// the mark) as this tag's.
    pub fn attach_codec(&self, ctx: &mut ff::codec::context::Context) {
        // SAFETY: as above, for the AVCodecContext `ctx` owns.
        unsafe { (*ctx.as_mut_ptr()).opaque = self.opaque() };
    }

    /// Error messages counted so far.
    pub fn errors(&self) -> u64 {
        self.slot.map_or(0, |s| ERRORS[s].load(Ordering::Relaxed))
    }

    /// The first few messages, as FFmpeg worded them (without its `[h264 @ 0x…]` prefix).
    pub fn messages(&self) -> Vec<String> {
        self.slot
            .and_then(|s| TEXT[s].lock().ok().map(|k| k.clone()))
            .unwrap_or_default()
    }
}

impl Default for LogTag {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for LogTag {
    fn drop(&mut self) {
        if let Some(s) = self.slot {
            IN_USE[s].store(false, Ordering::Release);
        }
    }
}
