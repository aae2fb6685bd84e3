//! Clip features cached on disk per (video SHA-256, feature key), one file per inference batch.
//!
//! Every batch file is written atomically (temporary file, fsync, rename), so Ctrl-C or
//! `kill -9` loses at most the batch in flight and a rerun resumes from what is there. A file
//! that does not parse (wrong magic, size or dimension) is ignored and its clips recomputed.
//! `complete.json` records the clip spans of a finished run so that a rerun needs no decoding.

use crate::case::{write_atomic, write_atomic_with};
use crate::model::ClipOutput;
use crate::video::ClipSpan;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 4] = b"VGLF";
const FORMAT_VERSION: u32 = 1;
const HEADER_BYTES: usize = 20;

/// The per-user cache folder (`$XDG_CACHE_HOME/vigil`, usually `~/.cache/vigil`), or
/// `VIGIL_CACHE_DIR` when set.
pub fn default_cache_root() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("VIGIL_CACHE_DIR").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    directories::ProjectDirs::from("", "", "vigil").map(|d| d.cache_dir().to_path_buf())
}

/// What a finished run leaves behind so that the next one can skip decoding.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CompleteRecord {
    /// Record format version.
    pub version: u32,
    /// Every clip's span, in order.
    pub spans: Vec<ClipSpan>,
    /// Frames decoded.
    pub frames: u64,
    /// Decoded duration in seconds.
    pub duration_s: f64,
    /// Corrupt packets or frames skipped.
    pub decode_errors: u64,
    /// Warnings the decode produced (truncation and the like).
    pub warnings: Vec<String>,
    /// True if the footage could only be decoded in part.
    pub partial: bool,
}

/// The cache folder of one video under one feature extractor.
#[derive(Debug, Clone)]
pub struct FeatureCache {
    dir: PathBuf,
    dim: usize,
    top_k: usize,
}

impl FeatureCache {
    /// Opens (creating) `root/features/<feature_key>/<video_sha256>/`.
    pub fn open(
        root: &Path,
        feature_key: &str,
        video_sha256: &str,
        dim: usize,
        top_k: usize,
    ) -> io::Result<Self> {
        let c = Self::at(root, feature_key, video_sha256, dim, top_k);
        std::fs::create_dir_all(&c.dir)?;
        Ok(c)
    }

    /// The same folder without creating it, for readers that must leave no trace (a missing
    /// folder reads as an empty cache).
    pub fn at(
        root: &Path,
        feature_key: &str,
        video_sha256: &str,
        dim: usize,
        top_k: usize,
    ) -> Self {
        let dir = root.join("features").join(feature_key).join(video_sha256);
        Self { dir, dim, top_k }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every cached clip, by index: where its features lie and its top classes. The features
    /// stay on disk (read a block at a time through [`ClipIndex::read_rows`]), so that a day
    /// of footage does not hold every clip's features in memory at once. Unreadable files are
    /// skipped with a log line; their clips are simply recomputed.
    pub(super) fn index(&self) -> io::Result<ClipIndex> {
        let mut index = ClipIndex::new(self.dim, self.top_k);
        if !self.dir.is_dir() {
            return Ok(index);
        }
        let mut names: Vec<PathBuf> = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let path = entry?.path();
            let is_batch = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("clips-") && n.ends_with(".bin"));
            if is_batch {
                names.push(path);
            }
        }
        // In name order (first clip first), so that the index does not depend on the order
        // the file system lists them in.
        names.sort();
        for path in names {
            match std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| self.parse_index(&b))
            {
                Ok(clips) => index.add(path, clips),
                Err(reason) => tracing::warn!("ignoring cache file {}: {reason}", path.display()),
            }
        }
        Ok(index)
    }

    /// The clip indices and top classes of one batch file, checked against this cache's
    /// feature size.
    fn parse_index(&self, b: &[u8]) -> Result<Vec<(u64, TopClasses)>, String> {
        let u32_at = |o: usize| -> u32 { u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]) };
        if b.len() < HEADER_BYTES || &b[..4] != MAGIC {
            return Err("not a vigil feature file".into());
        }
        let (version, dim, top_k, count) = (u32_at(4), u32_at(8), u32_at(12), u32_at(16));
        if version != FORMAT_VERSION || dim as usize != self.dim || top_k as usize != self.top_k {
            return Err(format!("format {version}, dim {dim}, top-k {top_k}"));
        }
        let record = record_bytes(self.dim, self.top_k);
        if b.len() != HEADER_BYTES + record * count as usize {
            return Err(format!("{} bytes for {count} clips", b.len()));
        }
        let mut clips = Vec::with_capacity(count as usize);
        for r in b[HEADER_BYTES..].chunks_exact(record) {
            let mut idx = [0u8; 8];
            idx.copy_from_slice(&r[..8]);
            let f32_at = |o: usize| f32::from_le_bytes([r[o], r[o + 1], r[o + 2], r[o + 3]]);
            let u32_in = |o: usize| u32::from_le_bytes([r[o], r[o + 1], r[o + 2], r[o + 3]]);
            let base = 8 + 4 * self.dim;
            let top = (0..self.top_k)
                .map(|i| (u32_in(base + 8 * i), f32_at(base + 8 * i + 4)))
                .collect();
            clips.push((u64::from_le_bytes(idx), top));
        }
        Ok(clips)
    }

    /// Writes one batch atomically; returns the file written (None for an empty batch).
    pub fn write_batch(&self, clips: &[(u64, ClipOutput)]) -> io::Result<Option<PathBuf>> {
        let (Some(first), Some(last)) = (clips.first(), clips.last()) else {
            return Ok(None);
        };
        let name = format!("clips-{:09}-{:09}-{}.bin", first.0, last.0, clips.len());
        let path = self.dir.join(name);
        write_atomic_with(&path, |w| {
            w.write_all(MAGIC)?;
            for v in [
                FORMAT_VERSION,
                self.dim as u32,
                self.top_k as u32,
                clips.len() as u32,
            ] {
                w.write_all(&v.to_le_bytes())?;
            }
            for (index, out) in clips {
                if out.features.len() != self.dim || out.top.len() != self.top_k {
                    return Err(io::Error::other("clip output of the wrong size"));
                }
                w.write_all(&index.to_le_bytes())?;
                for f in &out.features {
                    w.write_all(&f.to_le_bytes())?;
                }
                for (label, p) in &out.top {
                    w.write_all(&label.to_le_bytes())?;
                    w.write_all(&p.to_le_bytes())?;
                }
            }
            Ok(())
        })?;
        Ok(Some(path))
    }

    /// The record of a finished run, if there is a readable one.
    pub fn load_complete(&self) -> Option<CompleteRecord> {
        let bytes = std::fs::read(self.dir.join("complete.json")).ok()?;
        serde_json::from_slice::<CompleteRecord>(&bytes)
            .ok()
            .filter(|r| r.version == FORMAT_VERSION)
    }

    /// Records a finished run.
    pub fn write_complete(&self, record: &CompleteRecord) -> io::Result<()> {
        self.write_json("complete.json", record)
    }

    /// Reads a JSON record the pipeline keeps beside the features (the cascade's gate decisions
    /// and spans); None when it is missing or unreadable, so that the work is simply redone.
    pub(super) fn read_json<T: serde::de::DeserializeOwned>(&self, name: &str) -> Option<T> {
        let bytes = std::fs::read(self.dir.join(name)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Writes such a record atomically.
    pub(super) fn write_json<T: Serialize>(&self, name: &str, value: &T) -> io::Result<()> {
        let json = serde_json::to_vec(value).map_err(io::Error::other)?;
        write_atomic(&self.dir.join(name), &json)
    }
}

/// The error of a cache that could not be read or written, naming its folder.
pub(super) fn cache_error(cache: &FeatureCache) -> impl Fn(io::Error) -> super::PipelineError + '_ {
    move |source| super::PipelineError::Cache {
        path: cache.dir().to_path_buf(),
        source,
    }
}

/// Bytes of one clip's record in a batch file: index, features, top classes.
fn record_bytes(dim: usize, top_k: usize) -> usize {
    8 + 4 * dim + 8 * top_k
}

/// A cache in a temporary folder, for a run asked to keep nothing (`--no-cache`): the features
/// still go to disk as they are computed, so that memory stays flat on long footage, and the
/// folder is removed when the guard drops.
pub(super) fn temporary(
    feature_key: &str,
    dim: usize,
    top_k: usize,
) -> io::Result<(FeatureCache, tempfile::TempDir)> {
    let root = tempfile::Builder::new()
        .prefix("vigil-features-")
        .tempdir()?;
    let cache = FeatureCache::open(root.path(), feature_key, "run", dim, top_k)?;
    Ok((cache, root))
}

/// A clip's most probable classes (label index, probability), best first.
pub(super) type TopClasses = Vec<(u32, f32)>;

/// Where one cached clip's features lie, and its top classes.
#[derive(Debug, Clone)]
struct Entry {
    file: u32,
    record: u32,
    top: TopClasses,
}

/// The cached clips of one video under one extractor (see [`FeatureCache::index`]): about
/// 100 bytes a clip in memory, where the features are 4 KiB.
#[derive(Debug, Clone)]
pub(super) struct ClipIndex {
    dim: usize,
    top_k: usize,
    files: Vec<PathBuf>,
    entries: BTreeMap<u64, Entry>,
}

impl ClipIndex {
    /// An empty index for features of `dim` values and `top_k` classes.
    pub(super) fn new(dim: usize, top_k: usize) -> Self {
        Self {
            dim,
            top_k,
            files: Vec::new(),
            entries: BTreeMap::new(),
        }
    }

    /// Records the clips of one batch file, in the order they are stored in it. A clip already
    /// indexed (computed twice, by an interrupted run and a later one) now points here.
    pub(super) fn add(
        &mut self,
        file: PathBuf,
        clips: impl IntoIterator<Item = (u64, TopClasses)>,
    ) {
        let f = self.files.len() as u32;
        self.files.push(file);
        for (record, (clip, top)) in clips.into_iter().enumerate() {
            let entry = Entry {
                file: f,
                record: record as u32,
                top,
            };
            self.entries.insert(clip, entry);
        }
    }

    /// Whether `clip` has features.
    pub(super) fn contains(&self, clip: u64) -> bool {
        self.entries.contains_key(&clip)
    }

    /// Clips indexed.
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The clips indexed, ascending.
    pub(super) fn clips(&self) -> impl Iterator<Item = u64> + '_ {
        self.entries.keys().copied()
    }

    /// The top classes of `clip`.
    pub(super) fn top(&self, clip: u64) -> Option<&[(u32, f32)]> {
        self.entries.get(&clip).map(|e| e.top.as_slice())
    }

    /// Reads the features of `clips` (in that order, row-major) into `out`
    /// (`clips.len() × dim` values). Consecutive clips of one batch file share one open.
    pub(super) fn read_rows(&self, clips: &[u64], out: &mut [f32]) -> io::Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        if out.len() != clips.len() * self.dim {
            return Err(io::Error::other("row buffer of the wrong size"));
        }
        let record = record_bytes(self.dim, self.top_k);
        let mut buf = vec![0u8; 4 * self.dim];
        let mut open: Option<(u32, std::fs::File)> = None;
        for (&clip, row) in clips.iter().zip(out.chunks_exact_mut(self.dim)) {
            let e = self.entries.get(&clip).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("clip {clip} is not in the feature cache"),
                )
            })?;
            let file = match &mut open {
                Some((f, file)) if *f == e.file => file,
                slot => {
                    let path = &self.files[e.file as usize];
                    let file = std::fs::File::open(path).map_err(|err| {
                        io::Error::new(err.kind(), format!("{}: {err}", path.display()))
                    })?;
                    &mut slot.insert((e.file, file)).1
                }
            };
            let at = HEADER_BYTES + record * e.record as usize + 8;
            file.seek(SeekFrom::Start(at as u64))?;
            file.read_exact(&mut buf)?;
            for (v, b) in row.iter_mut().zip(buf.chunks_exact(4)) {
                *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
        Ok(())
    }
}

/// Rows from the feature cache: row `i` is the features of clip `clips[i]` (the cascade maps a
/// reused clip to the clip whose features it carries).
pub(super) struct CachedRows<'a> {
    /// Where the features are.
    pub index: &'a ClipIndex,
    /// The clip of each row.
    pub clips: &'a [u64],
}

impl super::novelty::RowSource for CachedRows<'_> {
    type Error = io::Error;

    fn rows(&self) -> usize {
        self.clips.len()
    }

    fn dim(&self) -> usize {
        self.index.dim
    }

    fn fetch(&self, idx: &[usize], out: &mut [f32]) -> io::Result<()> {
        let clips: Vec<u64> = idx.iter().map(|&i| self.clips[i]).collect();
        self.index.read_rows(&clips, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(seed: f32) -> ClipOutput {
        ClipOutput {
            features: (0..4).map(|i| seed + i as f32).collect(),
            top: vec![(7, 0.5), (3, 0.25)],
        }
    }

    #[test]
    fn round_trips_and_ignores_damaged_files() {
        let root = tempfile::tempdir().unwrap();
        let cache = FeatureCache::open(root.path(), "key", "abc", 4, 2).unwrap();
        cache.write_batch(&[(0, out(0.0)), (1, out(1.0))]).unwrap();
        cache.write_batch(&[(5, out(5.0))]).unwrap();
        // A torn file from another tool or a disk error must not poison the cache.
        std::fs::write(
            cache.dir().join("clips-000000009-000000009-1.bin"),
            b"VGLF\x01",
        )
        .unwrap();
        let index = cache.index().unwrap();
        assert_eq!(index.clips().collect::<Vec<_>>(), vec![0, 1, 5]);
        assert_eq!(index.top(5), Some(&out(5.0).top[..]));
        // Rows come back in the order asked, across files.
        let mut rows = vec![0f32; 12];
        index.read_rows(&[5, 0, 1], &mut rows).unwrap();
        let want: Vec<f32> = [out(5.0), out(0.0), out(1.0)]
            .iter()
            .flat_map(|o| o.features.clone())
            .collect();
        assert_eq!(rows, want);
        // A clip that is not there is an error, not a row of zeros.
        let err = index.read_rows(&[9], &mut rows[..4]).unwrap_err();
        assert!(err.to_string().contains("clip 9"), "{err}");

        // A cache for another feature size is not read as this one.
        let other = FeatureCache::open(root.path(), "key", "abc", 3, 2).unwrap();
        assert_eq!(other.index().unwrap().len(), 0);
    }
}
