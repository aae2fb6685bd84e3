//! The few FFmpeg fields ffmpeg-next does not expose (packet flags, codec tag, extradata). Each function is one field access on a
//! pointer that the safe wrapper owns and keeps valid for the borrow's lifetime.
#![allow(unsafe_code)]

use ff::packet::Ref as _;
use ffmpeg_next as ff;

/// FFmpeg's `AV_PKT_FLAG_DISCARD`: the demuxer marks packets that are decoded only as
/// references and never shown (the part of an MP4 before its edit list starts).
const AV_PKT_FLAG_DISCARD: i32 = 0x0004;

/// True when the demuxer flagged `packet` as "decode, but do not show".
pub fn is_discard(packet: &ff::Packet) -> bool {
    // SAFETY: `as_ptr` points to the AVPacket owned by `packet`, valid while it is borrowed;
    // reading an int field has no side effects.
    unsafe { (*packet.as_ptr()).flags & AV_PKT_FLAG_DISCARD != 0 }
}

/// Clears the codec tag of an output stream's parameters, so that the muxer picks the tag its
/// own container uses (a tag copied from another container is often invalid there).
pub fn clear_codec_tag(stream: &mut ff::format::stream::StreamMut<'_>) {
    // SAFETY: `parameters().as_mut_ptr()` is the AVCodecParameters owned by the stream, which
    // the output context keeps alive; writing a plain integer field is what FFmpeg's own
    // remuxing example does.
    unsafe {
        (*stream.parameters().as_mut_ptr()).codec_tag = 0;
    }
}

/// The codec extradata of a stream (for H.264 in MP4: the `avcC` record with the parameter
/// sets), copied out.
pub fn extradata(params: &ff::codec::Parameters) -> Vec<u8> {
    // SAFETY: `as_ptr` points to the AVCodecParameters `params` wraps, valid while borrowed;
    // `extradata` is either null or points to `extradata_size` readable bytes owned by it.
    unsafe {
        let p = params.as_ptr();
        let data = (*p).extradata;
        let size = (*p).extradata_size;
        if data.is_null() || size <= 0 {
            return Vec::new();
        }
        std::slice::from_raw_parts(data, size as usize).to_vec()
    }
}

/// FFmpeg's `decode_error_flags` of a decoded frame: non-zero when the decoder found the
/// bitstream invalid, a reference missing, or concealed errors in it.
pub fn decode_error_flags(frame: &ff::frame::Video) -> i32 {
    // SAFETY: `as_ptr` points to the AVFrame `frame` owns, valid while borrowed; reading an int
    // field has no side effects.
    unsafe { (*frame.as_ptr()).decode_error_flags }
}

/// True when FFmpeg estimated the file's duration from its size and bit rate
/// (`AVFMT_DURATION_FROM_BITRATE`), as it does for raw streams that state none.
pub fn duration_from_bitrate(input: &ff::format::context::Input) -> bool {
    // SAFETY: `as_ptr` is the AVFormatContext `input` owns, valid while borrowed; reading an
    // enum field has no side effects.
    unsafe {
        (*input.as_ptr()).duration_estimation_method
            == ff::ffi::AVDurationEstimationMethod::AVFMT_DURATION_FROM_BITRATE
    }
}

/// Frames of reordering delay (B-frames) a stream's parameters state: more than zero when
/// decode order is not display order.
pub fn video_delay(params: &ff::codec::Parameters) -> i32 {
    // SAFETY: `as_ptr` points to the AVCodecParameters `params` wraps, valid while borrowed;
    // a plain field read.
    unsafe { (*params.as_ptr()).video_delay }
}

/// Width, height and field order of a stream's parameters (ffmpeg-next exposes them only
/// through a decoder).
pub fn picture_params(params: &ff::codec::Parameters) -> (u32, u32, Option<String>) {
    use ff::ffi::AVFieldOrder as F;
    // SAFETY: `as_ptr` points to the AVCodecParameters `params` wraps, valid while borrowed;
    // plain field reads.
    let (w, h, order) = unsafe {
        let p = params.as_ptr();
        ((*p).width, (*p).height, (*p).field_order)
    };
    let order = match order {
        F::AV_FIELD_PROGRESSIVE => Some("progressive"),
        F::AV_FIELD_TT => Some("interlaced (top field first)"),
        F::AV_FIELD_BB => Some("interlaced (bottom field first)"),
        F::AV_FIELD_TB => Some("interlaced (top coded first, bottom shown first)"),
        F::AV_FIELD_BT => Some("interlaced (bottom coded first, top shown first)"),
        _ => None,
    };
    (w.max(0) as u32, h.max(0) as u32, order.map(str::to_string))
}

/// The pixels of a decoded picture packed plane after plane with no row padding: the bytes
/// FFmpeg's `rawvideo` encoder makes of it, so the bytes that `ffmpeg -f framehash` hashes.
/// `None` for a frame without a known pixel format or size.
pub fn packed_picture(frame: &ff::frame::Video) -> Option<Vec<u8>> {
    // SAFETY: `as_ptr` points to the AVFrame `frame` owns, valid while borrowed. Its `data` and
    // `linesize` describe planes of `format` at `width`x`height`, as the decoder filled them;
    // `av_image_copy_to_buffer` reads exactly those and writes at most `size` bytes into `out`,
    // which has that many.
    if frame.format() == ff::format::Pixel::None {
        return None;
    }
    let format: ff::ffi::AVPixelFormat = frame.format().into();
    unsafe {
        let f = frame.as_ptr();
        let (w, h) = ((*f).width, (*f).height);
        if w <= 0 || h <= 0 {
            return None;
        }
        let size = ff::ffi::av_image_get_buffer_size(format, w, h, 1);
        if size <= 0 {
            return None;
        }
        let mut out = vec![0u8; size as usize];
        let written = ff::ffi::av_image_copy_to_buffer(
            out.as_mut_ptr(),
            size,
            (*f).data.as_ptr().cast(),
            (*f).linesize.as_ptr(),
            format,
            w,
            h,
            1,
        );
        (written == size).then_some(out)
    }
}

/// Gives an output stream the display matrix `m` (how players turn or mirror its pictures), as
/// `ffmpeg -c copy` carries it over; ffmpeg-next copies only the codec parameters.
pub fn set_display_matrix(stream: &mut ff::format::stream::StreamMut<'_>, m: &[i32; 9]) -> bool {
    let bytes: Vec<u8> = m.iter().flat_map(|v| v.to_ne_bytes()).collect();
    // SAFETY: `as_mut_ptr` is the AVStream the output context owns and keeps alive; FFmpeg
    // allocates `bytes.len()` bytes of side data in it (or returns null) and we write exactly
    // that many.
    unsafe {
        let data = ff::ffi::av_stream_new_side_data(
            stream.as_mut_ptr(),
            ff::ffi::AVPacketSideDataType::AV_PKT_DATA_DISPLAYMATRIX,
            bytes.len(),
        );
        if data.is_null() {
            return false;
        }
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), data, bytes.len());
        true
    }
}
