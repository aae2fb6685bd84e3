//! What vigil agrees to open, decided before FFmpeg reads a frame: plain files only (no
//! pipes or devices), no demuxer that pulls in other files or the network, no text-art
//! "video"; and the plain-words reason when it refuses, or when an MP4 has no index.

use super::VideoError;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Why a demuxer is refused, or `None` when its video streams may be decoded.
///
/// The rule is a short denylist, not an allowlist of "camera codecs": recorders and archives
/// hold Cinepak AVIs, QuickTime RLE and RealVideo, and an evidence tool that will not even
/// show them is no use. What is refused is what is not a recording in this one file: demuxers
/// that open other files or the network (their content would escape the hash vigil takes of
/// the file), filter graphs and capture devices (text that generates pictures), and FFmpeg's
/// text-art readers, which "play" any text file as ANSI art. `protocol_whitelist=file` stays as
/// a second wall for anything this list misses.
pub(crate) fn refused_container(name: &str) -> Option<&'static str> {
    const OTHER_FILES: &[&str] = &[
        "concat",
        "hls",
        "dash",
        "imf",
        "mlv",
        "webm_dash_manifest",
        "image2",
    ];
    const NETWORK: &[&str] = &["sdp", "rtp", "rtsp", "sap"];
    const GENERATED: &[&str] = &[
        "lavfi",
        "alsa",
        "fbdev",
        "iec61883",
        "jack",
        "kmsgrab",
        "libcdio",
        "libdc1394",
        "openal",
        "oss",
        "pulse",
        "video4linux2",
        "v4l2",
        "x11grab",
    ];
    const TEXT_ART: &[&str] = &["tty", "bin", "xbin", "adf", "idf"];
    const VECTOR: &[&str] = &["svg_pipe"];
    name.split(',').find_map(|n| {
        if OTHER_FILES.contains(&n) {
            Some("a playlist, segment list or file-name pattern that opens other files")
        } else if NETWORK.contains(&n) {
            Some("a description of a network stream")
        } else if GENERATED.contains(&n) {
            Some("a filter graph or capture device, not a recording")
        } else if TEXT_ART.contains(&n) {
            Some("text or ANSI art, not pictures")
        } else if VECTOR.contains(&n) {
            Some("a vector drawing, which may pull in other files")
        } else {
            None
        }
    })
}

/// Why a video codec is refused, or `None` when it may be decoded. Only FFmpeg's text-art
/// "video" codecs (and SVG, which may reference other files) are refused: every other codec
/// that has a decoder here is a picture codec, old or odd as it may be.
pub(crate) fn refused_codec(name: &str) -> Option<&'static str> {
    match name {
        "ansi" | "bintext" | "xbin" | "idf" | "tty" => Some("text or ANSI art, not pictures"),
        "svg" => Some("a vector drawing, which may pull in other files"),
        "wrapped_avframe" => Some("not a coded picture format"),
        _ => None,
    }
}

/// True when the file starts like an ISO-BMFF (MP4/MOV) file, used to explain an open failure.
pub(super) fn looks_like_iso_bmff(path: &Path) -> bool {
    let mut head = [0u8; 12];
    match std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head)) {
        Ok(()) => matches!(&head[4..8], b"ftyp" | b"mdat" | b"free" | b"wide" | b"moov"),
        Err(_) => false,
    }
}

/// Whether the top-level boxes of an ISO BMFF file include `moov`, walking the box headers
/// (read, not trusted: a size that points past the end ends the walk). Tells "the index was
/// never written" from "the index is there but damaged".
pub(super) fn has_moov_box(path: &Path) -> bool {
    use std::io::{Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let Ok(len) = f.metadata().map(|m| m.len()) else {
        return false;
    };
    let mut at = 0u64;
    let mut head = [0u8; 16];
    while at + 8 <= len {
        if f.seek(SeekFrom::Start(at)).is_err() || f.read_exact(&mut head[..8]).is_err() {
            return false;
        }
        if &head[4..8] == b"moov" {
            return true;
        }
        let size = match u32::from_be_bytes([head[0], head[1], head[2], head[3]]) {
            0 => return false,
            1 => {
                if f.read_exact(&mut head[8..16]).is_err() {
                    return false;
                }
                let mut b = [0u8; 8];
                b.copy_from_slice(&head[8..16]);
                u64::from_be_bytes(b)
            }
            n => u64::from(n),
        };
        if size < 8 {
            return false;
        }
        at = at.saturating_add(size);
    }
    false
}

/// What a path that is not a regular file is, in words.
fn special_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    let t = meta.file_type();
    if t.is_fifo() {
        "a named pipe (FIFO)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

pub(super) fn check_file(path: &Path) -> Result<PathBuf, VideoError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(VideoError::NotFound {
                path: path.to_path_buf(),
            });
        }
        Err(source) => {
            return Err(VideoError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if meta.is_dir() {
        return Err(VideoError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other("is a folder, not a video file"),
        });
    }
    if !meta.is_file() {
        // A FIFO or a device reports 0 bytes and would be read forever (`/dev/zero`) or block
        // (a FIFO nobody writes to): neither is a recording that can be hashed and reopened.
        return Err(VideoError::NotAFile {
            path: path.to_path_buf(),
            kind: special_kind(&meta),
        });
    }
    if meta.len() == 0 {
        return Err(VideoError::Empty {
            path: path.to_path_buf(),
        });
    }
    // Opening here (read-only) surfaces permission problems as a plain I/O error.
    std::fs::File::open(path).map_err(|source| VideoError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    // An absolute path keeps FFmpeg from reading "name:with:colons" as a protocol.
    std::fs::canonicalize(path).map_err(|source| VideoError::Io {
        path: path.to_path_buf(),
        source,
    })
}
