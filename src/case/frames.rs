//! `vigil verify --frames`: decode an export's clips and its original again and compare every
//! picture with the frame hashes the manifest lists.
//!
//! `SHA256SUMS` and the signature prove the files are as they were written; the frame hashes
//! prove what they show. Decoding both again proves that the clip still shows the original's
//! pictures, frame by frame, and that the original (or a copy of it, even remuxed) still holds
//! the frames the clip was cut from.

use super::manifest::{ExportManifest, FrameHashes};
use super::verify::VerifyReport;
use crate::video::{
    FrameTiming, IndexedVideo, OpenOptions, file_frame_hashes, source_frame_hashes,
};
use std::path::Path;

/// Checks every clip's frame hashes in the export folder `dir` against the pictures its clip
/// and its original decode to. `source` replaces the original's recorded path (a copy brought
/// to another machine); without it, a missing original is a note, not a problem: the clips are
/// still checked.
pub fn verify_frames(dir: &Path, source: Option<&Path>, r: &mut VerifyReport) {
    let manifest_path = dir.join("manifest.json");
    let manifest: ExportManifest = match std::fs::read(&manifest_path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(m) => m,
        Err(e) => {
            r.problems
                .push(format!("manifest.json: cannot read its frame hashes: {e}"));
            return;
        }
    };
    let original = open_original(&manifest, source, r);
    for clip in &manifest.clips {
        let Some(hashes) = &clip.frame_hashes else {
            r.notes.push(format!(
                "{}: the manifest lists no frame hashes (exported by a vigil that did not list them)",
                clip.file
            ));
            continue;
        };
        if hashes.identical != (hashes.source == hashes.clip) {
            r.problems.push(format!(
                "{}: the manifest says its pictures are {}the source's, but its own lists say otherwise",
                clip.file,
                if hashes.identical { "" } else { "not " }
            ));
        }
        match file_frame_hashes(&dir.join(&clip.file)) {
            Ok(got) => compare(
                &format!("{} (frame hashes)", clip.file),
                &got.hashes,
                &hashes.clip,
                r,
            ),
            Err(e) => r.problems.push(format!(
                "{}: cannot decode it to check its frames: {e}",
                clip.file
            )),
        }
        if let Some(video) = &original {
            check_source(video, &clip.file, hashes, r);
        }
    }
}

/// Opens the original the way the export read it (the same stream, the same timing), or says
/// why its frames are not checked.
fn open_original(
    manifest: &ExportManifest,
    source: Option<&Path>,
    r: &mut VerifyReport,
) -> Option<IndexedVideo> {
    let path = source.map_or_else(
        || Path::new(&manifest.source.path).to_path_buf(),
        Path::to_path_buf,
    );
    if source.is_none() && !path.exists() {
        r.notes.push(format!(
            "the original is not at {}: only the clips' frames were checked (give it with --source)",
            path.display()
        ));
        return None;
    }
    let opts = OpenOptions {
        stream: Some(manifest.source.stream),
        fps: (manifest.source.timing == FrameTiming::Given).then_some(manifest.source.fps),
    };
    match IndexedVideo::open_with(&path, &opts) {
        Ok(v) => {
            match crate::base::sha256_file(&path) {
                Ok(h) if h == manifest.source.sha256 => {}
                Ok(h) => r.notes.push(format!(
                    "{}: SHA-256 {h} is not the original's {} as exported; its pictures are compared all the same",
                    path.display(),
                    manifest.source.sha256
                )),
                Err(e) => r
                    .problems
                    .push(format!("{}: cannot read: {e}", path.display())),
            }
            Some(v)
        }
        Err(e) => {
            r.problems.push(format!(
                "the original {}: cannot open it to check its frames: {e}",
                path.display()
            ));
            None
        }
    }
}

/// Decodes the source frames one clip was cut from and compares them with the manifest.
fn check_source(video: &IndexedVideo, clip: &str, hashes: &FrameHashes, r: &mut VerifyReport) {
    let frames = hashes.source_frame_numbers();
    let what = match (frames.first(), frames.last()) {
        (Some(a), Some(b)) => format!("original frames {a}–{b} of {clip} (frame hashes)"),
        _ => format!("original frames of {clip} (frame hashes)"),
    };
    if frames.iter().any(|&f| f as usize >= video.table.len()) {
        r.problems.push(format!(
            "{what}: the original has {} frames, fewer than the manifest lists",
            video.table.len()
        ));
        return;
    }
    match source_frame_hashes(video, &frames) {
        Ok(got) => compare(&what, &got.hashes, &hashes.source, r),
        Err(e) => r
            .problems
            .push(format!("{what}: cannot decode the original: {e}")),
    }
}

/// One line of the report: all pictures as listed, or where the first one differs.
fn compare(what: &str, got: &[String], listed: &[String], r: &mut VerifyReport) {
    if got == listed {
        r.ok.push(format!("{what}: {} pictures as listed", got.len()));
        return;
    }
    let first = (0..got.len().max(listed.len()))
        .find(|&i| got.get(i) != listed.get(i))
        .unwrap_or(0);
    r.problems.push(if got.len() == listed.len() {
        format!(
            "{what}: picture {} of {} DIFFERS from the manifest's hash",
            first + 1,
            listed.len()
        )
    } else {
        format!(
            "{what}: decodes to {} pictures, the manifest lists {} (first difference at picture {})",
            got.len(),
            listed.len(),
            first + 1
        )
    });
}
