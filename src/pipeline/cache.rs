//! Clip features cached on disk per (video SHA-256, feature key), one file per inference batch.
//!
//! Every batch file is written atomically (temporary file, fsync, rename), so Ctrl-C or
//! `kill -9` loses at most the batch in flight and a rerun resumes from what is there.
//! `complete.json` records the clip spans of a finished run so that a rerun needs no decoding.
//!
//! Nothing in the cache is trusted as read: a score built on altered features looks like any
//! other score. Every file carries a CRC-32 of its contents, and its values are range-checked
//! (finite features of plausible size, probabilities in 0..=1, clip spans in order). A file
//! that fails is deleted (the cache is ours to repair; a read-only view only skips it), its
//! clips are computed again, and the run says so in its warnings ([`FeatureCache::take_rejected`]).

use crate::base::{write_atomic, write_atomic_with};
use crate::model::ClipOutput;
use crate::video::ClipSpan;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 4] = b"VGLF";
/// 2: the header carries a CRC-32 of the records, JSON records are sealed the same way.
pub(super) const FORMAT_VERSION: u32 = 2;
/// Magic, version, dim, top-k, count, CRC-32 of the records.
const HEADER_BYTES: usize = 24;
/// Largest feature magnitude accepted. I3D's pooled features are ReLU outputs averaged over a
/// clip, a few units at most; anything near this is damage, not a picture.
const FEATURE_LIMIT: f32 = 1.0e4;
/// How a sealed JSON record begins; its body follows, then `}`.
const SEAL_PREFIX: &str = r#"{"crc32":""#;

/// The per-user cache folder (`$XDG_CACHE_HOME/vigil`, usually `~/.cache/vigil`), or
/// `VIGIL_CACHE_DIR` when set.
pub fn default_cache_root() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("VIGIL_CACHE_DIR").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    directories::ProjectDirs::from("", "", "vigil").map(|d| d.cache_dir().to_path_buf())
}

/// A record kept beside the features whose values can be checked after it parses: a record
/// with bytes altered can still be valid JSON.
pub(super) trait Checked {
    /// Why the record cannot be what a run wrote, if it cannot.
    fn check(&self) -> Result<(), String>;
}

/// Clip spans as a run writes them: numbered from 0 in order, times finite and ascending,
/// frame ranges in order.
pub(super) fn check_spans(spans: &[ClipSpan]) -> Result<(), String> {
    let mut last_start = 0.0f64;
    for (i, s) in spans.iter().enumerate() {
        let ok = s.index == i as u64
            && s.start_s.is_finite()
            && s.end_s.is_finite()
            && s.start_s >= last_start
            && s.end_s >= s.start_s
            && s.end_frame >= s.start_frame;
        if !ok {
            return Err(format!("clip span {i} is out of order or out of range"));
        }
        last_start = s.start_s;
    }
    Ok(())
}

impl Checked for CompleteRecord {
    fn check(&self) -> Result<(), String> {
        if self.version != FORMAT_VERSION {
            return Err(format!("record format {}", self.version));
        }
        if !(self.duration_s.is_finite() && self.duration_s >= 0.0) {
            return Err(format!("duration {}", self.duration_s));
        }
        check_spans(&self.spans)?;
        if self.spans.last().is_some_and(|s| s.end_frame > self.frames) {
            return Err("clip spans reach past the frames decoded".into());
        }
        Ok(())
    }
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
    /// Recording gaps found while decoding (stretches with no frame).
    #[serde(default)]
    pub gaps: Vec<crate::video::TimeRange>,
    /// Regions decoded with damage (concealed errors, missing references).
    #[serde(default)]
    pub damaged: Vec<crate::video::DamagedRange>,
}

/// The cache folder of one video under one feature extractor.
#[derive(Debug, Clone)]
pub struct FeatureCache {
    dir: PathBuf,
    dim: usize,
    top_k: usize,
    /// False for a view that must leave no trace ([`FeatureCache::at`]): bad files are skipped,
    /// not deleted.
    writable: bool,
    /// Files found bad since the last [`FeatureCache::take_rejected`], one sentence each;
    /// shared by clones, since the passes of one run read the cache through clones.
    rejected: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
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
        let mut c = Self::at(root, feature_key, video_sha256, dim, top_k);
        std::fs::create_dir_all(&c.dir)?;
        c.writable = true;
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
        Self {
            dir,
            dim,
            top_k,
            writable: false,
            rejected: Default::default(),
        }
    }

    /// The cache files found bad since the last call (one warning each), emptied. A run adds
    /// them to its warnings: the clips were computed again, so the scores stand, but damage on
    /// the disk that holds the cache is worth knowing about.
    pub fn take_rejected(&self) -> Vec<String> {
        let mut v = self.rejected.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut *v)
    }

    /// Records a bad file and, where the cache is ours to repair, deletes it so that the next
    /// run neither trips on it again nor keeps it beside its replacement.
    fn reject(&self, path: &Path, reason: &str) {
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        tracing::warn!("ignoring cache file {}: {reason}", path.display());
        if self.writable {
            let _ = std::fs::remove_file(path);
        }
        let mut v = self.rejected.lock().unwrap_or_else(|e| e.into_inner());
        v.push(format!(
            "feature cache file {name} was not used ({reason}); what it held is computed again"
        ));
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every cached clip, by index: where its features lie and its top classes. The features
    /// stay on disk (read a block at a time through [`ClipIndex::read_rows`]), so that a day
    /// of footage does not hold every clip's features in memory at once. Unreadable files are
    /// rejected ([`FeatureCache::take_rejected`]); their clips are computed again.
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
                Err(reason) => self.reject(&path, &reason),
            }
        }
        Ok(index)
    }

    /// The clip indices and top classes of one batch file, checked against this cache's
    /// feature size, its checksum and the range of every value.
    fn parse_index(&self, b: &[u8]) -> Result<Vec<(u64, TopClasses)>, String> {
        let u32_at = |o: usize| -> u32 { u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]) };
        if b.len() < 8 || &b[..4] != MAGIC {
            return Err("not a vigil feature file".into());
        }
        if u32_at(4) != FORMAT_VERSION {
            return Err(format!(
                "format {} (written by another version of vigil)",
                u32_at(4)
            ));
        }
        if b.len() < HEADER_BYTES {
            return Err(format!("{} bytes, shorter than its header", b.len()));
        }
        let (dim, top_k, count, crc) = (u32_at(8), u32_at(12), u32_at(16), u32_at(20));
        if dim as usize != self.dim || top_k as usize != self.top_k {
            return Err(format!("dim {dim}, top-k {top_k}"));
        }
        let record = record_bytes(self.dim, self.top_k);
        if b.len() != HEADER_BYTES + record * count as usize {
            return Err(format!("{} bytes for {count} clips", b.len()));
        }
        if crc32fast::hash(&b[HEADER_BYTES..]) != crc {
            return Err("its checksum does not match: the file was altered or damaged".into());
        }
        let mut clips = Vec::with_capacity(count as usize);
        for r in b[HEADER_BYTES..].chunks_exact(record) {
            let mut idx = [0u8; 8];
            idx.copy_from_slice(&r[..8]);
            let f32_at = |o: usize| f32::from_le_bytes([r[o], r[o + 1], r[o + 2], r[o + 3]]);
            let u32_in = |o: usize| u32::from_le_bytes([r[o], r[o + 1], r[o + 2], r[o + 3]]);
            let clip = u64::from_le_bytes(idx);
            if let Some(v) = (0..self.dim)
                .map(|i| f32_at(8 + 4 * i))
                .find(|v| !(v.is_finite() && v.abs() <= FEATURE_LIMIT))
            {
                return Err(format!("clip {clip} has a feature value of {v}"));
            }
            let base = 8 + 4 * self.dim;
            let top: TopClasses = (0..self.top_k)
                .map(|i| (u32_in(base + 8 * i), f32_at(base + 8 * i + 4)))
                .collect();
            if let Some(&(label, p)) = top.iter().find(|(_, p)| !(0.0..=1.0).contains(p)) {
                return Err(format!(
                    "clip {clip} gives class {label} a probability of {p}"
                ));
            }
            clips.push((clip, top));
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
        // The records first (a batch is a few clips, tens of KiB), so that the header can carry
        // their checksum.
        let mut records = Vec::with_capacity(clips.len() * record_bytes(self.dim, self.top_k));
        for (index, out) in clips {
            if out.features.len() != self.dim || out.top.len() != self.top_k {
                return Err(io::Error::other("clip output of the wrong size"));
            }
            records.extend_from_slice(&index.to_le_bytes());
            for f in &out.features {
                records.extend_from_slice(&f.to_le_bytes());
            }
            for (label, p) in &out.top {
                records.extend_from_slice(&label.to_le_bytes());
                records.extend_from_slice(&p.to_le_bytes());
            }
        }
        write_atomic_with(&path, |w| {
            w.write_all(MAGIC)?;
            for v in [
                FORMAT_VERSION,
                self.dim as u32,
                self.top_k as u32,
                clips.len() as u32,
                crc32fast::hash(&records),
            ] {
                w.write_all(&v.to_le_bytes())?;
            }
            w.write_all(&records)
        })?;
        Ok(Some(path))
    }

    /// The record of a finished run, if there is a sound one.
    pub fn load_complete(&self) -> Option<CompleteRecord> {
        self.read_json("complete.json")
    }

    /// Records a finished run.
    pub fn write_complete(&self, record: &CompleteRecord) -> io::Result<()> {
        self.write_json("complete.json", record)
    }

    /// Reads a JSON record the pipeline keeps beside the features (the run's clip spans, the
    /// cascade's gate decisions); None when it is missing, so that the work is simply redone,
    /// and None with a rejection when it fails its seal, does not parse or fails its checks.
    pub(super) fn read_json<T: serde::de::DeserializeOwned + Checked>(
        &self,
        name: &str,
    ) -> Option<T> {
        let path = self.dir.join(name);
        let bytes = std::fs::read(&path).ok()?;
        match unseal(&bytes).and_then(|body| {
            let v: T = serde_json::from_slice(body).map_err(|e| format!("does not parse: {e}"))?;
            v.check()?;
            Ok(v)
        }) {
            Ok(v) => Some(v),
            Err(reason) => {
                self.reject(&path, &reason);
                None
            }
        }
    }

    /// Writes such a record atomically, sealed: `{"crc32":"…","body":…}`, the CRC-32 taken
    /// over the body's bytes as written.
    pub(super) fn write_json<T: Serialize>(&self, name: &str, value: &T) -> io::Result<()> {
        let body = serde_json::to_vec(value).map_err(io::Error::other)?;
        let mut sealed =
            format!("{SEAL_PREFIX}{:08x}\",\"body\":", crc32fast::hash(&body)).into_bytes();
        sealed.extend_from_slice(&body);
        sealed.push(b'}');
        write_atomic(&self.dir.join(name), &sealed)
    }
}

/// The body of a sealed record ([`FeatureCache::write_json`]) whose checksum holds.
fn unseal(bytes: &[u8]) -> Result<&[u8], String> {
    let head = SEAL_PREFIX.len();
    let mid = br#"","body":"#;
    let ok_shape = bytes.len() > head + 8 + mid.len()
        && bytes.starts_with(SEAL_PREFIX.as_bytes())
        && &bytes[head + 8..head + 8 + mid.len()] == mid
        && bytes.ends_with(b"}");
    if !ok_shape {
        return Err("not a sealed vigil record (written by another version?)".into());
    }
    let want = std::str::from_utf8(&bytes[head..head + 8])
        .ok()
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .ok_or("its checksum is unreadable")?;
    let body = &bytes[head + 8 + mid.len()..bytes.len() - 1];
    if crc32fast::hash(body) != want {
        return Err("its checksum does not match: the file was altered or damaged".into());
    }
    Ok(body)
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
mod tests;
