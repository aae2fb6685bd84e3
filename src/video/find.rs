//! Finding the videos of a case folder: what `vigil score DIR` scores.

use super::VideoError;
use std::path::{Path, PathBuf};

/// File extensions taken for video (compared without case): camera, DVR and distribution
/// containers and raw streams. The open dialog offers the same list.
pub const VIDEO_EXTENSIONS: &[&str] = &[
    "mp4", "mov", "m4v", "mkv", "webm", "avi", "ts", "mts", "m2ts", "mpg", "mpeg", "flv", "wmv",
    "asf", "gif", "h264", "264", "h265", "265", "hevc", "mjpeg", "mxf", "ogv", "dav",
];

/// Whether `path`'s extension is one of [`VIDEO_EXTENSIONS`].
pub fn has_video_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| VIDEO_EXTENSIONS.iter().any(|v| v.eq_ignore_ascii_case(e)))
}

/// Every video file under `dir`, in a stable order (sorted by name at each level, files of a
/// folder before its subfolders' … as walkdir sorts them), so that a rerun scores them in the
/// same order and resumes from the cache. Hidden files and folders (a leading `.`, which is
/// also how partial downloads and vigil's own temporary files are named) are skipped, and
/// symbolic links to folders are not followed, so a link loop cannot make the walk endless.
pub fn videos_in(dir: &Path) -> Result<Vec<PathBuf>, VideoError> {
    let mut out = Vec::new();
    let walk = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walk {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(dir).to_path_buf();
            VideoError::Io {
                path,
                source: e
                    .into_io_error()
                    .unwrap_or_else(|| std::io::Error::other("folder walk failed")),
            }
        })?;
        // A link to a file is followed (evidence is often linked into a case folder); links
        // to folders are not.
        let is_file =
            entry.file_type().is_file() || (entry.path_is_symlink() && entry.path().is_file());
        if is_file && has_video_extension(entry.path()) {
            out.push(entry.into_path());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_videos_in_order_and_skips_hidden_and_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for f in [
            "b.MP4",
            "a.mkv",
            "notes.txt",
            ".a.mp4.part",
            "cam2/z.avi",
            "cam2/.hidden/x.mp4",
            "cam1/y.dav",
            ".elsewhere.mp4",
        ] {
            let p = d.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, b"x").unwrap();
        }
        // A link to a hidden file is found under its own name; a link back up is not walked.
        std::os::unix::fs::symlink(d.join(".elsewhere.mp4"), d.join("cam1/linked.mp4")).unwrap();
        std::os::unix::fs::symlink(d, d.join("cam2/loop")).unwrap();
        let got: Vec<String> = videos_in(d)
            .unwrap()
            .iter()
            .map(|p| p.strip_prefix(d).unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            got,
            [
                "a.mkv",
                "b.MP4",
                "cam1/linked.mp4",
                "cam1/y.dav",
                "cam2/z.avi"
            ]
        );
        assert!(videos_in(&d.join("missing")).is_err());
    }
}
